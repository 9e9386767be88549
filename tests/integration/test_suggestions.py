"""Suggested answers from mapped requirements of the scope's other assessments: shown, accepted, refused."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from assessment.extensions import db
from assessment.models import Answer, AuditEntry, EvidenceLink, FrameworkVersion, Scope
from assessment.services import assessments as svc
from assessment.services import audit, review
from assessment.services import evidence as evidence_svc
from tests.integration.test_mappings import MAPPINGS, run, store_tiny_frameworks


def two_assessments(app, scope_name: str = "Mapped") -> tuple[int, int, int]:
    """A scope with alice as member, an alpha assessment whose AC-1 is answered with a link, and a beta one."""
    store_tiny_frameworks(app)
    assert run(app, "mappings", "import", str(MAPPINGS / "alpha-to-beta.yaml")).exit_code == 0
    with app.app_context(), audit.acting_as("test-setup"):
        scope = svc.create_scope(scope_name, "team")
        review.add_member(scope, "alice")
        versions = {
            v.framework_id: v for v in db.session.scalars(select(FrameworkVersion)) if v.framework_id.startswith("tiny")
        }
        alpha = svc.start_assessment(scope, versions["tiny-alpha"], None, dt.date(2026, 11, 21))
        beta = svc.start_assessment(scope, versions["tiny-beta"], None, dt.date(2026, 11, 21))
        framework = svc.framework_of(versions["tiny-alpha"])
        svc.save_answer(alpha, framework, "AC-1", "compliant", "Approved in the ticket system.", 0, "alice")
        evidence_svc.add_link(alpha, "AC-1", "https://tickets.example/approvals", "Approvals", None, None, "alice")
        db.session.commit()
        return scope.id, alpha.id, beta.id


def test_the_answer_page_suggests_a_mapped_answer_and_accepting_saves_it_with_provenance(app, as_user):
    scope, alpha, beta = two_assessments(app)
    alice = as_user("alice")
    page = alice.get(f"/assessments/{beta}/domains/0").get_data(as_text=True)
    assert "Suggested by Tiny alpha <code>AC-1</code> (equal):" in page
    assert (
        '<strong data-suggested-value="compliant">Compliant: in place, evidence kept</strong>, '
        "“Approved in the ticket system.”, 1 evidence" in page
    )
    assert f"/assessments/{beta}/suggestions/ID.1/accept" in page
    with app.app_context():
        assert db.session.scalar(select(Answer).where(Answer.assessment_id == beta)) is None  # never set silently
    response = alice.post(f"/assessments/{beta}/suggestions/ID.1/accept")
    assert response.status_code == 303 and response.headers["Location"].endswith("#req-ID.1")
    with app.app_context():
        answer = db.session.scalar(select(Answer).where(Answer.assessment_id == beta, Answer.requirement_id == "ID.1"))
        assert (answer.value, answer.note, answer.answered_by) == (
            "compliant",
            "From Tiny alpha AC-1 (equal): Approved in the ticket system.",  # the source's note travels with it
            "alice",
        )
        links = db.session.scalars(select(EvidenceLink).where(EvidenceLink.assessment_id == beta)).all()
        assert [link.requirement_id for link in links] == ["ID.1"]
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "answer.suggestion_accepted"))
        after = json.loads(entry.after)
        assert entry.assessment_id == beta and entry.actor == "alice"
        assert (after["source_assessment"], after["source_requirement"], after["relation"]) == (alpha, "AC-1", "equal")
    page = alice.get(f"/assessments/{beta}/domains/0").get_data(as_text=True)
    assert "Suggested by Tiny alpha <code>AC-1</code> (equal)" not in page  # answered the same: nothing to suggest
    assert alice.post(f"/assessments/{beta}/suggestions/ID.1/accept").status_code == 409  # stale: nothing saved


def test_a_mapping_read_backwards_suggests_too_and_reverses_its_relation(app, as_user):
    scope, alpha, beta = two_assessments(app)
    with app.app_context():
        assessment = svc.get_assessment(beta)
        framework = svc.framework_of(assessment.framework_version)
        svc.save_answer(assessment, framework, "ID.2", "non_compliant", None, 0, "alice")
        db.session.commit()
    page = as_user("alice").get(f"/assessments/{alpha}/domains/0").get_data(as_text=True)
    assert "Suggested by Tiny beta <code>ID.2</code> (superset):" in page  # alpha AC-2 subset of beta ID.2


def test_auditors_and_people_of_other_scopes_see_no_suggestion_and_may_not_accept(app, as_user, client):
    scope, alpha, beta = two_assessments(app)
    with app.app_context(), audit.acting_as("test-setup"):
        review.share(svc.get_assessment(beta), "audrey", "lead")
        db.session.commit()
    audrey = as_user("audrey")
    page = audrey.get(f"/assessments/{beta}/domains/0").get_data(as_text=True)
    assert "Suggested by" not in page
    assert audrey.post(f"/assessments/{beta}/suggestions/ID.1/accept").status_code == 403
    assert as_user("bob").post(f"/assessments/{beta}/suggestions/ID.1/accept").status_code in (403, 404)
    with app.app_context():
        assert db.session.scalar(select(Answer).where(Answer.assessment_id == beta)) is None


def test_an_answer_of_another_scope_is_never_suggested(app, as_user):
    scope, alpha, beta = two_assessments(app)
    with app.app_context(), audit.acting_as("test-setup"):
        other = svc.create_scope("Elsewhere", "team")
        review.add_member(other, "alice")
        version = svc.get_assessment(beta).framework_version
        lonely = svc.start_assessment(other, version, None, dt.date(2026, 11, 21))
        db.session.commit()
        lonely_id = lonely.id
        assert db.session.get(Scope, other.id) is not None
    page = as_user("alice").get(f"/assessments/{lonely_id}/domains/0").get_data(as_text=True)
    assert "Suggested by" not in page
    assert as_user("alice").post(f"/assessments/{lonely_id}/suggestions/ID.1/accept").status_code == 409


def test_a_submitted_assessment_takes_no_suggestion(app, as_user):
    scope, alpha, beta = two_assessments(app)
    with app.app_context(), audit.acting_as("test-setup"):
        review.submit(svc.get_assessment(beta), "alice")
        db.session.commit()
    alice = as_user("alice")
    assert "Suggested by" not in alice.get(f"/assessments/{beta}/domains/0").get_data(as_text=True)
    assert alice.post(f"/assessments/{beta}/suggestions/ID.1/accept").status_code in (403, 409, 423)


def test_coverage_counts_b_requirements_mapped_to_met_requirements_of_a(app, as_user):
    scope, alpha, beta = two_assessments(app)  # alpha AC-1 compliant (met): equal to beta ID.1
    with app.app_context():
        assessment = svc.get_assessment(alpha)
        svc.save_answer(assessment, svc.framework_of(assessment.framework_version), "AC-2", "compliant", None, 0, "x")
        db.session.commit()
    alice = as_user("alice")
    assert "/coverage" in alice.get(f"/scopes/{scope}").get_data(as_text=True)
    response = alice.get(f"/scopes/{scope}/coverage?from=tiny-alpha&to=tiny-beta")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<strong data-covered>1</strong> of <span data-total>3</span>" in page  # ID.1 (equal)
    assert "<strong data-partial>2</strong>" in page  # ID.2 (AC-2 subset), ID.3 (AC-2 intersect)
    assert "AC-2 (subset)" in page and "AC-1 (equal)" in page
    assert alice.get(f"/scopes/{scope}/coverage?from=nowhere&to=tiny-beta").status_code == 404
    assert alice.get(f"/scopes/{scope}/coverage").status_code == 400
    assert as_user("bob").get(f"/scopes/{scope}/coverage?from=tiny-alpha&to=tiny-beta").status_code in (403, 404)
