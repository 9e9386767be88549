"""Scale-out on the stack a larger installation uses (bin/with-stack: PostgreSQL, Redis, S3): two web servers
(`assessment run --no-worker`, each on its own port) and one `assessment worker`, all on one database and one
Redis queue. Evidence uploaded through one server downloads through the other, a report asked on one is
polled and downloaded on the other, and a worker killed in the middle of a report leaves the job to the next
worker, which finishes it (a second attempt), instead of leaving it running for ever."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.integration.job_worker import QUICK, Worker, wait_for
from tests.integration.test_serving import LAUNCH, ROOT, Server, _env, _signed_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgresql") or not os.environ.get("REDIS_URL"),
        reason="needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL): run it under bin/with-stack",
    ),
]


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """A database of its own beside the suite's, prepared by `assessment init` (the demo), and an instance
    folder both servers and the workers use (its secret key, trail key and, without S3, its evidence)."""
    server = make_url(os.environ["DATABASE_URL"])
    name = f"{server.database}_scale"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    folder = tmp_path_factory.mktemp("scale-instance")
    (folder / "database_url").write_text(server.set(database=name).render_as_string(hide_password=False))
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, "init"], cwd=ROOT, env=_env(folder), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    yield folder
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def stack(instance):
    """Server A, server B and a worker on one Redis queue of this module's own name."""
    queue = {"ASSESSMENT_JOBS_QUEUE_NAME": f"scale-{uuid.uuid4().hex[:8]}", **QUICK}
    a = Server(instance, "--no-worker", **queue)
    b = Server(instance, "--no-worker", **queue)
    workers: list[Worker] = []

    def start_worker(name: str) -> Worker:
        worker = Worker(_env(instance, **queue), instance / f"{name}.log")
        workers.append(worker)
        return worker

    start_worker("worker-1")
    yield a, b, start_worker, workers
    for worker in workers:
        worker.stop()
    a.stop()
    b.stop()


def _database(instance: Path):
    return create_engine((instance / "database_url").read_text())


def _one(instance: Path, sql: str, **params):
    engine = _database(instance)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).first()
    finally:
        engine.dispose()


def _post(server: Server, path: str, cookie: str, body: bytes, content_type: str):
    connection = server.connection()
    connection.request("POST", path, body=body, headers={"Cookie": cookie, "Content-Type": content_type})
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def _multipart(fields: dict[str, str], file_field: str, file_name: str, data: bytes) -> tuple[bytes, str]:
    boundary = f"----scale{secrets.token_hex(8)}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
        "Content-Type: text/plain\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _request_report(server: Server, cookie: str, token: str, assessment: int, kind: str) -> int:
    queued = _post(
        server,
        f"/assessments/{assessment}/reports/{kind}",
        cookie,
        urlencode({"csrf_token": token}).encode(),
        "application/x-www-form-urlencoded",
    )
    assert queued.status == 302, (queued.status, queued.body[:300])
    return int(re.search(r"/reports/(\d+)", queued.getheader("Location")).group(1))


def _status(server: Server, cookie: str, job: int) -> str:
    answer = server.get(f"/reports/{job}/status", headers={"Cookie": cookie})
    assert answer.status == 200, answer.status
    return re.search(rb'"status":\s*"(\w+)"', answer.body).group(1).decode()


def _draft(instance: Path) -> tuple[int, str]:
    row = _one(
        instance,
        "SELECT a.id, r.requirement_id FROM assessment a JOIN answer r ON r.assessment_id = a.id "
        "WHERE a.status = 'draft' ORDER BY a.id, r.requirement_id LIMIT 1",
    )
    return row[0], row[1]


def test_evidence_uploaded_through_one_server_downloads_through_the_other(stack, instance):
    a, b, _, _ = stack
    cookie_a, token_a = _signed_in(a)
    assessment, requirement = _draft(instance)
    content = f"pipeline evidence {secrets.token_hex(8)}\n".encode()
    body, content_type = _multipart(
        {"csrf_token": token_a, "title": "Scale-out evidence"}, "file", "scale.txt", content
    )
    uploaded = _post(a, f"/assessments/{assessment}/requirements/{requirement}/evidence", cookie_a, body, content_type)
    assert uploaded.status in (200, 302), (uploaded.status, uploaded.body[:500])
    evidence = _one(instance, "SELECT id FROM evidence WHERE title = 'Scale-out evidence' ORDER BY id DESC")[0]
    cookie_b, _ = _signed_in(b)
    downloaded = b.get(f"/evidence/{evidence}/download", headers={"Cookie": cookie_b})
    assert downloaded.status == 200 and downloaded.body == content


def test_a_report_asked_on_one_server_is_polled_and_downloaded_on_the_other(stack, instance):
    a, b, _, _ = stack
    cookie_a, token_a = _signed_in(a)
    cookie_b, _ = _signed_in(b)
    job = _request_report(a, cookie_a, token_a, 1, "pdf")
    state = wait_for(lambda: (s := _status(b, cookie_b, job)) in ("done", "failed") and s, seconds=180, every=0.3)
    assert state == "done", _one(instance, "SELECT status, message FROM report_job WHERE id = :j", j=job)
    assert _status(a, cookie_a, job) == "done"  # the same state on both
    pdf = b.get(f"/reports/{job}/download", headers={"Cookie": cookie_b})
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")
    # a resumed download through the production server: only the part asked for, from the object store too
    tail = a.get(f"/reports/{job}/download", headers={"Cookie": cookie_a, "Range": "bytes=-20"})
    assert tail.status == 206 and tail.body == pdf.body[-20:]


def test_a_worker_killed_in_the_middle_of_a_report_leaves_it_to_the_next_worker(stack, instance):
    a, b, start_worker, workers = stack
    cookie_a, _ = _signed_in(a)
    cookie_b, token_b = _signed_in(b)
    assessment, _ = _draft(instance)
    job = _request_report(b, cookie_b, token_b, assessment, "bundle")

    def running():
        row = _one(instance, "SELECT status, attempts, worker FROM report_job WHERE id = :j", j=job)
        return row if row[0] == "running" else None

    row = wait_for(running, seconds=120, every=0.02, what="the worker to start the report")
    assert row[1] == 1 and row[2]
    workers[0].kill()  # SIGKILL in the middle of the rendering: its lease is left to run out
    assert _status(a, cookie_a, job) == "running"
    start_worker("worker-2")
    state = wait_for(lambda: (s := _status(a, cookie_a, job)) in ("done", "failed") and s, seconds=180, every=0.3)
    row = _one(instance, "SELECT status, attempts, worker, message FROM report_job WHERE id = :j", j=job)
    assert state == "done" and row[1] == 2 and row[2] is None, (row, workers[1].output())
    bundle = b.get(f"/reports/{job}/download", headers={"Cookie": cookie_b})
    assert bundle.status == 200 and bundle.body[:2] == b"PK"
    admin_cookie, _ = _signed_in(a, "admin")  # the admin's page on either server shows it done after two attempts
    page = b.get("/admin/jobs", headers={"Cookie": admin_cookie}).body.decode()
    assert re.search(rf'<tr data-job="{job}" data-status="done">.*?<td class="num">2</td>', page, re.S)
