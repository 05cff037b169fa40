"""The engine's exceptions: for broken infrastructure and bugs, never for bad input.

    CarmError                       the root: the CLI turns any of them into one line and exit 2
    ├── ConfigError                 a setting is missing or malformed (core.settings)
    ├── SchemaError                 the database schema is not the one the engine needs (carm.db)
    ├── MapError                    the pyx12 maps cannot be loaded (edi.errors)
    ├── LedgerError                 a broken invariant of the books (ledger.errors)
    │   ├── UnbalancedEntry
    │   └── IdempotencyConflict
    ├── StatementsError             documents (statements.errors)
    │   ├── InvalidDocument
    │   ├── DeliveryError
    │   ├── UnknownAccount
    │   └── UnknownRecipient
    └── TransportError              partner folders unreachable or unwritable (transport.folders)

Bad data is a value (`core.problems.Problem`, or an acknowledgement); errors from
pyx12, paramiko or SQLAlchemy are translated at the boundary with `raise … from exc`.
"""

from __future__ import annotations

__all__ = ["CarmError", "ConfigError", "SchemaError"]


class CarmError(Exception):
    """Root of every exception the engine raises on purpose."""


class ConfigError(CarmError):
    """A setting is missing or malformed."""


class SchemaError(CarmError):
    """The database is not at the schema revision the engine needs (run `carm db upgrade`)."""
