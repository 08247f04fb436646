"""Failed logins counted in sliding windows (issue 19): an attacker can neither reset the limit nor turn it against
a user.

- per (username, address): `limit` failures a minute, then 429 for that pair; a success forgets them;
- per address: ADDRESS_FACTOR x `limit` failures a minute over every username (guessing many users), then 429;
- per username: USER_FACTOR x `limit` failures in USER_WINDOW_S from any addresses (a spread-out attack), then
  only the addresses the user has logged in from before (KNOWN_ADDRESSES, newest kept) may try; a correct password
  from one of them still passes.
Refused attempts (429) count nothing. The address is the socket's, or a trusted proxy's header (settings:
trusted_proxies): a new X-Forwarded-For per guess changes nothing."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

Key = Hashable
SWEEP_AT = 10_000  # keys kept before the expired ones are swept out
ADDRESS_FACTOR = 5
USER_FACTOR = 10
USER_WINDOW_S = 900.0
KNOWN_ADDRESSES = 20  # per user


class LoginRateLimiter:
    def __init__(self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[Key, deque[float]] = {}
        self._lock = threading.Lock()  # logins run in the thread pool

    def retry_after(self, key: Key) -> int | None:
        """Seconds until `key` may try again (None: it may now)."""
        with self._lock:
            now = self._clock()
            failures = self._prune(key, now)
            if len(failures) < self.limit:
                return None
            return max(1, math.ceil(failures[0] + self.window_s - now))

    def failed(self, key: Key) -> None:
        with self._lock:
            now = self._clock()
            if len(self._failures) >= SWEEP_AT:
                for other in list(self._failures):
                    self._prune(other, now)
            self._failures.setdefault(key, deque(maxlen=self.limit)).append(now)

    def succeeded(self, key: Key) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _prune(self, key: Key, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures


class LoginGuard:
    """The three limits of the module's docstring, and the addresses each user logged in from."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.pairs = LoginRateLimiter(limit, 60.0, clock)
        self.addresses = LoginRateLimiter(ADDRESS_FACTOR * limit, 60.0, clock)
        self.users = LoginRateLimiter(USER_FACTOR * limit, USER_WINDOW_S, clock)
        self._known: dict[str, deque[str]] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until this username may try again from this address (None: it may now)."""
        for wait in (self.pairs.retry_after((username, address)), self.addresses.retry_after(address)):
            if wait is not None:
                return wait
        with self._lock:
            known = address in self._known.get(username, ())
        return None if known else self.users.retry_after(username)

    def failed(self, username: str, address: str) -> None:
        self.pairs.failed((username, address))
        self.addresses.failed(address)
        self.users.failed(username)

    def succeeded(self, username: str, address: str) -> None:
        self.pairs.succeeded((username, address))
        with self._lock:
            known = self._known.setdefault(username, deque(maxlen=KNOWN_ADDRESSES))
            if address in known:
                known.remove(address)
            known.append(address)
            if len(self._known) > SWEEP_AT:
                self._known.pop(next(iter(self._known)))
