"""Errors a service raises for its caller (a view or a command) to turn into a response."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors below; `message` is written for the person who caused it."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """The object named does not exist (or is not yours to see)."""

    status = 404


class InvalidInput(ServiceError):
    """The request names a value the object cannot take; nothing was changed.

    `field` names the form field at fault when the service knows it (`severity`, `comment`...), so a
    page can show the message beside it; None leaves the choice to the view."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class Conflict(ServiceError):
    """Someone else changed the object since it was read; nothing was overwritten."""

    status = 409


class Forbidden(ServiceError):
    """The person may see the object but not do this to it."""

    status = 403


class Locked(ServiceError):
    """The assessment is submitted or approved: its answers and evidence cannot change."""

    status = 409


class TrailUnreadable(ServiceError):
    """An audit trail entry cannot be read back (altered, or written by another version); nothing was changed."""

    status = 500
