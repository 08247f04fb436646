"""Mission persistence: the only module that writes mission rows and their events."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Row, Table
from sqlmodel import Session, col, select

from fleet_manager.core.errors import NotFound
from fleet_manager.db.engine import site_of
from fleet_manager.db.scope import SITE_CRITERIA
from fleet_manager.db.tables import Mission, MissionEvent

_MISSIONS: Table = Mission.__table__  # type: ignore[attr-defined]
_EVENTS: Table = MissionEvent.__table__  # type: ignore[attr-defined]


def get(session: Session, mission_id: int) -> Mission:
    row = session.get(Mission, mission_id)
    if row is None:
        raise NotFound(f"unknown mission {mission_id}", field="mission_id")
    return row


def events(session: Session, mission_id: int) -> list[MissionEvent]:
    stmt = select(MissionEvent).where(MissionEvent.mission_id == mission_id).order_by(col(MissionEvent.id))
    return list(session.exec(stmt))


def search(
    session: Session, *, status: Sequence[str] = (), robot_id: str | None = None, limit: int = 100, offset: int = 0
) -> list[Mission]:
    stmt = select(Mission)
    if status:
        stmt = stmt.where(col(Mission.status).in_(list(status)))
    if robot_id is not None:
        stmt = stmt.where(Mission.robot_id == robot_id)
    stmt = stmt.order_by(col(Mission.id).desc()).offset(offset).limit(limit)
    return list(session.exec(stmt))


def add_event(session: Session, event: MissionEvent) -> None:
    session.add(event)


# -- the API's reads: columns, not ORM objects ---------------------------------------------------
# Building a Mission object per row cost a list of fifty missions more than the query (issue 16). These are Core
# statements, which db/scope.py's session event does not see: each adds the criterion scope.py puts on an ORM
# statement over the mission table (SITE_CRITERIA, over the table's columns) when the engine is bound to a site.
def _missions(conn: Connection, columns: Sequence[str]) -> sa.Select[Any]:
    """The missions' `columns`, of the engine's site only (every site's on an engine bound to none)."""
    return _select(site_of(conn.engine), tuple(columns))


@cache
def _select(site: str | None, columns: tuple[str, ...]) -> sa.Select[Any]:
    """(built once per site and columns: a statement is immutable, and building one costs more than its query)"""
    stmt = sa.select(*(_MISSIONS.c[name] for name in columns))
    return stmt if site is None else stmt.where(SITE_CRITERIA[Mission](site)(_MISSIONS.c))


def mission_rows(conn: Connection, mission_id: int, columns: Sequence[str],
                 event_columns: Sequence[str]) -> tuple[Row[Any], Sequence[Row[Any]]]:
    """The mission's `columns` and its events' `event_columns` (as `get` and `events`); NotFound as `get`. The
    events are read only once the mission is found at this site: they are then of this site too (scope.py's
    criterion on events, a lookup of their mission, is not needed)."""
    row = conn.execute(_missions(conn, columns).where(_MISSIONS.c.id == mission_id)).first()
    if row is None:
        raise NotFound(f"unknown mission {mission_id}", field="mission_id")
    stmt = (sa.select(*(_EVENTS.c[name] for name in event_columns)).where(_EVENTS.c.mission_id == mission_id)
            .order_by(_EVENTS.c.id))
    return row, conn.execute(stmt).all()


def search_rows(
    conn: Connection, columns: Sequence[str], *, status: Sequence[str] = (), robot_id: str | None = None,
    limit: int = 100, offset: int = 0,
) -> Sequence[Row[Any]]:
    """`search`, as the missions' `columns`."""
    stmt = _missions(conn, columns)
    if status:
        stmt = stmt.where(_MISSIONS.c.status.in_(list(status)))
    if robot_id is not None:
        stmt = stmt.where(_MISSIONS.c.robot_id == robot_id)
    return conn.execute(stmt.order_by(_MISSIONS.c.id.desc()).offset(offset).limit(limit)).all()
