"""The band a delivery metric's value falls in, named in the framework's own words.

The shipped DevOps framework scores each metric-fed answer by bands (`NumericAnswer.bands`) and its guidance
lists the tiers in the same order as `- **Elite** (...)`, `- **High** (...)`: the page names a value by the bold
word at the position of the first band that holds it, so the page and the framework never disagree.
"""

from __future__ import annotations

import re

from ..framework import Framework, NumericAnswer

_BOLD_ITEM = re.compile(r"^\s*[-*]\s+\*\*([^*]+)\*\*", re.MULTILINE)


def band_names(guidance: str | None) -> tuple[str, ...]:
    """The bold words that open the guidance's list items, in order (e.g. Elite, High, Medium, Low)."""
    return tuple(match.group(1).strip() for match in _BOLD_ITEM.finditer(guidance or ""))


def band_of(answer: NumericAnswer, names: tuple[str, ...], value: float | None) -> str | None:
    """The name of the first band holding `value`; None for no value, no band holding it or no name there."""
    if value is None:
        return None
    for position, band in enumerate(answer.bands):
        if band.holds(value):
            return names[position] if position < len(names) else None
    return None


def metric_bands(framework: Framework) -> dict[str, tuple[NumericAnswer, tuple[str, ...]]]:
    """Metric id -> (its answer's bands, their names), for every requirement whose answer has `metric:`."""
    found: dict[str, tuple[NumericAnswer, tuple[str, ...]]] = {}
    for requirement in framework.requirements:
        answer = requirement.answer
        if isinstance(answer, NumericAnswer) and answer.metric is not None and answer.metric not in found:
            found[answer.metric] = (answer, band_names(requirement.guidance))
    return found


def name_bands(bands: dict[str, tuple[NumericAnswer, tuple[str, ...]]], metric: str, value: float | None) -> str | None:
    """The band name of one metric's value, or None when the framework has no bands for it."""
    if metric not in bands:
        return None
    answer, names = bands[metric]
    return band_of(answer, names, value)
