"""Extensions, created once here and bound to an application in `create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_login import LoginManager
from flask_migrate import Migrate
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

migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()

REPORTS = "assessment.reports"  # app.extensions key of the ReportStore create_app builds


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
