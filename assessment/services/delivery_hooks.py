"""Webhook deliveries from GitHub and GitLab into a scope's delivery data, and each scope's webhook secret.

The secret is derived, not stored: HMAC-SHA256 of the instance's secret key over `delivery-webhook:<scope id>`.
Nothing new to keep, back up or leak, every scope's differs, and a wrong scope id fails the signature check as
a forged delivery does, so the receiver never tells which scopes exist. Changing SECRET_KEY changes every
scope's secret (the forges' webhooks must then be given the new ones).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask

from ..domain.delivery.events import parse_time
from ..domain.delivery.webhooks import Translation
from ..models import Scope
from . import delivery

PURPOSE = "delivery-webhook"


def webhook_secret(app: Flask, scope_id: int) -> str:
    """The scope's webhook secret (64 hex digits): what its GitHub webhook signs with and its GitLab webhook
    sends as its token, derived from the instance's SECRET_KEY so that no secret is stored."""
    key = app.config["SECRET_KEY"]
    key = key if isinstance(key, bytes) else str(key).encode()
    return hmac.new(key, f"{PURPOSE}:{int(scope_id)}".encode(), hashlib.sha256).hexdigest()


def store_translation(scope: Scope, translation: Translation, *, source: str) -> delivery.Added:
    """Store a delivery's events in the scope, all or none (InvalidFile otherwise); a deployment the forge
    names by one commit gets the service's changes not yet live, up to its time, first."""
    items = []
    for number, event in enumerate(translation.events, 1):
        if translation.pending_changes and event.get("type") == "deployment" and "changes" not in event:
            until = parse_time(event["time"])
            event = {**event, "changes": delivery.pending_changes(scope.id, event["service"], until)}
        items.append((source, number, event))
    return delivery.add_events(scope, items, source=source, actor=f"{source} webhook")


__all__ = ["PURPOSE", "store_translation", "webhook_secret"]
