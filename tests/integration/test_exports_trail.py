"""Exports: each download leaves its entry in the trail, and there is one backlog.csv."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from assessment.extensions import db
from assessment.models import AuditEntry
from tests.integration.helpers import autosave

EXPORTS = ["requirements.csv", "backlog.csv", "results.xlsx", "score.json"]


def exported(app, assessment: int) -> list[tuple[str, str, str, str | None]]:
    with app.app_context():
        return list(
            db.session.execute(
                select(AuditEntry.actor, AuditEntry.object_id, AuditEntry.after, AuditEntry.assessment_id)
                .where(AuditEntry.action == "export.downloaded")
                .order_by(AuditEntry.seq)
            ).all()
        )


@pytest.mark.parametrize("name", EXPORTS)
def test_each_export_of_the_results_page_leaves_its_entry(app, as_user, devops, name):
    assessment, _ = devops
    lead = as_user("lead")
    assert exported(app, assessment) == []
    response = lead.get(f"/assessments/{assessment}/export/{name}")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    [(actor, object_id, after, filed_under)] = exported(app, assessment)
    assert (actor, object_id, filed_under) == ("lead", f"{assessment}/{name}", assessment)
    assert json.loads(after) == {"file": name}


def test_the_backlog_page_export_leaves_its_entry_with_its_filters(app, client, devops):
    assessment, _ = devops
    client.post(f"/assessments/{assessment}/backlog/generate")
    assert client.get(f"/assessments/{assessment}/backlog.csv?status=plan").status_code == 200
    [(actor, object_id, after, _)] = exported(app, assessment)
    assert (actor, object_id) == ("admin", f"{assessment}/backlog.csv")
    assert json.loads(after) == {"file": "backlog.csv", "filters": {"status": "plan"}}


def test_an_export_does_not_make_a_rendered_report_stale(app, client, devops):
    from assessment.models import Assessment
    from assessment.services import reports as report_svc

    assessment, _ = devops
    with app.app_context():
        before = report_svc.fingerprint(db.session.get(Assessment, assessment), "pdf")
    client.get(f"/assessments/{assessment}/export/score.json")
    with app.app_context():
        assert report_svc.fingerprint(db.session.get(Assessment, assessment), "pdf") == before


def test_the_backlog_page_and_the_results_page_give_the_same_backlog_csv(app, client, devops):
    assessment, _ = devops
    autosave(client, assessment, "CI-01", "no")
    client.post(f"/assessments/{assessment}/backlog/generate")
    from_backlog = client.get(f"/assessments/{assessment}/backlog.csv").get_data(as_text=True)
    from_results = client.get(f"/assessments/{assessment}/export/backlog.csv").get_data(as_text=True)
    assert from_backlog == from_results
    assert from_backlog.startswith("\ufeff")  # Excel reads it as UTF-8
    header, first = from_backlog.removeprefix("\ufeff").splitlines()[:2]
    assert header.startswith("requirement_id,title,priority,priority_reasons,owner")
    assert "blocks level" in first or "not answered" in first
