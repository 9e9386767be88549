"""Personal access tokens: the secret is shown once and stored only as its hash; expired, revoked and
disabled-owner tokens are refused; last use is recorded at most once a minute; made and revoked on the trail."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from assessment.extensions import db
from assessment.models import ApiToken, AuditEntry, User, utcnow
from assessment.services import tokens
from assessment.services.errors import Forbidden, InvalidInput, NotFound
from tests.integration.helpers import run_cli


def person(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def test_a_token_is_stored_as_its_hash_and_its_secret_signs_in(ctx):
    token, secret = tokens.create(person("alice"), "ci")
    db.session.commit()
    assert secret.startswith("asm_") and len(secret) > 40
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in token.token_hash
    assert tokens.authenticate(secret).id == token.id
    assert tokens.authenticate(secret + "x") is None and tokens.authenticate("") is None
    assert tokens.authenticate(None) is None
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "api_token")).all()
    assert actions == ["token.created"]


def test_expired_revoked_and_disabled_owners_tokens_are_refused(ctx):
    alice = person("alice")
    token, secret = tokens.create(alice, "short", expires_at=utcnow() + dt.timedelta(hours=1))
    db.session.commit()
    assert tokens.authenticate(secret, now=utcnow() + dt.timedelta(hours=2)) is None
    assert tokens.authenticate(secret) is not None
    alice.disabled = True
    db.session.commit()
    assert tokens.authenticate(secret) is None
    alice.disabled = False
    tokens.revoke(token.id, by=alice)
    db.session.commit()
    assert tokens.authenticate(secret) is None and tokens.state(token) == "revoked"
    with pytest.raises(InvalidInput):
        tokens.create(alice, "past", expires_at=utcnow() - dt.timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        tokens.create(alice, "  ")


def test_only_the_owner_or_an_admin_revokes_a_token(ctx):
    token, _ = tokens.create(person("alice"), "ci")
    db.session.commit()
    with pytest.raises(NotFound):
        tokens.revoke(token.id, by=person("bob"))
    tokens.revoke(token.id, by=person("admin"))
    tokens.revoke(token.id, by=person("admin"))  # again: nothing changes, no second entry
    db.session.commit()
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "api_token")).all()
    assert actions == ["token.created", "token.revoked"]


def test_last_use_is_recorded_at_most_once_a_minute_and_read_only_tokens_do_not_write(ctx):
    token, secret = tokens.create(person("alice"), "reader", read_only=True)
    db.session.commit()
    start = utcnow()
    tokens.authenticate(secret, now=start)
    db.session.commit()
    tokens.authenticate(secret, now=start + dt.timedelta(seconds=30))
    db.session.commit()
    assert tokens._aware(db.session.get(ApiToken, token.id).last_used_at) == start
    tokens.authenticate(secret, now=start + dt.timedelta(seconds=61))
    db.session.commit()
    assert tokens._aware(db.session.get(ApiToken, token.id).last_used_at) == start + dt.timedelta(seconds=61)
    with pytest.raises(Forbidden):
        tokens.may_write(token)
    assert [t.id for t in tokens.listed(person("alice"))] == [token.id] and tokens.listed(person("bob")) == []


def test_tokens_commands_print_the_token_alone_list_it_without_its_secret_and_revoke_it(app):
    created = run_cli(app, "tokens", "create", "alice", "--name", "pipeline", "--expires", "2099-12-31", "--read-only")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("asm_") and created.stdout == secret + "\n"
    listed = run_cli(app, "tokens", "list", "alice")
    assert listed.returncode == 0 and "pipeline" in listed.stdout and "read-only" in listed.stdout
    assert secret not in listed.stdout
    token_id = listed.stdout.split()[0]
    assert run_cli(app, "tokens", "revoke", token_id).returncode == 0
    assert "revoked" in run_cli(app, "tokens", "list", "alice").stdout
    missing = run_cli(app, "tokens", "create", "nobody", "--name", "x")
    assert missing.returncode == 2 and not missing.stdout
    with app.app_context():
        assert tokens.authenticate(secret) is None
