"""`carm ledger check`: prove the books — every entry balanced, every cache equal to the journal.

Returns the discrepancies as values (empty = sound); the CLI exits 1 on any.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from .schema import account_balance, item_balance, journal_entry, journal_line

__all__ = ["check_ledger"]


def check_ledger(conn: Connection) -> list[str]:
    problems: list[str] = []
    unbalanced = conn.execute(
        select(journal_line.c.entry_id, func.sum(journal_line.c.debit_cents), func.sum(journal_line.c.credit_cents))
        .group_by(journal_line.c.entry_id)
        .having(func.sum(journal_line.c.debit_cents) != func.sum(journal_line.c.credit_cents))
    )
    problems += [f"entry {e}: debits {d} != credits {c}" for e, d, c in unbalanced]
    empty = conn.execute(
        select(journal_entry.c.id).where(~select(journal_line.c.id).where(journal_line.c.entry_id == journal_entry.c.id).exists())
    )
    problems += [f"entry {e}: no lines" for (e,) in empty]
    bad_lines = conn.execute(
        select(journal_line.c.id).where(
            (journal_line.c.debit_cents < 0) | (journal_line.c.credit_cents < 0) | ((journal_line.c.debit_cents > 0) == (journal_line.c.credit_cents > 0))
        )
    )
    problems += [f"line {i}: not one positive side" for (i,) in bad_lines]

    per_item = dict(
        conn.execute(
            select(journal_line.c.item_id, func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents))
            .where(journal_line.c.account == "AR", journal_line.c.item_id.is_not(None))
            .group_by(journal_line.c.item_id)
        ).all()
    )
    cached_items = dict(conn.execute(select(item_balance.c.item_id, item_balance.c.balance_cents)).all())
    for item_id in sorted(set(per_item) | set(cached_items)):
        journal, cached = int(per_item.get(item_id, 0)), int(cached_items.get(item_id, 0))
        if journal != cached:
            problems.append(f"item {item_id}: cache {cached} != journal {journal}")

    per_account = dict(
        conn.execute(
            select(journal_line.c.rm15, func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents))
            .where(journal_line.c.account == "AR")
            .group_by(journal_line.c.rm15)
        ).all()
    )
    cached_accounts = dict(conn.execute(select(account_balance.c.rm15, account_balance.c.balance_cents)).all())
    for rm15 in sorted(set(per_account) | set(cached_accounts), key=str):
        journal, cached = int(per_account.get(rm15, 0)), int(cached_accounts.get(rm15, 0))
        if journal != cached:
            problems.append(f"account {rm15}: cache {cached} != journal {journal}")
    total = conn.execute(select(func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents))).scalar() or 0
    if int(total):
        problems.append(f"the journal as a whole is off by {int(total)} cents")
    return problems
