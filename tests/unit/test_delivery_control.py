"""XmR control charts: Wheeler's centre line and natural process limits, points outside them and runs of 8,
on series computed by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.domain.delivery.control import RUN_LENGTH, XmRChart, outside_limits, xmr
from tests.conftest import tries


def flags(chart: XmRChart) -> list[tuple[bool, bool, bool]]:
    return [(p.above_upper, p.below_lower, p.in_run) for p in chart.points]


def test_centre_moving_range_and_limits_of_a_short_series():
    chart = xmr([10, 12, 11, 15, 12])
    # mean 60/5 = 12; moving ranges 2, 1, 4, 3: MR̄ 2.5; 2.66 x 2.5 = 6.65
    assert chart.centre == 12.0
    assert chart.average_moving_range == 2.5
    assert chart.upper_limit == 18.65
    assert chart.lower_limit == 5.35
    assert not chart.floored and chart.reason is None and chart.has_limits
    assert [p.value for p in chart.points] == [10.0, 12.0, 11.0, 15.0, 12.0]
    assert chart.outside == () and chart.in_run == () and chart.runs == ()


def test_a_gap_breaks_nothing_the_moving_range_spans_it():
    gapped = xmr([10, None, 12, 11, None, None, 15, 12])
    assert (gapped.centre, gapped.average_moving_range, gapped.upper_limit) == (12.0, 2.5, 18.65)
    assert [p.index for p in gapped.present] == [0, 2, 3, 6, 7]
    missing = gapped.points[1]
    assert missing.value is None and not (missing.above_upper or missing.below_lower or missing.in_run)


def test_points_outside_the_limits_are_flagged_on_their_side():
    high = xmr([10, 11, 10, 11, 10, 11, 10, 40])
    # mean 113/8 = 14.125; MR̄ 36/7; UCL 14.125 + 95.76/7 = 27.805
    assert high.upper_limit == pytest.approx(27.805)
    assert [p.index for p in high.outside] == [7] and high.points[7].above_upper
    low = xmr([50, 51, 50, 51, 50, 51, 50, 2])
    # mean 355/8 = 44.375; MR̄ 54/7; LCL 44.375 - 143.64/7 = 23.855
    assert low.lower_limit == pytest.approx(23.855)
    assert [(p.index, p.below_lower, p.above_upper) for p in low.outside] == [(7, True, False)]


def test_a_lower_limit_below_zero_is_floored_for_a_measure_that_cannot_be_negative():
    chart = xmr([1, 9, 1, 9])  # mean 5, MR̄ 8, 2.66 x 8 = 21.28
    assert (chart.upper_limit, chart.lower_limit, chart.floored) == (26.28, 0.0, True)
    signed = xmr([1, 9, 1, 9], non_negative=False)
    assert (signed.upper_limit, signed.lower_limit, signed.floored) == (26.28, pytest.approx(-16.28), False)
    assert xmr([-3, 2, -1], non_negative=False).centre == pytest.approx(-2 / 3)


SEVEN_AND_SEVEN = [6, 7, 6, 7, 6, 7, 6, 2, 1, 2, 1, 2, 1, 2]  # centre 4, limits 4 +- 2.66 x 16/13: all inside
EIGHT_AND_EIGHT = [6, 7, 6, 7, 6, 7, 6, 7, 2, 1, 2, 1, 2, 1, 2, 1]


def test_seven_on_one_side_is_no_run_eight_is():
    seven = xmr(SEVEN_AND_SEVEN)
    assert seven.centre == 4.0 and seven.outside == ()
    assert seven.in_run == () and seven.runs == ()
    eight = xmr(EIGHT_AND_EIGHT)
    assert eight.centre == 4.0 and eight.outside == ()
    assert eight.runs == (tuple(range(8)), tuple(range(8, 16)))
    assert all(p.in_run for p in eight.points)
    assert [len(run) for run in eight.run_points()] == [RUN_LENGTH, RUN_LENGTH]


def test_a_point_on_the_centre_breaks_a_run_and_a_gap_does_not():
    # 52 + 4 + 20 over 19 values: the mean is exactly the 4 in the middle of the nine above
    on_centre = xmr([6, 7, 6, 7, 4, 6, 7, 6, 7, 1, 3, 1, 3, 1, 3, 1, 3, 1, 3])
    assert on_centre.centre == 4.0 and on_centre.outside == ()
    assert [len(run) for run in on_centre.runs] == [10]  # the 10 below; 4 + 4 above are split by the 4
    assert not any(p.in_run for p in on_centre.points[:9])
    gapped = xmr([6, 7, 6, 7, None, None, 6, 7, 6, 7, 2, 1, 2, 1, 2, 1, 2, 1])
    assert gapped.runs == ((0, 1, 2, 3, 6, 7, 8, 9), tuple(range(10, 18)))
    assert not gapped.points[4].in_run


def test_all_values_equal_give_limits_on_the_centre_and_no_signal():
    chart = xmr([5, 5, 5])
    assert (chart.centre, chart.average_moving_range, chart.upper_limit, chart.lower_limit) == (5.0, 0.0, 5.0, 5.0)
    assert flags(chart) == [(False, False, False)] * 3


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([], "there is no value yet"),
        ([None, None], "there is no value yet"),
        ([3], "there is only one value: a moving range needs two"),
        ([None, 3.5, None], "there is only one value: a moving range needs two"),
    ],
)
def test_fewer_than_two_values_give_no_limits_and_say_why(values, reason):
    chart = xmr(values)
    assert chart.reason.startswith(reason)
    assert (chart.centre, chart.average_moving_range, chart.upper_limit, chart.lower_limit) == (None,) * 4
    assert not chart.has_limits and chart.outside == () and chart.runs == ()
    assert [p.value for p in chart.points] == [None if v is None else float(v) for v in values]
    assert outside_limits(chart, 100.0) is None


def test_outside_limits_judges_a_later_value_against_earlier_limits():
    before = xmr([10, 12, 11, 15, 12])  # limits 5.35 and 18.65
    assert outside_limits(before, 18.65) is False  # on a limit is inside
    assert outside_limits(before, 18.66) is True
    assert outside_limits(before, 5.35) is False
    assert outside_limits(before, 5.0) is True
    assert outside_limits(before, 5.0, "above") is False
    assert outside_limits(before, 5.0, "below") is True
    assert outside_limits(before, 30.0, "below") is False
    assert outside_limits(before, None) is None


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        ([1.0, math.nan], {}, "value 1 must be a finite number or None, not nan"),
        ([math.inf], {}, "value 0 must be a finite number or None"),
        (["3"], {}, "value 0 must be a finite number or None, not '3'"),
        ([True, 2], {}, "value 0 must be a finite number"),
        ([1.0, -2.0], {}, "value 1 is -2.0: this measure cannot be negative"),
    ],
)
def test_values_that_are_not_numbers_are_refused(values, kwargs, message):
    with pytest.raises(ValueError, match=message):
        xmr(values, **kwargs)


series = st.lists(st.one_of(st.none(), st.integers(-400, 400).map(lambda n: n / 4)), max_size=30)


@settings(max_examples=tries(300), deadline=None)
@given(series, st.integers(-10_000, 10_000))
def test_shifting_every_value_shifts_centre_and_limits_and_flags_the_same_points(values, shift):
    """Quarters and whole shifts are exact in binary, so centre, limits and flags must follow exactly."""
    chart = xmr(values, non_negative=False)
    moved = xmr([None if v is None else v + shift for v in values], non_negative=False)
    assert flags(moved) == flags(chart) and moved.runs == chart.runs
    if chart.has_limits:
        for name in ("centre", "upper_limit", "lower_limit"):
            assert getattr(moved, name) == pytest.approx(getattr(chart, name) + shift, abs=1e-9)
        assert moved.average_moving_range == pytest.approx(chart.average_moving_range, abs=1e-9)
    else:
        assert moved.reason == chart.reason


@settings(max_examples=tries(300), deadline=None)
@given(series)
def test_run_points_are_exactly_those_in_eight_successive_values_on_one_side(values):
    """Against a plain reading of the rule: every window of 8 successive present values on one side."""
    chart = xmr(values, non_negative=False)
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    expected = set()
    if chart.centre is not None:
        for start in range(len(present) - RUN_LENGTH + 1):
            window = present[start : start + RUN_LENGTH]
            if all(v > chart.centre for _, v in window) or all(v < chart.centre for _, v in window):
                expected.update(i for i, _ in window)
    assert {p.index for p in chart.in_run} == expected
    assert {i for run in chart.runs for i in run} == expected
    limits = (chart.lower_limit, chart.upper_limit)
    assert {p.index for p in chart.outside} == {
        i for i, v in present if chart.has_limits and not (limits[0] <= v <= limits[1])
    }
