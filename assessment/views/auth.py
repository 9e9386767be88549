"""Signing in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..domain.sso import SsoSettings, local_login_on, settings_from
from ..forms import SignInForm
from ..models import ROLES
from ..services import accounts, mfa
from ..services.errors import InvalidInput, ServiceError
from ..services.throttle import Limits
from .common import user
from .mfa import begin_second_step

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """Only a path on this site: an absolute or scheme-relative URL would make an open redirect, and a
    control character (a CR/LF would split the Location header) or a space is never part of one."""
    target = target or ""
    if len(target) > 2000 or any(ch <= " " or ch == "\x7f" for ch in target):
        return url_for("scopes.home")
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc or "\\" in target:
        return url_for("scopes.home")
    return target


DEVICE_COOKIE = "assessment_device"


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="assessment.known-device")


def _known_device(username: str | None) -> bool:
    """Whether this browser signed in to `username` before (a cookie signed by the server says so)."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return False
    try:
        named = _devices().loads(cookie, max_age=int(current_app.config["KNOWN_DEVICE_DAYS"]) * 86400)
    except BadSignature:
        return False
    return isinstance(named, str) and named == (username or "").strip().lower()[:64]


def sso_settings() -> SsoSettings | None:
    """Single sign-on's settings (checked when the application started), or None when OIDC_ISSUER is unset."""
    return settings_from(current_app.config, ROLES)


def local_login() -> bool:
    """Whether people may sign in with a password here (LOCAL_LOGIN, on unless set to 0)."""
    return local_login_on(current_app.config.get("LOCAL_LOGIN", True))


def login_page(form: SignInForm | None, target: str, status: int = 200):
    """The sign-in page: the password form when local passwords are on, the single sign-on button when it is set."""
    sso = sso_settings()
    page = render_template(
        "auth/login.html",
        form=form or SignInForm(),
        next=target,
        local_login=local_login(),
        sso_name=sso.display_name if sso else None,
    )
    return page, status


@bp.get("/login")
def login():
    """The sign-in form."""
    return login_page(None, safe_next(request.args.get("next")))


@bp.post("/login")
def login_post():
    """Check the password, with the rate limit, and start a fresh session."""
    form = SignInForm()
    target = safe_next(request.form.get("next"))
    if not local_login():  # LOCAL_LOGIN=0: no password is even looked at
        sso = sso_settings()
        how = f"sign in with {sso.display_name}" if sso else "ask an admin"
        flash(f"Passwords are switched off here: {how}.", "error")
        return login_page(form, target, 403)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            raise InvalidInput("The form's security token is missing or expired; reload the page and try again.")
        flash("Enter your user name and password.", "error")
        return login_page(form, target, 400)
    config = current_app.config
    try:
        account = accounts.sign_in(
            form.username.data,
            form.password.data,
            request.remote_addr or "unknown",
            limits=Limits.from_config(config),
            known_device=_known_device(form.username.data),
        )
    except ServiceError as refused:  # returned, not raised: the failed attempt is committed to the trail
        flash(refused.message, "error")
        return login_page(form, target, refused.status)
    if mfa.enabled(account):  # half-way: not signed in until the code is right (views/mfa.py)
        return begin_second_step(account, target, _known_device(form.username.data))
    return complete_sign_in(account, target)


def complete_sign_in(account, target: str, id_token: str | None = None):
    """Open a fresh session for `account` (password, and second factor if it has one, checked, or the
    provider's ID token of a single sign-on) and go to `target`."""
    config = current_app.config
    token = accounts.start_session(account, id_token)
    session.clear()  # a new session on sign-in: nothing from before survives (session fixation)
    login_user(account)
    session[accounts.SESSION_KEY] = token
    session.permanent = True
    response = redirect(target)
    response.set_cookie(
        DEVICE_COOKIE,
        _devices().dumps(account.username),
        max_age=int(config["KNOWN_DEVICE_DAYS"]) * 86400,
        httponly=True,
        samesite="Lax",
        secure=bool(config["SESSION_COOKIE_SECURE"]) or request.is_secure,
    )
    return response


def _provider_logout(account, id_token: str | None) -> str | None:
    """The provider's sign-out address for a session of single sign-on (None for a password session, or when
    OIDC_PROVIDER_LOGOUT=0 or the provider offers none): the browser goes there after the session here ended,
    so that the next sign-in with the provider asks who is there instead of signing the same person in again."""
    settings = sso_settings()
    if settings is None or not settings.provider_logout or id_token is None:
        return None
    if account.sso_issuer != settings.issuer:
        return None
    from ..adapters import oidc  # Authlib loads only where someone signs in or out with the provider

    return oidc.logout_url(settings, url_for("auth.login", _external=True), id_token)


def _signed_out(provider: str | None, message: str):
    """Forget the person in this browser and say so, on the sign-in page or by way of the provider's sign-out."""
    logout_user()
    session.clear()
    if provider is None:
        flash(message)
        return redirect(url_for("auth.login"))
    display = sso_settings().display_name
    page = render_template("auth/provider_logout.html", provider_url=provider, display=display)
    flash(f"{message} {display} was asked to sign you out as well.")  # for the sign-in page it brings you back to
    return page


@bp.post("/logout")
def logout():
    """End this session: its cookie, even a copy, signs nobody in any more; a session of single sign-on
    then goes on to the provider's sign-out (asked of the provider before anything is written)."""
    account, session_id = user(), g.get("user_session_id")
    provider = _provider_logout(account, accounts.session_id_token(account, session_id))
    accounts.sign_out(account, session_id)
    return _signed_out(provider, "You are signed out.")


@bp.post("/logout/everywhere")
def logout_everywhere():
    """End every session of the account, on every device, this one included (and this browser's session at
    the provider, for a session of single sign-on)."""
    account = user()
    provider = _provider_logout(account, accounts.session_id_token(account, g.get("user_session_id")))
    ended = accounts.end_sessions(account, "signed out everywhere", always_record=True)
    return _signed_out(provider, f"You are signed out everywhere ({ended} session{'s' if ended != 1 else ''} ended).")
