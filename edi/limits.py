"""What one inbound file may cost the engine: policy numbers, configured by the application.

An FI's file is untrusted input.  Whatever it holds, the engine answers it with bounded
memory, time and output (`docs/robustness.md`):

* `max_file_bytes` — a file larger than this is refused whole, with a report in words,
  before it is read (an 820 of 100,000 remittance lines is about 8 MB);
* `max_set_errors` — AK3 segment notes per transaction set: past this, the set is rejected
  all the same and its remaining segments are not validated (`SetResult.unchecked`);
* `max_file_errors` — AK3 segment notes per file: once spent, every later set is still
  validated, but given up at its first error, and rejected with AK5 code 5 and no note — so
  a file of broken sets costs about what a valid file of its size costs, and its 997 stays
  smaller than the file;
* `max_payment_cents` — the largest payment (BPR02) the agency takes: above it the payment
  is refused before the 997 (decision E18), so no amount that cannot be posted is ever
  acknowledged.  It stays below `HARD_MAX_PAYMENT_CENTS`.

With them travels `engine`, the engine that checks set bodies against the guide:
`compiled` (the default, `edi.compiled`) or `pyx12` (pyx12's walker, kept to compare
against) — the same answers either way (decision E22), at a different cost.

`HARD_MAX_PAYMENT_CENTS` is not policy: it is what the books can hold.  An X12 `R 1/18`
amount may have 18 digits before its point — 10²⁰ cents, beyond a 64-bit integer (9.2 ×
10¹⁸) — so an amount of more than 16 digits before the point is a syntax error of the
set (AK4 code 5, `edi.payments`), never a number the ledger is handed.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError

__all__ = ["Limits", "DEFAULT_LIMITS", "ENGINES", "HARD_MAX_PAYMENT_CENTS"]

#: The most cents an amount can carry through the engine: 16 digits and the cents, in a BIGINT.
HARD_MAX_PAYMENT_CENTS = 10**18 - 1
#: The engines that can check a set's body (`Limits.engine`, `--engine`, CARM_EDI_ENGINE).
ENGINES = ("compiled", "pyx12")


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits one inbound file is held to (see the module doc)."""

    max_file_bytes: int = 100 * 2**20
    max_set_errors: int = 100
    max_file_errors: int = 1_000
    max_payment_cents: int = 1_000_000_000_000
    engine: str = "compiled"

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"the validation engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if min(self.max_file_bytes, self.max_set_errors, self.max_file_errors) < 1:
            raise ConfigError("the file size and segment note limits must be at least 1")
        if not 0 < self.max_payment_cents <= HARD_MAX_PAYMENT_CENTS:
            raise ConfigError(f"the payment ceiling must be between 1 and {HARD_MAX_PAYMENT_CENTS} cents")


#: The limits when the application configures none.
DEFAULT_LIMITS = Limits()
