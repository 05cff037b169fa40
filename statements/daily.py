"""Daily notices (DN, avis quotidien) — D17-R14, R16, R35.

A Daily Notice issued on day D reports what was recorded on an account on the
business day before it: D − 1 must be a business day, so notices go out
Tuesday to Saturday for Monday-to-Friday activity and none after a weekend
day or a federal holiday.  It includes every AR posting with an entry date
after the previous business day up to D − 1 — postings the ledger dates on a
weekend or holiday (interest from a Sunday collections run, an offset at a
period end falling on a Saturday) appear on the next notice instead of none
(decision S2 in docs/statements.md).

Business days are the account's province's: none is issued the day after
« un jour férié provincial ou jour férié » (D17-R14) of the province the account
is in (the policy's default province when its reference data names none), and
its next notice reports the holiday's postings too (decision L16).  So on one
day the accounts of different provinces may have different windows, or none.

Sections: *Transactions* (declarations and B2 reassessments), *Other
transactions* (payments, credits, offsets, interest, penalties, fees,
disbursements, corrections — D17-R35), *Under review* (declarations and
reassessments under review).

Who receives what (D17-R16, D17-R3, R4): one notice per program account with
activity, keyed by RM15, to the holder or its one designated agent; one notice
per broker security account, keyed by BN9 + ASEC, showing only the items
tagged with that ASEC on the accounts its relationships cover that day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta

from sqlalchemy import Connection

from ledger.calendar import PROVINCES, is_business_day, previous_business_day
from ledger.policy import Policy

from .model import DailyAccount, DailyNotice, DocumentLine, Holder
from .query import Coverage, Directory, balances_before, lines_between, provinces

__all__ = ["activity_window", "iter_daily_notices"]

TRANSACTION_TYPES = ("DECLARATION", "REASSESSMENT")


def activity_window(issue_date: date, policy: Policy, province: str | None = None) -> tuple[date, date] | None:
    """(first, last) entry dates a notice issued on `issue_date` reports, or None when no
    notice is issued that day (D17-R14: the day before was not a business day — federal,
    or given a province, of that province)."""
    activity = issue_date - timedelta(days=1)
    if not is_business_day(activity, policy, province):
        return None
    return previous_business_day(activity, policy, province) + timedelta(days=1), activity


def _windows(issue_date: date, policy: Policy) -> dict[tuple[date, date], set[str]]:
    """The provinces whose accounts get a notice on `issue_date`, by the window it reports."""
    out: dict[tuple[date, date], set[str]] = defaultdict(set)
    for province in PROVINCES:
        window = activity_window(issue_date, policy, province)
        if window is not None:
            out[window].add(province)
    return out


def _moved(conn: Connection, issue_date: date, policy: Policy) -> dict[str, tuple[date, list[DocumentLine]]]:
    """Per account with activity to report on `issue_date`: the first day of its window, and its lines."""
    # a day's postings are few next to the journal: read them all by date (ix_journal_entry_date),
    # once per distinct window (one, but on the day after a provincial holiday), then keep each
    # account's from the window of its province
    moved: dict[str, tuple[date, list[DocumentLine]]] = {}
    for (first, last), included in sorted(_windows(issue_date, policy).items()):
        read = {rm15: lines for rm15, lines in lines_between(conn, None, None, first, last).items() if lines}
        where = provinces(conn, sorted(read), policy.default_province)
        for rm15, lines in read.items():
            if where.get(rm15, policy.default_province) in included:
                moved[rm15] = (first, lines)
    return moved


def _section(rm15: str, name: str, lines: list[DocumentLine], closing: int) -> DailyAccount:
    return DailyAccount(
        rm15=rm15,
        name=name,
        transactions=tuple(l for l in lines if l.type in TRANSACTION_TYPES and not l.under_review),
        other=tuple(l for l in lines if l.type not in TRANSACTION_TYPES),
        under_review=tuple(l for l in lines if l.type in TRANSACTION_TYPES and l.under_review),
        closing_balance_cents=closing,
    )


def iter_daily_notices(conn: Connection, issue_date: date, *, policy: Policy, chunk_size: int = 500) -> Iterator[DailyNotice]:
    """Every Daily Notice issued on `issue_date`: importers' in RM15 order, then brokers' by BN9 and ASEC."""
    if activity_window(issue_date, policy) is None:
        return
    last = issue_date - timedelta(days=1)
    directory = Directory(conn, last)
    coverage = Coverage(conn, last)
    per_broker: dict[tuple[str, str], list[tuple[date, DailyAccount]]] = defaultdict(list)
    moved = _moved(conn, issue_date, policy)
    active = sorted(moved)
    for start in range(0, len(active), chunk_size):
        chunk = active[start:start + chunk_size]
        before: dict[str, dict[str | None, int]] = {}
        for first in sorted({moved[rm15][0] for rm15 in chunk}):
            before.update(balances_before(conn, [rm15 for rm15 in chunk if moved[rm15][0] == first], None, first))
        for rm15 in chunk:
            first, lines = moved[rm15]
            name = directory.name(rm15[:9])
            opening = before.get(rm15, {})
            yield DailyNotice(
                issue_date=issue_date, activity_date=last, activity_from=first,
                recipient=directory.recipient_for(rm15),
                holder=Holder("importer", rm15[:9], name, rm15=rm15),
                accounts=(_section(rm15, name, lines, sum(opening.values()) + sum(l.amount_cents for l in lines)),),
            )
            by_asec: dict[str, list[DocumentLine]] = defaultdict(list)
            for line in lines:
                if line.asec in directory.broker_asecs:
                    by_asec[line.asec].append(line)
            for asec, tagged in sorted(by_asec.items()):
                broker = directory.broker_asecs[asec]
                if coverage.covers(broker, rm15):  # D17-R3: only accounts the relationship covers
                    closing = opening.get(asec, 0) + sum(l.amount_cents for l in tagged)
                    per_broker[(broker, asec)].append((first, _section(rm15, name, tagged, closing)))
    for (broker, asec), sections in sorted(per_broker.items()):
        yield DailyNotice(  # its clients' accounts may be in provinces with different windows: from the earliest
            issue_date=issue_date, activity_date=last, activity_from=min(first for first, _ in sections),
            recipient=directory.party(broker),
            holder=Holder("broker", broker, directory.name(broker), asec=asec),
            accounts=tuple(section for _, section in sections),
        )
