"""The background jobs as the admin's jobs page lists them: the newest first, with their scope, their
attempts, who holds a running one and until when, and why a failed one failed; and the count by state.
Read from the database, which every web process shares, so each process shows the same list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from ..domain import jobs
from ..extensions import db
from ..models import JOB_STATUSES, Assessment, ReportJob, Scope, utcnow

KIND_LABELS = {"pdf": "PDF report", "bundle": "Evidence bundle", "import": "Import", "snapshots": "Score snapshots"}


@dataclass(frozen=True)
class JobLine:
    """One job on the page."""

    id: int
    kind: str  # in words
    kind_code: str  # pdf, bundle, import, snapshots
    scope: str  # "every scope" for a snapshot refresh of all of them
    assessment_id: int | None  # an import's once it made one; a snapshot refresh's never
    status: str
    attempts: int
    progress: int
    message: str | None
    last_error: str | None
    requested_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    worker: str | None
    lease_lost: bool  # running, but its worker stopped renewing its lease: the next sweep settles it


@dataclass(frozen=True)
class JobBoard:
    """The page's content: the jobs shown and every job counted by state."""

    lines: list[JobLine]
    counts: dict[str, int]


def job_counts() -> dict[str, int]:
    """Every job counted by state (each state present, zero when none)."""
    rows = db.session.execute(select(ReportJob.status, func.count()).group_by(ReportJob.status))
    found = {status: count for status, count in rows}
    return {status: found.get(status, 0) for status in JOB_STATUSES}


def board(status: str | None = None, limit: int = 200) -> JobBoard:
    """The newest `limit` jobs (of one state when `status` names one), and the count by state."""
    query = (
        select(ReportJob, Scope.name)
        .outerjoin(Assessment, Assessment.id == ReportJob.assessment_id)
        .outerjoin(Scope, Scope.id == func.coalesce(ReportJob.scope_id, Assessment.scope_id))
        .order_by(ReportJob.id.desc())
        .limit(limit)
    )
    if status in JOB_STATUSES:
        query = query.where(ReportJob.status == status)
    now = utcnow()
    lines = [
        JobLine(
            id=job.id,
            kind=KIND_LABELS.get(job.kind, job.kind),
            kind_code=job.kind,
            scope=scope or "every scope",
            assessment_id=job.assessment_id,
            status=job.status,
            attempts=job.attempts,
            progress=job.progress,
            message=job.message,
            last_error=job.last_error,
            requested_by=job.requested_by,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            worker=job.worker,
            lease_lost=jobs.lease_expired(job.status, job.lease_until, now),
        )
        for job, scope in db.session.execute(query)
    ]
    return JobBoard(lines, job_counts())
