"""The TOTP second factor, through the web: set-up confirmed by a code, the sign-in's second step,
wrong, replayed and late codes, recovery codes once only, an admin's reset, REQUIRE_MFA for admins,
and the trail entry of every change (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
import time
from types import SimpleNamespace

import pyotp
import pytest
from sqlalchemy import func, select

from assessment.extensions import db
from assessment.models import AuditEntry, RecoveryCode, User
from assessment.services import mfa as mfa_svc
from assessment.views import mfa as mfa_views
from tests.integration.conftest import PASSWORD, sign_in_as


@pytest.fixture
def clock(monkeypatch):
    """The time the codes are checked at: a few seconds into a 30-second step, moved on by the test."""
    now = SimpleNamespace(value=(int(time.time()) // 30) * 30 + 5.0)
    monkeypatch.setattr(mfa_svc, "time", SimpleNamespace(time=lambda: now.value))
    return now


def code_at(secret: str, moment: float) -> str:
    return pyotp.TOTP(secret).at(moment)


def secret_on(page: str) -> str:
    found = re.search(r'<code id="mfa-secret">([A-Z2-7 ]+)</code>', page)
    assert found, page[:2000]
    return found.group(1).replace(" ", "")


def enrol(app, username: str, clock) -> tuple[str, list[str]]:
    """Set up `username`'s second factor through the pages: (the secret, the recovery codes)."""
    client = sign_in_as(app.test_client(), username)
    secret = secret_on(client.post("/account/mfa/setup").get_data(as_text=True))
    page = client.post("/account/mfa/confirm", data={"code": code_at(secret, clock.value)})
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def trail(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def after(entry: AuditEntry) -> object:
    return json.loads(entry.after) if isinstance(entry.after, str) else entry.after


def account(app, username: str) -> User:
    with app.app_context():
        row = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge_all()
        db.session.remove()
    return row


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def password_step(client, username: str, next_url: str = "/library"):
    response = client.post("/login", data={"username": username, "password": PASSWORD, "next": next_url})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/code"), response.status_code
    return response


def test_set_up_shows_the_key_until_a_code_confirms_it_then_never_again(app, clock):
    client = sign_in_as(app.test_client(), "lead")
    assert "Set up a second factor" in client.get("/account/mfa").get_data(as_text=True)
    page = client.post("/account/mfa/setup").get_data(as_text=True)
    secret = secret_on(page)
    assert f"otpauth://totp/Assessment:lead?secret={secret}" in page
    stored = account(app, "lead")
    assert stored.totp_secret and secret not in stored.totp_secret and stored.totp_enabled_at is None  # encrypted

    wrong = client.post(
        "/account/mfa/confirm", data={"code": "000000" if code_at(secret, clock.value) != "000000" else "111111"}
    )
    body = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert 'id="mfa-code-error"' in body and "does not match" in body and 'aria-invalid="true"' in body
    assert secret_on(body) == secret  # the same set-up, still shown
    assert account(app, "lead").totp_enabled_at is None

    done = client.post("/account/mfa/confirm", data={"code": code_at(secret, clock.value)})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert account(app, "lead").totp_enabled_at is not None
    with app.app_context():
        hashes = set(db.session.scalars(select(RecoveryCode.code_hash)))
    assert len(hashes) == 10 and not {c.replace("-", "") for c in codes} & hashes  # stored hashed
    after = client.get("/account/mfa").get_data(as_text=True)
    assert secret not in after and "otpauth://" not in after and "10 unused recovery codes" in after
    assert [e.object_id for e in trail(app, "user.mfa_enabled")] == ["lead"]


def test_sign_in_asks_for_the_code_and_only_a_right_one_signs_in(app, clock):
    secret, _codes = enrol(app, "lead", clock)
    client = app.test_client()
    password_step(client, "lead")
    assert not signed_in(client)  # half-way: nobody is signed in yet
    assert trail(app, "login.password_ok")[-1].object_id == "lead"
    clock.value += 30
    good = code_at(secret, clock.value)
    wrong = client.post("/login/code", data={"code": "123456" if good != "123456" else "654321"})
    assert wrong.status_code == 422 and 'id="mfa-code-error"' in wrong.get_data(as_text=True)
    assert 'aria-invalid="true"' in wrong.get_data(as_text=True)
    assert not signed_in(client)
    assert after(trail(app, "login.failed")[-1])["reason"] == "wrong code"
    right = client.post("/login/code", data={"code": good})
    assert right.status_code == 302 and right.headers["Location"] == "/library"
    assert signed_in(client)
    assert after(trail(app, "login")[-1])["second_factor"] == "totp"


def test_a_code_signs_in_once_only(app, clock):
    secret, _codes = enrol(app, "lead", clock)
    clock.value += 30
    code = code_at(secret, clock.value)
    first = app.test_client()
    password_step(first, "lead")
    assert first.post("/login/code", data={"code": code}).status_code == 302
    second = app.test_client()  # someone who watched the code being typed
    password_step(second, "lead")
    replay = second.post("/login/code", data={"code": code})
    assert replay.status_code == 422 and not signed_in(second)
    # a code of the step before the one used is refused too, though still inside the window
    assert second.post("/login/code", data={"code": code_at(secret, clock.value - 30)}).status_code == 422
    clock.value += 30
    assert second.post("/login/code", data={"code": code_at(secret, clock.value)}).status_code == 302


def test_codes_are_accepted_one_step_either_side_and_no_further(app, clock):
    secret, _codes = enrol(app, "lead", clock)
    clock.value += 120
    client = app.test_client()
    password_step(client, "lead")
    assert client.post("/login/code", data={"code": code_at(secret, clock.value - 60)}).status_code == 422
    assert client.post("/login/code", data={"code": code_at(secret, clock.value + 60)}).status_code == 422
    assert client.post("/login/code", data={"code": code_at(secret, clock.value - 30)}).status_code == 302


def test_wrong_codes_count_in_the_sign_in_throttle(app, clock):
    app.config["LOGIN_MAX_FAILURES"] = 3
    secret, _codes = enrol(app, "lead", clock)
    clock.value += 30
    client = app.test_client()
    password_step(client, "lead")  # the password's attempt stays counted until the code is right
    statuses = [client.post("/login/code", data={"code": "12345x"}).status_code for _ in range(3)]
    assert statuses == [422, 422, 429], statuses
    held = client.post("/login/code", data={"code": code_at(secret, clock.value)})
    assert held.status_code == 429 and "Too many failed sign-ins" in held.get_data(as_text=True)
    assert not signed_in(client)


def test_the_half_signed_state_expires(app, clock, monkeypatch):
    secret, _codes = enrol(app, "lead", clock)
    clock.value += 30
    client = app.test_client()
    password_step(client, "lead")
    later = time.time() + app.config["MFA_PENDING_SECONDS"] + 1
    monkeypatch.setattr(mfa_views, "time", SimpleNamespace(time=lambda: later))
    assert client.get("/login/code").headers["Location"].startswith("/login")
    late = client.post("/login/code", data={"code": code_at(secret, clock.value)})
    assert late.status_code == 302 and late.headers["Location"] == "/login"
    assert not signed_in(client)
    with app.app_context():  # the code was not spent by the late attempt
        assert db.session.scalar(select(User.totp_last_step).where(User.username == "lead")) < clock.value // 30


def test_a_recovery_code_signs_in_once_instead_of_a_code(app, clock):
    _secret, codes = enrol(app, "lead", clock)
    client = app.test_client()
    password_step(client, "lead")
    used = client.post("/login/code", data={"code": codes[3].upper()}, follow_redirects=True)
    assert used.status_code == 200 and "9 left" in used.get_data(as_text=True)
    assert signed_in(client)
    assert after(trail(app, "user.mfa_recovery_used")[-1]) == {"left": 9}
    again = app.test_client()
    password_step(again, "lead")
    assert again.post("/login/code", data={"code": codes[3]}).status_code == 422
    assert not signed_in(again)


def test_switching_it_off_needs_a_current_code(app, clock):
    secret, _codes = enrol(app, "lead", clock)
    client = sign_in_as(app.test_client(), "lead")
    clock.value += 30
    wrong = client.post("/account/mfa/disable", data={"code": "99999"})
    assert wrong.status_code == 422 and 'id="mfa-disable-code-error"' in wrong.get_data(as_text=True)
    assert 'value="99999"' in wrong.get_data(as_text=True)  # kept
    assert account(app, "lead").totp_enabled_at is not None
    assert client.post("/account/mfa/disable", data={"code": code_at(secret, clock.value)}).status_code == 302
    assert account(app, "lead").totp_secret is None
    assert [e.object_id for e in trail(app, "user.mfa_disabled")] == ["lead"]
    plain = app.test_client()
    assert plain.post("/login", data={"username": "lead", "password": PASSWORD}).headers["Location"] == "/"


def test_an_admin_resets_a_lost_second_factor(app, clock):
    enrol(app, "lead", clock)
    lead = account(app, "lead")
    admin = sign_in_as(app.test_client(), "admin")
    assert "Reset second factor" in admin.get("/users").get_data(as_text=True)
    assert admin.post(f"/users/{lead.id}/mfa/reset").status_code == 302
    reset = account(app, "lead")
    assert reset.totp_secret is None and reset.totp_enabled_at is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    entry = trail(app, "user.mfa_reset")[-1]
    assert (entry.object_id, entry.actor, after(entry)) == ("lead", "admin", {"enabled": False})
    client = app.test_client()  # the password alone signs in again
    assert client.post("/login", data={"username": "lead", "password": PASSWORD}).headers["Location"] == "/"
    assert signed_in(client)
    # nobody else may, and there is nothing left to reset
    member = sign_in_as(app.test_client(), "alice")
    assert member.post(f"/users/{lead.id}/mfa/reset").status_code == 403
    again = admin.post(f"/users/{lead.id}/mfa/reset", follow_redirects=True)
    assert "has no second factor to reset" in again.get_data(as_text=True)
    assert len(trail(app, "user.mfa_reset")) == 1


def test_require_mfa_sends_an_admin_to_set_it_up_and_allows_nothing_else(app, clock):
    app.config["REQUIRE_MFA"] = "1"
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": PASSWORD, "next": "/users"})
    assert response.headers["Location"] == "/users"
    blocked = client.get("/users")
    assert blocked.status_code == 302 and blocked.headers["Location"] == "/account/mfa"
    assert "requires admins to use a second factor" in client.get("/account/mfa").get_data(as_text=True)
    assert client.post("/scopes", data={"name": "Sneaky", "kind": "team"}).headers["Location"] == "/account/mfa"
    fetch = client.post("/assessments/1/answers/CI-01", headers={"X-Requested-With": "fetch"})
    assert fetch.status_code == 403
    lead = sign_in_as(app.test_client(), "lead")  # only admins are held
    assert lead.get("/library").status_code == 200
    secret = secret_on(client.post("/account/mfa/setup").get_data(as_text=True))
    assert client.post("/account/mfa/confirm", data={"code": code_at(secret, clock.value)}).status_code == 200
    assert client.get("/users").status_code == 200
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "scope.created"))
            == 0
        )


def test_one_code_sent_by_two_browsers_at_once_signs_in_only_one(app, clock):
    """The replay check and the write are one UPDATE: two requests racing with the same code cannot both pass."""
    import threading

    app.config["LOGIN_MAX_FAILURES"] = 50  # four password steps from one address: the throttle is not the point
    secret, _codes = enrol(app, "lead", clock)
    clock.value += 30
    code = code_at(secret, clock.value)
    clients = [app.test_client() for _ in range(4)]
    for client in clients:
        password_step(client, "lead")
    start, statuses = threading.Barrier(len(clients)), []

    def send(client):
        start.wait()
        statuses.append(client.post("/login/code", data={"code": code}).status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 422, 422, 422], statuses
    assert sum(signed_in(c) for c in clients) == 1


@pytest.mark.slow  # a console-script process
def test_the_command_line_resets_a_second_factor_even_the_last_admins(app, clock):
    from tests.integration.helpers import run_cli

    enrol(app, "admin", clock)
    done = run_cli(app, "users", "reset-mfa", "admin")
    assert done.returncode == 0 and "second factor of admin reset" in done.stdout, done.stderr
    assert account(app, "admin").totp_secret is None
    assert trail(app, "user.mfa_reset")[-1].actor.startswith("cli:")
    nothing = run_cli(app, "users", "reset-mfa", "admin")
    assert nothing.returncode == 2 and "has no second factor to reset" in nothing.stderr
