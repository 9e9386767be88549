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
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024


def environment_overrides() -> dict[str, str]:
    """Settings taken from the environment: DATABASE_URL, SECRET_KEY and ASSESSMENT_<NAME>."""
    overrides = {
        key[len("ASSESSMENT_") :]: value
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
