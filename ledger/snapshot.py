"""The open items of the accounts a job touches, kept current while the job plans.

The store reads a snapshot once (`store.journal.open_items`); a rule plans against it,
and `apply` folds each plan in, so the next payment of the same file, or the next step of
the same close, sees what the previous one did — exactly as the books will once the plan
is written.
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import DEBT_KINDS, Entry, Item, JournalLine, NewItem

__all__ = ["Snapshot"]


class Snapshot:
    """Items by key, in the order they were created (the store's row order, then new ones),
    indexed by account: a payment of many accounts reads each account's items, not all of them.

    `apply` moves only the balances (a dict of cents); an item is rebuilt with its new balance
    when it is next read — most are paid once and never read again in the same job."""

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._items: dict[str, Item] = {}
        self._balances: dict[str, int] = {}
        self._order: dict[str, int] = {}
        self._by_account: dict[str, list[str]] = {}
        for it in items:
            self._add(it)

    def _add(self, item: Item) -> None:
        if item.key not in self._items:
            self._order[item.key] = len(self._order)
            self._by_account.setdefault(item.rm15, []).append(item.key)
        self._items[item.key] = item
        self._balances[item.key] = item.balance_cents

    def _current(self, key: str) -> Item:
        it = self._items[key]
        if it.balance_cents != self._balances[key]:
            it = self._items[key] = it._replace(balance_cents=self._balances[key])
        return it

    def items(self, rm15s: Iterable[str] | str | None = None, *, open_only: bool = True) -> list[Item]:
        """The items of the accounts (all accounts when None), in creation order."""
        if rm15s is None:
            keys: list[str] = list(self._items)
        else:
            wanted = [rm15s] if isinstance(rm15s, str) else sorted(set(rm15s))
            keys = [key for rm15 in wanted for key in self._by_account.get(rm15, ())]
            if len(wanted) > 1:
                keys.sort(key=self._order.__getitem__)
        return [self._current(key) for key in keys if not open_only or self._balances[key] != 0]

    def get(self, key: str) -> Item | None:
        return self._current(key) if key in self._items else None

    def ids(self) -> dict[str, int]:
        """The store's id of every item it has one for (those it was read with)."""
        return {key: it.id for key, it in self._items.items() if it.id is not None}

    def apply(self, items: Iterable[NewItem] = (), entries: Iterable[Entry] = ()) -> None:
        """Open the new items (unless they exist) and add every AR line to its item's balance."""
        for new in items:
            if new.key not in self._items:
                self._add(new.opened())
        balances = self._balances
        for entry in entries:
            for line in entry.lines:
                if line.item_key is not None:
                    balances[line.item_key] += line.debit_cents - line.credit_cents

    def apply_payment(self, items: Iterable[NewItem], lines: Iterable[JournalLine]) -> None:
        """Fold in a part of a payment (`ledger.posting.PaymentPart`): the debts it opens (an
        administrative fee) and its lines on the items known here.  The unapplied credits it opens
        are left out: a payment reaches only debts (decision L3), so no later payment of the same
        job reads them, and a payment of 100,000 lines would otherwise keep 100,000 items here (L31)."""
        for new in items:
            if new.kind in DEBT_KINDS and new.key not in self._items:
                self._add(new.opened())
        balances = self._balances
        for line in lines:
            if line.item_key is not None and line.item_key in balances:
                balances[line.item_key] += line.debit_cents - line.credit_cents
