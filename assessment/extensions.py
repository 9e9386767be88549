"""Extensions, created once here and bound to an application in `create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

if TYPE_CHECKING:
    from flask import Flask

    from .services.reports import ReportStore


class Base(DeclarativeBase):
    """Base class of the SQLAlchemy models."""


db = SQLAlchemy(model_class=Base)

csrf = CSRFProtect()
login_manager = LoginManager()

REPORTS = "assessment.reports"  # app.extensions key of the ReportStore create_app builds


class Migrations:
    """What Flask-Migrate keeps in `app.extensions["migrate"]` (its directory, the database, Alembic's options
    and the Migrate object), with Flask-Migrate, and Alembic under it (about 15 MB resident), imported only
    when something migrates: `assessment init`, `assessment db …`, the tests. A web process never does, so it
    never loads them. Flask-Migrate's commands and migrations/env.py read these same attributes."""

    def __init__(self, database: SQLAlchemy, directory: str, **options) -> None:
        self.db = database
        self.directory = directory
        self.configure_args = {"compare_type": True, "render_as_batch": True, **options}
        self._migrate = None

    @property
    def migrate(self):
        if self._migrate is None:
            from flask_migrate import Migrate

            self._migrate = Migrate(db=self.db, directory=self.directory, **self.configure_args)
        return self._migrate

    @property
    def metadata(self):
        return self.db.metadata


def report_store(app: Flask) -> ReportStore:
    """The report store of an application: where its rendered reports live, and its evidence store."""
    return app.extensions[REPORTS]


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite: enforce foreign keys; WAL with synchronous=NORMAL keeps commits fast and the file consistent."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
