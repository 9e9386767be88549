"""OSCAL out of a stored assessment: the results page's two exports and the two API operations give the same
documents, to the assessment's readers only (others get the 404 of the other exports), each recorded on the
trail; the stored evidence's hash and media type and the backlog's owner and due date are in them."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from sqlalchemy import func, select

from assessment.extensions import db, report_store
from assessment.models import Assessment, AuditEntry, BacklogItem
from assessment.services import audit
from assessment.services import evidence as evidence_svc
from tests.integration.conftest import sign_in_as
from tests.integration.test_api import token_for
from tests.integration.test_authorization import READERS, ROLES, build_world

NAMES = {"oscal-assessment-results.json": "assessment-results", "oscal-poam.json": "plan-of-action-and-milestones"}
API = {"oscal-assessment-results.json": "assessment-results", "oscal-poam.json": "poam"}
LOG = b"build ok\n"


def _trail(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.actor, AuditEntry.after)
            .where(AuditEntry.action == "export.downloaded")
            .order_by(AuditEntry.seq)
        ).all()
        db.session.remove()
    return [(actor, json.loads(after)["file"]) for actor, after in rows]


def _prepare(app, world) -> None:
    """A log file on CI-02 (a gap of the draft) and an owner and due date on its backlog item."""
    with app.app_context(), audit.acting_as("test-setup"):
        draft = db.session.get(Assessment, world.draft)
        store = report_store(app).evidence
        evidence_svc.add_file(store, draft, "CI-02", io.BytesIO(LOG), "build.log", "Build log", None, None, "alice")
        item = db.session.scalars(
            select(BacklogItem).where(BacklogItem.assessment_id == world.draft, BacklogItem.requirement_id == "CI-02")
        ).one()
        item.owner, item.due_date = "Alice Member", dt.date(2027, 2, 28)
        db.session.commit()


def _check(document: dict, key: str) -> dict:
    from trestle.oscal.assessment_results import AssessmentResults
    from trestle.oscal.poam import PlanOfActionAndMilestones

    model = AssessmentResults if key == "assessment-results" else PlanOfActionAndMilestones
    model.parse_obj(document[key])
    return document[key]


def _props(obj: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in obj.get("props", ()) if "group" not in p}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_the_oscal_exports_go_to_the_assessments_readers_and_are_on_the_trail(app, name):
    import hashlib

    world = build_world(app)
    _prepare(app, world)
    before = len(_trail(app))
    taken: list[str] = []
    for role in sorted(ROLES, key=lambda r: r in READERS):  # the refused first
        client = app.test_client() if role == "anonymous" else sign_in_as(app.test_client(), role)
        response = client.get(f"/assessments/{world.draft}/export/{name}")
        if role not in READERS:
            assert response.status_code in (302, 404), (role, response.status_code)
            assert len(_trail(app)) == before, f"{role}'s refused export left a trail entry"
            continue
        assert response.status_code == 200 and response.mimetype == "application/json", role
        assert (
            f"-{name}" in response.headers["Content-Disposition"]
            and "attachment" in response.headers["Content-Disposition"]
        )
        taken.append(role)
        document = _check(response.json, NAMES[name])
    assert [entry for entry in _trail(app)[before:]] == [(role, name) for role in taken]
    with app.app_context():
        gaps = json.loads(
            sign_in_as(app.test_client(), "lead").get(f"/assessments/{world.draft}/export/score.json").data
        )["gaps"]
    gap_ids = [g["id"] for g in gaps]
    if NAMES[name] == "assessment-results":
        [result] = document["results"]
        assert [f["target"]["target-id"] for f in result["findings"]] == gap_ids
        [observation] = [o for o in result["observations"] if _props(o)["requirement-id"] == "CI-02"]
        [log] = [e for e in observation["relevant-evidence"] if e.get("href") == "build.log"]
        assert _props(log)["sha256"] == hashlib.sha256(LOG).hexdigest()
        assert _props(log)["media-type"].startswith("text/")
    else:
        assert [_props(i)["requirement-id"] for i in document["poam-items"]] == gap_ids
        [item] = [i for i in document["poam-items"] if _props(i)["requirement-id"] == "CI-02"]
        assert _props(item)["owner"] == "Alice Member" and _props(item)["due-date"] == "2027-02-28"


def test_the_api_gives_the_exports_documents_to_readers_and_records_them(app, anonymous):
    world = build_world(app)
    _prepare(app, world)
    lead = sign_in_as(app.test_client(), "lead")
    for name, path in API.items():
        web = lead.get(f"/assessments/{world.draft}/export/{name}")
        before = _trail(app)
        response = anonymous.get(f"/api/v1/assessments/{world.draft}/oscal/{path}", headers=token_for(app, "alice"))
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.data == web.data  # the same state, the same bytes
        _check(response.json, NAMES[name])
        assert _trail(app) == [*before, ("alice", name)]
        for outsider in ("bob", "otto"):
            refused = anonymous.get(f"/api/v1/assessments/{world.draft}/oscal/{path}", headers=token_for(app, outsider))
            assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
        assert anonymous.get(f"/api/v1/assessments/{world.draft}/oscal/{path}").status_code == 401
        assert _trail(app) == [*before, ("alice", name)]


def test_the_results_page_links_both_oscal_exports(app, client, devops):
    assessment, _ = devops
    page = client.get(f"/assessments/{assessment}/results").get_data(as_text=True)
    for name in NAMES:
        assert f"/assessments/{assessment}/export/{name}" in page
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export.downloaded")
            )
            == 0
        )
