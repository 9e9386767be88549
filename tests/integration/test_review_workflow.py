"""The review workflow (draft → submitted → approved, or returned with comments), the lock on an
approved assessment, auditors' findings, and a team member trying other teams' ids."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import Answer, Assessment, BacklogItem, Evidence, EvidenceLink, ReviewFinding
from tests.integration.helpers import autosave, make_scope
from tests.integration.test_evidence import upload


def state(app, assessment: int) -> tuple:
    """Everything a change to the assessment's answers, evidence or status would touch."""
    with app.app_context():
        row = db.session.get(Assessment, assessment)
        answers = db.session.execute(
            select(Answer.requirement_id, Answer.value, Answer.note, Answer.revision)
            .where(Answer.assessment_id == assessment)
            .order_by(Answer.requirement_id)
        ).all()
        links = db.session.execute(
            select(EvidenceLink.requirement_id, EvidenceLink.evidence_id)
            .where(EvidenceLink.assessment_id == assessment)
            .order_by(EvidenceLink.id)
        ).all()
        evidence = db.session.scalar(select(func.count()).select_from(Evidence))
        result = (row.status, row.approved_by, row.updated_at, tuple(answers), tuple(links), evidence)
        db.session.remove()
        return result


@pytest.fixture
def team(app, client, devops):
    """alice is on the devops assessment's team; it has an answer and a file."""
    assessment, scope = devops
    client.post(f"/scopes/{scope}/members", data={"username": "alice"})
    assert autosave(client, assessment, "CI-01", "yes").status_code == 200
    assert (
        upload(client, assessment, "CI-01", b"stages: [build]\n", "pipeline.yml", title="Pipeline").status_code == 302
    )
    return assessment, scope


def test_submit_return_resubmit_approve(app, as_user, team):
    assessment, _ = team
    alice, lead = as_user("alice"), as_user("lead")
    assert alice.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    assert state(app, assessment)[0] == "submitted"
    # returning needs a comment, which the team then sees
    assert lead.post(f"/assessments/{assessment}/return", data={"confirm": "1", "comment": " "}).status_code == 422
    assert (
        lead.post(
            f"/assessments/{assessment}/return", data={"confirm": "1", "comment": "Attach the Q3 review"}
        ).status_code
        == 302
    )
    page = alice.get(f"/assessments/{assessment}/results").get_data(as_text=True)
    assert "Returned for changes: Attach the Q3 review" in page
    assert autosave(alice, assessment, "CI-02", "most").status_code == 200
    assert alice.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    assert lead.post(f"/assessments/{assessment}/approve", data={"confirm": "1"}).status_code == 302
    status, approver, *_ = state(app, assessment)
    assert (status, approver) == ("approved", "lead")
    page = alice.get(f"/assessments/{assessment}/results").get_data(as_text=True)
    assert "Approved by <strong>lead</strong>" in page


def test_the_submitter_cannot_approve(app, client, team):
    assessment, _ = team
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    response = client.post(f"/assessments/{assessment}/approve", data={"confirm": "1"})
    assert response.status_code == 403 and "separation of duties" in response.get_data(as_text=True)
    assert state(app, assessment)[0] == "submitted"


def _attempts(assessment: int, evidence_id: int):
    """Every request that would change an assessment's answers, evidence or status."""
    return [
        ("POST", f"/assessments/{assessment}/answers/CI-02", {"value": "all", "revision": "0"}),
        ("POST", f"/assessments/{assessment}/domains/0", {"CI-01": "no", "rev/CI-01": "1"}),
        ("POST", f"/assessments/{assessment}/requirements/CI-02/evidence", {"url": "https://wiki.example.com/new"}),
        ("POST", f"/assessments/{assessment}/requirements/CI-02/evidence/reuse", {"evidence_id": str(evidence_id)}),
        ("POST", f"/assessments/{assessment}/requirements/CI-01/evidence/{evidence_id}/remove", {"confirm": "1"}),
        ("FILE", f"/assessments/{assessment}/requirements/CI-02/evidence", None),
        ("POST", f"/assessments/{assessment}/submit", {"confirm": "1"}),
        ("POST", f"/assessments/{assessment}/return", {"comment": "reopen it", "confirm": "1"}),
        ("POST", f"/assessments/{assessment}/approve", {"confirm": "1"}),
    ]


def test_an_approved_assessment_refuses_changes_from_every_role(app, client, as_user, team):
    assessment, _ = team
    client.post(f"/assessments/{assessment}/shares", data={"username": "audrey"})
    assert as_user("alice").post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    assert as_user("lead").post(f"/assessments/{assessment}/approve", data={"confirm": "1"}).status_code == 302
    with app.app_context():
        evidence_id = db.session.scalar(select(Evidence.id))
    frozen = state(app, assessment)
    for role in ("admin", "lead", "alice", "bob", "audrey", "otto"):
        person = client if role == "admin" else as_user(role)
        for method, url, data in _attempts(assessment, evidence_id):
            if method == "FILE":
                response = upload(person, assessment, "CI-02", b"%PDF-1.4\n%late\n", "late.pdf", title="Late")
            else:
                response = person.post(url, data=data, headers={"X-Requested-With": "fetch"})
            assert response.status_code in (403, 404, 409), (role, url, response.status_code)
            assert state(app, assessment) == frozen, (role, url)
    locked = client.post(
        f"/assessments/{assessment}/answers/CI-02",
        data={"value": "all", "revision": "0"},
        headers={"X-Requested-With": "fetch"},
    )
    assert locked.status_code == 409 and "approved and locked" in locked.json["error"]


def test_a_submitted_assessment_is_frozen_until_returned(app, as_user, team):
    assessment, _ = team
    alice = as_user("alice")
    alice.post(f"/assessments/{assessment}/submit", data={"confirm": "1"})
    frozen = state(app, assessment)
    assert autosave(alice, assessment, "CI-02", "all").status_code == 409
    assert upload(alice, assessment, "CI-02", b"%PDF-1.4\n%x\n", "x.pdf").status_code == 409
    assert state(app, assessment) == frozen


def test_auditor_records_findings_on_shared_assessments_only(app, client, as_user, team):
    assessment, _ = team
    audrey, otto = as_user("audrey"), as_user("otto")
    finding = {"requirement_id": "CI-01", "verdict": "finding", "severity": "major", "comment": "No sign-off"}
    assert audrey.post(f"/assessments/{assessment}/findings", data=finding).status_code == 404  # not shared yet
    client.post(f"/assessments/{assessment}/shares", data={"username": "audrey"})
    assert audrey.post(f"/assessments/{assessment}/findings", data=finding).status_code == 409  # still a draft
    client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"})
    assert audrey.post(f"/assessments/{assessment}/findings", data=finding).status_code == 302
    assert otto.post(f"/assessments/{assessment}/findings", data=finding).status_code == 404
    bad = [
        {**finding, "severity": ""},
        {**finding, "severity": "catastrophic"},
        {**finding, "verdict": "maybe"},
        {**finding, "comment": ""},
        {**finding, "requirement_id": "NOPE-1"},
    ]
    for data in bad:
        assert audrey.post(f"/assessments/{assessment}/findings", data=data).status_code in (404, 422), data
    assert (
        audrey.post(
            f"/assessments/{assessment}/findings", data={"requirement_id": "CI-02", "verdict": "verified"}
        ).status_code
        == 302
    )
    with app.app_context():
        rows = db.session.execute(
            select(ReviewFinding.requirement_id, ReviewFinding.verdict, ReviewFinding.severity).order_by(
                ReviewFinding.requirement_id
            )
        ).all()
    assert [tuple(r) for r in rows] == [("CI-01", "finding", "major"), ("CI-02", "verified", None)]
    page = audrey.get(f"/assessments/{assessment}/results").get_data(as_text=True)
    assert "Finding (major)" in page and "No sign-off" in page and "Verified" in page
    # An auditor never changes an answer, even by posting the form directly.
    assert autosave(audrey, assessment, "CI-02", "all").status_code == 403


def test_a_team_member_cannot_reach_another_team_by_editing_ids(app, client, as_user, team):
    """bob works on Beta; every id of alice's scope, assessment, evidence and backlog is closed to him,
    in URLs and in form fields, and nothing changes."""
    assessment, scope = team
    beta = make_scope(client, "Beta")
    client.post(f"/scopes/{beta}/members", data={"username": "bob"})
    client.post(f"/assessments/{assessment}/backlog/generate")
    bob = as_user("bob")
    with app.app_context():
        evidence_id = db.session.scalar(select(Evidence.id))
        item_id = db.session.scalar(select(BacklogItem.id))
    before = state(app, assessment)
    for url in (
        f"/scopes/{scope}",
        f"/assessments/{assessment}",
        f"/assessments/{assessment}/domains/0",
        f"/assessments/{assessment}/results",
        f"/assessments/{assessment}/backlog",
        f"/assessments/{assessment}/backlog.csv",
        f"/assessments/{assessment}/export.zip",
        f"/assessments/{assessment}/export/score.json",
        f"/assessments/{assessment}/requirements/CI-01/evidence",
        f"/evidence/{evidence_id}/download",
        f"/audit?assessment={assessment}",
    ):
        response = bob.get(url)
        if url.startswith("/audit"):
            assert response.status_code == 200 and "No entries match" in response.get_data(as_text=True)
        else:
            assert response.status_code == 404, url
    assert autosave(bob, assessment, "CI-01", "no", revision=1).status_code == 404
    assert bob.post(f"/assessments/{assessment}/backlog/{item_id}", data={"status": "done"}).status_code == 404
    assert bob.post(f"/scopes/{scope}/assessments", data={"framework_version": "1"}).status_code == 404
    # His own assessment, with alice's evidence id or backlog item id in the form or URL.
    own = _start(client, beta)
    reuse = bob.post(f"/assessments/{own}/requirements/CI-01/evidence/reuse", data={"evidence_id": str(evidence_id)})
    assert reuse.status_code == 404
    assert bob.post(f"/assessments/{own}/backlog/{item_id}", data={"status": "done"}).status_code == 404
    assert (
        bob.post(
            f"/assessments/{own}/requirements/CI-01/evidence/{evidence_id}/remove", data={"confirm": "1"}
        ).status_code
        == 404
    )
    assert state(app, assessment) == before
    with app.app_context():
        assert db.session.scalar(select(BacklogItem.status).where(BacklogItem.id == item_id)) == "plan"
        assert (
            db.session.scalar(select(func.count()).select_from(EvidenceLink).where(EvidenceLink.assessment_id == own))
            == 0
        )


def _start(client, scope: int) -> int:
    from tests.integration.helpers import example_version, start

    return start(client, scope, example_version(client.application))


def test_auditor_downloads_only_shared_evidence(app, client, as_user, team):
    assessment, _ = team
    with app.app_context():
        evidence_id = db.session.scalar(select(Evidence.id))
    audrey = as_user("audrey")
    assert audrey.get(f"/evidence/{evidence_id}/download").status_code == 404
    client.post(f"/assessments/{assessment}/shares", data={"username": "audrey"})
    response = audrey.get(f"/evidence/{evidence_id}/download")
    assert response.status_code == 200 and response.data == b"stages: [build]\n"
    response.close()
    assert audrey.get(f"/scopes/{team[1]}").status_code == 404  # the share is the assessment, not the scope


def test_sharing_names_only_auditors_and_members_only_team_members(app, client, team):
    assessment, scope = team
    assert client.post(f"/assessments/{assessment}/shares", data={"username": "bob"}).status_code == 400
    assert client.post(f"/scopes/{scope}/members", data={"username": "audrey"}).status_code == 400
    assert client.post(f"/scopes/{scope}/members", data={"username": "ghost"}).status_code == 404


def test_import_and_start_are_closed_to_auditors(app, as_user, team):
    _assessment, scope = team
    audrey = as_user("audrey")
    data = {"file": (io.BytesIO(b"framework: devops-delivery\n"), "answers.yaml")}
    assert audrey.post(f"/scopes/{scope}/import", data=data, content_type="multipart/form-data").status_code == 404


def test_auditors_read_the_backlog_without_its_forms(app, client, as_user, team):
    assessment, _ = team
    client.post(f"/assessments/{assessment}/backlog/generate")
    client.post(f"/assessments/{assessment}/shares", data={"username": "audrey"})
    url = f"/assessments/{assessment}/backlog?unanswered=show"
    page = as_user("audrey").get(url).get_data(as_text=True)
    assert "CI-02" in page and "/backlog/generate" not in page and 'class="edit"' not in page
    assert 'class="edit"' in as_user("alice").get(url).get_data(as_text=True)
