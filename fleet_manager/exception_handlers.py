"""Domain errors → HTTP status codes, in one place. Bad input is a 4xx that names the field."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from fleet_manager.core.errors import Conflict, DomainError, InvalidInput, NotFound, Unavailable
from fleet_manager.problems import PROBLEM_JSON, code_of_status, problem_body, summary

log = logging.getLogger(__name__)

_STATUS: dict[type[DomainError], int] = {NotFound: 404, InvalidInput: 422, Conflict: 409, Unavailable: 503}


class FieldError(BaseModel):
    """One entry of a 422 for a request that does not fit its schema (FastAPI's validation error)."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer, an RFC 9457 problem (application/problem+json): what is wrong for people (`detail`),
    a stable `code` for programs (docs/api_errors.md), the field at fault when there is one, and for a request that
    does not fit its schema each invalid part (`errors`)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    errors: list[FieldError] | None = None


def error_response(description: str) -> dict[str, Any]:
    """An entry of a route's `responses=`: the error body, with what the status means there."""
    return {"model": ErrorBody, "description": description}


def problem(status: int, detail: str, code: str | None = None, *, field: str | None = None,
            errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer: the problem document of `status` (its code from the status unless given)."""
    body = problem_body(status, code or code_of_status(status), detail, field=field, errors=errors)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


# documented on every route of the API (a route's own entry for a status replaces the one here)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: error_response("no token, or an invalid or expired one"),
    403: error_response("the user's role or sites do not allow it"),
    404: error_response("something the request names does not exist"),
    409: error_response("valid, but not possible in the current state"),
    413: error_response("the request body is over the size limit"),
    422: error_response("invalid input: `field`, or each entry of `detail`, names what is wrong"),
    503: error_response("the database is unavailable; try again shortly"),
}
# the same for a route whose own answer is not JSON (an HTML page): its errors are JSON all the same
JSON_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": entry["description"],
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for code, entry in ERROR_RESPONSES.items()}


ECHO_MAX = 500  # characters of the client's own input an error answer repeats


def _clipped(text: str) -> str:
    return text if len(text) <= 2 * ECHO_MAX else f"{text[:2 * ECHO_MAX]}... ({len(text)} characters)"


def _echo(value: Any) -> Any:
    """The input a validation error repeats, clipped: a 1 MB string is not sent back whole."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= ECHO_MAX:
        return value
    return f"{text[:ECHO_MAX]}... ({len(text)} characters)"


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    return problem(status, _clipped(exc.message), exc.code, field=exc.field)


DATABASE_RETRY_AFTER_S = 5


async def _database(_: Request, exc: Exception) -> JSONResponse:
    """The database is out of reach (connection refused or lost, no connection left in the pool): 503."""
    log.error("database unavailable: %s", str(exc).splitlines()[0])
    return problem(503, "the database is unavailable; try again shortly", "database_unavailable",
                   headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})


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
    """FastAPI's 422, whose echo of the input could not otherwise be encoded when it holds NaN; a body that
    is not JSON is named with the parser's reason and position."""
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            error = {**error, "msg": f"the body is not valid JSON: {reason} at character {error['loc'][-1]}",
                     "input": None}
        elif "input" in error:
            error = {**error, "input": _echo(error["input"])}
        errors.append(error)
    encoded = _json_safe(jsonable_encoder(errors))
    invalid_body = any(e.get("type") == "json_invalid" for e in errors)
    return problem(422, summary(encoded), "invalid_body" if invalid_body else "validation_failed", errors=encoded)


def _unreadable(cause: BaseException | None) -> str:
    if isinstance(cause, UnicodeDecodeError):
        return f"the body is not UTF-8 text ({cause.reason} at byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "the body's JSON is nested too deeply"
    return f"the body cannot be read as JSON ({type(cause).__name__})"


async def _bad_request(_: Request, exc: Exception) -> JSONResponse:
    """A body that cannot be parsed is a 422 naming the reason, like a JSON syntax error: FastAPI answers 400
    'There was an error parsing the body' when the JSON parser fails otherwise (bytes that are not UTF-8,
    nesting too deep), Starlette 400 for a broken form (a multipart body without its boundary)."""
    assert isinstance(exc, HTTPException)
    if isinstance(exc.__context__, MultiPartException):
        error = {"type": "form_invalid", "loc": ["body"], "msg": f"the form cannot be read: {exc.detail}"}
    elif exc.__cause__ is not None:
        error = {"type": "json_invalid", "loc": ["body"], "msg": _unreadable(exc.__cause__)}
    else:
        return await _http(_, exc)
    return problem(422, summary([error]), "invalid_body", errors=[error])


async def _http(_: Request, exc: Exception) -> JSONResponse:
    """Every other HTTP error (401, 403, 404 of an unknown route, 405, 413, 429...) as a problem."""
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return problem(exc.status_code, detail, headers=dict(exc.headers) if exc.headers else None)


async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
    """A bug: a 500 problem that says no more (the log has the traceback)."""
    return problem(500, "internal error: the fleet manager's log has the details", "internal_error")


async def _unstorable(_: Request, exc: Exception) -> JSONResponse:
    """The database refuses a value the schemas let through (PostgreSQL takes no NUL character in text)."""
    assert isinstance(exc, DataError)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "out of range"
    return problem(422, f"a value of the request cannot be stored: {reason}", "unstorable_value")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DomainError, _domain)
    for database_error in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(database_error, _database)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(400, _bad_request)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unhandled)
    _document_problems(app)


def _document_problems(app: FastAPI) -> None:
    """The OpenAPI document names application/problem+json, not application/json, for every error answer."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = plain()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    for status, answer in (operation.get("responses") or {}).items():
                        content = answer.get("content") or {}
                        if status[:1] in "45" and "application/json" in content:
                            content[PROBLEM_JSON] = content.pop("application/json")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
