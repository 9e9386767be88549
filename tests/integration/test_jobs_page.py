"""The admin's background jobs page lists queued, running, failed (with the reason) and done jobs with their
attempts, from the database every web process shares; only admins see it or its link."""

from __future__ import annotations

import datetime as dt
import re

from assessment.extensions import db
from assessment.models import ReportJob, utcnow
from tests.integration.conftest import sign_in_as


def _jobs(app, assessment: int) -> dict[str, int]:
    now = utcnow()
    rows = {
        "queued": ReportJob(status="queued"),
        "running": ReportJob(
            status="running",
            attempts=1,
            worker="host-a:4242:abc123",
            lease_until=now + dt.timedelta(minutes=1),
            started_at=now,
            progress=20,
            message="Rendering 8 requirements to PDF",
        ),
        "lost": ReportJob(
            status="running",
            attempts=2,
            worker="host-b:77:def456",
            lease_until=now - dt.timedelta(minutes=1),
            started_at=now - dt.timedelta(minutes=5),
        ),
        "failed": ReportJob(
            status="failed",
            attempts=3,
            message="The report took longer than its time limit of 600 s. (failed 3 times)",
            last_error="The report took longer than its time limit of 600 s.",
            finished_at=now,
        ),
        "done": ReportJob(status="done", attempts=2, progress=100, message="Ready", finished_at=now, last_error=None),
    }
    with app.app_context():
        for job in rows.values():
            job.assessment_id, job.kind, job.fingerprint, job.requested_by = assessment, "pdf", "f" * 64, "alice"
            db.session.add(job)
        db.session.commit()
        ids = {name: job.id for name, job in rows.items()}
        db.session.remove()
    return ids


def _row(page: str, job_id: int) -> str:
    return re.search(rf'<tr data-job="{job_id}".*?</tr>', page, re.S).group(0)


def test_the_jobs_page_shows_each_state_attempts_and_the_reason_of_a_failure(app, client, devops):
    assessment, _ = devops
    ids = _jobs(app, assessment)
    response = client.get("/admin/jobs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-status="queued"' in _row(page, ids["queued"])
    running = _row(page, ids["running"])
    assert "running (20%)" in running and "host-a:4242:abc123" in running and "worker lost" not in running
    assert "worker lost" in _row(page, ids["lost"])
    failed = _row(page, ids["failed"])
    assert '<td class="num">3</td>' in failed and "time limit of 600 s. (failed 3 times)" in failed
    assert "Ready" in _row(page, ids["done"])
    assert re.search(r'data-count="running"[^>]*>Running <span class="nav-count">2</span>', page)
    assert "SQLite" in page and "0 messages wait" in page  # nothing was put on the queue itself
    only_failed = client.get("/admin/jobs?status=failed").get_data(as_text=True)
    assert f'data-job="{ids["failed"]}"' in only_failed and f'data-job="{ids["done"]}"' not in only_failed
    nonsense = client.get("/admin/jobs?status=<script>").get_data(as_text=True)  # an unknown state: all of them
    assert f'data-job="{ids["done"]}"' in nonsense and "<script>" not in nonsense


def test_only_admins_see_the_jobs_page_linked_from_the_users_page(app, client):
    users = client.get("/users").get_data(as_text=True)
    assert re.search(r'<nav class="filters" aria-label="Administration">.*href="/admin/jobs"', users, re.S)
    assert 'aria-current="page">Background jobs' in client.get("/admin/jobs").get_data(as_text=True)
    lead = sign_in_as(app.test_client(), "lead")
    assert lead.get("/users").status_code == 403 and lead.get("/admin/jobs").status_code == 403
