"""Domain errors → HTTP status codes, in one place. Bad input is a 4xx that names the field."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from fleet_manager.core.errors import Conflict, DomainError, InvalidInput, NotFound, Unavailable

log = logging.getLogger(__name__)

_STATUS: dict[type[DomainError], int] = {NotFound: 404, InvalidInput: 422, Conflict: 409, Unavailable: 503}


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    body: dict[str, object] = {"detail": exc.message}
    if exc.field:
        body["field"] = exc.field
    return JSONResponse(body, status_code=status)


async def _database(_: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %s", exc)
    return JSONResponse({"detail": "the database is unavailable; try again shortly"}, status_code=503)


def _json_safe(value: Any) -> Any:
    """NaN and infinity (which Python's json parser accepts in a body) as strings: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, whose echo of the input could not otherwise be encoded when it holds NaN."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": _json_safe(jsonable_encoder(exc.errors()))}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(OperationalError, _database)
