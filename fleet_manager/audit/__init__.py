"""The audit log (issue 8): who did what, when, from where and with what outcome; append-only.

`install(app)` records every mutating request, `record_login(request, username, outcome)` names the user of a
login attempt, the lab's `AuditWriter.record_command` every robot command, and `reported.ReportedCommands` the
commands robots report that the fleet manager did not send. The admins' query endpoint is
`fleet_manager.audit.endpoints.router` (imported by the app, not here: it depends on the lab)."""

from __future__ import annotations

from fleet_manager.audit.entries import SYSTEM, AuditEntry, Outcome
from fleet_manager.audit.middleware import install, record_login
from fleet_manager.audit.writer import AuditStats, AuditWriter

__all__ = ["SYSTEM", "AuditEntry", "AuditStats", "AuditWriter", "Outcome", "install", "record_login"]
