"""Credits against debts (D17-R10, R11): at a period close, and on a due date.

A credit associated with an agent — a refund the agent filed, a payment the broker made,
or one tagged with its security account — goes first to the debts associated with the
same agent (D17-R11), then to the others; within each group oldest due first
(`allocation_order`).  The lines are AR to AR: the balance is unchanged, the items settled.
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import Account, Item, JournalLine
from .policy import Policy
from .posting import allocation_order

__all__ = ["offset_lines"]


def _same_agent(credit: Item, debt: Item) -> bool:
    return bool((credit.agent_bn9 and credit.agent_bn9 == debt.agent_bn9) or (credit.asec and credit.asec == debt.asec))


def offset_lines(items: Sequence[Item], policy: Policy) -> list[JournalLine]:
    """The AR-to-AR lines settling `items`' credits against their debts."""
    order = allocation_order(policy)
    credits = sorted((i for i in items if i.balance_cents < 0), key=lambda i: (i.posted_on, i.id is None, i.id or 0))
    debts = sorted((i for i in items if i.balance_cents > 0), key=order)
    left = {d.key: d.balance_cents for d in debts}
    lines: list[JournalLine] = []
    for credit in credits:
        available = -credit.balance_cents
        preferred = [d for d in debts if _same_agent(credit, d)]
        others = [d for d in debts if not _same_agent(credit, d)]
        for debt in preferred + others:
            if available == 0:
                break
            take = min(available, left[debt.key])
            if take <= 0:
                continue
            lines.append(JournalLine(Account.AR, debit_cents=take, rm15=credit.rm15, item_key=credit.key))
            lines.append(JournalLine(Account.AR, credit_cents=take, rm15=debt.rm15, item_key=debt.key))
            left[debt.key] -= take
            available -= take
    return lines
