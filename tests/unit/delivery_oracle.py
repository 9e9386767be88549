"""A second, independent reading of the delivery-metrics spec (`delivery-events.md`, sections 2-4 and 6).

The engine in `assessment.domain.delivery` is the product; this module is only a test oracle,
written from the spec's text without looking at the engine, so that the property tests compare
two readings. It works on plain dicts (the parsed JSON lines, assumed valid) and is written to
be read beside the spec, not to be fast: every figure is a direct scan of the whole event list.

Where the spec leaves a choice, the plain reading is taken and written down beside the code,
marked "Reading:", so that a disagreement with the engine can be settled against the text.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Iterable

HOUR = dt.timedelta(hours=1)


def parse_time(text: str) -> dt.datetime:
    """An RFC 3339 time with an offset, as an aware datetime (comparisons are then between instants)."""
    return dt.datetime.fromisoformat(text)


def utc_text(text: str) -> str:
    """A time as the document prints it: in UTC with a `Z` (section 6).

    Reading: whole seconds, `YYYY-MM-DDTHH:MM:SSZ`, as in the example; the generated events never
    carry fractions of a second, so how fractions print is left open here.
    """
    return parse_time(text).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hours(delta: dt.timedelta) -> float:
    """A duration in exact hours (section 3: 90 minutes is 1.5 hours, nothing rounded)."""
    return delta / HOUR


def median(values: list[float]) -> float | None:
    """The median (mean of the two middle values for an even count), or None for no values."""
    return statistics.median(values) if values else None


def read_jsonl(texts: Iterable[str]) -> list[dict]:
    """The events of several JSON Lines texts, read together as one set (blank lines ignored)."""
    return [json.loads(line) for text in texts for line in text.splitlines() if line.strip()]


class Oracle:
    """The spec's figures over one valid set of events and one window of whole UTC days."""

    def __init__(self, events: list[dict], first_day: dt.date, last_day: dt.date):
        self.events = events
        self.first_day = first_day
        self.last_day = last_day
        # Section 2: from `from`T00:00:00Z up to, but not including, the day after `to`.
        self.start = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC)
        self.end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        self.days = (last_day - first_day).days + 1

    # -- the events, by type -------------------------------------------------------------------

    def of_type(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]

    def change(self, change_id: str) -> dict:
        return next(e for e in self.of_type("change") if e["id"] == change_id)

    def in_window(self, text: str) -> bool:
        return self.start <= parse_time(text) < self.end

    @staticmethod
    def is_live(deployment: dict) -> bool:
        """A successful production deployment (the defaults: `production`, `success`)."""
        return deployment.get("environment", "production") == "production" and (
            deployment.get("status", "success") == "success"
        )

    @staticmethod
    def order(deployment: dict) -> tuple[dt.datetime, str]:
        """Order of `time` (as an instant), then `id` (Reading: plain string order, so "e10" < "e9")."""
        return parse_time(deployment["time"]), deployment["id"]

    # -- section 3 -----------------------------------------------------------------------------

    def deployments_d(self, service: str) -> list[dict]:
        """D: the successful production deployments of the service whose `time` is in the window."""
        found = [
            d
            for d in self.of_type("deployment")
            if d["service"] == service and self.is_live(d) and self.in_window(d["time"])
        ]
        return sorted(found, key=self.order)

    def delivery(self, service: str, change_id: str) -> dict | None:
        """The change's delivery for the service: its earliest successful production deployment of S, at any time.

        Reading: the change itself may belong to any service; what makes the delivery is a deployment
        of S that lists it (the spec says "deployment of S", not "change of S"). The generated sets
        only list a service's own changes, so the tests do not depend on this reading.
        Reading: a change listed twice in one deployment is one change of it.
        """
        listing = [
            d
            for d in self.of_type("deployment")
            if d["service"] == service and self.is_live(d) and change_id in d.get("changes", [])
        ]
        return min(listing, key=self.order) if listing else None

    def delivered_by(self, service: str, deployment: dict) -> list[str]:
        """The ids of the changes whose delivery is this deployment (section 4's "d's changes")."""
        listed = dict.fromkeys(deployment.get("changes", []))  # once each, in the order listed
        return [c for c in listed if self.delivery(service, c)["id"] == deployment["id"]]

    def failed(self, deployment: dict) -> bool:
        """Failed: an incident lists it in `caused_by`, or a deployment names it in `rollback_of`.

        Reading: any incident (of any service, started at any time, open or resolved) counts, as
        the spec puts no condition on the incident; rollbacks are of any service, time and status
        as the spec says.
        """
        return bool(self.incidents_caused_by(deployment)) or self.rolled_back(deployment)

    def incidents_caused_by(self, deployment: dict) -> list[str]:
        return sorted(i["id"] for i in self.of_type("incident") if deployment["id"] in i.get("caused_by", []))

    def rolled_back(self, deployment: dict) -> bool:
        return any(d.get("rollback_of") == deployment["id"] for d in self.of_type("deployment"))

    def incidents_of(self, service: str) -> list[dict]:
        """The incidents of the service that started in the window.

        Reading: an incident is resolved when it has `resolved`, even if that time is after the
        window's end; only `started` places it in the window.
        """
        return [i for i in self.of_type("incident") if i["service"] == service and self.in_window(i["started"])]

    # -- section 4 -----------------------------------------------------------------------------

    def gates_of(self, deployment: dict) -> list[dict]:
        """The gates that stood before the deployment, ordered by `entered` (as an instant), then `id`.

        Reading: a gate belongs to the deployment its `deployment` key names, whatever its own
        `service` says (section 4 speaks of "the gates of the deployments of D"). The generated sets
        give a gate its deployment's service, so the tests do not depend on this reading.
        """
        found = [g for g in self.of_type("gate") if g["deployment"] == deployment["id"]]
        return sorted(found, key=lambda g: (parse_time(g["entered"]), g["id"]))

    def release(self, service: str, deployment: dict) -> dict:
        changes = self.delivered_by(service, deployment)
        change_times = [parse_time(self.change(c)["time"]) for c in changes]
        gates = self.gates_of(deployment)
        manual = [g for g in gates if g.get("manual", False)]
        return {
            "deployment": deployment["id"],
            "time": utc_text(deployment["time"]),
            "lead_time": hours(parse_time(deployment["time"]) - min(change_times)) if changes else None,
            "changes": len(changes),
            # Reading: builds of any service, finished at any time, count; each build once.
            "failed_builds": sum(
                1
                for b in self.of_type("build")
                if b["status"] == "failure" and any(c in changes for c in b.get("changes", []))
            ),
            "gate_wait": sum(hours(parse_time(g["left"]) - parse_time(g["entered"])) for g in manual),
            "manual_steps": len(manual),
            "failed_gates": [g["name"] for g in gates if g["result"] == "fail"],
            "incidents": self.incidents_caused_by(deployment),
            "rolled_back": self.rolled_back(deployment),
            "failed": self.failed(deployment),
        }

    def gate_table(self, service: str) -> list[dict]:
        """Every gate name among the gates of D's deployments, with its runs, failures, waits and catches.

        Reading: `passed_failed` counts a deployment of D once when at least one of its gates of
        that name has `result` `pass` and the deployment failed (section 3), whatever other runs of
        that name it had; "then" is read as "and", since a failure has no time of its own.
        """
        deployments = self.deployments_d(service)
        names = sorted({g["name"] for d in deployments for g in self.gates_of(d)})
        table = []
        for name in names:
            runs = [g for d in deployments for g in self.gates_of(d) if g["name"] == name]
            manual = [g for g in runs if g.get("manual", False)]
            failures = sum(1 for g in runs if g["result"] == "fail")
            passed_failed = sum(
                1
                for d in deployments
                if self.failed(d) and any(g["name"] == name and g["result"] == "pass" for g in self.gates_of(d))
            )
            table.append(
                {
                    "name": name,
                    "runs": len(runs),
                    "failures": failures,
                    "manual": len(manual),
                    "wait": sum(hours(parse_time(g["left"]) - parse_time(g["entered"])) for g in manual),
                    "passed_failed": passed_failed,
                    "caught_nothing": failures == 0 and passed_failed > 0,
                }
            )
        return table

    # -- section 6 -----------------------------------------------------------------------------

    def service_entry(self, service: str) -> dict:
        deployments = self.deployments_d(service)
        lead_times = [
            hours(parse_time(d["time"]) - parse_time(self.change(c)["time"]))
            for d in deployments
            for c in self.delivered_by(service, d)
        ]
        failed = [d for d in deployments if self.failed(d)]
        incidents = self.incidents_of(service)
        resolved = [i for i in incidents if "resolved" in i]
        return {
            "service": service,
            "deployments": len(deployments),
            "deployment_frequency": 7 * len(deployments) / self.days,
            "lead_time": median(lead_times),
            "change_failure_rate": 100 * len(failed) / len(deployments) if deployments else None,
            "time_to_restore": median([hours(parse_time(i["resolved"]) - parse_time(i["started"])) for i in resolved]),
            "changes": len(lead_times),
            "failed_deployments": len(failed),
            "incidents": len(incidents),
            "open_incidents": len(incidents) - len(resolved),
            "releases": [self.release(service, d) for d in deployments],
            "gates": self.gate_table(service),
        }

    def document(self, services: Iterable[str] | None = None) -> dict:
        """The `dora --format json` document.

        Reading: with no services named, every service that any event names (of any type, at any
        time, even with nothing in the window) is listed; named services are listed by name, once
        each, with or without events.
        """
        names = sorted(set(services) if services is not None else {e["service"] for e in self.events})
        return {
            "window": {"from": self.first_day.isoformat(), "to": self.last_day.isoformat(), "days": self.days},
            "services": [self.service_entry(name) for name in names],
        }


def oracle_document(
    events: list[dict], first_day: dt.date, last_day: dt.date, services: Iterable[str] | None = None
) -> dict:
    """The spec's `dora --format json` document for the events over `first_day`..`last_day` (both included)."""
    return Oracle(events, first_day, last_day).document(services)


def differences(expected, actual, path: str = "$") -> list[str]:
    """Where two documents differ: numbers within 1e-6, booleans and nulls exactly, lists in order."""
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None or actual is None:
        return [] if type(expected) is type(actual) and expected == actual else [f"{path}: {expected!r} != {actual!r}"]
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return [] if abs(expected - actual) <= 1e-6 else [f"{path}: {expected!r} != {actual!r}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = [f"{path}: key {k!r} missing" for k in expected.keys() - actual.keys()]
        found += [f"{path}: key {k!r} not expected" for k in actual.keys() - expected.keys()]
        for key in expected.keys() & actual.keys():
            found += differences(expected[key], actual[key], f"{path}.{key}")
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items != {len(actual)}: {expected!r} != {actual!r}"]
        return [
            d for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for d in differences(e, a, f"{path}[{i}]")
        ]
    return [] if type(expected) is type(actual) and expected == actual else [f"{path}: {expected!r} != {actual!r}"]
