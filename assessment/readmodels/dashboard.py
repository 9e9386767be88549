"""The program dashboard: where every scope stands on a framework, what is going stale, which
evidence is about to expire, and how the improvement backlog is doing.

Each figure is one query or one pass over the latest assessment per scope; scores come from score
snapshots, so the page costs the same whether the scopes have five answers or five hundred.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..domain.display import level_text, one_decimal
from ..domain.explain import provisional_text
from ..extensions import db
from ..models import PDCA_STATUSES, Assessment, BacklogItem, EvidenceLink, FrameworkVersion, Scope
from ..models import Evidence as EvidenceRow
from ..services.library import framework_of
from .snapshots import Snapshot, snapshots_of

OPEN = ("plan", "do", "check", "act")
ALL = "all"  # the framework choice that shows every framework's heatmap
SHORT = 18  # characters of a domain title in a heatmap column heading


@dataclass(frozen=True)
class ScopeRow:
    """One scope's latest assessment of the framework, with its figures."""

    scope: Scope
    assessment: Assessment
    snapshot: Snapshot
    stale: bool
    reached: bool | None  # None: no target (compliance framework)
    cells: tuple[tuple[str, str, str], ...] = ()  # per dashboard domain: (score text, heat class, level text)

    @property
    def provisional(self) -> bool:
        """Whether the figures may still change (a draft, or returned for changes)."""
        return bool(provisional_text(self.assessment.status))


@dataclass(frozen=True)
class Expiring:
    """An evidence item that stops counting within the window."""

    evidence_id: int
    title: str
    expires: dt.date
    scope: str
    scope_id: int
    requirements: tuple[str, ...]


@dataclass
class Dashboard:
    """Everything the dashboard page shows for one framework (and optionally one scope)."""

    framework_id: str | None
    title: str
    today: dt.date
    frameworks: list[tuple[str, str]]
    scopes: list[ScopeRow] = field(default_factory=list)
    domains: list[tuple[str, str]] = field(default_factory=list)
    levels: dict[int, str] = field(default_factory=dict)
    level_counts: list[tuple[str, int]] = field(default_factory=list)
    reached: int = 0
    with_target: int = 0
    stale_days: int = 180
    expiring: list[Expiring] = field(default_factory=list)
    expiring_days: int = 30
    backlog_counts: list[tuple[str, int]] = field(default_factory=list)
    overdue: list[tuple[BacklogItem, str]] = field(default_factory=list)
    overdue_total: int = 0

    @property
    def stale(self) -> list[ScopeRow]:
        return [row for row in self.scopes if row.stale]

    @property
    def columns(self) -> list[tuple[str, str]]:
        """The heatmap's domain columns: (short heading, full title)."""
        return [(short_title(title), title) for _, title in self.domains]


def short_title(title: str, limit: int = SHORT) -> str:
    """A domain title cut at a word boundary to about `limit` characters, with an ellipsis when cut."""
    if len(title) <= limit:
        return title
    head = title[: limit + 1]
    cut = head.rsplit(" ", 1)[0].rstrip(" ,;:-&") if " " in head else title[:limit]  # one long word: cut inside it
    return cut.rstrip() + "\u2026"


def build_all(scope_id: int | None, *, today: dt.date, stale_days: int, expiring_days: int) -> list[Dashboard]:
    """The dashboard of every framework in use, most assessed first (the "all frameworks" view)."""
    return [
        build(fid, scope_id, today=today, stale_days=stale_days, expiring_days=expiring_days)
        for fid, _ in frameworks_in_use(None)
    ]


def frameworks_in_use(scope_ids: list[int] | None) -> list[tuple[str, str]]:
    """(framework id, title) of every framework with an assessment, most assessed first."""
    stmt = (
        select(FrameworkVersion.framework_id, func.max(FrameworkVersion.title), func.count(Assessment.id))
        .join(Assessment, Assessment.framework_version_id == FrameworkVersion.id)
        .group_by(FrameworkVersion.framework_id)
        .order_by(func.count(Assessment.id).desc(), FrameworkVersion.framework_id)
    )
    if scope_ids is not None:
        stmt = stmt.where(Assessment.scope_id.in_(scope_ids))
    return [(fid, title) for fid, title, _ in db.session.execute(stmt)]


def latest_per_scope(framework_id: str, scope_id: int | None = None) -> list[Assessment]:
    """Each scope's most recent assessment of the framework (by as-of date, then creation), in one query."""
    ranked = (
        select(
            Assessment.id,
            func.row_number()
            .over(partition_by=Assessment.scope_id, order_by=(Assessment.as_of.desc(), Assessment.id.desc()))
            .label("rank"),
        )
        .join(FrameworkVersion, Assessment.framework_version_id == FrameworkVersion.id)
        .where(FrameworkVersion.framework_id == framework_id)
    )
    if scope_id is not None:
        ranked = ranked.where(Assessment.scope_id == scope_id)
    ranked = ranked.subquery()
    stmt = select(Assessment).join(ranked, ranked.c.id == Assessment.id).where(ranked.c.rank == 1)
    return list(db.session.scalars(stmt.order_by(Assessment.scope_id)))


def build(
    framework_id: str | None,
    scope_id: int | None,
    *,
    today: dt.date,
    stale_days: int,
    expiring_days: int,
    overdue_limit: int = 100,
) -> Dashboard:
    """The dashboard of one framework (the most used one by default), optionally for one scope."""
    frameworks = frameworks_in_use(None)
    if framework_id is None and frameworks:
        framework_id = frameworks[0][0]
    board = Dashboard(framework_id, dict(frameworks).get(framework_id or "", "No assessments yet"), today, frameworks)
    board.stale_days, board.expiring_days = stale_days, expiring_days
    if framework_id is None:
        return board
    latest = latest_per_scope(framework_id, scope_id)
    snaps = snapshots_of(latest)
    version = max((a.framework_version for a in latest), key=lambda v: v.id, default=None)
    if version is not None:
        framework = framework_of(version)
        board.domains = [(d.id, d.title) for d in framework.domains]
        if framework.is_maturity:
            board.levels = {n: framework.level_name(n) for n in framework.level_index}
    scopes = {s.id: s for s in db.session.scalars(select(Scope).where(Scope.id.in_([a.scope_id for a in latest])))}
    cutoff = today - dt.timedelta(days=stale_days)
    for assessment in sorted(latest, key=lambda a: scopes[a.scope_id].name):
        snap = snaps[assessment.id]
        target = assessment.target_level
        reached = None if target is None else (snap.level is not None and snap.level >= target)
        board.scopes.append(
            ScopeRow(
                scopes[assessment.scope_id],
                assessment,
                snap,
                assessment.as_of < cutoff,
                reached,
                _cells(snap, [did for did, _ in board.domains]),
            )
        )
    counts = Counter(row.snapshot.level for row in board.scopes)
    board.level_counts = [(level_text(n, name), counts.get(n, 0)) for n, name in board.levels.items()]
    board.with_target = sum(1 for row in board.scopes if row.reached is not None)
    board.reached = sum(1 for row in board.scopes if row.reached)
    ids = [a.id for a in latest]
    board.expiring = _expiring(ids, scopes, today, today + dt.timedelta(days=expiring_days))
    _backlog(board, framework_id, list(scopes), today, overdue_limit)
    return board


def heat(score: float | None) -> str:
    """The heatmap class of a score: five bands of 20 points, and one for no score."""
    return "heat-none" if score is None else f"heat-{min(int(score // 20), 4)}"


def _cells(snap: Snapshot, domain_ids: list[str]) -> tuple[tuple[str, str, str], ...]:
    """The heatmap row of one scope, in the dashboard's domain order."""
    by_id = {d.id: d for d in snap.domains}
    cells = []
    for domain_id in domain_ids:
        figure = by_id.get(domain_id)
        if figure is None or figure.score is None:
            cells.append(("—", "heat-none", ""))
        else:
            level = "" if figure.level is None else f"L{figure.level}"
            cells.append((one_decimal(figure.score), heat(figure.score), level))
    return tuple(cells)


def _expiring(assessment_ids: list[int], scopes: dict[int, Scope], start: dt.date, end: dt.date) -> list[Expiring]:
    """Evidence linked to the latest assessments that expires from today to the end of the window."""
    if not assessment_ids:
        return []
    rows = db.session.execute(
        select(
            EvidenceRow.id, EvidenceRow.title, EvidenceRow.expires, EvidenceRow.scope_id, EvidenceLink.requirement_id
        )
        .join(EvidenceLink, EvidenceLink.evidence_id == EvidenceRow.id)
        .where(
            EvidenceLink.assessment_id.in_(assessment_ids),
            EvidenceRow.expires >= start,
            EvidenceRow.expires <= end,
        )
        .order_by(EvidenceRow.expires, EvidenceRow.id, EvidenceLink.requirement_id)
    ).all()
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.id, []).append(row)
    return [
        Expiring(
            evidence_id,
            items[0].title,
            items[0].expires,
            scopes[items[0].scope_id].name,
            items[0].scope_id,
            tuple(dict.fromkeys(i.requirement_id for i in items)),
        )
        for evidence_id, items in grouped.items()
    ]


def _backlog(board: Dashboard, framework_id: str, scope_ids: list[int], today: dt.date, limit: int) -> None:
    """Counts by PDCA status, and the overdue open items (due before today), oldest due first."""
    where = (BacklogItem.framework_id == framework_id, BacklogItem.scope_id.in_(scope_ids))
    counts = dict(
        db.session.execute(select(BacklogItem.status, func.count()).where(*where).group_by(BacklogItem.status)).all()
    )
    board.backlog_counts = [(status, counts.get(status, 0)) for status in PDCA_STATUSES]
    overdue = (*where, BacklogItem.status.in_(OPEN), BacklogItem.due_date < today)
    board.overdue_total = db.session.scalar(select(func.count()).select_from(BacklogItem).where(*overdue)) or 0
    names = {s.id: s.name for s in (row.scope for row in board.scopes)}
    items = db.session.scalars(
        select(BacklogItem).where(*overdue).order_by(BacklogItem.due_date, BacklogItem.id).limit(limit)
    )
    board.overdue = [(item, names.get(item.scope_id, "")) for item in items]
