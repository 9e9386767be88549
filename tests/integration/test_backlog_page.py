"""The backlog page (issue 14): a compact list by PDCA status, one line an item, ranks and reasons in
words, one item edited at a time, owners from the scope's team, unanswered items hidden by default,
and links to the requirement's own domain page."""

from __future__ import annotations

import re

from sqlalchemy import select

from assessment.extensions import db
from assessment.models import AuditEntry, BacklogItem
from tests.integration.helpers import autosave, example_version, make_scope, start


def generated(app, client, devops) -> tuple[int, dict[str, BacklogItem]]:
    """The devops backlog with three answered gaps (CI-01 not met, CI-02 partly, OPS-02 not met) and
    four unanswered ones (CI-03, DEP-01, DEP-02, OPS-01); alice is in the scope's team."""
    assessment, scope = devops
    assert client.post(f"/scopes/{scope}/members", data={"username": "alice"}).status_code == 302
    autosave(client, assessment, "CI-01", "no")
    autosave(client, assessment, "CI-02", "some")
    autosave(client, assessment, "OPS-02", "no")
    client.post(f"/assessments/{assessment}/backlog/generate")
    with app.app_context():
        return assessment, {i.requirement_id: i for i in db.session.scalars(select(BacklogItem))}


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_list_has_one_line_an_item_by_status_with_ranks_and_reasons(app, client, devops):
    assessment, items = generated(app, client, devops)
    client.post(f"/assessments/{assessment}/backlog/{items['OPS-02'].id}", data={"status": "do"})
    html = page_of(client, f"/assessments/{assessment}/backlog")
    # no form is open: no text box, no owner select, until an item's Edit is followed
    assert "<textarea" not in html and 'name="owner"' not in html.split('class="filters"', 1)[1].split("</form>", 1)[1]
    assert html.count('class="edit"') == 3
    assert re.search(r'<h2 id="group-plan">Plan <small>2', html) and re.search(r'<h2 id="group-do">Do <small>1', html)
    assert html.index('id="group-plan"') < html.index('id="group-do"')
    assert "Priority" not in html
    ci01 = html.split(f'id="item-{items["CI-01"].id}"', 1)[1].split("</li>", 1)[0]
    assert re.search(r'<span class="rank"><span class="visually-hidden">Rank </span>1</span>', ci01)
    assert "blocks level 2, L2 practice (2 levels build on it), not met" in ci01
    ci02 = html.split(f'id="item-{items["CI-02"].id}"', 1)[1].split("</li>", 1)[0]
    assert "partly met (" in ci02 and "Rank </span>2<" in ci02


def test_one_item_is_edited_at_a_time_and_saving_returns_to_it(app, client, devops):
    assessment, items = generated(app, client, devops)
    item = items["CI-02"]
    html = page_of(client, f"/assessments/{assessment}/backlog?edit={item.id}")
    assert html.count("<textarea") == 2 and html.count('name="hypothesis"') == 1
    form = html.split(f'id="item-{item.id}"', 1)[1].split("</li>", 1)[0]
    assert 'name="hypothesis"' in form and '<option value="alice" >Alice (alice)</option>' in form
    assert 'class="edit"' not in form and ">Cancel</a>" in form
    response = client.post(
        f"/assessments/{assessment}/backlog/{item.id}?status=&sort=due",
        data={"owner": "alice", "status": "do", "due_date": "2027-03-01", "hypothesis": "Cache", "outcome": ""},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/assessments/{assessment}/backlog?sort=due#item-{item.id}")
    with app.app_context():
        saved = db.session.get(BacklogItem, item.id)
        assert (saved.owner, saved.status, str(saved.due_date), saved.hypothesis) == (
            "alice",
            "do",
            "2027-03-01",
            "Cache",
        )
    listed = page_of(client, f"/assessments/{assessment}/backlog")
    line = listed.split(f'id="item-{item.id}"', 1)[1].split("</li>", 1)[0]
    assert "Alice · due 2027-03-01" in line and "<textarea" not in listed


def test_an_owner_outside_the_scopes_team_is_refused_beside_the_field(app, client, devops):
    assessment, items = generated(app, client, devops)
    item = items["CI-01"]
    for outsider in ("bob", "Dana"):  # a member of another scope, and free text
        response = client.post(
            f"/assessments/{assessment}/backlog/{item.id}",
            data={"owner": outsider, "status": "check", "hypothesis": "kept"},
        )
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        form = html.split(f'id="item-{item.id}"', 1)[1].split("</li>", 1)[0]
        assert 'aria-invalid="true" aria-describedby="owner-error"' in form
        assert f"&#39;{outsider}&#39; is not in this scope&#39;s team" in form.split('id="owner-error"', 1)[1]
        assert ">kept</textarea>" in form  # what was typed comes back
    with app.app_context():
        saved = db.session.get(BacklogItem, item.id)
        assert (saved.owner, saved.status, saved.hypothesis) == (None, "plan", None)
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "backlog.item_changed")) is None


def test_items_for_unanswered_questions_are_hidden_by_default_with_their_count(app, client, devops):
    assessment, items = generated(app, client, devops)
    html = page_of(client, f"/assessments/{assessment}/backlog")
    assert 'data-hidden-unanswered="4"' in html and "4 items for unanswered questions hidden" in html
    for rid in ("CI-03", "DEP-01", "DEP-02", "OPS-01"):
        assert f'id="item-{items[rid].id}"' not in html
    assert "Improvement backlog <small>3 of 7</small>" in html
    shown = page_of(client, f"/assessments/{assessment}/backlog?unanswered=show")
    assert all(f'id="item-{i.id}"' in shown for i in items.values())
    assert "not answered yet" in shown.split(f'id="item-{items["OPS-01"].id}"', 1)[1].split("</li>", 1)[0]
    assert f'href="/assessments/{assessment}/backlog?unanswered=show"' in html  # the link that shows them


def test_the_requirement_link_goes_to_its_own_domain_page(app, client, devops):
    assessment, items = generated(app, client, devops)
    html = page_of(client, f"/assessments/{assessment}/backlog?unanswered=show")
    # CI is the first domain, DEP the second, OPS the third
    assert f'href="/assessments/{assessment}/domains/0#req-CI-01"' in html
    assert f'href="/assessments/{assessment}/domains/1#req-DEP-02"' in html
    assert f'href="/assessments/{assessment}/domains/2#req-OPS-02"' in html
    target = page_of(client, f"/assessments/{assessment}/domains/2")
    assert 'id="req-OPS-02"' in target


def test_editing_another_backlogs_item_is_not_found(app, client, devops):
    assessment, items = generated(app, client, devops)
    other = start(client, make_scope(client, "Other"), example_version(app))
    assert client.get(f"/assessments/{other}/backlog?edit={items['CI-01'].id}").status_code == 404
    assert client.get(f"/assessments/{assessment}/backlog?edit=99999").status_code == 404


def test_readers_without_backlog_rights_get_no_edit_links(app, client, as_user, devops):
    assessment, items = generated(app, client, devops)
    assert client.post(f"/assessments/{assessment}/shares", data={"username": "audrey"}).status_code == 302
    html = page_of(as_user("audrey"), f"/assessments/{assessment}/backlog?edit={items['CI-01'].id}")
    assert f'id="item-{items["CI-01"].id}"' in html
    assert 'class="edit"' not in html and "<textarea" not in html and "Generate from gaps" not in html
