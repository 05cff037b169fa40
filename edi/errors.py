"""Exceptions of the EDI layer — for broken infrastructure and bugs, never for bad input.

    EdiError
    └── MapError        the pyx12 maps in `mappings/` cannot be loaded

Bad X12 is never an exception: it is a value in `edi.results` and an answer
in a 997, TA1 or 824.
"""


class EdiError(Exception):
    """Base of the EDI layer's exceptions."""


class MapError(EdiError):
    """The pyx12 maps cannot be loaded (a deployment problem, not bad input)."""
