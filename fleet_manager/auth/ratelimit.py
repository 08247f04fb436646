"""Failed logins per (username, client address) in a sliding window; a success forgets them."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

Key = tuple[str, str]
SWEEP_AT = 10_000  # keys kept before the expired ones are swept out


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
