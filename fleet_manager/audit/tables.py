"""The audit_log table: one row per mutating request or robot command. Append-only: no code path updates or
deletes a row, and the migration (0006) adds database triggers that refuse UPDATE and DELETE. Registered on
SQLModel.metadata alongside db/tables.py; rows never leave the process (schemas.py converts them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, String
from sqlmodel import Field, SQLModel


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    # set by the writer: a batch retried after a lost commit acknowledgement is stored once (ON CONFLICT)
    uid: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    username: str | None = Field(default=None, index=True)  # None: anonymous; "system": the fleet manager
    role: str | None = None
    client: str | None = None  # the client's IP address
    method: str  # POST | PUT | PATCH | DELETE, or COMMAND for a robot command
    path: str
    action: str  # route template ("POST /missions/{mission_id}/cancel") or "robot <command>"
    target: str = ""  # the path parameters ("mission_id=12") or the robot
    status_code: int | None = None
    outcome: str = Field(index=True)  # ok | refused | error | invalid
    detail: str = ""  # short; never a password or a token
    site: str | None = Field(default=None, index=True)  # the lab's site (db/scope.py); None before revision 0011
