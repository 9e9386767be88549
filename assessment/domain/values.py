"""An answer's value as stored text and back: the one rule every writer and reader of answers follows.

The database keeps a value as text (`Answer.value`, at most STORED_MAX characters). Scale
values and `na` are stored as themselves. Numbers are stored as decimal text without an
exponent (`0.00001`, not `1e-05`), a float always with a decimal point (`2.0`), so `decode`
gives back exactly the value `encode` was given, of the same type. A float whose plain decimal
text would not fit (beyond about 1e198) keeps Python's shortest form with an exponent; `decode`
reads that too, as well as the `1e-05` and `1e+20` that older versions stored.
"""

from __future__ import annotations

import re
from decimal import Decimal

from .answers import NA, AnswerValue
from .framework import Requirement

STORED_MAX = 200
_INT = re.compile(r"[-+]?\d+\Z")
_DECIMAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z")


def encode(value: AnswerValue | None) -> str | None:
    """The stored text of an answer's value (None for no value); ValueError when it cannot fit."""
    if value is None or isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        raise ValueError(f"{value!r} is not an answer value (a scale value, a number or {NA})")
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = _float_text(value)
    else:
        raise ValueError(f"{value!r} is not an answer value (a scale value, a number or {NA})")
    if text is not None and len(text) > STORED_MAX:
        raise ValueError(f"{text[:20]}… is too long to store: an answer holds at most {STORED_MAX} characters")
    return text


def decode(text: str | None, requirement: Requirement) -> AnswerValue | None:
    """The value that `text` (stored, or typed into a number field) stands for; ValueError if not a number.

    Scale values and `na` come back as they are; a number as int when it has no decimal point or
    exponent, else as float.
    """
    if text is None or text == NA or not requirement.is_numeric:
        return text
    if _INT.match(text):
        return int(text)
    if _DECIMAL.match(text):
        return float(text)
    raise ValueError(f"{text!r} is not a number")


def number_text(value: int | float) -> str:
    """A number as people read it: decimal text without exponent, an integral float without `.0`."""
    text = str(value) if isinstance(value, int) else _float_text(value)
    return text.removesuffix(".0")


def _float_text(value: float) -> str:
    shortest = repr(value)
    if "e" not in shortest and "E" not in shortest:
        return shortest  # 2.5, -0.0, nan, inf: already plain (non-finite values are refused before)
    plain = format(Decimal(shortest), "f")
    if "." not in plain:
        plain += ".0"
    return plain if len(plain) <= STORED_MAX else shortest
