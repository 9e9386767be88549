"""The improvement backlog: generated from gaps without duplicates, managed, filtered, exported."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import BacklogItem
from tests.integration.helpers import autosave


def items(app) -> list[BacklogItem]:
    with app.app_context():
        return list(db.session.scalars(select(BacklogItem).order_by(BacklogItem.priority.desc(), BacklogItem.id)))


def test_generate_one_item_per_gap_and_never_duplicate(app, client, devops):
    assessment, _ = devops
    autosave(client, assessment, "CI-02", "most")
    autosave(client, assessment, "DEP-01", "yes")
    assert client.post(f"/assessments/{assessment}/backlog/generate").status_code == 302
    first = items(app)
    # gaps up to level 3: CI-01, CI-02, CI-03 (unanswered), DEP-02, OPS-01, OPS-02 -- DEP-03 sits on level 4
    assert sorted(i.requirement_id for i in first) == ["CI-01", "CI-02", "CI-03", "DEP-02", "OPS-01", "OPS-02"]
    assert first[0].requirement_id in {"CI-01", "CI-02"}  # blockers of level 2 come first
    assert "blocks level 2" in first[0].priority_reasons
    assert client.post(f"/assessments/{assessment}/backlog/generate").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BacklogItem)) == 6


def test_item_fields_are_managed_and_checked(app, client, devops):
    assessment, scope = devops
    client.post(f"/scopes/{scope}/members", data={"username": "alice"})
    client.post(f"/assessments/{assessment}/backlog/generate")
    item = items(app)[0]
    response = client.post(
        f"/assessments/{assessment}/backlog/{item.id}",
        data={
            "owner": "alice",
            "due_date": "2027-01-31",
            "status": "do",
            "hypothesis": "If we gate merges, fewer rollbacks",
            "outcome": "",
        },
    )
    assert response.status_code == 302
    saved = next(i for i in items(app) if i.id == item.id)
    assert (saved.owner, str(saved.due_date), saved.status, saved.hypothesis) == (
        "alice",
        "2027-01-31",
        "do",
        "If we gate merges, fewer rollbacks",
    )
    forged = client.post(f"/assessments/{assessment}/backlog/{item.id}", data={"status": "finished"})
    assert forged.status_code == 400 and "Status must be one of plan, do, check, act, done, dropped" in forged.get_data(
        as_text=True
    )
    bad_date = client.post(f"/assessments/{assessment}/backlog/{item.id}", data={"status": "check", "due_date": "soon"})
    assert bad_date.status_code == 422 and "Due date: &#39;soon&#39; is not a date" in bad_date.get_data(as_text=True)
    assert next(i for i in items(app) if i.id == item.id).status == "do"


def test_item_of_another_scope_is_not_found(app, client, devops):
    from tests.integration.helpers import example_version, make_scope, start

    assessment, _ = devops
    client.post(f"/assessments/{assessment}/backlog/generate")
    other = start(client, make_scope(client, "Other"), example_version(app))
    item = items(app)[0]
    response = client.post(f"/assessments/{other}/backlog/{item.id}", data={"status": "done"})
    assert response.status_code == 404
    assert next(i for i in items(app) if i.id == item.id).status == "plan"


def test_filter_sort_and_csv(app, client, devops):
    assessment, scope = devops
    client.post(f"/scopes/{scope}/members", data={"username": "alice"})
    client.post(f"/assessments/{assessment}/backlog/generate")
    first, second = items(app)[:2]
    client.post(f"/assessments/{assessment}/backlog/{first.id}", data={"owner": "alice", "status": "do"})
    with app.app_context():  # an owner typed as free text before owners were chosen from the team
        db.session.get(BacklogItem, second.id).owner = '=HYPERLINK("http://x")'
        db.session.commit()
    client.post(
        f"/assessments/{assessment}/backlog/{second.id}",
        data={"owner": '=HYPERLINK("http://x")', "status": "plan", "due_date": "2027-02-01"},
    )
    page = client.get(f"/assessments/{assessment}/backlog?status=do&unanswered=show").get_data(as_text=True)
    assert f'id="item-{first.id}"' in page and f'id="item-{second.id}"' not in page
    page = client.get(f"/assessments/{assessment}/backlog?sort=due&unanswered=show").get_data(as_text=True)
    assert page.index(f'id="item-{second.id}"') < page.index(f'id="item-{first.id}"')
    response = client.get(f"/assessments/{assessment}/backlog.csv?owner=alice")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert (
        rows[0][:3] == ["requirement_id", "title", "priority"] and len(rows) == 2 and rows[1][0] == first.requirement_id
    )
    everything = list(
        csv.reader(io.StringIO(client.get(f"/assessments/{assessment}/backlog.csv").get_data(as_text=True)))
    )
    owners = [row[4] for row in everything[1:]]
    assert '\'=HYPERLINK("http://x")' in owners  # a formula is neutralised for spreadsheets
