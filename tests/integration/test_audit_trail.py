"""The audit trail in the application: what it records, the page, and `assessment audit verify`
on the demo workspace, before and after a row is altered or deleted directly in the database."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import select, text

from assessment.extensions import db
from assessment.models import AuditEntry
from tests.integration.helpers import autosave, run_cli
from tests.integration.test_evidence import upload


def trail(app, **where) -> list[AuditEntry]:
    with app.app_context():
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, name) == value)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def test_changes_are_recorded_with_actor_object_before_and_after(app, client, as_user, devops):
    assessment, scope = devops
    client.post(f"/scopes/{scope}/members", data={"username": "alice"})
    alice = as_user("alice")
    assert autosave(alice, assessment, "CI-02", "some", note="first").status_code == 200
    assert autosave(alice, assessment, "CI-02", "most", revision=1, note="first").status_code == 200
    upload(alice, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline")
    saved = trail(app, action="answer.saved")
    assert [(e.actor, e.object_id) for e in saved] == [("alice", f"{assessment}/CI-02")] * 2
    assert json.loads(saved[0].after) == {"value": "some", "note": "first"} and saved[0].before is None
    assert json.loads(saved[1].before) == {"value": "some"} and json.loads(saved[1].after) == {"value": "most"}
    assert saved[1].assessment_id == assessment and saved[1].scope_id == scope
    (added,) = trail(app, action="evidence.added")
    assert json.loads(added.after)["name"] == "pipeline.yml" and len(json.loads(added.after)["sha256"]) == 64
    assert trail(app, action="evidence.linked")[0].object_id.startswith(f"{assessment}/CI-01/")
    # reading is recorded too: the evidence download
    with app.app_context():
        evidence_id = json.loads(trail(app, action="evidence.linked")[0].after)["evidence"]
    client.get(f"/evidence/{evidence_id}/download").close()
    (download,) = trail(app, action="evidence.downloaded")
    assert download.actor == "admin" and download.object_id == str(evidence_id)
    # status changes and scope membership
    alice.post(f"/assessments/{assessment}/submit")
    (submitted,) = trail(app, action="assessment.submitted")
    assert json.loads(submitted.before) == {"status": "draft"} and json.loads(submitted.after) == {
        "status": "submitted"
    }
    assert trail(app, action="scope.member_added")[0].actor == "admin"
    # a framework import (new content: the library itself outlives each test on PostgreSQL)
    from assessment.domain.loader import load_framework_text
    from assessment.services.library import store_framework
    from tests.conftest import EXAMPLES

    text = (EXAMPLES / "devops-delivery.yaml").read_text().replace('version: "2026.1"', 'version: "2099.audit"')
    with app.app_context():
        store_framework(load_framework_text(text), text, "devops-delivery.yaml")
        db.session.commit()
    (imported,) = [e for e in trail(app, action="framework.imported") if "2099.audit" in e.after]
    assert json.loads(imported.after)["framework"] == "devops-delivery"


def test_the_trail_page_filters_and_shows_each_person_only_theirs(app, client, as_user, devops):
    assessment, scope = devops
    client.post(f"/scopes/{scope}/members", data={"username": "alice"})
    autosave(as_user("alice"), assessment, "CI-02", "some")
    page = client.get("/audit?action=answer&actor=alice").get_data(as_text=True)
    assert "answer.saved" in page and f"{assessment}/CI-02" in page and "scope.member_added" not in page
    assert "answer.saved" in as_user("alice").get(f"/audit?assessment={assessment}").get_data(as_text=True)
    assert "answer.saved" in as_user("lead").get("/audit").get_data(as_text=True)
    for outsider in ("bob", "otto"):
        body = as_user(outsider).get("/audit").get_data(as_text=True)
        assert "answer.saved" not in body and "user.created" not in body, outsider
    assert "No entries match" in client.get("/audit?since=2999-01-01").get_data(as_text=True)
    assert client.get("/audit?since=yesterday").status_code == 400


def test_a_rolled_back_change_leaves_no_entry(app, client, devops):
    assessment, _ = devops
    before = len(trail(app))
    response = autosave(client, assessment, "CI-02", "not-a-value")
    assert response.status_code == 400 and len(trail(app)) == before


def test_writers_at_the_same_moment_take_turns_and_lose_nothing(app):
    """Three writers appending at once, as three people saving answers: every change and its entry
    land, and the chain holds (on SQLite the second writer used to take the same entry number and fail)."""
    from assessment.services import audit

    errors: list[str] = []
    start = threading.Barrier(3)

    def writer(n: int) -> None:
        with app.app_context():
            start.wait()
            for i in range(30):
                try:
                    audit.record("test.write", "thing", f"{n}-{i}")
                    time.sleep(0.001)  # the rest of the change, while its entry is pending
                    db.session.commit()
                except Exception as exc:
                    db.session.rollback()
                    errors.append(repr(exc)[:200])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(trail(app, action="test.write")) == 90
    with app.app_context():
        assert audit.verify().broken is None


@pytest.fixture
def demo(app):
    """The instance as `make run` leaves it: the library, the demo workspace and its users."""
    with app.app_context():  # the demo adds its people to an instance that has none
        db.session.execute(text("DELETE FROM user_account"))
        db.session.commit()
    result = run_cli(app, "init")
    assert result.returncode == 0, result.stderr
    assert "auditor" in result.stdout and "auditor-demo-pass" in result.stdout
    return app


@pytest.mark.slow
def test_audit_verify_passes_on_the_demo_and_names_an_altered_row(demo):
    intact = run_cli(demo, "audit", "verify")
    assert intact.returncode == 0 and "audit trail intact" in intact.stdout, intact.stderr
    target = trail(demo, action="answer.saved")[3]
    with demo.app_context():
        db.session.execute(
            text("UPDATE audit_entry SET after = :after WHERE id = :id"),
            {"after": '{"note":null,"value":"tampered"}', "id": target.id},
        )
        db.session.commit()
    broken = run_cli(demo, "audit", "verify")
    assert broken.returncode == 2 and not broken.stdout
    assert f"BROKEN at entry {target.seq} (row id {target.id})" in broken.stderr and "altered" in broken.stderr


@pytest.mark.slow
def test_audit_verify_names_a_deleted_row(demo):
    target = trail(demo)[10]
    with demo.app_context():
        db.session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": target.id})
        db.session.commit()
    broken = run_cli(demo, "audit", "verify")
    assert broken.returncode == 2 and f"entry {target.seq} missing" in broken.stderr
