"""Site isolation in every query (issue 19): one mechanism below the services, not a check per route.

A lab serves one site. Its engine is bound to that site (`db.engine.bind_site`), and every ORM statement any session on
that engine runs — a select (`session.get` included), an update or a delete — carries the criteria of
`SITE_CRITERIA` for each site-owned table it touches: a record of another site is never read, listed, changed or
streamed, and a lookup by id finds nothing (the routes answer 404, which does not tell that it exists).
Rows a lab writes carry its own site (the services set it).

Tables either own a `site` column, belong to a site through their parent (a mission's events, a pilot's
interventions and incidents, a mission's replays), or are shared by every site (`UNSCOPED`: the accounts and
their logins). `tests/api/test_site_isolation.py` fails when a table is in neither list, and walks every
route with users of two labs on one PostgreSQL database."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Engine, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.sql.elements import ColumnElement

from fleet_manager.audit.tables import AuditLog
from fleet_manager.db.engine import site_of
from fleet_manager.db.tables import (
    Alert,
    Incident,
    Intervention,
    Mission,
    MissionEvent,
    Pilot,
    Robot,
    RobotRegistration,
    Schedule,
)
from fleet_manager.replay.tables import Replay


def _own(site: str) -> Callable[[Any], ColumnElement[bool]]:
    return lambda cls: cls.site == site


def _own_or_older(site: str) -> Callable[[Any], ColumnElement[bool]]:
    """Audit entries: the site's, and those written before they had a site (migration 0011)."""
    return lambda cls: or_(cls.site == site, cls.site.is_(None))


# A child row belongs to the site when its parent does: a correlated EXISTS (one lookup of the parent by its key
# per row), not `parent_id IN (SELECT id ... WHERE site = ?)`, which SQLite builds in full for every statement (one
# mission's events: 7 ms at 50,000 missions of the site, against 0.02 ms), so every read grew with the table.
# The parents under names of their own: a statement that also selects the parent table (an incident with its pilot)
# would otherwise take the subquery's parent for its own (auto-correlation) and leave the subquery without a FROM.
_MISSION = Mission.__table__.alias("scope_mission")  # type: ignore[attr-defined]
_PILOT = Pilot.__table__.alias("scope_pilot")  # type: ignore[attr-defined]


def _of_mission(site: str) -> Callable[[Any], ColumnElement[bool]]:
    return lambda cls: select(_MISSION.c.id).where(_MISSION.c.id == cls.mission_id, _MISSION.c.site == site).exists()


def _of_pilot(site: str) -> Callable[[Any], ColumnElement[bool]]:
    return lambda cls: select(_PILOT.c.id).where(_PILOT.c.id == cls.pilot_id, _PILOT.c.site == site).exists()


SITE_CRITERIA: dict[type, Callable[[str], Callable[[Any], ColumnElement[bool]]]] = {
    Mission: _own, Schedule: _own, Pilot: _own, Alert: _own, Robot: _own, RobotRegistration: _own,
    AuditLog: _own_or_older,
    MissionEvent: _of_mission, Replay: _of_mission,
    Intervention: _of_pilot, Incident: _of_pilot,
}
UNSCOPED = frozenset({"users", "token_family", "refresh_token"})  # shared by every site: an account names
# the sites it may use, and its logins (token families, auth/sessions.py) are the account's


@cache
def _options(site: str, involved: frozenset[type]) -> tuple[LoaderCriteriaOption, ...]:
    """The criteria options of a statement on these tables, built once per site and set of tables (they hold no
    state of a statement: SQLAlchemy caches statements that carry the same ones)."""
    return tuple(with_loader_criteria(table, criteria(site), include_aliases=True)
                 for table, criteria in SITE_CRITERIA.items() if table in involved)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_site(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete) or state.is_column_load \
            or state.is_relationship_load:
        return
    bind = state.session.get_bind()
    site = site_of(bind) if isinstance(bind, Engine) else None
    if site is None:
        return
    involved = frozenset(mapper.class_ for mapper in state.all_mappers)  # what it selects, updates or deletes
    options = _options(site, involved)
    if options:
        state.statement = state.statement.options(*options)
