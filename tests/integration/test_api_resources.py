"""/api/v1 writes of frameworks, scopes and assessments, and the gaps and comparison reads: the web's rules,
the web's services, the web's trail entries under the token owner's name, problems naming the field."""

from __future__ import annotations

from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import Assessment, AuditEntry
from tests.integration.test_api import token_for


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _trail(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        db.session.expunge_all()
        return entries


def test_starting_an_assessment_answers_201_with_its_location(app, anonymous, devops):
    _, scope = devops
    response = anonymous.post(  # a lead starts; the assessment is the web's: draft, pinned, target, dates
        f"/api/v1/scopes/{scope}/assessments",
        json={
            "framework_id": "devops-delivery",
            "target_level": 2,
            "as_of": "2026-10-01",
            "period_start": "2026-09-01",
        },
        headers=token_for(app, "lead"),
    )
    assert response.status_code == 201, response.get_data(True)
    started = response.json
    assert response.headers["Location"] == f"/api/v1/assessments/{started['id']}"
    assert started["status"] == "draft" and started["scope_id"] == scope and started["target_level"] == 2
    assert (started["framework_id"], started["as_of"], started["period_start"]) == (
        "devops-delivery",
        "2026-10-01",
        "2026-09-01",
    )
    (entry,) = [e for e in _trail(app, "assessment.started") if e.object_id == str(started["id"])]
    assert entry.actor == "lead"
    defaults = anonymous.post(  # the newest version, the top level, today
        f"/api/v1/scopes/{scope}/assessments", json={"framework_id": "devops-delivery"}, headers=token_for(app, "lead")
    ).json
    assert defaults["target_level"] == 4 and defaults["as_of"] and defaults["period_start"] is None


def test_a_bad_start_is_a_problem_naming_the_field_and_changes_nothing(app, anonymous, devops):
    _, scope = devops
    lead = token_for(app, "lead")
    before = _count(app, Assessment)
    cases = [
        ({"framework_id": "devops-delivery", "target_level": 9}, "/target_level"),
        ({"framework_id": "devops-delivery", "as_of": "2026-01-01", "period_start": "2026-02-01"}, "/period_start"),
        ({"framework_id": "sox-itgc", "target_level": 1}, "/target_level"),  # compliance: no levels
        ({"framework_id": "no-such-framework"}, "/framework_id"),
        ({"framework_id": "devops-delivery", "version": "1999.1"}, "/version"),
        ({"framework_id": "devops-delivery", "as_of": "yesterday"}, "/as_of"),
        ({}, "/framework_id"),
    ]
    for body, pointer in cases:
        response = anonymous.post(f"/api/v1/scopes/{scope}/assessments", json=body, headers=lead)
        assert response.status_code == 422 and response.mimetype == "application/problem+json", body
        assert [e["pointer"] for e in response.json["errors"]] == [pointer], response.json
    assert _count(app, Assessment) == before
    bob = anonymous.post(  # a member outside the scope: it does not exist for him
        f"/api/v1/scopes/{scope}/assessments", json={"framework_id": "devops-delivery"}, headers=token_for(app, "bob")
    )
    assert bob.status_code == 404 and bob.mimetype == "application/problem+json"
    read_only = anonymous.post(
        f"/api/v1/scopes/{scope}/assessments",
        json={"framework_id": "devops-delivery"},
        headers=token_for(app, "lead", read_only=True),
    )
    assert read_only.status_code == 403 and _count(app, Assessment) == before
