"""Check, by the numbers: a backlog item's hypothesis set against the delivery metrics measured in the
window before its change went live and the window after it (issue 17, point 6).

The pure work (parsing the hypothesis, comparing values, the before-window's control limits) is the
domain's (`domain/delivery/improvement.py`, `control.py`); this module fetches the scope's events,
cuts the windows, and records the outcome on the item, in its history and in the trail, in one
transaction, so that a refused check changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..domain.delivery.improvement import InvalidHypothesis, Outcome, check, parse_hypothesis
from ..domain.delivery.metrics import DeliveryIndex, Window
from ..models import BacklogItem, utcnow
from . import audit, delivery
from .backlog import record_event
from .errors import InvalidInput

DEFAULT_DAYS = 28
MIN_DAYS, MAX_DAYS = 7, 365
WEEK = 7


@dataclass(frozen=True)
class Checked:
    """A recorded check: the outcome and the two windows it compared."""

    outcome: Outcome
    before: Window
    after: Window


def windows(live_on: dt.date, days: int) -> tuple[Window, Window]:
    """The `days` days ending the day before `live_on`, and the `days` days from it."""
    before = Window.ending(live_on - dt.timedelta(days=1), days)
    after = Window(live_on, live_on + dt.timedelta(days=days - 1))
    return before, after


def _weeks(window: Window) -> list[Window]:
    """The window's whole 7-day windows from its start (a remainder shorter than a week is left out)."""
    weeks = []
    first = window.first
    while first + dt.timedelta(days=WEEK - 1) <= window.last:
        weeks.append(Window(first, first + dt.timedelta(days=WEEK - 1)))
        first += dt.timedelta(days=WEEK)
    return weeks


def check_item(
    item: BacklogItem, *, live_on: dt.date, service: str, days: int, today: dt.date | None = None
) -> Checked:
    """Measure the item's hypothesis for `service` around `live_on` and record what was measured.

    Refused (InvalidInput, nothing changed) when the hypothesis does not parse, the service has no
    events in the scope, `days` is out of range, or the after-window has not ended yet.
    """
    try:
        hypothesis = parse_hypothesis(item.hypothesis or "")
    except InvalidHypothesis as error:
        raise InvalidInput(f"Hypothesis: {error}") from None
    if service not in delivery.services_of(item.scope_id):
        raise InvalidInput(f"Service {service[:60]!r} has no delivery events in this scope.")
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise InvalidInput(f"Days must be from {MIN_DAYS} to {MAX_DAYS}, not {days}.")
    today = today or dt.datetime.now(dt.UTC).date()
    before_window, after_window = windows(live_on, days)
    if after_window.last > today:
        raise InvalidInput(
            f"The after-window ends on {after_window.last.isoformat()}: wait until "
            f"{(after_window.last + dt.timedelta(days=1)).isoformat()} to check."
        )
    index = DeliveryIndex(delivery.scope_events(item.scope_id))

    def value(window: Window) -> float | None:
        return index.metrics(service, window, details=False).value(hypothesis.metric)

    outcome = check(
        hypothesis,
        value(before_window),
        value(after_window),
        [value(w) for w in _weeks(before_window)],
        [value(w) for w in _weeks(after_window)],
    )
    _record(item, outcome, service, live_on, before_window, after_window)
    return Checked(outcome, before_window, after_window)


def _span(window: Window) -> str:
    return f"{window.first.isoformat()}..{window.last.isoformat()}"


def _record(item: BacklogItem, outcome: Outcome, service: str, live_on: dt.date, before: Window, after: Window):
    """The outcome on the item, a step in its history, and an entry in the trail with the figures."""
    previous = {"status": item.status, "outcome": item.outcome}
    item.outcome = f"{outcome.summary} ({service}: before {_span(before)}, after {_span(after)})"
    item.live_on = live_on
    item.metric_service = service
    if item.status in ("plan", "do"):
        item.status = "check"
    item.updated_at = utcnow()
    record_event(item, "changed", audit.current_actor.get())
    audit.record(
        "backlog.item_checked",
        "backlog_item",
        item.id,
        scope_id=item.scope_id,
        assessment_id=item.assessment_id,
        before=previous,
        after={
            "status": item.status,
            "outcome": item.outcome,
            "service": service,
            "live_on": live_on.isoformat(),
            "hypothesis": outcome.hypothesis.text,
            "before": outcome.before,
            "after": outcome.after,
            "change": outcome.change,
            "change_percent": outcome.change_percent,
            "held": outcome.held,
            "outside_limits": outcome.outside_limits,
            "windows": {"before": _span(before), "after": _span(after)},
        },
    )
