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
from .model import ACCOUNTS, REASONS, Entry, JournalLine

__all__ = ["check_entry", "check_line", "check_totals"]


def check_line(key: str, line: JournalLine) -> None:
    """Raise `UnbalancedEntry` unless `line` may be a line of the entry `key`."""
    if line.account not in ACCOUNTS:
        raise UnbalancedEntry(f"entry {key}: unknown account {line.account}")
    if not isinstance(line.debit_cents, int) or not isinstance(line.credit_cents, int):
        raise UnbalancedEntry(f"entry {key}: amounts must be integer cents")
    if not ((line.debit_cents > 0 and line.credit_cents == 0) or (line.credit_cents > 0 and line.debit_cents == 0)):
        raise UnbalancedEntry(f"entry {key}: a line must be a positive debit or a positive credit")


def check_totals(key: str, reason: str, count: int, debits: int, credits: int) -> None:
    """Raise `UnbalancedEntry` unless an entry of `count` checked lines with these totals may be held."""
    if not count:
        raise UnbalancedEntry(f"entry {key} has no lines")
    if debits != credits:
        raise UnbalancedEntry(f"entry {key}: debits {debits} != credits {credits}")
    if reason not in REASONS:
        raise UnbalancedEntry(f"entry {key}: unknown reason {reason}")


def check_entry(entry: Entry) -> None:
    """Raise `UnbalancedEntry` unless `entry` is one the books may hold."""
    for line in entry.lines:
        check_line(entry.key, line)
    debits = sum(line.debit_cents for line in entry.lines)
    credits = sum(line.credit_cents for line in entry.lines)
    check_totals(entry.key, entry.reason, len(entry.lines), debits, credits)
