"""The error catalogue: every error a user can meet has a code, a message for people, structured
details and an HTTP status. The CLI prints them; the API (a later issue) answers with them."""

from __future__ import annotations

from typing import Any


class HotlineError(Exception):
    """Base of every catalogued error."""

    code: str = "hotline_error"
    http_status: int = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}

    def __str__(self) -> str:
        return self.message


class InvalidInput(HotlineError):
    """A value given by a person (a command-line option, an API field) is out of range."""

    code = "invalid_input"
    http_status = 422


class InvalidConfiguration(HotlineError):
    """A configuration file or record is invalid; details name the file, line and field."""

    code = "invalid_configuration"
    http_status = 422


class NotFound(HotlineError):
    code = "not_found"
    http_status = 404


class Conflict(HotlineError):
    """The change clashes with the current state (a stale version, a duplicate name)."""

    code = "conflict"
    http_status = 409


class RoutingRejected(HotlineError):
    """The routing engine refused a command that does not fit the current state."""

    code = "routing_rejected"
    http_status = 409
