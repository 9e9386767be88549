"""The API's authorization matrix: every /api/v1 operation × the seven people of the web matrix × token kinds.

The people and the world are the web matrix's (test_authorization.py): anonymous sends no token; the six
others each hold four tokens: a normal one, a read-only one, an expired one and a revoked one. The matrix
says who may make each request with a normal token. A read-only token may only make what its owner may,
and only reads (GET); an expired or revoked token is refused (401) for everyone. A refused request must be
refused (401, 403, or 404 for what the person may not see) and change nothing, neither a row nor the trail;
an allowed one must succeed (or meet a state conflict, 409, which is not an access decision).

An /api/v1 operation missing from API_MATRIX fails `test_every_api_operation_is_in_the_matrix`.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import AuditEntry, User
from assessment.services import tokens
from tests.integration.conftest import sign_in_as
from tests.integration.test_authorization import (
    ADMIN,
    AUDITOR,
    LEADS,
    PLANNERS,
    READERS,
    ROLES,
    SCOPE_READERS,
    SIGNED_IN,
    TEAM,
    World,
    _fingerprint,
    build_world,
)

pytestmark = pytest.mark.slow  # every operation × 25 callers

KINDS = ("normal", "read-only", "expired", "revoked")
_ = (ADMIN, AUDITOR, LEADS, PLANNERS, READERS, SCOPE_READERS, SIGNED_IN, TEAM)  # the sets the cases name


@dataclass(frozen=True)
class ApiCase:
    method: str
    url: str  # formatted with the World's fields
    allowed: frozenset  # who may, with a normal token
    json: object = None  # a JSON body: a value, or a function of the World returning one
    files: object = None  # a multipart body: a dict (values (BytesIO, name) for files), or a function of the World


def api(method, url, allowed, json=None, files=None) -> ApiCase:
    return ApiCase(method, url, frozenset(allowed), json, files)


def _evidence_file(world: World) -> dict:
    return {"file": (io.BytesIO(b"stages: [build, test]\n"), "pipeline.yml"), "title": "Pipeline"}


# endpoint -> the request that exercises it and who may make it. Each part of the API keeps its own block.
API_MATRIX: dict[str, ApiCase] = {
    # --- frameworks, scopes, assessments (api/resources.py) ---
    "api_v1.frameworks": api("GET", "/api/v1/frameworks", SIGNED_IN),
    "api_v1.scopes": api("GET", "/api/v1/scopes", SIGNED_IN),
    "api_v1.scope": api("GET", "/api/v1/scopes/{scope}", SCOPE_READERS),
    "api_v1.scope_assessments": api("GET", "/api/v1/scopes/{scope}/assessments", SCOPE_READERS),
    "api_v1.assessment": api("GET", "/api/v1/assessments/{draft}", READERS),
    "api_v1.assessment_score": api("GET", "/api/v1/assessments/{draft}/score", READERS),
    # --- OSCAL out (api/oscal.py): the score's readers ---
    "api_v1.oscal_assessment_results": api("GET", "/api/v1/assessments/{draft}/oscal/assessment-results", READERS),
    "api_v1.oscal_poam": api("GET", "/api/v1/assessments/{draft}/oscal/poam", READERS),
    "api_v1.start_assessment": api(
        "POST", "/api/v1/scopes/{scope}/assessments", PLANNERS, json={"framework_id": "devops-delivery"}
    ),
    "api_v1.framework_structure": api("GET", "/api/v1/frameworks/devops-delivery/versions/2026.1", SIGNED_IN),
    "api_v1.preview_framework": api(
        "POST",
        "/api/v1/frameworks/preview",
        ADMIN,
        files=lambda world: {
            "file": (
                io.BytesIO(
                    b'id: matrix-preview\nversion: "1"\ntitle: Mini\nkind: compliance\ndomains:\n  - id: D\n'
                    b"    title: D\n    requirements:\n      - {id: D-01, title: One}\n"
                ),
                "matrix-preview.yaml",
            )
        },
    ),
    "api_v1.import_framework": api(
        "POST",
        "/api/v1/frameworks",
        ADMIN,
        files=lambda world: {
            "file": (
                io.BytesIO(
                    b'id: matrix-mini\nversion: "1"\ntitle: Mini\nkind: compliance\ndomains:\n  - id: D\n'
                    b"    title: D\n    requirements:\n      - {id: D-01, title: One}\n"
                ),
                "matrix-mini.yaml",
            )
        },
    ),
    "api_v1.create_scope": api(  # each allowed call a new name: a taken one is refused (422)
        "POST",
        "/api/v1/scopes",
        LEADS,
        json=lambda world, made=[]: made.append(1) or {"name": f"New {len(made)}", "kind": "team"},
    ),
    "api_v1.scope_members": api("GET", "/api/v1/scopes/{scope}/members", SCOPE_READERS),
    "api_v1.add_scope_member": api("PUT", "/api/v1/scopes/{scope}/members/victim", LEADS),
    "api_v1.remove_scope_member": api("DELETE", "/api/v1/scopes/{scope}/members/victim", LEADS),
    "api_v1.assessment_gaps": api("GET", "/api/v1/assessments/{draft}/gaps", READERS),
    "api_v1.assessment_comparison": api("GET", "/api/v1/assessments/{submitted}/comparison?other={draft}", READERS),
    "api_v1.assessment_evidence": api("GET", "/api/v1/assessments/{draft}/evidence", READERS),
    "api_v1.upload_evidence": api(
        "POST", "/api/v1/assessments/{draft}/requirements/CI-02/evidence", TEAM, files=_evidence_file
    ),
    "api_v1.add_evidence_link": api(
        "POST", "/api/v1/assessments/{draft}/requirements/CI-02/links", TEAM, json={"url": "https://ci.example/1"}
    ),
    "api_v1.download_evidence": api("GET", "/api/v1/evidence/{evidence}/download", READERS),
    # --- end of frameworks, scopes, assessments ---
    #
    # --- answers and evidence (api/answers.py) ---
    "api_v1.answers": api("GET", "/api/v1/assessments/{draft}/answers", READERS),
    "api_v1.answer_put": api(
        "PUT", "/api/v1/assessments/{draft}/answers/CI-01", TEAM, json={"value": "no", "note": "API", "revision": 1}
    ),
    "api_v1.answers_patch": api(
        "PATCH",
        "/api/v1/assessments/{draft}/answers",
        TEAM,
        json={"answers": {"CI-02": {"value": "all", "revision": 1}, "DEP-01": {"value": "yes", "revision": 0}}},
    ),
    "api_v1.assessment_export": api("GET", "/api/v1/assessments/{draft}/export", READERS),
    # --- end of answers and evidence ---
    #
    # --- review, backlog, reports, trail (api/workflow.py) ---
    "api_v1.submit_assessment": api("POST", "/api/v1/assessments/{draft}/submit", TEAM),
    "api_v1.return_assessment": api("POST", "/api/v1/assessments/{submitted}/return", LEADS, {"comment": "More"}),
    "api_v1.approve_assessment": api("POST", "/api/v1/assessments/{submitted}/approve", LEADS),
    "api_v1.share_assessment": api("POST", "/api/v1/assessments/{draft}/shares", LEADS, {"username": "otto"}),
    "api_v1.unshare_assessment": api("DELETE", "/api/v1/assessments/{draft}/shares/{audrey}", LEADS),
    "api_v1.assessment_findings": api("GET", "/api/v1/assessments/{draft}/findings", READERS),
    "api_v1.record_finding": api(
        "POST",
        "/api/v1/assessments/{submitted}/findings",
        AUDITOR,
        {"requirement_id": "CI-01", "verdict": "finding", "severity": "minor", "comment": "Stale"},
    ),
    "api_v1.assessment_backlog": api("GET", "/api/v1/assessments/{draft}/backlog", READERS),
    "api_v1.update_backlog_item": api(
        "PATCH", "/api/v1/assessments/{draft}/backlog/{item}", PLANNERS, {"status": "do", "owner": None}
    ),
    "api_v1.request_report": api("POST", "/api/v1/assessments/{draft}/reports", READERS, {"kind": "pdf"}),
    "api_v1.report_job": api("GET", "/api/v1/reports/{job}", READERS),
    "api_v1.report_download": api("GET", "/api/v1/reports/{job}/download", READERS),
    "api_v1.trail": api("GET", "/api/v1/trail?action=assessment.&scope={scope}", LEADS),
    # --- end of review, backlog, reports, trail ---
    #
    # --- delivery (d-api) (api/delivery.py) ---
    "api_v1.add_scope_events": api(  # the same batch each time: a batch sent again is a 200 that adds nothing
        "POST",
        "/api/v1/scopes/{scope}/events",
        PLANNERS,
        json={"events": [{"type": "change", "id": "m1", "service": "web", "time": "2026-11-02T10:00:00Z"}]},
    ),
    "api_v1.scope_metrics": api("GET", "/api/v1/scopes/{scope}/metrics?as_of=2026-11-30&days=30", SCOPE_READERS),
    # --- end of delivery (d-api) ---
    #
    # --- tokens, export and the rest ---
    # --- end of tokens, export and the rest ---
}


def test_every_api_operation_is_in_the_matrix(app):
    operations = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api_v1."):
            operations[rule.endpoint] = rule
    missing = sorted(set(operations) - set(API_MATRIX))
    assert not missing, f"API operations without an entry in the API matrix: {missing}"
    stale = sorted(set(API_MATRIX) - set(operations))
    assert not stale, f"API matrix entries for operations that no longer exist: {stale}"
    for endpoint, entry in API_MATRIX.items():
        assert entry.method in operations[endpoint].methods, endpoint


def _tokens(app) -> dict[tuple[str, str], dict]:
    """(person, kind) -> the headers that send that token."""
    made = {}
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        for person in sorted(SIGNED_IN):
            user = db.session.scalars(select(User).where(User.username == person)).one()
            for kind in KINDS:
                options = {"read_only": True} if kind == "read-only" else {}
                token, secret = tokens.create(user, f"matrix {kind}", **options)
                if kind == "expired":
                    token.expires_at = now - dt.timedelta(days=1)
                elif kind == "revoked":
                    token.revoked_at = now - dt.timedelta(minutes=1)
                made[(person, kind)] = {"Authorization": f"Bearer {secret}"}
        db.session.commit()
        db.session.remove()
    return made


def _call(client, entry: ApiCase, world: World, headers: dict):
    url = entry.url.format(**world.__dict__)
    body = entry.json(world) if callable(entry.json) else entry.json
    files = entry.files(world) if callable(entry.files) else entry.files
    if files is not None:
        return client.open(url, method=entry.method, data=files, headers=headers, content_type="multipart/form-data")
    if body is not None:
        return client.open(url, method=entry.method, json=body, headers=headers)
    return client.open(url, method=entry.method, headers=headers)


def _expected(entry: ApiCase, person: str, kind: str) -> bool:
    if person == "anonymous" or kind in ("expired", "revoked") or person not in entry.allowed:
        return False
    return kind == "normal" or entry.method == "GET"


@pytest.mark.parametrize("endpoint", sorted(API_MATRIX))
def test_operation_allows_exactly_its_people_and_tokens(app, endpoint):
    world = build_world(app)
    headers = _tokens(app)
    entry = API_MATRIX[endpoint]
    callers = [("anonymous", "none")] + [(p, k) for p in sorted(SIGNED_IN) for k in KINDS]
    assert {p for p, _ in callers} == set(ROLES)
    # Refused callers first: whatever the allowed ones change must not decide a refusal.
    for person, kind in sorted(callers, key=lambda c: _expected(entry, *c)):
        client = app.test_client()
        before = _fingerprint(app)
        with app.app_context():
            trail_before = db.session.scalar(select(func.max(AuditEntry.seq))) or 0
            db.session.remove()
        response = _call(client, entry, world, headers.get((person, kind), {}))
        shown = response.get_data()[:300].decode(errors="replace")  # a zip or a file is bytes, not text
        said = f"{person} ({kind}) on {entry.method} {endpoint}: {response.status_code} {shown}"
        if _expected(entry, person, kind):
            assert response.status_code < 400 or response.status_code == 409, said
        else:
            assert response.status_code in (401, 403, 404), said
            assert response.mimetype == "application/problem+json", said
            if kind in ("expired", "revoked") or person == "anonymous":
                assert response.status_code == 401, said
            assert _fingerprint(app) == before, f"{said}: changed something"
            with app.app_context():
                entries = db.session.scalars(select(AuditEntry.action).where(AuditEntry.seq > trail_before)).all()
                db.session.remove()
            assert not entries, f"{said}: wrote {entries} to the trail"
    # A browser's session cookie is not a token: the admin signed in on the web is refused too.
    before = _fingerprint(app)
    response = _call(sign_in_as(app.test_client(), "admin"), entry, world, {})
    assert response.status_code == 401 and _fingerprint(app) == before, f"the admin's cookie on {endpoint}"
