"""`assessment worker` processes take report jobs queued through the web from the real queue (the instance's
SQLite file here; Redis in the scale-out test), try a failing job up to the limit and then fail it with the
reason, and finish a job whose worker was killed in the middle of it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from assessment.extensions import db
from assessment.models import ReportJob
from tests.integration.helpers import autosave
from tests.integration.job_worker import Worker, wait_for

pytestmark = pytest.mark.slow  # worker processes and PDF rendering


@pytest.fixture
def queued(app):
    app.config["REPORTS_SYNC"] = False
    return app


def request(client, assessment: int, kind: str = "pdf") -> int:
    response = client.post(f"/assessments/{assessment}/reports/{kind}")
    assert response.status_code == 302
    return int(re.search(r"/reports/(\d+)", response.headers["Location"]).group(1))


def job_row(app, job_id: int) -> dict:
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        row = {
            name: getattr(job, name)
            for name in ("status", "attempts", "worker", "lease_until", "message", "last_error", "progress")
        }
        db.session.remove()
    return row


def settled(app, job_id: int):
    row = job_row(app, job_id)
    return row if row["status"] in ("done", "failed") else None


def test_a_report_queued_on_the_web_is_rendered_by_a_worker_process(app, client, devops, queued):
    assessment, _ = devops
    autosave(client, assessment, "CI-01", "yes")
    job = request(client, assessment)
    assert job_row(app, job)["status"] == "queued"
    worker = Worker.for_app(app)
    try:
        row = wait_for(lambda: settled(app, job), what="the job to finish")
    finally:
        assert worker.stop() == 0, worker.output()
    assert row["status"] == "done", (row, worker.output())
    assert row["attempts"] == 1 and row["worker"] is None and row["lease_until"] is None
    status = client.get(f"/reports/{job}/status").json
    assert status["status"] == "done"
    assert client.get(status["download"]).data.startswith(b"%PDF")


def test_a_failing_job_is_tried_up_to_the_limit_then_fails_with_the_reason(app, client, devops, queued):
    assessment, _ = devops
    unwritable = {}
    if app.config.get("S3_BUCKET"):  # under bin/with-stack the reports go to the bucket: the worker gets none
        unwritable["ASSESSMENT_S3_BUCKET"] = f"no-such-bucket-{uuid.uuid4().hex[:12]}"
    else:
        reports = Path(app.instance_path) / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        reports.rmdir()
        reports.write_text("a file where the report folder should be\n")  # every write of the PDF fails, even as root
    job = request(client, assessment)
    worker = Worker.for_app(app, ASSESSMENT_JOB_MAX_ATTEMPTS="2", **unwritable)
    try:
        row = wait_for(lambda: settled(app, job), seconds=180, what="the job to fail")
    finally:
        worker.stop()
    assert row["status"] == "failed" and row["attempts"] == 2, (row, worker.output())
    assert row["message"].startswith("The report could not be rendered because of an unexpected error")
    assert "(failed 2 times)" in row["message"] and row["last_error"]
    page = client.get(f"/reports/{job}").get_data(as_text=True)
    assert "failed 2 times" in page and "Try again" in page
    assert worker.output().count(f"Report job {job} failed") == 2


def test_a_killed_workers_job_is_finished_by_the_next_worker(app, client, devops, queued):
    assessment, _ = devops
    job = request(client, assessment, "bundle")
    first = Worker.for_app(app, "first")
    try:
        wait_for(lambda: job_row(app, job)["status"] == "running", every=0.02, what="the job to start")
        first.kill()  # in the middle of the rendering: its lease is left to run out
    finally:
        first.kill()
    row = job_row(app, job)
    assert row["status"] == "running" and row["attempts"] == 1 and row["worker"], row
    second = Worker.for_app(app, "second")
    try:
        row = wait_for(lambda: settled(app, job), seconds=180, what="the second worker to finish the job")
    finally:
        second.stop()
    assert row["status"] == "done" and row["attempts"] == 2, (row, second.output())
    assert "lost its worker; queued again" in second.output()
    assert client.get(f"/reports/{job}/download").data[:2] == b"PK"


def test_a_stopped_worker_gives_its_job_back_without_counting_the_attempt(app, client, devops, queued):
    assessment, _ = devops
    job = request(client, assessment)
    first = Worker.for_app(app, "first")
    try:
        wait_for(lambda: job_row(app, job)["status"] == "running", every=0.02, what="the job to start")
    finally:
        assert first.stop() == 0, first.output()
    row = job_row(app, job)
    if row["status"] == "done":  # it finished before SIGTERM arrived: nothing to give back
        pytest.skip("the report rendered before the worker was stopped")
    assert row["status"] == "queued" and row["attempts"] == 0 and row["message"] == "The worker stopped; queued again."
    second = Worker.for_app(app, "second")
    try:
        row = wait_for(lambda: settled(app, job), seconds=180, what="the next worker to finish the job")
    finally:
        second.stop()
    assert row["status"] == "done" and row["attempts"] == 1, (row, second.output())


def test_a_job_whose_message_was_lost_is_queued_again_by_the_next_worker_to_start(app, client, devops, queued):
    assessment, _ = devops
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there: the message cannot be sent
    job = request(client, assessment)  # the request still answers: the job is committed, waiting
    assert job_row(app, job)["status"] == "queued"
    assert "Waiting for the renderer" in client.get(f"/reports/{job}").get_data(as_text=True)
    app.config["REDIS_URL"] = None
    worker = Worker.for_app(app)  # on the instance's queue file, where no message for the job ever was
    try:
        row = wait_for(lambda: settled(app, job), what="the job to finish")
    finally:
        worker.stop()
    assert row["status"] == "done" and row["attempts"] == 1, (row, worker.output())


def test_a_large_import_and_a_snapshot_refresh_are_done_by_a_worker_process(app, client, devops, queued):
    """The import's upload reaches the worker through the store, and its assessment is the job's."""
    import io

    from assessment.models import Assessment

    _, scope = devops
    app.config["IMPORT_INLINE_BYTES"] = 0
    answers = b'framework: devops-delivery\nversion: "2026.1"\nas_of: 2026-11-21\nanswers:\n  CI-01:\n    value: yes\n'
    response = client.post(
        f"/scopes/{scope}/import", data={"file": (io.BytesIO(answers), "a.yaml")}, content_type="multipart/form-data"
    )
    job = int(re.search(r"/imports/(\d+)$", response.headers["Location"]).group(1))
    assert client.post("/admin/jobs/snapshots").status_code == 302
    worker = Worker.for_app(app)
    try:
        row = wait_for(lambda: settled(app, job), what="the import to finish")
        refresh = wait_for(lambda: settled(app, job + 1), what="the snapshot refresh to finish")
    finally:
        assert worker.stop() == 0, worker.output()
    assert row["status"] == "done" and row["message"] == "Imported 1 answer(s) and 0 evidence file(s).", row
    assert refresh["status"] == "done", refresh
    results = client.get(f"/imports/{job}")
    assert results.status_code == 302
    with app.app_context():
        made = db.session.get(ReportJob, job).assessment_id
        assert db.session.get(Assessment, made).scope_id == scope


def test_a_report_attempt_out_of_time_stops_while_it_renders(app, devops):
    # The attempt's time limit holds inside its rendering step: the render is stopped, and the job is told
    # JobTimedOut (its failure reads "took longer than its time limit"), rather than finishing the PDF first.
    import time

    from assessment.adapters import report_jobs
    from assessment.extensions import report_store
    from assessment.services.assessments import get_assessment
    from assessment.services.reports import report_for

    assessment, _ = devops
    store = report_store(app)
    with app.app_context():
        report = report_for(get_assessment(assessment), store.evidence, **store.facts())
        with pytest.raises(report_jobs.JobTimedOut):
            report_jobs._render(report, store, deadline=time.monotonic())
        rendered, pdf = report_jobs._render(report, store, deadline=time.monotonic() + 120)
        assert pdf.startswith(b"%PDF") and rendered.id == report.id
