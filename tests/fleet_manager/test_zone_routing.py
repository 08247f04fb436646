"""Routes and operating zones (issue 5, acceptance 4): a route whose shortest way crosses a no-go zone is
planned around it, or refused with a reason naming the zone when there is no way round; missions that
drive into a no-go zone are refused at submit; zone limits and robot speed caps reach the waypoints."""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from shapely.geometry import LineString

from fleet_manager.core.navgraph import parse_navgraph
from fleet_manager.core.traffic import NoRoute
from fleet_manager.core.zones import parse_operating_zones
from fleet_manager.missions.runner import MissionRunner
from fleet_manager.missions.traffic import Route, TrafficManager, ZoneBlocked
from fleet_manager.settings import Settings
from fleet_manager.sites.service import Site
from tests.api.conftest import ADMIN_PASSWORD, JWT_SECRET, admin_client

SITES = Path(__file__).resolve().parents[2] / "sim_worlds"
API = "/api/v1"
H = 3600.0


@pytest.fixture(scope="module")
def city() -> Site:
    return Site.load(SITES / "city_block")


def zoned(site: Site, **kwargs) -> TrafficManager:
    caps = {r.id: site.max_speed(r.id) for r in site.fleet.robots}
    return TrafficManager(site.navgraph, zones=site.operating_zones, robot_caps=caps, **kwargs)


def plan_from(traffic: TrafficManager, site: Site, start: str, goal: str, now: float = 0.0) -> Route:
    place = site.navgraph.place(start)
    return traffic.plan(traffic.mover("courier_1", 0.35, 1.5), place.x, place.y, goal, now)


def legs(route: Route) -> list[LineString]:
    return [LineString([(a.x, a.y), (b.x, b.y)]) for a, b in itertools.pairwise(route.waypoints)]


def length(route: Route) -> float:
    return sum(leg.length for leg in legs(route))


def construction(site: Site):
    return next(z for z in site.operating_zones.zones if z.name == "construction_east")


@pytest.mark.parametrize(("start", "goal"), [("e_38", "e_50"), ("c_se", "e_62"), ("bookshop", "c_ne")])
def test_a_route_across_construction_east_is_planned_around_it(city, start, goal):
    zone = construction(city).shape
    free = plan_from(TrafficManager(city.navgraph), city, start, goal)
    assert any(leg.intersects(zone) for leg in legs(free))  # the shortest way crosses the construction site
    around = plan_from(zoned(city), city, start, goal)
    assert not any(leg.intersects(zone) for leg in legs(around))
    assert around.waypoints[-1].name == goal
    there = city.navgraph.place(goal)
    assert math.hypot(around.waypoints[-1].x - there.x, around.waypoints[-1].y - there.y) < 0.6
    assert length(around) > length(free) + 50.0  # round the block the other way


def test_an_operator_cannot_open_a_lane_a_no_go_zone_closes(city):
    traffic = zoned(city)
    assert traffic.closed_lanes() == []
    traffic.close_lane("sidewalk_e_03")  # the lane through the construction site
    assert traffic.closed_lanes() == ["sidewalk_e_03"]
    traffic.open_lane("sidewalk_e_03")
    assert traffic.closed_lanes() == []
    route = plan_from(traffic, city, "e_38", "e_50")
    assert not any(leg.intersects(construction(city).shape) for leg in legs(route))
    # a lane no zone touches opens again
    traffic.close_lane("sidewalk_n_04")
    traffic.open_lane("sidewalk_n_04")
    assert not traffic.planner.closed & set(traffic.lanes.derived["sidewalk_n_04"])


# A west-east corridor through a spill at `mid`, and a detour north of it.
CORRIDOR = {
    "site": "spill",
    "places": {"west": {"x": 0, "y": 0}, "mid": {"x": 10, "y": 0}, "east": {"x": 20, "y": 0},
               "north": {"x": 10, "y": 8}},
    "lanes": [{"id": "w_mid", "from": "west", "to": "mid"}, {"id": "mid_e", "from": "mid", "to": "east"},
              {"id": "w_n", "from": "west", "to": "north"}, {"id": "n_e", "from": "north", "to": "east"}],
}
SPILL = parse_operating_zones([{"name": "spill", "kind": "no_go",
                                "polygon": [[8, -2], [12, -2], [12, 2], [8, 2]]}])


def corridor(detour: bool = True) -> TrafficManager:
    lanes = [lane for lane in CORRIDOR["lanes"] if detour or lane["id"] in ("w_mid", "mid_e")]
    return TrafficManager(parse_navgraph({**CORRIDOR, "lanes": lanes}, "test"), zones=SPILL)


def test_a_small_site_goes_round_the_spill():
    traffic = corridor()
    route = traffic.plan(traffic.mover("r", 0.3, 1.0), 0.0, 0.0, "east", 0.0)
    assert [w.name for w in route.waypoints] == ["west", "north", "east"]


def test_a_goal_in_a_no_go_zone_is_refused_naming_the_zone():
    traffic = corridor()
    with pytest.raises(ZoneBlocked, match="no route to mid: it lies in no-go zone spill"):
        traffic.plan(traffic.mover("r", 0.3, 1.0), 0.0, 0.0, "mid", 0.0)
    assert "r" not in traffic.routes


def test_no_way_round_is_refused_naming_the_zone():
    traffic = corridor(detour=False)
    with pytest.raises(ZoneBlocked, match="no route from west to east avoids no-go zone spill") as caught:
        traffic.plan(traffic.mover("r", 0.3, 1.0), 0.0, 0.0, "east", 0.0)
    assert isinstance(caught.value, NoRoute)  # callers that wait for a route see a NoRoute
    # without the zone the corridor is fine: the refusal is the zone's
    plain = TrafficManager(parse_navgraph({**CORRIDOR, "lanes": CORRIDOR["lanes"][:2]}, "test"))
    assert [w.name for w in plain.plan(plain.mover("r", 0.3, 1.0), 0.0, 0.0, "east", 0.0).waypoints] == \
        ["west", "mid", "east"]


def test_the_park_path_closes_out_of_hours_with_the_site_clock(city):
    def via_park(traffic: TrafficManager, now: float) -> bool:
        return "park_path" in [w.name for w in plan_from(traffic, city, "s_50", "n_50", now).waypoints]

    assert via_park(zoned(city), 22 * H)  # no site clock: hours zones count as open
    assert via_park(zoned(city, site_clock=lambda now: now % 86_400), 12 * H)
    assert not via_park(zoned(city, site_clock=lambda now: now % 86_400), 22 * H)
    closed = zoned(city, site_clock=lambda now: now % 86_400)
    with pytest.raises(ZoneBlocked, match=r"no route to park_path: it lies in zone park_path \(open 07:00-21:00\)"):
        plan_from(closed, city, "s_50", "park_path", 3 * H)


def test_waypoints_keep_the_lowest_of_lane_zone_and_robot_limits(city):
    traffic = zoned(city)
    traffic.robot_caps["courier_1"] = 1.0
    route = plan_from(traffic, city, "n_40", "school_gate")
    speeds = {w.name: w.max_speed for w in route.waypoints[1:]}
    assert speeds["n_50"] == pytest.approx(1.0)  # the robot's cap
    assert speeds["n_60"] == pytest.approx(0.8) and speeds["n_72"] == pytest.approx(0.8)  # the school zone
    assert speeds["school_gate"] == pytest.approx(0.5)  # the spur's own limit
    assert route.waypoints[0].max_speed == pytest.approx(1.0)  # from where it stands to the start
    assert traffic.mover("courier_1", 0.35, 1.5).speed == pytest.approx(0.7)  # plans at the capped speed


def site_copy(tmp_path: Path, name: str, extra_zones: list[dict] | None = None,
              speed_caps: dict | None = None) -> Path:
    target = tmp_path / "sites" / name
    shutil.copytree(SITES / name, target)
    doc = yaml.safe_load((target / "zones.yaml").read_text()) or {}
    doc["zones"] = (doc.get("zones") or []) + (extra_zones or [])
    if speed_caps is not None:
        doc["speed_caps"] = speed_caps
    (target / "zones.yaml").write_text(yaml.safe_dump(doc))
    return target


def test_speed_caps_of_the_site_set_each_robots_top_speed(tmp_path):
    assert Site.load(SITES / "city_block").max_speed("courier_1") == pytest.approx(1.5)  # 15 km/h > 1.5 m/s
    own = Site.load(site_copy(tmp_path, "city_block", speed_caps={"models": {"sidewalkbot": 1.2}}))
    assert own.max_speed("courier_1") == pytest.approx(1.2)
    tiers = Site.load(site_copy(tmp_path / "b", "city_block", speed_caps={"tiers": [[0, 3.6]]}))
    assert tiers.max_speed("courier_2") == pytest.approx(1.0)


def test_lab_up_gives_each_agent_its_capped_speed(tmp_path):
    from fleet_manager.cli.lab_up import LabUp

    site_copy(tmp_path, "city_block", speed_caps={"models": {"sidewalkbot": 1.1}})
    lab = LabUp(Settings(sites_dir=tmp_path / "sites", site="city_block", data_dir=tmp_path), robots=None,
                backend="lite", port=8999, seed=0, domain_id=0)
    model = Site.load(tmp_path / "sites" / "city_block").fleet.robot("courier_1").model
    assert lab._speed_caps().max_speed(model.name, model.mass_kg, model.max_speed) == pytest.approx(1.1)


def test_a_bad_zone_names_the_file(tmp_path):
    target = site_copy(tmp_path, "city_block", [{"name": "pit", "kind": "no_go", "polygon": [[0, 0], [1, 1]]}])
    with pytest.raises(ValueError, match=rf"{target / 'zones.yaml'}: zone 'pit': polygon must be a simple"):
        Site.load(target)
    (target / "zones.yaml").write_text("zones: [\n")
    with pytest.raises(ValueError, match=str(target / "zones.yaml")):
        Site.load(target)


def test_a_sweep_keeps_the_zone_limits(tmp_path):
    slow = {"name": "quiet_lab", "kind": "speed_limit", "limit_mps": 0.3,
            "polygon": [[12.8, 12.0], [15.0, 12.0], [15.0, 15.8], [12.8, 15.8]]}
    site = Site.load(site_copy(tmp_path, "living_lab", [slow]))
    robot = next(r.id for r in site.fleet.robots if r.model.kind == "cleaning")
    waypoints = MissionRunner.sweep(SimpleNamespace(site=site), robot, "lab_floor", None)  # type: ignore[arg-type]
    assert {w.max_speed for w in waypoints} == {0.3, 0.5}
    previous = site.navgraph.place("lab")
    for w in waypoints:  # a leg touching the quiet part of the floor is at 0.3 m/s, the others at 0.5
        crosses = LineString([(previous.x, previous.y), (w.x, w.y)]).intersects(site.operating_zones.zones[0].shape)
        assert w.max_speed == (0.3 if crosses else 0.5)
        previous = w


@pytest.fixture
def city_app(tmp_path):
    """The API on a copy of city_block with a no-go zone over the bookshop door and one across the spur
    of the school gate (the gate itself outside it)."""
    zones = [{"name": "shop_works", "kind": "no_go", "polygon": [[85.5, 25.0], [87.0, 25.0], [87.0, 27.0],
                                                                 [85.5, 27.0]]},
             {"name": "gate_works", "kind": "no_go", "polygon": [[71.0, 73.9], [73.0, 73.9], [73.0, 74.5],
                                                                 [71.0, 74.5]]}]
    site_copy(tmp_path, "city_block", zones)
    settings = Settings(sites_dir=tmp_path / "sites", site="city_block", data_dir=tmp_path, ros_enabled=False,
                        environment="test", database_url=f"sqlite:///{tmp_path / 'labfleet.db'}",
                        jwt_secret=JWT_SECRET, admin_password=ADMIN_PASSWORD)
    with admin_client(settings) as client:
        yield client


def test_missions_into_a_no_go_zone_are_refused_at_submit(city_app):
    def submit(body):
        return city_app.post(f"{API}/missions", json=body)

    r = submit({"spec": {"steps": [{"go_to": "pharmacy"}, {"go_to": "bookshop"}]}})
    assert r.status_code == 422, r.text
    assert "spec.steps[1]: place 'bookshop' lies in no-go zone shop_works" in r.text
    r = submit({"template": "delivery", "params": {"pickup": "pharmacy", "destination": "bookshop"}})
    assert r.status_code == 422 and "place 'bookshop' lies in no-go zone shop_works" in r.text
    r = submit({"spec": {"steps": [{"patrol": ["n_20", "bookshop"]}]}})
    assert r.status_code == 422 and "bookshop" in r.text and "shop_works" in r.text
    r = submit({"spec": {"steps": [{"go_to": "cafe"}, {"go_to": "school_gate"}]}})
    assert r.status_code == 422
    assert "spec.steps[1]: no route from 'cafe' to 'school_gate' avoids no-go zone gate_works" in r.text
    r = submit({"spec": {"steps": [{"go_to": "pharmacy"}, {"go_to": "e_62"}]}})  # round construction_east
    assert r.status_code == 201, r.text
    traffic = city_app.app.state.lab.dispatcher.traffic
    assert {z.name for z in traffic.zones.zones} >= {"construction_east", "shop_works", "school_zone"}
    assert traffic.robot_caps == {"courier_1": 1.5, "courier_2": 1.5, "courier_3": 1.5}
