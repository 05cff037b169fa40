"""Interest on overdue balances (D17-R33): daily compounding at the rate in force each day.

The specified rate is the prescribed rate (reference data, effective-dated) plus the
policy's markup (6 points); each day's interest joins the base of the next; the result
is rounded half-even to the cent once per run (decision L7).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from .policy import Policy

__all__ = ["Rate", "rate_on", "interest_for"]

#: (effective from, prescribed rate in basis points a year)
Rate = tuple[date, int]


def rate_on(rates: Sequence[Rate], day: date) -> int | None:
    """The prescribed rate in force on `day` (`rates` in date order), or None before the first."""
    current = None
    for effective, bp in rates:
        if effective <= day:
            current = bp
    return current


def interest_for(daily_bases: Sequence[tuple[date, int]], rates: Sequence[Rate], policy: Policy) -> tuple[int, list[date]]:
    """Interest in cents over `daily_bases` [(day, unpaid overdue balance at the start of the day)],
    compounded daily: each day's interest joins the base of the next.  Returns (cents, days with no rate)."""
    missing = []
    with localcontext(prec=34):
        accrued = Decimal(0)
        for day, base in daily_bases:
            bp = rate_on(rates, day)
            if bp is None:
                missing.append(day)
                continue
            annual = Decimal(bp + policy.interest_markup_bp) / Decimal(10_000)
            accrued += (Decimal(base) + accrued) * annual / Decimal(policy.day_count) if base > 0 else 0
        return int(accrued.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), missing
