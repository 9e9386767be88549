"""Shared fixtures: paths to the project's test data and the shipped library."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
EXAMPLES = DATA / "spec-examples"
LIBRARY = ROOT / "frameworks"
SHARED_EXAMPLES = ROOT.parent / "shared" / "spec" / "examples"


@pytest.fixture
def examples() -> Path:
    """The spec's examples, copied into the project so the suite runs without ../shared."""
    return EXAMPLES


@pytest.fixture
def write(tmp_path):
    """Write a text file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture(scope="session")
def database_url() -> str | None:
    """The database the suite runs against: $DATABASE_URL, or None for a SQLite file in tmp_path.

    CI runs the suite twice: once without DATABASE_URL (SQLite), once under `bin/with-postgres`,
    which sets it to a throwaway PostgreSQL cluster (postgresql+psycopg://postgres@127.0.0.1:PORT/DB).
    """
    return os.environ.get("DATABASE_URL") or None
