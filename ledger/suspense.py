"""Suspense: money accepted (a positive 997) that could not be applied yet, and its way out.

A remittance line set aside (`OTI*IR`: an account the ledger does not know, no relationship
letting the payer pay it, an interim line without its security account…) is held in the
SUSPENSE account against the payer and the trace number (820 guide).  An operator then
decides, line by line and once (decision L14):

* **apply** it to a program account (and a security account): one adjusting entry moves
  the money from SUSPENSE to the account, paying its open debts oldest due first like
  any payment line (decision L3), the rest left as a credit; it shows on the account's
  next Daily Notice and Statement of Account;
* **return** it to the financial institution that sent it, with a reason: one adjusting
  entry moves it from SUSPENSE back to BANK.

Both entries carry the same key, `suspense:<FI>:<trace>:<line>`, so a line is resolved
once: a second apply, or an apply after a return, is refused by the journal itself.  Each
raises a notice to the payer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .model import Account, Entry, ItemKind, JournalLine, NewItem, Notice, NoticeKind, Plan, Reason
from .policy import Policy
from .posting import apply_to_debts, open_debts
from .snapshot import Snapshot

__all__ = ["SuspenseLine", "AGE_BUCKETS", "age_bucket", "bucket_names", "resolution_key", "plan_apply", "plan_return"]

#: Upper bounds (days held) of the age report's buckets; the last bucket is open-ended.
AGE_BUCKETS = (30, 60, 90)


@dataclass(frozen=True, slots=True)
class SuspenseLine:
    """A remittance line held in suspense.

    Attributes:
        fi / trace / line_no: which payment line (the FI's ISA05:ISA06, its TRN02, ENT01).
        payer_bn9: who paid.
        rm15 / asec: the account and security account the FI named (perhaps not valid ones).
        amount_cents: the money held.
        payment_day: the business day the payment counted for (D17-R32).
        reason: why it was set aside (the 824's findings).
        resolution: `None` while held; else the entry's reason (`SUSPENSE_APPLIED`, `SUSPENSE_RETURNED`).
        resolved_on: the day it was applied or returned.
    """

    fi: str
    trace: str
    line_no: int
    payer_bn9: str
    rm15: str
    asec: str | None
    amount_cents: int
    payment_day: date
    reason: str
    resolution: str | None = None
    resolved_on: date | None = None

    @property
    def id(self) -> str:
        """How operators name the line: `<FI>/<trace>/<line>`."""
        return f"{self.fi}/{self.trace}/{self.line_no}"

    @property
    def held(self) -> bool:
        return self.resolution is None


def resolution_key(fi: str, trace: str, line_no: int) -> str:
    return f"suspense:{fi}:{trace}:{line_no}"


def bucket_names() -> list[str]:
    """The age report's buckets, youngest first: `0-30`, `31-60`, `61-90`, `91+`."""
    lows = (0, *(high + 1 for high in AGE_BUCKETS))
    return [f"{low}-{high}" for low, high in zip(lows, AGE_BUCKETS, strict=False)] + [f"{lows[-1]}+"]


def age_bucket(held_since: date, on: date) -> str:
    """The age report's bucket of a line held since `held_since`, on `on` (`0-30`, …, `91+`)."""
    days = (on - held_since).days
    low = 0
    for high in AGE_BUCKETS:
        if days <= high:
            return f"{low}-{high}"
        low = high + 1
    return f"{low}+"


def plan_apply(
    line: SuspenseLine, rm15: str, asec: str | None, *, day: date, snapshot: Snapshot, policy: Policy, by: str, note: str
) -> Plan:
    """Apply the whole held line to `rm15` (its debts secured by `asec` when one is named)."""
    key = resolution_key(line.fi, line.trace, line.line_no)
    debts = open_debts(snapshot, [rm15], policy)
    remaining = {it.key: it.balance_cents for it in debts[rm15]}
    lines, left = apply_to_debts(line.amount_cents, rm15, asec, debts[rm15], remaining)
    plan = Plan()
    if left:
        credit = NewItem(key=key, rm15=rm15, kind=ItemKind.PAYMENT, asec=asec, posted_on=day,
                         agent_bn9=line.payer_bn9 if line.payer_bn9 != rm15[:9] else None,
                         description=f"unapplied payment {line.trace} line {line.line_no} (from suspense)")
        plan.items.append(credit)
        lines.append(JournalLine(Account.AR, credit_cents=left, rm15=rm15, item_key=credit.key))
    lines.insert(0, JournalLine(Account.SUSPENSE, debit_cents=line.amount_cents, party=line.payer_bn9, trace=line.trace))
    plan.entries.append(Entry(key, day, Reason.SUSPENSE_APPLIED,
                              f"suspense line {line.id} applied to {rm15} by {by}: {note}", tuple(lines)))
    plan.notices.append(Notice(
        f"{NoticeKind.SUSPENSE_APPLIED}:{line.fi}:{line.trace}:{line.line_no}", day, line.payer_bn9, rm15, NoticeKind.SUSPENSE_APPLIED,
        {"trace": line.trace, "line": line.line_no, "amount_cents": line.amount_cents, "account": rm15, "asec": asec,
         "applied_cents": line.amount_cents - left, "credit_cents": left, "payment_day": str(line.payment_day), "note": note},
    ))
    return plan


def plan_return(line: SuspenseLine, *, day: date, by: str, reason: str) -> Plan:
    """Return the whole held line to the FI that sent it."""
    key = resolution_key(line.fi, line.trace, line.line_no)
    entry = Entry(key, day, Reason.SUSPENSE_RETURNED, f"suspense line {line.id} returned to {line.fi} by {by}: {reason}", (
        JournalLine(Account.SUSPENSE, debit_cents=line.amount_cents, party=line.payer_bn9, trace=line.trace),
        JournalLine(Account.BANK, credit_cents=line.amount_cents, party=line.fi, trace=line.trace),
    ))
    notice = Notice(
        f"{NoticeKind.SUSPENSE_RETURNED}:{line.fi}:{line.trace}:{line.line_no}", day, line.payer_bn9, None, NoticeKind.SUSPENSE_RETURNED,
        {"trace": line.trace, "line": line.line_no, "amount_cents": line.amount_cents, "account": line.rm15, "reason": reason,
         "payment_day": str(line.payment_day)},
    )
    return Plan(entries=[entry], notices=[notice])
