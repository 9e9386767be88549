"""Sign-in cost (issue 14): Argon2id no weaker than OWASP's minimum, old hashes upgraded, and a
whole sign-in request under 300 ms with the production parameters."""

from __future__ import annotations

import statistics
import time

import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from assessment.extensions import db
from assessment.services import accounts
from tests.integration.conftest import PASSWORD

# OWASP Password Storage Cheat Sheet, Argon2id: equivalent minimums (memory KiB, iterations), p=1.
OWASP_MINIMUMS = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))


def meets_owasp(memory_kib: int, time_cost: int, parallelism: int) -> bool:
    """Whether the parameters reach one of OWASP's equivalent Argon2id minimums."""
    return parallelism >= 1 and any(memory_kib >= m and time_cost >= t for m, t in OWASP_MINIMUMS)


@pytest.fixture
def production_hasher(app):
    """The hasher an instance gets without PASSWORD_* settings (the tests' fixture lowers it)."""
    accounts.configure_hasher()
    yield accounts.hasher()
    accounts.configure_hasher(app.config["PASSWORD_TIME_COST"], app.config["PASSWORD_MEMORY_KIB"])


def test_default_parameters_meet_owasp_and_hash_with_them(production_hasher, ctx):
    hasher = production_hasher
    assert meets_owasp(hasher.memory_cost, hasher.time_cost, hasher.parallelism)
    # one lane: on a two-core server the old four lanes queued behind each other and every other request
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (2, 19456, 1)
    stored = accounts.create_user("carol", "Carol", "member", PASSWORD).password_hash
    params = extract_parameters(stored)
    assert params.type is Type.ID
    assert meets_owasp(params.memory_cost, params.time_cost, params.parallelism)


def test_old_hash_is_upgraded_on_the_next_successful_sign_in(production_hasher, app, anonymous):
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)  # argon2-cffi's default, used before
    with app.app_context():
        accounts.find_user("alice").password_hash = old.hash(PASSWORD)
        db.session.commit()
    wrong = anonymous.post("/login", data={"username": "alice", "password": "not the password"})
    assert wrong.status_code == 401
    with app.app_context():
        assert extract_parameters(accounts.find_user("alice").password_hash).memory_cost == 65536
    response = anonymous.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    with app.app_context():
        stored = accounts.find_user("alice").password_hash
    params = extract_parameters(stored)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 19456, 1)
    assert production_hasher.verify(stored, PASSWORD)


def test_a_sign_in_request_takes_under_300_ms(production_hasher, app):
    with app.app_context():
        accounts.set_password("bob", PASSWORD)  # hashed with the production parameters
        db.session.commit()
    form = {"username": "bob", "password": PASSWORD}
    app.test_client().post("/login", data=form)
    times = []
    for _ in range(5):
        client = app.test_client()
        start = time.perf_counter()
        assert client.post("/login", data=form).status_code == 302
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.3, times
