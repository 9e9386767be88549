"""The database side of the job queue: a worker claims a report job, renews its lease while it works,
records a failure as the rules of domain/jobs.py say, and sweeps up the jobs whose worker died.

The `report_job` row is the state every web process shows, so each change here is one conditional
UPDATE, committed at once: two workers given the same job (a retry queued twice, a sweep racing a slow
worker) cannot both claim it, and a worker that lost its claim cannot write over its successor's.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import select, update

from ..domain import jobs
from ..extensions import db
from ..models import ReportJob, utcnow


def worker_name() -> str:
    """This process's name on the jobs it claims: host, process id and a random tag (process ids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def policy_of(app: Flask) -> jobs.Policy:
    """The queue's rules from the application's settings."""
    config = app.config
    return jobs.Policy(
        max_attempts=int(config["JOB_MAX_ATTEMPTS"]),
        retry_delay_seconds=float(config["JOB_RETRY_DELAY_SECONDS"]),
        lease_seconds=float(config["JOB_LEASE_SECONDS"]),
        timeout_seconds=float(config["REPORT_JOB_TIMEOUT_SECONDS"]),
    )


def claim(job_id: int, worker: str, policy: jobs.Policy) -> bool:
    """Take a queued job for this worker: running, one more attempt, leased. False when it is not queued
    (done, failed, or claimed by another worker)."""
    now = utcnow()
    claimed = db.session.execute(
        update(ReportJob)
        .where(ReportJob.id == job_id, ReportJob.status == jobs.QUEUED)
        .values(
            status=jobs.RUNNING,
            attempts=ReportJob.attempts + 1,
            worker=worker,
            lease_until=policy.lease_until(now),
            heartbeat_at=now,
            started_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def renew(job_id: int, worker: str, policy: jobs.Policy) -> bool:
    """Extend this worker's lease on a job it still holds; False when it holds it no more."""
    now = utcnow()
    with db.engine.begin() as connection:  # its own connection: the heartbeat runs beside the job's session
        renewed = connection.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id, ReportJob.status == jobs.RUNNING, ReportJob.worker == worker)
            .values(lease_until=policy.lease_until(now), heartbeat_at=now)
        ).rowcount
    return renewed == 1


class JobTimedOut(RuntimeError):
    """An attempt used up its time limit (REPORT_JOB_TIMEOUT_SECONDS)."""


def check_time(deadline: float | None) -> None:
    """Raise JobTimedOut once the attempt's `deadline` (time.monotonic()) has passed; None: no limit."""
    if deadline is not None and time.monotonic() > deadline:
        raise JobTimedOut


class LostClaim(RuntimeError):
    """The worker no longer holds the job it works on: it was given back or handed to another worker."""


def report_progress(job_id: int, worker: str, progress: int, message: str) -> None:
    """Record how far this worker got, while it holds the job (LostClaim when it does not)."""
    changed = db.session.execute(
        update(ReportJob)
        .where(ReportJob.id == job_id, ReportJob.status == jobs.RUNNING, ReportJob.worker == worker)
        .values(progress=progress, message=message)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if changed != 1:
        raise LostClaim(job_id)


@contextmanager
def heartbeat(app: Flask, job_id: int, worker: str, policy: jobs.Policy) -> Iterator[None]:
    """Renew the lease on a thread while the block runs, up to the attempt's time limit: a job that overruns
    it (or a worker that hangs) stops being renewed, and the sweep then treats it as lost."""
    stop = threading.Event()
    deadline = policy.timeout_seconds

    def beat() -> None:
        waited = 0.0
        with app.app_context():
            while not stop.wait(policy.heartbeat_seconds):
                waited += policy.heartbeat_seconds
                if waited > deadline:
                    return
                try:
                    if not renew(job_id, worker, policy):
                        return
                except Exception:  # noqa: BLE001 (a database that does not answer now may answer at the next beat)
                    app.logger.warning("Report job %s: the lease could not be renewed", job_id)

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def holds(job: ReportJob, worker: str) -> bool:
    """Whether this worker still holds the job (a sweep may have given it to another after a stall)."""
    return job.status == jobs.RUNNING and job.worker == worker


def record_failure(job_id: int, worker: str, policy: jobs.Policy, reason: str, permanent: bool) -> jobs.Outcome | None:
    """Record that this worker's attempt failed: queued again or failed for good (domain/jobs.py). None
    when the worker no longer held the job, so nothing was written."""
    job = db.session.get(ReportJob, job_id)
    if job is None or not holds(job, worker):
        return None
    outcome = jobs.after_failure(policy, job.attempts, reason, permanent)
    _settle(job, outcome, reason)
    db.session.commit()
    return outcome


def _settle(job: ReportJob, outcome: jobs.Outcome, reason: str) -> None:
    job.status, job.message, job.last_error = outcome.status, outcome.message, reason
    job.worker, job.lease_until = None, None
    if outcome.status == jobs.FAILED:
        job.finished_at = utcnow()
    else:
        job.progress = 0


def sweep(policy: jobs.Policy) -> list[tuple[int, float]]:
    """Settle every running job whose lease ran out: queued again or, after its last attempt, failed, with the
    reason. Returns the (job id, delay) of those to queue again."""
    now = utcnow()
    again: list[tuple[int, float]] = []
    candidates = db.session.scalars(
        select(ReportJob).where(ReportJob.status == jobs.RUNNING).with_for_update(skip_locked=True)
    ).all()
    for job in candidates:
        if not jobs.lease_expired(job.status, job.lease_until, now):
            continue
        outcome = jobs.after_lost_worker(policy, job.attempts)
        _settle(job, outcome, "The worker running it stopped answering.")
        if outcome.retry_in is not None:
            again.append((job.id, 0.0))  # the lease already waited longer than a retry delay
    db.session.commit()
    return again


def release(worker: str) -> list[int]:
    """A worker that is stopping gives back the jobs it holds, queued again without counting the attempt
    it could not finish; returns their ids, to queue them again."""
    held = db.session.scalars(
        select(ReportJob).where(ReportJob.status == jobs.RUNNING, ReportJob.worker == worker)
    ).all()
    for job in held:
        job.status, job.worker, job.lease_until, job.progress = jobs.QUEUED, None, None, 0
        job.attempts = max(0, job.attempts - 1)
        job.message = "The worker stopped; queued again."
    db.session.commit()
    return [job.id for job in held]


def waiting() -> list[int]:
    """The ids of every queued job, oldest first: a worker starting queues them again, so a job whose message
    was lost (a queue emptied, a web process stopped between its commit and its message) still runs."""
    return list(db.session.scalars(select(ReportJob.id).where(ReportJob.status == jobs.QUEUED).order_by(ReportJob.id)))
