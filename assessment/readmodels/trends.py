"""Trends: scores and levels over cycles, for one scope or across every scope of a framework.

Figures come from score snapshots (see snapshots.py), so a trend over hundreds of assessments
reads one row per assessment; the chart is the same SVG in the web app and in the PDF.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import fmean

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from reports.charts import TrendSeries, trend_chart_svg

from ..domain.display import level_text
from ..extensions import db
from ..models import Assessment, FrameworkVersion, Scope
from ..services.library import framework_of
from .snapshots import Snapshot, snapshots_of


@dataclass
class ScopeTrend:
    """One scope's cycles of one framework, oldest first, with their figures and the chart."""

    scope: Scope
    framework_id: str
    title: str
    assessments: list[Assessment]
    snapshots: dict[int, Snapshot]
    domains: list[tuple[str, str]]  # (id, title) in the latest version's order
    svg: str
    levels: dict[int, str] = field(default_factory=dict)


def frameworks_of_scope(scope_id: int) -> list[tuple[str, str]]:
    """(framework id, title) of every framework the scope was assessed against."""
    rows = db.session.execute(
        select(FrameworkVersion.framework_id, FrameworkVersion.title)
        .join(Assessment, Assessment.framework_version_id == FrameworkVersion.id)
        .where(Assessment.scope_id == scope_id)
        .order_by(FrameworkVersion.title)
        .distinct()
    ).all()
    seen: dict[str, str] = {}
    for framework_id, title in rows:
        seen.setdefault(framework_id, title)
    return list(seen.items())


def _level_text(level: int | None) -> str | None:
    return None if level is None else level_text(level, prefix="L")


def scope_trend(scope: Scope, framework_id: str, until: dt.date | None = None) -> ScopeTrend:
    """The trend of a scope on a framework: overall and per-domain, over its cycles.

    With `until`, only cycles as of that day or earlier: a report of an old cycle shows the trend
    up to that cycle, never what came after it.
    """
    stmt = (
        select(Assessment)
        .join(FrameworkVersion, Assessment.framework_version_id == FrameworkVersion.id)
        .where(Assessment.scope_id == scope.id, FrameworkVersion.framework_id == framework_id)
        .order_by(Assessment.as_of, Assessment.id)
    )
    if until is not None:
        stmt = stmt.where(Assessment.as_of <= until)
    assessments = list(db.session.scalars(stmt))
    snaps = snapshots_of(assessments)
    latest = assessments[-1].framework_version if assessments else None
    framework = framework_of(latest) if latest else None
    domains = [(d.id, d.title) for d in framework.domains] if framework else []
    labels = [a.as_of.isoformat() for a in assessments]
    series = [
        TrendSeries(
            "Overall",
            [snaps[a.id].score for a in assessments],
            [_level_text(snaps[a.id].level) for a in assessments],
            bold=True,
        )
    ]
    for domain_id, title in domains:
        figures = [snaps[a.id].domain(domain_id) for a in assessments]
        series.append(TrendSeries(title, [f.score if f else None for f in figures]))
    target = None
    svg = trend_chart_svg(
        labels, series, title=f"{scope.name}: {latest.title if latest else framework_id}", target=target
    )
    levels = {n: framework.level_name(n) for n in framework.level_index} if framework and framework.is_maturity else {}
    return ScopeTrend(
        scope, framework_id, latest.title if latest else framework_id, assessments, snaps, domains, svg, levels
    )


@dataclass
class FrameworkTrend:
    """A framework across scopes: the average per quarter, and each scope's latest figures."""

    framework_id: str
    title: str
    periods: list[str]
    svg: str
    scopes: list[tuple[Scope, Assessment, Snapshot]]
    domains: list[tuple[str, str]]


def _quarter(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def framework_trend(framework_id: str, scope_ids: list[int] | None) -> FrameworkTrend:
    """Averages of every visible scope's cycles per calendar quarter, overall and per domain."""
    stmt = (
        select(Assessment)
        .join(FrameworkVersion, Assessment.framework_version_id == FrameworkVersion.id)
        .where(FrameworkVersion.framework_id == framework_id)
        .order_by(Assessment.as_of, Assessment.id)
        .options(selectinload(Assessment.scope))  # one query for the scopes, not one per row
    )
    if scope_ids is not None:
        stmt = stmt.where(Assessment.scope_id.in_(scope_ids))
    assessments = list(db.session.scalars(stmt))
    version = db.session.scalars(
        select(FrameworkVersion)
        .where(FrameworkVersion.framework_id == framework_id)
        .order_by(FrameworkVersion.id.desc())
    ).first()
    if version is None:
        from ..services.errors import NotFound

        raise NotFound(f"There is no framework {framework_id!r} in the library.")
    framework = framework_of(version)
    domains = [(d.id, d.title) for d in framework.domains]
    snaps = snapshots_of(assessments)
    # Each scope counts once per quarter: its last assessment in that quarter.
    per_quarter: dict[str, dict[int, Snapshot]] = defaultdict(dict)
    latest: dict[int, Assessment] = {}
    for a in assessments:
        per_quarter[_quarter(a.as_of)][a.scope_id] = snaps[a.id]
        latest[a.scope_id] = a
    periods = sorted(per_quarter)

    def mean(values):
        values = [v for v in values if v is not None]
        return fmean(values) if values else None

    series = [
        TrendSeries("Average overall", [mean(s.score for s in per_quarter[p].values()) for p in periods], bold=True)
    ]
    for domain_id, title in domains:
        series.append(
            TrendSeries(
                title,
                [
                    mean((s.domain(domain_id).score if s.domain(domain_id) else None) for s in per_quarter[p].values())
                    for p in periods
                ],
            )
        )
    svg = trend_chart_svg(periods, series, title=f"{version.title}: average of {len(latest)} scope(s) per quarter")
    scopes = sorted(((a.scope, a, snaps[a.id]) for a in latest.values()), key=lambda t: t[0].name)
    return FrameworkTrend(framework_id, version.title, periods, svg, scopes, domains)
