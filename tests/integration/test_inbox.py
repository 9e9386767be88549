"""The home page's "Waiting for you", per role, on known data: what each person must act on, each
item linking to its page, the count in the navigation, nothing of a scope they may not read, and
a query count that does not grow with the number of scopes."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import event, select

from assessment.extensions import db, report_store
from assessment.models import BacklogItem, FrameworkVersion
from assessment.services import assessments as svc
from assessment.services import audit, review
from assessment.services import evidence as evidence_svc
from assessment.services.backlog import generate
from tests.integration.helpers import example_version

TODAY = dt.date.today()


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


def build(app, extra_scopes: int = 0) -> dict:
    """Alpha (alice's team) and Beta (bob's), each with a draft, a returned and a submitted
    assessment, overdue backlog items, expiring evidence, and shares with the auditor audrey."""
    version_id = example_version(app)
    known: dict = {}
    with app.app_context(), audit.acting_as("test-setup"):
        version = db.session.get(FrameworkVersion, version_id)
        framework = svc.framework_of(version)
        store = report_store(app).evidence

        def assessment(scope, status, answers, comment=None):
            a = svc.start_assessment(scope, version, 3, day(-5))
            for rid, value in answers.items():
                svc.save_answer(a, framework, rid, value, None, 0, "alice")
            a.status, a.review_comment = status, comment
            if status == "submitted":
                a.submitted_by = "alice"
            return a

        def evidence(a, rid, title, expires):
            row, _ = evidence_svc.add_file(
                store, a, rid, io.BytesIO(title.encode() + b"\n"), f"{title}.txt", title, None, expires, "alice"
            )
            return row.id

        alpha, beta = svc.create_scope("Alpha", "team"), svc.create_scope("Beta", "team")
        for n in range(extra_scopes):
            extra = svc.create_scope(f"Extra {n:02}", "team")
            assessment(extra, "submitted", {"CI-01": "yes"})
            generate(svc.load_state(assessment(extra, "draft", {"CI-01": "no"})))
        review.add_member(alpha, "alice")
        review.add_member(beta, "bob")
        known["a_draft"] = assessment(alpha, "draft", {"CI-01": "no", "CI-02": "none", "CI-03": "no", "DEP-01": "yes"})
        known["a_returned"] = assessment(alpha, "returned", {"CI-01": "yes"}, "Attach the Q3 review")
        known["a_submitted"] = assessment(alpha, "submitted", {"CI-01": "yes"})
        known["b_draft"] = assessment(beta, "draft", {"CI-01": "no", "CI-02": "none", "CI-03": "no"})
        known["b_returned"] = assessment(beta, "returned", {"CI-01": "yes"}, "Beta's private remark")
        known["b_submitted"] = assessment(beta, "submitted", {"CI-01": "yes"})
        known["in_10"] = evidence(known["a_draft"], "DEP-01", "expires-in-10", day(10))
        known["in_40"] = evidence(known["b_draft"], "CI-01", "expires-in-40", day(40))
        known["gone"] = evidence(known["b_draft"], "CI-02", "expired-yesterday", day(-1))
        for target in (known["a_draft"], known["b_draft"]):
            generate(svc.load_state(target))
        items = {(i.scope_id, i.requirement_id): i for i in db.session.scalars(select(BacklogItem))}
        plan = {
            "alice_own": ((alpha.id, "CI-01"), day(-3), "do", "Alice"),
            "unowned": ((alpha.id, "CI-02"), day(-2), "plan", None),
            "bobs_in_alpha": ((alpha.id, "CI-03"), day(-4), "plan", "bob"),
            "done": ((beta.id, "CI-02"), day(-40), "done", "bob"),
            "beta_alice": ((beta.id, "CI-01"), day(-1), "check", "alice"),  # alice is not on Beta's team
            "not_due": ((beta.id, "CI-03"), day(2), "plan", None),
        }
        for name, (key, due, status, owner) in plan.items():
            items[key].due_date, items[key].status, items[key].owner = due, status, owner
            known[name] = items[key].id
        review.share(known["a_submitted"], "audrey", "lead")
        review.share(known["b_submitted"], "audrey", "lead")
        review.share(known["a_draft"], "audrey", "lead")  # not open to review yet
        review.record_finding(known["b_submitted"], "CI-01", "audrey", "verified", None, None)
        db.session.commit()
        known = {k: (v.id if hasattr(v, "id") else v) for k, v in known.items()}
    return known


def home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(page: str, key: str) -> str:
    """The HTML of one inbox section ('' when it is not shown)."""
    match = re.search(rf'<section class="card inbox"[^>]*data-inbox="{key}">(.*?)</section>', page, re.S)
    return match.group(1) if match else ""


def links(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


def nav_count(page: str) -> int | None:
    match = re.search(r'<span class="nav-count">(\d+)<span class="visually-hidden"> waiting</span>', page)
    return int(match.group(1)) if match else None


def test_team_member_sees_what_to_answer_returned_comments_and_their_overdue_items(app, as_user):
    known = build(app)
    page = home(as_user("alice"))
    answer = section(page, "answer")
    assert links(answer) == {f"/assessments/{known['a_draft']}/domains/0"}
    assert "(4 of " in answer and "% answered" in answer
    returned = section(page, "returned")
    assert links(returned) == {f"/assessments/{known['a_returned']}/results#review"}
    assert "Attach the Q3 review" in returned
    overdue = section(page, "overdue")
    assert links(overdue) == {
        f"/assessments/{known['a_draft']}/backlog#item-{known['alice_own']}",
        f"/assessments/{known['a_draft']}/backlog#item-{known['unowned']}",
    }
    assert section(page, "review") == section(page, "expiring") == section(page, "shared") == ""
    # nothing of Beta, which alice may not read
    assert "Beta" not in page and "private remark" not in page
    assert nav_count(page) == 4


def test_another_team_member_sees_only_their_scope(app, as_user):
    known = build(app)
    page = home(as_user("bob"))
    assert links(section(page, "answer")) == {f"/assessments/{known['b_draft']}/domains/0"}
    assert "Beta&#39;s private remark" in section(page, "returned")
    assert "Attach the Q3 review" not in page and "Alpha" not in page
    assert section(page, "overdue") == ""  # his Alpha item is not on his team; his Beta one is done
    assert nav_count(page) == 2


@pytest.mark.parametrize("username", ["lead", "admin"])
def test_leads_and_admins_see_reviews_overdue_items_and_expiring_evidence_across_scopes(app, as_user, username):
    known = build(app)
    page = home(as_user(username))
    assert links(section(page, "review")) == {
        f"/assessments/{known['a_submitted']}/results#review",
        f"/assessments/{known['b_submitted']}/results#review",
    }
    overdue = links(section(page, "overdue"))
    assert {href.rsplit("-", 1)[1] for href in overdue} == {
        str(known[k]) for k in ("alice_own", "unowned", "bobs_in_alpha", "beta_alice")
    }
    expiring = section(page, "expiring")
    assert "expires-in-10" in expiring and "expires-in-40" not in expiring and "expired-yesterday" not in expiring
    assert links(expiring) == {f"/scopes/{_scope_of(app, known['a_draft'])}#evidence-{known['in_10']}"}
    assert section(page, "answer") == section(page, "returned") == ""
    assert nav_count(page) == 2 + 4 + 1


def _scope_of(app, assessment_id: int) -> int:
    from assessment.models import Assessment

    with app.app_context():
        return db.session.get(Assessment, assessment_id).scope_id


def test_the_evidence_link_leads_to_its_row_on_the_scope_page(app, as_user):
    known = build(app)
    lead = as_user("lead")
    scope_page = lead.get(f"/scopes/{_scope_of(app, known['a_draft'])}").get_data(as_text=True)
    assert f'id="evidence-{known["in_10"]}"' in scope_page


def test_auditor_sees_shared_assessments_they_have_not_reviewed(app, as_user):
    known = build(app)
    page = home(as_user("audrey"))
    assert links(section(page, "shared")) == {f"/assessments/{known['a_submitted']}/results#findings"}
    assert nav_count(page) == 1
    # once they record a verification, it no longer waits for them
    audrey = as_user("audrey")
    response = audrey.post(
        f"/assessments/{known['a_submitted']}/findings", data={"requirement_id": "CI-01", "verdict": "verified"}
    )
    assert response.status_code == 302
    page = home(audrey)
    assert section(page, "shared") == "" and nav_count(page) is None
    assert "Nothing is waiting for you." in page


def test_an_empty_inbox_says_so(app, as_user):
    build(app)
    page = home(as_user("otto"))
    assert "Nothing is waiting for you." in page
    assert nav_count(page) is None


def _queries(app, client) -> int:
    count = 0

    def counter(*_args, **_kwargs):
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        home(client)
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return count


@pytest.mark.parametrize("username", ["lead", "alice", "audrey"])
def test_the_inbox_costs_the_same_queries_for_two_scopes_or_twenty(app, as_user, username):
    build(app)
    few = _queries(app, as_user(username))
    with app.app_context(), audit.acting_as("test-setup"):
        version = db.session.get(FrameworkVersion, example_version(app))
        for n in range(18):
            scope = svc.create_scope(f"More {n:02}", "team")
            review.add_member(scope, "alice")
            for status in ("draft", "returned", "submitted"):
                a = svc.start_assessment(scope, version, 3, day(-5))
                a.status, a.review_comment = status, "More work"
                if status == "submitted":
                    review.share(a, "audrey", "lead")
        db.session.commit()
    client = as_user(username)
    page = home(client)
    assert nav_count(page) >= 18
    assert _queries(app, client) == few
