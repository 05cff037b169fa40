"""The billing calendar: periods, statement and due dates, business days, cut-offs.

* D17-R15: billing period 18th → 17th (or the calendar month for some accounts);
  the statement is issued on the 25th.  A period is named by the month it ends in:
  `2026-11` runs 2026-10-18 → 2026-11-17.
* D17-R31: the due date is the 10th weekday after the period end, holidays
  counted as weekdays; when that day is a federal holiday the payment is due the
  next business day (decision L5).
* D17-R32: a payment counts for the day it is received when it arrives by the
  method's cut-off (Eastern), else for the next business day.
* Business days are weekdays that are not Canadian federal holidays (`holidays`).
  Given a province (one of `PROVINCES`), its provincial holidays are not business days
  either: the Daily Notice of an account waits out « un jour férié provincial ou jour
  férié » of its province (D17-R14, decision L16); due dates and payment days stay federal.
* Accounts billed by calendar month (`billed_by_calendar_month`) have periods that are
  the calendar months, closed on the 1st and stated 8 days after the month's end
  (decision L17).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from core.clock import EASTERN

from .policy import PROVINCES, Policy

__all__ = [
    "Period", "period_of", "period_named", "year_calendar", "is_business_day", "next_business_day", "previous_business_day",
    "payment_day", "billed_by_calendar_month", "PROVINCES",
]


@lru_cache(maxsize=256)
def _holidays(year: int, categories: tuple[str, ...], province: str | None) -> frozenset[date]:
    # a province's `holidays` calendar holds the federal holidays of the categories as well as
    # its own: the union the memo names, « jour férié provincial ou jour férié »
    return frozenset(holidays.Canada(years=year, categories=categories, subdiv=province))


def is_business_day(day: date, policy: Policy, province: str | None = None) -> bool:
    """A weekday that is no federal holiday (nor, given a province, one of its holidays)."""
    return day.weekday() < 5 and day not in _holidays(day.year, policy.holiday_categories, province)


def next_business_day(day: date, policy: Policy, province: str | None = None) -> date:
    day += timedelta(days=1)
    while not is_business_day(day, policy, province):
        day += timedelta(days=1)
    return day


def previous_business_day(day: date, policy: Policy, province: str | None = None) -> date:
    day -= timedelta(days=1)
    while not is_business_day(day, policy, province):
        day -= timedelta(days=1)
    return day


def billed_by_calendar_month(rm15: str, calendar_month: bool, policy: Policy) -> bool:
    """Whether an account is billed by calendar month: its reference data says so
    (`calendar_month`), or the policy lists it (`calendar_month_accounts`)."""
    return calendar_month or rm15 in policy.calendar_month_accounts


def _add_weekdays(day: date, count: int) -> date:
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


@dataclass(frozen=True, slots=True)
class Period:
    """One billing period.

    Attributes:
        name: `YYYY-MM`, the month the period ends in.
        start / end: first and last day, inclusive.
        statement_date: the day its statement of account is issued.
        due_date: the day its statement balance is due.
    """

    name: str
    start: date
    end: date
    statement_date: date
    due_date: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def close_date(self) -> date:
        """The day the period is closed (offsetting, closing balances): the day after its end."""
        return self.end + timedelta(days=1)


def period_named(name: str, policy: Policy, calendar_month: bool = False) -> Period:
    """The period `YYYY-MM` (ValueError when the name is not a month)."""
    year, month = (int(part) for part in name.split("-"))
    if not 1 <= month <= 12:
        raise ValueError(f"{name!r} is not a YYYY-MM period")
    if calendar_month:
        start = date(year, month, 1)
        end = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
    else:
        end = date(year, month, policy.billing_day)
        prev_year, prev_month = (year, month - 1) if month > 1 else (year - 1, 12)
        start = date(prev_year, prev_month, policy.billing_day) + timedelta(days=1)
    if calendar_month:
        statement = end + timedelta(days=policy.statement_day - policy.billing_day)
    else:
        statement = date(end.year, end.month, policy.statement_day)
    due = _add_weekdays(end, policy.due_weekdays_after_period_end)
    if not is_business_day(due, policy):
        due = next_business_day(due, policy)
    return Period(f"{year:04d}-{month:02d}", start, end, statement, due)


def year_calendar(year: int, policy: Policy, calendar_month: bool = False) -> list[Period]:
    """The twelve billing periods ending in `year`, with their close, statement and due dates: the
    calendar published at the start of each year (D17-R31)."""
    return [period_named(f"{year:04d}-{month:02d}", policy, calendar_month) for month in range(1, 13)]


def period_of(day: date, policy: Policy, calendar_month: bool = False) -> Period:
    """The billing period a day belongs to."""
    if calendar_month or day.day <= policy.billing_day:
        return period_named(f"{day.year:04d}-{day.month:02d}", policy, calendar_month)
    year, month = (day.year, day.month + 1) if day.month < 12 else (day.year + 1, 1)
    return period_named(f"{year:04d}-{month:02d}", policy)


def payment_day(received_at: datetime, method: str, policy: Policy) -> date:
    """The business day a payment counts for (D17-R32): its receipt day in Eastern time
    if it is a business day and the payment arrived by the method's cut-off, else the next business day."""
    local = received_at.astimezone(EASTERN)
    day = local.date()
    if is_business_day(day, policy) and local.time() <= policy.cutoff_for(method):
        return day
    return next_business_day(day, policy)
