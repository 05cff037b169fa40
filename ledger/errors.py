"""Exceptions of the ledger — bugs and broken invariants, never bad input.

    CarmError (core.errors)
    └── LedgerError
        ├── UnbalancedEntry        an entry whose debits and credits differ (a bug in the caller)
        └── IdempotencyConflict    the same source key posted again with different content

Bad input (an unknown RM15, a malformed declaration row) is a value: a
finding in the 824, a `core.problems.Problem` in a load report.
"""

from core.errors import CarmError

__all__ = ["LedgerError", "UnbalancedEntry", "IdempotencyConflict"]


class LedgerError(CarmError):
    """Base of the ledger's exceptions."""


class UnbalancedEntry(LedgerError):
    """Debits and credits of an entry differ, or a line is not one-sided and positive."""


class IdempotencyConflict(LedgerError):
    """An idempotency key arrived again with a different payload (TigerBeetle's rule: report it)."""
