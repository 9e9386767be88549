"""Check by the numbers (issue 17, point 6): a backlog item's hypothesis set against a service's metric
before and after its change went live, recorded on the item, in its history and in the trail."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from assessment.extensions import db
from assessment.models import AuditEntry, BacklogEvent, BacklogItem, Scope
from assessment.services import delivery

LIVE_ON = dt.date(2026, 10, 1)


def _events() -> list[tuple[str, int, dict]]:
    """One change a day on 'checkout', deployed 10-12 h later before LIVE_ON and 4-6 h later from it."""
    items = []
    day = dt.date(2026, 8, 20)
    while day <= dt.date(2026, 11, 10):
        start = dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC)
        hours = (10 if day < LIVE_ON else 4) + day.toordinal() % 3
        stamp = day.isoformat()
        items.append({"type": "change", "id": f"c-{stamp}", "service": "checkout", "time": start.isoformat()})
        deployed = (start + dt.timedelta(hours=hours)).isoformat()
        items.append(
            {
                "type": "deployment",
                "id": f"d-{stamp}",
                "service": "checkout",
                "time": deployed,
                "changes": [f"c-{stamp}"],
            }
        )
        day += dt.timedelta(days=1)
    return [("test", number, item) for number, item in enumerate(items, 1)]


def _item(app, client, devops, hypothesis: str) -> tuple[int, int]:
    assessment, scope = devops
    client.post(f"/assessments/{assessment}/backlog/generate")
    with app.app_context():
        delivery.add_events(db.session.get(Scope, scope), _events(), source="api", actor="admin")
        db.session.commit()
        item = db.session.scalars(select(BacklogItem).where(BacklogItem.assessment_id == assessment)).first()
        item_id = item.id
    response = client.post(
        f"/assessments/{assessment}/backlog/{item_id}", data={"status": "do", "hypothesis": hypothesis}
    )
    assert response.status_code == 302
    return assessment, item_id


def _state(app, item_id: int):
    with app.app_context():
        item = db.session.get(BacklogItem, item_id)
        events = db.session.scalars(select(BacklogEvent).where(BacklogEvent.item_id == item_id)).all()
        checks = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "backlog.item_checked")).all()
        return (item.status, item.outcome, item.live_on, item.metric_service), [e.outcome for e in events], checks


def test_a_halved_lead_time_is_recorded_as_held_on_the_item_and_in_its_history(app, client, devops):
    assessment, item_id = _item(app, client, devops, "lead time down 40 %")
    response = client.post(
        f"/assessments/{assessment}/backlog/{item_id}/check",
        data={"live_on": LIVE_ON.isoformat(), "service": "checkout", "days": "28"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    (status, outcome, live_on, service), history, checks = _state(app, item_id)
    assert status == "check" and live_on == LIVE_ON and service == "checkout"
    assert "Lead time went from" in outcome and "held" in outcome and "did not hold" not in outcome
    assert "before 2026-09-03..2026-09-30, after 2026-10-01..2026-10-28" in outcome
    assert history[-1] == outcome
    (entry,) = checks
    figures = json.loads(entry.after) if isinstance(entry.after, str) else entry.after
    assert figures["held"] is True and figures["outside_limits"] is True
    assert figures["after"] < figures["before"] and figures["change_percent"] <= -40
    assert figures["windows"] == {"before": "2026-09-03..2026-09-30", "after": "2026-10-01..2026-10-28"}


def test_an_unparsable_hypothesis_or_an_unfinished_window_is_refused_and_changes_nothing(app, client, devops):
    assessment, item_id = _item(app, client, devops, "make it faster")
    url = f"/assessments/{assessment}/backlog/{item_id}/check"
    response = client.post(url, data={"live_on": LIVE_ON.isoformat(), "service": "checkout"})
    assert response.status_code == 422 and "is not a hypothesis" in response.get_data(as_text=True)
    assert _state(app, item_id)[2] == []
    client.post(
        f"/assessments/{assessment}/backlog/{item_id}", data={"status": "do", "hypothesis": "lead time down 40 %"}
    )
    before = _state(app, item_id)
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    response = client.post(url, data={"live_on": tomorrow.isoformat(), "service": "checkout"})
    assert response.status_code == 422 and "wait until" in response.get_data(as_text=True)
    for data in (
        {"live_on": LIVE_ON.isoformat(), "service": "nowhere"},
        {"live_on": LIVE_ON.isoformat(), "service": "checkout", "days": "3"},
    ):
        refused = client.post(url, data=data)
        assert refused.status_code == 422
        page = refused.get_data(as_text=True)  # the item's forms again, the reason beside the check, values kept
        assert 'id="check-error"' in page and f'value="{data["live_on"]}"' in page
        assert '<option value="checkout"' in page  # the scope's services to choose from
    assert _state(app, item_id) == before and before[0][0] == "do" and before[2] == []


def test_someone_outside_the_scope_may_not_check(app, client, devops, as_user):
    assessment, item_id = _item(app, client, devops, "lead time down 40 %")
    response = as_user("alice").post(
        f"/assessments/{assessment}/backlog/{item_id}/check",
        data={"live_on": LIVE_ON.isoformat(), "service": "checkout"},
    )
    assert response.status_code in (403, 404)
    assert _state(app, item_id)[2] == []
