"""Configuration defaults; `instance/config.py` and `ASSESSMENT_*` environment variables override them."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_library_dir() -> Path:
    """The framework library: $ASSESSMENT_LIBRARY, else the repository's `frameworks/`."""
    return Path(os.environ.get("ASSESSMENT_LIBRARY") or PROJECT_ROOT / "frameworks")


class Defaults:
    """Settings every instance starts from."""

    SECRET_KEY = "dev-only-change-me"
    LIBRARY_DIR = str(default_library_dir())
    SQLALCHEMY_DATABASE_URI: str | None = None  # set in create_app: DATABASE_URL or instance/assessment.db
    EVIDENCE_MAX_BYTES = 25 * 1024 * 1024  # one uploaded evidence file
    IMPORT_MAX_BYTES = 200 * 1024 * 1024  # an answers zip with its evidence
    EVIDENCE_DIR: str | None = None  # default: instance/evidence
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: a long questionnaire never expires
    # Session cookies: never readable by scripts, not sent on cross-site requests, and Secure
    # whenever the request came over HTTPS (always, when SESSION_COOKIE_SECURE is set).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    TRUSTED_PROXIES = 0  # behind a reverse proxy, how many X-Forwarded-* hops to believe
    # Sign-in rate limit: failures per user name, and per client address, within the window.
    LOGIN_MAX_FAILURES = 5
    LOGIN_IP_MAX_FAILURES = 50
    LOGIN_WINDOW_SECONDS = 15 * 60
    # The dashboard: an assessment older than this is stale; evidence expiring within this is listed.
    STALE_AFTER_DAYS = 180
    EXPIRING_WITHIN_DAYS = 30
    # Argon2id cost; None keeps the library's recommended profile.
    PASSWORD_TIME_COST: int | None = None
    PASSWORD_MEMORY_KIB: int | None = None


def _typed(value: str) -> object:
    """Environment values are text; whole numbers become ints (sizes, limits)."""
    return int(value) if value.isdigit() else value


def environment_overrides() -> dict[str, object]:
    """Settings taken from the environment: DATABASE_URL, SECRET_KEY and ASSESSMENT_<NAME>."""
    overrides: dict[str, object] = {
        key[len("ASSESSMENT_") :]: _typed(value)
        for key, value in os.environ.items()
        if key.startswith("ASSESSMENT_") and key != "ASSESSMENT_LIBRARY"
    }
    if os.environ.get("ASSESSMENT_LIBRARY"):
        overrides["LIBRARY_DIR"] = os.environ["ASSESSMENT_LIBRARY"]
    if os.environ.get("DATABASE_URL"):
        overrides["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("SECRET_KEY"):
        overrides["SECRET_KEY"] = os.environ["SECRET_KEY"]
    return overrides
