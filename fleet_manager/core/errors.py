"""Domain errors. The HTTP layer maps them to status codes in one place (exception_handlers.py)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain core raises on purpose."""

    code: str | None = None  # the problem code of the API's answer (fleet_manager/problems.py); None: the class's

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class NotFound(DomainError):
    """A named thing (robot, mission, site, template, place) does not exist."""

    code = "not_found"


class InvalidInput(DomainError):
    """The request is well-formed but its content is wrong (unknown place, bad parameter)."""

    code = "invalid_input"


class Conflict(DomainError):
    """The request is valid but cannot be applied in the current state."""

    code = "conflict"


class Unavailable(DomainError):
    """A dependency (database, ROS graph, a robot) cannot serve the request now."""

    code = "unavailable"
