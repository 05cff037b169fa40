"""The rules of the append-only double-entry journal (D17-R18: corrections are new entries).

Every entry the rules plan is checked here before the store writes it:

* it has lines, each a positive debit or a positive credit in integer cents, on an
  account of the chart (`ledger.model.Account`);
* debits equal credits;
* it carries a reason (`ledger.model.Reason`).

Its idempotency key comes from the source document; the store refuses the same key with
other content (`IdempotencyConflict`) and treats the same key with the same content as a
harmless replay.
"""

from __future__ import annotations

from .errors import UnbalancedEntry
from .model import ACCOUNTS, REASONS, Entry

__all__ = ["check_entry"]


def check_entry(entry: Entry) -> None:
    """Raise `UnbalancedEntry` unless `entry` is one the books may hold."""
    if not entry.lines:
        raise UnbalancedEntry(f"entry {entry.key} has no lines")
    for line in entry.lines:
        if line.account not in ACCOUNTS:
            raise UnbalancedEntry(f"entry {entry.key}: unknown account {line.account}")
        if not isinstance(line.debit_cents, int) or not isinstance(line.credit_cents, int):
            raise UnbalancedEntry(f"entry {entry.key}: amounts must be integer cents")
        if not ((line.debit_cents > 0 and line.credit_cents == 0) or (line.credit_cents > 0 and line.debit_cents == 0)):
            raise UnbalancedEntry(f"entry {entry.key}: a line must be a positive debit or a positive credit")
    debits = sum(line.debit_cents for line in entry.lines)
    credits = sum(line.credit_cents for line in entry.lines)
    if debits != credits:
        raise UnbalancedEntry(f"entry {entry.key}: debits {debits} != credits {credits}")
    if entry.reason not in REASONS:
        raise UnbalancedEntry(f"entry {entry.key}: unknown reason {entry.reason}")
