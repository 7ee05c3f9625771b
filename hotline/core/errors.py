"""The error catalogue: every error a user can meet has a code, a message for people, structured
details and an HTTP status. The CLI prints them; the API answers with them (`hotline.api.app`)."""

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

    def http_headers(self) -> dict[str, str]:
        """Headers the API's answer carries besides the body (e.g. `Retry-After`)."""
        return {}

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


class StaleVersion(Conflict):
    """A change made to an older version of a record than the one stored: refused, not written
    over what someone else saved since; details say which version is current."""

    code = "stale_version"


class RoutingRejected(HotlineError):
    """The routing engine refused a command that does not fit the current state."""

    code = "routing_rejected"
    http_status = 409


class NotSignedIn(HotlineError):
    """The request carries no valid session: never signed in, signed out, or idle too long."""

    code = "not_signed_in"
    http_status = 401


class Forbidden(HotlineError):
    """Signed in, but none of the user's roles allows this (or the object is not theirs)."""

    code = "forbidden"
    http_status = 403


class CsrfFailed(HotlineError):
    """A change came without the session's `X-CSRF-Token` (or with another one)."""

    code = "csrf_failed"
    http_status = 403


class PasswordChangeRequired(HotlineError):
    """The user must choose a new password before anything but `/auth/*` answers."""

    code = "password_change_required"
    http_status = 403


class BadCredentials(HotlineError):
    """Unknown user or wrong password: one answer for both, so usernames cannot be probed."""

    code = "bad_credentials"
    http_status = 401


class TooManyAttempts(HotlineError):
    """Too many failed sign-ins lately; `retry_after` says in how many seconds to try again."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after

    def http_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UploadTooLarge(HotlineError):
    """An upload larger than its limit; refused before it is read whole. `limit` is in bytes."""

    code = "upload_too_large"
    http_status = 413
