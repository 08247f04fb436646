"""Audit entries as the request path builds them (pure: no database), and who the current actor is."""

from __future__ import annotations

import json
import uuid
from collections.abc import MutableMapping
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from fleet_manager.problems import summary

SYSTEM = "system"  # the actor of what the fleet manager does on its own (e.g. resuming after a restart)
DETAIL_MAX = 200
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # 401, 403, 429: not allowed
    INVALID = "invalid"  # other 4xx: bad input, unknown target, conflict
    ERROR = "error"  # 5xx or an exception: the service failed


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    username: str | None
    role: str | None
    client: str | None
    method: str
    path: str
    action: str
    target: str
    status_code: int | None
    outcome: Outcome
    detail: str = ""
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)

    def row(self) -> dict[str, Any]:
        """The table row. A NUL character (which PostgreSQL refuses in text) is written as "\\0", so that a
        hostile request is recorded like any other."""
        values = {k: v.replace("\0", "\\0") if isinstance(v, str) else v for k, v in asdict(self).items()}
        values["outcome"] = str(self.outcome)
        return values


def now() -> datetime:
    return datetime.now(UTC)


def short(text: str, limit: int = DETAIL_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def outcome_of(status: int) -> Outcome:
    if status < 400:
        return Outcome.OK
    if status in (401, 403, 429):
        return Outcome.REFUSED
    if status < 500:
        return Outcome.INVALID
    return Outcome.ERROR


def detail_of(body: bytes) -> str:
    """The `detail` of an error response, short. Validation errors keep the field and the message only: the
    input they echo (which could be a password) is left out."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return ""
    if isinstance(detail, str):
        return short(detail)
    if isinstance(detail, list):  # (FastAPI's own format: the API's problems sum their errors up in `detail`)
        return short(summary([error for error in detail if isinstance(error, dict)]))
    return ""


# The request being handled (its ASGI scope), set by the middleware: a robot command sent while handling it
# is the request's user's; one sent outside any request is the fleet manager's own ("system").
current_request: ContextVar[MutableMapping[str, Any] | None] = ContextVar("audit_request", default=None)


def principal_of(scope: MutableMapping[str, Any]) -> tuple[str | None, str | None]:
    """(username, role) of the authenticated user of a request (request.state.principal), or (None, None)."""
    principal = scope.get("state", {}).get("principal")
    if principal is None:
        return None, None
    role = getattr(principal, "role", None)
    return getattr(principal, "username", None), (str(role) if role is not None else None)


def client_of(scope: MutableMapping[str, Any]) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


_COMMAND_OUTCOME = {"ok": Outcome.OK, "rejected": Outcome.REFUSED, "unknown_command": Outcome.INVALID}


def command_entry(robot_id: str, command: str, result: str, message: str = "", reason: str = "") -> AuditEntry:
    """A robot command and the robot's answer, by the current request's user or else by the system."""
    scope = current_request.get()
    username: str | None = SYSTEM
    role: str | None = SYSTEM
    client: str | None = None
    if scope is not None:
        (username, role), client = principal_of(scope), client_of(scope)
    detail = f"{result}: {message}" if message else result
    if reason:
        detail += f" (reason: {reason})"
    return AuditEntry(now(), username, role, client, "COMMAND", f"/robots/{robot_id}", f"robot {command}",
                      f"robot_id={robot_id}", None, _COMMAND_OUTCOME.get(result, Outcome.ERROR), short(detail))


ROS_ROLE = "ros"  # the role of a command a robot reports that the fleet manager did not send


def reported_command_entry(robot_id: str, command: str, result: str, message: str, reason: str, origin: str,
                           authenticated: bool, auth_detail: str = "") -> AuditEntry:
    """A command a robot reports it received from someone other than this fleet manager, by "ros:<origin>" (the
    origin as the caller stated it). Unauthenticated, it is flagged: "unauthenticated command from <origin>". The
    outcome is the robot's answer (an unauthenticated e-stop is carried out: ok; a resume is refused)."""
    who = short(origin, 60) or "?"
    flag = f"unauthenticated command from {who} ({auth_detail})" if not authenticated else \
        f"signed command from {who}, not sent by this fleet manager"
    detail = f"{flag}: {result}: {message}" if message else f"{flag}: {result}"
    if reason:
        detail += f" (reason: {reason})"
    return AuditEntry(now(), f"ros:{who}", ROS_ROLE, None, "COMMAND", f"/robots/{robot_id}", f"robot {command}",
                      f"robot_id={robot_id}", None, _COMMAND_OUTCOME.get(result, Outcome.ERROR), short(detail))


def forged_contact_entry(robot_id: str, other: str, why: str) -> AuditEntry:
    """A contact on /sim/contacts that the lab's simulator did not sign (issue 19): refused, not an incident."""
    detail = f"contact of {short(robot_id, 60)} with {short(other, 60)} refused ({why}): not from the lab's simulator"
    return AuditEntry(now(), "ros:?", ROS_ROLE, None, "CONTACT", "/sim/contacts", "forged contact",
                      f"robot_id={short(robot_id, 60)}", None, Outcome.REFUSED, short(detail))
