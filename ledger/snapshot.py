"""The open items of the accounts a job touches, kept current while the job plans.

The store reads a snapshot once (`store.journal.open_items`); a rule plans against it,
and `apply` folds each plan in, so the next payment of the same file, or the next step of
the same close, sees what the previous one did — exactly as the books will once the plan
is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .model import Entry, Item, NewItem

__all__ = ["Snapshot"]


class Snapshot:
    """Items by key, in the order they were created (the store's row order, then new ones),
    indexed by account: a payment of many accounts reads each account's items, not all of them."""

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._items: dict[str, Item] = {}
        self._order: dict[str, int] = {}
        self._by_account: dict[str, list[str]] = {}
        for it in items:
            self._add(it)

    def _add(self, item: Item) -> None:
        if item.key in self._items:
            self._items[item.key] = item
            return
        self._items[item.key] = item
        self._order[item.key] = len(self._order)
        self._by_account.setdefault(item.rm15, []).append(item.key)

    def items(self, rm15s: Iterable[str] | str | None = None, *, open_only: bool = True) -> list[Item]:
        """The items of the accounts (all accounts when None), in creation order."""
        if rm15s is None:
            found: Iterable[Item] = self._items.values()
        else:
            wanted = [rm15s] if isinstance(rm15s, str) else sorted(set(rm15s))
            keys = [key for rm15 in wanted for key in self._by_account.get(rm15, ())]
            if len(wanted) > 1:
                keys.sort(key=self._order.__getitem__)
            found = (self._items[key] for key in keys)
        return [it for it in found if not open_only or it.balance_cents != 0]

    def get(self, key: str) -> Item | None:
        return self._items.get(key)

    def apply(self, items: Iterable[NewItem] = (), entries: Iterable[Entry] = ()) -> None:
        """Open the new items (unless they exist) and add every AR line to its item's balance."""
        for new in items:
            if new.key not in self._items:
                self._add(new.opened())
        for entry in entries:
            for line in entry.lines:
                if line.item_key is None:
                    continue
                it = self._items[line.item_key]
                self._items[line.item_key] = replace(it, balance_cents=it.balance_cents + line.signed_cents)
