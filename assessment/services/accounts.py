"""People: accounts, passwords (Argon2id), sign-in with rate limiting, roles.

Every change to an account and every sign-in attempt is written to the audit trail; failed
attempts there are also what the rate limit counts, so the limit holds across processes.
"""

from __future__ import annotations

import datetime as dt
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from ..extensions import db
from ..models import ROLES, User, utcnow
from . import audit
from .errors import InvalidInput, NotFound, ServiceError

ROLE_LABELS = {"admin": "Admin", "lead": "Program lead", "member": "Team member", "auditor": "Auditor"}
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}\Z")
MIN_PASSWORD = 10

# Tuned per instance (config PASSWORD_HASH_*); the defaults are argon2-cffi's RFC 9106 profile.
_hasher = PasswordHasher()
# Verifying against this keeps a wrong user name as slow as a wrong password.
_DUMMY_HASH = None


class SignInRefused(ServiceError):
    """Wrong user name or password, or a disabled account: one message for all, so none is revealed."""

    status = 401


class TooManyAttempts(ServiceError):
    """Too many failed sign-ins for this account or from this address in the window."""

    status = 429


def configure_hasher(time_cost: int | None = None, memory_cost: int | None = None) -> None:
    """Set the Argon2id cost (tests lower it; production keeps the defaults)."""
    global _hasher, _DUMMY_HASH
    defaults = PasswordHasher()
    _hasher = PasswordHasher(
        time_cost=time_cost or defaults.time_cost,
        memory_cost=memory_cost or defaults.memory_cost,
        parallelism=defaults.parallelism,
    )
    _DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not a password anyone has")
    return _DUMMY_HASH


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.")
    if len(password) > 1024:
        raise InvalidInput("A password may have at most 1,024 characters.")
    return password


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; a role is one of: {', '.join(ROLES)}.")
    return role


def get_user(username: str) -> User:
    """The account with this user name, or NotFound."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        raise NotFound(f"There is no user {username!r}.")
    return user


def list_users() -> list[User]:
    """Every account, by user name."""
    return list(db.session.scalars(select(User).order_by(User.username)))


def users_with_role(role: str) -> list[User]:
    """Enabled accounts with `role`, by user name."""
    return list(
        db.session.scalars(select(User).where(User.role == role, User.disabled.is_(False)).order_by(User.username))
    )


def _public(user: User) -> dict:
    return {"username": user.username, "display_name": user.display_name, "role": user.role, "disabled": user.disabled}


def create_user(username: str, display_name: str, role: str, password: str) -> User:
    """Add an account; the password is kept only as its hash."""
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise InvalidInput(
            f"User name {username!r}: use 2 to 64 lower-case letters, digits, dots, dashes or underscores."
        )
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidInput(f"A user named {username!r} already exists.")
    display_name = (display_name or "").strip()[:200] or username
    user = User(
        username=username,
        display_name=display_name,
        role=_check_role(role),
        password_hash=_hasher.hash(_check_password(password)),
        disabled=False,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", "user", username, after=_public(user))
    return user


def set_role(username: str, role: str) -> User:
    """Change an account's role."""
    user = get_user(username)
    before = user.role
    user.role = _check_role(role)
    if before != role:
        audit.record("user.role_changed", "user", user.username, before={"role": before}, after={"role": role})
    return user


def set_disabled(username: str, disabled: bool) -> User:
    """Disable an account (it can no longer sign in, and its open sessions end) or enable it again."""
    user = get_user(username)
    if user.disabled != disabled:
        audit.record(
            "user.disabled" if disabled else "user.enabled",
            "user",
            user.username,
            before={"disabled": user.disabled},
            after={"disabled": disabled},
        )
    user.disabled = disabled
    return user


def set_password(username: str, password: str) -> User:
    """Replace an account's password (the trail records that it changed, never the value)."""
    user = get_user(username)
    user.password_hash = _hasher.hash(_check_password(password))
    audit.record("user.password_changed", "user", user.username)
    return user


def sign_in(
    username: str, password: str, client: str, *, max_failures: int, ip_max_failures: int, window: dt.timedelta
) -> User:
    """The account if the password is right and it is enabled; every attempt goes to the trail.

    More than `max_failures` failures for one user name, or `ip_max_failures` from one client
    address, within `window` refuse further attempts until the window has passed.
    """
    username = (username or "").strip().lower()[:64]
    since = (dt.datetime.now(dt.UTC) - window).isoformat(timespec="microseconds")
    client_actor = f"client {client}"[:200]
    if (
        audit.failures_since(username=username, since=since) >= max_failures
        or audit.failures_since(actor=client_actor, since=since) >= ip_max_failures
    ):
        minutes = max(1, int(window.total_seconds() // 60))
        raise TooManyAttempts(f"Too many failed sign-ins. Wait {minutes} minutes and try again.")
    user = db.session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password or "")
        ok = user is not None and not user.disabled
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        reason = (
            "disabled"
            if user is not None and user.disabled and password_matches(user, password)
            else "wrong user name or password"
        )
        audit.record("login.failed", "user", username, after={"client": client, "reason": reason}, actor=client_actor)
        raise SignInRefused("Wrong user name or password, or the account is disabled.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    audit.record("login", "user", username, after={"client": client}, actor=username)
    return user


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the account's password (no trail entry: this is not a sign-in)."""
    try:
        return _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def sign_out(user: User) -> None:
    """Record the end of a session."""
    audit.record("logout", "user", user.username, actor=user.username)
