"""GET /missions and /missions/{id} answer MissionService.publics / public (mission columns read with Core, dicts
built by missions/public_json.py) serialised by pydantic_core.to_json, without a MissionPublic model: the bytes
must be those FastAPI wrote for the models MissionService.search / get give (validated by the response model,
then serialised). SQLite, no ROS; tests/api/test_mission_public_json.py checks the routes on PostgreSQL too."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from fleet_manager import model_json
from fleet_manager.core.errors import NotFound
from fleet_manager.core.missions import MissionStatus
from fleet_manager.core.templates import TemplateLibrary
from fleet_manager.db.engine import bind_site, make_engine, upgrade
from fleet_manager.db.tables import Mission
from fleet_manager.missions import public_json
from fleet_manager.missions import service as service_module
from fleet_manager.missions.schemas import MissionPublic
from fleet_manager.missions.service import MissionService
from fleet_manager.missions.texts import say
from fleet_manager.sites.service import Site

REPO = Path(__file__).resolve().parents[2]
LIST = TypeAdapter(list[MissionPublic])
ONE = TypeAdapter(MissionPublic)
NOW = datetime(2026, 3, 4, 12, 0, 0, 123456, tzinfo=UTC)
STEPS = [{"index": 0, "kind": "go_to", "target": "ward_a", "status": "done"},
         {"index": 1, "kind": "wait", "seconds": 25.0, "status": "active",
          "started_at": (NOW - timedelta(seconds=10)).isoformat()},
         {"index": 2, "kind": "go_to", "target": "pharmacy", "status": "pending"},
         {"index": 3, "kind": "confirm", "prompt": "sign", "status": "pending"}]


def fastapi_list(models: list[MissionPublic]) -> bytes:
    """What FastAPI answered for a route with response_model=list[MissionPublic] (fastapi/routing.py)."""
    return LIST.dump_json(LIST.validate_python(models, from_attributes=True))


def fastapi_one(model: MissionPublic) -> bytes:
    return ONE.dump_json(ONE.validate_python(model, from_attributes=True))


def answered(content: Any) -> bytes:
    return bytes(model_json.response(content).body)


class Hub:
    def publish_event(self, frame: dict[str, Any]) -> None:
        pass


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'public.db'}")
    upgrade(engine)
    bind_site(engine, "living_lab")
    yield engine
    engine.dispose()


@pytest.fixture
def missions(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> MissionService:
    """A mission of every kind the API shows, written as the services write them, and one of city_block."""
    monkeypatch.setattr(service_module, "utcnow", lambda: NOW)  # (the estimates are reckoned at NOW)
    service = MissionService(engine, Site.load(REPO / "sim_worlds" / "living_lab"),
                             TemplateLibrary.load(REPO / "missions"), Hub())  # type: ignore[arg-type]
    rows = [
        dict(status="queued", template="delivery", params={"destination": "lobby", "n": 3}, priority="high",
             not_before=NOW + timedelta(hours=1), requested_robot_id="delivery_2", pilot_id="pilot-1",
             robot_kind="delivery", capabilities=["lift", "tray"], steps=STEPS[2:]),
        dict(status="underway", robot_id="delivery_1", steps=STEPS, route=["ward_a", "lobby", "pharmacy"],
             assigned_at=NOW - timedelta(minutes=2), started_at=NOW - timedelta(minutes=1), sim_started_at=12.5,
             distance_m=3.25),
        dict(status="paused", robot_id="delivery_2", steps=STEPS, status_reason="paused by operator",
             status_code="paused_by_operator", status_params={}),
        dict(status="assigned", robot_id="nobody_knows", steps=STEPS),  # no pose: no estimate
        dict(status="completed", robot_id="delivery_1", steps=[{**s, "status": "done"} for s in STEPS],
             distance_m=850.0, energy_wh=21.5, final_pose={"x": 1.5, "y": -2.25, "yaw": 0.1},
             assigned_at=NOW - timedelta(minutes=9), started_at=NOW - timedelta(minutes=8),
             ended_at=NOW - timedelta(minutes=3), sim_started_at=100.0, sim_ended_at=400.25),
        dict(status="completed", robot_id="delivery_1", distance_m=0.0, energy_wh=0.5,
             started_at=NOW - timedelta(minutes=5), ended_at=NOW - timedelta(seconds=1)),  # wall-clock duration
        dict(status="completed", robot_id="delivery_2", distance_m=120.0, energy_wh=None, move_aside=True),
        dict(status="failed", robot_id="delivery_2", failure_reason="robot delivery_2 stopped reporting for 30 s",
             status_reason="robot delivery_2 stopped reporting for 30 s", status_code="reason_robot_silent",
             status_params={"robot": "delivery_2", "seconds": 30}, ended_at=NOW, energy_wh=3.0, distance_m=40.0),
        dict(status="failed", robot_id="delivery_1", failure_reason="the gripper jammed"),  # plain English
        dict(status="canceled", robot_id="delivery_1", status_reason="canceled by operator",
             status_code="canceled_by_operator", status_params={}, ended_at=NOW,
             final_pose={"x": 2, "y": 3, "yaw": 0}),  # whole numbers: validated, as floats
        dict(status="queued", params={"deep": {"list": [1, 2.5, None, "x", {"nan": "text"}]}}),
    ]
    with Session(engine) as session:
        for fields in rows:
            session.add(Mission(site="living_lab", created_at=NOW - timedelta(hours=1), **fields))
        session.add(Mission(site="city_block", status="queued", created_at=NOW))  # another site's: never shown
        session.commit()
    for mission_id in (1, 2, 8, 10):  # events with codes, params, a step index and a sim time
        service.add_event(mission_id, say("step_confirmed_by", step=1, by="Ana"), step_index=1)
        service.add_event(mission_id, "a plain note")
    service.sim_now = lambda: 42.5
    service.add_event(2, say("reconciled", robot="delivery_1", step=1))
    return service


def where(robot_id: str) -> tuple[float, float] | None:
    return {"delivery_1": (1.0, 2.0), "delivery_2": (-3.0, 0.5)}.get(robot_id)


FILTERS: list[tuple[tuple[str, ...], str | None, int, int]] = [
    ((), None, 100, 0), ((), None, 50, 0), ((), None, 3, 2), (("underway",), None, 100, 0),
    (("failed", "canceled"), None, 100, 0), (("assigned", "underway", "paused"), None, 100, 0),
    ((), "delivery_1", 100, 0), (("completed",), "delivery_2", 100, 0), (("queued",), "nobody", 100, 0),
    ((), None, 100, 10_000)]


@pytest.mark.parametrize(("status", "robot_id", "limit", "offset"), FILTERS)
def test_the_list_is_what_fastapi_wrote_for_the_models(missions: MissionService, status: tuple[str, ...],
                                                       robot_id: str | None, limit: int, offset: int) -> None:
    expected = fastapi_list(missions.search(status, robot_id, limit, offset, where))
    assert answered(missions.publics(status, robot_id, limit, offset, where)) == expected
    # ... and without the estimates (the service's other readers)
    assert answered(missions.publics(status, robot_id, limit, offset)) == fastapi_list(
        missions.search(status, robot_id, limit, offset))


def test_the_list_covers_what_it_should(missions: MissionService) -> None:
    listed = {m["id"]: m for m in missions.publics((), None, 100, 0, where)}
    assert sorted(listed) == list(range(1, 12))  # not city_block's (id 12)
    assert listed[2]["remaining_s"] is not None and listed[2]["eta"] is not None  # running, its robot placed
    assert listed[4]["remaining_s"] is None  # running, its robot nowhere known
    assert listed[5]["co2_g"] is not None and listed[5]["duration_s"] == 300.25
    assert listed[8]["failure_code"] == "reason_robot_silent" and listed[8]["failure_params"]
    assert listed[9]["failure_code"] is None and listed[9]["failure_reason"] == "the gripper jammed"
    assert listed[10]["final_pose"] == {"x": 2.0, "y": 3.0, "yaw": 0.0}


def test_one_mission_is_what_fastapi_wrote_for_the_model(missions: MissionService) -> None:
    for mission_id in range(1, 12):
        expected = fastapi_one(missions.get(mission_id, True, where))
        assert answered(missions.public(mission_id, where)) == expected, mission_id
        assert answered(missions.public(mission_id)) == fastapi_one(missions.get(mission_id)), mission_id
    events = missions.public(2)["events"]
    assert [(e["code"], e["step_index"], e["sim_time"]) for e in events] == [
        ("step_confirmed_by", 1, None), (None, None, None), ("reconciled", None, 42.5)]


def test_another_sites_mission_or_an_unknown_one_is_not_found(missions: MissionService) -> None:
    for mission_id in (12, 99):
        with pytest.raises(NotFound) as old:
            missions.get(mission_id, True, where)
        with pytest.raises(NotFound) as new:
            missions.public(mission_id, where)
        assert (new.value.message, new.value.field) == (old.value.message, old.value.field)


def test_an_engine_bound_to_no_site_lists_every_site(tmp_path: Path, missions: MissionService) -> None:
    unbound = make_engine(f"sqlite:///{tmp_path / 'public.db'}")  # the same database, as the tools see it
    try:
        tools = MissionService(unbound, missions.site, missions.templates, Hub())  # type: ignore[arg-type]
        assert answered(tools.publics((), None, 100, 0, where)) == fastapi_list(tools.search((), None, 100, 0,
                                                                                              where))
        assert answered(tools.public(12)) == fastapi_one(tools.get(12))
        assert tools.publics()[0]["site"] == "city_block"
    finally:
        unbound.dispose()


def test_what_validation_refuses_is_still_refused(engine: Engine, missions: MissionService) -> None:
    with Session(engine) as session:
        session.add(Mission(site="living_lab", status="lost", created_at=NOW))
        session.commit()
    with pytest.raises(ValidationError):
        missions.search()
    with pytest.raises(ValidationError):
        missions.publics()


def test_figures_put_without_validation_are_written_as_floats() -> None:
    assert public_json.as_float(5) == 5.0 and type(public_json.as_float(5)) is float
    assert public_json.as_float(None) is None
    assert answered([{"x": math.nan, "y": math.inf}]) == b'[{"x":null,"y":null}]'


def test_the_routes_keep_their_response_model() -> None:
    from fleet_manager.missions.endpoints import router

    models = {(route.path, tuple(route.methods)): route.response_model  # type: ignore[attr-defined]
              for route in router.routes}
    assert models[("/missions", ("GET",))] == list[MissionPublic]
    assert models[("/missions/{mission_id}", ("GET",))] is MissionPublic
    assert models[("/missions/{mission_id}/cancel", ("POST",))] is MissionPublic


def test_a_status_of_each_kind_is_listed(missions: MissionService) -> None:
    assert {m["status"] for m in missions.publics()} == {str(s) for s in MissionStatus}
