"""Statements of account (SOA, relevé de compte) — D17-R15, R16, R35.

One statement per billing period (`ledger.calendar.period_named`), dated the
statement day and stating the payment due date.  The two billing cycles are
issued apart, each on its own statement date (decision L17): the 18th → 17th
period on the 25th, and the calendar month — for accounts billed that way —
8 days after the month's end, when every posting of the month is in.  For each
program account:

* **Opening balance** (box D): the balance at the end of the previous period;
* **Daily summary** of the period's declarations due on the statement's due
  date, one line per accounting day, each declaration with its total;
* **Other items** with their own due dates: declarations due at release, B2
  reassessments, corrections;
* **Under review**: declarations and reassessments under review, with due dates;
* **Payments, credits and offsets** (offsets with status `O`), disbursements;
* **Interest**, **penalties**, **fees** (D17-R35);
* **Total payable** (box I) = D + every section; negative is a credit;
* on an importer's statement, the **broker totals** (the part secured by each
  broker's security account, D17-R4) and the **importer total** (the rest);
* when the account is under the measures of D17-R38 at the period end: since when,
  the release hold, payment at release, and the claims against security accounts.

Importer statements are keyed by RM15 and go to the holder or its one
designated agent; CADP accounts get none (D17-R15).  Broker statements are
keyed by BN9 + ASEC: per client account covered by a relationship on the
period's last day (D17-R3), only the items tagged with that ASEC, then the
**grand total**; a broker securing accounts of both cycles gets one statement of
each.  An account gets a statement when it has an opening balance or any posting
in the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, select

from core.problems import Problem
from ledger.calendar import Period, billed_by_calendar_month, period_named
from ledger.policy import Policy
from ledger.standing import Standing, in_force
from store.schema import period_close
from store.standing import standings

from .model import BrokerTotal, DaySummary, DocumentLine, Holder, Statement, StatementAccount
from .query import NO_ACCOUNTS, AccountRow, Coverage, Directory, Span, accounts, balances_before, chunks, lines_between

__all__ = [
    "iter_statements", "statement_problems", "run_context", "run_accounts", "importer_statements", "broker_statements",
    "RunContext", "BrokerParts",
]

PAYMENT_TYPES = ("PAYMENT", "CREDIT", "OFFSET", "DISBURSEMENT")


def _daily(lines: list[DocumentLine]) -> tuple[DaySummary, ...]:
    """One row per declaration and security account: a declaration whose GST the importer owes
    directly (D17-R5) shows the broker-secured part and the importer's own part apart."""
    per_day: dict[date, dict[tuple[str, str | None], int]] = {}
    for line in lines:
        txns = per_day.setdefault(line.date, {})
        key = (line.transaction_number or "", line.asec)
        txns[key] = txns.get(key, 0) + line.amount_cents
    return tuple(
        DaySummary(day, tuple([(number, asec, cents) for (number, asec), cents in sorted(txns.items(), key=_by_number_and_asec)]))
        for day, txns in sorted(per_day.items())
    )


def _by_number_and_asec(txn: tuple[tuple[str, str | None], int]) -> tuple[str, str]:
    (number, asec), _ = txn
    return number, asec or ""


def account_part(
    rm15: str, name: str, lines: list[DocumentLine], opening: int, due_date: date, broker_totals: tuple[BrokerTotal, ...] = (),
    measures: Standing | None = None,
) -> StatementAccount:
    """Sort an account's period lines into the statement's sections (see the module docstring)."""
    daily, other, review, pay, interest, penalties, fees = [], [], [], [], [], [], []
    for line in lines:
        if line.type in ("DECLARATION", "REASSESSMENT") and line.under_review:
            review.append(line)
        elif line.type == "DECLARATION" and line.due_date == due_date:
            daily.append(line)
        elif line.type in PAYMENT_TYPES:
            pay.append(line)
        elif line.type == "INTEREST":
            interest.append(line)
        elif line.type == "PENALTY":
            penalties.append(line)
        elif line.type == "FEE":
            fees.append(line)
        else:  # declarations due on their own dates, reassessments, corrections
            other.append(line)
    return StatementAccount(
        rm15=rm15, name=name, opening_cents=opening, daily=_daily(daily), other=tuple(other), under_review=tuple(review),
        payments=tuple(pay), interest=tuple(interest), penalties=tuple(penalties), fees=tuple(fees),
        broker_totals=broker_totals, measures=measures,
    )


def _broker_totals(opening: dict[str | None, int], lines: list[DocumentLine], directory: Directory) -> tuple[BrokerTotal, ...]:
    closing: dict[str, int] = defaultdict(int)
    seen: set[str] = set()
    for asec, cents in opening.items():
        if asec in directory.broker_asecs:
            closing[asec] += cents
            seen.add(asec)
    for line in lines:
        if line.asec in directory.broker_asecs:
            closing[line.asec] += line.amount_cents
            seen.add(line.asec)
    ordered = sorted(seen, key=lambda a: (directory.broker_asecs[a], a))
    return tuple(BrokerTotal(directory.broker_asecs[a], directory.name(directory.broker_asecs[a]), a, closing[a]) for a in ordered)


def statement_problems(conn: Connection, name: str, calendar_month: bool = False) -> list[Problem]:
    """What a person should know before statements of period `name` (of the calendar-month cycle
    with `calendar_month`) leave."""
    closed = conn.execute(
        select(period_close.c.period).where(period_close.c.period == name, period_close.c.calendar_month == calendar_month)
    ).first()
    if closed is None:
        cycle = " (calendar month)" if calendar_month else ""
        return [Problem("period-not-closed", f"period {name}{cycle} is not closed: credits are not yet offset (D17-R10)", name)]
    return []


@dataclass(frozen=True)
class RunContext:
    """What every statement of a run is judged against, read once: the period, who is who on its
    last day (names, agents, brokers' security accounts, relationships) and the standing measures."""

    period: Period
    directory: Directory
    coverage: Coverage
    records: dict[str, list[Standing]]


def run_context(conn: Connection, name: str, policy: Policy, calendar_month: bool = False, span: Span | None = None) -> RunContext:
    """The context of the statements of period `name` (of the calendar-month cycle with `calendar_month`):
    of every account, or with `span` of accounts `span` only (`NO_ACCOUNTS`: the brokers' names alone,
    what `broker_statements` needs once the parts are gathered)."""
    period = period_named(name, policy, calendar_month)
    records = {} if span == NO_ACCOUNTS else standings(conn)
    return RunContext(period, Directory(conn, period.end, span), Coverage(conn, period.end, span), records)


def run_accounts(conn: Connection, policy: Policy, calendar_month: bool = False) -> list[AccountRow]:
    """The program accounts of a cycle — billed by calendar month with `calendar_month`, else 18th → 17th — in RM15 order."""
    return [a for a in accounts(conn) if billed_by_calendar_month(a.rm15, a.calendar_month, policy) == calendar_month]


#: The client accounts each broker security account will show, per (broker BN9, ASEC), in RM15 order.
BrokerParts = dict[tuple[str, str], list[StatementAccount]]


def importer_statements(
    conn: Connection, ctx: RunContext, rows: Sequence[AccountRow], broker_parts: BrokerParts, chunk_size: int = 2000
) -> Iterator[Statement]:
    """The importer statements of accounts `rows` (in RM15 order), adding each account's part of a
    broker's statement to `broker_parts` on the way."""
    period, directory = ctx.period, ctx.directory
    for chunk in chunks(rows, chunk_size):
        lo, hi = chunk[0].rm15, chunk[-1].rm15
        moved = lines_between(conn, lo, hi, period.start, period.end)
        before = balances_before(conn, lo, hi, period.start)
        for row in chunk:
            lines = moved.get(row.rm15, [])
            opening = before.get(row.rm15, {})
            if not lines and not any(opening.values()):
                continue
            name_ = directory.name(row.bn9)
            measures = in_force(ctx.records.get(row.rm15, ()), period.end)
            if row.client_type != "CADP":  # D17-R15: importers other than CADP, and brokers
                part = account_part(row.rm15, name_, lines, sum(opening.values()), period.due_date,
                                    _broker_totals(opening, lines, directory), measures)
                yield Statement(
                    period=period.name, period_start=period.start, period_end=period.end,
                    statement_date=period.statement_date, due_date=period.due_date,
                    recipient=directory.recipient_for(row.rm15),
                    holder=Holder("importer", row.bn9, name_, rm15=row.rm15), accounts=(part,),
                )
            asecs = {a for a in opening if a in directory.broker_asecs} | {l.asec for l in lines if l.asec in directory.broker_asecs}
            for asec in sorted(asecs):
                broker = directory.broker_asecs[asec]
                if not ctx.coverage.covers(broker, row.rm15):  # D17-R3
                    continue
                tagged = [l for l in lines if l.asec == asec]
                if not tagged and not opening.get(asec):
                    continue
                broker_parts.setdefault((broker, asec), []).append(
                    account_part(row.rm15, name_, tagged, opening.get(asec, 0), period.due_date, measures=measures))


def broker_statements(ctx: RunContext, broker_parts: BrokerParts) -> Iterator[Statement]:
    """One statement per broker security account with client accounts to show, by BN9 and ASEC."""
    period, directory = ctx.period, ctx.directory
    for (broker, asec), parts in sorted(broker_parts.items()):
        yield Statement(
            period=period.name, period_start=period.start, period_end=period.end,
            statement_date=period.statement_date, due_date=period.due_date,
            recipient=directory.party(broker), holder=Holder("broker", broker, directory.name(broker), asec=asec),
            accounts=tuple(sorted(parts, key=lambda p: p.rm15)),
        )


def iter_statements(
    conn: Connection, name: str, *, policy: Policy, chunk_size: int = 2000, calendar_month: bool = False
) -> Iterator[Statement]:
    """Every Statement of Account of period `name` — of the accounts billed 18th → 17th, or with
    `calendar_month` of those billed by calendar month: importers' in RM15 order, then brokers' by BN9 and ASEC."""
    ctx = run_context(conn, name, policy, calendar_month)
    broker_parts: BrokerParts = {}
    yield from importer_statements(conn, ctx, run_accounts(conn, policy, calendar_month), broker_parts, chunk_size)
    yield from broker_statements(ctx, broker_parts)
