"""Exceptions of the EDI layer — for broken infrastructure and bugs, never for bad input.

    CarmError (core.errors)
    └── EdiError
        └── MapError        the pyx12 maps in `mappings/` cannot be loaded

Bad X12 is never an exception: it is a value in `edi.results` and an answer
in a 997, TA1 or 824.
"""

from core.errors import CarmError

__all__ = ["EdiError", "MapError"]


class EdiError(CarmError):
    """Base of the EDI layer's exceptions."""


class MapError(EdiError):
    """The pyx12 maps cannot be loaded (a deployment problem, not bad input)."""
