"""`assessment config check`: the effective configuration, secrets masked, and warnings about unsafe settings.

Exit status 0 when nothing is unsafe, 1 when something is (so a deployment script can stop on it).
"""

from __future__ import annotations

import os
import sys

import click
from flask.cli import AppGroup

EXIT_UNSAFE = 1

config_group = AppGroup("config", help="The configuration: check prints it, secrets masked, and warns.")


def _web_workers() -> int:
    """The web processes `assessment run` would start (WEB_CONCURRENCY, else its default of 2)."""
    from .serving import DEFAULT_WORKERS, BadSetting, workers_from_environment

    try:
        return workers_from_environment()
    except BadSetting:
        return DEFAULT_WORKERS


def _demo_accounts() -> tuple[list[str], str | None]:
    """The demo accounts (services/demo.py) that are enabled and still take their public password, or the
    reason they could not be looked at."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from .extensions import db
    from .models import User
    from .services.accounts import password_matches
    from .services.demo import DEMO_USERS

    try:
        names = [name for name, *_ in DEMO_USERS]
        users = db.session.scalars(select(User).where(User.username.in_(names))).all()
        found = [u.username for u in users if not u.disabled and password_matches(u, f"{u.username}-demo-pass")]
    except SQLAlchemyError as exc:
        db.session.rollback()
        return [], f"the accounts could not be read ({type(exc).__name__}), so the demo passwords were not checked"
    finally:
        db.session.remove()
    return found, None


@config_group.command("check")
def config_check() -> None:
    """Print each setting, its value (secrets masked) and where it came from; then the unsafe ones."""
    from flask import Config, current_app

    from .config import Defaults, environment_overrides
    from .configcheck import effective_settings, unsafe
    from .extensions import report_store

    app = current_app
    defaults = {name: getattr(Defaults, name) for name in dir(Defaults) if name.isupper()}
    instance_file = Config(app.instance_path)
    instance_file.from_pyfile("config.py", silent=True)
    environment = environment_overrides()
    effective = dict(app.config)
    effective["DEBUG"] = app.debug
    if "FLASK_DEBUG" in os.environ:
        environment["DEBUG"] = os.environ["FLASK_DEBUG"]
    rows = effective_settings(effective, defaults, instance_file, environment, also=("DEBUG", "PREFERRED_URL_SCHEME"))
    workers = os.environ.get("WEB_CONCURRENCY")
    shown = workers or f"(not set: {_web_workers()})"
    rows.append(type(rows[0])("WEB_CONCURRENCY", shown, "environment" if workers else "default"))
    width = max(len(row.name) for row in rows)
    value_width = min(60, max(len(row.value) for row in rows))
    for row in rows:
        click.echo(f"{row.name:<{width}}  {row.value:<{value_width}}  {row.source}")
    store = report_store(app)
    click.echo("")
    click.echo(f"evidence store  {store.evidence.blobs.describe()}")
    click.echo(f"report store    {store.blobs.describe()}")
    demo, why_not = _demo_accounts()
    warnings = unsafe(effective, _web_workers(), demo)
    if why_not:
        warnings.append(why_not)
    click.echo("")
    for warning in warnings:
        click.echo(f"warning: {warning}")
    click.echo(f"{len(warnings)} warning(s)" if warnings else "no warnings")
    sys.exit(EXIT_UNSAFE if warnings else 0)
