"""/api/v1 delivery data: batches of events stored all or none, sent again harmlessly, and the metrics read back."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from assessment.api.delivery import pointer_of
from assessment.domain.errors import Problem
from assessment.extensions import db
from assessment.models import DeliveryEvent
from assessment.services import delivery
from tests.conftest import EXAMPLES
from tests.integration.helpers import make_scope
from tests.integration.test_api import token_for
from tests.unit.test_examples import assert_close

EXAMPLE = [
    json.loads(line)
    for line in (EXAMPLES / "delivery" / "checkout.events.jsonl").read_text().splitlines()
    if line.strip()
]
EXPECTED = json.loads((EXAMPLES / "delivery" / "checkout.expected.json").read_text())


def _count(app, scope_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(DeliveryEvent.id)).where(DeliveryEvent.scope_id == scope_id))


def test_a_batch_is_stored_once_and_the_metrics_are_the_dora_document(app, client, anonymous):
    scope_id = make_scope(client)
    headers = token_for(app, "admin")
    response = anonymous.post(f"/api/v1/scopes/{scope_id}/events", json={"events": EXAMPLE}, headers=headers)
    assert response.status_code == 201, response.json
    assert (response.json["added"], response.json["unchanged"], response.json["resolved"]) == (len(EXAMPLE), 0, 0)
    again = anonymous.post(f"/api/v1/scopes/{scope_id}/events", json={"events": EXAMPLE}, headers=headers)
    assert again.status_code == 200
    assert (again.json["added"], again.json["unchanged"], again.json["resolved"]) == (0, len(EXAMPLE), 0)
    assert _count(app, scope_id) == len(EXAMPLE)
    metrics = anonymous.get(f"/api/v1/scopes/{scope_id}/metrics?as_of=2026-11-30&days=30", headers=headers)
    assert metrics.status_code == 200
    assert_close(metrics.json, EXPECTED)
    only = anonymous.get(f"/api/v1/scopes/{scope_id}/metrics?as_of=2026-11-30&service=nothing", headers=headers)
    assert [s["service"] for s in only.json["services"]] == ["nothing"]


def test_invalid_events_are_one_422_naming_each_by_pointer_and_store_nothing(app, client, anonymous):
    scope_id = make_scope(client)
    events = [
        {"type": "change", "id": "c1", "service": "web", "time": "2026-11-02T10:00:00Z"},
        {"type": "change", "id": "c2", "service": "web", "time": "yesterday"},
        {"type": "deployment", "id": "d1", "service": "web", "time": "2026-11-03T10:00:00Z",
         "environment": "production", "status": "success", "changes": ["c1", "nope"]},
        "not an object",
    ]  # fmt: skip
    response = anonymous.post(
        f"/api/v1/scopes/{scope_id}/events", json={"events": events}, headers=token_for(app, "admin")
    )
    assert response.status_code == 422 and response.mimetype == "application/problem+json", response.json
    pointers = {error["pointer"] for error in response.json["errors"]}
    assert "/events/1/time" in pointers and "/events/2/changes/1" in pointers and "/events/3" in pointers, pointers
    assert _count(app, scope_id) == 0


def test_a_reader_problem_becomes_a_pointer_into_the_batch():
    assert pointer_of(Problem("events", 3, "$.changes[2]", "x")) == "/events/2/changes/2"
    assert pointer_of(Problem("events", 1, "$", "x")) == "/events/0"
    assert pointer_of(Problem("events", 5, '$["a/b"]', "x")) == "/events/4/a~1b"


def test_too_many_events_or_too_large_a_body_is_a_413_and_a_wrong_body_a_422(app, client, anonymous, monkeypatch):
    scope_id = make_scope(client)
    headers = token_for(app, "admin")
    monkeypatch.setattr(delivery, "MAX_BATCH_EVENTS", 2)
    three = {"events": EXAMPLE[:3]}
    response = anonymous.post(f"/api/v1/scopes/{scope_id}/events", json=three, headers=headers)
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    app.config["API_EVENTS_MAX_BYTES"] = 100
    response = anonymous.post(f"/api/v1/scopes/{scope_id}/events", json={"events": EXAMPLE[:2]}, headers=headers)
    assert response.status_code == 413
    del app.config["API_EVENTS_MAX_BYTES"]
    for body in ({}, {"events": []}, {"events": {"a": 1}}):
        response = anonymous.post(f"/api/v1/scopes/{scope_id}/events", json=body, headers=headers)
        assert response.status_code == 422 and response.json["errors"][0]["pointer"] == "/events", body
    assert _count(app, scope_id) == 0


def test_who_may_send_events_and_read_the_metrics(app, client, anonymous):
    scope_id = make_scope(client)
    one = {"events": EXAMPLE[:1]}
    url = f"/api/v1/scopes/{scope_id}/events"
    assert anonymous.post(url, json=one, headers=token_for(app, "alice")).status_code == 404  # not on the team
    assert anonymous.post(url, json=one, headers=token_for(app, "admin", read_only=True)).status_code == 403
    assert anonymous.get(f"/api/v1/scopes/{scope_id}/metrics", headers=token_for(app, "alice")).status_code == 404
    assert anonymous.post(url, json=one, headers=token_for(app, "lead")).status_code == 201
    assert _count(app, scope_id) == 1
