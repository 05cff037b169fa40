"""An account as of a day: balance, open debts, credits, suspense, standing (D17-R36) and the
measures of D17-R38 in force (`ledger.standing`).

`account_view` shapes what the store read from the journal (never the caches, so `as_of`
views are exact) into what `carm account show` prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .model import DEBT_KINDS, Item
from .standing import Standing, in_force

__all__ = ["AccountView", "account_view", "in_good_standing"]


def in_good_standing(items: Sequence[Item], on: date) -> bool:
    """D17-R36: an account with an overdue debt is not in good standing (items under review aside)."""
    return not any(
        it.balance_cents > 0 and it.kind in DEBT_KINDS and not it.under_review and it.due_date is not None and it.due_date < on
        for it in items
    )


@dataclass(frozen=True, slots=True)
class AccountView:
    rm15: str
    name: str
    status: str
    as_of: date
    balance_cents: int
    debts: list[Item]
    credits: list[Item]
    suspense_cents: dict[str, int]
    good_standing: bool
    overdue_cents: int
    measures: Standing | None = None  # the measures of D17-R38 in force on `as_of`

    def as_dict(self) -> dict:
        def item(it: Item) -> dict:
            return {
                "id": it.id, "kind": it.kind, "component": it.component, "transaction_number": it.transaction_number,
                "asec": it.asec, "posted_on": str(it.posted_on), "due_date": str(it.due_date) if it.due_date else None,
                "under_review": it.under_review, "description": it.description, "balance_cents": it.balance_cents,
            }

        return {
            "rm15": self.rm15, "name": self.name, "status": self.status, "as_of": str(self.as_of),
            "balance_cents": self.balance_cents, "overdue_cents": self.overdue_cents, "good_standing": self.good_standing,
            "debts": [item(i) for i in self.debts], "credits": [item(i) for i in self.credits],
            "suspense_cents_by_trace": self.suspense_cents,
            "measures": self.measures.as_dict() if self.measures else None,
        }


def account_view(rm15: str, name: str, status: str, as_of: date, items: Sequence[Item], suspense_cents: dict[str, int],
                 standings: Sequence[Standing] = ()) -> AccountView:
    """The account `rm15` as of the end of `as_of`, from its open items then, the payer's suspense and
    its records of D17-R38 measures."""
    debts = sorted((i for i in items if i.balance_cents > 0), key=lambda i: (i.due_date or i.posted_on, i.id or 0))
    credits = [i for i in items if i.balance_cents < 0]
    overdue = sum(i.balance_cents for i in debts if i.due_date and i.due_date < as_of and not i.under_review)
    return AccountView(
        rm15=rm15, name=name, status=status, as_of=as_of, balance_cents=sum(i.balance_cents for i in items),
        debts=debts, credits=credits, suspense_cents=suspense_cents, good_standing=in_good_standing(items, as_of),
        overdue_cents=overdue, measures=in_force(standings, as_of),
    )
