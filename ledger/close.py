"""Period close: offsetting credits against debts, then disbursements (D17-R10…R13).

`close_period(conn, "2026-11", …)`, run at the end of a billing period before
statements are issued:

1. **Offsetting** (D17-R10, `offset_moment = period_end`): on each account,
   every credit standing at the period end (refunds, unapplied and interim
   payments) pays the account's debts.  A credit associated with an agent —
   a refund the agent filed, a payment the broker made, or one tagged with
   its security account — goes first to the debts associated with the same
   agent (D17-R11), then to the others; within each group oldest due first.
   One `OFFSET` entry per account, AR to AR: the balance is unchanged, the
   items are settled.
2. **Snapshot** of every account's closing balance (`account_period`), the
   history "two consecutive months in credit" is judged from.
3. **Disbursement** (D17-R12, R13): an importer account with no debt at all
   and a credit balance is paid out when the credit is above the threshold
   ($1,000) or the account has closed in credit for two consecutive periods.
   Never to brokers or consultants.  One `DISBURSEMENT` entry and a notice.

Idempotent: a period closes once; running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import structlog
from sqlalchemy import Connection, select

from .accounts import items_as_of
from .calendar import period_named
from .journal import Entry, Item, Line, post
from .policy import Policy
from .notices import record_notice
from .posting import lock_accounts, allocation_order
from .schema import account_period, business, period_close, program_account

__all__ = ["close_period", "CloseReport"]

log = structlog.get_logger("ledger.close")


@dataclass
class CloseReport:
    period: str
    already_closed: bool = False
    offsets: int = 0
    offset_cents: int = 0
    disbursements: int = 0
    disbursed_cents: int = 0
    accounts: int = 0
    details: list[str] = field(default_factory=list)


def _same_agent(credit: Item, debt: Item) -> bool:
    return bool((credit.agent_bn9 and credit.agent_bn9 == debt.agent_bn9) or (credit.asec and credit.asec == debt.asec))


def offset_lines(items: list[Item], policy: Policy) -> list[Line]:
    """The AR-to-AR lines settling `items`' credits against their debts (D17-R10, R11)."""
    order = allocation_order(policy)
    credits = sorted((i for i in items if i.balance < 0), key=lambda i: (i.posted_on, i.id))
    debts = sorted((i for i in items if i.balance > 0), key=order)
    left = {d.id: d.balance for d in debts}
    lines: list[Line] = []
    for credit in credits:
        available = -credit.balance
        preferred = [d for d in debts if _same_agent(credit, d)]
        others = [d for d in debts if not _same_agent(credit, d)]
        for debt in preferred + others:
            if available == 0:
                break
            take = min(available, left[debt.id])
            if take <= 0:
                continue
            lines.append(Line("AR", debit=take, rm15=credit.rm15, item_id=credit.id))
            lines.append(Line("AR", credit=take, rm15=debt.rm15, item_id=debt.id))
            left[debt.id] -= take
            available -= take
    return lines


def close_period(conn: Connection, name: str, *, policy: Policy, closed_at: datetime) -> CloseReport:
    report = CloseReport(period=name)
    if conn.execute(select(period_close.c.period).where(period_close.c.period == name)).first():
        report.already_closed = True
        return report
    accounts = conn.execute(
        select(program_account.c.rm15, program_account.c.calendar_month, business.c.role, business.c.bn9)
        .join(business, business.c.bn9 == program_account.c.bn9)
        .order_by(program_account.c.rm15)
    ).all()
    for account in accounts:
        end = period_named(name, policy, bool(account.calendar_month) or account.rm15 in policy.calendar_month_accounts).end
        report.accounts += 1
        lock_accounts(conn, [account.rm15])  # payments to the account wait while it is offset
        items = [i for i in items_as_of(conn, account.rm15) if i.posted_on <= end]
        lines = offset_lines(items, policy)
        if lines:
            amount = sum(line.credit for line in lines)
            post(conn, Entry(f"offset:{name}:{account.rm15}", end, "OFFSET", f"period {name} offsetting on {account.rm15}", tuple(lines)), closed_at)
            report.offsets += 1
            report.offset_cents += amount
        after = items_as_of(conn, account.rm15)
        closing = sum(i.balance for i in after if i.posted_on <= end)
        conn.execute(account_period.insert().values(rm15=account.rm15, period=name, closing_balance_cents=closing))
        _disburse(conn, account, name, end, after, policy, closed_at, report)
    conn.execute(period_close.insert().values(period=name, closed_at=closed_at))
    log.info("period.closed", period=name, accounts=report.accounts, offsets=report.offsets,
             offset_cents=report.offset_cents, disbursements=report.disbursements, disbursed_cents=report.disbursed_cents)
    return report


def _months_in_credit(conn: Connection, rm15: str, upto: str, count: int) -> bool:
    rows = conn.execute(
        select(account_period.c.closing_balance_cents)
        .where(account_period.c.rm15 == rm15, account_period.c.period <= upto)
        .order_by(account_period.c.period.desc())
        .limit(count)
    ).scalars().all()
    return len(rows) == count and all(balance < 0 for balance in rows)


def _disburse(conn, account, name: str, end: date, items: list[Item], policy: Policy, closed_at: datetime, report: CloseReport) -> None:
    if account.role in ("broker", "consultant"):  # D17-R13: never to brokers or consultants
        return
    if any(i.balance > 0 for i in items):  # D17-R12: not while any debt stands
        return
    credits = [i for i in items if i.balance < 0 and i.posted_on <= end]
    amount = -sum(i.balance for i in credits)
    if amount <= 0:
        return
    above = amount > policy.disbursement_threshold_cents
    standing = _months_in_credit(conn, account.rm15, name, policy.disbursement_months_in_credit)
    if not (above or standing):
        return
    lines = [Line("AR", debit=-i.balance, rm15=account.rm15, item_id=i.id) for i in credits]
    lines.append(Line("DISBURSE", credit=amount, rm15=account.rm15, party=account.bn9))
    post(conn, Entry(f"disburse:{name}:{account.rm15}", end, "DISBURSEMENT", f"period {name} disbursement to {account.rm15}", tuple(lines)), closed_at)
    record_notice(conn, f"disbursement:{name}:{account.rm15}", end, account.bn9, account.rm15, "disbursement",
            {"amount_cents": amount, "period": name, "why": "above threshold" if above else "two consecutive months in credit"})
    report.disbursements += 1
    report.disbursed_cents += amount
