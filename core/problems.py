"""`Problem`: the one value type for something in the data a person should look at.

Every layer reports bad input as `Problem` values in its results — a registry row left
out, a declaration not posted, a document not sent — never as an exception.  (The 997,
TA1 and 824 carry their own X12-shaped records, `edi.results.SegmentError` and
`edi.advice.Finding`, because those are the acknowledgements' content.)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong in the data, found and reported (never raised).

    Attributes:
        code: a short machine code (`not-loaded`, `no-email`, `period-not-closed`, …).
        message: what a person reads.
        where: what it is about: a file line, a record, an account, a byte offset.
        rule: the rule or clause behind it (`D17-R14`, `820 guide BPR02`), when there is one.
    """

    code: str
    message: str
    where: str = ""
    rule: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message
