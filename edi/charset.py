"""The X12 character set: what an element may hold, in what the engine reads and writes.

The extended character set of version 00401 (what pyx12 and partners' translators accept
in an AN or ID element): letters, digits, space and ``!"&'()*+,-./:;?=%~@[]_{}\\|<>#$``.
A control character, a NUL, a backtick or any non-ASCII character is outside it.
"""

from __future__ import annotations

from .reader import Delimiters

__all__ = ["X12_CHARACTERS", "REPLACEMENT", "is_x12_text", "x12_text"]

X12_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" "!\"&'()*+,-./:;?= %~@[]_{}\\|<>#$"
)
#: What the engine writes in place of a character it cannot send.
REPLACEMENT = "?"


def is_x12_text(value: str) -> bool:
    """Whether every character of `value` is in the X12 character set."""
    return all(char in X12_CHARACTERS for char in value)


def x12_text(value: str, delimiters: Delimiters) -> str:
    """`value` as it can stand in one element of a document written with `delimiters`: every
    character outside the X12 character set, and every delimiter, replaced by `?` (data copied
    from an inbound file — a bad value quoted in an AK4 or TED — may hold anything)."""
    reserved = (delimiters.element, delimiters.component, delimiters.segment)
    if all(char in X12_CHARACTERS and char not in reserved for char in value):
        return value
    return "".join(char if char in X12_CHARACTERS and char not in reserved else REPLACEMENT for char in value)
