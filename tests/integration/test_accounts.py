"""Accounts: sign-in and out, Argon2id hashes, the rate limit, disabled accounts, session cookies,
safe redirects, and the `assessment users` commands."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import AuditEntry, User
from tests.integration.conftest import PASSWORD, sign_in_as
from tests.integration.helpers import run_cli
from tests.integration.test_sign_in_throttle import from_address


def login(client, username, password=PASSWORD, next_url=None):
    data = {"username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data)


def entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))
        db.session.expunge_all()
        return rows


def test_every_page_but_sign_in_needs_an_account(anonymous):
    response = anonymous.get("/library")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/library")
    assert anonymous.get("/login").status_code == 200
    fetch = anonymous.post("/assessments/1/answers/CI-01", headers={"X-Requested-With": "fetch"})
    assert fetch.status_code == 401 and "sign in" in fetch.json["error"]


def test_sign_in_and_out_are_recorded(app, anonymous):
    response = login(anonymous, "alice", next_url="/library")
    assert response.status_code == 302 and response.headers["Location"] == "/library"
    assert "Alice" in anonymous.get("/library").get_data(as_text=True)
    assert anonymous.post("/logout").status_code == 302
    assert anonymous.get("/library").status_code == 302  # the session is gone
    assert [e.object_id for e in entries(app, "login")] == ["alice"]
    assert [e.actor for e in entries(app, "logout")] == ["alice"]


def test_passwords_are_stored_as_argon2id_hashes(app):
    with app.app_context():
        stored = db.session.scalar(select(User.password_hash).where(User.username == "alice"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_wrong_password_is_refused_and_recorded(app, anonymous):
    response = login(anonymous, "alice", "not the password")
    assert response.status_code == 401 and "Wrong user name or password" in response.get_data(as_text=True)
    assert anonymous.get("/library").status_code == 302
    (failed,) = entries(app, "login.failed")
    assert failed.object_id == "alice" and failed.actor.startswith("client ")


def test_sign_in_is_rate_limited_per_account(app):
    attacker = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(attacker, "alice", "guess guess guess").status_code == 401
    # Even the right password is refused now from that address, until the hold ends.
    refused = login(app.test_client(), "alice")
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.get_data(as_text=True)
    assert not entries(app, "login")
    # Other accounts are unaffected, and so is the owner on another address.
    assert login(app.test_client(), "bob").status_code == 302
    assert login(from_address(app, {"REMOTE_ADDR": "198.51.100.7"}), "alice").status_code == 302


def test_sign_in_is_rate_limited_per_client_address(app):
    app.config.update(LOGIN_IP_MAX_FAILURES=3, LOGIN_IP_DELAY_SECONDS=30)
    known = app.test_client()
    login(known, "alice")  # alice's own browser signed in before
    known.post("/logout")
    client = app.test_client()
    for name in ("nobody1", "nobody2", "nobody3"):
        assert login(client, name, "guess guess guess").status_code == 401
    held = login(client, "alice")
    assert held.status_code == 429 and "Wait 30 seconds" in held.get_data(as_text=True)
    assert login(known, "alice").status_code == 302  # a browser known to the account is not held


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(app, client, as_user):
    alice = as_user("alice")
    assert alice.get("/library").status_code == 200
    response = client.post(f"/users/{_id(app, 'alice')}/disabled", data={"confirm": "1", "disabled": "1"})
    assert response.status_code == 302
    assert alice.get("/library").status_code == 302  # the open session ended
    refused = login(app.test_client(), "alice")
    assert refused.status_code == 401  # same message as a wrong password: nothing is revealed
    (failed,) = entries(app, "login.failed")
    assert '"reason":"disabled"' in failed.after
    (change,) = entries(app, "user.disabled")
    assert change.actor == "admin" and change.before == '{"disabled":false}' and change.after == '{"disabled":true}'


def _id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_session_cookie_is_httponly_samesite_and_secure_over_https(app):
    plain = login(app.test_client(), "alice")
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client().post(
        "/login", data={"username": "alice", "password": PASSWORD}, base_url="https://assessment.example"
    )
    cookie = secure.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_sign_in_never_redirects_off_the_site(anonymous):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = login(anonymous, "alice", next_url=target)
        assert response.status_code == 302 and response.headers["Location"] == "/", target


def test_sign_in_starts_a_new_session(app, anonymous):
    with anonymous.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(anonymous, "alice")
    with anonymous.session_transaction() as session:
        assert "planted" not in session and session["_user_id"] == str(_id(app, "alice"))


def test_only_admins_manage_users(app, client, as_user):
    assert as_user("lead").get("/users").status_code == 403
    response = client.post("/users", data={"username": "carol", "role": "member", "password": PASSWORD})
    assert response.status_code == 302
    assert login(app.test_client(), "carol").status_code == 302
    short = client.post("/users", data={"username": "dave", "role": "member", "password": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    forged = client.post("/users", data={"username": "eve", "role": "superuser", "password": PASSWORD})
    assert forged.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.username.in_(["dave", "eve"]))) == 0
    own = client.post(f"/users/{_id(app, 'admin')}/role", data={"role": "member"})
    assert own.status_code == 400


def test_role_change_takes_effect_at_once(app, client, as_user):
    lead = as_user("lead")
    assert lead.get("/scopes/1").status_code == 404  # no scope yet: not found for anyone
    client.post(f"/users/{_id(app, 'lead')}/role", data={"role": "auditor"})
    assert lead.get("/scopes/1").status_code == 302  # the session opened with the old role ended
    again = app.test_client()
    login(again, "lead")
    assert again.get("/users").status_code == 403
    (change,) = entries(app, "user.role_changed")
    assert change.before == '{"role":"lead"}' and change.after == '{"role":"auditor"}'


@pytest.mark.slow
def test_users_commands_create_set_role_and_disable(app):
    created = run_cli(
        app,
        "users",
        "create",
        "carol",
        "--role",
        "member",
        "--name",
        "Carol",
        "--password-stdin",
        stdin="a long secret\n",
    )
    assert created.returncode == 0, created.stderr
    assert login(app.test_client(), "carol", "a long secret").status_code == 302
    assert run_cli(app, "users", "set-role", "carol", "lead").returncode == 0
    assert run_cli(app, "users", "disable", "carol").returncode == 0
    assert login(app.test_client(), "carol", "a long secret").status_code == 401
    missing = run_cli(app, "users", "disable", "nobody")
    assert missing.returncode == 2 and "no user 'nobody'" in missing.stderr and not missing.stdout
    duplicate = run_cli(
        app, "users", "create", "carol", "--role", "member", "--password-stdin", stdin="a long secret\n"
    )
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    actions = [(e.action, e.actor) for e in entries(app, "user.created") + entries(app, "user.role_changed")]
    assert ("user.created", "cli:" + _login_name()) in actions
    assert any(a == "user.role_changed" for a, _ in actions)
    assert entries(app, "user.disabled")


def _login_name() -> str:
    import getpass

    return getpass.getuser()


def test_sign_in_helper_of_the_tests_matches_the_real_form(app):
    """The matrix signs clients in by session; the real form must give the same access."""
    by_form = app.test_client()
    login(by_form, "bob")
    by_session = sign_in_as(app.test_client(), "bob")
    assert by_form.get("/users").status_code == by_session.get("/users").status_code == 403
