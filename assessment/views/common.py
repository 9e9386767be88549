"""Small helpers shared by the blueprints: who is signed in, and parsing form input.

CSRF: Flask-WTF's CSRFProtect (bound in create_app) checks the token of every POST before any view
runs, so views do not check it again.
"""

from __future__ import annotations

import datetime as dt

from flask_login import current_user as _signed_in

from ..models import MAX_ID, Assessment, Scope, User
from ..services import access
from ..services.errors import InvalidInput, NotFound

_MAX_DIGITS = len(str(MAX_ID))


def user() -> User:
    """The signed-in account (every view but sign-in runs only for one)."""
    return _signed_in._get_current_object()


def current_user() -> str:
    """The user name recorded on what the signed-in person changes."""
    return user().username


def scope_for(scope_id: int, action: str = "read") -> Scope:
    """The scope named in the URL, if the signed-in person may do `action` to it."""
    return access.scope_for(user(), scope_id, action)


def assessment_for(assessment_id: int, action: str = "read") -> Assessment:
    """The assessment named in the URL, if the signed-in person may do `action` to it."""
    return access.assessment_for(user(), assessment_id, action)


def parse_date(raw: str | None, label: str) -> dt.date | None:
    """A YYYY-MM-DD form value, None when empty, InvalidInput otherwise."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{label}: {raw!r} is not a date (YYYY-MM-DD).") from None


def parse_int(raw: str | None, label: str) -> int | None:
    """An integer form value, None when empty, InvalidInput otherwise (also beyond the database's integers)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = int(raw) if len(raw) <= _MAX_DIGITS + 1 else None  # int() refuses 5,000 digits with a ValueError
    except ValueError:
        raise InvalidInput(f"{label}: {raw!r} is not a whole number.") from None
    if value is None or abs(value) > MAX_ID:
        raise InvalidInput(f"{label}: {raw[:40]!r} is too large; use a whole number below {MAX_ID:,}.")
    return value


def parse_id(raw: str | None, label: str) -> int | None:
    """An id from a form or query string, None when empty: a number no row can have is NotFound, as in URLs."""
    try:
        return parse_int(raw, label)
    except InvalidInput:
        if (raw or "").strip().lstrip("-").isdigit():
            raise NotFound(f"{label} {(raw or '').strip()[:40]} does not exist.") from None
        raise
