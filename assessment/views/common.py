"""Small helpers shared by the blueprints: who is working, and parsing form input."""

from __future__ import annotations

import datetime as dt

from flask import current_app, session

from ..services.errors import InvalidInput

DEFAULT_USER = "anonymous"


def current_user() -> str:
    """The name the person gave for their answers (accounts and roles come later)."""
    return session.get("user_name") or current_app.config.get("DEFAULT_USER", DEFAULT_USER)


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
    """An integer form value, None when empty, InvalidInput otherwise."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{label}: {raw!r} is not a whole number.") from None
