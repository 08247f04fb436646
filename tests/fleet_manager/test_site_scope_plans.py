"""db/scope.py scopes a child row (a mission's events, a pilot's incidents) to the site through its parent. The
criterion must look the parent up by its key, row by row: a criterion that lists the site's parents
(`mission_id IN (SELECT id FROM mission WHERE site = ?)`) makes SQLite build that list for every statement, so
every read of one mission's events grew with the mission table. SQLite's own query plans of the statements the
session sends are the test; what each statement finds is checked too (tests/api/test_site_isolation.py walks the
routes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, update
from sqlmodel import Session, col, select

from fleet_manager.db.engine import bind_site, make_engine, upgrade
from fleet_manager.db.tables import Incident, Mission, MissionEvent, Pilot

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
SITES = ("living_lab", "city_block")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """200 missions with two events each and a pilot with an incident, half of each site; bound to living_lab."""
    engine = make_engine(f"sqlite:///{tmp_path / 'scope.db'}")
    upgrade(engine)
    with Session(engine) as session:  # not bound yet: it writes both sites
        for i in range(200):
            mission = Mission(site=SITES[i % 2], status="completed", created_at=NOW)
            session.add(mission)
            session.flush()
            assert mission.id is not None
            session.add_all([MissionEvent(mission_id=mission.id, time=NOW, kind="status", status=s)
                             for s in ("queued", "completed")])
        for site in SITES:
            session.add(Pilot(id=f"pilot-{site}", site=site, name=site, period_start=NOW, period_end=NOW,
                              created_at=NOW))
            session.flush()
            session.add(Incident(id=f"incident-{site}", pilot_id=f"pilot-{site}", robot_id="r1", severity="SEV3",
                                 kind="near_miss", source="automatic", time=NOW, x=0.0, y=0.0))
        session.commit()
    bind_site(engine, "living_lab")
    yield engine
    engine.dispose()


def test_events_and_incidents_are_scoped_by_a_lookup_of_their_parent_not_a_list_of_the_sites(engine: Engine) -> None:
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool) -> None:
        if "mission_event" in statement or "incident" in statement:
            sent.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    with Session(engine) as session:
        ours, theirs = 1, 2  # missions 1, 3, 5... are living_lab's (the first one written is SITES[0])
        assert session.get(Mission, theirs) is None and session.get(Mission, ours) is not None
        assert len(session.exec(select(MissionEvent).where(col(MissionEvent.mission_id) == ours)).all()) == 2
        assert session.exec(select(MissionEvent).where(col(MissionEvent.mission_id) == theirs)).all() == []
        assert len(session.exec(select(MissionEvent)).all()) == 200  # every event of living_lab's 100 missions
        their_event = 3  # mission 2's first
        assert session.get(MissionEvent, their_event) is None
        changed = session.exec(update(MissionEvent).where(col(MissionEvent.mission_id) == theirs)  # type: ignore[call-overload]
                               .values(message="not ours"))
        assert changed.rowcount == 0
        assert [i.id for i in session.exec(select(Incident)).all()] == ["incident-living_lab"]
        assert session.get(Incident, "incident-city_block") is None
        # a statement over the parent too: the criterion's parent is its own (not the statement's, by correlation)
        joined = session.exec(select(Incident, Pilot).join(Pilot, col(Pilot.id) == col(Incident.pilot_id))).all()
        assert [(i.id, p.site) for i, p in joined] == [("incident-living_lab", "living_lab")]
        with_missions = session.exec(select(MissionEvent, Mission)
                                     .join(Mission, col(Mission.id) == col(MissionEvent.mission_id))).all()
        assert len(with_missions) == 200 and {m.site for _, m in with_missions} == {"living_lab"}
        session.rollback()
    event.remove(engine, "before_cursor_execute", record)

    assert len(sent) >= 9
    with engine.connect() as conn:
        for statement, params in sent:
            plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)]
            parent = "mission" if "mission_event" in statement else "pilot"
            assert not any(line.startswith("LIST SUBQUERY") for line in plan), (statement, plan)
            lookups = [line for line in plan if line.startswith(f"SEARCH scope_{parent} ")]
            assert lookups and all("PRIMARY KEY" in line or "(id=?)" in line for line in lookups), (statement, plan)
