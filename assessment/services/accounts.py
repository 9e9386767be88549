"""People: accounts, passwords (Argon2id), sign-in with throttling, sessions, roles.

Every change to an account, every sign-in attempt and every ending of sessions is written to
the audit trail. A session is a row of `user_session`: the cookie carries a random token, the
database its SHA-256, and the user loader accepts a cookie only while its row is open, so
signing out, a password or role change, disabling and an admin's "end sessions" kill copied cookies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import ROLES, User, UserSession, utcnow
from . import audit, throttle
from .errors import InvalidInput, NotFound, ServiceError

ROLE_LABELS = {"admin": "Admin", "lead": "Program lead", "member": "Team member", "auditor": "Auditor"}
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}\Z")
MIN_PASSWORD = 10

# Argon2id at OWASP's minimum (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1). argon2-cffi's own
# default (RFC 9106's low-memory profile, m=64 MiB, t=3, p=4) costs 130 ms a verification on a quiet
# two-core machine and 0.8 to 1.9 s on a busy one (its four lanes queue for two cores, and every
# other request behind them); these cost about 20 ms, the whole sign-in request about 26 ms
# (bench/bench_signin.py, yardstick 0.55 s). OWASP's equivalent trade-offs (12 MiB t=3, 9 MiB t=4,
# 7 MiB t=5) cost the same time within a few ms; the 19 MiB one keeps the most memory per guess.
# Instances may raise the cost (config PASSWORD_*); hashes made with other parameters are rehashed
# with these at the next successful sign-in (check_needs_rehash in sign_in).
DEFAULT_TIME_COST = 2
DEFAULT_MEMORY_KIB = 19 * 1024
DEFAULT_PARALLELISM = 1
_hasher = PasswordHasher(time_cost=DEFAULT_TIME_COST, memory_cost=DEFAULT_MEMORY_KIB, parallelism=DEFAULT_PARALLELISM)
# Verifying against this keeps a wrong user name as slow as a wrong password.
_DUMMY_HASH = None
# One hash or verification at a time in a process: each takes its memory cost (19 MiB) while it runs, so
# a web worker's threads signing people in at once would each add that much to its resident size (two at
# once were a worker's peak in the load run: 148 MB against 110 MB otherwise). One at a time bounds it at
# one hash a process, whatever the threads or the requests; a hash takes about 20 ms, so a second sign-in
# waits that long at most, and another worker process hashes meanwhile on the other core.
_HASHING = threading.Lock()


def _hash(password: str) -> str:
    with _HASHING:
        return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    with _HASHING:
        return _hasher.verify(password_hash, password)


class SignInRefused(ServiceError):
    """Wrong user name or password, or a disabled account: one message for all, so none is revealed."""

    status = 401


class TooManyAttempts(ServiceError):
    """Too many failed sign-ins for this account from this address, or from this address: wait."""

    status = 429


def configure_hasher(
    time_cost: int | None = None, memory_cost: int | None = None, parallelism: int | None = None
) -> None:
    """Set the Argon2id cost (tests lower it; production keeps the OWASP defaults above)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(
        time_cost=time_cost or DEFAULT_TIME_COST,
        memory_cost=memory_cost or DEFAULT_MEMORY_KIB,
        parallelism=parallelism or DEFAULT_PARALLELISM,
    )
    _DUMMY_HASH = None


def hasher() -> PasswordHasher:
    """The password hasher in use (its parameters are what new and rehashed passwords get)."""
    return _hasher


def find_user(username: str) -> User | None:
    """The account of that user name, or None."""
    return db.session.scalar(select(User).where(User.username == username))


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hash("not a password anyone has")
    return _DUMMY_HASH


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > 1024:
        raise InvalidInput("A password may have at most 1,024 characters.", field="password")
    return password


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; a role is one of: {', '.join(ROLES)}.", field="role")
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
            f"User name {username!r}: use 2 to 64 lower-case letters, digits, dots, dashes or underscores.",
            field="username",
        )
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidInput(f"A user named {username!r} already exists.", field="username")
    display_name = (display_name or "").strip()[:200] or username
    user = User(
        username=username,
        display_name=display_name,
        role=_check_role(role),
        password_hash=_hash(_check_password(password)),
        disabled=False,
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", "user", username, after=_public(user))
    return user


def get_user_by_id(user_id: int) -> User:
    """The account with this id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no user {user_id}.")
    return user


def set_role(username: str, role: str, *, by: User | None = None) -> User:
    """Change an account's role; an admin (`by`) cannot change their own, so one admin always remains."""
    user = get_user(username)
    if by is not None and by.id == user.id:
        raise InvalidInput("You cannot change your own role; ask another admin.")
    before = user.role
    user.role = _check_role(role)
    if before != role:
        audit.record("user.role_changed", "user", user.username, before={"role": before}, after={"role": role})
        end_sessions(user, "role changed")  # a session keeps no rights it was opened with
    return user


def set_disabled(username: str, disabled: bool, *, by: User | None = None) -> User:
    """Disable an account (it can no longer sign in, and its open sessions end) or enable it again;
    nobody (`by`) can disable their own account."""
    user = get_user(username)
    if by is not None and by.id == user.id and disabled:
        raise InvalidInput("You cannot disable your own account.")
    if user.disabled != disabled:
        audit.record(
            "user.disabled" if disabled else "user.enabled",
            "user",
            user.username,
            before={"disabled": user.disabled},
            after={"disabled": disabled},
        )
    user.disabled = disabled
    if disabled:
        end_sessions(user, "disabled")
    return user


def set_password(username: str, password: str) -> User:
    """Replace an account's password (the trail records that it changed, never the value) and end
    every session of the account: whoever held the old password, or a cookie, is signed out."""
    user = get_user(username)
    user.password_hash = _hash(_check_password(password))
    audit.record("user.password_changed", "user", user.username)
    end_sessions(user, "password changed")
    return user


def sign_in(username: str, password: str, client: str, *, limits: throttle.Limits, known_device: bool = False) -> User:
    """The account if the password is right and it is enabled; every attempt goes to the trail.

    The throttle (services/throttle.py) counts the attempt before the password is checked, and
    refuses it while the account is held for this client address, or the address is (unless the
    browser is a `known_device` of this account). Every refused attempt costs exactly one Argon2
    verification, whether the user name is unknown, the password wrong or the account disabled.
    """
    username = (username or "").strip().lower()[:64]
    client_actor = f"client {client}"[:200]
    wait = throttle.reserve(username, client, limits, address_exempt=known_device)
    if wait is not None:
        raise TooManyAttempts(f"Too many failed sign-ins. Wait {_duration(wait)} and try again.")
    user = db.session.scalar(select(User).where(User.username == username))
    try:
        matches = _verify(user.password_hash if user else _dummy_hash(), password or "")
    except (VerificationError, InvalidHashError):
        matches = False
    if user is None or not matches or user.disabled:
        reason = "disabled" if user is not None and user.disabled and matches else "wrong user name or password"
        audit.record("login.failed", "user", username, after={"client": client, "reason": reason}, actor=client_actor)
        raise SignInRefused("Wrong user name or password, or the account is disabled.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hash(password)
    if user.totp_enabled_at is not None:
        # Half-way: the throttle keeps counting until the second factor is right (services/mfa.py), so a
        # stolen password does not buy fresh guesses at the code.
        audit.record("login.password_ok", "user", username, after={"client": client}, actor=username)
        return user
    throttle.succeeded(username, client, limits, address_exempt=known_device)
    user.last_login_at = utcnow()
    audit.record("login", "user", username, after={"client": client}, actor=username)
    return user


def second_factor(
    user: User, passed: str | None, client: str, *, limits: throttle.Limits, known_device: bool = False
) -> User:
    """The second step of a sign-in: `passed` is how the code was accepted ("totp", "recovery") or None.

    A wrong code counts in the throttle like a wrong password (the view reserved the attempt before
    checking it) and goes to the trail; a right one clears the counter and completes the sign-in.
    """
    client_actor = f"client {client}"[:200]
    if passed is None or user.disabled:
        audit.record(
            "login.failed", "user", user.username, after={"client": client, "reason": "wrong code"}, actor=client_actor
        )
        raise SignInRefused("That code is wrong or was used already. Type the code your app shows now.")
    throttle.succeeded(user.username, client, limits, address_exempt=known_device)
    user.last_login_at = utcnow()
    audit.record("login", "user", user.username, after={"client": client, "second_factor": passed}, actor=user.username)
    return user


def reserve_attempt(username: str, client: str, *, limits: throttle.Limits, known_device: bool = False) -> None:
    """Count a second-factor attempt before its code is checked; TooManyAttempts while held."""
    wait = throttle.reserve(username, client, limits, address_exempt=known_device)
    if wait is not None:
        raise TooManyAttempts(f"Too many failed sign-ins. Wait {_duration(wait)} and try again.")


def _duration(wait: dt.timedelta) -> str:
    seconds = max(1, int(wait.total_seconds() + 0.999))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the account's password (no trail entry: this is not a sign-in)."""
    try:
        return _verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


# The session's key in the signed cookie, and how stale "last seen" may get before it is written
# again: a write at most every five minutes per session, not one per request.
SESSION_KEY = "_sid"
TOUCH_AFTER = dt.timedelta(minutes=5)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, id_token: str | None = None) -> str:
    """Open a session for `user` and return its token, for the signed cookie (only its hash is stored).
    `id_token`: the provider's ID token of a single sign-on, kept for signing out there too."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(token_hash=_token_hash(token), user_id=user.id, created_at=now, last_seen_at=now, id_token=id_token)
    )
    db.session.flush()
    return token


@dataclass(frozen=True)
class SignedIn:
    """Who a cookie signs in, and the session it belongs to."""

    user: User
    session_id: int


def session_user(user_id: str, token: object, idle: dt.timedelta) -> SignedIn | None:
    """The enabled account whose open session (seen within `idle`) the cookie names, in one query; else None."""
    if not isinstance(token, str) or not user_id.isdigit() or len(user_id) > 18:
        return None
    now = utcnow()
    row = db.session.execute(
        select(User, UserSession.id, UserSession.last_seen_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == int(user_id),
            User.disabled.is_(False),
            UserSession.token_hash == _token_hash(token),
            UserSession.ended_at.is_(None),
            UserSession.last_seen_at >= now - idle,
        )
    ).first()
    if row is None:
        return None
    user, session_id, seen = row
    if (seen if seen.tzinfo else seen.replace(tzinfo=dt.UTC)) < now - TOUCH_AFTER:
        _touch(session_id, now)
    return SignedIn(user, session_id)


def _touch(session_id: int, now: dt.datetime) -> None:
    """Move "last seen" forward in a transaction of its own (a page that only reads commits nothing);
    a database too busy to take it now just leaves it for the next request."""
    try:
        with db.engine.begin() as connection:
            connection.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))
    except SQLAlchemyError:
        pass


def end_sessions(user: User, reason: str, *, only: int | None = None, always_record: bool = False) -> int:
    """End the account's open sessions (or only the session `only`); the trail records it. Returns how many."""
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if only is not None:
        stmt = stmt.where(UserSession.id == only)
    ended = db.session.execute(
        stmt.values(ended_at=utcnow(), ended_reason=reason[:40], id_token=None),
        execution_options={"synchronize_session": False},
    ).rowcount
    if ended or always_record:
        audit.record("user.sessions_ended", "user", user.username, after={"reason": reason, "sessions": ended})
    return ended


def open_sessions() -> dict[int, int]:
    """How many open sessions each account has: user id -> count (accounts without any are left out)."""
    rows = db.session.execute(
        select(UserSession.user_id, func.count()).where(UserSession.ended_at.is_(None)).group_by(UserSession.user_id)
    )
    return {user_id: count for user_id, count in rows}


def session_id_token(user: User, session_id: int | None) -> str | None:
    """The ID token kept with this open session of `user` (a single sign-on's), else None."""
    if session_id is None:
        return None
    return db.session.scalar(
        select(UserSession.id_token).where(
            UserSession.id == session_id, UserSession.user_id == user.id, UserSession.ended_at.is_(None)
        )
    )


def sign_out(user: User, session_id: int | None = None) -> None:
    """End this session (the account's other sessions stay open, and the ID token it kept goes) and record it."""
    if session_id is not None:
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == session_id, UserSession.user_id == user.id, UserSession.ended_at.is_(None))
            .values(ended_at=utcnow(), ended_reason="signed out", id_token=None),
            execution_options={"synchronize_session": False},
        )
    audit.record("logout", "user", user.username, actor=user.username)
