"""How numbers are shown to people: one rule for the command line, the pages and the reports."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


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


def level_text(number: int | None, name: str | None = None, missing: str = "—", prefix: str = "") -> str:
    """A maturity level as it reads everywhere: "2 Managed" ("2" when unnamed), `missing` for no level.

    Charts, short of room, prefix the number ("L2 Managed", prefix="L"); the command line says "none"
    and the printed report "n/a" where pages show a dash.
    """
    if number is None:
        return missing
    return f"{prefix}{number} {name}" if name else f"{prefix}{number}"


def level_of(number: int | None, names: Any = None) -> str:
    """`level_text`, the name looked up in `names`: a framework or a {number: name} mapping (a template filter)."""
    if names is None or number is None:
        name = None
    elif isinstance(names, Mapping):
        name = names.get(number)
    else:
        name = names.level_name(number)
    return level_text(number, name)
