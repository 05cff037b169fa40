"""One program account's receivable history: every item and every AR line, by date.

The store reads it once (`store.journal.account_history`); the close and collections
rules ask it for the account's items as of any day — exactly what the journal would
answer — and fold each entry they plan back in, so every later step sees the earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .model import Entry, Item, NewItem

__all__ = ["AccountHistory", "Movement"]


@dataclass(frozen=True, slots=True)
class Movement:
    """One AR line: the item it moves, the entry's key and date, signed cents."""

    item_key: str
    entry_key: str
    day: date
    cents: int


class AccountHistory:
    """Items (balances left at zero; each rule asks for the day it needs) and movements."""

    def __init__(self, rm15: str, items: Iterable[Item], movements: Iterable[Movement]) -> None:
        self.rm15 = rm15
        self._items: dict[str, Item] = {it.key: it._replace(balance_cents=0) for it in items}
        self._movements: list[Movement] = list(movements)
        self._entry_keys = {m.entry_key for m in self._movements}

    def has_item(self, key: str) -> bool:
        return key in self._items

    def has_entry(self, key: str) -> bool:
        return key in self._entry_keys

    def all_items(self) -> list[Item]:
        """Every item of the account, moved or not, in creation order (balances not computed)."""
        return list(self._items.values())

    def movements(self, upto: date | None = None) -> list[Movement]:
        return [m for m in self._movements if upto is None or m.day <= upto]

    def items_as_of(self, as_of: date | None = None, *, open_only: bool = True) -> list[Item]:
        """Items moved by a line dated up to the end of `as_of` (every date when None), with their
        balance then; zero balances left out when `open_only`.  In creation order."""
        balances: dict[str, int] = {}
        for m in self._movements:
            if as_of is None or m.day <= as_of:
                balances[m.item_key] = balances.get(m.item_key, 0) + m.cents
        return [
            it._replace(balance_cents=balances[key])
            for key, it in self._items.items()
            if key in balances and (not open_only or balances[key] != 0)
        ]

    def apply(self, items: Iterable[NewItem] = (), entries: Iterable[Entry] = ()) -> None:
        for new in items:
            self._items.setdefault(new.key, new.opened())
        for entry in entries:
            self._entry_keys.add(entry.key)
            for line in entry.lines:
                if line.item_key is not None and line.rm15 == self.rm15:
                    self._movements.append(Movement(line.item_key, entry.key, entry.day, line.signed_cents))
