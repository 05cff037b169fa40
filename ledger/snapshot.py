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
    """Items by key, in the order they were created (the store's row order, then new ones)."""

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._items: dict[str, Item] = {it.key: it for it in items}

    def items(self, rm15s: Iterable[str] | str | None = None, *, open_only: bool = True) -> list[Item]:
        """The items of the accounts (all accounts when None), in creation order."""
        wanted = {rm15s} if isinstance(rm15s, str) else (set(rm15s) if rm15s is not None else None)
        return [
            it for it in self._items.values()
            if (wanted is None or it.rm15 in wanted) and (not open_only or it.balance_cents != 0)
        ]

    def get(self, key: str) -> Item | None:
        return self._items.get(key)

    def apply(self, items: Iterable[NewItem] = (), entries: Iterable[Entry] = ()) -> None:
        """Open the new items (unless they exist) and add every AR line to its item's balance."""
        for new in items:
            self._items.setdefault(new.key, new.opened())
        for entry in entries:
            for line in entry.lines:
                if line.item_key is None:
                    continue
                it = self._items[line.item_key]
                self._items[line.item_key] = replace(it, balance_cents=it.balance_cents + line.signed_cents)
