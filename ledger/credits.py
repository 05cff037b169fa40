"""A holder applying one of its unapplied credits to debts it chooses (G-R4 « appliquer des crédits
comme paiement à des transactions choisies »), as a pure rule.

The credit goes to the chosen debts in the order chosen, each as far as the credit reaches; the
lines are AR to AR, like the offsetting at a close (`ledger.offsetting`): the account's balance is
unchanged, the items settled. The holder's choice replaces the agent and due-date order of D17-R11
for this credit only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from .model import Account, Entry, Item, JournalLine, Reason

__all__ = ["apply_credit"]


def apply_credit(credit: Item, debts: Sequence[Item], *, key: str, day: date, description: str) -> Entry | None:
    """The OFFSET entry applying `credit` to `debts` in order; None when there is nothing to apply
    (the credit is spent, or none of the debts is still owed)."""
    if credit.balance_cents >= 0:
        return None
    available = -credit.balance_cents
    lines: list[JournalLine] = []
    for debt in debts:
        take = min(available, debt.balance_cents)
        if take <= 0 or debt.rm15 != credit.rm15:
            continue
        lines.append(JournalLine(Account.AR, debit_cents=take, rm15=credit.rm15, item_key=credit.key))
        lines.append(JournalLine(Account.AR, credit_cents=take, rm15=debt.rm15, item_key=debt.key))
        available -= take
        if available == 0:
            break
    return Entry(key, day, Reason.OFFSET, description, tuple(lines)) if lines else None
