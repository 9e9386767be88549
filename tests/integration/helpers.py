"""Helpers of the integration tests: set up scopes and assessments through the real views."""

from __future__ import annotations

import re

from sqlalchemy import select

from assessment.domain.loader import load_framework_text
from assessment.extensions import db
from assessment.models import FrameworkVersion
from assessment.services.library import store_framework
from tests.conftest import EXAMPLES


def version_id(app, framework_id: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(FrameworkVersion.id)
            .where(FrameworkVersion.framework_id == framework_id)
            .order_by(FrameworkVersion.id.desc())
        )


def example_version(app, name: str = "devops-delivery") -> int:
    """Store a spec example framework in the library and return its version id."""
    text = (EXAMPLES / f"{name}.yaml").read_text()
    with app.app_context():
        row, _ = store_framework(load_framework_text(text), text, f"{name}.yaml")
        db.session.commit()
        return row.id


def make_scope(client, name="Payments") -> int:
    response = client.post("/scopes", data={"name": name, "kind": "team", "description": "Team"})
    assert response.status_code == 302
    return int(re.search(r"/scopes/(\d+)", response.headers["Location"]).group(1))


def start(client, scope_id: int, version: int, target: str = "", as_of: str = "2026-11-21") -> int:
    response = client.post(
        f"/scopes/{scope_id}/assessments", data={"framework_version": version, "target_level": target, "as_of": as_of}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/assessments/(\d+)/", response.headers["Location"]).group(1))


def autosave(client, assessment: int, rid: str, value: str, revision: int = 0, note: str = ""):
    return client.post(
        f"/assessments/{assessment}/answers/{rid}",
        data={"value": value, "note": note, "revision": str(revision)},
        headers={"X-Requested-With": "fetch"},
    )


def run_cli(app, *args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    """The real `assessment` console script on the test's instance and database (cheap Argon2id); `env`: more
    environment variables for it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    environ = {
        **os.environ,
        "ASSESSMENT_INSTANCE_PATH": app.instance_path,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ASSESSMENT_PASSWORD_TIME_COST": "1",
        "ASSESSMENT_PASSWORD_MEMORY_KIB": "64",
    }
    if app.config.get("S3_PREFIX"):  # under bin/with-stack: the same objects as the test's application
        environ["ASSESSMENT_S3_PREFIX"] = app.config["S3_PREFIX"]
    environ.update(env or {})
    script = Path(sys.executable).with_name("assessment")
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, input=stdin, env=environ, timeout=300, check=False
    )


def stored_keys(app) -> list[str]:
    """Every evidence file in the application's store, by key (`ab/abcdef...`), whichever the store: the
    folder's files (temporary ones too: a refused upload must leave none), or the objects under its S3 prefix."""
    from assessment.adapters.blobs import FolderBlobs
    from assessment.extensions import report_store

    blobs = report_store(app).evidence.blobs
    if isinstance(blobs, FolderBlobs):
        root = blobs.root
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []
    pages = (
        blobs.settings.client()
        .get_paginator("list_objects_v2")
        .paginate(Bucket=blobs.settings.bucket, Prefix=blobs.prefix)
    )
    return sorted(item["Key"][len(blobs.prefix) :] for page in pages for item in page.get("Contents", []))


def config_check(app, **env: str):
    """`assessment config check` on the test's instance with these environment variables set for it."""
    import os

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return run_cli(app, "config", "check")
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
