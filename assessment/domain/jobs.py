"""The rules of a background job's life, as plain values: how long a worker's claim on a job lasts, when
a failed job is tried again and when it has failed for good, what becomes of a job whose worker stopped
answering. The queue adapter (assessment/adapters/background.py) and the job runner apply them; the
database row of the job is what every web process reads, so these rules decide what users see.

A job is `queued` until a worker claims it (`running`, with a lease it renews while it works), then
`done` or `failed`. A failure is retried while attempts remain, unless it is permanent (the input
cannot be rendered, whoever tries); a running job whose lease ran out lost its worker, and is queued
again or, after its last attempt, failed with the reason. No job stays `running` past its lease.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True)
class Policy:
    """How jobs are retried and leased (settings JOB_MAX_ATTEMPTS, JOB_RETRY_DELAY_SECONDS,
    JOB_LEASE_SECONDS, REPORT_JOB_TIMEOUT_SECONDS)."""

    max_attempts: int = 3
    retry_delay_seconds: float = 5.0  # before the second attempt; doubled for each one after
    max_retry_delay_seconds: float = 300.0
    lease_seconds: float = 60.0  # a worker renews its lease at a third of this while it works
    timeout_seconds: float = 600.0  # one attempt's time limit

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"JOB_MAX_ATTEMPTS is {self.max_attempts}: a job needs at least 1 attempt")
        if self.lease_seconds <= 0 or self.timeout_seconds <= 0:
            raise ValueError("JOB_LEASE_SECONDS and REPORT_JOB_TIMEOUT_SECONDS must be more than 0")
        if self.retry_delay_seconds < 0:
            raise ValueError("JOB_RETRY_DELAY_SECONDS must be 0 or more")

    @property
    def heartbeat_seconds(self) -> float:
        """How often a working worker renews its lease: three renewals fit in one lease."""
        return self.lease_seconds / 3

    def lease_until(self, now: dt.datetime) -> dt.datetime:
        """When a claim made (or renewed) now runs out."""
        return now + dt.timedelta(seconds=self.lease_seconds)

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait before the next attempt, after `attempts` attempts: the delay, doubled each time, capped."""
        return min(self.retry_delay_seconds * 2 ** max(0, attempts - 1), self.max_retry_delay_seconds)


@dataclass(frozen=True)
class Outcome:
    """What becomes of a job: its next status, what its page says, and how long before it is run again
    (None: it is not queued again)."""

    status: str
    message: str
    retry_in: float | None = None


def after_failure(policy: Policy, attempts: int, reason: str, permanent: bool = False) -> Outcome:
    """A job failed its `attempts`-th attempt for `reason` (words for its page): tried again while attempts
    remain and the failure is not permanent, failed for good otherwise."""
    if permanent or attempts >= policy.max_attempts:
        tries = "" if permanent or policy.max_attempts == 1 else f" (failed {attempts} times)"
        return Outcome(FAILED, f"{reason}{tries}")
    delay = policy.retry_delay(attempts)
    return Outcome(
        QUEUED,
        f"Attempt {attempts} of {policy.max_attempts} failed: {reason} Trying again in {delay:g} s.",
        retry_in=delay,
    )


def lease_expired(status: str, lease_until: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a job's worker has stopped answering: it is running and its lease ran out (a running job
    without a lease was claimed before leases existed, and has no worker either)."""
    if status != RUNNING:
        return False
    return lease_until is None or _aware(lease_until) <= _aware(now)


def after_lost_worker(policy: Policy, attempts: int) -> Outcome:
    """A running job whose lease ran out (its worker died or hung): queued again, or failed after its last attempt."""
    return after_failure(policy, attempts, "The worker running it stopped answering.")


def timed_out(started: float, now: float, policy: Policy) -> bool:
    """Whether an attempt that started at `started` (a monotonic clock) has used up its time limit."""
    return now - started > policy.timeout_seconds


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes for values stored in UTC; PostgreSQL aware ones."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
