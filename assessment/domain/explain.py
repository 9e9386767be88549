"""Scores in words: why a set of requirements reaches its level, and why a claimed requirement
earns nothing, so that figures that look contradictory (a domain at 0.0 shown at "L2 Managed")
say why they are right.

Spec, framework-format.md section 3: the level of a set is the highest L such that every
applicable requirement at or below L is met, so levels whose requirements are all not applicable
or absent are reached vacuously; a claim on an evidence-required requirement without current
evidence at the as-of date earns no credit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .framework import Framework, NumericAnswer, Scale
from .scoring import RequirementResult


def provisional_text(status: str) -> str:
    """Why an assessment's figures are provisional, or '' when they are not."""
    if status == "returned":
        return "The assessment was returned for changes: its score and level can still change until it is approved."
    if status == "draft":
        return "The assessment is a draft: its score and level can still change until it is approved."
    return ""


def _span(low: int, high: int) -> str:
    return f"L{low}" if low == high else f"L{low}–L{high}"


def level_reason(framework: Framework, results: Iterable[RequirementResult], level: int | None) -> str:
    """Why a set of requirements (a domain, or all of them) has `level`, in one sentence or two."""
    if not framework.is_maturity:
        return ""
    results = [r for r in results if r.requirement.level is not None]
    applicable = [r for r in results if r.status != "not_applicable"]
    if level is None:
        return "No level: no requirement here applies (each is not applicable)."
    first, top = framework.levels[0].number, framework.top_level
    upto = [r for r in applicable if r.requirement.level <= level]
    unmet_upto = [r for r in upto if r.status != "met"]
    if unmet_upto:  # the lowest level is the floor, shown even when its requirements are not all met
        met = len(upto) - len(unmet_upto)
        reached = f"L{level} is the lowest level: {met} of {len(upto)} requirements at {_span(first, level)} met."
    elif not upto:
        reached = f"L{level} reached because no requirement at {_span(first, level)} applies."
    else:
        reached = f"L{level} reached: all {len(upto)} applicable requirements at {_span(first, level)} met."
    if level >= top:
        return reached
    following = [n.number for n in framework.levels if n.number > level]
    for number in following:
        at = [r for r in applicable if r.requirement.level == number]
        if not at:
            continue
        met = sum(1 for r in at if r.status == "met")
        if met < len(at):
            return f"{reached} L{number} missed: {met} of {len(at)} met."
    return reached


def _answer_text(result: RequirementResult) -> str:
    answer = result.requirement.answer
    if isinstance(answer, Scale):
        option = answer.by_value.get(str(result.value))
        return option.label if option else str(result.value)
    if isinstance(answer, NumericAnswer) and answer.unit:
        return f"{result.value} {answer.unit}"
    return str(result.value)


def claim_reason(result: RequirementResult, as_of: dt.date) -> str | None:
    """Why a claimed answer earns no credit (evidence required, none current at `as_of`); None otherwise."""
    if not result.unsupported:
        return None
    claimed = _answer_text(result)
    items = list(result.answer.evidence) if result.answer is not None else []
    if not items:
        return f"{claimed}, but no evidence attached: evidence required."
    expired = [e.expires for e in items if e.expires is not None and e.expires < as_of]
    future = [e.effective for e in items if e.effective is not None and e.effective > as_of]
    if len(expired) == len(items):
        return f"{claimed}, but no current evidence: evidence expired on {max(expired)}."
    if len(future) == len(items):
        return f"{claimed}, but no current evidence: evidence effective only from {min(future)}."
    return f"{claimed}, but no evidence current on {as_of}: evidence required."
