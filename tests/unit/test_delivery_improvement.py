"""An improvement checked by the numbers: hypotheses read from a short phrase, and what Check records."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.domain.delivery.improvement import (
    METRICS,
    Hypothesis,
    InvalidHypothesis,
    check,
    parse_hypothesis,
)
from tests.conftest import tries

LEAD_DOWN_40 = Hypothesis("lead_time", "down", 40.0)
STEADY_30 = [30, 28, 35, 31, 27, 33, 29, 30]  # centre 243/8 = 30.375, MR̄ 28/7 = 4: limits 19.735, 41.015


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lead time down 40 %", LEAD_DOWN_40),
        ("lead_time down 40%", LEAD_DOWN_40),
        ("  Lead Time DOWN by 40 %  ", LEAD_DOWN_40),
        ("lead-time down 40\u00a0%", LEAD_DOWN_40),
        ("lead time for changes down 40 %", LEAD_DOWN_40),
        ("deployment frequency up 100 %", Hypothesis("deployment_frequency", "up", 100.0)),
        ("change_failure_rate down 12.5 %", Hypothesis("change_failure_rate", "down", 12.5)),
        ("time to restore down 50%", Hypothesis("time_to_restore", "down", 50.0)),
        ("deployment_frequency up 250 %", Hypothesis("deployment_frequency", "up", 250.0)),
    ],
)
def test_a_hypothesis_is_read_from_its_id_or_its_words(text, expected):
    assert parse_hypothesis(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lead time down 2x", r"is not a hypothesis \(a multiple is written as a percentage: up 2x is up 100 %\)"),
        ("lead time sideways 40 %", "'lead time sideways 40 %' is not a hypothesis; write METRIC up|down SIZE %"),
        ("lead time down 40", "is not a hypothesis"),
        ("lead time down -40 %", "is not a hypothesis"),
        ("down 40 %", "is not a hypothesis"),
        ("", "'' is not a hypothesis"),
        ("velocity up 10 %", "'velocity' is not a metric; valid metrics: deployment_frequency"),
        ("lead time down 140 %", r"at most 100 % down \(a metric cannot fall by more than all of it\), not 140 %"),
        ("lead time up 0 %", "the size must be above 0 and at most 10000 % up, not 0 %"),
        ("lead time up 20000 %", "at most 10000 % up, not 20000 %"),
        ("lead time down 40 %" + " " * 200, "at most 200 characters"),
    ],
)
def test_anything_else_is_refused_with_what_would_be_valid(text, message):
    with pytest.raises(InvalidHypothesis, match=message) as refused:
        parse_hypothesis(text)
    if "not a hypothesis" in message or "not a metric" in message:
        for metric in METRICS:
            assert metric in str(refused.value)


def test_a_hypothesis_built_directly_is_checked_the_same_way():
    with pytest.raises(InvalidHypothesis, match="unknown metric 'mttr'; valid metrics"):
        Hypothesis("mttr", "down", 10.0)
    with pytest.raises(InvalidHypothesis, match="the direction must be 'down' or 'up', not 'flat'"):
        Hypothesis("lead_time", "flat", 10.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidHypothesis, match="a number of percent, not nan"):
        Hypothesis("lead_time", "up", math.nan)
    assert isinstance(InvalidHypothesis("x"), ValueError)


@settings(max_examples=tries(200), deadline=None)
@given(
    st.sampled_from(sorted(METRICS)),
    st.sampled_from(["down", "up"]),
    st.integers(1, 1000).map(lambda n: n / 10),
)
def test_the_text_of_a_hypothesis_reads_back_as_the_same_hypothesis(metric, direction, size):
    if direction == "down" and size > 100:
        size = size / 10
    hypothesis = Hypothesis(metric, direction, size)
    assert parse_hypothesis(hypothesis.text) == hypothesis


def test_the_brief_example_reads_as_one_plain_sentence():
    outcome = check(LEAD_DOWN_40, 30.0, 12.0, STEADY_30, [12, 13, 11, 12, 14, 12, 11, 12, 13])
    assert (outcome.before, outcome.after, outcome.change, outcome.change_percent) == (30.0, 12.0, -18.0, -60.0)
    assert outcome.held is True and outcome.outside_limits is True and outcome.sustained_shift is True
    assert outcome.limits.lower_limit == pytest.approx(19.735)
    assert outcome.summary == (
        "Lead time went from 30.0 h to 12.0 h (-60 %): the hypothesis (down 40 %) held; "
        "the after-window is below the before-window's lower limit."
    )


def test_exactly_the_size_holds_and_just_short_of_it_does_not():
    assert check(LEAD_DOWN_40, 30.0, 18.0, STEADY_30, []).held is True  # -40 % exactly, not -39.999...
    assert check(LEAD_DOWN_40, 30.0, 18.1, STEADY_30, []).held is False
    up = Hypothesis("deployment_frequency", "up", 10.0)
    assert check(up, 0.3, 0.33, [], []).held is True  # +10 % of the decimals as printed
    assert check(up, 0.3, 0.3, [], []).held is False
    assert check(LEAD_DOWN_40, 30.0, 40.0, STEADY_30, []).held is False  # the wrong way


def test_from_zero_any_rise_holds_an_up_hypothesis_and_nothing_can_fall():
    up = check(Hypothesis("deployment_frequency", "up", 50.0), 0.0, 2.0, [0, 0, 1, 0], [2, 2, 3])
    assert (up.change, up.change_percent, up.held) == (2.0, None, True)
    assert up.summary.startswith(
        "Deployment frequency went from 0.0 per week to 2.0 per week: the hypothesis (up 50 %) held;"
    )
    assert check(Hypothesis("deployment_frequency", "up", 50.0), 0.0, 0.0, [], []).held is False
    assert check(Hypothesis("change_failure_rate", "down", 50.0), 0.0, 0.0, [], []).held is False


@pytest.mark.parametrize(
    ("before", "after", "summary"),
    [
        (None, 12.0, "Lead time has no value before the change, so the hypothesis (down 40 %) cannot be checked."),
        (
            30.0,
            None,
            "Lead time was 30.0 h before the change and has no value after it yet, "
            "so the hypothesis (down 40 %) cannot be checked.",
        ),
        (None, None, "Lead time has no value before or after the change, so the hypothesis (down 40 %) cannot be"),
    ],
)
def test_a_missing_value_leaves_the_outcome_open(before, after, summary):
    outcome = check(LEAD_DOWN_40, before, after, STEADY_30, [12, 13])
    assert outcome.held is None and outcome.change is None and outcome.change_percent is None
    assert outcome.summary.startswith(summary)


@pytest.mark.parametrize(
    ("after_weekly", "outside"),
    [
        ([10, 10, 25, 25, 25], False),  # two of five below the lower limit
        ([10, 10, 10, 25, 25], True),  # three of five
        ([10, 10, 25, 25], False),  # half is not a majority
        ([10, None, 10, None, 25], True),  # two of the three present weeks
        ([10], True),
    ],
)
def test_outside_limits_takes_a_majority_of_the_after_weeks_beyond_the_limit(after_weekly, outside):
    outcome = check(LEAD_DOWN_40, 30.0, 15.0, STEADY_30, after_weekly)
    assert outcome.outside_limits is outside
    clause = "below the before-window's lower limit" if outside else "within the before-window's limits"
    assert outcome.summary.endswith(f"the after-window is {clause}.")


def test_beyond_the_other_limit_is_not_outside_in_the_stated_direction():
    outcome = check(Hypothesis("change_failure_rate", "down", 50.0), 20.0, 30.0, [20, 21, 19, 20], [30, 31, 29])
    assert (outcome.held, outcome.outside_limits, outcome.sustained_shift) == (False, False, False)
    assert outcome.summary == (
        "Change failure rate went from 20.0 % to 30.0 % (+50 %): the hypothesis (down 50 %) did not hold; "
        "the after-window is above the before-window's upper limit, the opposite way."
    )


def test_a_run_below_the_centre_speaks_when_the_lower_limit_is_floored():
    noisy = [30, 5, 55, 10, 50, 20, 40, 30]  # centre 30, MR̄ 220/7: the lower limit is floored at 0
    after = [20, 22, 18, 25, 21, 19, 24, 23]
    outcome = check(LEAD_DOWN_40, 30.0, 21.5, noisy, after)
    assert outcome.limits.floored and outcome.outside_limits is False and outcome.sustained_shift is True
    assert outcome.held is False  # -28.3 %
    assert outcome.summary == (
        "Lead time went from 30.0 h to 21.5 h (-28.3 %): the hypothesis (down 40 %) did not hold; the after-window "
        "is within the before-window's limits, but 8 or more weeks in a row sit below its centre line."
    )
    assert check(LEAD_DOWN_40, 30.0, 21.5, noisy, after[:7]).sustained_shift is False


def test_without_limits_or_after_weeks_the_limits_are_not_judged():
    few = check(LEAD_DOWN_40, 30.0, 12.0, [30], [12, 12])
    assert few.outside_limits is None and few.sustained_shift is None and not few.limits.has_limits
    assert few.summary.endswith("held; the before-window has too few weekly values for control limits.")
    none_after = check(LEAD_DOWN_40, 30.0, 12.0, STEADY_30, [None, None])
    assert none_after.outside_limits is None and none_after.sustained_shift is None
    assert none_after.summary.endswith(
        "the after-window has no weekly value to set against the before-window's limits."
    )


def test_change_percent_is_relative_to_the_value_before():
    outcome = check(Hypothesis("change_failure_rate", "down", 50.0), 20.0, 10.0, [], [])
    assert (outcome.change, outcome.change_percent, outcome.held) == (-10.0, -50.0, True)
    assert "(-50 %)" in outcome.summary
    assert "(+12.5 %)" in check(Hypothesis("lead_time", "up", 10.0), 8.0, 9.0, [], []).summary
    assert "(0 %)" in check(LEAD_DOWN_40, 8.0, 8.0, [], []).summary


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, "3"])
def test_values_that_are_not_numbers_are_refused(bad):
    with pytest.raises(ValueError, match="before must be a finite number, not below 0, or None"):
        check(LEAD_DOWN_40, bad, 1.0, [], [])
    with pytest.raises(ValueError, match="value 1 must be a finite number or None|cannot be negative"):
        check(LEAD_DOWN_40, 1.0, 1.0, [1.0, bad], [])
