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
from fleet_manager.deps import lab_of
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
    """The principal of an access token; NotAuthenticated when it is missing, invalid, expired or revoked (its
    user's token version, or its token family: logged out, refresh token reused), or its user is disabled (the
    user's row and the family's state are cached for a few seconds)."""
    if not token:
        raise NotAuthenticated(NO_TOKEN)
    claims = auth.access_claims(token)
    hit, account = auth.cached(claims.username)
    if not hit:
        account = await asyncio.to_thread(auth.load, claims.username)
    live = True
    if claims.family is not None:
        hit, live = auth.family_cached(claims.family)
        if not hit:
            live = await asyncio.to_thread(auth.load_family, claims.family)
    return auth.principal(claims, account, live)


def require(role: Role, *, site_scope: bool = True) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the request's principal, which must have `role` (or a higher one) and, with `site_scope`,
    access to the lab's site. 401 without a usable token, 403 when the role or the site does not allow it."""
    return _require(role, site_scope)


@cache
def _require(role: Role, site_scope: bool) -> Callable[..., Awaitable[Principal]]:
    async def dependency(request: Request, token: Annotated[str | None, Depends(bearer)]) -> Principal:
        lab = lab_of(request)
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


class WebsocketRefused(Exception):
    """A websocket's `?token=` does not (or no longer) let it stream: close it with `code` and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = _reason(reason)


async def websocket_check(lab: Lab, token: str | None, role: Role = Role.viewer) -> Principal:
    """The principal of a websocket's `?token=`; WebsocketRefused 4401 without a usable token (missing,
    invalid, expired, user disabled), 4403 when the role or site does not allow it."""
    try:
        principal = await authenticate(auth_of(lab), token)
    except NotAuthenticated as exc:
        raise WebsocketRefused(WS_UNAUTHENTICATED, str(exc)) from None
    refusal = principal.refusal(role, lab.site.name)
    if refusal is not None:
        raise WebsocketRefused(WS_FORBIDDEN, refusal)
    return principal


async def websocket_principal(websocket: WebSocket, lab: Lab, token: str | None,
                              role: Role = Role.viewer) -> Principal | None:
    """The principal of an accepted websocket's `?token=`; None after closing it with 4401 (no usable token)
    or 4403 (role or site refused)."""
    try:
        principal = await websocket_check(lab, token, role)
    except WebsocketRefused as refused:
        await websocket.close(code=refused.code, reason=refused.reason)
        return None
    websocket.state.principal = principal
    return principal
