"""Score snapshots: the figures of each assessment, kept so that trends and dashboards read a row
per assessment instead of scoring hundreds of them on every page.

A snapshot is derived data. It records the assessment's `updated_at` it was computed from; any
change to answers or evidence touches the assessment, so a snapshot with another source is stale
and is recomputed from the answers by the same scoring engine as the results page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from ..extensions import db
from ..models import Assessment, ScoreSnapshot
from ..services.assessments import load_state


@dataclass(frozen=True)
class DomainFigure:
    """One domain's score and level in a snapshot."""

    id: str
    title: str
    score: float | None
    level: int | None


@dataclass(frozen=True)
class Snapshot:
    """An assessment's overall and per-domain figures."""

    assessment_id: int
    score: float | None
    level: int | None
    completion: float
    gaps: int
    domains: tuple[DomainFigure, ...]

    def domain(self, domain_id: str) -> DomainFigure | None:
        return next((d for d in self.domains if d.id == domain_id), None)


def _source(assessment: Assessment) -> str:
    return assessment.updated_at.isoformat()


def _view(row: ScoreSnapshot) -> Snapshot:
    domains = tuple(DomainFigure(d["id"], d["title"], d["score"], d["level"]) for d in json.loads(row.domains))
    return Snapshot(row.assessment_id, row.score, row.level, row.completion, row.gaps, domains)


def _figures(assessment: Assessment) -> dict:
    """The snapshot's columns, scored from the assessment's answers (a read: nothing is written)."""
    card = load_state(assessment).card
    return {
        "source": _source(assessment),
        "score": card.score,
        "level": card.level,
        "completion": card.completion,
        "gaps": len(card.gaps),
        "domains": json.dumps(
            [{"id": d.domain.id, "title": d.domain.title, "score": d.score, "level": d.level} for d in card.domains]
        ),
    }


def _store(assessment: Assessment, row: ScoreSnapshot | None, figures: dict) -> None:
    """Keep the figures for the next reader; a snapshot is a cache, so one that cannot be kept now is not an error.

    The figures are scored before the savepoint, so the write is the first statement of its transaction: on
    SQLite a transaction that read first and writes later fails at once ("database is locked") when another
    process committed in between, where a write that comes first waits its turn for the lock. Another reader
    storing the same snapshot first (IntegrityError) or SQLite still busy after its timeout leave the figures
    unstored, and the next reader stores them."""
    try:
        with db.session.begin_nested():  # two readers may compute the same snapshot at once
            if row is None:
                row = ScoreSnapshot(assessment_id=assessment.id)
                db.session.add(row)
            for name, value in figures.items():
                setattr(row, name, value)
    except IntegrityError:
        pass
    except OperationalError:
        if db.session.get_bind().dialect.name != "sqlite":
            raise


def snapshots_of(assessments: list[Assessment]) -> dict[int, Snapshot]:
    """The snapshot of each assessment, computing (and storing) the missing or stale ones."""
    if not assessments:
        return {}
    ids = [a.id for a in assessments]
    stored = {
        r.assessment_id: r
        for r in db.session.scalars(select(ScoreSnapshot).where(ScoreSnapshot.assessment_id.in_(ids)))
    }
    result = {}
    for assessment in assessments:
        row = stored.get(assessment.id)
        if row is None or row.source != _source(assessment):
            figures = _figures(assessment)
            _store(assessment, row, figures)
            row = ScoreSnapshot(assessment_id=assessment.id, **figures)  # what was scored, stored or not
        result[assessment.id] = _view(row)
    return result
