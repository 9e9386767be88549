"""Personal access tokens for the API: made, listed, revoked, and checked on each request.

A token's secret is `asm_` and 43 random URL-safe characters, shown once when it is made: the prefix lets
a person (and a secret scanner) recognise one. The database keeps only its SHA-256 and finds a token by
that hash, so the secret is never compared character by character (no timing to learn it from) and a copy
of the database holds no usable token. A token acts as its owner with the owner's current role: it is
refused once expired or revoked, or while its owner is disabled. Like the other services, nothing here
commits: the caller's transaction holds the change and its trail entry together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select

from ..extensions import db
from ..models import ApiToken, User, utcnow
from . import audit
from .errors import Forbidden, InvalidInput, NotFound

PREFIX = "asm_"
NAME_LENGTH = 200
# last_used_at is written at most this often per token, so a burst of reads does not write on each one.
LAST_USED_EVERY = dt.timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns stored times without their zone; they were written in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment


def create(
    owner: User, name: str, *, expires_at: dt.datetime | None = None, read_only: bool = False
) -> tuple[ApiToken, str]:
    """A new token for `owner` and its secret, which is shown once and never stored."""
    name = (name or "").strip()
    if not name or len(name) > NAME_LENGTH:
        raise InvalidInput(f"A token needs a name of 1 to {NAME_LENGTH} characters.", field="name")
    expires_at = _aware(expires_at)
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput("A token's expiry must be in the future.", field="expires_at")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=owner.id, name=name, token_hash=_hash(secret), read_only=read_only, expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(
        "token.created",
        "api_token",
        token.id,
        after={
            "owner": owner.username,
            "name": name,
            "read_only": read_only,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, secret


def listed(owner: User) -> list[ApiToken]:
    """The owner's tokens, newest first (the secret is not kept, so it cannot be listed)."""
    return list(
        db.session.scalars(select(ApiToken).where(ApiToken.user_id == owner.id).order_by(ApiToken.id.desc())).all()
    )


def revoke(token_id: int, *, by: User | None) -> ApiToken:
    """Revoke a token for good. Its owner or an admin may (`by` None: the command line); to anyone else
    another person's token does not exist. Revoking a revoked token changes nothing and adds no entry."""
    token = db.session.get(ApiToken, token_id)
    if token is None or (by is not None and by.role != "admin" and token.user_id != by.id):
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            "token.revoked",
            "api_token",
            token.id,
            before={"revoked": False},
            after={"revoked": True, "name": token.name},
        )
    return token


def state(token: ApiToken, *, now: dt.datetime | None = None) -> str:
    """`active`, `expired` or `revoked`, for lists and for refusing a token."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return "revoked"
    expires_at = _aware(token.expires_at)
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "active"


def authenticate(secret: str | None, *, now: dt.datetime | None = None) -> ApiToken | None:
    """The active token whose secret this is, or None (unknown, expired, revoked, or its owner disabled).

    Found by the secret's hash, never by comparing secrets. Its last use is recorded when the last
    record is older than a minute; the caller commits it with the request."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    now = now or utcnow()
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    if token is None or state(token, now=now) != "active" or token.user.disabled:
        return None
    last = _aware(token.last_used_at)
    if last is None or now - last >= LAST_USED_EVERY:
        token.last_used_at = now
    return token


def may_write(token: ApiToken) -> None:
    """A read-only token changes nothing: every write asks this inside its transaction."""
    if token.read_only:
        raise Forbidden("This token is read-only.")
