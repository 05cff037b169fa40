"""Identifiers of the domain: BN9, RM15 program accounts, security account numbers.

DOMAIN.md §1: a BN9 is 9 digits whose last is a Luhn (mod 10) check digit over
the first 8; an RM15 is BN9 + `RM` + 4 digits; a security account number
(ASEC) is 5 characters.  Functions return booleans or the reason, never raise.
This module uses the standard library only (`transport.partners` runs under the
system Python before the project is installed).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from itertools import repeat
from operator import add, itemgetter, mod

from .text import is_digits

__all__ = ["luhn_check_digit", "is_valid_bn9", "rm15_problem", "bn9_problem", "asec_problem", "all_fine"]

_RM15 = re.compile(r"([0-9]{9})RM([0-9]{4})")
_ASEC = re.compile(r"[A-Z0-9]{5}")


#: Luhn's sum of the four digits `abcd` (the index, 0000…9999) where b and d are doubled: a BN9's
#: first eight digits are two such groups, so its check is two look-ups (`_checks_out`).
_LUHN4 = tuple(a + (2 * b - 9 * (b > 4)) + c + (2 * d - 9 * (d > 4))
               for a in range(10) for b in range(10) for c in range(10) for d in range(10))


def _checks_out(bn9: str) -> bool:
    """Whether nine ASCII digits pass Luhn (`luhn_check_digit` of the first eight is the ninth)."""
    return (_LUHN4[int(bn9[:4])] + _LUHN4[int(bn9[4:8])] + int(bn9[8])) % 10 == 0


def luhn_check_digit(digits: str) -> int:
    """The Luhn digit that completes `digits` (doubling every second digit from the right of the result)."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return (10 - total % 10) % 10


def is_valid_bn9(bn9: str) -> bool:
    return is_digits(bn9, 9, 9) and _checks_out(bn9)


def bn9_problem(bn9: str) -> str | None:
    """Why `bn9` is not a business number, or None."""
    if not is_digits(bn9, 9, 9):
        return f"{bn9!r} is not a 9-digit business number"
    if not is_valid_bn9(bn9):
        return f"business number {bn9} fails its check digit"
    return None


def rm15_problem(rm15: str) -> str | None:
    """Why `rm15` is not an import/export program account (`123456782RM0001`), or None."""
    match = _RM15.fullmatch(rm15)
    if match is None:
        return f"{rm15!r} is not an RM program account (9 digits + RM + 4 digits)"
    if not _checks_out(rm15):  # its first nine characters are digits (`_RM15`)
        return f"program account {rm15} - business number fails its check digit"
    return None


def asec_problem(asec: str) -> str | None:
    """Why `asec` is not a 5-character security account number, or None."""
    if not _ASEC.fullmatch(asec):
        return f"{asec!r} is not a 5-character security account number"
    return None


_FIRST4, _NEXT4, _NINTH = itemgetter(slice(0, 4)), itemgetter(slice(4, 8)), itemgetter(8)


def all_fine(rm15s: Collection[str], asecs: Collection[str]) -> bool:
    """Whether `rm15_problem` and `asec_problem` are None for every one of them — a payment's lines,
    checked without a Python call per line (`map` over C functions); when False, the caller asks
    each line for its problem."""
    if not all(map(_RM15.fullmatch, rm15s)) or not all(map(_ASEC.fullmatch, asecs)):
        return False
    luhn = _LUHN4.__getitem__  # nine ASCII digits each (`_RM15`): `_checks_out` for every one
    sums = map(add, map(add, map(luhn, map(int, map(_FIRST4, rm15s))), map(luhn, map(int, map(_NEXT4, rm15s)))),
               map(int, map(_NINTH, rm15s)))
    return not any(map(mod, sums, repeat(10)))
