"""GET /audit: the audit log for admins, newest first. There is no endpoint that changes it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from fleet_manager.audit import repository
from fleet_manager.audit.entries import Outcome
from fleet_manager.audit.schemas import AuditPublic, as_utc
from fleet_manager.auth.deps import ADMIN
from fleet_manager.boundary import IsoDatetime
from fleet_manager.core.errors import InvalidInput
from fleet_manager.deps import LabDep, SessionDep

FLUSH_S = 2.0  # how long a query waits for entries still queued (an admin sees what was just done)

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[ADMIN])


def _utc(value: datetime | None, field: str) -> datetime | None:
    try:
        return None if value is None else as_utc(value)
    except OverflowError:
        raise InvalidInput(f"{field}: {value} is out of range in UTC", field=field) from None


@router.get("", response_model=list[AuditPublic])
def list_audit(session: SessionDep, lab: LabDep,
               username: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
               since: Annotated[IsoDatetime | None, Query(description="at or after (ISO 8601; naive is UTC)")] = None,
               until: Annotated[IsoDatetime | None, Query(description="before (ISO 8601; naive is UTC)")] = None,
               outcome: Outcome | None = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AuditPublic]:
    """Audit entries, newest first, filtered by user, time and outcome."""
    since, until = _utc(since, "since"), _utc(until, "until")
    if since is not None and until is not None and since > until:
        raise InvalidInput(f"until ({until.isoformat()}) is before since ({since.isoformat()})", field="until")
    if lab.audit is not None:
        lab.audit.flush(FLUSH_S)
    rows = repository.search(session, username=username, since=since, until=until, outcome=outcome, limit=limit)
    return [AuditPublic.model_validate(row) for row in rows]
