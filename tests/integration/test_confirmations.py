"""Irreversible or destructive actions need their confirmation: the first post answers with a page
saying what the action means and changes nothing; only the post with confirm=1 acts."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import Assessment, EvidenceLink, User
from tests.integration.helpers import autosave


def _status(app, assessment: int) -> str:
    with app.app_context():
        status = db.session.get(Assessment, assessment).status
        db.session.remove()
        return status


def _confirmation(response, *texts: str) -> str:
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    assert 'name="confirm" value="1"' in html and ">Cancel</a>" in html
    for text in texts:
        assert text in html, text
    return html


def _submitted(client, as_user, devops) -> int:
    assessment, scope = devops
    client.post(f"/scopes/{scope}/members", data={"username": "alice"})
    alice = as_user("alice")
    assert autosave(alice, assessment, "CI-02", "most").status_code == 200
    _confirmation(alice.post(f"/assessments/{assessment}/submit"), "unanswered", "% complete")
    assert alice.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    return assessment


def test_submit_with_unanswered_questions_asks_first(app, client, as_user, devops):
    assessment, _ = devops
    autosave(client, assessment, "CI-02", "most")
    html = _confirmation(client.post(f"/assessments/{assessment}/submit"))
    total = re.search(r"Submit with (\d+) of (\d+) questions unanswered", html)
    assert total and int(total.group(1)) == int(total.group(2)) - 1
    assert _status(app, assessment) == "draft"
    assert client.post(f"/assessments/{assessment}/submit", data={"confirm": "1"}).status_code == 302
    assert _status(app, assessment) == "submitted"


def test_approve_says_what_it_means_and_acts_only_when_confirmed(app, client, as_user, devops):
    assessment = _submitted(client, as_user, devops)
    lead = as_user("lead")
    html = _confirmation(
        lead.post(f"/assessments/{assessment}/approve"), "Approve and lock this assessment?", "% complete", "unanswered"
    )
    assert f'action="/assessments/{assessment}/approve"' in html
    assert _status(app, assessment) == "submitted"
    response = lead.post(f"/assessments/{assessment}/approve", data={"confirm": "1"})
    assert response.status_code == 302 and _status(app, assessment) == "approved"
    page = lead.get(response.headers["Location"]).get_data(as_text=True)
    assert 'role="status"' in page and "Approved. The assessment is locked" in page


def test_return_keeps_its_comment_through_the_confirmation(app, client, as_user, devops):
    assessment = _submitted(client, as_user, devops)
    lead = as_user("lead")
    html = _confirmation(lead.post(f"/assessments/{assessment}/return", data={"comment": "Attach the Q3 review"}))
    assert 'name="comment" value="Attach the Q3 review"' in html
    assert _status(app, assessment) == "submitted"
    response = lead.post(f"/assessments/{assessment}/return", data={"comment": "Attach the Q3 review", "confirm": "1"})
    assert response.status_code == 302 and _status(app, assessment) == "returned"


def _links(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(EvidenceLink))
        db.session.remove()
        return n


def test_removing_evidence_is_confirmed_and_can_be_undone(app, client, devops):
    assessment, _ = devops
    url = f"/assessments/{assessment}/requirements/CI-01/evidence"
    assert client.post(url, data={"url": "https://wiki.example.com/pipeline", "title": "Pipeline"}).status_code == 302
    with app.app_context():
        evidence = db.session.scalar(select(EvidenceLink.evidence_id))
    remove = f"{url}/{evidence}/remove"
    _confirmation(client.post(remove), f"Remove evidence #{evidence} from CI-01?", "Pipeline")
    assert _links(app) == 1
    response = client.post(remove, data={"confirm": "1"})
    assert response.status_code == 302 and _links(app) == 0
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Evidence #{evidence} (Pipeline) removed from CI-01." in page
    undo = re.search(
        r'<form class="inline" method="post" action="([^"]+)">.*?name="evidence_id" value="(\d+)"', page, re.S
    )
    assert undo and undo.group(1) == f"{url}/reuse" and undo.group(2) == str(evidence)
    assert client.post(undo.group(1), data={"evidence_id": undo.group(2)}).status_code == 302
    assert _links(app) == 1
    # another assessment's evidence, or one not linked here, is not found
    assert client.post(f"{url}/999999/remove", data={"confirm": "1"}).status_code == 404


def test_disabling_a_user_is_confirmed(app, client):
    with app.app_context():
        alice = db.session.scalar(select(User).where(User.username == "alice")).id
        db.session.remove()
    _confirmation(
        client.post(f"/users/{alice}/disabled", data={"disabled": "1"}), "Disable alice?", "every open session"
    )
    with app.app_context():
        assert db.session.get(User, alice).disabled is False
        db.session.remove()
    assert client.post(f"/users/{alice}/disabled", data={"disabled": "1", "confirm": "1"}).status_code == 302
    with app.app_context():
        assert db.session.get(User, alice).disabled is True
        db.session.remove()
    # enabling again changes nothing irreversible: no confirmation
    assert client.post(f"/users/{alice}/disabled", data={"disabled": "0"}).status_code == 302
