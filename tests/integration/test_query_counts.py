"""The questionnaire and results pages run a fixed number of queries, however big the framework."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from assessment.adapters.evidence_store import EvidenceStore
from assessment.domain.loader import load_framework_text
from assessment.extensions import db, report_store
from assessment.services.library import framework_of, store_framework
from assessment.services.transfer import import_upload
from bench.generate import answers_yaml, framework_yaml
from tests.integration.helpers import make_scope

pytestmark = pytest.mark.slow  # large generated frameworks


def seeded(app, client, requirements: int, name: str) -> int:
    """A fully answered assessment (a note and an evidence link each) of a generated framework."""
    text = framework_yaml(requirements).replace("id: bench-large", f"id: bench-{requirements}")
    scope = make_scope(client, name)
    with app.app_context():
        row, _ = store_framework(load_framework_text(text), text, "bench.yaml")
        answers = answers_yaml(framework_of(row), "2026-11-21")
        store = EvidenceStore(report_store(app).evidence.blobs, 1 << 20)
        from assessment.models import Scope

        result, _ = import_upload(db.session.get(Scope, scope), "a.yaml", answers.encode(), store, "seed", 1 << 20)
        db.session.commit()
        return result.assessment.id


def queries(app, client, url: str) -> int:
    count = 0

    def counter(*_args, **_kwargs):
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    assert response.status_code == 200
    return count


@pytest.mark.parametrize("page", ["domains/0", "domains/1", "results", "backlog"])
def test_query_count_does_not_grow_with_the_framework(app, client, page):
    small = seeded(app, client, 120, "Small")
    large = seeded(app, client, 600, "Large")
    html = client.get(f"/assessments/{large}/results").get_data(as_text=True)
    assert re.search(r'data-count="unanswered">0<', html)  # fully answered
    # The process parses each framework once (the mappings through shared tags read the library's
    # latest versions): a first visit fills that cache, and the count compared is the steady one.
    queries(app, client, f"/assessments/{small}/{page}")
    assert queries(app, client, f"/assessments/{small}/{page}") == queries(app, client, f"/assessments/{large}/{page}")


def test_long_gap_lists_show_the_first_hundred_unless_asked(app, client):
    large = seeded(app, client, 600, "Gappy")
    html = client.get(f"/assessments/{large}/results").get_data(as_text=True)
    shown = html.count("<tr><td><code>")
    assert "Showing the first 100 of" in html and shown == 100
    everything = client.get(f"/assessments/{large}/results?gaps=all").get_data(as_text=True)
    assert everything.count("<tr><td><code>") > 100 and "Showing the first" not in everything


@pytest.mark.parametrize("name", ["requirements.csv", "backlog.csv", "results.xlsx", "score.json"])
def test_an_export_reads_neither_the_audit_trail_nor_the_trend(app, client, name):
    """No export holds the trail or the trend chart, and on a big assessment they are the slowest parts to read
    (thousands of trail entries): under load the exports were the slowest responses."""
    assessment = seeded(app, client, 120, "Exported")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        response = client.get(f"/assessments/{assessment}/export/{name}")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 200
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert not [s for s in reads if "FROM audit_entry" in s and "audit_entry.assessment_id" in s], reads
    assert not [s for s in reads if "FROM score_snapshot" in s], reads
