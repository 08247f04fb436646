"""No token in the fleet manager's logs (fleet_manager/log_redaction.py): uvicorn logs each websocket with its
query, where the console's access token is; our own handlers go through the same filter."""

from __future__ import annotations

import io
import logging
import logging.config

import pytest

from fleet_manager.log_redaction import RedactCredentials, redact, redact_root_handlers, uvicorn_log_config

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(("line", "expected"), [
    (f'127.0.0.1:5000 - "WebSocket /api/v1/ws/telemetry?token={JWT}" [accepted]',
     '127.0.0.1:5000 - "WebSocket /api/v1/ws/telemetry?token=<redacted>" [accepted]'),
    (f"/api/v1/ws/telemetry?site=living_lab&token={JWT}&x=1",
     "/api/v1/ws/telemetry?site=living_lab&token=<redacted>&x=1"),
    (f"refresh_token={JWT} access_token={JWT}", "refresh_token=<redacted> access_token=<redacted>"),
    (f"Authorization: Bearer {JWT}", "Authorization: Bearer <redacted>"),
    ("GET /api/v1/missions?limit=10", "GET /api/v1/missions?limit=10"),
])
def test_token_values_are_redacted(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_uvicorns_handlers_redact_a_websocket_line_logged_with_arguments() -> None:
    config = uvicorn_log_config()
    config["handlers"]["default"]["stream"] = "ext://sys.stdout"
    logger = logging.getLogger("uvicorn.error")
    saved = (logger.handlers[:], logger.level, logger.propagate, logging.getLogger("uvicorn").handlers[:])
    try:
        logging.config.dictConfig(config)
        stream = io.StringIO()
        handler = logging.getLogger("uvicorn").handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)
        logger.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", f"/api/v1/ws/telemetry?token={JWT}")
        assert "token=<redacted>" in stream.getvalue() and JWT not in stream.getvalue(), stream.getvalue()
    finally:
        logger.handlers, logger.level, logger.propagate = saved[0], saved[1], saved[2]
        logging.getLogger("uvicorn").handlers = saved[3]


def test_the_root_handlers_redact_too() -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        redact_root_handlers()
        redact_root_handlers()  # once per handler
        assert sum(isinstance(f, RedactCredentials) for f in handler.filters) == 1
        logging.getLogger("fleet_manager.test").warning("refused ?token=%s", JWT)
        assert stream.getvalue().strip().endswith("refused ?token=<redacted>"), stream.getvalue()
    finally:
        root.removeHandler(handler)
