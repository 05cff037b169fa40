"""What can go wrong in the statements layer.

    CarmError (core.errors)
    └── StatementsError          base of everything raised here
        ├── InvalidDocument      a document failed its XSD: a bug, never written
        ├── DeliveryError        an outbox or SMTP server could not take a notice (infrastructure)
        ├── UnknownAccount       a report asked for an RM15 no program account has
        └── UnknownRecipient     a monitoring report asked for a recipient nobody registered

Problems in the data (a recipient without an e-mail address, a period not yet
closed) are not exceptions: they are returned as `core.problems.Problem` values in reports.
"""

from __future__ import annotations

from core.errors import CarmError

__all__ = ["StatementsError", "InvalidDocument", "DeliveryError", "UnknownAccount", "UnknownRecipient"]


class StatementsError(CarmError):
    """Base of the statements layer's exceptions."""


class InvalidDocument(StatementsError):
    """A Daily Notice or Statement of Account does not validate against its XSD."""


class DeliveryError(StatementsError):
    """A notice could not be handed to the outbox or to the SMTP server."""


class UnknownAccount(StatementsError):
    """A report was asked for an RM15 that no program account has."""


class UnknownRecipient(StatementsError):
    """A monitoring report was asked for a recipient that is not registered."""
