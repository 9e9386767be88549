"""The program dashboard on generated data with known answers: the heatmap, levels against
targets, stale assessments, evidence expiring in the next 30 days and overdue backlog items."""

from __future__ import annotations

import datetime as dt
import io
import re

from sqlalchemy import select

from assessment.extensions import db, report_store
from assessment.models import BacklogItem, FrameworkVersion
from assessment.services import assessments as svc
from assessment.services import audit
from assessment.services import evidence as evidence_svc
from assessment.services.backlog import generate
from tests.integration.helpers import example_version

TODAY = dt.date.today()


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


def build(app) -> dict:
    """Three scopes of the devops example; known expiries and due dates around today."""
    version_id = example_version(app)
    known: dict = {}
    with app.app_context(), audit.acting_as("test-setup"):
        version = db.session.get(FrameworkVersion, version_id)
        framework = svc.framework_of(version)
        store = report_store(app).evidence

        def assessment(scope, as_of, answers):
            a = svc.start_assessment(scope, version, 3, as_of)
            for rid, value in answers.items():
                svc.save_answer(a, framework, rid, value, None, 0, "alice")
            return a

        def evidence(a, rid, title, expires):
            row, _ = evidence_svc.add_file(
                store, a, rid, io.BytesIO(title.encode() + b"\n"), f"{title}.txt", title, None, expires, "alice"
            )
            return row.id

        alpha, beta, gamma = (svc.create_scope(n, "team") for n in ("Alpha", "Beta", "Gamma"))
        old_alpha = assessment(alpha, day(-200), {"CI-01": "no"})
        known["old_only"] = evidence(old_alpha, "CI-01", "old-cycle-only", day(5))  # not on the latest: not listed
        a = assessment(alpha, day(-10), {"CI-01": "yes", "CI-02": "all", "CI-03": "yes", "DEP-01": "yes"})
        known["in_10"] = evidence(a, "CI-01", "expires-in-10", day(10))
        known["in_40"] = evidence(a, "CI-02", "expires-in-40", day(40))
        known["gone"] = evidence(a, "CI-03", "expired-yesterday", day(-1))
        b = assessment(beta, day(-30), {"CI-01": "no", "CI-02": "none", "CI-03": "no"})
        known["in_30"] = evidence(b, "CI-01", "expires-in-30", day(30))
        c = assessment(gamma, day(-400), {"CI-02": "some"})
        for target in (b, c):
            generate(svc.load_state(target))
        items = {(i.scope_id, i.requirement_id): i for i in db.session.scalars(select(BacklogItem))}
        plan = [
            ((beta.id, "CI-01"), day(-3), "do", "overdue"),
            ((beta.id, "CI-02"), day(-40), "done", None),  # done: not overdue
            ((beta.id, "CI-03"), day(2), "plan", None),  # not due yet
            ((gamma.id, "CI-01"), day(-1), "check", "overdue"),
            ((gamma.id, "CI-03"), day(-9), "dropped", None),  # dropped: not overdue
        ]
        known["overdue"] = []
        for key, due, status, mark in plan:
            items[key].due_date, items[key].status = due, status
            if mark:
                known["overdue"].append(items[key].id)
        db.session.commit()
        known["scopes"] = {"Alpha": alpha.id, "Beta": beta.id, "Gamma": gamma.id}
    return known


def test_dashboard_lists_exactly_the_expiring_evidence_and_overdue_items(app, as_user):
    known = build(app)
    page = as_user("lead").get("/dashboard?framework=devops-delivery").get_data(as_text=True)
    expiring = [int(n) for n in re.findall(r'data-expiring="(\d+)"', page)]
    assert expiring == [known["in_10"], known["in_30"]]  # by expiry date; not 40 days, not expired, not an old cycle's
    overdue = [int(n) for n in re.findall(r'data-overdue="(\d+)"', page)]
    assert sorted(overdue) == sorted(known["overdue"])
    assert "data-overdue-count>2<" in page and "data-expiring-count>2<" in page
    assert re.findall(r"<li data-stale>(\w+):", page) == ["Gamma"]
    assert "data-scopes>3<" in page
    assert re.search(r'data-backlog="done">1<', page) and re.search(r'data-backlog="dropped">1<', page)
    # one row per scope in the heatmap, the latest cycle's figures
    assert re.findall(r'<tr data-scope="(\w+)">', page) == ["Alpha", "Beta", "Gamma"]


def test_dashboard_filters_by_scope(app, as_user):
    known = build(app)
    page = (
        as_user("lead")
        .get(f"/dashboard?framework=devops-delivery&scope={known['scopes']['Beta']}")
        .get_data(as_text=True)
    )
    assert re.findall(r'<tr data-scope="(\w+)">', page) == ["Beta"]
    assert [int(n) for n in re.findall(r'data-expiring="(\d+)"', page)] == [known["in_30"]]
    assert len(re.findall(r'data-overdue="(\d+)"', page)) == 1


def test_dashboard_is_for_program_leads(app, as_user):
    build(app)
    assert as_user("alice").get("/dashboard").status_code == 403
    assert as_user("audrey").get("/dashboard").status_code == 403
    assert as_user("admin").get("/dashboard").status_code == 200


def test_heatmap_columns_read_as_domain_titles(app, as_user):
    build(app)
    page = as_user("lead").get("/dashboard?framework=devops-delivery").get_data(as_text=True)
    heads = re.findall(r'<th scope="col" class="num domain" title="([^"]+)">(.*?)</th>', page)
    assert [full for full, _ in heads] == ["Continuous integration", "Deployment", "Operations"]
    assert (
        heads[0][1]
        == '<span aria-hidden="true">Continuous\u2026</span><span class="visually-hidden">Continuous integration</span>'
    )
    assert heads[1][1] == "Deployment"  # short enough to show whole
    assert ">CI<" not in page and ">DEP<" not in page


def test_all_frameworks_shows_a_heatmap_per_framework(app, as_user):
    build(app)
    version_id = example_version(app, "itgc-mini")
    with app.app_context(), audit.acting_as("test-setup"):
        scope = svc.create_scope("Ledger", "team")
        svc.start_assessment(scope, db.session.get(FrameworkVersion, version_id), None, day(-5))
        db.session.commit()
    page = as_user("lead").get("/dashboard?framework=all").get_data(as_text=True)
    assert re.findall(r'data-board="([\w-]+)"', page) == ["devops-delivery", "itgc-mini"]
    assert re.findall(r'<tr data-scope="(\w+)">', page) == ["Alpha", "Beta", "Gamma", "Ledger"]
    assert '<option value="all" selected>All frameworks</option>' in page
    one = as_user("lead").get("/dashboard").get_data(as_text=True)
    assert 'value="all"' in one and "data-board" not in one
