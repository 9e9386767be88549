"""The TOTP second factor: the sign-in's second step, setting it up on one's account page, an admin's reset.

Between the password and the code the session holds only a half-signed state (who, since when,
where to go): nobody is signed in, and it expires after MFA_PENDING_SECONDS. With REQUIRE_MFA an
admin without a second factor can open nothing but the set-up page (and sign out) until it is on.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from ..extensions import db
from ..models import User
from ..services import access, accounts, mfa
from ..services.errors import InvalidInput, ServiceError
from ..services.throttle import Limits
from .common import user
from .formerrors import UNPROCESSABLE, FormErrors, abandon_changes
from .messages import ERROR, notify

bp = Blueprint("mfa", __name__)

PENDING = "mfa_pending"
CODE_FIELD = "mfa-code"
# What an admin who must set up a second factor (REQUIRE_MFA) may still open.
WHILE_REQUIRED = frozenset(
    {"mfa.account", "mfa.setup", "mfa.confirm", "auth.logout", "auth.logout_everywhere", "static"}
)


def _key():
    return mfa.cipher(Path(current_app.instance_path))


def _require_mfa() -> bool:
    return mfa.flag(current_app.config.get("REQUIRE_MFA", False))


def begin_second_step(account: User, target: str, known_device: bool):
    """After a right password for an account with a second factor: remember who, for a few minutes, and ask the code."""
    session.clear()
    session[PENDING] = {"user": account.id, "at": int(time.time()), "next": target, "known": known_device}
    return redirect(url_for("mfa.code"))


def _pending() -> tuple[User, dict] | None:
    """The half-signed sign-in of this browser, if it has one that has not expired."""
    from .auth import local_login

    state = session.get(PENDING)
    if not local_login():  # LOCAL_LOGIN=0: a sign-in begun with a password before the switch goes no further
        return None
    if not isinstance(state, dict) or not isinstance(state.get("user"), int) or not isinstance(state.get("at"), int):
        return None
    if time.time() - state["at"] > int(current_app.config["MFA_PENDING_SECONDS"]):
        session.pop(PENDING, None)
        return None
    account = db.session.get(User, state["user"])
    if account is None or account.disabled or not mfa.enabled(account):
        return None
    return account, state


def _no_pending():
    if current_user.is_authenticated:
        return redirect(url_for("scopes.home"))
    notify("Your sign-in took too long or was not started; sign in again.", ERROR)
    return redirect(url_for("auth.login"))


@bp.get("/login/code")
def code():
    """The sign-in's second step: the code of the authenticator app, or a recovery code."""
    if _pending() is None:
        return _no_pending()
    return render_template("mfa/code.html", errors=FormErrors())


@bp.post("/login/code")
def code_post():
    """Check the code (counted by the sign-in throttle); a right one completes the sign-in."""
    found = _pending()
    if found is None:
        return _no_pending()
    account, state = found
    client = request.remote_addr or "unknown"
    limits, known = Limits.from_config(current_app.config), bool(state.get("known"))
    errors = FormErrors(values={"code": request.form.get("code", "")[:20]})
    try:
        accounts.reserve_attempt(account.username, client, limits=limits, known_device=known)
        passed = mfa.verify(account, _key(), request.form.get("code", ""))
        accounts.second_factor(account, passed, client, limits=limits, known_device=known)
    except ServiceError as refused:  # returned, not raised: the failed attempt is committed to the trail
        errors.add(CODE_FIELD, refused.message)
        return render_template("mfa/code.html", errors=errors), (
            UNPROCESSABLE if refused.status == 401 else refused.status
        )
    from .auth import complete_sign_in

    response = complete_sign_in(account, str(state.get("next") or url_for("scopes.home")))
    if passed == "recovery":  # after the fresh session is opened, which would have dropped the message
        left = mfa.recovery_left(account)
        notify(f"You used a recovery code; {left} left. If your phone is lost, set up your second factor again.")
    return response


@bp.before_app_request
def require_second_factor():
    """REQUIRE_MFA: an admin without a second factor goes to set one up, and can do nothing else."""
    if request.endpoint in WHILE_REQUIRED or not current_user.is_authenticated:
        return None
    if not mfa.required(current_user, _require_mfa()):
        return None
    message = "This instance requires admins to use a second factor: set it up before you continue."
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify(error=message), 403
    notify(message, ERROR)
    return redirect(url_for("mfa.account"))


def _account_page(errors: FormErrors | None = None, status: int = 200, setup: mfa.Enrolment | None = None):
    me = user()
    access.require(me, "second-factor")
    on = mfa.enabled(me)
    page = render_template(
        "mfa/account.html",
        on=on,
        setup=setup if setup is not None else (None if on else mfa.pending(me, _key())),
        left=mfa.recovery_left(me) if on else 0,
        required=mfa.required(me, _require_mfa()),
        errors=errors or FormErrors(),
    )
    return page, status


@bp.get("/account/mfa")
def account():
    """One's second factor: whether it is on, setting it up, switching it off."""
    return _account_page()


@bp.post("/account/mfa/setup")
def setup():
    """Start setting up: a new secret, shown until a code confirms it."""
    access.require(user(), "second-factor")
    try:
        enrolment = mfa.begin(user(), _key())
    except InvalidInput as error:
        notify(error.message, ERROR)
        return redirect(url_for("mfa.account"))
    return _account_page(setup=enrolment)


@bp.post("/account/mfa/confirm")
def confirm():
    """Switch the second factor on with a current code; the recovery codes are shown this once."""
    me = user()
    access.require(me, "second-factor")
    if mfa.enabled(me) or me.totp_secret is None:
        notify("There is no set-up under way: start it with Set up a second factor.", ERROR)
        return redirect(url_for("mfa.account"))
    try:
        codes = mfa.confirm(me, _key(), request.form.get("code", ""))
    except InvalidInput as error:
        abandon_changes()
        errors = FormErrors(values={"code": request.form.get("code", "")[:20]})
        errors.add(CODE_FIELD, error.message)
        return _account_page(errors, UNPROCESSABLE)
    page = render_template("mfa/recovery.html", codes=codes)
    return page, 200, {"Cache-Control": "no-store"}


@bp.post("/account/mfa/disable")
def disable():
    """Switch one's own second factor off, with a current code or a recovery code."""
    me = user()
    access.require(me, "second-factor")
    if not mfa.enabled(me):
        notify("Your second factor is off already.", ERROR)
        return redirect(url_for("mfa.account"))
    try:
        mfa.disable(me, _key(), request.form.get("code", ""))
    except InvalidInput as error:
        abandon_changes()
        errors = FormErrors(values={"code": request.form.get("code", "")[:20]})
        errors.add("mfa-disable-code", error.message)
        return _account_page(errors, UNPROCESSABLE)
    notify("Your second factor is off: you sign in with your password alone.")
    return redirect(url_for("mfa.account"))


@bp.post("/users/<int:user_id>/mfa/reset")
def reset(user_id: int):
    """An admin switches another person's second factor off (a lost phone); the trail records it."""
    access.require(user(), "mfa-reset")
    account_ = accounts.get_user_by_id(user_id)
    try:
        mfa.reset(account_, by=user())
    except InvalidInput as error:
        notify(error.message, ERROR)
        return redirect(url_for("people.index"))
    notify(f"{account_.username}'s second factor is reset: they sign in with their password and set it up again.")
    return redirect(url_for("people.index"))
