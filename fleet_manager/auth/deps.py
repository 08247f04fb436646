"""FastAPI dependencies of accounts: the principal of a request (its bearer access token), held to a role and
to the lab's site. `require(role)` is one callable per role, so tests can override it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.security import OAuth2PasswordBearer

from fleet_manager.auth.roles import Principal, Role
from fleet_manager.auth.service import AuthService, NotAuthenticated
from fleet_manager.deps import get_lab
from fleet_manager.lab import Lab

TOKEN_URL = "/api/v1/auth/token"
NO_TOKEN = f"not authenticated: send the header 'Authorization: Bearer <access token>' (POST {TOKEN_URL})"
WS_UNAUTHENTICATED = 4401
WS_FORBIDDEN = 4403

bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)  # also the OpenAPI security scheme


def auth_of(lab: Lab) -> AuthService:
    if lab.auth is None:
        raise RuntimeError("the lab was started without accounts (Lab.auth is None)")
    return lab.auth


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(auth: AuthService, token: str | None) -> Principal:
    """The principal of an access token; NotAuthenticated when it is missing, invalid, expired or revoked,
    or its user is disabled (the user's row is cached for a few seconds)."""
    if not token:
        raise NotAuthenticated(NO_TOKEN)
    claims = auth.access_claims(token)
    hit, account = auth.cached(claims.username)
    if not hit:
        account = await asyncio.to_thread(auth.load, claims.username)
    return auth.principal(claims, account)


def require(role: Role, *, site_scope: bool = True) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the request's principal, which must have `role` (or a higher one) and, with `site_scope`,
    access to the lab's site. 401 without a usable token, 403 when the role or the site does not allow it."""
    return _require(role, site_scope)


@cache
def _require(role: Role, site_scope: bool) -> Callable[..., Awaitable[Principal]]:
    async def dependency(request: Request, token: Annotated[str | None, Depends(bearer)]) -> Principal:
        lab = get_lab(request)
        try:
            principal = await authenticate(auth_of(lab), token)
        except NotAuthenticated as exc:
            raise unauthorized(str(exc)) from None
        request.state.principal = principal
        refusal = principal.refusal(role, lab.site.name if site_scope else None)
        if refusal is not None:
            raise HTTPException(403, refusal)
        return principal

    dependency.__name__ = f"require_{role}" + ("" if site_scope else "_any_site")
    return dependency


VIEWER = Depends(require(Role.viewer))
RESEARCHER = Depends(require(Role.researcher))
OPERATOR = Depends(require(Role.operator))
ADMIN = Depends(require(Role.admin))

CurrentUser = Annotated[Principal, VIEWER]
ResearcherUser = Annotated[Principal, RESEARCHER]
OperatorUser = Annotated[Principal, OPERATOR]
AdminUser = Annotated[Principal, ADMIN]


def _reason(text: str) -> str:
    return text.encode()[:123].decode(errors="ignore")  # a close reason holds at most 123 bytes


async def websocket_refusal(lab: Lab, token: str | None, role: Role = Role.viewer) -> tuple[int, str] | None:
    """Why a websocket with `?token=` may not (or no longer) stream: (4401, reason) without a usable token
    (missing, invalid, expired, user disabled), (4403, reason) when the role or site does not allow it."""
    try:
        principal = await authenticate(auth_of(lab), token)
    except NotAuthenticated as exc:
        return WS_UNAUTHENTICATED, _reason(str(exc))
    refusal = principal.refusal(role, lab.site.name)
    return (WS_FORBIDDEN, _reason(refusal)) if refusal is not None else None


async def websocket_principal(websocket: WebSocket, lab: Lab, token: str | None,
                              role: Role = Role.viewer) -> Principal | None:
    """The principal of an accepted websocket's `?token=`; None after closing it with 4401 (no usable token)
    or 4403 (role or site refused)."""
    refused = await websocket_refusal(lab, token, role)
    if refused is not None:
        await websocket.close(code=refused[0], reason=refused[1])
        return None
    principal = await authenticate(auth_of(lab), token)  # the account is cached now
    websocket.state.principal = principal
    return principal
