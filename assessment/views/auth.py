"""Signing in and out."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from ..extensions import db
from ..forms import SignInForm
from ..services import accounts
from ..services.errors import InvalidInput, ServiceError
from .common import user

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an absolute or scheme-relative URL would make an open redirect."""
    target = target or ""
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc or "\\" in target:
        return url_for("scopes.home")
    return target


@bp.get("/login")
def login():
    """The sign-in form."""
    return render_template("auth/login.html", form=SignInForm(), next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login_post():
    """Check the password, with the rate limit, and start a fresh session."""
    form = SignInForm()
    target = _safe_next(request.form.get("next"))
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            raise InvalidInput("The form's security token is missing or expired; reload the page and try again.")
        flash("Enter your user name and password.")
        return render_template("auth/login.html", form=form, next=target), 400
    config = current_app.config
    try:
        account = accounts.sign_in(
            form.username.data,
            form.password.data,
            request.remote_addr or "unknown",
            max_failures=config["LOGIN_MAX_FAILURES"],
            ip_max_failures=config["LOGIN_IP_MAX_FAILURES"],
            window=dt.timedelta(seconds=config["LOGIN_WINDOW_SECONDS"]),
        )
    except ServiceError as refused:
        db.session.commit()  # the failed attempt stays on the trail: the rate limit counts it
        flash(refused.message)
        return render_template("auth/login.html", form=form, next=target), refused.status
    db.session.commit()
    session.clear()  # a new session on sign-in: nothing from before survives (session fixation)
    login_user(account)
    session.permanent = True
    return redirect(target)


@bp.post("/logout")
def logout():
    """End the session."""
    accounts.sign_out(user())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))
