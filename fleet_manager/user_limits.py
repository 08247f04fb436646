"""Requests in flight per user: one signed-in user may have at most `max_per_user` HTTP requests of this process
being served at once; the next is answered 429 (`too_many_concurrent_requests`, with Retry-After) until one ends.

Why: the per-address limit (http_guard.py) cannot tell users apart behind one address (a proxy, a campus NAT) and
does not stop one account driving many addresses; every request holds a worker thread, a database connection or
a slot of the dispatcher's loop while it runs, so one user's script (or a stolen token) could take them all from
the operators. The websocket streams have their own per-user limit (LABFLEET_MAX_WEBSOCKETS_PER_USER).

A pure ASGI middleware, ahead of routing and body parsing, so a refusal costs no more than reading the headers.
The user is the `sub` of the bearer access token, read with the lab's AuthService (the signature is checked once
per token and cached: the same work the route's own dependency does). A request without a usable token is not
counted: it gets its 401 from the route. Revocation is the route's to decide; a revoked token still counts
against its user here until its request ends, which only limits its owner. The count is per process: with
replicas, each one has its own."""

from __future__ import annotations

from collections import Counter

from starlette.types import ASGIApp, Receive, Scope, Send

from fleet_manager.auth.service import AuthService, NotAuthenticated
from fleet_manager.problems import PROBLEM_JSON, problem_bytes

CODE = "too_many_concurrent_requests"
RETRY_AFTER_S = 1  # requests are short: one of the user's should have ended by then


class UserConcurrency:
    """The middleware; `in_flight` counts the requests of each user being served (a user with none is not in it,
    so the counter holds only the users active now)."""

    def __init__(self, app: ASGIApp, max_per_user: int) -> None:
        self.app = app
        self.max_per_user = max_per_user
        self.in_flight: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = _user_of(scope) if scope["type"] == "http" else None
        if user is None:
            await self.app(scope, receive, send)
            return
        if self.in_flight[user] >= self.max_per_user:
            await _refuse(scope, send, user, self.max_per_user)
            return
        self.in_flight[user] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight[user] -= 1
            if self.in_flight[user] <= 0:
                del self.in_flight[user]


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return (token.strip() or None) if scheme.lower() == "bearer" else None
    return None


def _user_of(scope: Scope) -> str | None:
    """The username of the request's valid access token; None without one (or before the lab runs)."""
    token = _bearer(scope)
    if token is None:
        return None
    lab = getattr(getattr(scope.get("app"), "state", None), "lab", None)  # (a cluster node sets it once it runs)
    auth: AuthService | None = getattr(lab, "auth", None)
    if auth is None:
        return None
    try:
        return auth.access_claims(token).username
    except NotAuthenticated:
        return None


async def _refuse(scope: Scope, send: Send, user: str, limit: int) -> None:
    # (not logged: a client over its limit would write a line per refusal; it is told, and a refused change is in
    # the audit log)
    detail = (f"user {user} has {limit} requests in progress, the most one user may have at once "
              f"(LABFLEET_MAX_REQUESTS_PER_USER): retry when one has ended")
    body = problem_bytes(429, detail, CODE)
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
               (b"retry-after", str(RETRY_AFTER_S).encode())]
    if any(name == b"transfer-encoding" or (name == b"content-length" and value != b"0")
           for name, value in scope["headers"]):
        headers.append((b"connection", b"close"))  # its body is not read: the connection cannot carry another
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
