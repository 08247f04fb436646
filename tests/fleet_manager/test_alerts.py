"""Alerts (issue 18, item 2): the rules, the service on SQLite and PostgreSQL (raised once per key, cleared when
the cause ends, events once ever, acknowledged once, scoped to the site), and the watch fed by a real robot
registry and the database's failed missions and incidents. No ROS."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import Session

from fleet_manager.alerts import rules
from fleet_manager.alerts.rules import AlertKind, RobotFacts
from fleet_manager.alerts.service import AlertService
from fleet_manager.alerts.watch import AlertWatch
from fleet_manager.core.errors import NotFound
from fleet_manager.core.robots import LOCALISATION_LOST, RobotMode, RobotReport
from fleet_manager.db.engine import make_engine, upgrade
from fleet_manager.db.tables import Incident, Mission, Pilot, utcnow
from fleet_manager.robots.service import RobotRegistry


class Frames:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def publish_event(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)


@pytest.fixture
def engine(database_url: str):
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_robot_conditions() -> None:
    facts = [RobotFacts("a", "estop", 80.0, False, True), RobotFacts("b", "offline", 5.0, False, False),
             RobotFacts("c", "moving", 9.0, False, False), RobotFacts("d", "charging", 3.0, True, True),
             RobotFacts("e", "idle", 60.0, False, True)]
    got = {(c.key, c.kind, c.severity) for c in rules.robot_conditions(facts, 10.0)}
    assert got == {("estop:a", AlertKind.ESTOP, "SEV1"), ("offline:b", AlertKind.OFFLINE, "SEV2"),
                   ("localisation:c", AlertKind.LOCALISATION_LOST, "SEV2"),
                   ("battery:c", AlertKind.BATTERY_LOW, "SEV3")}
    assert rules.banner("estop", "SEV1") and rules.banner("incident", "SEV0") and not rules.banner("offline", "SEV2")
    assert rules.incident_opened("i1", "estop", "SEV2", "a", None, "") is None  # the e-stop alert says it
    blocked = rules.incident_opened("i2", "blocked", "SEV3", "a", 4, "waiting for an obstacle for 5 s")
    assert blocked is not None and (blocked.kind, blocked.mission_id) == (AlertKind.ROBOT_BLOCKED, 4)


def test_conditions_raise_once_and_clear_events_raise_once_ever(engine) -> None:
    hub = Frames()
    alerts = AlertService(engine, "living_lab", hub)
    estop = rules.robot_conditions([RobotFacts("amr_1", "estop", 80.0, False, True)], 15.0)
    failed = rules.mission_failed(3, "amr_1", "no route")
    assert [a.kind for a in alerts.apply(estop, [failed])] == ["estop", "mission_failed"]
    assert alerts.apply(estop, [failed]) == []  # nothing new: nothing written, nothing streamed
    (cleared,) = alerts.apply([], [])
    assert cleared.kind == "estop" and not cleared.active and cleared.cleared_at is not None
    assert len(hub.frames) == 3 and all(f["type"] == "alert" for f in hub.frames)
    listed = alerts.search(open_only=True)
    assert [(a.kind, a.active, a.banner) for a in listed] == [("mission_failed", False, False), ("estop", False, True)]
    acked = alerts.acknowledge(listed[1].id, "op1")
    assert acked.acknowledged_by == "op1" and acked.acknowledged_at is not None
    assert alerts.acknowledge(listed[1].id, "op2").acknowledged_by == "op1"  # once
    assert [a.kind for a in alerts.search(open_only=True)] == ["mission_failed"]  # acknowledged and cleared: closed
    assert len(alerts.search(open_only=False)) == 2
    assert [a.kind for a in alerts.apply(estop, [])] == ["estop"]  # e-stopped again: a new alert
    with pytest.raises(NotFound):
        AlertService(engine, "city_block", hub).acknowledge(listed[1].id, "op1")  # not this lab's site
    assert AlertService(engine, "city_block", hub).search(open_only=False) == []


def _report(rid: str, mode: RobotMode = RobotMode.MOVING, battery: float = 80.0, lost: bool = False) -> RobotReport:
    return RobotReport(rid, "amr", "tugger", mode, 0.0, 0.0, 0.0, 0.0, 0.0, battery, False, "", 0.0,
                       (LOCALISATION_LOST,) if lost else (), 0.0, 0.0)


def test_the_watch_raises_from_robots_runs_missions_and_incidents(engine) -> None:
    hub = Frames()
    alerts = AlertService(engine, "living_lab", hub)
    registry = RobotRegistry(5.0)
    registry.update(_report("amr_1"))
    registry.update(_report("amr_2", battery=8.0))
    run = SimpleNamespace(mission_id=9, robot_id="amr_1", awaiting=None, awaiting_prompt="")
    watch = AlertWatch(alerts, registry, lambda: [run], battery_alert_pct=15.0)
    asyncio.run(watch.tick())
    assert [f["alert"]["key"] for f in hub.frames] == ["battery:amr_2"]

    registry.update(dataclasses.replace(_report("amr_1", RobotMode.ESTOP)))
    run.awaiting, run.awaiting_prompt = 2, "sign for the parcel"
    now = utcnow()
    with Session(engine) as session:
        session.add(Pilot(id="p1", site="living_lab", name="p", period_start=now - timedelta(days=1),
                          period_end=now + timedelta(days=1), created_at=now))
        session.add(Pilot(id="p2", site="city_block", name="q", period_start=now, period_end=now, created_at=now))
        session.add(Mission(id=9, site="living_lab", status="failed", robot_id="amr_1", created_at=now, ended_at=now,
                            failure_reason="step 1 failed: no route"))
        session.add(Mission(id=10, site="city_block", status="failed", created_at=now, ended_at=now))
        session.commit()
        for iid, pilot, kind in [("i1", "p1", "zone_violation"), ("i2", "p1", "estop"), ("i3", "p2", "collision")]:
            session.add(Incident(id=iid, pilot_id=pilot, robot_id="amr_1", severity="SEV2", kind=kind,
                                 source="automatic", time=now, x=0.0, y=0.0))
        session.commit()
    hub.frames.clear()
    asyncio.run(watch.tick())
    keys = {f["alert"]["key"]: f["alert"] for f in hub.frames}
    assert set(keys) == {"estop:amr_1", "confirm:9:2", "mission_failed:9", "incident:i1"}, keys
    assert "sign for the parcel" in keys["confirm:9:2"]["message"]
    assert keys["incident:i1"]["kind"] == "zone_violation" and keys["estop:amr_1"]["banner"]

    hub.frames.clear()
    asyncio.run(watch.tick())
    assert hub.frames == []  # nothing changed
    # a new watch (a restart) looks back from the newest event alert, and raises none of them again
    again = AlertWatch(alerts, registry, lambda: [run], battery_alert_pct=15.0)
    asyncio.run(again.tick())
    assert hub.frames == []
    registry.update(_report("amr_1", RobotMode.IDLE, lost=True))  # released, but lost its localisation
    run.awaiting = None
    asyncio.run(again.tick())
    changed = {(f["alert"]["key"], f["alert"]["active"]) for f in hub.frames}
    assert changed == {("estop:amr_1", False), ("confirm:9:2", False), ("localisation:amr_1", True)}


@pytest.mark.parametrize("raised", [
    rules.robot_conditions([RobotFacts("amr_1", "estop", 7.4, False, False)], 15.0),
    rules.robot_conditions([RobotFacts("amr_2", "offline", 80.0, False, True)], 15.0),
    [rules.awaiting_confirmation(9, "amr_1", 2, "Recipient at ward_1: confirm receipt of a box: fragile"),
     rules.awaiting_confirmation(9, "amr_1", 3, "")],
    [rules.mission_failed(3, "amr_1", "step 1 failed: no route\nto ward_2"), rules.mission_failed(4, None, None)],
    [rules.incident_opened("i1", "near_miss", "SEV2", "amr_1", 4, "a person within 0.4 m: at lobby"),
     rules.incident_opened("i2", "zone_violation", "SEV1", "amr_1", None, ""),
     rules.incident_opened("i3", "blocked", "SEV3", "amr_1", None, "waiting for 65 s")],
], ids=["robot", "offline", "confirmation", "failed", "incidents"])
def test_every_message_is_its_text_with_its_parameters(raised) -> None:
    """The console says an alert in its language from the text id and parameters read back from the message."""
    for alert in raised:
        assert alert is not None
        found = rules.text_of(alert.kind, alert.message)
        assert found is not None, alert.message
        text_id, params = found
        assert rules.message(text_id, **params) == alert.message
        assert params.get("robot", alert.robot_id) == alert.robot_id
        if "mission" in params:
            assert params["mission"] == str(alert.mission_id)
    by_key = {a.key: rules.text_of(a.kind, a.message) for a in raised if a is not None}
    if "battery:amr_1" in by_key:
        assert by_key["battery:amr_1"] == ("battery_low", {"robot": "amr_1", "battery": "7", "threshold": "15"})
        assert by_key["estop:amr_1"] == ("estop", {"robot": "amr_1"})
    if "incident:i1" in by_key:
        assert by_key["incident:i1"] == ("incident_description", {
            "severity": "SEV2", "incident": "near_miss", "robot": "amr_1",
            "description": "a person within 0.4 m: at lobby"})
    if "confirm:9:2" in by_key:
        assert by_key["confirm:9:2"][1]["prompt"] == "Recipient at ward_1: confirm receipt of a box: fragile"


def test_a_message_of_no_text_has_none_and_the_api_says_so() -> None:
    from fleet_manager.alerts.schemas import AlertPublic
    from fleet_manager.db.tables import Alert

    assert rules.text_of("estop", "something else entirely") is None
    assert rules.text_of("offline", rules.message("estop", robot="a")) is None  # the texts of its own kind only
    row = Alert(id=1, site="s", key="estop:a", kind="estop", severity="SEV1", robot_id="a",
                message=rules.message("estop", robot="a"), raised_at=utcnow(), cleared_at=None, acknowledged_at=None,
                acknowledged_by=None)
    assert AlertPublic.of(row).text is not None
    assert AlertPublic.of(row).text.model_dump() == {"key": "alerts.text.estop", "params": {"robot": "a"}}
    assert AlertPublic.of(row.model_copy(update={"message": "an old text"})).text is None
