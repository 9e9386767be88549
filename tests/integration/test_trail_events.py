"""The trail entries the replay reads, as the services write them: the typed events must keep them byte for byte,
so older trails replay unchanged and the hash chain's form stays the same; a payload the replay cannot read is a
clear error on the as-of page, not a crash."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from sqlalchemy import select

from assessment.extensions import db
from assessment.models import Assessment, AuditEntry
from assessment.services import assessments as svc
from assessment.services import cycles, evidence, review
from assessment.services.library import framework_of
from tests.integration.helpers import autosave


def _entries(assessment_id: int) -> list[tuple]:
    rows = db.session.scalars(
        select(AuditEntry).where(AuditEntry.assessment_id == assessment_id).order_by(AuditEntry.seq)
    )
    return [(e.action, e.object_type, e.object_id.split("/", 1)[-1], e.before, e.after) for e in rows]


def test_the_writers_payloads_are_todays_byte_for_byte(app, devops):
    assessment_id, _ = devops
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        framework = framework_of(assessment.framework_version)
        svc.save_answer(assessment, framework, "CI-02", "all", "a note", 0, "alice")
        svc.save_answer(assessment, framework, "CI-02", "some", "a note", 1, "alice")
        svc.save_answer(assessment, framework, "DEP-02", "0.00001", None, 0, "alice")
        row = evidence.add_link(assessment, "CI-02", "https://ci.example/runs", "CI runs", None, None, "alice")
        evidence.unlink(assessment, "CI-02", row.id)
        review.submit(assessment, "alice")
        review.return_for_changes(assessment, "lead", "Say more about CI-02.")
        db.session.commit()
        entries = _entries(assessment_id)
        version_id, evidence_id = assessment.framework_version_id, row.id
    a, e = assessment_id, evidence_id
    assert entries == [
        (
            "assessment.started",
            "assessment",
            f"{a}",
            None,
            '{"as_of":"2026-11-21","framework":"devops-delivery","framework_version_id":'
            + str(version_id)
            + ',"status":"draft","target_level":3,"version":"2026.1"}',
        ),
        ("answer.saved", "answer", "CI-02", None, '{"note":"a note","value":"all"}'),
        ("answer.saved", "answer", "CI-02", '{"value":"all"}', '{"value":"some"}'),
        ("answer.saved", "answer", "DEP-02", None, '{"note":null,"value":"0.00001"}'),
        (
            "evidence.linked",
            "evidence_link",
            f"CI-02/{e}",
            None,
            '{"evidence":' + str(e) + ',"requirement":"CI-02","title":"CI runs"}',
        ),
        ("evidence.unlinked", "evidence_link", f"CI-02/{e}", '{"evidence":' + str(e) + ',"requirement":"CI-02"}', None),
        ("assessment.submitted", "assessment", f"{a}", '{"status":"draft"}', '{"status":"submitted"}'),
        (
            "assessment.returned",
            "assessment",
            f"{a}",
            '{"status":"submitted"}',
            '{"comment":"Say more about CI-02.","status":"returned"}',
        ),
    ]


@pytest.mark.parametrize(
    ("after", "problem"),
    [
        ('{"value":3,"note":null}', "after.value is 3, not a text or null"),
        ('{"value":"all","colour":"red"}', "after has the unknown field 'colour'"),
        ('{"value":"all"', "its payload is not JSON"),
    ],
)
def test_an_unreadable_payload_is_a_clear_error_on_the_as_of_page(app, client, devops, after, problem):
    assessment, scope = devops
    assert autosave(client, assessment, "CI-02", "all").status_code == 200
    with app.app_context():
        # Only this test alters an entry: the page must say which and why, not fail with a stack trace.
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "answer.saved")).one()
        entry.after = after
        seq = entry.seq
        db.session.commit()
    page = client.get(f"/scopes/{scope}/as-of?date={dt.date.today().isoformat()}")
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 500
    assert f"entry {seq} (answer.saved of {assessment}/CI-02" in text
    assert problem in text
    assert "assessment audit verify" in text


def test_the_next_cycles_carried_entries_and_the_approval_are_todays_byte_for_byte(app, devops):
    assessment_id, _ = devops
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        framework = framework_of(assessment.framework_version)
        svc.save_answer(assessment, framework, "CI-02", "all", "a note", 0, "alice")
        row = evidence.add_link(assessment, "CI-02", "https://ci.example/runs", "CI runs", None, None, "alice")
        review.submit(assessment, "alice")
        review.approve(assessment, "lead")
        report = cycles.start_next_cycle(assessment, None, 3, dt.date(2027, 5, 1))
        db.session.commit()
        approval = _entries(assessment_id)[-1]
        carried = [e for e in _entries(report.assessment.id) if e[0] in ("answer.saved", "evidence.linked")]
        a, e = assessment_id, row.id
    assert approval == (
        "assessment.approved",
        "assessment",
        str(a),
        '{"status":"submitted"}',
        '{"approved_by":"lead","status":"approved"}',
    )
    assert carried == [
        (
            "answer.saved",
            "answer",
            "CI-02",
            None,
            '{"carried_over":true,"from":' + str(a) + ',"note":"a note","value":"all"}',
        ),
        (
            "evidence.linked",
            "evidence_link",
            f"CI-02/{e}",
            None,
            '{"carried_over":true,"evidence":' + str(e) + ',"requirement":"CI-02"}',
        ),
    ]
