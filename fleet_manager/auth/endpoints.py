"""/auth (log in, refresh, log out, who am I) and /users (admins only)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from fleet_manager.audit import Outcome, record_login
from fleet_manager.auth import accounts
from fleet_manager.auth.accounts import Account
from fleet_manager.auth.deps import ADMIN, auth_of, require, unauthorized
from fleet_manager.auth.roles import Principal, Role
from fleet_manager.auth.schemas import Me, RefreshIn, TokenOut, UserCreate, UserPublic, UserUpdate
from fleet_manager.auth.service import LoginRateLimited, NotAuthenticated, RefreshTokenReused, TokenPair
from fleet_manager.deps import LabDep
from fleet_manager.exception_handlers import error_response
from fleet_manager.sites.service import list_sites

router = APIRouter(prefix="/auth", tags=["auth"])
users_router = APIRouter(prefix="/users", tags=["users"], dependencies=[ADMIN])

_REFUSED: dict[int | str, dict[str, Any]] = {401: error_response("bad credentials, or the user is disabled")}
_REFRESH_REFUSED: dict[int | str, dict[str, Any]] = {401: error_response(
    "invalid or expired refresh token, its session ended (logged out or revoked), the user disabled; or the token "
    "was used before: its sessions are revoked")}
AnySiteUser = Annotated[Principal, Depends(require(Role.viewer, site_scope=False))]
Username = Annotated[str, Path(min_length=1, max_length=64)]


def _token_out(pair: TokenPair) -> TokenOut:
    return TokenOut(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in,
                    role=pair.role, sites=list(pair.sites))


def _public(account: Account) -> UserPublic:
    return UserPublic(username=account.username, role=account.role, sites=list(account.sites),
                      enabled=account.enabled, created_at=account.created_at, disabled_at=account.disabled_at)


@router.post("/token", response_model=TokenOut, responses={
    **_REFUSED, 429: error_response("too many failed logins for this user from this address (see Retry-After)")})
async def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], lab: LabDep) -> TokenOut:
    """OAuth2 password flow: a short-lived access token and a refresh token."""
    client = request.client.host if request.client else "unknown"
    auth = auth_of(lab)
    try:
        async with auth.logins:
            pair = await asyncio.to_thread(auth.login, form.username, form.password, client)
    except NotAuthenticated as exc:
        record_login(request, form.username, Outcome.REFUSED)  # the audit entry names who tried
        raise unauthorized(str(exc)) from None
    except LoginRateLimited as exc:
        record_login(request, form.username, Outcome.REFUSED)
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    record_login(request, pair.username, Outcome.OK)
    return _token_out(pair)


@router.post("/refresh", response_model=TokenOut, responses=_REFRESH_REFUSED)
async def refresh(request: Request, body: RefreshIn, lab: LabDep) -> TokenOut:
    """The next token pair for a refresh token, which is spent: each refresh token is used once. Presented again,
    it revokes every token of its login (401); refused too once the user is disabled or has logged out."""
    try:
        pair = await asyncio.to_thread(auth_of(lab).refresh, body.refresh_token)
    except RefreshTokenReused as exc:
        record_login(request, exc.username, Outcome.REFUSED)  # the audit entry names whose token it was
        raise unauthorized(str(exc)) from None
    except NotAuthenticated as exc:
        raise unauthorized(str(exc)) from None
    record_login(request, pair.username, Outcome.OK)
    return _token_out(pair)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(body: RefreshIn, principal: AnySiteUser, lab: LabDep) -> Response:
    """End the session of this refresh token (the signed-in user's): its refresh and access tokens are refused
    from now on. 422 naming `refresh_token` when it is not a refresh token of this user."""
    await asyncio.to_thread(auth_of(lab).logout, body.refresh_token, principal.username)
    return Response(status_code=204)


@router.get("/me", response_model=Me)
async def me(principal: AnySiteUser) -> Me:
    return Me(username=principal.username, role=principal.role, sites=list(principal.sites))


@users_router.get("", response_model=list[UserPublic])
def list_users(lab: LabDep) -> list[UserPublic]:
    return [_public(account) for account in accounts.list_users(lab.engine)]


@users_router.post("", status_code=201, response_model=UserPublic)
def add_user(body: UserCreate, lab: LabDep) -> UserPublic:
    """A new user with a role and its sites; 409 when the name is taken, 422 naming a bad field."""
    known = list_sites(lab.settings.sites_dir)
    return _public(accounts.add_user(lab.engine, body.username, body.password, body.role, body.sites, known))


@users_router.patch("/{username}", response_model=UserPublic)
def update_user(username: Username, body: UserUpdate, lab: LabDep) -> UserPublic:
    """A user's new role and/or sites, in force within seconds (409 for the last enabled admin's role)."""
    known = list_sites(lab.settings.sites_dir)
    account = accounts.update_user(lab.engine, username, body.role.value if body.role else None, body.sites, known)
    auth_of(lab).forget(username)
    return _public(account)


@users_router.post("/{username}/disable", response_model=UserPublic)
def disable_user(username: Username, lab: LabDep) -> UserPublic:
    """Disable a user: its tokens are refused from now on (409 for the last enabled admin)."""
    return _public(auth_of(lab).disable(username))
