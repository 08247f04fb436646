"""Repeated warnings do not flood the log. A client can make the server warn once per request or connection
(uvicorn's "Invalid HTTP request received.", a connection closed by http_guard.py): `LimitRepeats`, a handler
filter, lets through at most `per_minute` warnings (and errors) of one message template from one logger in a
minute, then one line saying that more are suppressed; the first one let through after that counts what was
suppressed. Lines below WARNING pass untouched."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WINDOW_S = 60.0
MAX_KEYS = 1024  # message templates followed at once; the oldest forgotten beyond


@dataclass
class _Window:
    start: float
    passed: int = 0
    suppressed: int = 0


class LimitRepeats(logging.Filter):
    def __init__(self, per_minute: int = 20, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.per_minute = per_minute
        self._clock = clock
        self._windows: dict[tuple[str, int, str], _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window.start >= WINDOW_S:
            if window is None and len(self._windows) >= MAX_KEYS:
                del self._windows[next(iter(self._windows))]
            if window is not None and window.suppressed:
                _rewrite(record, "(%d more like it were suppressed in the minute before) %s", window.suppressed)
            window = self._windows[key] = _Window(now)
        if window.passed < self.per_minute:
            window.passed += 1
            return True
        window.suppressed += 1
        if window.suppressed == 1:
            _rewrite(record, "%s (repeated too often: more like it suppressed for up to a minute)")
            return True
        return False


def _rewrite(record: logging.LogRecord, template: str, *before: Any) -> None:
    """The record's message, arguments merged, placed in `template` (its last %s) after the `before` arguments."""
    record.msg, record.args = template, (*before, record.getMessage())


def limit_uvicorn_repeats(config: dict[str, Any], per_minute: int = 20) -> dict[str, Any]:
    """A copy of uvicorn's logging configuration `config` with LimitRepeats first on each of its handlers."""
    config = copy.deepcopy(config)
    config.setdefault("filters", {})["limit_repeats"] = {"()": LimitRepeats, "per_minute": per_minute}
    for handler in config["handlers"].values():
        handler["filters"] = ["limit_repeats", *handler.get("filters", [])]
    return config


def limit_root_repeats(per_minute: int = 20) -> None:
    """LimitRepeats first on each handler of the root logger (before the redaction of log_redaction.py)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, LimitRepeats) for f in handler.filters):
            handler.filters.insert(0, LimitRepeats(per_minute))
