from __future__ import annotations

from pathlib import Path

import pytest
from labfleet_sim.fleet_config import FleetConfigError, load_fleet, parse_fleet
from labfleet_sim.world import WorldError, load_world, parse_world
from shapely.geometry import LineString, Polygon

from fleet_manager.core.navgraph import load_navgraph

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
         "<pose> needs 6 numbers"),
    ],
)
def test_malformed_worlds_name_the_element(sdf, message):
    with pytest.raises(WorldError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_world(sdf, "bad.sdf")


def test_fleet_config():
    fleet = load_fleet(SITE / "fleet.yaml")
    assert [r.id for r in fleet.robots] == ["delivery_1", "delivery_2", "guide_1", "amr_1"]
    assert sorted(r.model.kind for r in fleet.robots) == ["amr", "delivery", "delivery", "guide"]
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


def test_navgraph_lanes_are_clear_of_obstacles_and_connected():
    graph = load_navgraph(SITE / "navgraph.yaml")
    world = load_world(SITE / "world.sdf")
    fleet = load_fleet(SITE / "fleet.yaml")
    widest = max(r.model.radius for r in fleet.robots)
    obstacles = [Polygon(o.polygon) for o in world.obstacles]
    assert len(graph.places) >= 12
    for lane in graph.lanes:
        a, b = graph.places[lane.start], graph.places[lane.end]
        swept = LineString([(a.x, a.y), (b.x, b.y)]).buffer(widest)
        hits = [o.name for o, poly in zip(world.obstacles, obstacles, strict=True) if swept.intersects(poly)]
        assert not hits, f"lane {lane.id} passes through {hits}"
    names = list(graph.places)
    for name in names[1:]:
        assert graph.distance(names[0], name) < float("inf"), name
        assert graph.distance(name, names[0]) < float("inf"), name
    for robot in fleet.robots:  # every robot starts on its home charger
        home = graph.places[robot.home]
        assert home.kind == "charger" and (home.x, home.y) == (robot.spawn.x, robot.spawn.y)
