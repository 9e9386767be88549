"""Sessions can be ended: a cookie copied before sign-out, a password change, a role change,
disabling, "sign out everywhere" or an admin's "end sessions" signs nobody in afterwards."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from assessment.extensions import db
from assessment.models import AuditEntry, User
from assessment.services import accounts, audit
from tests.integration.conftest import PASSWORD
from tests.integration.helpers import run_cli


def signed_in(app, username: str = "alice"):
    """A client signed in through the real form."""
    browser = app.test_client()
    response = browser.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return browser


def copy_of(app, browser):
    """Another client holding a copy of `browser`'s session cookie (what a thief would hold)."""
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def works(client) -> bool:
    return client.get("/library").status_code == 200


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def endings(app) -> list[tuple[str, str, dict]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.sessions_ended"))
        return [(e.object_id, e.actor, json.loads(e.after)) for e in rows]


def test_a_copied_cookie_dies_at_sign_out_and_other_sessions_survive(app):
    browser = signed_in(app)
    laptop = signed_in(app)  # the same person on another device
    thief = copy_of(app, browser)
    assert works(thief)
    assert browser.post("/logout").status_code == 302
    assert not works(thief) and not works(browser)
    assert works(laptop)  # a plain sign-out ends only its own session


def test_a_password_change_ends_every_session(app):
    browser = signed_in(app)
    thief = copy_of(app, browser)
    with app.app_context(), audit.acting_as("test"):
        accounts.set_password("alice", "a brand new password")
        db.session.commit()
    assert not works(thief) and not works(browser)
    assert endings(app) == [("alice", "test", {"reason": "password changed", "sessions": 1})]


def test_a_role_change_ends_every_session(app, client):
    thief = copy_of(app, signed_in(app))
    client.post(f"/users/{user_id(app, 'alice')}/role", data={"role": "auditor"})
    assert not works(thief)
    assert endings(app) == [("alice", "admin", {"reason": "role changed", "sessions": 1})]


def test_disabling_ends_every_session(app, client):
    thief = copy_of(app, signed_in(app))
    client.post(f"/users/{user_id(app, 'alice')}/disabled", data={"confirm": "1", "disabled": "1"})
    assert not works(thief)
    client.post(f"/users/{user_id(app, 'alice')}/disabled", data={"confirm": "1", "disabled": "0"})
    assert not works(thief)  # enabling again does not bring the session back


def test_sign_out_everywhere_ends_every_session_of_the_account(app):
    browser, laptop, bob = signed_in(app), signed_in(app), signed_in(app, "bob")
    thief = copy_of(app, browser)
    response = laptop.post("/logout/everywhere")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not works(thief) and not works(browser) and not works(laptop)
    assert works(bob)
    assert endings(app) == [("alice", "alice", {"reason": "signed out everywhere", "sessions": 2})]


def test_an_admin_ends_a_users_sessions_on_the_users_page(app, client):
    thief = copy_of(app, signed_in(app))
    page = client.get("/users").get_data(as_text=True)
    assert f"/users/{user_id(app, 'alice')}/sessions/end" in page
    assert client.post(f"/users/{user_id(app, 'alice')}/sessions/end").status_code == 302
    assert not works(thief)
    assert endings(app) == [("alice", "admin", {"reason": "ended by an admin", "sessions": 1})]


@pytest.mark.slow  # a console-script process or a timed race
def test_an_admin_ends_a_users_sessions_from_the_command_line(app):
    thief = copy_of(app, signed_in(app))
    done = run_cli(app, "users", "end-sessions", "alice")
    assert done.returncode == 0 and "1 session(s) of alice ended" in done.stdout, done.stderr
    assert not works(thief)
    missing = run_cli(app, "users", "end-sessions", "nobody")
    assert missing.returncode == 2 and "no user 'nobody'" in missing.stderr


@pytest.mark.parametrize("sid", [None, "a token nobody was given"])
def test_a_cookie_without_an_open_session_signs_nobody_in(app, sid):
    """Even with the real key: the user id alone (what a forger would write) is not enough."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id(app, "admin"))
        session["_fresh"] = True
        if sid:
            session[accounts.SESSION_KEY] = sid
    assert client.get("/users").status_code == 302


def test_last_seen_moves_forward_and_an_idle_session_ends(app):
    import datetime as dt

    from sqlalchemy import update

    from assessment.models import UserSession

    browser = signed_in(app)

    def seen(ago: dt.timedelta) -> None:
        with app.app_context():
            db.session.execute(update(UserSession).values(last_seen_at=dt.datetime.now(dt.UTC) - ago))
            db.session.commit()

    seen(dt.timedelta(minutes=10))
    assert works(browser)
    with app.app_context():
        last = db.session.scalar(select(UserSession.last_seen_at))
        last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
    assert dt.datetime.now(dt.UTC) - last < dt.timedelta(minutes=1)  # written again, not every request
    seen(dt.timedelta(hours=13))  # unused for longer than PERMANENT_SESSION_LIFETIME
    assert not works(browser)
