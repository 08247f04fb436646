"""The audit middleware: every mutating request (POST, PUT, PATCH, DELETE), refused ones included, becomes an
audit entry once its response has started: who (request.state.principal, set by fleet_manager.auth), from
where, which route with which path parameters, the status code and the outcome. A pure ASGI middleware: it
never reads the request body, so the endpoints (the login form included) receive it untouched."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet_manager.audit.entries import (
    MUTATING,
    AuditEntry,
    Outcome,
    client_of,
    current_request,
    detail_of,
    now,
    outcome_of,
    principal_of,
    short,
)
from fleet_manager.audit.writer import AuditWriter

API_PREFIX = "/api/v1"
_BODY_MAX = 4096  # of an error response, for its detail
_LOGIN = "audit_login"  # request.state key record_login sets


def writer_of(app: Any) -> AuditWriter | None:
    """The running lab's audit writer (None before the lab starts or without one)."""
    lab = getattr(getattr(app, "state", None), "lab", None)
    writer = getattr(lab, "audit", None)
    return writer if isinstance(writer, AuditWriter) else None


def record_login(request: Request, username: str, outcome: Outcome | str) -> None:
    """Called by the login (and refresh) endpoint: the username the form named and whether it was let in.
    The middleware writes the request's one entry with them (the endpoint need not parse anything twice)."""
    request.state.audit_login = (short(username, 100), Outcome(outcome))


def _action(scope: Scope) -> tuple[str, str]:
    """(action, target): the route template without the API prefix, and the path parameters as text."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) if getattr(route, "methods", None) else None
    path = template or scope.get("path", "")
    if path.startswith(API_PREFIX + "/"):
        path = path[len(API_PREFIX):]
    params = scope.get("path_params") or {}
    target = ", ".join(f"{k}={v}" for k, v in params.items()) if template else ""
    return f"{scope['method']} {path}", short(target)


def entry_for(scope: Scope, at: datetime, status: int, body: bytes, error: BaseException | None = None) -> AuditEntry:
    username, role = principal_of(scope)
    outcome = outcome_of(status)
    detail = detail_of(body) if body else ""
    login = scope.get("state", {}).get(_LOGIN)
    if login is not None:
        username = username or login[0]
        if outcome is Outcome.OK:
            outcome = login[1]
    if error is not None:
        detail = short(f"unhandled {type(error).__name__}")
    action, target = _action(scope)
    return AuditEntry(at, username, role, client_of(scope), scope["method"], short(scope.get("path", ""), 500),
                      action, target, status, outcome, detail)


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with every Request built on this scope downstream
        status = 500
        body = bytearray()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status >= 400 and len(body) < _BODY_MAX:
                body.extend(message.get("body", b"")[: _BODY_MAX - len(body)])
            await send(message)

        at = now()
        token = current_request.set(scope)
        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            status, error = 500, exc
            raise
        finally:
            current_request.reset(token)
            writer = writer_of(scope.get("app"))
            if writer is not None:
                writer.submit(entry_for(scope, at, status, bytes(body), error))


def install(app: FastAPI) -> None:
    """Record every mutating request of `app`. Call it after the other middleware is added, so that what
    they answer themselves (413 for a body over the limit) is recorded too."""
    app.add_middleware(AuditMiddleware)
