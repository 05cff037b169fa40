"""Period close, one account at a time: offsetting, closing balance, disbursement (D17-R10…R13).

`plan_close` decides, for one program account and the period `YYYY-MM`:

1. **Offsetting** (D17-R10, at the period end): every credit standing at the period end
   (refunds, unapplied and interim payments) pays the account's debts standing then,
   an agent's credits first to that agent's debts (D17-R11, `ledger.offsetting`).  One
   `OFFSET` entry, AR to AR, dated the period end.
2. **Closing balance** of the account (the history "two consecutive months in credit"
   is judged from).
3. **Disbursement** (D17-R12, R13): an importer account with no debt at all and a credit
   balance is paid out when the credit is above the threshold ($1,000) or the account has
   closed in credit for two consecutive periods.  Never to brokers or consultants.  One
   `DISBURSEMENT` entry and a notice.

The store runs it for every account of one billing cycle — the 18th → 17th period on the
18th, the calendar month on the 1st (decision L17) — and records the period of that cycle
as closed, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .calendar import billed_by_calendar_month, period_named
from .model import Account, Entry, Item, JournalLine, Notice, NoticeKind, Plan, Reason
from .offsetting import offset_lines
from .policy import Policy
from .snapshot import Snapshot

__all__ = ["CloseAccount", "AccountClose", "plan_close"]


@dataclass(frozen=True, slots=True)
class CloseAccount:
    """The facts of a program account a close needs."""

    rm15: str
    bn9: str
    role: str  # the business's role: importer | broker | consultant
    calendar_month: bool


@dataclass
class AccountClose:
    """What closing one account decided."""

    plan: Plan = field(default_factory=Plan)
    closing_cents: int = 0
    offset_cents: int = 0
    disbursed_cents: int = 0


def plan_close(
    account: CloseAccount, items: Sequence[Item], period: str, policy: Policy, earlier_closings: Sequence[int]
) -> AccountClose:
    """Close `period` on `account`, whose open items (every date) are `items`;
    `earlier_closings` are its closing balances of the periods before, newest first."""
    end = period_named(period, policy, billed_by_calendar_month(account.rm15, account.calendar_month, policy)).end
    result = AccountClose()
    snapshot = Snapshot(items)
    lines = offset_lines([i for i in items if i.posted_on <= end], policy)
    if lines:
        entry = Entry(f"offset:{period}:{account.rm15}", end, Reason.OFFSET, f"period {period} offsetting on {account.rm15}", tuple(lines))
        result.plan.entries.append(entry)
        snapshot.apply(entries=[entry])
        result.offset_cents = sum(line.credit_cents for line in lines)
    after = snapshot.items(account.rm15)
    result.closing_cents = sum(i.balance_cents for i in after if i.posted_on <= end)
    closings = [result.closing_cents, *earlier_closings]
    _disburse(account, period, end, after, closings, policy, result)
    return result


def _disburse(account: CloseAccount, period: str, end, items: list[Item], closings: list[int], policy: Policy, result: AccountClose) -> None:
    if account.role in ("broker", "consultant"):  # D17-R13: never to brokers or consultants
        return
    if any(i.balance_cents > 0 for i in items):  # D17-R12: not while any debt stands
        return
    credits = [i for i in items if i.balance_cents < 0 and i.posted_on <= end]
    amount = -sum(i.balance_cents for i in credits)
    if amount <= 0:
        return
    above = amount > policy.disbursement_threshold_cents
    months = policy.disbursement_months_in_credit
    standing = len(closings) >= months and all(balance < 0 for balance in closings[:months])
    if not (above or standing):
        return
    lines = [JournalLine(Account.AR, debit_cents=-i.balance_cents, rm15=account.rm15, item_key=i.key) for i in credits]
    lines.append(JournalLine(Account.DISBURSE, credit_cents=amount, rm15=account.rm15, party=account.bn9))
    result.plan.entries.append(
        Entry(f"disburse:{period}:{account.rm15}", end, Reason.DISBURSEMENT, f"period {period} disbursement to {account.rm15}", tuple(lines))
    )
    result.plan.notices.append(Notice(
        f"disbursement:{period}:{account.rm15}", end, account.bn9, account.rm15, NoticeKind.DISBURSEMENT,
        {"amount_cents": amount, "period": period, "why": "above threshold" if above else "two consecutive months in credit"},
    ))
    result.disbursed_cents = amount
