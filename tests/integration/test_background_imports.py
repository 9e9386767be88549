"""Large imports and score snapshot refreshes run as background jobs (services/job_requests.py, adapters/data_jobs.py):
the request keeps the upload and queues the job; the job checks again who asked, imports, and settles."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from assessment.adapters import report_jobs
from assessment.extensions import db, report_store
from assessment.models import Assessment, AuditEntry, ReportJob, ScopeMember, ScoreSnapshot
from assessment.services import job_requests as job_svc
from tests.integration.helpers import example_version, make_scope, run_cli, start
from tests.integration.test_authorization import ANSWERS
from tests.integration.test_transfer import answer_everything, page_figures


def _post(client, scope: int, data: bytes, name: str = "answers.yaml"):
    return client.post(
        f"/scopes/{scope}/import", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def _upload_exists(app, job_id: int) -> bool:
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        return report_store(app).blobs.exists(job_svc.upload_key(job))


@pytest.fixture
def jobs_inline(app):
    """Imports above 0 bytes go to a job, run in the request once it commits (as a worker would run it)."""
    app.config["IMPORT_INLINE_BYTES"] = 0
    app.config["REPORTS_SYNC"] = True
    return app


def test_a_large_import_is_a_job_whose_page_opens_the_results_when_done(jobs_inline, client):
    app = jobs_inline
    example_version(app)
    scope = make_scope(client)
    response = _post(client, scope, ANSWERS)
    assert response.status_code == 302
    job_id = int(re.search(r"/imports/(\d+)$", response.headers["Location"]).group(1))
    page = client.get(f"/imports/{job_id}")
    assert page.status_code == 302
    new = int(re.search(r"/assessments/(\d+)/results", page.headers["Location"]).group(1))
    results = client.get(page.headers["Location"]).get_data(as_text=True)
    assert "Imported 1 answer(s) and 0 evidence file(s)." in results
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        assert (job.kind, job.status, job.assessment_id, job.scope_id, job.attempts) == (
            "import",
            "done",
            new,
            scope,
            1,
        )
        assert db.session.get(Assessment, new).scope_id == scope
        assert db.session.get(ScoreSnapshot, new) is not None  # scored for the dashboard by the job
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "assessment.imported")).one()
        assert entry.actor == "admin"  # the person who asked, not the worker
    assert not _upload_exists(app, job_id)  # read and gone
    assert client.get(f"/reports/{job_id}").status_code == 404  # an import's id names no report


def test_a_job_import_of_a_zip_with_evidence_gives_the_same_figures(jobs_inline, client):
    app = jobs_inline
    version = example_version(app)
    scope = make_scope(client)
    assessment = start(client, scope, version, target="3")
    answer_everything(client, assessment)
    data = client.get(f"/assessments/{assessment}/export.zip").data
    other = make_scope(client, "Second team")
    response = client.get(_post(client, other, data, "export.zip").headers["Location"])
    new = int(re.search(r"/assessments/(\d+)/results", response.headers["Location"]).group(1))
    with app.app_context():
        job = db.session.scalars(select(ReportJob).where(ReportJob.kind == "import")).one()
        assert job.message == "Imported 8 answer(s) and 1 evidence file(s)."  # the link is not a file
    assert page_figures(client, new) == page_figures(client, assessment)


def test_a_bad_upload_fails_its_job_with_the_reason_and_imports_nothing(jobs_inline, client):
    app = jobs_inline
    scope = make_scope(client)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Assessment))
    response = _post(client, scope, b"framework: nope\nversion: '1'\nanswers: {}\n")
    job_id = int(re.search(r"/imports/(\d+)$", response.headers["Location"]).group(1))
    page = client.get(f"/imports/{job_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Nothing was imported" in text and "nope" in text
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        assert (job.status, job.attempts) == ("failed", 1)  # a refused file is not tried again
        assert db.session.scalar(select(func.count()).select_from(Assessment)) == before
    assert not _upload_exists(app, job_id)


def test_an_upload_that_is_no_answers_file_is_refused_before_any_job(jobs_inline, client):
    app = jobs_inline
    scope = make_scope(client)
    response = _post(client, scope, b"MZ\x90\x00", "tool.exe")
    assert response.status_code == 422
    assert "Upload a .zip" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReportJob)) == 0


def test_the_job_checks_again_that_the_person_may_still_import(app, as_user, client):
    """Alice queues an import, then leaves the team before a worker takes it: nothing is imported."""
    app.config["IMPORT_INLINE_BYTES"] = 0
    example_version(app)
    scope = make_scope(client)
    assert client.post(f"/scopes/{scope}/members", data={"username": "alice"}).status_code in (302, 303)
    alice = as_user("alice")
    response = _post(alice, scope, ANSWERS)
    job_id = int(re.search(r"/imports/(\d+)$", response.headers["Location"]).group(1))
    assert alice.get(f"/imports/{job_id}").status_code == 200  # queued: no worker runs in this test
    with app.app_context():
        db.session.execute(ScopeMember.__table__.delete().where(ScopeMember.scope_id == scope))
        db.session.commit()
    report_jobs.run_job(app, job_id, report_store(app))
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        assert job.status == "failed" and "alice may no longer import into this scope" in job.message
        assert db.session.scalar(select(func.count()).select_from(Assessment).where(Assessment.scope_id == scope)) == 0
    assert alice.get(f"/imports/{job_id}").status_code == 404  # and she can no longer see it
    assert as_user("bob").get(f"/imports/{job_id}").status_code == 404


def test_the_admin_brings_every_snapshot_up_to_date_in_one_job(app, client):
    version = example_version(app)
    scopes = [make_scope(client, f"Team {n}") for n in range(3)]
    assessments = [start(client, scope, version, target="3") for scope in scopes]
    with app.app_context():
        db.session.execute(ScoreSnapshot.__table__.delete())
        db.session.commit()
    assert client.post("/admin/jobs/snapshots").status_code == 302
    assert client.post("/admin/jobs/snapshots").status_code == 302  # the one waiting is reused
    with app.app_context():
        waiting = db.session.scalars(select(ReportJob).where(ReportJob.kind == "snapshots")).all()
        assert [(j.status, j.scope_id) for j in waiting] == [("queued", None)]
        job_id = waiting[0].id
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "Score snapshots · every scope" in page
    report_jobs.run_job(app, job_id, report_store(app))
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        assert job.status == "done" and job.message == "The score snapshots of 3 assessment(s) are up to date."
        stored = set(db.session.scalars(select(ScoreSnapshot.assessment_id)))
        assert set(assessments) <= stored


def test_the_command_refreshes_one_scopes_snapshots_now_or_queues_a_job(app, client):
    version = example_version(app)
    scope = make_scope(client)
    assessment = start(client, scope, version, target="3")
    with app.app_context():
        db.session.execute(ScoreSnapshot.__table__.delete())
        db.session.commit()
    done = run_cli(app, "snapshots", "refresh", "--scope", str(scope), "--now")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("done: The score snapshots of 1 assessment(s) are up to date.")
    queued = run_cli(app, "snapshots", "refresh")
    assert queued.returncode == 0 and queued.stdout.strip().endswith("queued"), queued
    missing = run_cli(app, "snapshots", "refresh", "--scope", "999999")
    assert missing.returncode == 2 and "No scope has the id 999999" in missing.stderr
    with app.app_context():
        assert db.session.get(ScoreSnapshot, assessment) is not None
        kinds = [(j.scope_id, j.status) for j in db.session.scalars(select(ReportJob).order_by(ReportJob.id))]
        assert kinds == [(scope, "done"), (None, "queued")]


def test_an_import_that_runs_past_its_time_limit_stores_nothing(app, client, monkeypatch):
    """The limit holds inside the import's longest step: work that ends after it is not committed."""
    import time

    from assessment.adapters import data_jobs

    app.config["IMPORT_INLINE_BYTES"] = 0
    app.config["REPORT_JOB_TIMEOUT_SECONDS"] = 0.5
    app.config["JOB_MAX_ATTEMPTS"] = 1
    example_version(app)
    scope = make_scope(client)
    job_id = int(re.search(r"/imports/(\d+)$", _post(client, scope, ANSWERS).headers["Location"]).group(1))
    imported = data_jobs.transfer.import_upload

    def slow_import(*args, **kwargs):
        result = imported(*args, **kwargs)
        time.sleep(0.8)  # the import itself outlasts the limit
        return result

    monkeypatch.setattr(data_jobs.transfer, "import_upload", slow_import)
    report_jobs.run_job(app, job_id, report_store(app))
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        assert job.status == "failed" and "took longer than its time limit of 0.5 s" in job.message, job.message
        assert db.session.scalar(select(func.count()).select_from(Assessment).where(Assessment.scope_id == scope)) == 0
