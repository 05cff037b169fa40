"""Reading an account: balance, open items, credits, suspense, standing — at any date.

Everything here derives from the journal (not the caches), so `as_of` views
are exact: the balance of an item on a day is the sum of its lines with an
entry date up to that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, func, select

from .journal import Item
from .schema import ar_item, business, journal_entry, journal_line, program_account

__all__ = ["items_as_of", "AccountView", "account_view", "in_good_standing", "DEBT_KINDS", "INTEREST_BEARING"]

#: Item kinds that are debts (positive balances); `credit` and `payment` items are credits.
DEBT_KINDS = ("declaration", "adjustment", "interest", "penalty", "fee")
#: Item kinds on which interest runs (D17-R33: the unpaid balance; penalties and fees do not bear interest).
INTEREST_BEARING = ("declaration", "adjustment", "interest")


def items_as_of(conn: Connection, rm15s: list[str] | str, as_of: date | None = None, *, open_only: bool = True) -> list[Item]:
    """Items of the accounts with their balance at the end of `as_of` (all dates when None)."""
    if isinstance(rm15s, str):
        rm15s = [rm15s]
    total = func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents).label("balance")
    query = (
        select(ar_item, total)
        .join(journal_line, journal_line.c.item_id == ar_item.c.id)
        .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
        .where(ar_item.c.rm15.in_(rm15s), journal_line.c.account == "AR")
        .group_by(*ar_item.c)
        .order_by(ar_item.c.id)
    )
    if as_of is not None:
        query = query.where(journal_entry.c.entry_date <= as_of)
    items = []
    for r in conn.execute(query):
        if open_only and int(r.balance) == 0:
            continue
        items.append(
            Item(
                id=r.id, rm15=r.rm15, asec=r.asec, agent_bn9=r.agent_bn9, kind=r.kind, component=r.component,
                transaction_number=r.transaction_number, posted_on=r.posted_on, due_date=r.due_date,
                under_review=bool(r.under_review), description=r.description, balance=int(r.balance),
            )
        )
    return items


def in_good_standing(items: list[Item], on: date) -> bool:
    """D17-R36: an account with an overdue debt is not in good standing (items under review aside)."""
    return not any(
        it.balance > 0 and it.kind in DEBT_KINDS and not it.under_review and it.due_date is not None and it.due_date < on
        for it in items
    )


@dataclass(frozen=True, slots=True)
class AccountView:
    rm15: str
    name: str
    status: str
    as_of: date
    balance: int
    debts: list[Item]
    credits: list[Item]
    suspense: dict[str, int]
    good_standing: bool
    overdue: int

    def as_dict(self) -> dict:
        def item(it: Item) -> dict:
            return {
                "id": it.id, "kind": it.kind, "component": it.component, "transaction_number": it.transaction_number,
                "asec": it.asec, "posted_on": str(it.posted_on), "due_date": str(it.due_date) if it.due_date else None,
                "under_review": it.under_review, "description": it.description, "balance_cents": it.balance,
            }

        return {
            "rm15": self.rm15, "name": self.name, "status": self.status, "as_of": str(self.as_of),
            "balance_cents": self.balance, "overdue_cents": self.overdue, "good_standing": self.good_standing,
            "debts": [item(i) for i in self.debts], "credits": [item(i) for i in self.credits],
            "suspense_cents_by_trace": self.suspense,
        }


def account_view(conn: Connection, rm15: str, as_of: date) -> AccountView | None:
    account = conn.execute(
        select(program_account.c.status, business.c.name, business.c.bn9)
        .join(business, business.c.bn9 == program_account.c.bn9)
        .where(program_account.c.rm15 == rm15)
    ).first()
    if account is None:
        return None
    items = items_as_of(conn, rm15, as_of)
    debts = sorted((i for i in items if i.balance > 0), key=lambda i: (i.due_date or i.posted_on, i.id))
    credits = [i for i in items if i.balance < 0]
    suspense_rows = conn.execute(
        select(journal_line.c.trace, func.sum(journal_line.c.credit_cents - journal_line.c.debit_cents))
        .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
        .where(journal_line.c.account == "SUSPENSE", journal_line.c.party == account.bn9, journal_entry.c.entry_date <= as_of)
        .group_by(journal_line.c.trace)
    )
    suspense = {row[0]: int(row[1]) for row in suspense_rows if int(row[1])}
    overdue = sum(i.balance for i in debts if i.due_date and i.due_date < as_of and not i.under_review)
    return AccountView(
        rm15=rm15, name=account.name, status=account.status, as_of=as_of,
        balance=sum(i.balance for i in items), debts=debts, credits=credits, suspense=suspense,
        good_standing=in_good_standing(items, as_of), overdue=overdue,
    )
