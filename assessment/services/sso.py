"""Single sign-on's use case: the person an OpenID Connect provider vouched for, as an account here.

The account is found by the provider's issuer and subject, never by a name: a person called "admin" at the
provider does not become the local admin. The first sign-in creates the account (a free user name, the full
name and e-mail address of the claims, a password hash no password matches); every sign-in takes the role
the groups give now (domain/sso.py), so leaving a group at the provider takes the rights away at the next
sign-in. Each step goes to the audit trail as the local sign-in's do; a refusal too, with its reason.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain.sso import Claims, SsoSettings, role_for, username_candidates
from ..extensions import db
from ..models import ROLES, User, utcnow
from . import accounts, audit
from .errors import ServiceError

# No Argon2 hash looks like this, so no password ever matches an account made by single sign-on
# (accounts.sign_in and password_matches treat it as a wrong password).
NO_PASSWORD = "!sso"


class SsoRefused(ServiceError):
    """The provider vouched for the person, but this application does not let them in."""

    status = 403


def find_account(issuer: str, subject: str) -> User | None:
    """The account of the person `subject` at the provider `issuer`, or None."""
    return db.session.scalar(select(User).where(User.sso_issuer == issuer, User.sso_subject == subject))


def _free_username(claims: Claims) -> str:
    for name in username_candidates(claims):
        if db.session.scalar(select(User.id).where(User.username == name)) is None:
            return name
    raise SsoRefused("No free user name could be made for your account; ask an admin.")


def _refuse(claims: Claims, name: str, client: str, reason: str, message: str) -> SsoRefused:
    audit.record(
        "login.failed",
        "user",
        name,
        after={"client": client, "reason": reason, "issuer": claims.issuer, "subject": claims.subject},
        actor=f"client {client}"[:200],
    )
    return SsoRefused(message)


def sign_in(claims: Claims, settings: SsoSettings, client: str) -> User:
    """The account of the person the provider vouched for, created on their first sign-in, with the role their
    groups give now; SsoRefused (recorded in the trail) when no group gives one or the account is disabled."""
    account = find_account(claims.issuer, claims.subject)
    label = account.username if account else (claims.preferred_username or claims.subject)[:200]
    role = role_for(claims.groups, settings.role_map, settings.default_role, ROLES)
    if role is None:
        if account is not None:  # taken out of every group at the provider: the sessions opened before end too
            with audit.acting_as(f"sso {claims.issuer}"[:200]):
                accounts.end_sessions(account, "no mapped group")
        raise _refuse(
            claims,
            label,
            client,
            "no mapped group",
            f"{settings.display_name} signed you in, but none of your groups there gives access to this application. "
            "Ask an admin to add you to one of its groups, then sign in again.",
        )
    if account is not None and account.disabled:
        raise _refuse(
            claims, label, client, "disabled", "Your account here is disabled; ask an admin to enable it again."
        )
    actor = f"sso {claims.issuer}"[:200]
    with audit.acting_as(actor):
        if account is None:
            account = _create(claims, role)
        else:
            _update(account, claims, role)
    account.last_login_at = utcnow()
    audit.record(
        "login", "user", account.username, after={"client": client, "via": "sso", "role": role}, actor=account.username
    )
    return account


def _create(claims: Claims, role: str) -> User:
    """A new account for the person; should another sign-in of theirs create it at the same moment (the unique
    index on issuer and subject is the judge), that account is used instead."""
    username = _free_username(claims)
    account = User(
        username=username,
        display_name=(claims.full_name or username)[:200],
        email=claims.email[:320] if claims.email else None,
        role=role,
        password_hash=NO_PASSWORD,
        disabled=False,
        sso_issuer=claims.issuer,
        sso_subject=claims.subject,
    )
    try:
        with db.session.begin_nested():
            db.session.add(account)
    except IntegrityError:
        existing = find_account(claims.issuer, claims.subject)
        if existing is None:  # the user name was taken at that moment: another try picks the next one
            raise SsoRefused("Your account could not be created just now; sign in again.") from None
        _update(existing, claims, role)
        return existing
    audit.record(
        "user.created",
        "user",
        username,
        after={
            "username": username,
            "display_name": account.display_name,
            "role": role,
            "disabled": False,
            "email": account.email,
            "issuer": claims.issuer,
            "subject": claims.subject,
        },
    )
    return account


def _update(account: User, claims: Claims, role: str) -> None:
    """Take the provider's name and address when they changed, and the role the groups give now (a changed role
    ends the account's other sessions, as an admin's change does)."""
    profile = {"display_name": (claims.full_name or account.display_name)[:200], "email": claims.email or account.email}
    before = {"display_name": account.display_name, "email": account.email}
    if profile != before:
        account.display_name, account.email = profile["display_name"], profile["email"]
        audit.record("user.profile_changed", "user", account.username, before=before, after=profile)
    if account.role != role:
        accounts.set_role(account.username, role)
