"""Accounts, for admins: add people, change their role, disable or enable them."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..forms import UserForm
from ..models import ROLES
from ..services import access, accounts
from ..services.errors import InvalidInput
from .common import user

bp = Blueprint("people", __name__)


def _admin() -> None:
    access.require(user(), "users")


def _checked(form: UserForm) -> None:
    if not form.validate_on_submit():
        raise InvalidInput(
            "The form could not be read: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in form.errors.items())
        )


@bp.get("/users")
def index():
    """Every account, and a form to add one."""
    _admin()
    return render_template(
        "users/index.html",
        users=accounts.list_users(),
        sessions=accounts.open_sessions(),
        form=UserForm(),
        roles=ROLES,
    )


@bp.post("/users")
def create():
    """Add an account."""
    _admin()
    form = UserForm()
    _checked(form)
    account = accounts.create_user(form.username.data, form.display_name.data, form.role.data, form.password.data)
    flash(f"Added {account.username} ({accounts.ROLE_LABELS[account.role]}).")
    return redirect(url_for("people.index"))


@bp.post("/users/<int:user_id>/role")
def set_role(user_id: int):
    """Change an account's role."""
    _admin()
    account = accounts.get_user_by_id(user_id)
    accounts.set_role(account.username, request.form.get("role", ""), by=user())
    flash(f"{account.username} is now {accounts.ROLE_LABELS[account.role]}.")
    return redirect(url_for("people.index"))


@bp.post("/users/<int:user_id>/disabled")
def set_disabled(user_id: int):
    """Disable an account (its sessions end at once) or enable it again."""
    _admin()
    account = accounts.get_user_by_id(user_id)
    disable = request.form.get("disabled") == "1"
    accounts.set_disabled(account.username, disable, by=user())
    flash(f"{account.username} is {'disabled' if disable else 'enabled'}.")
    return redirect(url_for("people.index"))


@bp.post("/users/<int:user_id>/sessions/end")
def end_sessions(user_id: int):
    """End every open session of an account: its cookies, copies included, sign nobody in any more."""
    _admin()
    account = accounts.get_user_by_id(user_id)
    ended = accounts.end_sessions(account, "ended by an admin", always_record=True)
    flash(f"Ended {ended} session{'s' if ended != 1 else ''} of {account.username}.")
    return redirect(url_for("people.index"))
