"""A numeric question's bands as a person reads them: the range each band really covers, its
credit, and which band a value falls in.

The spec (framework-format.md, section 2) gives bands no names and lets the first band that holds
a value give its credit, so a band's stated range can be wider than what it really scores: after
`{min: 10}`, the band `{min: 1}` covers 1 to under 10. Each row here is the range a value must lie
in to be scored by that band.
"""

from __future__ import annotations

from dataclasses import dataclass

from .framework import Band, NumericAnswer


@dataclass(frozen=True, slots=True)
class BandRow:
    """One band as shown beside the field: the values it scores, in words, and its credit."""

    low: float | None  # None: no lower bound
    low_open: bool  # True: the bound itself belongs to an earlier band
    high: float | None
    high_open: bool
    credit: float
    reachable: bool  # False: earlier bands take every value this one states

    @property
    def range_text(self) -> str:
        """The values the band scores, e.g. '1 to under 10', 'over 24 up to 168', '10 or more'."""
        if not self.reachable:
            return "none (earlier bands take these values)"
        low = None if self.low is None else f"{'over ' if self.low_open else ''}{self.low:g}"
        if self.high is None:
            return "any value" if low is None else (low if self.low_open else f"{low} or more")
        if low is None:
            return f"{'under' if self.high_open else 'up to'} {self.high:g}"
        if self.low_open:
            return f"{low} {'under' if self.high_open else 'up to'} {self.high:g}"
        return f"{low} to {'under ' if self.high_open else ''}{self.high:g}"

    @property
    def credit_text(self) -> str:
        """The credit in words: 'full credit', 'no credit' or 'credit 0.75'."""
        if self.credit == 1:
            return "full credit"
        return "no credit" if self.credit == 0 else f"credit {self.credit:g}"

    def holds(self, number: float) -> bool:
        """Whether `number` lies in the range the band really scores."""
        if not self.reachable:
            return False
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            return False
        return not (self.high is not None and (number > self.high or (self.high_open and number == self.high)))


def _row(band: Band, earlier: tuple[Band, ...]) -> BandRow:
    """The band's range less what the earlier bands take from either end of it."""
    low, low_open, high, high_open = band.min, False, band.max, False
    for before in earlier:
        from_below = before.min is None or (low is not None and before.min <= low)
        from_above = before.max is None or (high is not None and before.max >= high)
        if from_below and from_above:
            return BandRow(low, low_open, high, high_open, band.credit, reachable=False)
        if from_below and before.max is not None and (low is None or before.max >= low):
            low, low_open = before.max, True
        elif from_above and before.min is not None and (high is None or before.min <= high):
            high, high_open = before.min, True
    empty = low is not None and high is not None and (low > high or (low == high and (low_open or high_open)))
    return BandRow(low, low_open, high, high_open, band.credit, reachable=not empty)


def band_rows(answer: NumericAnswer) -> tuple[BandRow, ...]:
    """Every band of a numeric question, in the framework's order, with the range it really scores."""
    return tuple(_row(band, answer.bands[:index]) for index, band in enumerate(answer.bands))


def band_of(rows: tuple[BandRow, ...], number: float) -> int | None:
    """The index of the band that scores `number`, or None when no band holds it."""
    return next((index for index, row in enumerate(rows) if row.holds(number)), None)
