"""The pilot watch (fleet_manager/pilots/watch.py) on fake state batches and contacts, written to SQLite
by pilots/automatic.py; no ROS. The site is city_block (robots courier_1..3, a school zone limited to
0.8 m/s, a no-go construction site); pedestrians are faked where a test needs them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session

from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.core.zones import parse_operating_zones
from fleet_manager.db.engine import make_engine, upgrade
from fleet_manager.db.tables import Mission, Pilot, utcnow
from fleet_manager.pilots import automatic, service
from fleet_manager.pilots.watch import (
    BLOCKED_AFTER_S,
    EVIDENCE_S,
    CloseInterventions,
    ContactReport,
    NewIncident,
    OpenIntervention,
    PilotWatch,
    SiteFacts,
)
from fleet_manager.sites.service import Site, SiteCatalog

REPO = Path(__file__).resolve().parents[2]
SITES = REPO / "sim_worlds"
ROBOTS = {"courier_1": 0.35, "courier_2": 0.35, "courier_3": 0.35}
CITY_ZONES = parse_operating_zones([
    {"name": "school_zone", "kind": "speed_limit", "limit_mps": 0.8,
     "polygon": [[58.0, 72.2], [87.0, 72.2], [87.0, 77.0], [58.0, 77.0]]},
    {"name": "construction_east", "kind": "no_go", "polygon": [[87.0, 40.0], [90.0, 40.0], [90.0, 48.0], [87.0, 48.0]]},
])
M = RobotMode


def state(rid: str, t: float, mode: RobotMode = M.MOVING, x: float = 10.0, y: float = 10.0, *, v: float = 0.0,
          battery: float = 90.0, charging: bool = False, task: str = "", errors: tuple[str, ...] = ()) -> RobotReport:
    return RobotReport(rid, "delivery", "sidewalkbot", mode, x, y, 0.0, v, 0.0, battery, charging, task, 0.0, errors,
                       t, 1.7e9 + t)


class FakeCrowd:
    """Pedestrians standing still where the test puts them."""

    def __init__(self, **where: tuple[float, float]) -> None:
        self.names = list(where)
        self._xy = np.array(list(where.values()), dtype=float).reshape(-1, 2)

    def centres(self, t: float) -> np.ndarray:
        return self._xy


@pytest.fixture
def missions() -> dict[str, int]:
    return {}


@pytest.fixture
def watch(missions: dict[str, int]) -> PilotWatch:
    facts = SiteFacts(robots=ROBOTS, places=[("corner", 10.0, 10.0), ("far", 80.0, 80.0)], zones=CITY_ZONES,
                      pedestrians=FakeCrowd(ped_a=(200.0, 200.0)))
    return PilotWatch(facts, missions.get)


@pytest.fixture
def db(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'watch.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sites() -> SiteCatalog:
    return SiteCatalog(SITES, "city_block")


def incidents(actions) -> list[NewIncident]:
    return [a for a in actions if isinstance(a, NewIncident)]


def feed(watch: PilotWatch, reports) -> list:
    actions: list = []
    for r in reports:
        actions += watch.on_states([r])
    return actions


# -- interventions ---------------------------------------------------------------------------------
def test_manual_mode_opens_one_intervention_and_leaving_it_closes_it(watch, missions, db, sites):
    pilot = Pilot(id="p1", site="city_block", name="sidewalk", period_start=utcnow(), period_end=utcnow(),
                  robots=["courier_1"], created_at=utcnow())
    with Session(db) as session:
        session.add(pilot)
        session.add(Mission(id=7, site="city_block", status="underway", pilot_id="p1", robot_id="courier_1",
                            created_at=utcnow()))
        session.commit()
    missions["courier_1"] = 7
    first = watch.on_states([state("courier_1", 1.0), state("courier_2", 1.0)])  # stale ones closed, if any
    assert [(type(a), a.robot_id, set(a.kinds)) for a in first] == [
        (CloseInterventions, rid, {"teleoperation", "remote_assist", "on_site"}) for rid in ("courier_1", "courier_2")]
    actions = first + feed(watch, [state("courier_1", 2.0, M.MANUAL), state("courier_1", 2.5, M.MANUAL, x=11.0),
                                   state("courier_1", 3.0, M.MANUAL, x=12.5), state("courier_1", 4.0, M.IDLE, x=13.0)])
    opened = [a for a in actions if isinstance(a, OpenIntervention)]
    assert [(a.kind, a.reason, a.mission_id, a.sim_time) for a in opened] == [
        ("teleoperation", "robot reported MANUAL mode", 7, 2.0)]
    automatic.apply(db, sites, actions)
    with Session(db) as session:
        rows = service.list_interventions(session)
    assert len(rows) == 1
    row = rows[0]
    assert (row.robot_id, row.kind, row.source, row.reason, row.mission_id, row.pilot_id) == (
        "courier_1", "teleoperation", "automatic", "robot reported MANUAL mode", 7, "p1")
    assert (row.sim_started_at, row.sim_ended_at, row.open) == (2.0, 4.0, False)
    assert row.distance_m == pytest.approx(3.0)  # driven by hand: 10 -> 11 -> 12.5 -> 13 m


def test_leaving_manual_leaves_an_operators_intervention_open(watch, db, sites):
    from fleet_manager.pilots.schemas import InterventionCreate

    with Session(db) as session:
        service.open_intervention(session, sites, InterventionCreate(kind="on_site", robot_id="courier_1",
                                                                     reason="stuck in a door"))
    actions = feed(watch, [state("courier_1", 1.0, M.MANUAL), state("courier_1", 2.0)])
    automatic.apply(db, sites, actions)
    with Session(db) as session:
        rows = service.list_interventions(session)
    assert [(r.source, r.reason, r.open) for r in rows] == [("operator", "stuck in a door", True)]


def test_a_robot_found_in_manual_or_estop_at_start_gets_its_intervention_once(watch, db, sites):
    actions = watch.on_states([state("courier_1", 1.0, M.MANUAL), state("courier_2", 1.0, M.ESTOP)])
    actions += watch.on_states([state("courier_1", 1.2, M.MANUAL), state("courier_2", 1.2, M.ESTOP)])
    assert not incidents(actions)  # nothing new happened while it was watched
    automatic.apply(db, sites, actions)
    automatic.apply(db, sites, actions)  # a second start of the fleet manager: still one each
    with Session(db) as session:
        rows = service.list_interventions(session, is_open=True)
    assert sorted((r.robot_id, r.kind) for r in rows) == [("courier_1", "teleoperation"), ("courier_2", "on_site")]
    fresh = PilotWatch(watch.site)  # a restart, the robots back to normal: the stale ones close
    automatic.apply(db, sites, fresh.on_states([state("courier_1", 9.0), state("courier_2", 9.0, M.IDLE)]))
    with Session(db) as session:
        assert service.list_interventions(session, is_open=True) == []


def test_an_operator_estop_opens_an_intervention_and_records_an_incident(watch, db, sites):
    feed(watch, [state("courier_1", t, x=20.0 + t) for t in np.arange(0.0, 12.0, 0.5)])
    watch.expect_estop("courier_1")
    during = feed(watch, [state("courier_1", 12.0, M.ESTOP, x=32.0)])  # the state may come before the answer
    assert during == []
    actions = watch.operator_estop("courier_1", True, 12.1, "child on the path")
    actions += feed(watch, [state("courier_1", 12.5, M.ESTOP, x=32.0)])
    assert watch.operator_estop("courier_1", True, 13.0) == []  # e-stopped already
    opened = [a for a in actions if isinstance(a, OpenIntervention)]
    assert [(a.kind, a.reason, a.sim_time) for a in opened] == [("remote_assist", "e-stop by operator", 12.1)]
    (incident,) = incidents(actions)
    assert (incident.kind, incident.severity, incident.x, incident.sim_time) == ("estop", "SEV2", 32.0, 12.1)
    assert incident.description == "e-stop by operator: child on the path"
    assert incident.evidence[-1]["mode"] == "estop" and incident.evidence[0]["t"] >= 12.0 - EVIDENCE_S
    released = feed(watch, [state("courier_1", 20.0, M.IDLE, x=32.0)])
    assert [type(a) for a in released] == [CloseInterventions]
    automatic.apply(db, sites, actions + released)
    with Session(db) as session:
        (row,) = service.list_interventions(session)
        (stored,) = service.list_incidents(session)
    assert (row.kind, row.reason, row.sim_started_at, row.sim_ended_at) == ("remote_assist", "e-stop by operator",
                                                                              12.1, 20.0)
    assert stored.kind == "estop" and stored.source == "automatic" and len(stored.evidence) == len(incident.evidence)


def test_a_refused_operator_estop_records_nothing(watch):
    feed(watch, [state("courier_1", 1.0)])
    watch.expect_estop("courier_1")
    assert watch.operator_estop("courier_1", False, 1.5) == []
    assert feed(watch, [state("courier_1", 2.0)]) == []


def test_an_estop_the_robot_reports_on_its_own_opens_an_on_site_intervention(watch):
    feed(watch, [state("courier_2", 1.0)])
    actions = feed(watch, [state("courier_2", 2.0, M.ESTOP), state("courier_2", 2.5, M.ESTOP)])
    assert [(a.kind, a.reason) for a in actions if isinstance(a, OpenIntervention)] == [
        ("on_site", "robot reported ESTOP mode")]
    assert [(i.kind, i.severity) for i in incidents(actions)] == [("estop", "SEV2")]
    assert [type(a) for a in feed(watch, [state("courier_2", 3.0, M.IDLE)])] == [CloseInterventions]


# -- incidents -------------------------------------------------------------------------------------
def test_a_contact_is_one_incident_with_evidence_and_repeats_are_debounced(watch, db, sites):
    feed(watch, [state("courier_1", t, x=10.0 + 0.1 * t, v=0.5) for t in np.arange(0.0, 20.0, 0.2)])
    wall = ContactReport("courier_1", "kerbs/rail_block_s_1/collision", 11.9, 10.0, 0.0, 19.9)
    first = watch.on_contact(wall)
    assert watch.on_contact(ContactReport("courier_1", wall.other, 11.9, 10.0, 0.0, 21.0)) == []
    assert watch.on_contact(ContactReport("courier_1", wall.other, 11.9, 10.0, 0.0, 25.5)) == []  # 4.5 s after
    again = watch.on_contact(ContactReport("courier_1", wall.other, 11.9, 10.0, 0.0, 31.0))  # 5.5 s after
    assert len(first) == len(again) == 1
    (incident,) = first
    assert (incident.kind, incident.severity, incident.x, incident.y, incident.sim_time, incident.place) == (
        "collision", "SEV2", 11.9, 10.0, 19.9, "corner")
    assert "static obstacle kerbs/rail_block_s_1/collision" in incident.description
    times = [s["t"] for s in incident.evidence]
    assert times == sorted(times) and times[-1] == pytest.approx(19.8) and times[0] >= 19.8 - EVIDENCE_S
    assert len(times) == pytest.approx(EVIDENCE_S / 0.2, abs=1)
    assert set(incident.evidence[0]) >= {"robot_id", "t", "x", "y", "yaw", "linear", "angular", "mode", "battery"}
    automatic.apply(db, sites, first)
    with Session(db) as session:
        (stored,) = service.list_incidents(session)
    assert stored.evidence == incident.evidence and stored.place.name == "corner" and stored.sim_time == 19.9


def test_contacts_with_robots_and_pedestrians_are_sev1_and_a_robot_pair_is_one_incident(watch):
    feed(watch, [state("courier_1", 1.0, x=5.0), state("courier_2", 1.0, x=5.6)])
    pair = watch.on_contact(ContactReport("courier_1", "courier_2", 5.0, 10.0, 0.0, 1.1))
    assert watch.on_contact(ContactReport("courier_2", "courier_1", 5.6, 10.0, 3.1, 1.1)) == []
    (incident,) = pair
    assert incident.severity == "SEV1" and "robot courier_2" in incident.description
    assert {s["robot_id"] for s in incident.evidence} == {"courier_1", "courier_2"}
    (walker,) = watch.on_contact(ContactReport("courier_1", "ped_a", 5.0, 10.0, 0.0, 2.0))
    assert walker.severity == "SEV1" and "pedestrian ped_a" in walker.description
    assert watch.on_contact(ContactReport("stranger", "courier_1", 0.0, 0.0, 0.0, 2.0)) == []  # not of the fleet


def test_a_pedestrian_walking_into_a_standing_robot_is_counted_apart_from_collisions(watch):
    feed(watch, [state("courier_1", 1.0, x=5.0), state("courier_2", 1.0, x=20.0)])
    (standing,) = watch.on_contact(ContactReport("courier_1", "ped_a", 5.0, 10.0, 0.0, 2.0, "person", 0.0, 1.2))
    assert (standing.kind, standing.severity) == ("person_contact", "SEV3")
    assert "ped_a walked into the standing robot" in standing.description and "closing at 1.20 m/s" in \
        standing.description
    (moving,) = watch.on_contact(ContactReport("courier_2", "ped_a", 20.0, 10.0, 0.0, 2.0, "person", 0.8, 2.0))
    assert (moving.kind, moving.severity) == ("collision", "SEV1")  # the robot was moving: it shares the blame
    assert "it walked into the moving robot" in moving.description


def test_an_obstacle_stop_longer_than_the_threshold_is_one_blocked_incident(watch):
    feed(watch, [state("courier_3", 0.0, x=30.0, v=1.0, task="t1")])
    watch.on_task_state("courier_3", "t1", "waiting_obstacle")
    stop = [state("courier_3", 0.5 * k, M.WAITING, x=30.0, task="t1") for k in range(1, 30)]  # 0.5 .. 14.5 s
    actions = feed(watch, stop)
    (blocked,) = incidents(actions)
    assert (blocked.kind, blocked.severity) == ("blocked", "SEV3")
    assert blocked.sim_time == pytest.approx(0.5 + BLOCKED_AFTER_S)
    # a replan (a new task), a short move, the same obstacle: the same episode
    watch.on_task_state("courier_3", "t2", "driving")
    more = feed(watch, [state("courier_3", 15.0, M.MOVING, x=30.2, task="t2")])
    watch.on_task_state("courier_3", "t2", "waiting_obstacle")
    more += feed(watch, [state("courier_3", 15.5 + k, M.WAITING, x=30.2, task="t2") for k in range(10)])
    assert incidents(more) == []
    # driven away, stopped again: a new episode
    watch.on_task_state("courier_3", "t2", "driving")
    feed(watch, [state("courier_3", 26.0, M.MOVING, x=33.0, task="t2")])
    watch.on_task_state("courier_3", "t2", "waiting_obstacle")
    later = feed(watch, [state("courier_3", 26.5 + k, M.WAITING, x=33.0, task="t2") for k in range(7)])
    assert [i.kind for i in incidents(later)] == ["blocked"]


def test_waiting_for_a_route_release_or_a_short_stop_is_no_incident(watch):
    watch.on_task_state("courier_3", "t1", "waiting_release")
    feed(watch, [state("courier_3", 0.0, task="t1")])
    watch.on_task_state("courier_3", "t1", "waiting_release")
    assert feed(watch, [state("courier_3", 0.5 * k, M.WAITING, task="t1") for k in range(1, 40)]) == []
    watch.on_task_state("courier_3", "t1", "waiting_obstacle")
    short = feed(watch, [state("courier_3", 20.0 + 0.5 * k, M.WAITING, task="t1") for k in range(6)])  # 2.5 s
    short += feed(watch, [state("courier_3", 23.0, M.MOVING, x=12.0, task="t1")])
    assert incidents(short) == []
    # an agent that says so in its errors, with no task feedback at hand
    errs = feed(watch, [state("courier_1", float(k), M.WAITING, errors=("waiting_obstacle",)) for k in range(7)])
    assert [i.kind for i in incidents(errs)] == ["blocked"]


def test_a_pedestrian_close_to_a_stopped_robot_is_a_near_miss():
    facts = SiteFacts(robots=ROBOTS, pedestrians=FakeCrowd(ped_far=(12.0, 10.0), ped_near=(50.0, 50.75)))
    watch = PilotWatch(facts)
    watch.on_task_state("courier_1", "t", "waiting_obstacle")
    feed(watch, [state("courier_1", 0.0, task="t")])
    watch.on_task_state("courier_1", "t", "waiting_obstacle")
    assert incidents(feed(watch, [state("courier_1", 1.0, M.WAITING, task="t")])) == []  # 1.35 m away
    feed(watch, [state("courier_2", 0.0, x=50.0, y=50.0, task="u")])
    watch.on_task_state("courier_2", "u", "waiting_obstacle")
    actions = feed(watch, [state("courier_2", 1.0 + k, M.WAITING, x=50.0, y=50.0, task="u") for k in range(3)])
    (near,) = incidents(actions)  # 0.75 - 0.35 - 0.3 = 0.10 m between footprints, once per episode
    assert (near.kind, near.severity) == ("near_miss", "SEV3") and "ped_near 0.10 m" in near.description


def test_a_protective_stop_of_the_safety_layer_is_one_incident_per_episode(watch):
    seen = "protective stop: stop (approach): moving object at 1.3 m/s 0.20 m away"
    feed(watch, [state("courier_2", 0.0, x=20.0, v=1.0, task="t")])
    actions = feed(watch, [state("courier_2", 0.2 * k, x=20.0, task="t", errors=(seen,)) for k in range(1, 5)])
    (stop,) = incidents(actions)
    assert (stop.kind, stop.severity) == ("protective_stop", "SEV3") and stop.description == seen
    # on its way again, stopped again a few metres on: a new episode
    feed(watch, [state("courier_2", 2.0, x=22.0, v=1.0, task="t")])
    again = feed(watch, [state("courier_2", 2.2, x=23.0, task="t", errors=(seen,))])
    assert [i.kind for i in incidents(again)] == ["protective_stop"]


def test_zone_violations_once_per_stay(watch):
    def drive(t0: float, xs, v: float, y: float = 74.0) -> list:
        return feed(watch, [state("courier_1", t0 + k, x=x, y=y, v=v) for k, x in enumerate(xs)])

    assert incidents(drive(0.0, [55.0, 56.0, 57.0], 1.5)) == []  # fast, outside the zone
    assert incidents(drive(3.0, [60.0, 61.0, 62.0], 0.84)) == []  # within 5 % of 0.8 m/s
    speeding = incidents(drive(6.0, [63.0, 64.0, 65.0, 66.0], 1.0))
    assert [(i.kind, i.severity, i.x) for i in speeding] == [("zone_violation", "SEV3", 63.0)]
    assert "1.00 m/s in zone school_zone (limit 0.8 m/s)" in speeding[0].description
    assert incidents(drive(10.0, [67.0, 68.0], 0.5) + drive(12.0, [69.0], 1.2)) == []  # the same stay
    drive(13.0, [90.0], 0.5)  # out of the zone
    assert len(incidents(drive(14.0, [80.0], 1.2))) == 1  # back in, too fast again
    no_go = incidents(drive(15.0, [88.0, 88.5], 0.3, y=44.0))
    assert [(i.severity, i.description) for i in no_go] == [("SEV2", "inside no-go zone construction_east")]


def test_the_site_facts_of_city_block():
    facts = automatic.site_facts(Site.load(SITES / "city_block"))
    assert set(facts.robots) == set(ROBOTS) and facts.robots["courier_1"] == pytest.approx(0.35)
    assert {z.name for z in facts.zones.zones} >= {"school_zone", "construction_east"}
    assert facts.pedestrians is not None and "ped_shopper" in facts.pedestrians.names
    assert facts.nearest_place(-100.0, -100.0) is not None


# -- the monitor: writes off the event loop, in order -----------------------------------------------
def test_the_monitor_writes_in_order_off_the_event_loop(db, sites):
    monitor = automatic.PilotMonitor(db, sites, PilotWatch(SiteFacts(robots=ROBOTS)))

    async def run() -> None:
        monitor.on_states([state("courier_1", 1.0)])
        monitor.on_states([state("courier_1", 2.0, M.MANUAL)])
        monitor.on_states([state("courier_1", 3.0, M.IDLE)])
        monitor.on_states([state("courier_1", 4.0, M.MANUAL)])
        await monitor.drain()

    asyncio.run(run())
    monitor.close()
    with Session(db) as session:
        rows = service.list_interventions(session)
    assert [(r.sim_started_at, r.sim_ended_at) for r in rows] == [(2.0, 3.0), (4.0, None)]


def test_near_misses_follow_the_pedestrians_the_simulator_publishes_and_a_crowd_person_is_a_person():
    """Reactive people leave their scripts: once /sim/pedestrians arrives, the watch measures against it (a crowd
    person comes and goes, so contacts say what `other` is)."""
    watch = PilotWatch(SiteFacts(robots=ROBOTS, pedestrians=FakeCrowd(ped_a=(50.0, 50.75))))  # the script's place
    watch.on_pedestrians(0.5, ["ped_a", "visitor_3"], [(12.0, 10.0), (50.0, 50.7)])  # where they really are
    feed(watch, [state("courier_2", 0.0, x=50.0, y=50.0, task="u")])
    watch.on_task_state("courier_2", "u", "waiting_obstacle")
    (near,) = incidents(feed(watch, [state("courier_2", 1.0, M.WAITING, x=50.0, y=50.0, task="u")]))
    assert near.kind == "near_miss" and "visitor_3 0.05 m" in near.description
    (contact,) = watch.on_contact(ContactReport("courier_1", "visitor_3", 5.0, 10.0, 0.0, 2.0, "robot", 0.5, 0.5,
                                                "person"))
    assert contact.severity == "SEV1" and "pedestrian visitor_3" in contact.description
