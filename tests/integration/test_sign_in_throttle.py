"""The sign-in throttle: an attacker cannot lock the owner out from another address, invented
names from a shared address do not lock out a known browser, concurrent guesses get exactly the
allowed number of password checks, holds grow; and every refused sign-in costs one Argon2 check."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import update

from assessment.extensions import db
from assessment.models import SignInThrottle
from assessment.services import accounts
from tests.integration.conftest import PASSWORD

ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def login(client, username, password=PASSWORD, next_url=None):
    data = {"username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data)


def from_address(app, environ: dict):
    """A client whose requests come from another address."""
    client = app.test_client()
    client.environ_base.update(environ)
    return client


class CountingHasher:
    """The real hasher, counting its password verifications (thread-safe)."""

    def __init__(self, inner):
        self.inner, self.verifications, self.lock = inner, 0, threading.Lock()

    def verify(self, stored, password):
        with self.lock:
            self.verifications += 1
        return self.inner.verify(stored, password)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def hasher(app, monkeypatch):
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    return counting


def test_an_attacker_cannot_lock_the_owner_out_from_another_address(app):
    attacker = from_address(app, ATTACKER)
    statuses = [login(attacker, "alice", f"guess number {n}").status_code for n in range(20)]
    assert statuses == [401] * 5 + [429] * 15
    assert login(from_address(app, OWNER), "alice").status_code == 302


def test_invented_names_from_a_shared_address_do_not_lock_out_a_known_browser(app):
    """Guarantee: failures from one address (say a proxy everyone shares), with any names, never
    refuse a correct password from a browser that signed in to that account within KNOWN_DEVICE_DAYS,
    and hold anyone else on that address for at most LOGIN_IP_MAX_DELAY_SECONDS after each attempt."""
    app.config["LOGIN_IP_MAX_FAILURES"] = 10
    alice = app.test_client()
    assert login(alice, "alice").status_code == 302
    alice.post("/logout")
    attacker = app.test_client()
    statuses = [login(attacker, f"invented{n}", "guess guess guess").status_code for n in range(30)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    assert login(alice, "alice").status_code == 302  # today: refused for 15 minutes
    stranger = login(app.test_client(), "bob")  # bob's browser never signed in: held, briefly
    wait = int(re.search(r"Wait (\d+) second", stranger.get_data(as_text=True)).group(1))
    assert stranger.status_code == 429 and wait <= app.config["LOGIN_IP_MAX_DELAY_SECONDS"]


def _end_holds(app):
    """Let the holds in force run out, as waiting would."""
    with app.app_context():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.session.execute(update(SignInThrottle).values(held_until=past))
        db.session.commit()


def test_holds_grow(app, hasher):
    attacker = from_address(app, ATTACKER)
    for _ in range(5):
        assert login(attacker, "alice", "guess guess guess").status_code == 401
    waits = []
    for _ in range(3):
        held = login(attacker, "alice", "guess guess guess")
        assert held.status_code == 429
        waits.append(re.search(r"Wait (\d+ minutes?)", held.get_data(as_text=True)).group(1))
        _end_holds(app)
        assert login(attacker, "alice", "guess guess guess").status_code == 401  # one more guess, then a longer hold
    assert waits == ["1 minute", "2 minutes", "4 minutes"]
    assert hasher.verifications == 5 + 3  # refused attempts are not checked
    assert login(from_address(app, ATTACKER), "alice").status_code == 429


def test_a_correct_password_clears_the_accounts_count(app):
    client = app.test_client()
    for _ in range(4):
        assert login(client, "alice", "guess guess guess").status_code == 401
    assert login(client, "alice").status_code == 302
    fresh = app.test_client()
    assert [login(fresh, "alice", "guess guess guess").status_code for _ in range(6)] == [401] * 5 + [429]


def test_concurrent_guesses_get_exactly_the_allowed_checks(app, hasher):
    app.config["LOGIN_MAX_FAILURES"] = 5
    start = threading.Barrier(12)
    statuses: list[int] = []

    def guess(n: int):
        client = from_address(app, ATTACKER)  # its own client, context and connection
        start.wait()
        statuses.append(login(client, "alice", f"concurrent guess {n}").status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 5 + [429] * 7
    assert hasher.verifications == 5


@pytest.mark.parametrize("case", ["unknown name", "wrong password", "disabled, right password", "disabled, wrong"])
def test_every_refused_sign_in_costs_one_verification(app, hasher, case):
    if case.startswith("disabled"):
        with app.app_context():
            accounts.set_disabled("alice", True)
            db.session.commit()
    username = "nobody" if case == "unknown name" else "alice"
    password = PASSWORD if case in ("unknown name", "disabled, right password") else "not the password"
    response = login(app.test_client(), username, password)
    assert response.status_code == 401 and "Wrong user name or password" in response.get_data(as_text=True)
    assert hasher.verifications == 1


@pytest.mark.parametrize(
    "target", ["/scopes\r\nSet-Cookie:x", "/scopes\nx", "/scopes\x00", "/sc opes", "/scopes\x7f", "/" + "a" * 3000]
)
def test_a_next_with_control_characters_falls_back_to_the_home_page(anonymous, target):
    # the real form: the sign-in page carries `next` (decoded from its query string) into a hidden field
    page = anonymous.get("/login", query_string={"next": target})
    assert page.status_code == 200
    response = login(anonymous, "alice", next_url=target)
    assert response.status_code == 302 and response.headers["Location"] == "/"
