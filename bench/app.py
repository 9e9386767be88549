"""The application the web benchmarks time: a migrated, empty database on $DATABASE_URL (its public
schema dropped first) or on a SQLite file in `tmp`."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text

from assessment import create_app


def fresh_app(tmp: str):
    """A new application on an empty, migrated database; returns (app, database URL)."""
    from flask_migrate import upgrade

    url = os.environ.get("DATABASE_URL")
    if url:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp}/bench.db"
    app = create_app(
        {
            "INSTANCE_PATH": f"{tmp}/instance",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
    return app, url
