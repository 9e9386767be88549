"""The Tokens page (/account/tokens): one's API tokens listed, a new one made, one revoked.

A token's secret exists only in the response that made it: the page shows it once, with `no-store` so no
cache keeps it, and the database keeps its hash alone (services/tokens.py), so no later page can show it
again. The list shows what a person needs to recognise a token and decide to revoke it: its name, when it
was made and last used, when it expires, whether it is read-only, and its state. Plain forms, CSRF-checked
like every other, and no script: a revocation asks for a confirmation first (views/confirm.py).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, redirect, render_template, request, url_for

from ..services import tokens
from ..services.errors import InvalidInput
from .common import parse_date, user
from .confirm import confirmation, confirmed
from .formerrors import UNPROCESSABLE, FormErrors, abandon_changes
from .messages import notify

bp = Blueprint("tokens", __name__)

# A new token's suggested lifetime: long enough for a pipeline, short enough that a forgotten one dies.
SUGGESTED_DAYS = 90
# The service names the field it refuses; the form's controls have these ids.
FIELD_IDS = {"name": "token-name", "expires_at": "token-expires"}


def _page(*, errors: FormErrors | None = None, created: tuple | None = None, status: int = 200):
    """The page: the form, a just-made token's secret (once), and one's tokens with their state."""
    today = dt.datetime.now(dt.UTC).date()
    suggested = today + dt.timedelta(days=SUGGESTED_DAYS)
    listed = [(token, tokens.state(token)) for token in tokens.listed(user())]
    page = render_template(
        "tokens/index.html",
        listed=listed,
        created=created,
        errors=errors or FormErrors(values={"expires": suggested.isoformat()}),
        tomorrow=today + dt.timedelta(days=1),
    )
    # The page that shows a secret is kept by no cache and no browser history: it is its only copy.
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/account/tokens")
def index():
    """One's tokens, and the form that makes a new one."""
    return _page()


@bp.post("/account/tokens")
def create():
    """Make a token; the page shows its secret this once, and the trail records it (never the secret)."""
    values = {
        "name": request.form.get("name", "")[: tokens.NAME_LENGTH + 1],
        "expires": request.form.get("expires", "")[:20],
        "read_only": "1" if request.form.get("read_only") else "",
    }
    try:
        expires = parse_date(values["expires"], "Expiry date")
        expires_at = dt.datetime.combine(expires, dt.time(), dt.UTC) if expires else None
        token, secret = tokens.create(
            user(), values["name"], expires_at=expires_at, read_only=bool(values["read_only"])
        )
    except InvalidInput as error:
        abandon_changes()
        errors = FormErrors(values=values)
        errors.add(FIELD_IDS.get(getattr(error, "field", None) or "", "token-expires"), error.message)
        return _page(errors=errors, status=UNPROCESSABLE)
    return _page(created=(token, secret))


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke(token_id: int):
    """Revoke one's own token (an admin may revoke anyone's), after a confirmation; it is refused from then on."""
    token = tokens.revoke(token_id, by=user())  # the service says whose: to anyone else it does not exist (404)
    name = token.name
    if not confirmed():
        abandon_changes()  # asked, not yet confirmed: nothing is revoked
        return confirmation(
            title=f"Revoke the token “{name}”?",
            meaning=[
                "Every program that signs in with it is refused from now on.",
                "A revoked token cannot be used again; make a new one if it is still needed.",
            ],
            action=url_for("tokens.revoke", token_id=token_id),
            confirm_label="Revoke the token",
            cancel=url_for("tokens.index"),
        )
    notify(f"The token “{name}” is revoked: it signs nothing in any more.")
    return redirect(url_for("tokens.index"))
