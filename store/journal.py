"""The books in the database: writing the rules' plans, reading items and histories, proving the books.

`write_plan` is the only way money moves: it opens the plan's items (idempotent on their
keys), posts its entries — each checked by `ledger.journal.check_entry`, each idempotent
on its key: the same key with the same reason and total is a harmless replay, with other
content an `IdempotencyConflict` — with their lines in bulk, updates the item and account
balance caches in one statement per cache (rows in key order, the same in every worker:
no deadlock), and records the plan's notices once each.

Reads come from the journal itself (`items_as_of`, `account_history`: exact as of any day)
or, on the allocation hot path, from the caches (`open_items`); `check_books` proves the
caches equal to the journal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter

from sqlalchemy import Connection, Table, bindparam, func, select

from core.db import AmongValues, Writes, array_literal, array_type, chunks, insert_for, insert_rows, sqlite_values
from core.problems import Problem
from ledger.errors import IdempotencyConflict
from ledger.history import AccountHistory, Movement
from ledger.journal import check_entry, check_line, check_totals
from ledger.model import URGENT_KINDS, Account, Entry, Item, JournalLine, NewItem, Notice, Plan

from .schema import account_balance, ar_item, item_balance, journal_entry, journal_line, notice, program_account

__all__ = [
    "Written", "write_plan", "PartWriter", "post", "record_notices", "lock_accounts", "open_items", "items_as_of", "account_history",
    "balance", "suspense_by_trace", "check_books",
]


@dataclass(frozen=True, slots=True)
class Written:
    """What `write_plan` did: the ids of the entries it posted (by key; replays left out)
    and how many of the plan's notices were new."""

    entry_ids: dict[str, int]
    notices: int


# The statements of the posting path are built once, their lists one expanding parameter each:
# SQLAlchemy then compiles each once, where a statement built per call with a literal list is
# coerced value by value and keyed anew every time (the fixed cost of posting a small set).
_KEYS = bindparam("keys", expanding=True)
# The lists of the hot path (item keys, accounts: thousands a file) as `AmongValues`: one array on
# PostgreSQL — the planner looks each key up in its index, where a list of 1,000 parameters made it
# scan the table once per key (6.6 s for 10,000 keys among 20,000 items) — a chunk at a time on SQLite.
_ITEM_IDS = AmongValues(lambda among: select(ar_item.c.key, ar_item.c.id).where(among(ar_item.c.key)))
_POSTED_TOTALS = (
    select(journal_entry.c.key, journal_entry.c.reason, func.coalesce(func.sum(journal_line.c.debit_cents), 0))
    .select_from(journal_entry.outerjoin(journal_line, journal_line.c.entry_id == journal_entry.c.id))
    .where(journal_entry.c.key.in_(_KEYS))
    .group_by(journal_entry.c.key, journal_entry.c.reason)
)
_ENTRY_IDS = select(journal_entry.c.key, journal_entry.c.id).where(journal_entry.c.key.in_(_KEYS))
_KNOWN_NOTICES = select(notice.c.key).where(notice.c.key.in_(_KEYS))
_INSERT_ENTRIES = journal_entry.insert()


def _item_ids(conn: Connection, keys: Iterable[str]) -> dict[str, int]:
    return {k: int(i) for result in _ITEM_IDS.execute(conn, sorted(set(keys))) for k, i in result.all()}


_ITEM_COLUMNS = ("key", "rm15", "asec", "agent_bn9", "kind", "component", "transaction_number", "posted_on", "due_date", "under_review",
                 "description")
_LINE_COLUMNS = ("entry_id", "account", "rm15", "item_id", "party", "trace", "debit_cents", "credit_cents")


def _open_items(conn: Connection, items: Sequence[NewItem], line_keys: Iterable[str], known: Mapping[str, int]) -> dict[str, int]:
    """Create the new `items` (in order, existing keys left alone); the ids of every item they and
    the lines' `line_keys` name — those in `known` as given, the others read."""
    keys = {new.key for new in items} | set(line_keys)
    ids = {key: known[key] for key in keys if key in known}
    ids.update(_item_ids(conn, keys - ids.keys()))
    rows, seen = [], set()
    for new in items:
        if new.key in ids or new.key in seen:
            continue
        seen.add(new.key)
        rows.append(tuple(getattr(new, column) for column in _ITEM_COLUMNS))
    if rows:
        insert_rows(conn, ar_item, _ITEM_COLUMNS, rows)
        ids.update(_item_ids(conn, seen))
    return ids


def _new_entries(conn: Connection, entries: Sequence[Entry]) -> list[Entry]:
    """The entries not posted yet; a key posted with other content raises IdempotencyConflict."""
    existing: dict[str, tuple[str, int]] = {}
    keys = [e.key for e in entries]
    for chunk in chunks(keys):
        existing.update((k, (r, int(t))) for k, r, t in conn.execute(_POSTED_TOTALS, {"keys": list(chunk)}))
    fresh = []
    for entry in entries:
        check_entry(entry)
        if entry.key in existing:
            reason, total = existing[entry.key]
            if reason != entry.reason or total != entry.total_cents:
                raise IdempotencyConflict(f"{entry.key} was posted as {reason} {total}, now {entry.reason} {entry.total_cents}")
            continue
        fresh.append(entry)
    return fresh


def _update_caches(conn: Connection, lines: Iterable[JournalLine], ids: dict[str, int], writes: Writes | None = None) -> None:
    per_item: dict[int, int] = {}
    item_account: dict[int, str] = {}
    per_account: dict[str, int] = {}
    ar = Account.AR
    for line in lines:
        rm15 = line.rm15
        if line.account != ar or rm15 is None:
            continue
        cents = line.debit_cents - line.credit_cents
        if line.item_key is not None:
            item_id = ids[line.item_key]
            per_item[item_id] = per_item.get(item_id, 0) + cents
            item_account[item_id] = rm15
        per_account[rm15] = per_account.get(rm15, 0) + cents
    _add_to_cache(conn, item_balance, [(i, item_account[i], d) for i, d in sorted(per_item.items())], writes)
    _add_to_cache(conn, account_balance, sorted(per_account.items()), writes)


def _add_to_cache(conn: Connection, table: Table, rows: Sequence[tuple], writes: Writes | None = None) -> None:
    """Add each row's last value (a delta of cents) to the cached balance of its key (the table's
    first column; the row is created when missing), in one statement, in key order.

    PostgreSQL gets the rows as one array per column (`unnest`), each sent as one literal
    (`core.db.array_literal`): one statement, one round trip, whatever their number; SQLite,
    in-process, one prepared statement run over them.  With `writes`, PostgreSQL's is sent there
    (not waited for)."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    name, columns = quote(table.name), [quote(c.name) for c in table.c]
    key, balance = columns[0], columns[-1]
    upsert = f"ON CONFLICT ({key}) DO UPDATE SET {balance} = {name}.{balance} + excluded.{balance}"
    if conn.dialect.name != "postgresql":
        sqlite_values(conn, f"INSERT INTO {name} ({', '.join(columns)})", len(columns), rows, upsert)
        return
    arrays = ", ".join(f"CAST(%s AS {array_type(c.type).compile(conn.dialect)})" for c in table.c)
    statement = f"INSERT INTO {name} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) ORDER BY 1 {upsert}"
    params = [array_literal(values) for values in zip(*rows, strict=True)]
    if writes is not None:
        writes.send(statement, params)
    else:
        conn.exec_driver_sql(statement, tuple(params))


def record_notices(conn: Connection, notices: Sequence[Notice]) -> int:
    """Record each notice unless its key already is (idempotent); how many were new."""
    if not notices:
        return 0
    keys = [n.key for n in notices]
    known: set[str] = set()
    for chunk in chunks(keys):
        known.update(conn.execute(_KNOWN_NOTICES, {"keys": list(chunk)}).scalars())
    rows, seen = [], set()
    for n in notices:
        if n.key in known or n.key in seen:
            continue
        seen.add(n.key)
        rows.append(dict(key=n.key, notice_date=n.day, bn9=n.bn9, rm15=n.rm15, kind=n.kind, urgent=n.kind in URGENT_KINDS,
                         data=json.dumps(n.data, sort_keys=True)))
    if rows:
        insert = insert_for(conn)
        conn.execute(insert(notice).on_conflict_do_nothing(), rows)
    return len(rows)


def write_plan(conn: Connection, plan: Plan, at: datetime, *, item_ids: Mapping[str, int] | None = None) -> Written:
    """Write `plan` (items, then entries with their lines and caches, then notices); see the module doc.
    `item_ids`: ids of items the caller already read in this transaction (its snapshot's), not read again."""
    ids = _open_items(conn, plan.items, (line.item_key for e in plan.entries for line in e.lines if line.item_key), item_ids or {})
    fresh = _new_entries(conn, plan.entries)
    entry_ids: dict[str, int] = {}
    if fresh:
        entry_ids = _insert_entries(conn, fresh, at)
        insert_rows(conn, journal_line, _LINE_COLUMNS, [
            (entry_ids[e.key], line.account, line.rm15, ids[line.item_key] if line.item_key else None, line.party, line.trace,
             line.debit_cents, line.credit_cents)
            for e in fresh for line in e.lines
        ])
        _update_caches(conn, (line for e in fresh for line in e.lines), ids)
    return Written(entry_ids, record_notices(conn, plan.notices))


def _insert_entries(conn: Connection, entries: Sequence[Entry], at: datetime) -> dict[str, int]:
    """Insert the entries' rows (not their lines); their ids by key."""
    conn.execute(_INSERT_ENTRIES, [
        dict(key=e.key, entry_date=e.day, posted_at=at, reason=e.reason, description=e.description, source=e.source, reverses=e.reverses)
        for e in entries
    ])
    entry_ids: dict[str, int] = {}
    for chunk in chunks([e.key for e in entries]):
        entry_ids.update((k, int(i)) for k, i in conn.execute(_ENTRY_IDS, {"keys": list(chunk)}))
    return entry_ids


class PartWriter:
    """Entries written in parts (decision L31): a payment of 100,000 lines is planned and written a
    few thousand lines at a time, so what it holds in memory is a part, not the payment.

    `begin` posts an entry's row — its key must be new: a part-written entry has no whole to
    compare a replay with, so its caller makes sure it is not one (a payment's set is posted once,
    `store.ledger.recorded_sets`); `write` opens a part's items and writes its lines and the
    balance caches, through `writes` (`core.db.Writes`: on PostgreSQL sent without waiting, so the
    caller plans the next part while the server writes this one, decision L33); leaving the `with`
    block waits for every write and checks each entry whole (`ledger.journal.check_totals`: lines,
    debits equal to credits), raising `UnbalancedEntry` or the database's error — the caller's
    transaction then writes nothing."""

    def __init__(self, conn: Connection, at: datetime, item_ids: Mapping[str, int]) -> None:
        self._conn, self._at, self._known = conn, at, item_ids
        self._entries: dict[str, list] = {}  # key → [id, reason, lines, debits, credits]
        self.writes = Writes(conn)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, kind, error, _traceback) -> None:
        self.writes.close(failed=kind is not None)
        if kind is None:
            for key, (_, reason, count, debits, credits) in self._entries.items():
                check_totals(key, reason, count, debits, credits)

    def begin(self, entry: Entry) -> int:
        """Post the row of `entry` (its lines come with `write`); its id."""
        if self._conn.execute(_ENTRY_IDS, {"keys": [entry.key]}).first() is not None:
            raise IdempotencyConflict(f"{entry.key} is already posted; an entry written in parts is posted once")
        entry_id = _insert_entries(self._conn, [entry], self._at)[entry.key]
        self._entries[entry.key] = [entry_id, entry.reason, 0, 0, 0]
        return entry_id

    def write(self, items: Sequence[NewItem], lines: Sequence[tuple[str, JournalLine]]) -> None:
        """Open `items` and write `lines` (each with the key of its begun entry), caches included."""
        ids = _open_items(self._conn, items, (line.item_key for _, line in lines if line.item_key), self._known)
        rows = []
        key = entry = None
        for line_key, line in lines:
            if line_key != key:  # a part's lines come entry by entry
                key, entry = line_key, self._entries[line_key]
            check_line(key, line)
            entry[2] += 1
            entry[3] += line.debit_cents
            entry[4] += line.credit_cents
            rows.append((entry[0], line.account, line.rm15, ids[line.item_key] if line.item_key else None, line.party, line.trace,
                         line.debit_cents, line.credit_cents))
        if rows:
            self.writes.insert(journal_line, _LINE_COLUMNS, rows)
            _update_caches(self._conn, (line for _, line in lines), ids, self.writes)


_LOCK = AmongValues(lambda among: select(program_account.c.rm15).where(among(program_account.c.rm15))
                    .order_by(program_account.c.rm15).with_for_update())


def lock_accounts(conn: Connection, rm15s: Iterable[str]) -> None:
    """Serialize work on the same accounts across workers: PostgreSQL row locks, in one global order."""
    wanted = sorted(set(rm15s))
    if conn.dialect.name == "postgresql":
        for result in _LOCK.execute(conn, wanted):
            result.all()


def _item(row, balance: int) -> Item:
    return Item(
        id=int(row.id), key=row.key, rm15=row.rm15, asec=row.asec, agent_bn9=row.agent_bn9, kind=row.kind, component=row.component,
        transaction_number=row.transaction_number, posted_on=row.posted_on, due_date=row.due_date,
        under_review=bool(row.under_review), description=row.description, balance_cents=balance,
    )


_ITEM_FIELDS = [ar_item.c[name] for name in Item._fields if name != "balance_cents"]


def _open_items_of(among, *, debts_only: bool):
    query = (select(*_ITEM_FIELDS, item_balance.c.balance_cents)
             .join(item_balance, item_balance.c.item_id == ar_item.c.id)
             .where(among(item_balance.c.rm15), item_balance.c.balance_cents != 0))
    return query.where(item_balance.c.balance_cents > 0) if debts_only else query


_OPEN_ITEMS = AmongValues(lambda among: _open_items_of(among, debts_only=False))
_OPEN_DEBTS = AmongValues(lambda among: _open_items_of(among, debts_only=True))


def open_items(conn: Connection, rm15s: Iterable[str], *, debts_only: bool = False) -> list[Item]:
    """Items with a non-zero balance on the accounts, from the cache (the allocation hot path), in creation order;
    `debts_only`: those owed (positive), without the credits — what a payment can reach (L3): an account paid
    by every set of a file holds a credit per earlier line, which the next set need not read (decision L31)."""
    query = _OPEN_DEBTS if debts_only else _OPEN_ITEMS
    out = [Item(*row) for result in query.execute(conn, sorted(set(rm15s))) for row in result.all()]  # the columns in Item's order
    out.sort(key=attrgetter("id"))
    return out


def items_as_of(conn: Connection, rm15s: Sequence[str] | str, as_of: date | None = None, *, open_only: bool = True) -> list[Item]:
    """Items of the accounts with their balance from the journal at the end of `as_of` (all dates when None)."""
    if isinstance(rm15s, str):
        rm15s = [rm15s]
    total = func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents).label("balance")
    query = (
        select(ar_item, total)
        .join(journal_line, journal_line.c.item_id == ar_item.c.id)
        .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
        .where(ar_item.c.rm15.in_(list(rm15s)), journal_line.c.account == Account.AR)
        .group_by(*ar_item.c)
        .order_by(ar_item.c.id)
    )
    if as_of is not None:
        query = query.where(journal_entry.c.entry_date <= as_of)
    return [_item(r, int(r.balance)) for r in conn.execute(query) if not (open_only and int(r.balance) == 0)]


def account_history(conn: Connection, rm15: str) -> AccountHistory:
    """Every item of the account and every AR line on it (`ledger.history.AccountHistory`)."""
    items = [_item(r, 0) for r in conn.execute(select(ar_item).where(ar_item.c.rm15 == rm15).order_by(ar_item.c.id))]
    movements = [
        Movement(r.key, r.entry_key, r.entry_date, int(r.cents))
        for r in conn.execute(
            select(ar_item.c.key, journal_entry.c.key.label("entry_key"), journal_entry.c.entry_date,
                   (journal_line.c.debit_cents - journal_line.c.credit_cents).label("cents"))
            .select_from(journal_line.join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
                         .join(ar_item, ar_item.c.id == journal_line.c.item_id))
            .where(journal_line.c.account == Account.AR, journal_line.c.rm15 == rm15)
            .order_by(journal_entry.c.id, journal_line.c.id)
        )
    ]
    return AccountHistory(rm15, items, movements)


def balance(conn: Connection, rm15: str, as_of: date | None = None) -> int:
    """The account's balance from the journal itself (positive = owed), at the end of `as_of`."""
    query = (
        select(func.coalesce(func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents), 0))
        .select_from(journal_line.join(journal_entry, journal_entry.c.id == journal_line.c.entry_id))
        .where(journal_line.c.account == Account.AR, journal_line.c.rm15 == rm15)
    )
    if as_of is not None:
        query = query.where(journal_entry.c.entry_date <= as_of)
    return int(conn.execute(query).scalar_one())


def suspense_by_trace(conn: Connection, party: str, as_of: date) -> dict[str, int]:
    """Money held in suspense for `party` (a payer's BN9) at the end of `as_of`, by trace number."""
    rows = conn.execute(
        select(journal_line.c.trace, func.sum(journal_line.c.credit_cents - journal_line.c.debit_cents))
        .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
        .where(journal_line.c.account == Account.SUSPENSE, journal_line.c.party == party, journal_entry.c.entry_date <= as_of)
        .group_by(journal_line.c.trace)
    )
    return {row[0]: int(row[1]) for row in rows if int(row[1])}


def check_books(conn: Connection) -> list[Problem]:
    """`carm ledger check`: every entry balanced, every line one-sided, every cache equal to the journal."""
    problems: list[Problem] = []
    unbalanced = conn.execute(
        select(journal_line.c.entry_id, func.sum(journal_line.c.debit_cents), func.sum(journal_line.c.credit_cents))
        .group_by(journal_line.c.entry_id)
        .having(func.sum(journal_line.c.debit_cents) != func.sum(journal_line.c.credit_cents))
    )
    problems += [Problem("unbalanced", f"debits {d} != credits {c}", f"entry {e}") for e, d, c in unbalanced]
    empty = conn.execute(
        select(journal_entry.c.id).where(~select(journal_line.c.id).where(journal_line.c.entry_id == journal_entry.c.id).exists())
    )
    problems += [Problem("empty-entry", "no lines", f"entry {e}") for (e,) in empty]
    bad_lines = conn.execute(
        select(journal_line.c.id).where(
            (journal_line.c.debit_cents < 0)
            | (journal_line.c.credit_cents < 0)
            | ((journal_line.c.debit_cents > 0) == (journal_line.c.credit_cents > 0))
        )
    )
    problems += [Problem("bad-line", "not one positive side", f"line {i}") for (i,) in bad_lines]

    per_item = dict(
        conn.execute(
            select(journal_line.c.item_id, func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents))
            .where(journal_line.c.account == Account.AR, journal_line.c.item_id.is_not(None))
            .group_by(journal_line.c.item_id)
        ).all()
    )
    cached_items = dict(conn.execute(select(item_balance.c.item_id, item_balance.c.balance_cents)).all())
    for item_id in sorted(set(per_item) | set(cached_items)):
        journal, cached = int(per_item.get(item_id, 0)), int(cached_items.get(item_id, 0))
        if journal != cached:
            problems.append(Problem("stale-cache", f"cache {cached} != journal {journal}", f"item {item_id}"))

    per_account = dict(
        conn.execute(
            select(journal_line.c.rm15, func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents))
            .where(journal_line.c.account == Account.AR)
            .group_by(journal_line.c.rm15)
        ).all()
    )
    cached_accounts = dict(conn.execute(select(account_balance.c.rm15, account_balance.c.balance_cents)).all())
    for rm15 in sorted(set(per_account) | set(cached_accounts), key=str):
        journal, cached = int(per_account.get(rm15, 0)), int(cached_accounts.get(rm15, 0))
        if journal != cached:
            problems.append(Problem("stale-cache", f"cache {cached} != journal {journal}", f"account {rm15}"))
    total = conn.execute(select(func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents))).scalar() or 0
    if int(total):
        problems.append(Problem("unbalanced", f"the journal as a whole is off by {int(total)} cents", "journal"))
    return problems


def post(conn: Connection, entry: Entry, at: datetime) -> int | None:
    """Post one entry (`write_plan` of a plan holding only it): its id, or None when its key was
    already posted with the same content."""
    return write_plan(conn, Plan(entries=[entry]), at).entry_ids.get(entry.key)
