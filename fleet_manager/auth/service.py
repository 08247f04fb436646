"""Log in, refresh (rotating the refresh token of the login's token family, auth/sessions.py), log out, and turn an
access token into a principal (with a short cache of the user's row and of the token family's state)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from fleet_manager.auth import accounts, sessions
from fleet_manager.auth.accounts import USERNAME, Account
from fleet_manager.auth.passwords import MAX_LENGTH, hash_password, needs_rehash, spend_verify_time, verify_password
from fleet_manager.auth.ratelimit import LoginGuard
from fleet_manager.auth.roles import Principal, Role
from fleet_manager.auth.sessions import Revocation, Rotation
from fleet_manager.auth.tokens import Claims, TokenError, TokenType, decode, issue, new_id
from fleet_manager.core.errors import InvalidInput
from fleet_manager.db.retry import unreachable
from fleet_manager.settings import Settings

log = logging.getLogger(__name__)

USER_CACHE_S = 3.0  # a user disabled elsewhere (`labfleet user disable`) is refused within this time
CONCURRENT_LOGINS = 4  # password checks at a time (argon2 takes 64 MiB each): a flood of logins waits its turn
BAD_CREDENTIALS = "incorrect username or password"
REUSED = "refresh token already used: its sessions are revoked; log in again"
SESSION_ENDED = "refresh token revoked: its session has ended (logged out, or a token used twice); log in again"
ACCESS_REVOKED = "access token revoked: its session has ended; log in again"
BEFORE_ROTATION = "refresh token issued before token rotation; log in again"
FAMILY_CACHE_MAX = 4096  # token families whose state is remembered (the oldest forgotten first)
VERIFIED_CACHE_MAX = 4096  # access tokens whose signature was verified (the oldest forgotten first)
PRUNE_EVERY_S = 600.0  # expired token families are deleted at a login at most this often


class NotAuthenticated(Exception):
    """No usable credentials: bad password, bad or expired token, disabled user (HTTP 401)."""


class RefreshTokenReused(NotAuthenticated):
    """A spent refresh token was presented again: its family is revoked (HTTP 401)."""

    def __init__(self, username: str) -> None:
        super().__init__(REUSED)
        self.username = username


class LoginRateLimited(Exception):
    """Too many failed logins for this username from this address (HTTP 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class TokenPair:
    username: str
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives
    role: Role
    sites: tuple[str, ...]


class AuthService:
    def __init__(self, engine: Engine, secret: str, *, access_s: float, refresh_s: float, attempts_per_minute: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self._secret = secret
        self.access_s = access_s
        self.refresh_s = refresh_s
        self.limiter = LoginGuard(attempts_per_minute, clock)
        self._clock = clock
        self._cache: dict[str, tuple[float, Account | None]] = {}
        self._families: dict[str, tuple[float, bool]] = {}  # family -> (when looked up, live)
        self._verified: dict[str, Claims] = {}  # access token -> its claims, once its signature checked out
        self._pruned_at: float | None = None
        self.logins = asyncio.Semaphore(CONCURRENT_LOGINS)  # taken by the login endpoint around `login`

    @classmethod
    def from_settings(cls, engine: Engine, secret: str, settings: Settings) -> AuthService:
        return cls(engine, secret, access_s=settings.access_token_minutes * 60,
                   refresh_s=settings.refresh_token_days * 86400,
                   attempts_per_minute=settings.login_attempts_per_minute)

    def login(self, username: str, password: str, client: str) -> TokenPair:
        """A token pair for the right password of an enabled user (blocking: argon2 and the database)."""
        name = username.strip().lower()
        key = name[:100]
        wait = self.limiter.retry_after(key, client)
        if wait is not None:
            raise LoginRateLimited(wait)
        found = accounts.find(self.engine, name) if USERNAME.fullmatch(name) and len(password) <= MAX_LENGTH \
            else None
        if found is None:
            spend_verify_time(password[:MAX_LENGTH])
            self.limiter.failed(key, client)
            raise NotAuthenticated(BAD_CREDENTIALS)
        account, password_hash = found
        if not verify_password(password_hash, password):
            self.limiter.failed(key, client)
            raise NotAuthenticated(BAD_CREDENTIALS)
        if not account.enabled:
            self.limiter.failed(key, client)
            raise NotAuthenticated(f"user {name!r} is disabled")
        self.limiter.succeeded(key, client)
        if needs_rehash(password_hash):
            accounts.set_password_hash(self.engine, name, hash_password(password))
        return self.start_session(account)

    def start_session(self, account: Account) -> TokenPair:
        """The first pair of a new token family (blocking: the database)."""
        now, family, jti = time.time(), new_id(), new_id()
        sessions.start(self.engine, account.username, family, jti, *self._expiries(now))
        self._remember(family, True)
        self._prune()
        return self._pair(account, family, jti, now)

    def refresh(self, refresh_token: str) -> TokenPair:
        """The next pair of the token's family for a refresh token used for the first time, of a user still enabled
        (read afresh from the database). The token is spent; presented again, it revokes its family
        (RefreshTokenReused)."""
        claims = self._decode(refresh_token, "refresh")
        account = self.load(claims.username)
        self._check(claims, account)
        assert account is not None
        if claims.family is None or claims.jti is None:
            raise NotAuthenticated(BEFORE_ROTATION)
        now, jti = time.time(), new_id()
        outcome = sessions.rotate(self.engine, claims.family, claims.jti, jti, *self._expiries(now))
        if outcome is not Rotation.ROTATED:
            self._remember(claims.family, False)
            if outcome is Rotation.REUSED:
                log.warning("a spent refresh token of user %r was presented again: its token family is revoked",
                            claims.username)
                raise RefreshTokenReused(claims.username)
            raise NotAuthenticated(SESSION_ENDED)
        return self._pair(account, claims.family, jti, now)

    def logout(self, refresh_token: str, username: str) -> None:
        """Revoke the token family of `username`'s refresh token (also once expired; again: nothing changes)."""
        try:
            claims = decode(self._secret, refresh_token, "refresh", verify_expiry=False)
        except TokenError as exc:
            raise InvalidInput(str(exc), field="refresh_token") from None
        if claims.username != username:
            raise InvalidInput(f"the refresh token is not of user {username!r}", field="refresh_token")
        if claims.family is not None:
            sessions.revoke(self.engine, claims.family, Revocation.LOGOUT)
            self._remember(claims.family, False)

    def _pair(self, account: Account, family: str, jti: str, now: float) -> TokenPair:
        access = issue(self._secret, account.username, "access", account.token_version, self.access_s, now,
                       family=family)
        refresh = issue(self._secret, account.username, "refresh", account.token_version, self.refresh_s, now,
                        family=family, jti=jti)
        return TokenPair(account.username, access, refresh, int(self.access_s), account.role, account.sites)

    def _expiries(self, now: float) -> tuple[datetime, datetime]:
        """When a refresh token issued `now` expires, and when the last token of its family does."""
        return (datetime.fromtimestamp(now + self.refresh_s, UTC),
                datetime.fromtimestamp(now + max(self.refresh_s, self.access_s), UTC))

    def _prune(self) -> None:
        """Delete expired token families now and then (a failure only leaves them for the next time)."""
        if self._pruned_at is not None and self._clock() - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = self._clock()
        try:
            sessions.prune(self.engine)
        except DBAPIError as exc:
            log.warning("expired token families not deleted (%s); tried again later", type(exc).__name__)

    def access_claims(self, token: str) -> Claims:
        """The claims of a valid access token (signature and expiry; no database). A token whose signature checked
        out before is not checked again (the same bytes, the same claims): only its expiry is, each time, as PyJWT
        does. Revocation is not decided here: the caller holds the claims to the user's row and the token family's
        state, as for a token seen for the first time."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._decode(token, "access")
            self._verified[token] = claims
            while len(self._verified) > VERIFIED_CACHE_MAX:
                del self._verified[next(iter(self._verified))]
        elif claims.expires_at <= time.time():
            self._verified.pop(token, None)
            raise NotAuthenticated("access token expired")
        return claims

    def cached(self, username: str) -> tuple[bool, Account | None]:
        """(True, the account or None when there is no such user) if looked up in the last few seconds."""
        entry = self._cache.get(username)
        if entry is None or self._clock() - entry[0] > USER_CACHE_S:
            return False, None
        return True, entry[1]

    def load(self, username: str) -> Account | None:
        """The account from the database (blocking), cached for a few seconds."""
        try:
            found = accounts.find(self.engine, username)
        except Exception as exc:
            stale = self._cache.get(username)
            if stale is None or not unreachable(exc):
                raise
            # the database is out of reach: the account as last seen keeps its access (e-stops must get through)
            log.warning("database unreachable: user %r checked against the account as last seen", username)
            return stale[1]
        account = found[0] if found is not None else None
        self._cache[username] = (self._clock(), account)
        return account

    def forget(self, username: str) -> None:
        self._cache.pop(username, None)

    def family_cached(self, family: str) -> tuple[bool, bool]:
        """(True, whether the token family is live) if looked up in the last few seconds."""
        entry = self._families.get(family)
        if entry is None or self._clock() - entry[0] > USER_CACHE_S:
            return False, False
        return True, entry[1]

    def load_family(self, family: str) -> bool:
        """Whether the token family is live, from the database (blocking), cached for a few seconds."""
        try:
            live = sessions.is_live(self.engine, family)
        except Exception as exc:
            stale = self._families.get(family)
            if stale is None or not unreachable(exc):
                raise
            log.warning("database unreachable: a token family checked against its state as last seen")
            return stale[1]
        self._remember(family, live)
        return live

    def _remember(self, family: str, live: bool) -> None:
        self._families.pop(family, None)
        self._families[family] = (self._clock(), live)
        while len(self._families) > FAMILY_CACHE_MAX:
            del self._families[next(iter(self._families))]

    def principal(self, claims: Claims, account: Account | None, family_live: bool = True) -> Principal:
        """The principal of an access token's claims, its user's account and whether its token family is live."""
        self._check(claims, account)
        assert account is not None
        if not family_live:
            raise NotAuthenticated(ACCESS_REVOKED)
        return account.principal

    def disable(self, username: str) -> Account:
        account = accounts.disable_user(self.engine, username)
        self.forget(username)
        return account

    def _decode(self, token: str, token_type: TokenType) -> Claims:
        try:
            return decode(self._secret, token, token_type)
        except TokenError as exc:
            raise NotAuthenticated(str(exc)) from None

    @staticmethod
    def _check(claims: Claims, account: Account | None) -> None:
        if account is None:
            raise NotAuthenticated(f"user {claims.username!r} does not exist")
        if not account.enabled:
            raise NotAuthenticated(f"user {claims.username!r} is disabled")
        if claims.version != account.token_version:
            raise NotAuthenticated(f"{claims.type} token revoked")
