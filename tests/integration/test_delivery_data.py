"""A scope's delivery data (services/delivery.py): batches stored all or nothing, kept once per id, read back exactly."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from assessment.domain.delivery import Window, dora_document
from assessment.domain.errors import InvalidFile
from assessment.extensions import db
from assessment.models import AuditEntry, DeliveryEvent, Scope
from assessment.services import delivery
from tests.conftest import EXAMPLES
from tests.integration.helpers import make_scope
from tests.unit.test_examples import assert_close

EXAMPLE = EXAMPLES / "delivery" / "checkout.events.jsonl"
EXPECTED = json.loads((EXAMPLES / "delivery" / "checkout.expected.json").read_text())
NOVEMBER = Window(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def _items(text: str, name: str = "batch"):
    return [(name, number, json.loads(line)) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def _count(scope_id: int) -> int:
    return db.session.scalar(select(func.count(DeliveryEvent.id)).where(DeliveryEvent.scope_id == scope_id))


@pytest.fixture
def scope(app, client):
    scope_id = make_scope(client)
    with app.app_context():
        yield db.session.get(Scope, scope_id)


def test_the_example_stored_and_read_back_gives_the_spec_figures(scope):
    added = delivery.add_file(scope, "checkout.events.jsonl", EXAMPLE.read_bytes(), source="upload", actor="admin")
    db.session.commit()
    assert (added.added, added.unchanged, added.resolved) == (19, 0, 0)
    assert_close(dora_document(delivery.scope_events(scope.id), NOVEMBER), EXPECTED)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "delivery_events_added")).one()
    assert json.loads(entry.after)["added"] == 19 and entry.actor == "admin"


def test_a_batch_sent_again_adds_nothing(scope):
    items = _items(EXAMPLE.read_text())
    delivery.add_events(scope, items, source="api", actor="admin")
    again = delivery.add_events(scope, items, source="api", actor="admin")
    db.session.commit()
    assert (again.added, again.unchanged) == (0, 19)
    assert _count(scope.id) == 19


def test_a_batch_may_name_stored_events_and_a_bad_one_stores_nothing(scope):
    lines = EXAMPLE.read_text().splitlines()
    delivery.add_events(scope, _items("\n".join(lines[:3])), source="api", actor="admin")  # three changes and a build
    db.session.commit()
    rest = _items("\n".join(lines[3:]))
    bad = [*rest, ("batch", 99, {"type": "deployment", "id": "d-x", "service": "checkout",
                                 "time": "2026-11-05T00:00:00Z", "changes": ["nope"]})]  # fmt: skip
    with pytest.raises(InvalidFile) as caught:
        delivery.add_events(scope, bad, source="api", actor="admin")
    db.session.rollback()
    assert [str(p) for p in caught.value.problems] == ["batch:99: $.changes[0]: no change has id 'nope'"]
    assert _count(scope.id) == 3  # nothing of the refused batch
    delivery.add_events(scope, rest, source="api", actor="admin")  # the changes of the first batch resolve
    db.session.commit()
    assert_close(dora_document(delivery.scope_events(scope.id), NOVEMBER), EXPECTED)


def test_an_id_stored_with_other_content_is_an_error_at_its_line(scope):
    delivery.add_events(scope, _items(EXAMPLE.read_text()), source="api", actor="admin")
    db.session.commit()
    changed = [("again.jsonl", 4, {"type": "change", "id": "c3d5", "service": "checkout",
                                    "time": "2026-11-03T08:31:00Z"})]  # fmt: skip
    with pytest.raises(InvalidFile) as caught:
        delivery.add_events(scope, changed, source="api", actor="admin")
    (problem,) = caught.value.problems
    assert str(problem).startswith("again.jsonl:4: $.id: a change with id 'c3d5' is already stored with other content")


def test_an_open_incident_is_resolved_by_a_later_copy_of_itself(scope):
    delivery.add_events(scope, _items(EXAMPLE.read_text()), source="api", actor="admin")
    db.session.commit()
    resolved = {"type": "incident", "id": "INC-8", "service": "checkout", "started": "2026-11-28T22:00:00Z",
                "resolved": "2026-11-29T00:00:00Z"}  # fmt: skip
    outcome = delivery.add_events(scope, [("hook", 1, resolved)], source="github", actor="admin")
    db.session.commit()
    assert (outcome.added, outcome.resolved) == (0, 1)
    checkout = dora_document(delivery.scope_events(scope.id), NOVEMBER)["services"][0]
    assert checkout["open_incidents"] == 0 and checkout["time_to_restore"] == pytest.approx((1.5 + 2) / 2)


def test_a_file_that_is_not_json_names_each_line_and_stores_nothing(scope):
    data = EXAMPLE.read_bytes() + b"\n{not json\n" + b'{"type": "change", "id": "x", "service": "s", "time": "soon"}\n'
    with pytest.raises(InvalidFile) as caught:
        delivery.add_file(scope, "bad.jsonl", data, source="upload", actor="admin")
    texts = [str(p) for p in caught.value.problems]
    assert texts[0].startswith("bad.jsonl:22: $: not JSON")
    assert texts[1].startswith("bad.jsonl:23: $.time: expected an RFC 3339 time")
    assert _count(scope.id) == 0


def test_pending_changes_are_those_of_the_service_not_yet_live(scope):
    delivery.add_events(scope, _items(EXAMPLE.read_text()), source="api", actor="admin")
    db.session.commit()
    from assessment.domain.delivery.events import parse_time

    assert delivery.pending_changes(scope.id, "checkout", parse_time("2026-12-01T00:00:00Z")) == []
    extra = {"type": "change", "id": "f6g8", "service": "checkout", "time": "2026-11-29T10:00:00Z"}
    delivery.add_events(scope, [("b", 1, extra)], source="api", actor="admin")
    assert delivery.pending_changes(scope.id, "checkout", parse_time("2026-11-29T09:00:00Z")) == []
    assert delivery.pending_changes(scope.id, "checkout", parse_time("2026-11-30T00:00:00Z")) == ["f6g8"]
    assert delivery.services_of(scope.id) == ["checkout", "search"]
