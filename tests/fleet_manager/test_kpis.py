from __future__ import annotations

import pytest

from fleet_manager.core.kpis import (
    Direction,
    Incident,
    Intervention,
    KpiReport,
    MissionRun,
    RobotTime,
    compute_kpis,
    kpis_against_targets,
    nearest_rank,
)

NOW = 10_800.0  # 3 h into the window


@pytest.fixture
def report() -> KpiReport:
    """A small pilot window; every expected value below is worked out by hand from these records."""
    runs = [
        MissionRun("m1", "r1", "completed", 0, 3600, distance_m=3000, energy_wh=300),  # 3600 s
        MissionRun("m2", "r2", "completed", 3600, 5400, distance_m=2000, energy_wh=200),  # 1800 s
        MissionRun("m3", "r1", "failed", 0, 1800, distance_m=1000, energy_wh=100),  # 1800 s
        MissionRun("m4", "r2", "canceled"),  # canceled before it started: 0 s
        MissionRun("m5", "r1", "underway", 9000),  # running: 9000 .. NOW = 1800 s
    ]
    interventions = [
        Intervention("i1", "r1", "remote_assist", 100, 400, mission_id="m3"),  # 300 s
        Intervention("i2", "r2", "teleoperation", 4000, 4600, mission_id="m2", distance_m=300),  # 600 s, 300 m
        Intervention("i3", "r1", "on_site", 10_200),  # open: 10200 .. NOW = 600 s
    ]
    incidents = [
        Incident("n1", "SEV1", "collision", "r1", 1200, mission_id="m3"),
        Incident("n2", "SEV3", "blocked", "r2", 4100),
        Incident("n3", "SEV3", "blocked", "r2", 4200),
    ]
    robot_times = [RobotTime("r1", 3600, 3600), RobotTime("r2", 3600, 1800)]
    return compute_kpis(runs, interventions, incidents, robot_times, public_interactions=7, now=NOW)


def test_mission_counts_and_success_rate(report):
    assert (report.missions_total, report.missions_completed, report.missions_failed, report.missions_canceled) == (
        5, 2, 1, 1)
    assert report.success_rate == pytest.approx(0.5)  # 2 completed / (2 + 1 failed + 1 canceled); m5 not an outcome


def test_durations_of_completed_runs(report):
    assert report.mean_duration_s == pytest.approx(2700)  # (3600 + 1800) / 2
    assert report.p95_duration_s == pytest.approx(3600)  # n = 2: rank ceil(0.95 * 2) = 2, the larger


def test_distance_operating_time_and_energy(report):
    assert report.distance_km == pytest.approx(6.0)  # 3000 + 2000 + 1000 m
    assert report.operating_h == pytest.approx(2.5)  # 3600 + 1800 + 1800 + 0 + 1800 = 9000 s
    assert report.energy_wh_per_km == pytest.approx(100)  # 600 Wh / 6 km


def test_interventions_and_autonomy(report):
    assert report.interventions == 3
    assert report.intervention_h == pytest.approx(1500 / 3600)  # 300 + 600 + 600 s (i3 open, counted to NOW)
    assert report.autonomy_by_time == pytest.approx(5 / 6)  # 1 - 1500 s / 9000 s
    assert report.autonomy_by_distance == pytest.approx(0.95)  # 1 - 300 m / 6000 m
    assert report.mdbi_km == pytest.approx(2.0)  # 6 km / 3 interventions
    assert report.mtbi_h == pytest.approx(5 / 6)  # 2.5 h / 3 interventions


def test_incidents_per_100_km(report):
    assert report.incidents == {"SEV0": 0, "SEV1": 1, "SEV2": 0, "SEV3": 2}
    # 6 km = 0.06 x 100 km: 1 / 0.06 and 2 / 0.06
    assert report.incidents_per_100km == pytest.approx({"SEV0": 0.0, "SEV1": 100 / 6, "SEV2": 0.0, "SEV3": 200 / 6})


def test_availability_and_public_interactions(report):
    assert report.availability == pytest.approx(0.75)  # (3600 + 1800) s available / (3600 + 3600) s enrolled
    assert report.public_interactions == 7


def test_an_open_intervention_counts_up_to_now():
    runs = [MissionRun("m1", "r1", "underway", 0, distance_m=1000)]
    open_one = [Intervention("i1", "r1", "teleoperation", 100)]
    early = compute_kpis(runs, open_one, now=400)
    late = compute_kpis(runs, open_one, now=700)
    assert early.intervention_h == pytest.approx(300 / 3600)  # 400 - 100 s
    assert early.autonomy_by_time == pytest.approx(0.25)  # 1 - 300 s / 400 s operating (the run, to now)
    assert late.intervention_h == pytest.approx(600 / 3600)  # 700 - 100 s
    assert late.autonomy_by_time == pytest.approx(1 / 7)  # 1 - 600 s / 700 s
    not_yet = compute_kpis(runs, [Intervention("i2", "r1", "on_site", 900)], now=700)
    assert not_yet.intervention_h == 0.0  # opens after now: nothing to count yet


def test_an_empty_window_has_no_ratios():
    r = compute_kpis([], now=0)
    assert (r.missions_total, r.distance_km, r.operating_h, r.interventions, r.public_interactions) == (0, 0, 0, 0, 0)
    for name in ("success_rate", "mean_duration_s", "p95_duration_s", "autonomy_by_time", "autonomy_by_distance",
                 "mdbi_km", "mtbi_h", "incidents_per_100km", "energy_wh_per_km", "availability"):
        assert getattr(r, name) is None, name
    assert r.incidents == {"SEV0": 0, "SEV1": 0, "SEV2": 0, "SEV3": 0}


def test_each_zero_denominator_alone():
    # runs but none finished: no outcome, no completed duration; 2 km, 1 h of operation
    running = [MissionRun("m1", "r1", "underway", 0, distance_m=2000, energy_wh=50)]
    r = compute_kpis(running, now=3600)
    assert r.success_rate is None and r.mean_duration_s is None and r.p95_duration_s is None
    # no interventions: MDBI and MTBI are None (not infinity); autonomy is full
    assert r.mdbi_km is None and r.mtbi_h is None
    assert r.autonomy_by_time == 1.0 and r.autonomy_by_distance == 1.0
    assert r.energy_wh_per_km == pytest.approx(25)  # 50 Wh / 2 km
    # interventions but no distance: per-km ratios are None, MDBI is 0 km
    parked = [MissionRun("m2", "r1", "completed", 0, 1800)]
    r = compute_kpis(parked, [Intervention("i1", "r1", "remote_assist", 0, 60)],
                     [Incident("n1", "SEV2", "fall", "r1", 10)], [RobotTime("r1", 0, 0)], now=1800)
    assert r.autonomy_by_distance is None and r.incidents_per_100km is None and r.energy_wh_per_km is None
    assert r.availability is None  # 0 s enrolled
    assert r.mdbi_km == 0.0  # 0 km / 1 intervention
    assert r.mtbi_h == pytest.approx(0.5)  # 0.5 h / 1 intervention
    assert r.incidents["SEV2"] == 1


def test_autonomy_is_clipped_to_zero():
    # 600 s of intervention (300 m) during 300 s (100 m) of missions: both shares exceed 1
    runs = [MissionRun("m1", "r1", "completed", 0, 300, distance_m=100)]
    r = compute_kpis(runs, [Intervention("i1", "r1", "teleoperation", 0, 600, distance_m=300)], now=600)
    assert r.autonomy_by_time == 0.0 and r.autonomy_by_distance == 0.0


def test_p95_is_the_nearest_rank():
    assert nearest_rank([], 0.95) is None
    assert nearest_rank([42.0], 0.95) == 42.0
    twenty = [float(v) for v in range(20, 0, -1)]  # 20 .. 1, unsorted on purpose
    assert nearest_rank(twenty, 0.95) == 19.0  # rank ceil(0.95 * 20) = 19
    assert nearest_rank([*twenty, 21.0], 0.95) == 20.0  # rank ceil(0.95 * 21) = ceil(19.95) = 20
    assert nearest_rank(twenty, 0.5) == 10.0  # rank ceil(0.5 * 20) = 10: no interpolation
    with pytest.raises(ValueError, match="q must be"):
        nearest_rank(twenty, 0)
    # the same through the report: completed runs of 1 .. 20 s, plus a failed run that does not count
    runs = [MissionRun(f"m{d}", "r1", "completed", 0, d) for d in range(1, 21)]
    runs.append(MissionRun("long", "r1", "failed", 0, 1000))
    r = compute_kpis(runs, now=1000)
    assert r.p95_duration_s == 19.0
    assert r.mean_duration_s == pytest.approx(10.5)  # (1 + 20) / 2


def test_targets_met_and_not_met(report):
    checks = kpis_against_targets(report, {
        "success_rate": 0.9,  # 0.5 < 0.9: not met
        "autonomy_by_distance": 0.95,  # 0.95 >= 0.95: met (the bound counts)
        "energy_wh_per_km": 120,  # 100 <= 120: met, lower is better
        "p95_duration_s": 1800,  # 3600 > 1800: not met, lower is better
        "incidents_per_100km.SEV1": 10,  # 16.7 > 10: not met
        "incidents_per_100km.SEV0": 0,  # 0 <= 0: met
        "public_interactions": 5,  # 7 >= 5: met
    })
    assert [(c.kpi, c.met) for c in checks] == [
        ("success_rate", False), ("autonomy_by_distance", True), ("energy_wh_per_km", True),
        ("p95_duration_s", False), ("incidents_per_100km.SEV1", False), ("incidents_per_100km.SEV0", True),
        ("public_interactions", True)]
    assert checks[0].value == pytest.approx(0.5) and checks[0].target == 0.9
    assert checks[0].direction is Direction.HIGHER and checks[2].direction is Direction.LOWER


def test_a_kpi_that_cannot_be_computed_is_neither_met_nor_missed():
    [check] = kpis_against_targets(compute_kpis([], now=0), {"mdbi_km": 5})
    assert check.value is None and check.met is None


def test_an_unknown_target_is_named():
    with pytest.raises(ValueError, match="unknown KPI 'autonomy'"):
        kpis_against_targets(compute_kpis([], now=0), {"success_rate": 0.9, "autonomy": 0.9})
    with pytest.raises(ValueError, match=r"unknown KPI 'incidents_per_100km\.SEV9'"):
        kpis_against_targets(compute_kpis([], now=0), {"incidents_per_100km.SEV9": 0})


def test_bad_records_are_refused():
    with pytest.raises(ValueError, match="intervention i1: unknown kind 'phone'"):
        Intervention("i1", "r1", "phone", 0, 1)
    with pytest.raises(ValueError, match="intervention i1: end is before start"):
        Intervention("i1", "r1", "on_site", 10, 5)
    with pytest.raises(ValueError, match="incident n1: unknown severity 'SEV4'"):
        Incident("n1", "SEV4", "fall", "r1", 0)
    with pytest.raises(ValueError, match="mission run m1: finished_at is before started_at"):
        MissionRun("m1", "r1", "completed", 10, 5)
    with pytest.raises(ValueError, match="public_interactions"):
        compute_kpis([], public_interactions=-1, now=0)


def test_protective_stops_and_near_misses_per_km():
    runs = [MissionRun("m1", "r1", "completed", 0, 600, distance_m=1500),
            MissionRun("m2", "r2", "completed", 0, 600, distance_m=500)]
    incidents = [Incident(f"n{i}", "SEV3", kind, "r1", 10.0 * i) for i, kind in enumerate(
        ["protective_stop", "protective_stop", "protective_stop", "near_miss", "blocked"])]
    report = compute_kpis(runs, (), incidents, now=600)
    assert (report.protective_stops, report.near_misses) == (3, 1)
    assert report.protective_stops_per_km == pytest.approx(1.5)  # 3 stops / 2 km
    assert report.near_misses_per_km == pytest.approx(0.5)  # 1 / 2 km
    empty = compute_kpis([], (), incidents, now=600)
    assert empty.protective_stops == 3 and empty.protective_stops_per_km is None  # no distance: no rate
    (check,) = kpis_against_targets(report, {"protective_stops_per_km": 1.0})
    assert check.direction is Direction.LOWER and check.met is False


def test_move_asides_are_not_missions_but_their_distance_time_and_energy_count():
    """A robot the dispatcher sent out of another's way (issue 17) drove, but did no mission: the mission counts,
    success rate and durations leave it out; distance, operating time and energy keep it."""
    runs = [MissionRun("m1", "r1", "completed", 0, 600, distance_m=400, energy_wh=40),
            MissionRun("a1", "r2", "completed", 100, 160, distance_m=30, energy_wh=3, move_aside=True),
            MissionRun("a2", "r2", "failed", 200, 290, distance_m=10, energy_wh=1, move_aside=True)]
    k = compute_kpis(runs, now=1000)
    assert (k.missions_total, k.missions_completed, k.missions_failed) == (1, 1, 0)
    assert k.success_rate == 1.0
    assert k.mean_duration_s == pytest.approx(600)  # the 60 s move-aside is no mission duration
    assert k.distance_km == pytest.approx(0.44)  # 400 + 30 + 10 m
    assert k.operating_h == pytest.approx((600 + 60 + 90) / 3600)
    assert k.energy_kwh == pytest.approx(0.044)
