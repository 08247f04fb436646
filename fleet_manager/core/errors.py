"""Domain errors. The HTTP layer maps them to status codes in one place (exception_handlers.py)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain core raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """A named thing (robot, mission, site, template, place) does not exist."""


class InvalidInput(DomainError):
    """The request is well-formed but its content is wrong (unknown place, bad parameter)."""


class Conflict(DomainError):
    """The request is valid but cannot be applied in the current state."""


class Unavailable(DomainError):
    """A dependency (database, ROS graph, a robot) cannot serve the request now."""
