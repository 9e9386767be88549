"""What the release review and gates pages show, computed from a scope's delivery events (section 4)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..domain.delivery import DeliveryIndex, Window
from ..domain.delivery.events import EventSet, format_time
from ..domain.display import one_decimal

HOUR = 3600.0


@dataclass(frozen=True)
class GateLine:
    """One gate a deployment went through."""

    name: str
    manual: bool
    entered: str
    left: str
    result: str


@dataclass(frozen=True)
class IncidentLine:
    """One incident the deployment caused."""

    id: str
    started: str
    resolved: str | None
    restore_hours: str | None


@dataclass(frozen=True)
class ReleaseFacts:
    """The release review's data of one production deployment, in words and figures ready to print."""

    service: str
    deployment: str
    time: str
    lead_time: float | None
    lead_time_text: str
    changes: list[tuple[str, str]]  # (id, time)
    failed_builds: list[str]
    gate_wait: float
    gate_wait_text: str
    gates: list[GateLine]
    manual_steps: int
    incidents: list[IncidentLine]
    rolled_back: bool
    rolled_back_by: list[str]
    failed: bool


def _hours(value: float | None) -> str:
    return "none" if value is None else f"{one_decimal(value)} h"


def release_facts(events: EventSet | DeliveryIndex, service: str, deployment_id: str) -> ReleaseFacts | None:
    """The review of `deployment_id`, or None if it is not a live production deployment of `service`."""
    index = events if isinstance(events, DeliveryIndex) else DeliveryIndex(events)
    events = index.events
    deployment = events.deployments.get(deployment_id)
    if deployment is None or deployment.service != service or not deployment.is_live:
        return None
    day = dt.datetime.fromtimestamp(deployment.time, dt.UTC).date()
    review = next(r for r in index.metrics(service, Window(day, day)).releases if r.deployment == deployment_id)
    changes = [
        (c, format_time(events.changes[c].time) if c in events.changes else "not known") for c in review.change_ids
    ]
    failed_builds = sorted({b for c in review.change_ids for b in index.failed_builds_of.get(c, ())})
    gates = sorted(index.gates_of.get(deployment_id, ()), key=lambda g: (g.entered, g.id))
    incidents = []
    for incident_id in review.incidents:
        incident = events.incidents[incident_id]
        restore = None if incident.resolved is None else (incident.resolved - incident.started) / HOUR
        incidents.append(
            IncidentLine(
                incident_id,
                format_time(incident.started),
                None if incident.resolved is None else format_time(incident.resolved),
                None if restore is None else _hours(restore),
            )
        )
    by = sorted(d.id for d in events.deployments.values() if d.rollback_of == deployment_id)
    return ReleaseFacts(
        service=service,
        deployment=deployment_id,
        time=format_time(review.time),
        lead_time=review.lead_time,
        lead_time_text=_hours(review.lead_time),
        changes=changes,
        failed_builds=failed_builds,
        gate_wait=review.gate_wait,
        gate_wait_text=_hours(review.gate_wait),
        gates=[GateLine(g.name, g.manual, format_time(g.entered), format_time(g.left), g.result) for g in gates],
        manual_steps=review.manual_steps,
        incidents=incidents,
        rolled_back=review.rolled_back,
        rolled_back_by=by,
        failed=review.failed,
    )


@dataclass(frozen=True)
class GateRow:
    """One gate name over the window, with the sentence that says why it may be pruned."""

    name: str
    runs: int
    failures: int
    manual: int
    wait_text: str
    passed_failed: int
    caught_nothing: bool
    why: str


@dataclass(frozen=True)
class GatesPage:
    """Every gate of a service's production deployments in a window."""

    service: str
    window: Window
    deployments: int
    rows: list[GateRow]


def gates_page(events: EventSet | DeliveryIndex, service: str, window: Window) -> GatesPage:
    """The gates of `service` over `window`: a gate that never failed while deployments it passed failed
    caught nothing and is a candidate for pruning."""
    index = events if isinstance(events, DeliveryIndex) else DeliveryIndex(events)
    metrics = index.metrics(service, window)
    rows = []
    for gate in metrics.gates:
        why = ""
        if gate.caught_nothing:
            why = (
                f"Never failed in {gate.runs} run(s), while {gate.passed_failed} deployment(s) it passed failed: "
                "it caught nothing, a candidate for pruning."
            )
        rows.append(
            GateRow(
                gate.name,
                gate.runs,
                gate.failures,
                gate.manual,
                f"{one_decimal(gate.wait)} h",
                gate.passed_failed,
                gate.caught_nothing,
                why,
            )
        )
    return GatesPage(service, window, metrics.deployments, rows)


__all__ = ["GatesPage", "ReleaseFacts", "gates_page", "release_facts"]
