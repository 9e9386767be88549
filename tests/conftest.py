"""Shared fixtures: paths to the project's test data and the shipped library."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
EXAMPLES = DATA / "spec-examples"
LIBRARY = ROOT / "frameworks"
SHARED_EXAMPLES = ROOT.parent / "shared" / "spec" / "examples"

# `make test-fast` runs with this profile: property tests try fewer examples (see `tries`).
settings.register_profile("fast", max_examples=20)


def tries(count: int) -> int:
    """How many examples a property test tries: `count`, or in the fast lane a tenth of it (at least 20, at most `count`)."""
    return min(count, max(20, count // 10)) if settings.get_current_profile_name() == "fast" else count


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


def pytest_configure(config):
    """Under `pytest -n N` (pytest-xdist, as `make test` runs), each worker process gets servers' state of its own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... in a worker; unset in a plain run
    if worker:
        _own_databases(worker)


def _own_databases(worker: str) -> None:
    """Give this worker its own PostgreSQL database and Redis database, so two workers never truncate each
    other's tables or take each other's jobs from the queue. Object storage needs nothing: every test
    application already writes under a key prefix of its own (object_storage below). Subprocesses the tests
    start inherit the environment, so they use the worker's databases too."""
    url = os.environ.get("DATABASE_URL")
    if url:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        base = make_url(url)
        name = f"{base.database}_{worker}"
        engine = create_engine(base, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        os.environ["DATABASE_URL"] = base.set(database=name).render_as_string(hide_password=False)
        os.environ["PGDATABASE"] = name
    redis = os.environ.get("REDIS_URL")
    if redis:  # redis://host:port/0: databases 1, 2, ... for workers gw0, gw1, ...
        os.environ["REDIS_URL"] = f"{redis.rsplit('/', 1)[0]}/{int(worker.removeprefix('gw')) + 1}"


@pytest.fixture(scope="session")
def database_url() -> str | None:
    """The database the suite runs against: $DATABASE_URL, or None for a SQLite file in tmp_path.

    CI runs the suite twice: once without DATABASE_URL (SQLite), once under `bin/with-postgres`,
    which sets it to a throwaway PostgreSQL cluster (postgresql+psycopg://postgres@127.0.0.1:PORT/DB).
    """
    return os.environ.get("DATABASE_URL") or None


S3_SETTINGS = ("S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")


def object_storage() -> dict:
    """The settings that put a test application's evidence and reports in S3: under `bin/with-stack` (which
    exports ASSESSMENT_S3_BUCKET and the rest), its bucket, with a key prefix of this application's own so
    no test sees another's objects; without it, nothing (the folders)."""
    if not os.environ.get("ASSESSMENT_S3_BUCKET"):
        return {}
    settings = {name: os.environ.get(f"ASSESSMENT_{name}") for name in S3_SETTINGS}
    settings["S3_PREFIX"] = f"test-{uuid.uuid4().hex}"
    return settings
