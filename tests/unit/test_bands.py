"""A numeric question's bands in words: the range each band really scores under the spec's
first-band-wins rule, its credit, and the band a value falls in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assessment.domain.bands import band_of, band_rows
from assessment.domain.framework import Band, NumericAnswer

FREQUENCY = NumericAnswer((Band(1, min=10), Band(0.75, min=1), Band(0.5, min=0.23), Band(0.25, min=0)), "per week")
LEAD_TIME = NumericAnswer((Band(1, 0, 24), Band(0.75, 0, 168), Band(0.5, 0, 720), Band(0.25, min=0)), "hours")
SPEC = NumericAnswer((Band(1, max=24), Band(0.5, max=168), Band(0)), "hours")


def texts(answer):
    return [(row.range_text, row.credit_text) for row in band_rows(answer)]


def test_lower_bounds_become_ranges_up_to_the_band_before():
    assert texts(FREQUENCY) == [
        ("10 or more", "full credit"),
        ("1 to under 10", "credit 0.75"),
        ("0.23 to under 1", "credit 0.5"),
        ("0 to under 0.23", "credit 0.25"),
    ]


def test_upper_bounds_become_ranges_over_the_band_before():
    assert texts(LEAD_TIME) == [
        ("0 to 24", "full credit"),
        ("over 24 up to 168", "credit 0.75"),
        ("over 168 up to 720", "credit 0.5"),
        ("over 720", "credit 0.25"),
    ]
    assert texts(SPEC) == [("up to 24", "full credit"), ("over 24 up to 168", "credit 0.5"), ("over 168", "no credit")]


def test_a_band_that_earlier_bands_cover_is_said_to_score_nothing():
    rows = band_rows(NumericAnswer((Band(1, min=0, max=5), Band(0, min=1, max=3))))
    assert not rows[1].reachable and rows[1].range_text.startswith("none")


def test_the_band_of_a_value():
    rows = band_rows(LEAD_TIME)
    assert [band_of(rows, n) for n in (0, 24, 24.5, 168, 720, 721)] == [0, 0, 1, 1, 2, 3]
    assert band_of(rows, -1) is None
    assert band_of(band_rows(FREQUENCY), 10) == 0 and band_of(band_rows(FREQUENCY), 9.99) == 1


bounds = st.one_of(st.none(), st.integers(-50, 50).map(float))


@given(
    st.lists(st.tuples(bounds, bounds, st.sampled_from([0.0, 0.5, 1.0])), min_size=1, max_size=5),
    st.integers(-60, 60).map(lambda n: n / 2),
)
def test_the_shown_band_is_the_one_that_gives_the_credit(raw, number):
    answer = NumericAnswer(
        tuple(Band(c, *sorted((lo, hi)) if lo is not None and hi is not None else (lo, hi)) for lo, hi, c in raw)
    )
    index = band_of(band_rows(answer), number)
    first = next((i for i, band in enumerate(answer.bands) if band.holds(number)), None)
    assert index == first
