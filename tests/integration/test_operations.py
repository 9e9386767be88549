"""Operations: /healthz, /readyz, /metrics, JSON logs with a request id (SQLite, and PostgreSQL in CI)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assessment import create_app
from assessment.extensions import db
from assessment.models import ReportJob
from tests.integration.conftest import _config
from tests.integration.helpers import config_check

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-the-tests"


def _another(app, **changes):
    """Another application on the same database, instance folder and stores, with some settings changed."""
    config = _config(Path(app.instance_path), app.config["SQLALCHEMY_DATABASE_URI"])
    return create_app({**config, "S3_PREFIX": app.config.get("S3_PREFIX"), **changes})


# --- /healthz ---------------------------------------------------------------------------------------------


def test_healthz_answers_json_without_session_or_database(app):
    broken = _another(app, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:9/none")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers


# --- /readyz ----------------------------------------------------------------------------------------------


def test_readyz_is_ok_when_every_dependency_is(app, anonymous):
    response = anonymous.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["storage"] == {"ok": True}
    assert body["checks"]["queue"] == {"ok": True, "kind": "sqlite", "depth": 0}
    assert "Set-Cookie" not in response.headers


def test_readyz_names_an_unreachable_queue_without_its_url(app):
    broken = _another(app, REDIS_URL="redis://queueuser:hunter2@127.0.0.1:9/0")
    response = broken.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503 and body["failed"] == ["queue"], body
    assert body["checks"]["queue"] == {
        "ok": False,
        "kind": "redis",
        "error": "cannot reach the queue (ConnectionError)",
    }
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "queueuser" not in text and "127.0.0.1" not in text


def test_readyz_fails_when_the_queue_file_cannot_be_written(app, tmp_path):
    instance = tmp_path / "instance"
    (instance / "queue.db").mkdir(parents=True)  # a folder where the queue's file should be: no write succeeds
    broken = _another(app, INSTANCE_PATH=str(instance))
    body = broken.test_client().get("/readyz").get_json()
    assert body["failed"] == ["queue"] and body["checks"]["queue"]["kind"] == "sqlite", body
    assert str(instance) not in str(body)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server (REDIS_URL, bin/with-stack)")
def test_readyz_pings_the_redis_queue(app):
    served = _another(app, REDIS_URL=os.environ["REDIS_URL"], JOBS_QUEUE_NAME=f"readyz-{os.getpid()}")
    body = served.test_client().get("/readyz").get_json()
    assert body["checks"]["queue"] == {"ok": True, "kind": "redis", "depth": 0}, body


def test_readyz_names_an_unreachable_database_without_its_url(app):
    url = "postgresql+psycopg://secretuser:hunter2@127.0.0.1:9/none"
    broken = _another(app, SQLALCHEMY_DATABASE_URI=url)
    response = broken.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503 and body["failed"] == ["database"], body
    assert body["checks"]["database"]["ok"] is False and body["checks"]["storage"]["ok"] is True
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "secretuser" not in text and "127.0.0.1" not in text


def test_readyz_does_not_wait_longer_than_its_timeout_for_the_database(app, anonymous, monkeypatch):
    import time

    from assessment.adapters import readiness

    monkeypatch.setattr(readiness, "_select_one", lambda _app: time.sleep(1.5))
    app.config["READYZ_TIMEOUT_SECONDS"] = 0.2
    started = time.perf_counter()
    response = anonymous.get("/readyz")
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == {"ok": False, "error": "no answer within 0.2 s"}


def test_readyz_names_a_storage_folder_that_takes_no_file(app, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the evidence folder should be")
    broken = _another(app, EVIDENCE_DIR=str(blocked), S3_BUCKET=None)  # the folders, even under bin/with-stack
    response = broken.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503 and body["failed"] == ["storage"], body
    assert "evidence folder" in body["checks"]["storage"]["error"]
    assert str(tmp_path) not in response.get_data(as_text=True)


# --- request ids and JSON logs ----------------------------------------------------------------------------


def _records(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_json_logs_carry_the_request_id_and_the_request(app, capsys):
    logged = _another(app, LOG_FORMAT="json")
    try:
        from tests.integration.conftest import sign_in_as

        client = sign_in_as(logged.test_client(), "lead")
        capsys.readouterr()
        response = client.get("/", headers={"X-Request-ID": "trace-0123456789"})
        assert response.status_code == 200
        assert response.headers["X-Request-ID"] == "trace-0123456789"
        with logged.test_request_context("/"):
            from flask import g

            g.request_id = "trace-inside"
            logged.logger.warning("something the view said")
        records = _records(capsys.readouterr().err)
        request = [r for r in records if r["logger"] == "assessment.request"]
        assert len(request) == 1, records
        assert request[0]["request_id"] == "trace-0123456789"
        assert request[0]["method"] == "GET" and request[0]["path"] == "/" and request[0]["status"] == 200
        assert request[0]["user"] == "lead" and isinstance(request[0]["duration_ms"], float)
        said = [r for r in records if r["message"] == "something the view said"]
        assert said and said[0]["request_id"] == "trace-inside" and said[0]["level"] == "WARNING"
    finally:
        _another(app)  # puts the default text logging back


@pytest.mark.parametrize("sent", [None, "short", "has spaces in it and more", "x" * 200, "<script>alert(1)</script>"])
def test_a_missing_or_malformed_request_id_is_replaced(anonymous, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    given = anonymous.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert given != sent and re.fullmatch(r"[0-9a-f]{32}", given)
    assert anonymous.get("/healthz").headers["X-Request-ID"] != given  # one per request


def test_text_logs_stay_the_default(app, anonymous, capsys):
    capsys.readouterr()
    anonymous.get("/healthz")
    assert not _records(capsys.readouterr().err)


# --- /metrics ---------------------------------------------------------------------------------------------


@pytest.fixture
def metered(app):
    app.config["METRICS_TOKEN"] = TOKEN
    return app


def _scrape(client) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    return response.get_data(as_text=True)


def test_metrics_are_off_without_a_token(anonymous):
    assert anonymous.get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_refuse_anyone_without_the_token(metered, anonymous, as_user, header):
    headers = {} if header is None else {"Authorization": header}
    for client in (anonymous, as_user("admin")):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401 and "assessment_" not in response.get_data(as_text=True)


def test_metrics_count_requests_by_route_not_path(metered, client, devops):
    assessment, _ = devops
    client.get(f"/assessments/{assessment}/results")
    client.get("/assessments/999999/results")
    text = _scrape(metered.test_client())
    assert 'route="/assessments/<int:assessment_id>/results"' in text
    assert f"/assessments/{assessment}/" not in text and "/assessments/999999" not in text
    assert re.search(
        r'assessment_http_request_duration_seconds_count\{method="GET",route="/assessments/<int:assessment_id>/results",'
        r'status="404"\} [1-9]',
        text,
    )


def test_metrics_show_the_queue_depth_from_the_job_table(metered, client, devops):
    assessment, _ = devops
    with metered.app_context():
        for status in ("queued", "queued", "running", "failed"):
            db.session.add(
                ReportJob(assessment_id=assessment, kind="pdf", fingerprint="f" * 64, status=status, requested_by="t")
            )
        db.session.commit()
        db.session.remove()
    text = _scrape(metered.test_client())
    assert 'assessment_report_jobs{state="queued"} 2.0' in text
    assert 'assessment_report_jobs{state="running"} 1.0' in text
    assert 'assessment_report_jobs{state="done"} 0.0' in text
    assert "assessment_job_queue_messages 0.0" in text  # the rows were added without messages on the queue


def test_metrics_are_served_while_the_database_is_down(app):
    broken = _another(app, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:9/none", METRICS_TOKEN=TOKEN)
    broken.test_client().get("/healthz")
    text = _scrape(broken.test_client())
    assert "assessment_http_request_duration_seconds_count" in text and "assessment_report_jobs{" not in text


@pytest.mark.slow
def test_metrics_observe_a_finished_job_duration(metered, client, devops):
    before = _count(_scrape(metered.test_client()))
    metered.config["REPORTS_SYNC"] = True
    assessment, _ = devops
    response = client.post(f"/assessments/{assessment}/reports/pdf")
    assert response.status_code == 302
    text = _scrape(metered.test_client())
    assert _count(text) == before + 1
    assert 'assessment_report_job_duration_seconds_bucket{kind="pdf",le="0.5",outcome="done"}' in text


def _count(text: str) -> float:
    found = re.search(r'assessment_report_job_duration_seconds_count\{kind="pdf",outcome="done"\} ([0-9.]+)', text)
    return float(found.group(1)) if found else 0.0


_WORKER = """
import sys
from assessment import create_app
app = create_app({"TESTING": True, "INSTANCE_PATH": sys.argv[1], "SECRET_KEY": "test",
                  "SQLALCHEMY_DATABASE_URI": sys.argv[2], "METRICS_TOKEN": "t"})
client = app.test_client()
for _ in range(int(sys.argv[3])):
    client.get("/healthz")
if sys.argv[4] == "scrape":
    print(client.get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True))
"""


@pytest.mark.slow
def test_metrics_add_up_every_worker_process(app, tmp_path):
    """Two processes (as two gunicorn workers) count into PROMETHEUS_MULTIPROC_DIR; either one's scrape shows both."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(ROOT)}
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    def worker(count: int, then: str) -> str:
        args = [sys.executable, "-c", _WORKER, app.instance_path, url, str(count), then]
        return subprocess.run(args, env=env, capture_output=True, text=True, check=True, timeout=120).stdout

    worker(3, "exit")
    text = worker(2, "scrape")
    assert re.search(
        r'assessment_http_request_duration_seconds_count\{method="GET",route="/healthz",status="200"\} 5\.0', text
    ), text


# --- assessment config check ------------------------------------------------------------------------------


def _demo_accounts(app, *names: str, disabled: str | None = None):
    from assessment.services import accounts, audit

    with app.app_context(), audit.acting_as("test-setup"):
        for name in names:
            user = accounts.create_user(name, name.title(), "member", f"{name}-demo-pass")
            user.disabled = name == disabled
        db.session.commit()
        db.session.remove()


@pytest.mark.slow
def test_config_check_warns_of_public_demo_passwords_and_sqlite_workers(app):
    _demo_accounts(app, "team", "auditor", disabled="auditor")
    done = config_check(app, ASSESSMENT_METRICS_TOKEN="scrape-me-please-42", WEB_CONCURRENCY="3")
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert re.search(r"^METRICS_TOKEN +\*\*\*\*42 +environment$", out, re.M), out
    assert "scrape-me-please" not in out
    key = (Path(app.instance_path) / "secret_key").read_text().strip()
    assert re.search(rf"^SECRET_KEY +\*\*\*\*{re.escape(key[-2:])} +instance/secret_key$", out, re.M), out
    assert key[:-2] not in out
    assert re.search(r"^STALE_AFTER_DAYS +180 +default$", out, re.M)
    assert "warning: the demo account(s) team still sign in" in out  # auditor is disabled
    assert "warning: no TLS settings" in out
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert "warning: SQLite with 3 web workers" in out
    else:
        assert "SQLite" not in out.split("\n\n")[-1]


@pytest.mark.slow
def test_config_check_passes_a_safe_configuration(app):
    done = config_check(app, ASSESSMENT_TRUSTED_PROXIES="1", WEB_CONCURRENCY="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("no warnings")
    assert re.search(r"^TRUSTED_PROXIES +1 +environment$", done.stdout, re.M)
