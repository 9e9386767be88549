"""Webhook receivers (views/hooks.py): recorded GitHub and GitLab deliveries, signed in the test with the scope's
derived secret, stored as delivery events through the real app, and the metrics read back."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import quote_from_bytes

import pytest
from sqlalchemy import select

from assessment.extensions import db
from assessment.models import AuditEntry, DeliveryEvent
from assessment.services.delivery_hooks import webhook_secret
from tests.conftest import DATA
from tests.integration.helpers import make_scope
from tests.integration.test_api import token_for

PAYLOADS = DATA / "webhooks"


def _body(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def _github(client, app, scope_id: int, event: str, name: str, *, secret: str | None = None, body=None):
    body = _body(name) if body is None else body
    key = (secret or webhook_secret(app, scope_id)).encode()
    signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": event, "X-Hub-Signature-256": signature, "Content-Type": "application/json"}
    return client.post(f"/hooks/github/{scope_id}", data=body, headers=headers)


def _gitlab(client, app, scope_id: int, event: str, name: str, *, token: str | None = None):
    headers = {"X-Gitlab-Event": event, "X-Gitlab-Token": token or webhook_secret(app, scope_id)}
    return client.post(f"/hooks/gitlab/{scope_id}", data=_body(name), headers=headers)


def _stored(app, scope_id: int) -> dict[tuple[str, str], dict]:
    with app.app_context():
        rows = db.session.execute(
            select(DeliveryEvent.kind, DeliveryEvent.event_id, DeliveryEvent.body, DeliveryEvent.source).where(
                DeliveryEvent.scope_id == scope_id
            )
        ).all()
    return {(kind, event_id): {**json.loads(body), "_source": source} for kind, event_id, body, source in rows}


@pytest.fixture
def scope_id(client):
    return make_scope(client)


def test_the_secret_is_derived_per_scope_and_instance(app, scope_id):
    secret = webhook_secret(app, scope_id)
    assert len(secret) == 64 and secret != webhook_secret(app, scope_id + 1)
    expected = hmac.new(app.config["SECRET_KEY"].encode(), f"delivery-webhook:{scope_id}".encode(), hashlib.sha256)
    assert secret == expected.hexdigest()


def test_a_github_sequence_is_stored_and_gives_the_metrics(app, anonymous, scope_id):
    push = _github(anonymous, app, scope_id, "push", "github-push")
    assert push.status_code == 201, push.json
    commits = [key[1] for key in _stored(app, scope_id) if key[0] == "change"]
    assert commits and push.json["added"] == len(commits)
    deployed = _github(anonymous, app, scope_id, "deployment_status", "github-deployment-status-success")
    assert deployed.status_code == 201, deployed.json
    assert _github(anonymous, app, scope_id, "issues", "github-issue-incident-opened").status_code == 201
    closed = _github(anonymous, app, scope_id, "issues", "github-issue-incident-closed")
    assert closed.status_code == 201 and closed.json["resolved"] == 1, closed.json
    again = _github(anonymous, app, scope_id, "issues", "github-issue-incident-closed")
    assert again.status_code == 200 and again.json == {"added": 0, "unchanged": 1, "resolved": 0}

    stored = _stored(app, scope_id)
    deployment = stored[("deployment", "2400001")]
    assert sorted(deployment["changes"]) == sorted(commits) and deployment["_source"] == "github"
    incident = stored[("incident", "github:acme/checkout#42")]
    assert incident["resolved"] == "2026-12-01T13:35:30Z"
    with app.app_context():
        actors = db.session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "delivery_events_added"))
        assert set(actors) == {"github webhook"}

    metrics = anonymous.get(
        f"/api/v1/scopes/{scope_id}/metrics?as_of=2026-12-01&days=7", headers=token_for(app, "lead")
    ).json
    (service,) = metrics["services"]
    assert service["service"] == "acme/checkout"
    assert (service["deployments"], service["changes"], service["incidents"]) == (1, len(commits), 1), service
    assert service["lead_time"] is not None and service["open_incidents"] == 0
    assert service["time_to_restore"] == pytest.approx(2 + 15.5 / 60), service  # opened 11:20, closed 13:35:30


def test_a_gitlab_sequence_is_stored_with_its_pending_changes(app, anonymous, scope_id):
    assert _gitlab(anonymous, app, scope_id, "Push Hook", "gitlab-push").status_code == 201
    assert _gitlab(anonymous, app, scope_id, "Deployment Hook", "gitlab-deployment-success").status_code == 201
    assert _gitlab(anonymous, app, scope_id, "Issue Hook", "gitlab-incident-open").status_code == 201
    assert _gitlab(anonymous, app, scope_id, "Issue Hook", "gitlab-incident-closed").json["resolved"] == 1
    stored = _stored(app, scope_id)
    assert len(stored[("deployment", "5810")]["changes"]) == 2
    assert stored[("incident", "gitlab:finance/ledger#7")]["_source"] == "gitlab"
    running = _gitlab(anonymous, app, scope_id, "Deployment Hook", "gitlab-deployment-running")
    assert running.status_code == 202 and "running" in running.json["ignored"]


def test_a_wrong_signature_a_wrong_scope_or_token_is_a_401_and_stores_nothing(app, anonymous, scope_id):
    assert _github(anonymous, app, scope_id, "push", "github-push", secret="guess").status_code == 401
    body = _body("github-push")
    unsigned = anonymous.post(f"/hooks/github/{scope_id}", data=body, headers={"X-GitHub-Event": "push"})
    assert unsigned.status_code == 401
    other = _github(anonymous, app, scope_id + 1, "push", "github-push", secret=webhook_secret(app, scope_id))
    assert other.status_code == 401  # the secret is the scope's: a wrong scope id looks like a forgery
    assert _gitlab(anonymous, app, scope_id, "Push Hook", "gitlab-push", token="guess").status_code == 401
    assert anonymous.post(f"/hooks/gitlab/{scope_id}", data=_body("gitlab-push")).status_code == 401
    missing = _github(anonymous, app, 999_999, "push", "github-push")
    assert missing.status_code == 404  # signed with its own secret: only possible for one who holds the key
    assert _stored(app, scope_id) == {}


def test_ignored_bad_and_oversized_deliveries(app, anonymous, scope_id):
    ping = _github(anonymous, app, scope_id, "ping", "github-ping")
    assert ping.status_code == 202 and "ping" in ping.json["ignored"]
    assert _github(anonymous, app, scope_id, "issues", "github-issue-not-incident").status_code == 202
    assert _github(anonymous, app, scope_id, "push", "", body=b"{not json").status_code == 400
    wrong = _github(anonymous, app, scope_id, "push", "", body=json.dumps({"repository": {"full_name": 3}}).encode())
    assert wrong.status_code == 422 and wrong.json["pointer"] == "/repository/full_name", wrong.json
    unknown = _github(anonymous, app, scope_id, "fork", "github-push")
    assert unknown.status_code == 422 and unknown.json["pointer"] is None
    form = b"payload=" + quote_from_bytes(_body("github-ping")).encode()
    signature = "sha256=" + hmac.new(webhook_secret(app, scope_id).encode(), form, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": signature}
    sent_as_form = anonymous.post(
        f"/hooks/github/{scope_id}", data=form, headers=headers, content_type="application/x-www-form-urlencoded"
    )
    assert sent_as_form.status_code == 202, sent_as_form.json  # GitHub's other content type
    big = _github(anonymous, app, scope_id, "push", "", body=b" " * (1 << 20) + b"{}")
    assert big.status_code == 413
    assert _stored(app, scope_id) == {}
