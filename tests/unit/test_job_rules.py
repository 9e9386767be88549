"""The rules of a background job's life (domain/jobs.py): retries with a limit and a growing delay, permanent
failures, leases that run out, and the time limit of an attempt."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessment.domain import jobs

NOW = dt.datetime(2026, 12, 2, 18, 0, tzinfo=dt.UTC)
POLICY = jobs.Policy(max_attempts=3, retry_delay_seconds=5, max_retry_delay_seconds=60, lease_seconds=30)


def test_a_failure_with_attempts_left_is_queued_again_after_a_delay():
    outcome = jobs.after_failure(POLICY, 1, "The disk is full.")
    assert outcome == jobs.Outcome(
        "queued", "Attempt 1 of 3 failed: The disk is full. Trying again in 5 s.", retry_in=5
    )
    assert jobs.after_failure(POLICY, 2, "x").retry_in == 10


def test_the_last_attempts_failure_fails_the_job_with_the_reason():
    outcome = jobs.after_failure(POLICY, 3, "The disk is full.")
    assert outcome == jobs.Outcome("failed", "The disk is full. (failed 3 times)")


def test_a_permanent_failure_is_not_retried():
    outcome = jobs.after_failure(POLICY, 1, "The report could not be rendered: bad input.", permanent=True)
    assert outcome == jobs.Outcome("failed", "The report could not be rendered: bad input.")


def test_with_one_attempt_the_reason_is_the_message():
    assert jobs.after_failure(jobs.Policy(max_attempts=1), 1, "Broken.") == jobs.Outcome("failed", "Broken.")


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=60))
def test_retry_delays_grow_and_stay_under_the_cap(attempts, max_attempts):
    policy = jobs.Policy(max_attempts=max_attempts, retry_delay_seconds=5, max_retry_delay_seconds=60)
    assert 0 < policy.retry_delay(attempts) <= 60
    assert policy.retry_delay(attempts + 1) >= policy.retry_delay(attempts)
    outcome = jobs.after_failure(policy, attempts, "x")
    assert (outcome.status == "failed") == (attempts >= max_attempts)
    assert (outcome.retry_in is None) == (outcome.status == "failed")


def test_a_lease_runs_out_only_for_a_running_job_past_its_time():
    until = POLICY.lease_until(NOW)
    assert until == NOW + dt.timedelta(seconds=30)
    assert not jobs.lease_expired("running", until, NOW + dt.timedelta(seconds=29))
    assert jobs.lease_expired("running", until, NOW + dt.timedelta(seconds=30))
    assert jobs.lease_expired("running", None, NOW)  # claimed before leases existed: nobody holds it
    for status in ("queued", "done", "failed"):
        assert not jobs.lease_expired(status, until, NOW + dt.timedelta(days=1))


def test_a_naive_lease_from_sqlite_is_read_as_utc():
    naive = (NOW + dt.timedelta(seconds=10)).replace(tzinfo=None)
    assert not jobs.lease_expired("running", naive, NOW)
    assert jobs.lease_expired("running", naive, NOW + dt.timedelta(seconds=11))


def test_a_lost_worker_counts_as_a_failed_attempt():
    assert jobs.after_lost_worker(POLICY, 1).status == "queued"
    lost = jobs.after_lost_worker(POLICY, 3)
    assert lost.status == "failed" and lost.message.startswith("The worker running it stopped answering.")


def test_the_heartbeat_fits_three_times_in_a_lease_and_the_time_limit_is_kept():
    assert POLICY.heartbeat_seconds == 10
    assert not jobs.timed_out(100.0, 100.0 + POLICY.timeout_seconds, POLICY)
    assert jobs.timed_out(100.0, 100.1 + POLICY.timeout_seconds, POLICY)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"max_attempts": 0}, "JOB_MAX_ATTEMPTS"),
        ({"lease_seconds": 0}, "JOB_LEASE_SECONDS"),
        ({"retry_delay_seconds": -1}, "JOB_RETRY_DELAY_SECONDS"),
    ],
)
def test_a_policy_that_cannot_work_is_refused_naming_the_setting(settings, named):
    with pytest.raises(ValueError, match=named):
        jobs.Policy(**settings)
