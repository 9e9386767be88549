"""The release review and gates pages (delivery-events.md, section 4) over the spec's example events."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import AuditEntry, BacklogItem, ReleaseReview, Scope
from assessment.services import delivery, review
from assessment.services.releases import MAX_ANSWER
from tests.conftest import EXAMPLES
from tests.integration.conftest import sign_in_as
from tests.integration.helpers import make_scope

EXAMPLE = EXAMPLES / "delivery" / "checkout.events.jsonl"
ANSWERS = {"went_better": "The scan was quick.", "went_worse": "A rollback.", "one_change": "Automate approval"}


@pytest.fixture
def world(app, client, devops):
    """The example's events in the devops assessment's scope (alice's team), and a second scope of bob's."""
    _assessment, scope_id = devops
    other = make_scope(client, "Other")
    with app.app_context():
        scope = db.session.get(Scope, scope_id)
        delivery.add_file(scope, "checkout.events.jsonl", EXAMPLE.read_bytes(), source="upload", actor="admin")
        review.add_member(scope, "alice")
        review.add_member(db.session.get(Scope, other), "bob")
        db.session.commit()
    return scope_id, other


def _url(scope_id: int, deployment: str = "dep-1") -> str:
    return f"/scopes/{scope_id}/delivery/checkout/releases/{deployment}"


def _counts(app) -> tuple:
    with app.app_context():
        counted = tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (ReleaseReview, BacklogItem, AuditEntry)
        )
        db.session.remove()
    return counted


def test_the_review_of_dep_1_is_prefilled_from_the_events(app, world):
    scope_id, _other = world
    page = sign_in_as(app.test_client(), "alice").get(_url(scope_id)).get_data(as_text=True)
    assert 'data-fact="lead_time">25.5 h' in page
    assert 'data-fact="changes">2' in page and 'data-change="b2c4"' in page and 'data-change="c3d5"' in page
    assert 'data-fact="failed_builds">1: ci-101' in page
    assert 'data-fact="gate_wait">3.5 h' in page
    assert 'data-incident="INC-7"' in page and "1.5 h" in page
    assert 'data-fact="rolled_back">yes, by dep-2' in page and 'data-fact="failed">yes' in page
    assert 'data-gate="change-approval"' in page and 'data-gate="security-scan"' in page


@pytest.mark.parametrize("deployment", ["dep-3", "nope", "s-1", "dep-1/../dep-2", "x" * 300])
def test_what_is_not_a_live_production_deployment_of_the_service_is_not_found(app, world, deployment):
    scope_id, _other = world
    assert sign_in_as(app.test_client(), "alice").get(_url(scope_id, deployment)).status_code == 404


def test_a_member_saves_the_checklist_and_adds_the_one_change_to_the_backlog(app, world):
    scope_id, _other = world
    alice = sign_in_as(app.test_client(), "alice")
    response = alice.post(_url(scope_id), data={**ANSWERS, "to_backlog": "1"})
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.scalars(select(ReleaseReview)).one()
        assert (saved.deployment_id, saved.one_change, saved.updated_by) == ("dep-1", "Automate approval", "alice")
        item = db.session.get(BacklogItem, saved.backlog_item_id)
        assert item.title == "Automate approval" and item.scope_id == scope_id
        assert item.priority_reasons == "came from release dep-1 of checkout"
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"release_review.saved", "backlog.item_added"} <= actions
        assessment_id = item.assessment_id
    backlog = alice.get(f"/assessments/{assessment_id}/backlog").get_data(as_text=True)
    assert "Automate approval" in backlog and "came from release dep-1 of checkout" in backlog
    page = alice.get(_url(scope_id)).get_data(as_text=True)
    assert "A rollback." in page and f"backlog item {saved.backlog_item_id}" in page
    moved = alice.post(
        f"/assessments/{assessment_id}/backlog/{saved.backlog_item_id}", data={"status": "do", "owner": "alice"}
    )
    assert moved.status_code == 302  # the release's item is managed like any other
    assert "Automate approval" in alice.get(f"/assessments/{assessment_id}/backlog.csv").get_data(as_text=True)
    before = _counts(app)
    alice.post(_url(scope_id), data={**ANSWERS, "to_backlog": "1"})  # a second click adds no second item
    assert _counts(app)[1] == before[1]


@pytest.mark.parametrize(
    ("who", "where", "data"),
    [
        ("audrey", "mine", ANSWERS),
        ("bob", "mine", ANSWERS),
        ("alice", "other", ANSWERS),
        ("alice", "mine", {**ANSWERS, "went_worse": "x" * (MAX_ANSWER + 1)}),
        ("alice", "unknown", ANSWERS),
    ],
)
def test_who_may_not_or_what_is_bad_changes_nothing(app, world, who, where, data):
    scope_id, other = world
    url = {"mine": _url(scope_id), "other": _url(other), "unknown": _url(scope_id, "dep-9")}[where]
    before = _counts(app)
    response = sign_in_as(app.test_client(), who).post(url, data={**data, "to_backlog": "1"})
    assert response.status_code in (403, 404, 422)
    assert _counts(app) == before


def test_the_gates_page_marks_the_gates_that_caught_nothing(app, world):
    scope_id, _other = world
    alice = sign_in_as(app.test_client(), "alice")
    page = alice.get(f"/scopes/{scope_id}/delivery/checkout/gates?days=30&as_of=2026-11-30").get_data(as_text=True)
    assert page.count("Candidate for pruning.") == 2
    assert "Never failed in 2 run(s), while 1 deployment(s) it passed failed" in page  # change-approval: dep-1, dep-4
    assert "Never failed in 1 run(s), while 1 deployment(s) it passed failed" in page  # security-scan
    assert "4.0 h" in page  # change-approval's manual waits: 3.5 h and 0.5 h
    assert sign_in_as(app.test_client(), "bob").get(f"/scopes/{scope_id}/delivery/checkout/gates").status_code == 404


def test_0014_adds_the_release_reviews_and_goes_back_down(ctx):
    """Before 0014 there is no release_review table; up again one deployment of a scope has at most one review."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import IntegrityError

    db.session.remove()
    downgrade(revision="0013")
    try:
        assert "release_review" not in inspect(db.engine).get_table_names()
    finally:
        upgrade()
    assert "release_review" in inspect(db.engine).get_table_names()
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO scope (name, kind, created_at) VALUES ('Migrated', 'team', CURRENT_TIMESTAMP)"))
    insert = text(
        "INSERT INTO release_review (scope_id, service, deployment_id, went_better, went_worse, one_change, "
        "updated_by, updated_at) SELECT id, 'checkout', 'dep-1', '', '', '', 'alice', CURRENT_TIMESTAMP "
        "FROM scope WHERE name = 'Migrated'"
    )
    with db.engine.begin() as conn:
        conn.execute(insert)
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(insert)
