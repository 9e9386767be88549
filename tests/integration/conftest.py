"""Fixtures of the application against a real database: a SQLite file, or PostgreSQL when
DATABASE_URL is set (CI runs the suite on both).

The schema is built once per session by the real Alembic migrations, with the shipped library
imported; each test then starts from that state: SQLite copies a template file, PostgreSQL
empties every table but the library's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select, text

from assessment import create_app
from assessment.extensions import db
from tests.conftest import object_storage
from tests.integration.helpers import example_version, make_scope, start

KEEP = {"framework_version", "alembic_version"}


def _config(instance: Path, url: str) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        # Argon2id at its cheapest: the tests sign in hundreds of times.
        "PASSWORD_TIME_COST": 1,
        "PASSWORD_MEMORY_KIB": 64,
        **object_storage(),  # under bin/with-stack: the S3 bucket, under a prefix of this app's own
    }


# The people of every test: user name -> role. Their password is PASSWORD.
PEOPLE = {
    "admin": "admin",
    "lead": "lead",
    "alice": "member",
    "bob": "member",
    "audrey": "auditor",
    "otto": "auditor",
}
PASSWORD = "correct horse battery"


def _add_people(app) -> None:
    from assessment.services import accounts, audit

    with app.app_context(), audit.acting_as("test-setup"):
        for username, role in PEOPLE.items():
            accounts.create_user(username, username.title(), role, PASSWORD)
        db.session.commit()
        db.session.remove()


def sign_in_as(client, username: str):
    """Make `client` signed in as `username` (without the form: the matrix makes many clients),
    with a session opened by the accounts service, as the form opens one."""
    from assessment.models import User
    from assessment.services import accounts

    with client.application.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        user_id, token = (user.id, accounts.start_session(user)) if user is not None else (None, None)
        db.session.commit()
        db.session.remove()
    with client.session_transaction() as session:
        session.clear()
        if user_id is not None:
            session["_user_id"] = str(user_id)
            session["_fresh"] = True
            session[accounts.SESSION_KEY] = token
    return client


def _prepare(app) -> None:
    from flask_migrate import upgrade

    from assessment.services.library import import_library

    with app.app_context():
        upgrade()
        import_library(Path(app.config["LIBRARY_DIR"]))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()  # closing the last connection checkpoints SQLite's WAL into the file


_LIBRARY_LAST: list[int] = []


def _library_last_id(conn) -> int:
    """The highest framework version id of the shipped library, as migrated and imported."""
    if not _LIBRARY_LAST:
        _LIBRARY_LAST.append(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM framework_version")).scalar())
    return _LIBRARY_LAST[0]


@pytest.fixture(scope="session")
def prepared_database(tmp_path_factory, database_url):
    """The migrated database with the library imported: a SQLite template file, or the PostgreSQL URL."""
    if database_url:
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        _prepare(create_app(_config(tmp_path_factory.mktemp("pg-instance"), database_url)))
        engine = create_engine(database_url)
        with engine.begin() as conn:
            _library_last_id(conn)
            # every test starts with an empty trail (as after the first test's TRUNCATE) and its own key
            conn.execute(text("DELETE FROM audit_entry"))
        engine.dispose()
        return database_url
    template = tmp_path_factory.mktemp("template") / "template.db"
    _prepare(create_app(_config(template.with_name("instance"), f"sqlite:///{template}")))
    return template


# What a copy of the template database needs from its instance folder: the trail's key and checkpoints.
TRAIL_FILES = ("trail_key", "audit-checkpoints.jsonl")


@pytest.fixture
def app(tmp_path, prepared_database, database_url):
    """An application on a database holding only the library, with a fresh instance folder."""
    instance = tmp_path / "instance"
    instance.mkdir()
    if database_url:
        url = database_url
    else:
        shutil.copy(prepared_database, tmp_path / "test.db")
        for name in TRAIL_FILES:
            if (prepared_database.with_name("instance") / name).exists():
                shutil.copy2(prepared_database.with_name("instance") / name, instance / name)
        url = f"sqlite:///{tmp_path / 'test.db'}"
    app = create_app(_config(instance, url))
    _add_people(app)
    yield app
    with app.app_context():
        db.session.remove()
        if database_url:
            tables = [t for t in inspect(db.engine).get_table_names() if t not in KEEP]
            with db.engine.begin() as conn:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
                # as on SQLite, each test starts from the shipped library alone: versions a test stored go
                conn.execute(text("DELETE FROM framework_version WHERE id > :last"), {"last": _library_last_id(conn)})
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client of `app`, signed in as the admin (who may do everything)."""
    return sign_in_as(app.test_client(), "admin")


@pytest.fixture
def anonymous(app):
    """A test client of `app` that has not signed in."""
    return app.test_client()


@pytest.fixture
def as_user(app):
    """A function giving a new client signed in as the named user."""
    return lambda username: sign_in_as(app.test_client(), username)


@pytest.fixture
def ctx(app):
    """An application context, for calling services directly."""
    with app.app_context():
        yield app


@pytest.fixture
def devops(app, client):
    """An assessment of the spec's devops example in a new scope: (assessment id, scope id)."""
    version = example_version(app)
    scope = make_scope(client)
    return start(client, scope, version, target="3"), scope
