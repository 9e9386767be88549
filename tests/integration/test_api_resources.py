"""/api/v1 writes of frameworks, scopes and assessments, and the gaps and comparison reads: the web's rules,
the web's services, the web's trail entries under the token owner's name, problems naming the field."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import Assessment, AuditEntry
from assessment.services import audit
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


MINI = """id: api-mini
version: "1"
title: API mini
kind: maturity
levels:
  - {number: 1, name: Initial}
  - {number: 2, name: Managed}
scales:
  coverage:
    - {value: none, label: None, credit: 0}
    - {value: all, label: All, credit: 1}
domains:
  - id: D
    title: Delivery
    requirements:
      - id: D-01
        title: Builds run
        level: 2
        answer: coverage
        recommendation: Build every change.
      - id: D-02
        title: Lead time
        level: 2
        answer:
          type: number
          unit: hours
          bands:
            - {max: 24, credit: 1}
            - {min: 24, credit: 0}
"""


def _framework_file(text: str, name: str = "api-mini.yaml") -> dict:
    return {"file": (io.BytesIO(text.encode()), name)}


def test_a_framework_version_reads_as_its_structure(app, anonymous):
    response = anonymous.get("/api/v1/frameworks/sox-itgc/versions/2026.1", headers=token_for(app, "audrey"))
    assert response.status_code == 200, response.get_data(True)
    structure = response.json
    assert (structure["id"], structure["version"], structure["kind"]) == ("sox-itgc", "2026.1", "compliance")
    requirements = [r for d in structure["domains"] for r in d["requirements"]]
    assert len(requirements) == structure["requirement_count"] and requirements[0]["answer"]["kind"] == "scale"
    assert requirements[0]["answer"]["options"][0].keys() == {"value", "label", "credit"}
    missing = anonymous.get("/api/v1/frameworks/sox-itgc/versions/1999", headers=token_for(app, "audrey"))
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_an_admin_imports_a_framework_file_once(app, anonymous):
    admin = token_for(app, "admin")
    response = anonymous.post(
        "/api/v1/frameworks", data=_framework_file(MINI), headers=admin, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_data(True)
    assert (response.json["id"], response.json["version"], response.json["revision"]) == ("api-mini", "1", 1)
    assert response.headers["Location"] == "/api/v1/frameworks/api-mini/versions/1"
    structure = anonymous.get(response.headers["Location"], headers=admin).json
    lead_time = structure["domains"][0]["requirements"][1]
    assert lead_time["answer"] == {
        "kind": "numeric",
        "unit": "hours",
        "bands": [{"credit": 1.0, "min": None, "max": 24.0}, {"credit": 0.0, "min": 24.0, "max": None}],
    }
    assert [e.actor for e in _trail(app, "framework.imported") if "api-mini" in e.after] == ["admin"]
    again = anonymous.post(
        "/api/v1/frameworks", data=_framework_file(MINI), headers=admin, content_type="multipart/form-data"
    )
    assert again.status_code == 200 and again.json["revision"] == 1  # the same content is the same version
    lead = anonymous.post(
        "/api/v1/frameworks",
        data=_framework_file(MINI),
        headers=token_for(app, "lead"),
        content_type="multipart/form-data",
    )
    assert lead.status_code == 403 and lead.mimetype == "application/problem+json"


def test_a_malformed_framework_file_lists_its_problems_and_stores_nothing(app, anonymous):
    from assessment.models import FrameworkVersion

    admin = token_for(app, "admin")
    before, imported = _count(app, FrameworkVersion), len(_trail(app, "framework.imported"))
    broken = MINI.replace("title: Builds run", "title: 3").replace("answer: coverage", "answer: bogus")
    response = anonymous.post(
        "/api/v1/frameworks", data=_framework_file(broken), headers=admin, content_type="multipart/form-data"
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    errors = response.json["errors"]
    assert [(e["pointer"], e["line"]) for e in errors] == [
        ("/domains/0/requirements/0/title", 17),
        ("/domains/0/requirements/0/answer", 19),
    ]
    assert errors[0]["problem"].startswith("api-mini.yaml:17: domains[0].requirements[0].title: ")
    refused = {b"key: [unclosed\n": "not valid YAML", b"\xff\xfe": "not UTF-8", b"\x00\x01binary": "binary"}
    for data, said in refused.items():
        bad = anonymous.post(
            "/api/v1/frameworks",
            data={"file": (io.BytesIO(data), "x.yaml")},
            headers=admin,
            content_type="multipart/form-data",
        )
        assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "", bad.json
        assert said in bad.json["errors"][0]["detail"], bad.json
    assert _count(app, FrameworkVersion) == before and len(_trail(app, "framework.imported")) == imported


def test_a_lead_creates_a_scope(app, anonymous):
    lead = token_for(app, "lead")
    response = anonymous.post(
        "/api/v1/scopes", json={"name": "Checkout", "kind": "service", "description": "Pays"}, headers=lead
    )
    assert response.status_code == 201, response.get_data(True)
    assert (response.json["name"], response.json["kind"], response.json["description"]) == (
        "Checkout",
        "service",
        "Pays",
    )
    assert response.headers["Location"] == f"/api/v1/scopes/{response.json['id']}"
    assert response.json["created_at"].endswith("+00:00")  # RFC 3339 with its offset, also from SQLite
    assert [e.actor for e in _trail(app, "scope.created")] == ["lead"]
    cases = {
        "/name": {"name": "Checkout", "kind": "team"},  # taken
        "/kind": {"name": "Other", "kind": "galaxy"},
        "/description": {"name": "Other", "kind": "team", "description": "d" * 5001},
    }
    for pointer, body in cases.items():
        refused = anonymous.post("/api/v1/scopes", json=body, headers=lead)
        assert refused.status_code == 422 and [e["pointer"] for e in refused.json["errors"]] == [pointer], body
    member = anonymous.post("/api/v1/scopes", json={"name": "Mine", "kind": "team"}, headers=token_for(app, "alice"))
    assert member.status_code == 403 and len(_trail(app, "scope.created")) == 1


def test_a_lead_manages_the_team_by_user_name(app, anonymous, devops):
    _, scope = devops
    lead = token_for(app, "lead")
    members = f"/api/v1/scopes/{scope}/members"
    added = anonymous.put(f"{members}/alice", headers=lead)
    assert added.status_code == 200 and added.json == {
        "id": added.json["id"],
        "username": "alice",
        "full_name": "Alice",
        "role": "member",
    }
    assert anonymous.put(f"{members}/alice", headers=lead).status_code == 200  # already on it: no change
    assert [(e.actor, e.after) for e in _trail(app, "scope.member_added")] == [("lead", '{"member":"alice"}')]
    listed = anonymous.get(members, headers=token_for(app, "alice"))  # the team sees itself, as on the page
    assert listed.status_code == 200 and [m["username"] for m in listed.json] == ["alice"]
    auditor = anonymous.put(f"{members}/audrey", headers=lead)
    assert auditor.status_code == 422 and [e["pointer"] for e in auditor.json["errors"]] == ["/path/username"]
    assert anonymous.put(f"{members}/nobody", headers=lead).status_code == 404
    assert anonymous.put(f"{members}/bob", headers=token_for(app, "alice")).status_code == 403
    assert anonymous.get(members, headers=token_for(app, "bob")).status_code == 404
    removed = anonymous.delete(f"{members}/alice", headers=lead)
    assert removed.status_code == 204 and anonymous.get(members, headers=lead).json == []
    assert anonymous.delete(f"{members}/alice", headers=lead).status_code == 204  # not on it: no change
    assert [e.actor for e in _trail(app, "scope.member_removed")] == ["lead"]


def _answer(app, assessment_id: int, requirement_id: str, value: str) -> None:
    from assessment.models import Answer
    from assessment.services import assessments as svc

    with app.app_context(), audit.acting_as("test-setup"):
        assessment = db.session.get(Assessment, assessment_id)
        row = db.session.scalar(
            select(Answer).where(Answer.assessment_id == assessment_id, Answer.requirement_id == requirement_id)
        )
        framework = svc.framework_of(assessment.framework_version)
        svc.save_answer(assessment, framework, requirement_id, value, None, row.revision if row else 0, "alice")
        db.session.commit()


def test_gaps_are_the_results_pages_in_priority_order(app, anonymous, client, devops):
    assessment, _ = devops
    _answer(app, assessment, "CI-01", "yes")  # evidence required, none attached: a claim that earns nothing
    _answer(app, assessment, "CI-02", "some")
    lead = token_for(app, "lead")
    gaps = anonymous.get(f"/api/v1/assessments/{assessment}/gaps", headers=lead)
    assert gaps.status_code == 200, gaps.get_data(True)
    exported = client.get(f"/assessments/{assessment}/export/score.json").json["gaps"]
    assert [g["requirement_id"] for g in gaps.json] == [g["id"] for g in exported]
    first = gaps.json[0]
    assert (first["requirement_id"], first["status"], first["unsupported"]) == ("CI-01", "not_met", True)
    assert "no evidence attached" in first["unsupported_reason"] and first["recommendation"]
    partial = next(g for g in gaps.json if g["requirement_id"] == "CI-02")
    assert (partial["status"], partial["value"], partial["credit"], partial["unsupported_reason"]) == (
        "partial",
        "some",
        0.5,
        None,
    )
    paged = anonymous.get(f"/api/v1/assessments/{assessment}/gaps?limit=2", headers=lead)
    assert [g["requirement_id"] for g in paged.json] == [g["id"] for g in exported[:2]]
    assert 'rel="next"' in paged.headers["Link"]
    assert anonymous.get(f"/api/v1/assessments/{assessment}/gaps", headers=token_for(app, "bob")).status_code == 404


def test_the_comparison_with_the_previous_cycle(app, anonymous, devops):
    from assessment.domain.compare import compare
    from assessment.services import assessments as svc
    from assessment.services import cycles

    assessment, _ = devops
    lead = token_for(app, "lead")
    first = anonymous.get(f"/api/v1/assessments/{assessment}/comparison", headers=lead)
    assert first.status_code == 404 and first.mimetype == "application/problem+json"
    _answer(app, assessment, "CI-02", "some")
    _answer(app, assessment, "DEP-01", "yes")
    with app.app_context(), audit.acting_as("test-setup"):
        previous = db.session.get(Assessment, assessment)
        following = cycles.start_next_cycle(previous, None, None, previous.as_of.replace(year=2027)).assessment.id
        db.session.commit()
    _answer(app, following, "CI-02", "all")
    _answer(app, following, "DEP-01", "no")
    response = anonymous.get(f"/api/v1/assessments/{following}/comparison", headers=lead)
    assert response.status_code == 200, response.get_data(True)
    body = response.json
    assert (body["before"]["id"], body["after"]["id"]) == (assessment, following)
    kinds = {r["requirement_id"]: r["kind"] for r in body["requirements"]}
    assert (kinds["CI-02"], kinds["DEP-01"], kinds["OPS-01"]) == ("improved", "regressed", "unchanged")
    with app.app_context():
        expected = compare(
            svc.load_state(db.session.get(Assessment, assessment)).card,
            svc.load_state(db.session.get(Assessment, following)).card,
        )
    assert body["counts"] == expected.counts and body["score_delta"] == expected.score_delta
    assert body["after"]["score"] == expected.after_score and body["level_delta"] == expected.level_delta
    assert [d["domain_id"] for d in body["domains"]] == [d.domain_id for d in expected.domains]
    hidden = anonymous.get(f"/api/v1/assessments/{following}/comparison", headers=token_for(app, "bob"))
    assert hidden.status_code == 404
    other = anonymous.get(f"/api/v1/assessments/{assessment}/comparison?other={following}", headers=lead)
    assert other.status_code == 200 and other.json == body  # the same two, whichever is named first


def test_an_assessment_started_with_a_delivery_service_is_measured_from_its_events(app, anonymous, devops):
    from assessment.models import Answer, Scope
    from assessment.services import delivery
    from tests.conftest import EXAMPLES

    _, scope = devops
    with app.app_context():
        events = (EXAMPLES / "delivery" / "checkout.events.jsonl").read_bytes()
        delivery.add_file(db.session.get(Scope, scope), "checkout.events.jsonl", events, source="upload", actor="lead")
        db.session.commit()
    lead = token_for(app, "lead")
    body = {"framework_id": "devops-delivery-maturity", "as_of": "2026-11-30", "period_start": "2026-11-01"}
    before = _count(app, Assessment)
    refused = anonymous.post(
        f"/api/v1/scopes/{scope}/assessments", json={**body, "delivery_service": "nowhere"}, headers=lead
    )
    assert refused.status_code == 422 and [e["pointer"] for e in refused.json["errors"]] == ["/delivery_service"]
    assert _count(app, Assessment) == before
    started = anonymous.post(
        f"/api/v1/scopes/{scope}/assessments", json={**body, "delivery_service": "checkout"}, headers=lead
    )
    assert started.status_code == 201, started.get_data(True)
    assert started.json["delivery_service"] == "checkout"
    with app.app_context():
        measured = {
            a.requirement_id: a.value
            for a in db.session.scalars(select(Answer).where(Answer.assessment_id == started.json["id"]))
            if a.measured
        }
    assert len(measured) == 4 and float(measured["DDM-KM-04"]) == 5.0  # lead time, as the spec's example gives
