from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from labfleet_sim.fleet_config import FleetConfigError, load_fleet, parse_fleet
from labfleet_sim.world import WorldError, load_world, parse_world
from shapely.geometry import LineString, Point, Polygon

SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "living_lab"


def test_living_lab_world_geometry():
    world = load_world(SITE / "world.sdf")
    assert world.name == "living_lab"
    names = {o.name for o in world.obstacles}
    assert "walls/outer_south/collision" in names and "lobby_pillar/link/collision" in names
    south = next(o for o in world.obstacles if o.name == "walls/outer_south/collision")
    xs, ys = zip(*south.polygon, strict=True)
    assert min(xs) == pytest.approx(-0.1) and max(xs) == pytest.approx(30.1)
    assert min(ys) == pytest.approx(-0.1) and max(ys) == pytest.approx(0.1)
    pillar = next(o for o in world.obstacles if o.model == "lobby_pillar")
    assert len(pillar.polygon) == 16
    assert Polygon(pillar.polygon).centroid.x == pytest.approx(1.5)
    assert world.bounds() == pytest.approx((-0.1, -0.1, 30.1, 20.1))
    assert all(Polygon(o.polygon).exterior.is_ccw for o in world.obstacles)  # CCW rings, not closed
    assert all(o.polygon[0] != o.polygon[-1] for o in world.obstacles)
    assert "ground_plane" not in {o.model for o in world.obstacles}  # planes have no footprint
    assert {"walls", "furniture", "lobby_pillar"} <= {o.model for o in world.obstacles}


def test_poses_compose_model_link_and_collision():
    sdf = """<sdf version="1.9"><world name="w">
      <model name="m"><static>true</static><pose>10 0 0 0 0 1.5707963</pose>
        <link name="l"><pose>1 0 0 0 0 0</pose>
          <collision name="c"><pose>0 2 0 0 0 0</pose><geometry><box><size>2 1 1</size></box></geometry></collision>
        </link></model>
      <model name="moving"><link name="l"><collision name="c"><geometry><box><size>1 1 1</size></box></geometry>
        </collision></link></model>
    </world></sdf>"""
    world = parse_world(sdf)
    assert len(world.obstacles) == 1  # non-static models are not walls
    centre = Polygon(world.obstacles[0].polygon).centroid
    # link at (10, 1) after the model's 90° turn; the collision's (0, 2) offset turns too: (10 - 2, 1)
    assert (centre.x, centre.y) == pytest.approx((8.0, 1.0), abs=1e-6)
    minx, miny, maxx, maxy = Polygon(world.obstacles[0].polygon).bounds
    assert (maxx - minx, maxy - miny) == pytest.approx((1.0, 2.0), abs=1e-6)


def test_nested_models_and_trivial_relative_to_frames():
    sdf = """<sdf version="1.9"><world name="w">
      <model name="outer"><static>true</static><pose>0 5 0 0 0 0</pose>
        <model name="inner"><pose relative_to="outer">3 0 0 0 0 0</pose>
          <link name="l"><pose degrees="true">0 0 0 0 0 90</pose>
            <collision name="c"><pose relative_to="__model__">1 0 0 0 0 0</pose>
              <geometry><cylinder><radius>0.5</radius><length>1</length></cylinder></geometry></collision>
          </link></model></model>
    </world></sdf>"""
    (obstacle,) = parse_world(sdf).obstacles
    assert obstacle.model == "outer::inner" and obstacle.name == "outer::inner/l/c"
    centre = Polygon(obstacle.polygon).centroid
    assert (centre.x, centre.y) == pytest.approx((4.0, 5.0), abs=1e-6)  # the link's turn does not apply


@pytest.mark.parametrize(
    ("sdf", "message"),
    [
        ("<sdf><world", "not well-formed XML"),
        ("<world name='w'/>", "root element must be <sdf>"),
        ("<sdf version='1.9'/>", "no <world> element"),
        ("<sdf><world name='w'><model name='m'><static>true</static><link name='l'><collision name='c'>"
         "<geometry><box><size>1 1</size></box></geometry></collision></link></model></world></sdf>",
         "model 'm' link 'l' collision 'c'/box/size: expected 3 positive number"),
        ("<sdf><world name='w'><model name='m'><static>true</static><pose>1 2 3</pose></model></world></sdf>",
         "bad.sdf: model 'm': <pose> needs 6 numbers"),
        ("<sdf><world name='w'><model name='m'><static>true</static><link name='l'><collision name='c'/>"
         "</link></model></world></sdf>", "model 'm' link 'l' collision 'c': no <geometry>"),
        ("<sdf><world name='w'><model><static>true</static></model></world></sdf>", "a <model> without a name"),
        ("<sdf><world name='w'><model name='m'><static>true</static><link name='l'><collision name='c'>"
         "<geometry><cylinder><radius>-1</radius><length>1</length></cylinder></geometry></collision></link>"
         "</model></world></sdf>", "collision 'c'/cylinder/radius: expected 1 positive number"),
        ("<sdf><world name='w'><actor name='a'/></world></sdf>", "actor 'a': no <script>"),
        ("<sdf><world name='w'><actor name='a'><script><trajectory id='0' type='w'/><trajectory id='1' type='w'/>"
         "</script></actor></world></sdf>", "actor 'a': <script> needs exactly one <trajectory>, got 2"),
        ("<sdf><world name='w'><actor name='a'><script><trajectory id='0' type='w'/></script></actor></world></sdf>",
         "actor 'a': the <trajectory> has no <waypoint>"),
        ("<sdf><world name='w'><actor name='a'><script><trajectory id='0' type='w'>"
         "<waypoint><time>2</time><pose>0 0 0 0 0 0</pose></waypoint>"
         "<waypoint><time>2</time><pose>1 0 0 0 0 0</pose></waypoint></trajectory></script></actor></world></sdf>",
         "actor 'a' waypoint 1: <time> 2 must be later than the previous waypoint's"),
        ("<sdf><world name='w'><actor name='a'><script><loop>maybe</loop><trajectory id='0' type='w'>"
         "<waypoint><time>0</time><pose>0 0 0 0 0 0</pose></waypoint></trajectory></script></actor></world></sdf>",
         "actor 'a' script: <loop> must be true or false"),
        ("<sdf><world name='w'><actor name='a'><script><delay_start>-1</delay_start><trajectory id='0' type='w'>"
         "<waypoint><time>0</time><pose>0 0 0 0 0 0</pose></waypoint></trajectory></script></actor></world></sdf>",
         "actor 'a' script: <delay_start> must be >= 0"),
        ("<sdf><world name='w'><model name='a'/><actor name='a'><script><trajectory id='0' type='w'>"
         "<waypoint><time>0</time><pose>0 0 0 0 0 0</pose></waypoint></trajectory></script></actor></world></sdf>",
         "actor 'a': the name is already used"),
    ],
)
def test_malformed_worlds_name_the_element(sdf, message):
    with pytest.raises(WorldError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_world(sdf, "bad.sdf")


def test_load_world_names_the_file(tmp_path):
    with pytest.raises(WorldError, match=r"missing\.sdf"):
        load_world(tmp_path / "missing.sdf")
    bad = tmp_path / "bad.sdf"
    bad.write_text("<sdf><world name='w'><model name='m'><static>true</static><pose>x</pose></model></world></sdf>")
    with pytest.raises(WorldError, match=f"{re.escape(str(bad))}: model 'm': <pose> must hold numbers"):
        load_world(bad)


def test_fleet_config():
    fleet = load_fleet(SITE / "fleet.yaml")
    assert [r.id for r in fleet.robots] == ["delivery_1", "delivery_2", "guide_1", "amr_1", "cleaner_1", "arm_1"]
    assert sorted(r.model.kind for r in fleet.robots) == ["amr", "cleaning", "delivery", "delivery", "guide",
                                                          "manipulator"]
    assert fleet.robot("arm_1").model.actions["pick"].success_rate == 0.95
    tug = fleet.robot("amr_1").model
    assert tug.name == "tugger" and "tow_hitch" in tug.capabilities and tug.actions["hitch"].duration_s == 8
    with pytest.raises(KeyError, match="no robot 'r2d2'"):
        fleet.robot("r2d2")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["robots"][0].update(model="hovercraft"), r"robots\[0\].model: unknown model 'hovercraft'"),
        (lambda d: d["models"]["deliverybot"].update(max_speed=-1), r"models.deliverybot.max_speed"),
        (lambda d: d["models"]["deliverybot"].update(wings=2), r"models.deliverybot.wings"),
        (lambda d: d["robots"][1].update(id="delivery_1"), r"robots\[1\].id: duplicate robot id"),
        (lambda d: d["robots"][0]["spawn"].pop("x"), r"robots\[0\].spawn.x"),
    ],
)
def test_fleet_errors_name_the_field(mutate, message):
    import yaml

    data = yaml.safe_load((SITE / "fleet.yaml").read_text())
    mutate(data)
    with pytest.raises(FleetConfigError, match=message):
        parse_fleet(data, "fleet.yaml")


ROBOT_RADIUS = 0.35  # every lane must be clear for a robot this wide (and for the fleet's widest)
REQUIRED_PLACES = {"lobby", "reception", "parking", "pharmacy", "ward_station", "ward_bed_1", "workshop",
                   "workshop_station_1", "charger_1", "charger_2", "charger_3", "charger_4"}


def load_graph() -> tuple[dict[str, dict], list[dict]]:
    data = yaml.safe_load((SITE / "navgraph.yaml").read_text())
    return data["places"], data["lanes"]


def reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_navgraph_lanes_are_clear_of_obstacles_and_connected():
    places, lanes = load_graph()
    world = load_world(SITE / "world.sdf")
    fleet = load_fleet(SITE / "fleet.yaml")
    radius = max(ROBOT_RADIUS, *(r.model.radius for r in fleet.robots))
    obstacles = [(o.name, Polygon(o.polygon)) for o in world.obstacles]
    assert len(places) >= 14 and set(places) >= REQUIRED_PLACES
    assert sum(p.get("kind") == "charger" for p in places.values()) == 4
    forward: dict[str, set[str]] = defaultdict(set)
    backward: dict[str, set[str]] = defaultdict(set)
    for lane in lanes:
        a, b = places[lane["from"]], places[lane["to"]]
        swept = LineString([(a["x"], a["y"]), (b["x"], b["y"])]).buffer(radius)
        hits = [name for name, poly in obstacles if swept.intersects(poly)]
        assert not hits, f"lane {lane['id']} passes through {hits}"
        forward[lane["from"]].add(lane["to"])
        backward[lane["to"]].add(lane["from"])
        if not lane.get("oneway", False):
            forward[lane["to"]].add(lane["from"])
            backward[lane["from"]].add(lane["to"])
    first = next(iter(places))
    assert reachable(first, forward) == set(places)  # strongly connected: every place reaches every other
    assert reachable(first, backward) == set(places)
    for name, p in places.items():  # places themselves are clear too
        assert not any(Point(p["x"], p["y"]).buffer(radius).intersects(poly) for _, poly in obstacles), name


def test_robots_parked_on_chargers_and_parking_spots_block_no_lane():
    places, lanes = load_graph()
    fleet = load_fleet(SITE / "fleet.yaml")
    for robot in fleet.robots:  # every robot starts on its home: a charger or a parking spot
        assert robot.home is not None
        home = places[robot.home]
        assert home["kind"] in ("charger", "parking") and (home["x"], home["y"]) == (robot.spawn.x, robot.spawn.y)
        assert robot.spawn.yaw == pytest.approx(home.get("yaw", 0.0)) or home["kind"] == "parking"
    widest = max(r.model.radius for r in fleet.robots)
    for name, charger in places.items():
        if charger.get("kind") not in ("charger", "parking"):
            continue
        parked = Point(charger["x"], charger["y"]).buffer(widest)
        for lane in lanes:
            if name in (lane["from"], lane["to"]):
                continue  # its own docking lane ends here
            a, b = places[lane["from"]], places[lane["to"]]
            lane_area = LineString([(a["x"], a["y"]), (b["x"], b["y"])]).buffer(widest)
            assert not lane_area.intersects(parked), f"a robot on {name} blocks lane {lane['id']}"


def test_load_fleet_errors_name_the_file(tmp_path):
    with pytest.raises(FleetConfigError, match=r"nowhere\.yaml"):
        load_fleet(tmp_path / "nowhere.yaml")
    data = yaml.safe_load((SITE / "fleet.yaml").read_text())
    del data["models"]["guidebot"]["radius"]
    data["robots"][0]["battery"] = 120
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(FleetConfigError, match=rf"^{re.escape(str(path))}: models.guidebot.radius: Field required"):
        load_fleet(path)
    data["models"]["guidebot"]["radius"] = 0.35
    path.write_text(yaml.safe_dump(data))
    field = rf"^{re.escape(str(path))}: robots\[0\].battery: "
    with pytest.raises(FleetConfigError, match=field + "Input should be less than or equal to 100"):
        load_fleet(path)


def test_world_sdf_is_a_gazebo_world_with_visible_walls():
    import shutil
    import subprocess
    import xml.etree.ElementTree as ET

    root = ET.parse(SITE / "world.sdf").getroot()
    assert root.get("version") == "1.9"
    world = root.find("world")
    assert world is not None and world.get("name") == "living_lab"
    plugins = {p.get("filename") for p in world.findall("plugin")}
    assert {"gz-sim-physics-system", "gz-sim-user-commands-system", "gz-sim-scene-broadcaster-system",
            "gz-sim-sensors-system"} <= plugins
    assert world.findtext("plugin[@filename='gz-sim-sensors-system']/render_engine") == "ogre2"
    assert world.find("light[@name='sun']") is not None and world.find("model[@name='ground_plane']") is not None

    def shape(elem: ET.Element) -> tuple[str, str]:
        geometry = elem.find("geometry")
        assert geometry is not None, elem.get("name")
        text = " ".join(t.strip() for t in geometry.itertext() if t.strip())
        return ET.tostring(geometry, encoding="unicode").split(">")[1] + text, (elem.findtext("pose") or "").strip()

    for link in world.iter("link"):  # every collision has a visual of the same shape in the same place
        visuals = [shape(v) for v in link.findall("visual")]
        for col in link.findall("collision"):
            assert shape(col) in visuals, link.get("name")
    if shutil.which("ign"):
        result = subprocess.run(["ign", "sdf", "-k", str(SITE / "world.sdf")], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0 and "Valid" in result.stdout, result.stdout + result.stderr
