"""The audit trail page (issue 14): changed fields instead of JSON, filters as choices, a stated
order, a CSV export recorded in the trail, and a "Verify the chain" button for admins."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select, text

from assessment.extensions import db
from assessment.models import AuditEntry, BacklogItem
from tests.integration.helpers import autosave


def rows(html: str) -> str:
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""


def seqs(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<tr>\s*<td>(\d+)</td>", rows(html))]


def changed_item(app, client, devops) -> int:
    assessment, scope = devops
    client.post(f"/scopes/{scope}/members", data={"username": "alice"})
    autosave(client, assessment, "CI-01", "no")
    client.post(f"/assessments/{assessment}/backlog/generate")
    with app.app_context():
        item = db.session.scalars(select(BacklogItem).where(BacklogItem.requirement_id == "CI-01")).one()
    client.post(f"/assessments/{assessment}/backlog/{item.id}", data={"status": "do", "owner": "alice"})
    return item.id


def test_before_and_after_show_as_the_changed_fields(app, client, devops):
    item = changed_item(app, client, devops)
    html = client.get("/audit?action=backlog.item_changed").get_data(as_text=True)
    body = rows(html)
    assert f"backlog item {item}" in body
    assert '<span class="field">status</span>: <span class="old">plan</span>' in body
    assert '<span class="new">do</span>' in body
    assert '<span class="field">owner</span>: <span class="old">—</span>' in body
    assert '{"' not in body and "&#34;" not in body and 'class="json"' not in html  # no raw JSON


def test_filters_are_choices_of_what_the_trail_holds(app, client, as_user, devops):
    changed_item(app, client, devops)
    html = client.get("/audit").get_data(as_text=True)
    for name in ("actor", "action", "object_type", "scope", "assessment", "order"):
        assert f'<select name="{name}">' in html, name
    assert '<input name="actor"' not in html and '<input name="assessment"' not in html
    actors = re.search(r'<select name="actor">(.*?)</select>', html).group(1)
    assert '<option value="admin" >admin</option>' in actors and '<option value="test-setup" >' in actors
    actions = re.search(r'<select name="action">(.*?)</select>', html).group(1)
    assert 'value="backlog.item_changed"' in actions and 'value="login"' not in actions
    assert '<option value="1" >Payments · devops-delivery · as of' in html
    # an outsider is offered only what they may see
    bob = as_user("bob").get("/audit").get_data(as_text=True)
    assert 'value="backlog.item_changed"' not in bob and 'value="admin"' not in bob
    assessment, _ = devops
    autosave(as_user("alice"), assessment, "CI-02", "some")
    chosen = rows(client.get("/audit?actor=alice").get_data(as_text=True))
    actors_listed = re.findall(r"<tr>\s*<td>\d+</td><td>[^<]*</td><td>([^<]*)</td>", chosen)
    assert actors_listed and set(actors_listed) == {"alice"}


def test_the_order_is_stated_and_can_be_chosen(app, client, devops):
    changed_item(app, client, devops)
    newest = client.get("/audit").get_data(as_text=True)
    assert "Listed newest first." in newest and "oldest to newest" not in newest
    assert seqs(newest) == sorted(seqs(newest), reverse=True) and len(seqs(newest)) > 3
    oldest = client.get("/audit?order=oldest").get_data(as_text=True)
    assert "Listed oldest first." in oldest and seqs(oldest) == sorted(seqs(newest))
    assert '<option value="oldest" selected>' in oldest


def test_csv_export_of_the_filtered_trail_is_itself_recorded(app, client, devops):
    item = changed_item(app, client, devops)
    response = client.get("/audit.csv?action=backlog.item_changed&order=oldest")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert table[0][:6] == ["seq", "at", "actor", "action", "object_type", "object_id"] and "changes" in table[0]
    assert len(table) == 2 and table[1][3] == "backlog.item_changed" and table[1][5] == str(item)
    changes = table[1][table[0].index("changes")]
    assert "owner: — -> alice" in changes and "status: plan -> do" in changes
    with app.app_context():
        exported = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.exported")).one()
        assert exported.actor == "admin" and exported.object_type == "audit_trail"
        assert '"entries":1' in exported.after and '"action":"backlog.item_changed"' in exported.after
    assert "audit.exported" in rows(client.get("/audit").get_data(as_text=True))


def test_admins_verify_the_chain_from_the_page(app, client, as_user, devops):
    changed_item(app, client, devops)
    assert 'action="/audit/verify"' in client.get("/audit").get_data(as_text=True)
    for name in ("lead", "alice", "audrey"):
        page = as_user(name).get("/audit").get_data(as_text=True)
        assert "Verify the chain" not in page, name
        assert as_user(name).post("/audit/verify").status_code == 403, name
    assert app.test_client().post("/audit/verify").status_code in (302, 401)
    response = client.post("/audit/verify")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    with app.app_context():
        count, head = db.session.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).one()
    assert 'data-verify="ok"' in html and f"Chain intact: {count} entries, head {head}." in html


def test_a_broken_chain_names_its_first_broken_entry(app, client, devops):
    changed_item(app, client, devops)
    with app.app_context():
        db.session.execute(text("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 3"))
        db.session.commit()
    html = client.post("/audit/verify").get_data(as_text=True)
    assert 'data-verify="broken"' in html and "Chain BROKEN at entry 3" in html
