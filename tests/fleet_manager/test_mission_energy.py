"""Mission energy: the battery a robot uses while not charging (robots/service.py), added to the mission by
the runner (percent points times the model's battery_capacity_wh), shown on the mission and used by the
pilot KPIs (energy per km). SQLite, no ROS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import Session

from fleet_manager.core.robots import RobotMode, RobotReport
from fleet_manager.core.templates import TemplateLibrary
from fleet_manager.db.engine import make_engine, upgrade
from fleet_manager.db.tables import Mission, utcnow
from fleet_manager.missions.runner import MissionRunner, RunState
from fleet_manager.missions.service import MissionService
from fleet_manager.pilots import service as pilots
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.sites.service import Site, SiteCatalog

REPO = Path(__file__).resolve().parents[2]
CITY = REPO / "sim_worlds" / "city_block"  # sidewalkbot: battery_capacity_wh 1000


def report(battery: float, charging: bool = False, rid: str = "courier_1") -> RobotReport:
    return RobotReport(rid, "delivery", "sidewalkbot", RobotMode.MOVING, 0.0, 0.0, 0.0, 0.0, 0.0, battery, charging,
                       "", 0.0, (), 0.0, 0.0)


def test_the_registry_counts_battery_drops_while_not_charging():
    registry = RobotRegistry(5.0)
    assert registry.battery_used_pct("courier_1") == 0.0
    for battery, charging in [(90.0, False), (89.5, False), (89.0, False), (89.2, False),  # a rise counts nothing
                              (88.7, False), (88.0, True), (95.0, True), (94.0, False), (93.0, False)]:
        registry.update(report(battery, charging))
    # 0.5 + 0.5 + 0.5, nothing while charging or on the step out of it (95 -> 94), then 1.0
    assert registry.battery_used_pct("courier_1") == pytest.approx(2.5)
    registry.update(report(50.0, rid="courier_2"))
    assert registry.battery_used_pct("courier_2") == 0.0


@pytest.fixture
def engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'energy.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_each_run_adds_its_energy_to_the_mission(engine):
    site = Site.load(CITY)
    with Session(engine) as session:
        session.add(Mission(id=3, site="city_block", status="underway", robot_id="courier_1", created_at=utcnow()))
        session.commit()

    async def run() -> tuple[float | None, float | None]:
        hub = type("Hub", (), {"publish_event": lambda self, frame: None})()
        missions = MissionService(engine, site, TemplateLibrary.load(REPO / "missions"), hub)  # type: ignore[arg-type]
        registry = RobotRegistry(5.0)
        runner = MissionRunner(missions, registry, None, lambda _m: None, None, None)  # type: ignore[arg-type]
        state = RunState(3, "courier_1")
        before = missions.get(3, False).energy_wh
        await runner._add_energy(state, 1.5)  # 1.5 % of 1000 Wh
        await runner._add_energy(state, 0.25)  # a second run (requeued, or after a restart) adds to it
        await runner._add_energy(RunState(3, "stranger"), 5.0)  # a robot of no known model: nothing
        return before, missions.get(3, False).energy_wh

    before, after = asyncio.run(run())
    assert before is None and after == pytest.approx(17.5)


def _run(mission_id: int, status: str, distance: float | None, energy: float | None, start: float = 0.0) -> Mission:
    return Mission(id=mission_id, site="city_block", status=status, robot_id="courier_1", created_at=utcnow(),
                   started_at=utcnow(), ended_at=utcnow(), sim_started_at=start, sim_ended_at=start + 100.0,
                   distance_m=distance, energy_wh=energy)


def test_the_pilot_kpis_use_the_mission_energy(engine):
    catalog = SiteCatalog(REPO / "sim_worlds", "city_block")
    with Session(engine) as session:
        pilot = pilots.default_pilot(session, catalog, "city_block")
        session.add_all([_run(1, "completed", 1000.0, 30.0), _run(2, "failed", 500.0, 15.0, 200.0),
                         Mission(id=3, site="city_block", status="queued", created_at=utcnow())])
        session.commit()
        k = pilots.pilot_kpis(session, pilot.id)
        assert k.kpis.energy_wh_per_km == pytest.approx(30.0)  # (30 + 15) Wh / 1.5 km
        assert not any(note.startswith("energy") for note in k.notes)
        run = pilots.mission_run(session.get(Mission, 2), sim=True)
        assert run.energy_wh == 15.0
        session.add(_run(4, "completed", 500.0, None, 400.0))  # ran before energy was measured
        session.commit()
        k = pilots.pilot_kpis(session, pilot.id)
        assert k.kpis.energy_wh_per_km == pytest.approx(22.5)  # 45 Wh / 2 km: it counts 0 Wh
        assert any(note.startswith("energy_wh: 1 of the missions") for note in k.notes)
