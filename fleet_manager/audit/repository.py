"""Reading the audit log. Nothing here (nor anywhere) updates or deletes a row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from fleet_manager.audit.entries import Outcome
from fleet_manager.audit.schemas import as_utc
from fleet_manager.audit.tables import AuditLog


def search(session: Session, *, username: str | None = None, since: datetime | None = None,
           until: datetime | None = None, outcome: Outcome | None = None, limit: int = 100) -> Sequence[AuditLog]:
    """Newest first: entries of `username`, at or after `since`, before `until`, with `outcome`."""
    query = select(AuditLog)
    if username is not None:
        query = query.where(AuditLog.username == username)
    if since is not None:
        query = query.where(col(AuditLog.at) >= as_utc(since))
    if until is not None:
        query = query.where(col(AuditLog.at) < as_utc(until))
    if outcome is not None:
        query = query.where(AuditLog.outcome == str(outcome))
    query = query.order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc()).limit(limit)
    return session.exec(query).all()
