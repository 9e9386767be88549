"""The window, the four key metrics, release reviews and gates (`delivery-events.md`, sections 2-4).

`DeliveryIndex` reads an `EventSet` once (who rolled back whom, which incidents a deployment
caused, which failed builds ran a change, each service's live deployments in order and the
delivery of each change) so the metrics of many windows (the 90 days, every week of a chart, the
before and after of an improvement) cost only their own deployments. Durations are exact hours;
nothing is rounded.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from .events import Deployment, EventSet, format_time

HOUR = 3600.0
DEFAULT_DAYS = 90
METRICS = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")
UNITS = {
    "deployment_frequency": "deployments per week",
    "lead_time": "hours",
    "change_failure_rate": "percent",
    "time_to_restore": "hours",
}
NAMES = {
    "deployment_frequency": "Deployment frequency",
    "lead_time": "Lead time for changes",
    "change_failure_rate": "Change failure rate",
    "time_to_restore": "Time to restore",
}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """Whole UTC days from `first` to `last`, both included (the spec's `from` and `to`)."""

    first: dt.date
    last: dt.date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the window ends ({self.last}) before it starts ({self.first})")

    @classmethod
    def ending(cls, as_of: dt.date, days: int = DEFAULT_DAYS) -> Window:
        """The `days` days that end on `as_of` (the default window: 90 days)."""
        if days < 1:
            raise ValueError(f"a window has at least one day, not {days}")
        return cls(as_of - dt.timedelta(days=days - 1), as_of)

    @property
    def days(self) -> int:
        """Its length in days, `last - first + 1`."""
        return (self.last - self.first).days + 1

    @property
    def start(self) -> float:
        """The first instant in it, in seconds since the epoch."""
        return _seconds(self.first)

    @property
    def end(self) -> float:
        """The first instant after it: midnight UTC of the day after `last`."""
        return _seconds(self.last + dt.timedelta(days=1))

    def to_dict(self) -> dict[str, Any]:
        """The window as section 6 prints it."""
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "days": self.days}


def _seconds(day: dt.date) -> float:
    return (dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) - _EPOCH).total_seconds()


@dataclass(frozen=True, slots=True)
class ReleaseReview:
    """The data of one production deployment's review (section 4)."""

    deployment: str
    time: float
    lead_time: float | None
    changes: int
    failed_builds: int
    gate_wait: float
    manual_steps: int
    failed_gates: tuple[str, ...]
    incidents: tuple[str, ...]
    rolled_back: bool
    failed: bool
    change_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The review as section 6 prints it."""
        return {
            "deployment": self.deployment,
            "time": format_time(self.time),
            "lead_time": self.lead_time,
            "changes": self.changes,
            "failed_builds": self.failed_builds,
            "gate_wait": self.gate_wait,
            "manual_steps": self.manual_steps,
            "failed_gates": list(self.failed_gates),
            "incidents": list(self.incidents),
            "rolled_back": self.rolled_back,
            "failed": self.failed,
        }


@dataclass(frozen=True, slots=True)
class GateSummary:
    """One gate name over a window's deployments; `caught_nothing` marks a candidate for pruning."""

    name: str
    runs: int
    failures: int
    manual: int
    wait: float
    passed_failed: int

    @property
    def caught_nothing(self) -> bool:
        """It never failed while deployments it passed failed."""
        return self.failures == 0 and self.passed_failed > 0

    def to_dict(self) -> dict[str, Any]:
        """The gate as section 6 prints it."""
        return {
            "name": self.name,
            "runs": self.runs,
            "failures": self.failures,
            "manual": self.manual,
            "wait": self.wait,
            "passed_failed": self.passed_failed,
            "caught_nothing": self.caught_nothing,
        }


@dataclass(frozen=True, slots=True)
class ServiceMetrics:
    """The four metrics of one service over one window, with their counts, reviews and gates."""

    service: str
    window: Window
    deployments: int
    deployment_frequency: float
    lead_time: float | None
    change_failure_rate: float | None
    time_to_restore: float | None
    changes: int
    failed_deployments: int
    incidents: int
    open_incidents: int
    releases: tuple[ReleaseReview, ...]
    gates: tuple[GateSummary, ...]

    def value(self, metric: str) -> float | None:
        """One of the four metrics by its id."""
        return getattr(self, metric)

    def to_dict(self) -> dict[str, Any]:
        """The service as section 6 prints it."""
        return {
            "service": self.service,
            "deployments": self.deployments,
            "deployment_frequency": self.deployment_frequency,
            "lead_time": self.lead_time,
            "change_failure_rate": self.change_failure_rate,
            "time_to_restore": self.time_to_restore,
            "changes": self.changes,
            "failed_deployments": self.failed_deployments,
            "incidents": self.incidents,
            "open_incidents": self.open_incidents,
            "releases": [release.to_dict() for release in self.releases],
            "gates": [gate.to_dict() for gate in self.gates],
        }


class DeliveryIndex:
    """An `EventSet` read once for the metrics of any service and window."""

    def __init__(self, events: EventSet):
        self.events = events
        self.rolled_back: set[str] = set()
        for deployment in events.deployments.values():
            if deployment.rollback_of is not None:
                self.rolled_back.add(deployment.rollback_of)
        self.incidents_of: dict[str, list[str]] = defaultdict(list)
        for incident in events.incidents.values():
            for deployment_id in set(incident.caused_by):
                self.incidents_of[deployment_id].append(incident.id)
        self.failed_builds_of: dict[str, set[str]] = defaultdict(set)
        for build in events.builds.values():
            if build.status == "failure":
                for change_id in build.changes:
                    self.failed_builds_of[change_id].add(build.id)
        self.gates_of: dict[str, list] = defaultdict(list)
        for gate in events.gates.values():
            self.gates_of[gate.deployment].append(gate)
        self._live: dict[str, list[Deployment]] = defaultdict(list)
        self.incidents_by_service: dict[str, list] = defaultdict(list)
        for deployment in events.deployments.values():
            if deployment.is_live:
                self._live[deployment.service].append(deployment)
        for live in self._live.values():
            live.sort(key=lambda d: (d.time, d.id))
        for incident in events.incidents.values():
            self.incidents_by_service[incident.service].append(incident)
        self._delivered: dict[str, dict[str, list[str]]] = {}

    def failed(self, deployment_id: str) -> bool:
        """Whether an incident names the deployment as a cause or a deployment rolls it back."""
        return deployment_id in self.rolled_back or deployment_id in self.incidents_of

    def live(self, service: str) -> list[Deployment]:
        """The service's successful production deployments, by time then id."""
        return self._live.get(service, [])

    def delivered_by(self, service: str) -> dict[str, list[str]]:
        """Each live deployment's id -> the changes whose delivery it is (their earliest live deployment)."""
        cached = self._delivered.get(service)
        if cached is None:
            seen: set[str] = set()
            cached = {}
            for deployment in self.live(service):
                mine = []
                for change_id in deployment.changes:
                    if change_id not in seen:
                        seen.add(change_id)
                        mine.append(change_id)
                if mine:
                    cached[deployment.id] = mine
            self._delivered[service] = cached
        return cached

    def in_window(self, service: str, window: Window) -> list[Deployment]:
        """D: the service's live deployments in the window, by time then id."""
        start, end = window.start, window.end
        return [d for d in self.live(service) if start <= d.time < end]

    def metrics(self, service: str, window: Window, *, details: bool = True) -> ServiceMetrics:
        """The four metrics of `service` over `window`; `details=False` skips reviews and gates."""
        chosen = self.in_window(service, window)
        delivered = self.delivered_by(service)
        changes = self.events.changes
        lead_times: list[float] = []
        failed_count = 0
        releases = []
        for deployment in chosen:
            mine = delivered.get(deployment.id, ())
            times = [changes[c].time for c in mine if c in changes]
            lead_times.extend((deployment.time - made) / HOUR for made in times)
            failed = self.failed(deployment.id)
            failed_count += failed
            if details:
                releases.append(self._review(deployment, mine, times, failed))
        start, end = window.start, window.end
        incidents = [i for i in self.incidents_by_service.get(service, ()) if start <= i.started < end]
        restores = [(i.resolved - i.started) / HOUR for i in incidents if i.resolved is not None]
        count = len(chosen)
        return ServiceMetrics(
            service=service,
            window=window,
            deployments=count,
            deployment_frequency=7 * count / window.days,
            lead_time=median(lead_times) if lead_times else None,
            change_failure_rate=100 * failed_count / count if count else None,
            time_to_restore=median(restores) if restores else None,
            changes=len(lead_times),
            failed_deployments=failed_count,
            incidents=len(incidents),
            open_incidents=sum(1 for i in incidents if i.resolved is None),
            releases=tuple(releases),
            gates=self._gates(chosen) if details else (),
        )

    def _review(self, deployment: Deployment, mine: Sequence[str], times: list[float], failed: bool) -> ReleaseReview:
        failed_builds: set[str] = set()
        for change_id in mine:
            failed_builds |= self.failed_builds_of.get(change_id, set())
        gates = sorted(self.gates_of.get(deployment.id, ()), key=lambda g: (g.entered, g.id))
        manual = [g for g in gates if g.manual]
        return ReleaseReview(
            deployment=deployment.id,
            time=deployment.time,
            lead_time=(deployment.time - min(times)) / HOUR if times else None,
            changes=len(mine),
            failed_builds=len(failed_builds),
            gate_wait=sum((g.left - g.entered) / HOUR for g in manual),
            manual_steps=len(manual),
            failed_gates=tuple(g.name for g in gates if g.result == "fail"),
            incidents=tuple(sorted(self.incidents_of.get(deployment.id, ()))),
            rolled_back=deployment.id in self.rolled_back,
            failed=failed,
            change_ids=tuple(mine),
        )

    def _gates(self, chosen: list[Deployment]) -> tuple[GateSummary, ...]:
        runs: dict[str, list] = defaultdict(list)
        passed_failed: dict[str, set[str]] = defaultdict(set)
        for deployment in chosen:
            failed = self.failed(deployment.id)
            for gate in self.gates_of.get(deployment.id, ()):
                runs[gate.name].append(gate)
                if failed and gate.result == "pass":
                    passed_failed[gate.name].add(deployment.id)
        return tuple(
            GateSummary(
                name=name,
                runs=len(gates),
                failures=sum(1 for g in gates if g.result == "fail"),
                manual=sum(1 for g in gates if g.manual),
                wait=sum((g.left - g.entered) / HOUR for g in gates if g.manual),
                passed_failed=len(passed_failed[name]),
            )
            for name, gates in sorted(runs.items())
        )


def dora_document(events: EventSet, window: Window, services: Sequence[str] | None = None) -> dict[str, Any]:
    """The JSON document of `assessment dora --format json` (section 6): every service, or those named."""
    index = events if isinstance(events, DeliveryIndex) else DeliveryIndex(events)
    names = sorted(set(services)) if services else index.events.services()
    return {
        "window": window.to_dict(),
        "services": [index.metrics(name, window).to_dict() for name in names],
    }
