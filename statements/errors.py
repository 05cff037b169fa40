"""What can go wrong in the statements layer.

    StatementsError            -- base of everything raised here
    ├── InvalidDocument        -- a document failed its XSD: a bug, never written (issue 4)
    └── DeliveryError          -- an outbox or SMTP server could not take a notice (infrastructure)

Problems in the data (a recipient without an e-mail address, a period not yet
closed) are not exceptions: they are returned as `Problem` values in reports.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StatementsError", "InvalidDocument", "DeliveryError", "Problem"]


class StatementsError(Exception):
    """Base of the statements layer's exceptions."""


class InvalidDocument(StatementsError):
    """A Daily Notice or Statement of Account does not validate against its XSD."""


class DeliveryError(StatementsError):
    """A notice could not be handed to the outbox or to the SMTP server."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something in the data that a person should look at.

    Attributes:
        code: short machine code (`no_email`, `period_not_closed`, …).
        message: what happened, in English.
        where: the account, business or notice it is about.
    """

    code: str
    message: str
    where: str = ""
