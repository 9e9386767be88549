"""The Flask application factory (re-exported as `assessment.create_app`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from .config import Defaults, environment_overrides
from .extensions import db


def build_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: defaults, then instance/config.py, then the environment."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("ASSESSMENT_INSTANCE_PATH")
    app = Flask(
        "assessment",
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
    )
    app.config.from_object(Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(environment_overrides())
    else:
        app.config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "assessment.db")
    db.init_app(app)

    from .views import library

    app.register_blueprint(library.bp)
    return app
