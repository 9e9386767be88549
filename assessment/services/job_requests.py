"""Background jobs other than reports: a large import, and bringing score snapshots up to date.

Both are rows of `report_job` (the queue's state, shared by every web process; see adapters/job_state.py)
run by `assessment worker` processes (adapters/data_jobs.py). A request only checks what it may, keeps
what the job needs and queues it; the worker checks again, inside the transaction that writes, that the
person who asked may still do it.

An import's upload is kept in the report store under `uploads/` until the job has read it, so a worker on
another machine reads it as the web process that took it would; the assessment it makes is the job's
`assessment_id`. A snapshot job of one scope (or of all) is asked for once: while one waits, asking again
finds it.
"""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import select

from ..adapters.evidence_store import safe_filename
from ..extensions import db
from ..models import ReportJob, Scope
from .errors import InvalidInput, NotFound
from .reports import ReportStore
from .transfer import sha256_of

IMPORT = "import"
SNAPSHOTS = "snapshots"
EVENTS = "events"
UPLOADS = "uploads/"  # the report store's keys of uploads waiting for their import job
IMPORT_SUFFIXES = (".zip", ".yaml", ".yml")


def upload_key(job: ReportJob) -> str:
    """The store's key of an import or events job's upload."""
    return f"{UPLOADS}{job.kind}-{job.id}.upload"


def request_import(scope: Scope, filename: str, upload: BinaryIO, user: str, store: ReportStore) -> ReportJob:
    """Queue the import of an upload (an answers .yaml, or a .zip with its evidence) as a new assessment of
    `scope`: the upload is kept in the store for the worker. What only the whole file can tell (its
    answers, its evidence) is checked by the job, which fails with the reason."""
    name = safe_filename(filename or "")[:255]
    if not name.lower().endswith(IMPORT_SUFFIXES):
        raise InvalidInput("Upload a .zip holding answers.yaml (and its evidence files) or an answers .yaml file.")
    digest = sha256_of(upload)
    job = ReportJob(
        kind=IMPORT,
        scope_id=scope.id,
        upload_name=name,
        fingerprint=digest,
        requested_by=user,
        message="Waiting for a worker",
    )
    db.session.add(job)
    db.session.flush()
    store.blobs.put(upload_key(job), upload, digest)
    return job


def request_events(scope: Scope, filename: str, upload: BinaryIO, user: str, store: ReportStore) -> ReportJob:
    """Queue the reading of an events file (JSON Lines, delivery-events.md) into the scope's delivery data;
    the worker checks every line and stores all of them or none, failing the job with every problem."""
    from .delivery import MAX_FILE_BYTES

    name = safe_filename(filename or "")[:255] or "events.jsonl"
    upload.seek(0, 2)
    size = upload.tell()
    upload.seek(0)
    if size == 0:
        raise InvalidInput("The file is empty: choose a JSON Lines file of delivery events.", "events")
    if size > MAX_FILE_BYTES:
        raise InvalidInput(f"The file is larger than {MAX_FILE_BYTES // 2**20} MB; split it in parts.", "events")
    digest = sha256_of(upload)
    job = ReportJob(
        kind=EVENTS, scope_id=scope.id, upload_name=name, fingerprint=digest, requested_by=user,
        message="Waiting for a worker",
    )  # fmt: skip
    db.session.add(job)
    db.session.flush()
    store.blobs.put(upload_key(job), upload, digest)
    return job


def request_snapshots(scope_id: int | None, user: str) -> ReportJob:
    """The job that brings the score snapshots of one scope's assessments (None: every scope's) up to date:
    the one already waiting, else a new one."""
    mark = f"{SNAPSHOTS}:{scope_id if scope_id is not None else 'all'}"
    waiting = db.session.scalars(
        select(ReportJob).where(ReportJob.fingerprint == mark, ReportJob.status == "queued").order_by(ReportJob.id)
    ).first()
    if waiting is not None:
        return waiting
    job = ReportJob(kind=SNAPSHOTS, scope_id=scope_id, fingerprint=mark, requested_by=user)
    db.session.add(job)
    db.session.flush()
    return job


def get_job(job_id: int, kind: str) -> ReportJob:
    """A job of this kind, or NotFound (a report's id is not an import's)."""
    job = db.session.get(ReportJob, job_id)
    if job is None or job.kind != kind:
        raise NotFound("No such job.")
    return job
