"""Money is an integer number of cents; this module is the only place text becomes money.

X12 `R` amounts (`1234.5`, `12.340`) and the amounts of the reference data and
declarations feed go through `parse_amount`; documents and acknowledgements write them
back with `format_cents`.  No float ever touches an amount.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["parse_amount", "format_cents", "format_x12_amount", "is_number", "digit_count", "MAX_DIGITS", "TWO_PLACES"]

_AMOUNT = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
#: At most 16 digits, then at most two places: cents at once, at most 18 digits
_CENTS = re.compile(r"(-?)([0-9]{1,16})(?:\.([0-9]{1,2}))?")
#: The usual amount, `1234.56`: its digits are its cents (`int(text.replace(".", ""))`), at most
#: 18 of them — what `parse_amount` returns for it; a hot loop may match it before calling that.
TWO_PLACES = re.compile(r"-?[0-9]{1,16}\.[0-9]{2}")

#: The most digits an amount may be written with: X12's R 1/18 (the 820's BPR02 and RMR04,
#: the 824's AMT02).  Longer text is not an amount the engine reads.
MAX_DIGITS = 18


def digit_count(text: str) -> int:
    """The digits an X12 `R` value counts towards its length (sign and decimal point excluded)."""
    return sum(1 for char in text if "0" <= char <= "9")


def is_number(text: str) -> bool:
    """True when `text` is written as a decimal number in ASCII digits (whatever its precision)."""
    return _AMOUNT.fullmatch(text) is not None


def parse_amount(text: str) -> int | None:
    """Decimal text → integer cents; None when it is not a number of at most `MAX_DIGITS` ASCII
    digits, or not whole cents.

    >>> parse_amount("1234.5"), parse_amount("12.340"), parse_amount("12.345"), parse_amount("1" * 19)
    (123450, 1234, None, None)
    """
    if TWO_PLACES.fullmatch(text) is not None:  # the usual `1234.56`: its digits are its cents
        return int(text.replace(".", ""))
    plain = _CENTS.fullmatch(text)
    if plain is not None:  # `1234`, `1234.5`: no Decimal needed
        sign, whole, part = plain.groups()
        cents = int(whole) * 100 + (int(part.ljust(2, "0")) if part else 0)
        return -cents if sign else cents
    if digit_count(text) > MAX_DIGITS or not is_number(text):
        return None
    cents = Decimal(text) * 100  # at most 18 digits: exact, no overflow
    if cents != cents.to_integral_value():
        return None
    return int(cents)


def format_cents(cents: int) -> str:
    """Integer cents → decimal text with two places (`-12.05`)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def format_x12_amount(cents: int) -> str:
    """Integer cents as an X12 `R` value of at most `MAX_DIGITS` digits: two places as
    `format_cents` writes them, or — when that would be too long — without the zeros that
    add nothing (`111111111111111111` rather than `111111111111111111.00`).  Every amount
    the engine read fits (`parse_amount`)."""
    text = format_cents(cents)
    if digit_count(text) > MAX_DIGITS:
        text = text.rstrip("0").rstrip(".")
    return text
