"""Text as X12 and the agency's files mean it: ASCII digits, bounded numbers, printable IDs.

`str.isdigit()` and the regex `\\d` accept any Unicode digit ('²', '١', '１', '𝟗'), and
`int()` accepts most of them — or refuses a string of more than 4,300 digits with a
`ValueError`.  Every number read from outside the engine goes through `number()`, which
takes ASCII digits only and no more of them than the field allows.  Functions return a
value or None, never raise.  Standard library only (see `core.identifiers`).
"""

from __future__ import annotations

import re

__all__ = ["is_digits", "number", "X12_ID", "X12_GS_CODE", "ISA_QUALIFIERS", "is_x12_id", "is_gs_code", "shown"]

_DIGITS = re.compile(r"[0-9]+")

#: An interchange ID (ISA06/ISA08 without its padding), as partners are registered: a letter
#: or digit, then up to 14 of letters, digits, space and `.&()/+,-` — characters of the X12
#: basic set that no engine uses as a delimiter.
X12_ID = re.compile(r"[A-Za-z0-9]([A-Za-z0-9 .&()/+,-]{0,13}[A-Za-z0-9.&()/+,-])?")
#: An application sender or receiver code (GS02/GS03): the same characters, 2 to 15 of them.
#: Neither ends with a space: a translator strips trailing spaces, and `B ` would be sent back as
#: `B`, too short for GS03.
X12_GS_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .&()/+,-]{0,13}[A-Za-z0-9.&()/+,-]")
#: ISA05/ISA07 interchange ID qualifiers in use (X12 I05): what the guide and the control map take.
ISA_QUALIFIERS = frozenset({"01", "08", "09", "12", "14", "16", "20", "27", "28", "29", "30", "33", "ZZ"})


def is_digits(text: str, min_len: int = 1, max_len: int | None = None) -> bool:
    """True when `text` is ASCII digits only, `min_len` to `max_len` of them."""
    if len(text) < min_len or (max_len is not None and len(text) > max_len):
        return False
    return _DIGITS.fullmatch(text) is not None


def number(text: str, max_len: int) -> int | None:
    """`text` as a non-negative integer when it is 1 to `max_len` ASCII digits, else None.

    >>> number("0012", 9), number("²", 6), number("1" * 5000, 9)
    (12, None, None)
    """
    return int(text) if is_digits(text, 1, max_len) else None


def is_x12_id(text: str) -> bool:
    """Whether `text` (padding stripped) can be a trading partner's interchange ID."""
    return X12_ID.fullmatch(text) is not None


def is_gs_code(text: str) -> bool:
    """Whether `text` can be an application sender or receiver code (GS02/GS03)."""
    return X12_GS_CODE.fullmatch(text) is not None


def shown(value: str, limit: int = 40) -> str:
    """An outside value as a message quotes it: `repr` (a NUL or a control character is escaped,
    never written raw to a log, a terminal or a database), at most `limit` characters of it."""
    return repr(value if len(value) <= limit else value[:limit] + "…")
