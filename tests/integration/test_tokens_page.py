"""The Tokens page (/account/tokens): one's own tokens without their secret, a new one's secret shown once,
revocation after a confirmation, each on the trail; linked from the account menu."""

from __future__ import annotations

import re

from sqlalchemy import select

from assessment.extensions import db
from assessment.models import ApiToken, AuditEntry, User
from assessment.services import tokens

SECRET = re.compile(r"asm_[A-Za-z0-9_-]{40,}")


def _tokens_of(app, username: str) -> list[ApiToken]:
    with app.app_context():
        owner = db.session.scalars(select(User).where(User.username == username)).one()
        found = tokens.listed(owner)
        db.session.expunge_all()
        return found


def _trail(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        db.session.expunge_all()
        return entries


def test_a_new_tokens_secret_is_shown_once_and_signs_in_to_the_api(app, as_user):
    alice = as_user("alice")
    page = alice.get("/account/tokens")
    assert page.status_code == 200 and "You have no tokens yet" in page.get_data(as_text=True)
    assert 'href="/account/tokens"' in page.get_data(as_text=True)  # the account menu links to it
    made = alice.post("/account/tokens", data={"name": "CI pipeline", "expires": "2099-01-31", "read_only": "1"})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    secrets = SECRET.findall(made.get_data(as_text=True))
    assert len(set(secrets)) == 1 and "shown only this once" in made.get_data(as_text=True)
    listed = alice.get("/api/v1/scopes", headers={"Authorization": f"Bearer {secrets[0]}"})
    assert listed.status_code == 200
    again = alice.get("/account/tokens").get_data(as_text=True)
    assert not SECRET.search(again) and "CI pipeline" in again and "read-only" in again
    assert ">2099-01-31</time>" in again and "active" in again
    (token,) = _tokens_of(app, "alice")
    assert token.read_only and token.expires_at.year == 2099 and token.last_used_at is not None
    (entry,) = _trail(app, "token.created")
    assert entry.actor == "alice" and secrets[0] not in str(entry.after) and "CI pipeline" in str(entry.after)


def test_the_page_lists_only_ones_own_tokens(app, as_user):
    as_user("bob").post("/account/tokens", data={"name": "bob's script", "expires": ""})
    page = as_user("alice").get("/account/tokens").get_data(as_text=True)
    assert "bob&#39;s script" not in page and "bob's script" not in page
    assert "never" in as_user("bob").get("/account/tokens").get_data(as_text=True)  # no expiry


def test_a_bad_name_or_a_past_date_keeps_the_form_and_makes_nothing(app, as_user):
    alice = as_user("alice")
    for data, field in (
        ({"name": "  ", "expires": ""}, "token-name"),
        ({"name": "x" * 201, "expires": ""}, "token-name"),
        ({"name": "old", "expires": "2001-01-01"}, "token-expires"),
        ({"name": "odd", "expires": "soon"}, "token-expires"),
    ):
        refused = alice.post("/account/tokens", data=data)
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422 and f'href="#{field}"' in body and f'id="{field}-error"' in body, data
        assert not SECRET.search(body)
    assert _tokens_of(app, "alice") == [] and _trail(app, "token.created") == []


def test_revoking_asks_first_and_only_the_owner_or_an_admin_may(app, as_user, client):
    alice = as_user("alice")
    secret = SECRET.search(alice.post("/account/tokens", data={"name": "to go"}).get_data(as_text=True)).group()
    (token,) = _tokens_of(app, "alice")
    asked = alice.post(f"/account/tokens/{token.id}/revoke")
    assert asked.status_code == 200 and "Revoke the token “to go”?" in asked.get_data(as_text=True)
    assert tokens.state(_tokens_of(app, "alice")[0]) == "active"  # not before the confirmation
    bob = as_user("bob")
    assert bob.post(f"/account/tokens/{token.id}/revoke").status_code == 404  # another's: it does not exist
    assert bob.post(f"/account/tokens/{token.id}/revoke", data={"confirm": "1"}).status_code == 404
    assert tokens.state(_tokens_of(app, "alice")[0]) == "active" and _trail(app, "token.revoked") == []
    done = alice.post(f"/account/tokens/{token.id}/revoke", data={"confirm": "1"}, follow_redirects=True)
    assert done.status_code == 200 and "is revoked" in done.get_data(as_text=True)
    assert tokens.state(_tokens_of(app, "alice")[0]) == "revoked"
    assert alice.get("/api/v1/scopes", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    (entry,) = _trail(app, "token.revoked")
    assert entry.actor == "alice"
    as_user("lead").post("/account/tokens", data={"name": "lead's"})
    (leads,) = _tokens_of(app, "lead")
    assert client.post(f"/account/tokens/{leads.id}/revoke", data={"confirm": "1"}).status_code == 302  # the admin
    assert tokens.state(_tokens_of(app, "lead")[0]) == "revoked"
