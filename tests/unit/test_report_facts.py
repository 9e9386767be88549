"""The report model's sign-off, cover facts and provenance (issue 13, points 3 to 5), without an application."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from reports.model import NOT_STATED, Provenance, ReportMeta, Signatory, evidence_key
from reports.render import render_html
from reports.sources import report_from_files
from tests.conftest import EXAMPLES

FRAMEWORK, ANSWERS = EXAMPLES / "devops-delivery.yaml", EXAMPLES / "devops-delivery.answers.yaml"
AT = dt.datetime(2026, 11, 20, 14, 5, tzinfo=dt.UTC)


def report(**meta):
    """The devops example's report with these facts in its meta."""
    base = report_from_files(FRAMEWORK, ANSWERS)
    return report_from_files(FRAMEWORK, ANSWERS) if not meta else _rebuilt(base, **meta)


def _rebuilt(base, **changes):
    from assessment.domain.answers import read_answers_file
    from reports.model import build_report

    answers = read_answers_file(ANSWERS, base.framework)
    return build_report(base.framework, answers, dataclasses.replace(base.meta, **changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"period_start": dt.date(2026, 10, 1)},
        {"organisation": "Example Bank AG"},
        {"confidentiality": "Internal"},
        {"scope_description": "The payments team"},
        {"preparer": Signatory("Ada Admin", "Admin", AT)},
        {"reviewers": (Signatory("Audrey Auditor", "Auditor", AT),)},
        {"approver": Signatory("Lee Lead", "Program lead", AT)},
        {"reviewers": (Signatory("Audrey Auditor", "Auditor", AT + dt.timedelta(minutes=1)),)},
    ],
)
def test_every_new_fact_is_part_of_the_report_id(changes):
    assert report(**changes).id != report().id


def test_what_changes_without_the_content_is_not_part_of_the_id():
    plain = report()
    later = report(generated_at=plain.meta.generated_at + dt.timedelta(hours=3), product_version="9.9.9")
    assert later.id == plain.id
    # the default period, given explicitly, is the same period
    assert report(period_start=dt.date(2026, 8, 23)).id == plain.id
    # a file report keeps the id it had before these facts existed (tests/unit/test_report_review.py pins it)
    assert plain.meta.prepared_by == NOT_STATED and plain.id == "RPT-DEBF-7D98-937A"


def test_provenance_is_part_of_the_id_and_printed():
    base = report()
    item = next(e for a in _answers(base).answers.values() for e in a.evidence if e.file)
    from assessment.domain.answers import read_answers_file
    from reports.model import build_report

    answers = read_answers_file(ANSWERS, base.framework)
    made = build_report(
        base.framework,
        answers,
        base.meta,
        provenance={evidence_key(item): Provenance("Ada Admin", AT, "upload", "text/plain")},
    )
    assert made.id != base.id
    entry = next(e for e in made.evidence if e.provenance)
    assert (entry.origin, entry.provenance.attached_by) == ("upload", "Ada Admin")
    html = render_html(made)
    assert "Ada Admin" in html and "2026-11-20 14:05 UTC" in html and "text/plain" in html
    assert "answers file" in render_html(base)  # an answers file's items say where they came from


def _answers(base):
    from assessment.domain.answers import read_answers_file

    return read_answers_file(ANSWERS, base.framework)


def test_a_period_after_as_of_is_refused():
    with pytest.raises(ValueError, match="after its as-of date 2026-11-21"):
        report(period_start=dt.date(2026, 11, 22))


def test_the_signoff_rows_name_each_person_with_role_and_time():
    meta = ReportMeta(
        scope="x",
        status="approved",
        prepared_by="Ada Admin",
        preparer=Signatory("Ada Admin", "Admin", AT),
        reviewers=(Signatory("Audrey Auditor", "Auditor", AT), Signatory("otto", None, AT)),
        approver=Signatory("Lee Lead", "Program lead", AT),
        approved_by="Lee Lead",
        approved_at=AT,
    )
    rows = meta.signoff_rows
    assert [r[:4] for r in rows] == [
        ("Prepared by", "Ada Admin", "Admin", "2026-11-20 14:05 UTC"),
        ("Reviewed by", "Audrey Auditor", "Auditor", "2026-11-20 14:05 UTC"),
        ("Reviewed by", "otto", "—", "2026-11-20 14:05 UTC"),  # a user since removed: the user name
        ("Approved by", "Lee Lead", "Program lead", "2026-11-20 14:05 UTC"),
    ]
    assert meta.status_text == "approved" and meta.approval_text == "Approved by Lee Lead on 2026-11-20 14:05 UTC"
    assert not meta.is_draft and meta.draft_mark is None


@pytest.mark.parametrize(
    ("status", "mark", "text"),
    [
        ("draft", "DRAFT", "draft (not submitted, not approved)"),
        ("returned", "DRAFT (returned)", "returned for changes (a draft, not approved)"),
        ("submitted", None, "submitted, not yet approved"),
        ("answers file", None, "answers file"),
    ],
)
def test_the_status_as_the_cover_states_it(status, mark, text):
    meta = ReportMeta(scope="x", status=status)
    assert (meta.draft_mark, meta.status_text) == (mark, text)


def test_the_draft_mark_is_in_every_part_documents_page_rule():
    html = render_html(report(status="draft"))
    assert '@top-center { content: "DRAFT"; }' in html
    assert "@top-center" not in render_html(report()).split("</style>")[0].split("<style>")[-1]


def test_a_drafts_summary_calls_its_score_provisional():
    html = render_html(report(status="draft"))
    assert "out of 100 (provisional: not yet approved, its figures can still change)" in html
    assert "of 100, provisional</span>" in html
    approved = render_html(report())
    assert "provisional" not in approved
