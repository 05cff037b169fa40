"""Interest on overdue balances (D17-R33): daily compounding at the rate in force each day.

The specified rate is the prescribed rate (reference data, effective-dated) plus the
policy's markup (6 points); each day's interest joins the base of the next. The interest owed
is worked out at full precision from the day after the due date over the whole history, and
only the running total is rounded (half-even, to the cent): each collections run posts that
total less what is already charged, so how often collections runs changes nothing (decision L7).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from .policy import Policy

__all__ = ["Rate", "DayBase", "rate_on", "interest_to_date"]

#: (effective from, prescribed rate in basis points a year)
Rate = tuple[date, int]


def rate_on(rates: Sequence[Rate], day: date) -> int | None:
    """The prescribed rate in force on `day` (`rates` in date order), or None before the first."""
    current = None
    for effective, bp in rates:
        if effective <= day:
            current = bp
    return current


#: (day, overdue principal at the start of the day, interest paid or reversed before the day), in cents
DayBase = tuple[date, int, int]


def interest_to_date(days: Sequence[DayBase], rates: Sequence[Rate], policy: Policy) -> tuple[int, list[date]]:
    """The interest owed over `days` (consecutive, from the day after the due date), compounded
    daily at full precision: each day bears on the overdue principal plus the interest accrued so
    far less what of it was paid. Only the total is rounded, half-even to the cent, so the figure
    is the same whether it is asked for once at the end or every day (D17-R33, decision L7).
    Returns (cents, days with no rate)."""
    missing = []
    with localcontext(prec=34):
        accrued = Decimal(0)
        for day, principal, interest_paid in days:
            bp = rate_on(rates, day)
            if bp is None:
                missing.append(day)
                continue
            base = Decimal(principal) + accrued - Decimal(interest_paid)
            if base > 0:
                accrued += base * Decimal(bp + policy.interest_markup_bp) / Decimal(10_000) / Decimal(policy.day_count)
        return int(accrued.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), missing
