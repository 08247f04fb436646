"""Logs never carry a credential. A browser cannot set headers on a websocket, so the console passes its access
token in the URL (`/api/v1/ws/telemetry?token=...`), and uvicorn logs every websocket it accepts or refuses with
its path and query. Every handler of the fleet manager's logging (uvicorn's and ours) goes through
`RedactCredentials`, which replaces the value of a `token`, `access_token` or `refresh_token` query parameter and
a `Bearer` credential with `<redacted>`."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

REDACTED = "<redacted>"
_QUERY = re.compile(r"(?i)\b((?:access_|refresh_)?token=)[^&\s\"'#]+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """`text` with every token value replaced by <redacted>."""
    lower = text.lower()  # (every log line passes here: most carry neither)
    if "token=" not in lower and "bearer" not in lower:
        return text
    return _BEARER.sub(rf"\g<1>{REDACTED}", _QUERY.sub(rf"\g<1>{REDACTED}", text))


class RedactCredentials(logging.Filter):
    """A handler filter: the record's message, arguments merged, with credentials redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with RedactCredentials on each of its handlers."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_credentials"] = {"()": RedactCredentials}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "redact_credentials"]
    return config


def redact_root_handlers() -> None:
    """RedactCredentials on each handler of the root logger (logging.basicConfig's)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactCredentials) for f in handler.filters):
            handler.addFilter(RedactCredentials())
