"""The append-only double-entry journal: post balanced entries, read balances.

`post` is the only way money moves (D17-R18: corrections are new entries,
never edits).  Every entry:

* has an idempotency key taken from its source document (declaration number,
  FI + trace, period + account…): posting the same key again is a harmless
  replay and returns None; the same key with other content raises
  `IdempotencyConflict`;
* balances — the sum of debits equals the sum of credits, in integer cents;
* carries a reason code (`REASONS`).

Receivable lines (`AR`) name the `ar_item` they are about; the item and
account balance caches are updated in the same transaction and proved equal
to the journal by `ledger.check`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, and_, func, select

from carm.db import insert_for

from .errors import IdempotencyConflict, UnbalancedEntry
from .schema import account_balance, ar_item, item_balance, journal_entry, journal_line

__all__ = ["Line", "Entry", "Item", "post", "item", "open_items", "balance", "ACCOUNTS", "REASONS"]

#: The chart of accounts.  AR is what importers owe (debit) or are owed (credit).
ACCOUNTS = {
    "AR": "accounts receivable, per program account and item",
    "BANK": "money received from a financial institution, per FI",
    "SUSPENSE": "money received that cannot be applied yet, per payer and trace",
    "REVENUE": "duties and taxes assessed",
    "REFUND": "refunds granted as credits (D17-R9)",
    "INTEREST": "interest charged (D17-R33)",
    "PENALTY": "late-payment penalties (D17-R33)",
    "FEE": "administrative fees (D17-R34)",
    "DISBURSE": "credit balances paid out to importers (D17-R13)",
}
REASONS = {
    "DECLARATION": "an accounted declaration's duties and taxes",
    "REASSESSMENT": "a B2 adjustment raising a debt",
    "REFUND": "a refund credited to the account (D17-R9)",
    "PAYMENT": "an EDI 820 payment applied",
    "PAYMENT_REFUSED": "an EDI 820 payment refused and held in suspense",
    "OFFSET": "credits offsetting debts at period end (D17-R10, R11)",
    "DISBURSEMENT": "a credit balance paid out (D17-R12, R13)",
    "INTEREST": "interest on overdue balances (D17-R33)",
    "PENALTY": "late-payment penalty (D17-R33)",
    "ADMIN_FEE": "administrative fee for a partial non-electronic payment (D17-R34)",
    "CORRECTION": "an adjusting entry correcting an earlier one (D17-R18)",
}


@dataclass(frozen=True, slots=True)
class Line:
    """One side of one movement.

    Attributes:
        account: a key of `ACCOUNTS`.
        debit / credit: cents; exactly one is above zero.
        rm15 / item_id: for AR lines, the account and the item.
        party / trace: for BANK and SUSPENSE lines, who and which payment.
    """

    account: str
    debit: int = 0
    credit: int = 0
    rm15: str | None = None
    item_id: int | None = None
    party: str | None = None
    trace: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    entry_date: date
    reason: str
    description: str
    lines: tuple[Line, ...]
    source: str | None = None
    reverses: int | None = None

    @property
    def total(self) -> int:
        return sum(line.debit for line in self.lines)


@dataclass(frozen=True, slots=True)
class Item:
    """An open receivable item with its balance (positive = owed, negative = credit)."""

    id: int
    rm15: str
    asec: str | None
    agent_bn9: str | None
    kind: str
    component: str | None
    transaction_number: str | None
    posted_on: date
    due_date: date | None
    under_review: bool
    description: str
    balance: int


def _check(entry: Entry) -> None:
    if not entry.lines:
        raise UnbalancedEntry(f"entry {entry.key} has no lines")
    for line in entry.lines:
        if line.account not in ACCOUNTS:
            raise UnbalancedEntry(f"entry {entry.key}: unknown account {line.account}")
        if not ((line.debit > 0 and line.credit == 0) or (line.credit > 0 and line.debit == 0)):
            raise UnbalancedEntry(f"entry {entry.key}: a line must be a positive debit or a positive credit")
        if not isinstance(line.debit, int) or not isinstance(line.credit, int):
            raise UnbalancedEntry(f"entry {entry.key}: amounts must be integer cents")
    debits = sum(line.debit for line in entry.lines)
    credits = sum(line.credit for line in entry.lines)
    if debits != credits:
        raise UnbalancedEntry(f"entry {entry.key}: debits {debits} != credits {credits}")
    if entry.reason not in REASONS:
        raise UnbalancedEntry(f"entry {entry.key}: unknown reason {entry.reason}")


def post(conn: Connection, entry: Entry, posted_at: datetime) -> int | None:
    """Post `entry`; its id, or None when its key was already posted with the same content."""
    _check(entry)
    existing = conn.execute(
        select(journal_entry.c.id, journal_entry.c.reason).where(journal_entry.c.key == entry.key)
    ).first()
    if existing is not None:
        total = conn.execute(
            select(func.coalesce(func.sum(journal_line.c.debit_cents), 0)).where(journal_line.c.entry_id == existing.id)
        ).scalar_one()
        if existing.reason != entry.reason or int(total) != entry.total:
            raise IdempotencyConflict(
                f"{entry.key} was posted as {existing.reason} {total}, now {entry.reason} {entry.total}"
            )
        return None
    entry_id = conn.execute(
        journal_entry.insert()
        .values(
            key=entry.key,
            entry_date=entry.entry_date,
            posted_at=posted_at,
            reason=entry.reason,
            description=entry.description[:300],
            source=entry.source,
            reverses=entry.reverses,
        )
        .returning(journal_entry.c.id)
    ).scalar_one()
    conn.execute(
        journal_line.insert(),
        [
            {
                "entry_id": entry_id,
                "account": line.account,
                "rm15": line.rm15,
                "item_id": line.item_id,
                "party": line.party,
                "trace": line.trace,
                "debit_cents": line.debit,
                "credit_cents": line.credit,
            }
            for line in entry.lines
        ],
    )
    _update_caches(conn, entry.lines)
    return int(entry_id)


def _update_caches(conn: Connection, lines: Iterable[Line]) -> None:
    per_item: dict[tuple[int, str], int] = {}
    per_account: dict[str, int] = {}
    for line in lines:
        if line.account != "AR":
            continue
        delta = line.debit - line.credit
        if line.item_id is not None and line.rm15 is not None:
            per_item[(line.item_id, line.rm15)] = per_item.get((line.item_id, line.rm15), 0) + delta
        if line.rm15 is not None:
            per_account[line.rm15] = per_account.get(line.rm15, 0) + delta
    insert = insert_for(conn)
    # one executemany per cache, rows in key order (the same order in every worker: no deadlock)
    if per_item:
        stmt = insert(item_balance)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["item_id"], set_={"balance_cents": item_balance.c.balance_cents + stmt.excluded.balance_cents}
            ),
            [{"item_id": i, "rm15": r, "balance_cents": d} for (i, r), d in sorted(per_item.items())],
        )
    if per_account:
        stmt = insert(account_balance)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["rm15"], set_={"balance_cents": account_balance.c.balance_cents + stmt.excluded.balance_cents}
            ),
            [{"rm15": r, "balance_cents": d} for r, d in sorted(per_account.items())],
        )


def item(
    conn: Connection,
    *,
    key: str,
    rm15: str,
    kind: str,
    posted_on: date,
    description: str,
    due_date: date | None = None,
    asec: str | None = None,
    agent_bn9: str | None = None,
    component: str | None = None,
    transaction_number: str | None = None,
    under_review: bool = False,
) -> int:
    """The id of the receivable item `key`, created if new (idempotent)."""
    found = conn.execute(select(ar_item.c.id).where(ar_item.c.key == key)).scalar()
    if found is not None:
        return int(found)
    return int(
        conn.execute(
            ar_item.insert()
            .values(
                key=key,
                rm15=rm15,
                asec=asec,
                agent_bn9=agent_bn9,
                kind=kind,
                component=component,
                transaction_number=transaction_number,
                posted_on=posted_on,
                due_date=due_date,
                under_review=under_review,
                description=description[:200],
            )
            .returning(ar_item.c.id)
        ).scalar_one()
    )


def open_items(conn: Connection, rm15s: Sequence[str] | str) -> list[Item]:
    """Items with a non-zero balance on the accounts, from the cache (the allocation hot path)."""
    if isinstance(rm15s, str):
        rm15s = [rm15s]
    rows = conn.execute(
        select(ar_item, item_balance.c.balance_cents)
        .join(item_balance, item_balance.c.item_id == ar_item.c.id)
        .where(and_(item_balance.c.rm15.in_(list(rm15s)), item_balance.c.balance_cents != 0))
        .order_by(ar_item.c.id)
    )
    return [
        Item(
            id=r.id,
            rm15=r.rm15,
            asec=r.asec,
            agent_bn9=r.agent_bn9,
            kind=r.kind,
            component=r.component,
            transaction_number=r.transaction_number,
            posted_on=r.posted_on,
            due_date=r.due_date,
            under_review=bool(r.under_review),
            description=r.description,
            balance=int(r.balance_cents),
        )
        for r in rows
    ]


def balance(conn: Connection, rm15: str, as_of: date | None = None) -> int:
    """The account's balance from the journal itself (positive = owed), at the end of `as_of`."""
    query = (
        select(func.coalesce(func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents), 0))
        .select_from(journal_line.join(journal_entry, journal_entry.c.id == journal_line.c.entry_id))
        .where(journal_line.c.account == "AR", journal_line.c.rm15 == rm15)
    )
    if as_of is not None:
        query = query.where(journal_entry.c.entry_date <= as_of)
    return int(conn.execute(query).scalar_one())
