"""Uploading a delivery events file: the request queues a job, the job checks every line against what
the scope keeps and stores all of the events or none, and its page shows the outcome."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from assessment.extensions import db, report_store
from assessment.models import AuditEntry, DeliveryEvent, ReportJob, Scope
from assessment.services import delivery, review
from assessment.services import job_requests as job_svc
from tests.conftest import EXAMPLES
from tests.integration.conftest import sign_in_as
from tests.integration.helpers import make_scope

EXAMPLE = EXAMPLES / "delivery" / "checkout.events.jsonl"


@pytest.fixture
def world(app, client):
    """A scope of alice's team and a second scope; jobs run once the request commits, as a worker would."""
    app.config["REPORTS_SYNC"] = True
    scope_id = make_scope(client, "Payments")
    other = make_scope(client, "Other")
    with app.app_context():
        review.add_member(db.session.get(Scope, scope_id), "alice")
        db.session.commit()
    return scope_id, other


def _post(client, scope_id: int, data: bytes | None, name: str = "events.jsonl"):
    form = {} if data is None else {"events": (io.BytesIO(data), name)}
    return client.post(f"/scopes/{scope_id}/delivery/events", data=form, content_type="multipart/form-data")


def _stored(app, scope_id: int) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count(DeliveryEvent.id)).where(DeliveryEvent.scope_id == scope_id))
        db.session.remove()
    return count


def _job(app, job_id: int) -> ReportJob:
    with app.app_context():
        job = db.session.get(ReportJob, job_id)
        db.session.expunge(job)
        db.session.remove()
    return job


def test_the_spec_example_uploaded_is_stored_and_its_job_opens_the_delivery_data(app, world):
    scope_id, _other = world
    alice = sign_in_as(app.test_client(), "alice")
    lines = [line for line in EXAMPLE.read_text().splitlines() if line.strip()]
    response = _post(alice, scope_id, EXAMPLE.read_bytes(), "checkout.events.jsonl")
    assert response.status_code == 303
    job_url = response.headers["Location"]
    assert job_url.startswith("/delivery/jobs/")
    job_id = int(job_url.rsplit("/", 1)[1])
    assert _job(app, job_id).status == "done"
    assert _stored(app, scope_id) == len(lines)
    done = alice.get(job_url)
    assert done.status_code == 302 and done.headers["Location"] == f"/scopes/{scope_id}/delivery"
    page = alice.get(f"/scopes/{scope_id}/delivery").get_data(as_text=True)
    assert f"checkout.events.jsonl: {len(lines)} events added." in page
    with app.app_context():  # the upload is gone from the store once read; one trail entry says who added what
        assert not report_store(app).blobs.exists(job_svc.upload_key(db.session.get(ReportJob, job_id)))
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "delivery_events_added").order_by(AuditEntry.id.desc())
        ).first()
        assert entry.actor == "alice" and json.loads(entry.after)["source"] == "upload"
        db.session.remove()
    # the same file again adds nothing
    again = _post(alice, scope_id, EXAMPLE.read_bytes(), "checkout.events.jsonl")
    assert "already stored" in _job(app, int(again.headers["Location"].rsplit("/", 1)[1])).message
    assert _stored(app, scope_id) == len(lines)


def test_a_file_with_bad_lines_stores_nothing_and_its_page_names_every_line(app, world):
    scope_id, _other = world
    alice = sign_in_as(app.test_client(), "alice")
    good = '{"type":"change","id":"c1","service":"api","time":"2026-11-20T10:00:00Z"}'
    bad = "\n".join(
        [
            good,
            "not json",
            '{"type":"change","id":"c2","service":"api","time":"2026-11-20T10:00:00"}',
            '{"type":"deployment","id":"d1","service":"api","time":"2026-11-21T10:00:00Z","changes":["nope"]}',
            '{"type":"change","id":"c3","service":"api","time":"2026-11-20T10:00:00Z","colour":"red"}',
        ]
    ).encode()
    response = _post(alice, scope_id, bad)
    job_url = response.headers["Location"]
    job = _job(app, int(job_url.rsplit("/", 1)[1]))
    assert job.status == "failed"
    assert _stored(app, scope_id) == 0
    page = alice.get(job_url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Nothing was stored: 4 problem(s) in events.jsonl." in text
    for line in (2, 3, 4, 5):
        assert f"events.jsonl:{line}:" in text
    assert 'data-status="failed"' in text and "Upload a corrected file" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "Choose a JSON Lines file of delivery events to upload."),
        (b"", "The file is empty"),
    ],
)
def test_no_file_or_an_empty_one_is_refused_at_once(app, world, data, message):
    scope_id, _other = world
    alice = sign_in_as(app.test_client(), "alice")
    response = _post(alice, scope_id, data)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert message in text and 'name="events"' in text  # the form again, the message beside its field
    with app.app_context():
        assert db.session.scalar(select(func.count(ReportJob.id)).where(ReportJob.kind == "events")) == 0


def test_an_oversized_file_is_refused_before_a_job_is_made(app, world, monkeypatch):
    scope_id, _other = world
    monkeypatch.setattr(delivery, "MAX_FILE_BYTES", 100)
    response = _post(sign_in_as(app.test_client(), "alice"), scope_id, b"x" * 101)
    assert response.status_code == 422 and "larger than" in response.get_data(as_text=True)
    assert _stored(app, scope_id) == 0


def test_a_hostile_file_name_is_kept_safe(app, world):
    scope_id, _other = world
    alice = sign_in_as(app.test_client(), "alice")
    line = b'{"type":"change","id":"c1","service":"api","time":"2026-11-20T10:00:00Z"}\n'
    response = _post(alice, scope_id, line, "../../<script>x</script>.jsonl")
    job = _job(app, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert "/" not in job.upload_name and "<" not in job.upload_name
    assert job.status == "done"


def test_people_outside_the_scope_team_cannot_upload_or_see_the_job(app, world):
    scope_id, other = world
    alice = sign_in_as(app.test_client(), "alice")
    line = b'{"type":"change","id":"c1","service":"api","time":"2026-11-20T10:00:00Z"}\n'
    assert _post(alice, other, line).status_code in (403, 404)  # not alice's scope
    assert _stored(app, other) == 0
    job_url = _post(alice, scope_id, line).headers["Location"]
    bob = sign_in_as(app.test_client(), "bob")
    assert bob.get(job_url).status_code in (403, 404)
    assert app.test_client().get(job_url).status_code in (302, 401)  # not signed in: to the sign-in page


def test_the_delivery_page_offers_the_upload_and_each_webhook_with_the_scopes_secret(app, world):
    from assessment.services.delivery_hooks import webhook_secret

    scope_id, _other = world
    page = sign_in_as(app.test_client(), "alice").get(f"/scopes/{scope_id}/delivery").get_data(as_text=True)
    assert f'action="/scopes/{scope_id}/delivery/events"' in page and 'name="events"' in page
    assert f"/hooks/github/{scope_id}" in page and f"/hooks/gitlab/{scope_id}" in page
    assert webhook_secret(app, scope_id) in page
