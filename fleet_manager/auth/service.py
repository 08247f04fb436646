"""Log in, refresh, and turn an access token into a principal (with a short cache of the user's row)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from fleet_manager.auth import accounts
from fleet_manager.auth.accounts import USERNAME, Account
from fleet_manager.auth.passwords import MAX_LENGTH, hash_password, needs_rehash, spend_verify_time, verify_password
from fleet_manager.auth.ratelimit import LoginGuard
from fleet_manager.auth.roles import Principal, Role
from fleet_manager.auth.tokens import Claims, TokenError, TokenType, decode, issue
from fleet_manager.db.retry import unreachable
from fleet_manager.settings import Settings

log = logging.getLogger(__name__)

USER_CACHE_S = 3.0  # a user disabled elsewhere (`labfleet user disable`) is refused within this time
CONCURRENT_LOGINS = 4  # password checks at a time (argon2 takes 64 MiB each): a flood of logins waits its turn
BAD_CREDENTIALS = "incorrect username or password"


class NotAuthenticated(Exception):
    """No usable credentials: bad password, bad or expired token, disabled user (HTTP 401)."""


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
        return self.issue_pair(account)

    def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for a valid refresh token of a user still enabled (read afresh from the database)."""
        claims = self._decode(refresh_token, "refresh")
        account = self.load(claims.username)
        self._check(claims, account)
        assert account is not None
        return self.issue_pair(account)

    def issue_pair(self, account: Account) -> TokenPair:
        now = time.time()
        access = issue(self._secret, account.username, "access", account.token_version, self.access_s, now)
        refresh = issue(self._secret, account.username, "refresh", account.token_version, self.refresh_s, now)
        return TokenPair(account.username, access, refresh, int(self.access_s), account.role, account.sites)

    def access_claims(self, token: str) -> Claims:
        """The claims of a valid access token (signature and expiry; no database)."""
        return self._decode(token, "access")

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

    def principal(self, claims: Claims, account: Account | None) -> Principal:
        self._check(claims, account)
        assert account is not None
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
