from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet_manager.core.errors import DomainError, InvalidInput
from fleet_manager.core.navgraph import parse_navgraph
from fleet_manager.core.zones import (
    OperatingZones,
    SpeedCaps,
    ZoneViolation,
    load_zones_file,
    parse_operating_zones,
    parse_speed_caps,
    speed_cap_for_mass,
)

H = 3600.0
LIVING_LAB = Path(__file__).resolve().parents[2] / "sim_worlds" / "living_lab" / "zones.yaml"


def square(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


# Along y = 0..10: school x 0..10 at 1.4 m/s overlapping slow x 5..15 at 0.8 m/s; a no-go pond
# x 20..24, y 0..4; a night yard x 30..40 open 22:00-06:00 at 0.5 m/s; a day yard x 50..60 open 08-18.
RAW: list[dict[str, Any]] = [
    {"name": "lab_floor", "kind": "cleaning", "entry": "lab", "polygon": square(0, 0, 4, 4)},
    {"name": "school", "kind": "speed_limit", "limit_mps": 1.4, "polygon": square(0, 0, 10, 10)},
    {"name": "slow", "kind": "speed_limit", "limit_mps": 0.8, "polygon": square(5, 0, 15, 10)},
    {"name": "pond", "kind": "no_go", "polygon": square(20, 0, 24, 4)},
    {"name": "night_yard", "kind": "hours", "open": "22:00", "close": "06:00", "limit_mps": 0.5,
     "polygon": square(30, 0, 40, 10)},
    {"name": "day_yard", "kind": "hours", "open": "8:00", "close": "18:00", "polygon": square(50, 0, 60, 10)},
]


@pytest.fixture
def zones() -> OperatingZones:
    return parse_operating_zones(RAW)


@pytest.fixture
def site():
    """Lanes west to east beside, along the edge of and through the pond, and through the night yard."""
    return parse_navgraph({
        "site": "z",
        "places": {
            "a": {"x": 18, "y": 2}, "b": {"x": 26, "y": 2},        # y = 2 runs through the pond
            "c": {"x": 18, "y": 5}, "d": {"x": 26, "y": 5},        # y = 5 passes 1 m north of it
            "e": {"x": 18, "y": 4}, "f": {"x": 26, "y": 4},        # y = 4 runs along its north edge
            "g": {"x": 22, "y": 2},                                # in the pond
            "h": {"x": 28, "y": 5}, "i": {"x": 42, "y": 5},        # through the night yard
            "k": {"x": 35, "y": 5},                                # in the night yard
        },
        "lanes": [{"id": "through", "from": "a", "to": "b"}, {"id": "beside", "from": "c", "to": "d"},
                  {"id": "edge", "from": "e", "to": "f"}, {"id": "yard", "from": "h", "to": "i"},
                  {"id": "to_pond", "from": "a", "to": "g"}],
    }, "test")


def test_cleaning_zones_are_skipped_and_the_rest_kept_in_order(zones):
    assert [z.name for z in zones.zones] == ["school", "slow", "pond", "night_yard", "day_yard"]
    assert zones.zones[4].open == "08:00"  # normalised
    assert len(parse_operating_zones(yaml.safe_load(LIVING_LAB.read_text())["zones"])) == 0


def test_point_in_and_out(zones):
    assert zones.speed_limit_at(2, 5) == 1.4
    assert zones.speed_limit_at(-0.1, 5) is None
    assert zones.speed_limit_at(0, 5) == 1.4  # the edge is inside
    assert zones.speed_limit_at(15.1, 5) is None
    assert zones.speed_limit_at(22, 2) is None  # a no-go zone sets no limit
    assert zones.forbidden_at(22, 2) == "pond"
    assert zones.forbidden_at(24, 4) == "pond"  # its corner
    assert zones.forbidden_at(24.1, 2) is None


def test_the_lowest_of_overlapping_limits(zones):
    assert zones.speed_limit_at(7, 5) == 0.8
    assert zones.speed_limit_at(10, 5) == 0.8
    assert zones.speed_limit_at(12, 5) == 0.8
    assert zones.limit_on_segment(-1, 5, 3, 5) == 1.4
    assert zones.limit_on_segment(-1, 5, 16, 5) == 0.8
    assert zones.limit_on_segment(-1, 11, 16, 11) is None  # north of both
    assert zones.limit_on_segment(12, 5, 12, 5) == 0.8  # a point


def test_a_lane_through_or_touching_a_no_go_zone_is_blocked(zones, site):
    assert zones.blocked_lanes(site) == {"through", "edge", "to_pond"}
    assert zones.blocked_places(site) == {"g"}


@pytest.mark.parametrize(("clock_s", "open_"), [
    (21.99 * H, False), (22 * H, True), (23.5 * H, True), (0.0, True), (3 * H, True),
    (6 * H - 1, True), (6 * H, False), (12 * H, False), (24 * H + 23 * H, True), (-1 * H, True),
])
def test_hours_zone_over_midnight(zones, site, clock_s, open_):
    night = zones.zones[3]
    assert night.allows(clock_s) is open_
    assert zones.forbidden_at(35, 5, clock_s) == (None if open_ else "night_yard")
    assert zones.speed_limit_at(35, 5, clock_s) == (0.5 if open_ else None)
    assert zones.limit_on_segment(28, 5, 42, 5, clock_s) == (0.5 if open_ else None)
    assert ("yard" in zones.blocked_lanes(site, clock_s)) is not open_
    assert ("k" in zones.blocked_places(site, clock_s)) is not open_


@pytest.mark.parametrize(("clock_s", "open_"), [(7 * H + 59 * 60, False), (8 * H, True), (12 * H, True),
                                                (18 * H - 1, True), (18 * H, False), (23 * H, False)])
def test_hours_zone_within_a_day(zones, clock_s, open_):
    assert zones.forbidden_at(55, 5, clock_s) == (None if open_ else "day_yard")
    assert zones.speed_limit_at(55, 5, clock_s) is None  # no limit of its own


def test_without_a_clock_hours_zones_are_open_and_their_limit_holds(zones, site):
    assert zones.forbidden_at(35, 5) is None and zones.forbidden_at(55, 5) is None
    assert zones.speed_limit_at(35, 5) == 0.5
    assert "yard" not in zones.blocked_lanes(site)


def test_speeding_merges_consecutive_samples_with_a_5_percent_tolerance(zones):
    samples = [
        (0.0, -2, 5, 2.0),   # outside every zone
        (1.0, 1, 5, 1.45),   # in school (1.4): within 5 % (1.47)
        (2.0, 2, 5, 1.6),
        (3.0, 3, 5, 1.7),
        (4.0, 4, 5, 1.2),
        (5.0, 4.5, 5, 1.5),
        (6.0, 7, 5, 1.0),    # school and slow: over slow's 0.8 only
        (7.0, 8, 5, 0.84),   # within 5 % of 0.8
    ]
    assert zones.violations(samples) == [
        ZoneViolation("school", "speeding", 2.0, 3.0, 1.7),
        ZoneViolation("school", "speeding", 5.0, 5.0, 1.5),
        ZoneViolation("slow", "speeding", 6.0, 6.0, 1.0),
    ]
    strict = zones.violations(samples, tolerance=0.0)
    assert [(v.zone, v.start_t, v.end_t) for v in strict] == [("school", 1.0, 3.0), ("school", 5.0, 5.0),
                                                              ("slow", 6.0, 7.0)]
    assert zones.violations(list(reversed(samples))) == zones.violations(samples)  # ordered by t
    assert zones.violations([(0.0, 2, 5, 1.4 * 1.05)]) == []  # exactly 5 % over is tolerated
    with pytest.raises(ValueError, match="tolerance"):
        zones.violations(samples, tolerance=-0.1)


def test_entering_a_no_go_zone_is_one_violation_at_any_speed(zones):
    samples = [(10.0, 19, 2, 0.3), (11.0, 21, 2, 0.2), (12.0, 23, 2, 0.4), (13.0, 25, 2, 0.3),
               (14.0, 24, 3, 0.0)]
    assert zones.violations(samples) == [ZoneViolation("pond", "no_go", 11.0, 12.0, 0.4),
                                         ZoneViolation("pond", "no_go", 14.0, 14.0, 0.0)]
    assert zones.violations([]) == []


def test_hours_violations_follow_the_clock(zones):
    samples = [(0.0, 29, 5, 0.4), (60.0, 31, 5, 0.6), (120.0, 33, 5, 0.4), (180.0, 41, 5, 0.4)]
    # at 05:59 the yard is open for the first two samples and closes at 06:00 (t = 60)
    at_0559 = zones.violations(samples, clock=lambda t: 6 * H - 60 + t)
    assert at_0559 == [ZoneViolation("night_yard", "closed", 60.0, 120.0, 0.6)]
    at_2300 = zones.violations(samples, clock=lambda t: 23 * H + t)
    assert at_2300 == [ZoneViolation("night_yard", "speeding", 60.0, 60.0, 0.6)]
    assert zones.violations(samples) == at_2300  # no clock: open, its limit holds


@pytest.mark.parametrize(("mass_kg", "kmh"), [(45, 15), (100, 15), (100.1, 10), (230, 10), (230.1, 5),
                                              (800, 5)])
def test_speed_cap_by_mass(mass_kg, kmh):
    assert speed_cap_for_mass(mass_kg) == pytest.approx(kmh / 3.6)


def test_speed_tiers_can_be_replaced():
    tiers = [(50.0, 3.0), (0.0, 6.0)]  # any order
    assert speed_cap_for_mass(50, tiers) == pytest.approx(6 / 3.6)
    assert speed_cap_for_mass(60, tiers) == pytest.approx(3 / 3.6)
    with pytest.raises(InvalidInput, match="mass_kg: no speed tier covers 10 kg"):
        speed_cap_for_mass(10, [(50.0, 3.0)])


@pytest.mark.parametrize("mass_kg", [0, -5, float("nan"), True])
def test_speed_cap_needs_a_positive_mass(mass_kg):
    with pytest.raises(InvalidInput, match="mass_kg must be a number > 0"):
        speed_cap_for_mass(mass_kg)


def test_map_json(zones):
    out = zones.to_map_json()
    assert out[0] == {"name": "school", "kind": "speed_limit", "polygon": square(0, 0, 10, 10),
                      "limit_mps": 1.4, "open": None, "close": None}
    assert out[3] == {"name": "night_yard", "kind": "hours", "polygon": square(30, 0, 40, 10),
                      "limit_mps": 0.5, "open": "22:00", "close": "06:00"}
    assert out[2]["kind"] == "no_go" and out[2]["limit_mps"] is None


SCHOOL = RAW[1]
NIGHT = RAW[4]


@pytest.mark.parametrize(("entry", "message", "field"), [
    ("school", "zones.yaml: zones[0]: expected a mapping", "zones[0]"),
    ({**SCHOOL, "name": ""}, "zones.yaml: zones[0]: name must be a non-empty string", "zones[0].name"),
    ({"kind": "no_go", "polygon": square(0, 0, 1, 1)}, "zones[0]: name must be a non-empty string",
     "zones[0].name"),
    ({**SCHOOL, "kind": "slow"}, "zone 'school': kind 'slow' is not one of speed_limit, no_go, hours, cleaning",
     "zones[0].kind"),
    ({**SCHOOL, "kind": None}, "zone 'school': kind None is not one of", "zones[0].kind"),
    ({**SCHOOL, "polygon": None}, "zone 'school': polygon must be a list of [x, y] points", "zones[0].polygon"),
    ({**SCHOOL, "polygon": [[0, 0], [1, "a"], [1, 1]]}, "zone 'school': polygon must be a list of [x, y]",
     "zones[0].polygon"),
    ({**SCHOOL, "polygon": [[0, 0, 0], [1, 0, 0], [1, 1, 0]]}, "polygon must be a list of [x, y]",
     "zones[0].polygon"),
    ({**SCHOOL, "polygon": [[0, 0], [1, 1]]}, "zone 'school': polygon must be a simple polygon of 3 or more",
     "zones[0].polygon"),
    ({**SCHOOL, "polygon": [[0, 0], [2, 2], [2, 0], [0, 2]]}, "zone 'school': polygon must be a simple polygon",
     "zones[0].polygon"),
    ({**SCHOOL, "polygon": [[0, 0], [1, 1], [2, 2]]}, "polygon must be a simple polygon", "zones[0].polygon"),
    ({**SCHOOL, "limit_mps": 0}, "zones.yaml: zone 'school': limit_mps must be > 0", "zones[0].limit_mps"),
    ({**SCHOOL, "limit_mps": -1.4}, "zone 'school': limit_mps must be > 0", "zones[0].limit_mps"),
    ({**SCHOOL, "limit_mps": "fast"}, "zone 'school': limit_mps must be a number, got 'fast'",
     "zones[0].limit_mps"),
    ({**SCHOOL, "limit_mps": float("inf")}, "zone 'school': limit_mps must be a number", "zones[0].limit_mps"),
    ({**SCHOOL, "limit_mps": None}, "zone 'school': limit_mps is required", "zones[0].limit_mps"),
    ({**SCHOOL, "open": "08:00"}, "zone 'school': open does not apply to a speed_limit zone", "zones[0].open"),
    ({"name": "pond", "kind": "no_go", "limit_mps": 1.0, "polygon": square(0, 0, 1, 1)},
     "zone 'pond': limit_mps does not apply to a no_go zone", "zones[0].limit_mps"),
    ({**NIGHT, "limit_mps": 0}, "zone 'night_yard': limit_mps must be > 0", "zones[0].limit_mps"),
    ({**NIGHT, "open": None}, "zone 'night_yard': open is required", "zones[0].open"),
    ({k: v for k, v in NIGHT.items() if k != "close"}, "zone 'night_yard': close is required", "zones[0].close"),
    ({**NIGHT, "open": "24:00"}, "zone 'night_yard': open must be a time of day \"HH:MM\", got '24:00'",
     "zones[0].open"),
    ({**NIGHT, "close": "6h"}, "zone 'night_yard': close must be a time of day", "zones[0].close"),
    ({**NIGHT, "close": "06:60"}, "zone 'night_yard': close must be a time of day", "zones[0].close"),
    ({**NIGHT, "open": yaml.safe_load("t: 22:00")["t"]},
     "open must be a time of day \"HH:MM\" (quote it: YAML reads 22:00 as a number), got 1320", "zones[0].open"),
    ({**NIGHT, "close": "22:00"}, "zone 'night_yard': close must differ from open (22:00)", "zones[0].close"),
])
def test_every_error_names_the_zone_and_the_field(entry, message, field):
    with pytest.raises(InvalidInput) as caught:
        parse_operating_zones([entry])
    assert message in str(caught.value)
    assert caught.value.field == field
    assert isinstance(caught.value, DomainError)


def test_zone_names_are_unique():
    with pytest.raises(InvalidInput) as caught:
        parse_operating_zones([SCHOOL, {**SCHOOL, "limit_mps": 1.0}])
    assert str(caught.value) == "zones.yaml: zone 'school': name is used by another zone"
    assert caught.value.field == "zones[1].name"


# -- zones on routes (issue 5, acceptance 4) -------------------------------------------------------


def test_closed_zones_and_how_reasons_name_them(zones):
    assert zones.closed() == ("pond",)
    assert zones.closed(12 * H) == ("pond", "night_yard")
    assert zones.closed(23 * H) == ("pond", "day_yard")
    assert zones.describe("pond") == "no-go zone pond"
    assert zones.describe("night_yard") == "zone night_yard (open 22:00-06:00)"
    assert zones.crossed([(18, 2), (26, 2)]) == ["pond"]
    assert zones.crossed([(18, 5), (26, 5), (42, 5)]) == []
    assert zones.crossed([(18, 5), (26, 5), (42, 5)], 12 * H) == ["night_yard"]
    assert zones.crossed([(22, 2)]) == ["pond"]


def test_lane_limits_take_the_lowest_of_lane_and_zones(zones):
    graph = parse_navgraph({"site": "z", "places": {"a": {"x": -5, "y": 5}, "b": {"x": 3, "y": 5},
                                                    "c": {"x": 12, "y": 5}, "d": {"x": 12, "y": 20}},
                            "lanes": [{"id": "ab", "from": "a", "to": "b"},
                                      {"id": "bc", "from": "b", "to": "c", "speed_limit": 0.5},
                                      {"id": "cd", "from": "c", "to": "d", "speed_limit": 2.0}]}, "test")
    limited = {lane.id: lane.speed_limit for lane in zones.with_lane_limits(graph).lanes}
    assert limited == {"ab": 1.4, "bc": 0.5, "cd": 0.8}
    assert {lane.id: lane.speed_limit for lane in graph.lanes} == {"ab": None, "bc": 0.5, "cd": 2.0}


def test_a_zone_cuts_the_way_only_when_no_way_avoids_it(zones, site):
    assert zones.cut(site, "a", ["b"]) == ["pond"]  # through the pond (and along its edge) only
    assert zones.cut(site, "c", ["d"]) == []  # beside it
    assert zones.cut(site, "a", ["d"]) == []  # no way even through the zone: not the zone's doing
    assert zones.cut(site, "h", ["i"]) == []  # the night yard is open without a clock
    assert zones.cut(site, "h", ["i"], clock_s=12 * H) == ["night_yard"]
    assert zones.cut(site, "a", ["a"]) == []


def test_speed_caps_default_to_the_mass_tiers_and_a_model_may_set_its_own():
    caps = SpeedCaps()
    assert caps.max_speed("bot", 50, 1.5) == pytest.approx(1.5)  # 15 km/h is above its own top speed
    assert caps.max_speed("bot", 300, 2.0) == pytest.approx(5 / 3.6)
    own = parse_speed_caps({"models": {"bot": 0.9}})
    assert own.max_speed("bot", 300, 2.0) == pytest.approx(0.9)  # its own cap, not the tier
    assert own.max_speed("other", 300, 2.0) == pytest.approx(5 / 3.6)
    assert own.max_speed("bot", 50, 0.5) == pytest.approx(0.5)  # never above the model's top speed
    assert parse_speed_caps({"tiers": [[0, 7.2]]}).max_speed("bot", 50, 3.0) == pytest.approx(2.0)
    assert parse_speed_caps(None) == SpeedCaps()


@pytest.mark.parametrize(("raw", "field"), [
    ([1], "speed_caps"), ({"tier": []}, "speed_caps"), ({"tiers": []}, "speed_caps.tiers"),
    ({"tiers": [[0, 0]]}, "speed_caps.tiers"), ({"tiers": [[-1, 5]]}, "speed_caps.tiers"),
    ({"tiers": [[0, "fast"]]}, "speed_caps.tiers"), ({"models": {"bot": 0}}, "speed_caps.models"),
    ({"models": ["bot"]}, "speed_caps.models"),
])
def test_bad_speed_caps_name_the_field(raw, field):
    with pytest.raises(InvalidInput) as caught:
        parse_speed_caps(raw)
    assert caught.value.field == field and str(caught.value).startswith(f"zones.yaml: {field}:")


def test_the_zones_file(tmp_path):
    assert load_zones_file(tmp_path / "none.yaml") == {}
    bad = tmp_path / "zones.yaml"
    for text in ("zones: [\n", "zones: 3\n", "- 1\n"):
        bad.write_text(text)
        with pytest.raises(ValueError, match=str(bad)):
            load_zones_file(bad)
