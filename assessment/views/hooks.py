"""Webhook receivers: GitHub and GitLab post their deliveries to /hooks/<forge>/<scope id>.

Machine callers, so no session and no CSRF token (a forged delivery is refused by its signature instead; the
endpoints are public in app.py and exempt from CSRF here). Each delivery is checked in this order, so that
nothing a caller sends is read before it is known to be the forge's: its size (1 MB at most, 413), its
signature against the scope's derived secret (401, the same for a wrong scope id: the secret depends on it,
so no one can tell which scopes exist), then the scope (404), the JSON (400), the payload (422 naming its
path), and only then are its events stored, all or none. A delivery carrying nothing for the metrics (a ping,
a push to another branch, a deployment still running) is accepted with its reason (202), so the forge's
delivery log shows why.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import msgspec
from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..domain.delivery.webhooks import WebhookError, github_events, gitlab_events, verify_github, verify_gitlab
from ..domain.errors import InvalidFile
from ..extensions import csrf, db
from ..models import Scope
from ..services.delivery_hooks import store_translation, webhook_secret

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
csrf.exempt(bp)

MAX_DELIVERY_BYTES = 1 << 20  # GitHub caps a delivery at 25 MB but a push of 2,048 commits is well under 1 MB


def _answer(status: int, **document) -> Response:
    return Response(json.dumps(document), status=status, mimetype="application/json")


def _body() -> bytes | None:
    """The raw body, or None when it is over MAX_DELIVERY_BYTES (stated or sent)."""
    limit = current_app.config.get("WEBHOOK_MAX_BYTES", MAX_DELIVERY_BYTES)
    if (request.content_length or 0) > limit:
        return None
    request.max_content_length = limit
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        return None


def _json_text(body: bytes) -> bytes:
    """The delivery's JSON: the body, or its `payload` field when GitHub sends the form content type (a
    webhook's choice); the signature covers the body as sent, so this is read only after it is checked."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return body
    fields = parse_qs(body.decode("utf-8", errors="strict"), max_num_fields=10)
    return (fields.get("payload") or [""])[0].encode()


def _receive(scope_id: int, source: str, verified, translate) -> Response:
    body = _body()
    if body is None:
        return _answer(413, error="The delivery is larger than 1 MB; nothing was stored.")
    if not verified(webhook_secret(current_app, scope_id), body):
        return _answer(401, error="The delivery's signature or token is not this scope's webhook secret.")
    scope = db.session.get(Scope, scope_id)
    if scope is None:  # only reachable with the secret of a scope since deleted
        return _answer(404, error=f"There is no scope {scope_id}.")
    try:
        payload = msgspec.json.decode(_json_text(body))
    except (msgspec.DecodeError, UnicodeDecodeError):
        return _answer(400, error="The delivery's body is not JSON; nothing was stored.")
    try:
        translation = translate(payload, request.args.get("service") or None)
    except WebhookError as error:
        return _answer(422, error=str(error), pointer=error.pointer)
    except ValueError as error:  # the service override
        return _answer(422, error=f"service: {error}", pointer="/query/service")
    if translation.ignored:
        return _answer(202, ignored=translation.ignored)
    try:
        added = store_translation(scope, translation, source=source)
    except InvalidFile as error:
        return _answer(422, error="The delivery's events were refused; nothing was stored.",
                       problems=[str(p) for p in error.problems])  # fmt: skip
    status = 201 if added.added or added.resolved else 200
    return _answer(status, added=added.added, unchanged=added.unchanged, resolved=added.resolved)


@bp.post("/github/<int:scope_id>")
def github(scope_id: int):
    """A GitHub webhook delivery (push, deployment_status, issues, ping), signed with X-Hub-Signature-256."""
    return _receive(
        scope_id,
        "github",
        lambda secret, body: verify_github(secret.encode(), body, request.headers.get("X-Hub-Signature-256")),
        lambda payload, service: github_events(request.headers.get("X-GitHub-Event", ""), payload, service=service),
    )


@bp.post("/gitlab/<int:scope_id>")
def gitlab(scope_id: int):
    """A GitLab webhook delivery (push, deployment, issue hooks), carrying the secret as X-Gitlab-Token."""

    def translate(payload, service):
        kind = request.headers.get("X-Gitlab-Event") or (
            payload.get("object_kind") if isinstance(payload, dict) else ""
        )
        return gitlab_events(kind or "", payload, service=service)

    return _receive(
        scope_id,
        "gitlab",
        lambda secret, _body: verify_gitlab(secret, request.headers.get("X-Gitlab-Token")),
        translate,
    )
