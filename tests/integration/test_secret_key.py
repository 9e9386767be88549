"""The session key: none in the source, a random one per instance kept in `instance/secret_key`,
SECRET_KEY from the environment first, and a server that refuses a key known to be public."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from assessment import create_app
from assessment.config import PUBLIC_KEYS, TEST_KEYS, instance_secret_key
from assessment.extensions import db
from assessment.models import User

ROOT = Path(__file__).resolve().parents[2]


def keys_in_the_source() -> set[str]:
    """Every literal given to SECRET_KEY in the repository, and every key the source ever had."""
    found = set(PUBLIC_KEYS | TEST_KEYS)
    pattern = re.compile(r"""SECRET_KEY["']?\s*[:=]\s*["']([^"']+)["']""")
    for folder in ("assessment", "tests", "bench", "reports"):
        for path in (ROOT / folder).rglob("*.py"):
            found.update(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def signed_cookie(key: str, data: dict) -> str:
    """A session cookie exactly as Flask signs one with `key`."""
    signer = Flask("forger")
    signer.secret_key = key
    return signer.session_interface.get_signing_serializer(signer).dumps(data)


@pytest.fixture
def production(app, tmp_path, monkeypatch):
    """The application built as `assessment run` builds it: no test configuration, a fresh instance
    folder, the test's database (already migrated, with its people)."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("ASSESSMENT_INSTANCE_PATH", str(tmp_path / "production"))
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    built = create_app()
    yield built
    with built.app_context():
        db.session.remove()
        db.engine.dispose()


def test_no_key_lives_in_the_source():
    from assessment.config import Defaults

    assert not hasattr(Defaults, "SECRET_KEY")


def test_a_cookie_signed_with_any_key_of_the_source_signs_nobody_in(production):
    with production.app_context():
        admin = db.session.scalar(select(User.id).where(User.username == "admin"))
    keys = keys_in_the_source()
    assert "dev-only-change-me" in keys and "test" in keys
    for key in sorted(keys):
        client = production.test_client()
        client.set_cookie("session", signed_cookie(key, {"_user_id": str(admin), "_fresh": True}))
        response = client.get("/users")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), key
    assert production.secret_key not in keys


def test_the_instance_key_is_random_private_and_kept(production, tmp_path, monkeypatch):
    path = tmp_path / "production" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(production.secret_key) >= 32 and path.read_text().strip() == production.secret_key
    again = create_app()  # the next start reads the same key: sessions survive a restart
    assert again.secret_key == production.secret_key
    other = tmp_path / "other"
    monkeypatch.setenv("ASSESSMENT_INSTANCE_PATH", str(other))
    assert create_app().secret_key != production.secret_key  # every instance has its own
    with again.app_context():
        db.engine.dispose()


def test_processes_starting_at_once_agree_on_one_key(tmp_path):
    keys: list[str] = []
    start = threading.Barrier(8)

    def first_start():
        start.wait()
        keys.append(instance_secret_key(tmp_path))

    threads = [threading.Thread(target=first_start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left behind


def test_secret_key_from_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSESSMENT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "a long key kept in the operator's vault")
    assert create_app().secret_key == "a long key kept in the operator's vault"
    assert not (tmp_path / "secret_key").exists()


def test_a_key_file_others_can_read_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("ASSESSMENT_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "secret_key").write_text("k" * 40)
    os.chmod(tmp_path / "secret_key", 0o644)
    with pytest.raises(Exception, match="readable by other users"):
        create_app()


@pytest.mark.slow  # a console-script process or a timed race
@pytest.mark.parametrize("key", ["dev-only-change-me", "test"])
def test_a_server_refuses_to_start_with_a_public_key(tmp_path, key):
    env = {**os.environ, "ASSESSMENT_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": key}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'refused.db'}"
    script = Path(sys.executable).with_name("assessment")
    try:
        done = subprocess.run(
            [str(script), "run", "--port", "0"], capture_output=True, text=True, env=env, timeout=30, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server started with the public key {key!r}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: SECRET_KEY is a") and "Traceback" not in done.stderr
    assert not done.stdout


@pytest.mark.slow  # a console-script process or a timed race
def test_assessment_init_creates_the_instance_key(app):
    from tests.integration.helpers import run_cli

    done = run_cli(app, "init", "--no-demo")
    assert done.returncode == 0, done.stderr
    path = Path(app.instance_path) / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text()
    assert run_cli(app, "users", "list").returncode == 0 and path.read_text() == key  # kept
