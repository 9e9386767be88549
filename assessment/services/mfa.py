"""A TOTP second factor for local accounts (RFC 6238, pyotp), with one-time recovery codes.

- Set-up: `begin` makes a fresh secret and keeps it encrypted (Fernet, with the instance's key file
  `instance/mfa_key`, written once like `secret_key`; never in the source, never in a cookie);
  `confirm` switches it on once the person types a current code, and returns the recovery codes,
  shown that once and stored only as their SHA-256. After that the secret is never shown again.
- A code is accepted one step (30 s) either side of now, and only for a time step later than the
  last one accepted: the check and the write are one UPDATE, so two requests racing with one code
  cannot both succeed (a replay). A recovery code is spent the same way, by one UPDATE.
- Every change is written to the audit trail: set up, switched off, reset by an admin, a recovery
  code used.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, func, or_, select, update

from ..extensions import db
from ..keyfiles import write_once
from ..models import RecoveryCode, User, utcnow
from . import audit
from .errors import InvalidInput

ISSUER = "Assessment"
KEY_FILE = "mfa_key"
RECOVERY_CODES = 10
STEP = 30  # seconds a code lasts (RFC 6238's default, what every authenticator app uses)
WINDOW = 1  # steps accepted either side of now: a clock a little off, a code typed as it changes


def cipher(instance: Path) -> Fernet:
    """The instance's key for TOTP secrets, from `instance/mfa_key`; the first caller creates it (mode 0600)."""
    path = Path(instance) / KEY_FILE
    if not path.exists():
        write_once(path, Fernet.generate_key().decode() + "\n")
    return Fernet(path.read_text().strip().encode())


def enabled(user: User) -> bool:
    """Whether the account signs in with a second factor."""
    return user.totp_enabled_at is not None and user.totp_secret is not None


def _secret(user: User, key: Fernet) -> str:
    try:
        return key.decrypt(user.totp_secret.encode()).decode()
    except (InvalidToken, AttributeError) as error:
        raise InvalidInput(
            "The second factor's secret cannot be read with this instance's key (instance/mfa_key was replaced?); "
            "ask an admin to reset your second factor."
        ) from error


@dataclass(frozen=True)
class Enrolment:
    """What the set-up page shows: the secret as text and as the URI an authenticator app reads."""

    secret: str
    uri: str

    @property
    def grouped(self) -> str:
        """The secret in groups of four letters, easier to type."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def begin(user: User, key: Fernet) -> Enrolment:
    """Start (or start again) setting up a second factor: a new secret, not yet switched on."""
    if enabled(user):
        raise InvalidInput("Your second factor is on already; switch it off first to set up a new one.")
    if user.signs_in_with_sso:  # a code here would never be asked: single sign-on skips the password step
        raise InvalidInput(
            "You sign in through single sign-on: your provider asks for your second factor, not this application."
        )
    secret = pyotp.random_base32()
    user.totp_secret = key.encrypt(secret.encode()).decode()
    user.totp_enabled_at = None
    user.totp_last_step = None
    return pending(user, key)


def pending(user: User, key: Fernet) -> Enrolment | None:
    """The set-up under way (its secret is not on yet, so it may still be shown), or None."""
    if user.totp_secret is None or enabled(user):
        return None
    secret = _secret(user, key)
    return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER))


def _clean(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, now: float) -> int | None:
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp, current = pyotp.TOTP(secret), int(now // STEP)
    for step in range(current + WINDOW, current - WINDOW - 1, -1):  # the latest first
        if secrets.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def _spend_step(user: User, step: int) -> bool:
    """Record `step` as the last one used, unless it (or a later one) was used already: one UPDATE."""
    done = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step),
        execution_options={"synchronize_session": False},
    ).rowcount
    if done:
        user.totp_last_step = step
    return bool(done)


def _hash(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def _new_codes() -> list[str]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt
    return ["".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODES)]


def shown(code: str) -> str:
    """A recovery code as shown: two groups of five."""
    return f"{code[:5]}-{code[5:]}"


def confirm(user: User, key: Fernet, code: str, *, now: float | None = None) -> list[str]:
    """Switch the second factor on if `code` is current for the secret being set up; returns the
    recovery codes (to show once). A wrong code changes nothing."""
    if enabled(user):
        raise InvalidInput("Your second factor is on already.", field="code")
    if user.totp_secret is None:
        raise InvalidInput("Start setting up your second factor first.", field="code")
    step = _matching_step(_secret(user, key), _clean(code), time.time() if now is None else now)
    if step is None or not _spend_step(user, step):
        raise InvalidInput(
            "That code does not match: type the 6 digits your authenticator app shows now for Assessment.",
            field="code",
        )
    user.totp_enabled_at = utcnow()
    codes = _new_codes()
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(c)) for c in codes)
    audit.record("user.mfa_enabled", "user", user.username, after={"recovery_codes": len(codes)})
    return [shown(c) for c in codes]


def verify(user: User, key: Fernet, code: str, *, now: float | None = None) -> str | None:
    """Check a sign-in's second factor: a current TOTP code not used before, or an unused recovery
    code (then spent, and recorded). Returns how it was passed ("totp" or "recovery"), or None."""
    if not enabled(user):
        return None
    cleaned = _clean(code)
    step = _matching_step(_secret(user, key), cleaned, time.time() if now is None else now)
    if step is not None:
        return "totp" if _spend_step(user, step) else None
    if len(cleaned) != 10:
        return None
    spent = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(cleaned), RecoveryCode.used_at.is_(None)
        )
        .values(used_at=utcnow()),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not spent:
        return None
    audit.record("user.mfa_recovery_used", "user", user.username, after={"left": recovery_left(user)})
    return "recovery"


def recovery_left(user: User) -> int:
    """How many recovery codes the account has not used."""
    return db.session.scalar(
        select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def disable(user: User, key: Fernet, code: str) -> None:
    """Switch the account's own second factor off; a current code (or a recovery code) proves it is theirs."""
    if not enabled(user):
        raise InvalidInput("Your second factor is off already.", field="code")
    if verify(user, key, code) is None:
        raise InvalidInput(
            "That code does not match: type the 6 digits your app shows now, or an unused recovery code.",
            field="code",
        )
    _clear(user)
    audit.record("user.mfa_disabled", "user", user.username)


def reset(account: User, *, by: User | None) -> None:
    """An admin (`by`; None: the command line) switches another person's second factor off (a lost phone):
    they sign in with their password alone and set it up again. Nobody resets their own on the web:
    they switch it off with a code; an admin who lost theirs is reset by another or from the command line."""
    if by is not None and by.id == account.id:
        raise InvalidInput("You cannot reset your own second factor; switch it off on your account page.")
    if account.totp_secret is None:
        raise InvalidInput(f"{account.username} has no second factor to reset.")
    was_on = enabled(account)
    _clear(account)
    audit.record("user.mfa_reset", "user", account.username, before={"enabled": was_on}, after={"enabled": False})


def required(user: User, require_mfa: bool) -> bool:
    """Whether the account must set up a second factor before doing anything else (REQUIRE_MFA, admins with a
    password here: an account of single sign-on is checked by its provider)."""
    return require_mfa and user.role == "admin" and not enabled(user) and not user.signs_in_with_sso


def flag(value: object) -> bool:
    """A setting given as 1/0, true/false, yes/no or on/off (environment values are text)."""
    return str(value).strip().lower() in ("1", "true", "yes", "on")
