"""Single sign-on with OpenID Connect: off to the provider, and back with a code that proves who signed in.

`/login/sso` starts the authorization code flow (PKCE S256, a fresh state and nonce kept in this browser's
session); `/login/sso/callback` takes the provider's answer once (the pending sign-in leaves the session at
the first look, so a replayed answer finds nothing), checks it (adapters/oidc.py), and opens the same kind
of session as a password sign-in (views/auth.complete_sign_in). Both pages are public and answer 404 when
OIDC_ISSUER is unset. Behind a reverse proxy, TRUSTED_PROXIES makes the redirect URI the public one.
"""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for

from ..domain.sso import InvalidClaims, SsoSettings, claims_from
from ..services import sso
from ..services.errors import ServiceError
from .auth import complete_sign_in, login_page, safe_next, sso_settings

bp = Blueprint("sso", __name__)

PENDING = "sso_pending"
PENDING_SECONDS = 600  # how long the provider's sign-in may take before the answer is refused


def _settings() -> SsoSettings:
    settings = sso_settings()
    if settings is None:
        abort(404, "Single sign-on is not set up on this server; sign in with your user name and password.")
    return settings


def _redirect_uri() -> str:
    return url_for("sso.callback", _external=True)


def _refused(message: str, status: int):
    """The sign-in page again, saying why nobody was signed in."""
    flash(message, "error")
    return login_page(None, url_for("scopes.home"), status)


@bp.get("/login/sso")
def login():
    """Send the browser to the provider's sign-in, remembering what its answer must match."""
    from ..adapters import oidc  # Authlib and requests (~17 MB) load in the processes that sign someone in

    settings = _settings()
    target = safe_next(request.args.get("next"))
    try:
        url, pending = oidc.begin(settings, _redirect_uri())
    except oidc.ProviderError as error:
        return _refused(error.message, error.status)
    session[PENDING] = {
        "state": pending.state,
        "nonce": pending.nonce,
        "verifier": pending.verifier,
        "next": target,
        "at": int(time.time()),
    }
    return redirect(url)


def _pending() -> dict | None:
    """This browser's sign-in under way, taken out of the session (an answer is used once), if it is recent."""
    state = session.pop(PENDING, None)
    if not isinstance(state, dict) or not all(isinstance(state.get(k), str) for k in ("state", "nonce", "verifier")):
        return None
    if not isinstance(state.get("at"), int) or time.time() - state["at"] > PENDING_SECONDS:
        return None
    return state


@bp.get("/login/sso/callback")
def callback():
    """The provider's answer: check it, then sign the person in (their account made on the first sign-in)."""
    from ..adapters import oidc

    settings = _settings()
    display = settings.display_name
    pending = _pending()
    if pending is None:
        return _refused(
            f"No sign-in with {display} was under way in this browser, or it took too long; start again.", 400
        )
    if request.args.get("error"):
        reason = str(request.args.get("error_description") or request.args["error"])[:200]
        return _refused(f"{display} did not sign you in: {reason}", 401)
    state, code = request.args.get("state", ""), request.args.get("code", "")
    if not hmac.compare_digest(state.encode(), pending["state"].encode()):
        return _refused(
            f"This answer from {display} belongs to another sign-in (its state differs), so nobody was signed in; "
            "start again.",
            400,
        )
    if not code or len(code) > 2000:
        return _refused(f"{display}'s answer holds no code, so nobody was signed in; start again.", 400)
    try:
        verified, id_token = oidc.finish(
            settings,
            _redirect_uri(),
            oidc.Pending(pending["state"], pending["nonce"], pending["verifier"]),
            code,
            request.args.get("iss"),
        )
        claims = claims_from(verified, settings.role_claim)
    except oidc.ProviderError as error:
        return _refused(error.message, error.status)
    except InvalidClaims as error:
        return _refused(f"{display}'s answer cannot identify you ({error}); ask an admin.", 401)
    try:
        account = sso.sign_in(claims, settings, request.remote_addr or "unknown")
    except ServiceError as refused:  # returned, not raised: the refusal is committed to the trail
        current_app.logger.info("single sign-on refused: %s", type(refused).__name__)
        return _refused(refused.message, refused.status)
    return complete_sign_in(account, safe_next(pending.get("next")), id_token=id_token)
