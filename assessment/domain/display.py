"""How numbers are shown to people: one rule for the command line, the pages and the reports."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def one_decimal(value: float | None, missing: str = "n/a") -> str:
    """A score to one decimal, halves rounded up (56.25 -> 56.3), or `missing` for None."""
    if value is None:
        return missing
    return str(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def signed(value: float | None, places: int = 1, missing: str = "—") -> str:
    """A change with its sign (+12.5, -3.0, 0.0; +1 with `places=0` for levels), or `missing` for None.

    A change that rounds to nothing prints without a sign, so a tiny loss never reads "-0.0".
    """
    if value is None:
        return missing
    text = one_decimal(value) if places else str(int(value))
    if text in ("0", "0.0", "-0", "-0.0"):
        return text.removeprefix("-")
    return text if text.startswith("-") else f"+{text}"


STATUS_LABELS = {
    "met": "Met",
    "partial": "Partial",
    "not_met": "Not met",
    "not_applicable": "Not applicable",
    "unanswered": "Unanswered",
}
"""How each requirement status reads on pages and in reports."""
