"""Money is an integer number of cents; this module is the only place text becomes money.

X12 `R` amounts (`1234.5`, `12.340`) and the amounts of the reference data and
declarations feed go through `parse_amount`; documents and acknowledgements write them
back with `format_cents`.  No float ever touches an amount.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["parse_amount", "format_cents", "is_number"]

_AMOUNT = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")


def is_number(text: str) -> bool:
    """True when `text` is written as a decimal number (whatever its precision)."""
    return _AMOUNT.match(text) is not None


def parse_amount(text: str) -> int | None:
    """Decimal text → integer cents; None when it is not a number or not whole cents.

    >>> parse_amount("1234.5"), parse_amount("12.340"), parse_amount("12.345")
    (123450, 1234, None)
    """
    if not _AMOUNT.match(text):
        return None
    try:
        cents = Decimal(text) * 100
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None
    if cents != cents.to_integral_value():
        return None
    return int(cents)


def format_cents(cents: int) -> str:
    """Integer cents → decimal text with two places (`-12.05`)."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"
