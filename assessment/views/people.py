"""Accounts, for admins: add people, change their role, disable or enable them."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from ..forms import UserForm
from ..models import ROLES
from ..services import access, accounts
from ..services.errors import InvalidInput
from .common import user
from .confirm import confirmation, confirmed
from .formerrors import UNPROCESSABLE, FormErrors, abandon_changes
from .messages import notify

bp = Blueprint("people", __name__)


def _admin() -> None:
    access.require(user(), "users")


@bp.get("/users")
def index():
    """Every account, and a form to add one."""
    _admin()
    return _users_page(UserForm())


def _users_page(form: UserForm, errors: FormErrors | None = None, status: int = 200):
    page = render_template(
        "users/index.html",
        users=accounts.list_users(),
        sessions=accounts.open_sessions(),
        form=form,
        roles=ROLES,
        errors=errors or FormErrors(),
    )
    return page, status


@bp.post("/users")
def create():
    """Add an account; a bad field brings the form back (422) with what was typed, the password apart."""
    _admin()
    form = UserForm()
    errors = FormErrors(values=request.form)
    form.validate_on_submit()
    for name, messages in form.errors.items():
        if name in USER_FIELDS:
            errors.add(USER_FIELDS[name], f"{form[name].label.text}: {'; '.join(messages)}")
    try:
        if errors:
            raise InvalidInput(next(iter(errors.messages.values())))
        account = accounts.create_user(form.username.data, form.display_name.data, form.role.data, form.password.data)
    except InvalidInput as error:
        abandon_changes()
        errors.add(USER_FIELDS.get(error.field or "", "user-username"), error.message)
        return _users_page(form, errors, UNPROCESSABLE)
    notify(f"Added {account.username} ({accounts.ROLE_LABELS[account.role]}).")
    return redirect(url_for("people.index"))


# The Add user form's fields and the ids their errors point at.
USER_FIELDS = {
    "username": "user-username",
    "display_name": "user-display-name",
    "role": "user-role",
    "password": "user-password",
}


@bp.post("/users/<int:user_id>/role")
def set_role(user_id: int):
    """Change an account's role."""
    _admin()
    account = accounts.get_user_by_id(user_id)
    accounts.set_role(account.username, request.form.get("role", ""), by=user())
    notify(f"{account.username} is now {accounts.ROLE_LABELS[account.role]}.")
    return redirect(url_for("people.index"))


@bp.post("/users/<int:user_id>/disabled")
def set_disabled(user_id: int):
    """Disable an account once confirmed (its sessions end at once), or enable it again."""
    _admin()
    account = accounts.get_user_by_id(user_id)
    disable = request.form.get("disabled") == "1"
    if disable and not confirmed():
        return confirmation(
            title=f"Disable {account.username}?",
            meaning=[
                f"{account.display_name} ({accounts.ROLE_LABELS[account.role]}) can no longer sign in; "
                "every open session of the account ends at once.",
                "What the account recorded stays, with its name. You can enable it again later.",
            ],
            action=url_for("people.set_disabled", user_id=user_id),
            confirm_label=f"Disable {account.username}",
            cancel=url_for("people.index"),
            fields=[("disabled", "1")],
        )
    accounts.set_disabled(account.username, disable, by=user())
    notify(f"{account.username} is {'disabled' if disable else 'enabled'}.")
    return redirect(url_for("people.index"))


@bp.post("/users/<int:user_id>/sessions/end")
def end_sessions(user_id: int):
    """End every open session of an account: its cookies, copies included, sign nobody in any more."""
    _admin()
    account = accounts.get_user_by_id(user_id)
    ended = accounts.end_sessions(account, "ended by an admin", always_record=True)
    notify(f"Ended {ended} session{'s' if ended != 1 else ''} of {account.username}.")
    return redirect(url_for("people.index"))
