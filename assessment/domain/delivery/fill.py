"""Metric-fed answers: unanswered metric questions take the measured value (`delivery-events.md`, section 5).

The rule is the spec's: each requirement whose numeric answer names a `metric` and that the answers
leave unanswered takes that metric's value for the service over the window; a null metric leaves
it unanswered; a value given in the answers stands. Each value filled carries a `Measurement`,
so a page or a report can say what it was measured from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..answers import Answer, Answers
from ..framework import Framework, NumericAnswer
from .events import EventSet
from .metrics import NAMES, DeliveryIndex, ServiceMetrics, Window


@dataclass(frozen=True, slots=True)
class Measurement:
    """Where a metric-fed value came from: the metric, its value, the service, the window and its basis."""

    requirement_id: str
    metric: str
    value: float
    service: str
    window: Window
    deployments: int
    basis: int  # what the value is computed over: deployments, changes or incidents
    basis_word: str

    def sentence(self) -> str:
        """The provenance in words, e.g. "measured from 41 deployments, window 2026-09-03 to 2026-12-01"."""
        return (
            f"{NAMES[self.metric]} measured from {self.basis} {self.basis_word}, service {self.service}, "
            f"window {self.window.first} to {self.window.last}"
        )


@dataclass(frozen=True)
class Filled:
    """The answers with the measured values in, and the measurement behind each."""

    answers: Answers
    measured: dict[str, Measurement]
    metrics: ServiceMetrics


def metric_requirements(framework: Framework) -> dict[str, str]:
    """Requirement id -> metric, for every numeric answer of the framework that names a metric."""
    return {
        r.id: r.answer.metric
        for r in framework.requirements
        if isinstance(r.answer, NumericAnswer) and r.answer.metric is not None
    }


def basis_of(metrics: ServiceMetrics, metric: str) -> tuple[int, str]:
    """How many events a metric's value stands on, and what they are."""
    if metric == "lead_time":
        return metrics.changes, "change" if metrics.changes == 1 else "changes"
    if metric == "time_to_restore":
        restored = metrics.incidents - metrics.open_incidents
        return restored, "restored incident" if restored == 1 else "restored incidents"
    return metrics.deployments, "deployment" if metrics.deployments == 1 else "deployments"


def fill_from_metrics(
    framework: Framework, answers: Answers, events: EventSet | DeliveryIndex, service: str, window: Window
) -> Filled:
    """`answers` with each unanswered metric question answered by the service's measured value."""
    index = events if isinstance(events, DeliveryIndex) else DeliveryIndex(events)
    metrics = index.metrics(service, window, details=False)
    by_id = dict(answers.answers)
    measured: dict[str, Measurement] = {}
    for requirement_id, metric in metric_requirements(framework).items():
        given = by_id.get(requirement_id)
        value = metrics.value(metric)
        if (given is not None and given.value is not None) or value is None:
            continue
        basis, word = basis_of(metrics, metric)
        measurement = Measurement(requirement_id, metric, value, service, window, metrics.deployments, basis, word)
        measured[requirement_id] = measurement
        note = measurement.sentence() if given is None or not given.note else given.note
        evidence = () if given is None else given.evidence
        by_id[requirement_id] = Answer(requirement_id, value, note=note, evidence=evidence)
    return Filled(replace(answers, answers=by_id), measured, metrics)
