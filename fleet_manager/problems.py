"""Every error answer of the API is an RFC 9457 problem (`application/problem+json`): `type`, `title`, `status`,
`detail` (English, for people), plus `code` (stable and machine-readable: a console or a client translates it),
`field` when one field is at fault, and `errors` (each invalid part) for a request that does not fit its schema.
The codes are listed in docs/api_errors.md."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "tag:labfleet.org,2026:problem:"  # a URI of each code that is a name, not an address

TITLES: dict[str, str] = {
    "bad_request": "Bad request",
    "unauthorized": "Not authenticated",
    "forbidden": "Not allowed",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "conflict": "Not possible now",
    "too_large": "Request too large",
    "invalid_input": "Invalid input",
    "validation_failed": "The request does not fit its schema",
    "invalid_body": "The body cannot be read",
    "unstorable_value": "A value cannot be stored",
    "too_many_requests": "Too many requests",
    "too_many_concurrent_requests": "Too many requests at once",
    "internal_error": "Internal error",
    "unavailable": "Unavailable",
    "database_unavailable": "Database unavailable",
    "leader_unavailable": "No site leader",
    "leader_timeout": "The site leader did not answer",
}

# the code of an answer by its HTTP status, where the raiser gives none (HTTPException, a domain error's class)
CODE_OF_STATUS: dict[int, str] = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                                  405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid_input",
                                  429: "too_many_requests", 500: "internal_error", 503: "unavailable"}


def code_of_status(status: int) -> str:
    return CODE_OF_STATUS.get(status, "bad_request" if status < 500 else "internal_error")


def problem_body(status: int, code: str, detail: str, *, field: str | None = None,
                 errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The problem document of an error answer."""
    body: dict[str, Any] = {"type": TYPE_PREFIX + code, "title": TITLES.get(code) or HTTPStatus(status).phrase,
                            "status": status, "detail": detail, "code": code}
    if field:
        body["field"] = field
    if errors is not None:
        body["errors"] = errors
    return body


def problem_bytes(status: int, detail: str, code: str | None = None) -> bytes:
    """A problem document as bytes, for the middleware that answers before the app does (a body over the limit)."""
    return json.dumps(problem_body(status, code or code_of_status(status), detail)).encode()


def summary(errors: list[dict[str, Any]]) -> str:
    """`detail` for a list of invalid parts: "body.password: String should have ...; body.role: Field required"
    (their messages and places only: the input they echo, which may be a password, is left out)."""
    parts = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]
        parts.append(f"{'.'.join(loc)}: {error.get('msg', '')}" if loc else str(error.get("msg", "")))
    return "; ".join(parts)
