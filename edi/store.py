"""What the EDI stages keep between runs, behind one narrow interface.

* outbound control numbers — the per-partner sequences of ISA13 and GS06 (820 guide:
  "interchange/group control numbers from a persistent per-partner sequence");
* interchanges received — (sender, ISA13) with the file that brought it, so a second
  file reusing a control number gets TA1 025;
* answers sent — every acknowledgement written, by the partner the file came from and the
  file's digest, so a file received twice from a partner gets the same bytes back (and the
  same bytes from another partner are judged for that partner);
* reports — what was said of each file answered (`edi.pipeline.Report`, as JSON), so the
  same bytes again are reported as the first time without being validated.

`EdiStore` is the interface the pipeline uses.  `MemoryEdiStore` keeps it in memory (unit
tests, and `carm edi validate`, which must leave nothing behind that intake would read);
`store.edi.SqlEdiStore` keeps it in the database, inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

__all__ = ["EdiStore", "MemoryEdiStore", "MAX_CONTROL_NUMBER"]

#: ISA13 is 9 digits; GS06 up to 9.  Sequences wrap past this to 1.
MAX_CONTROL_NUMBER = 999_999_999


class EdiStore(Protocol):
    def next_control_number(self, partner: str, kind: str) -> int:
        """The next number of `kind` (`ISA`, `GS`) for `partner`, starting at 1, atomically."""

    def interchange_seen(self, sender: str, control_number: str, digest: str) -> str | None:
        """The digest of another file that already brought (sender, ISA13), or None."""

    def record_interchange(self, sender: str, control_number: str, digest: str, at: datetime) -> None:
        """Remember that the file `digest` brought (sender, ISA13) (idempotent)."""

    def documents(self, partner: str, digest: str) -> dict[str, tuple[str, bytes]]:
        """The answers stored for the file `digest` from `partner`: kind → (name, bytes), in the order written."""

    def save_document(self, partner: str, digest: str, kind: str, name: str, content: bytes, sequence: int, at: datetime) -> None:
        """Keep one answer to the file `digest` from `partner`."""

    def report(self, partner: str, digest: str) -> str | None:
        """The report kept for the file `digest` from `partner` (JSON), or None."""

    def save_report(self, partner: str, digest: str, report: str, at: datetime) -> None:
        """Keep the report of the file `digest` from `partner`."""


@dataclass
class MemoryEdiStore:
    """`EdiStore` in memory: nothing outlives the object."""

    numbers: dict[tuple[str, str], int] = field(default_factory=dict)
    interchanges: dict[tuple[str, str], str] = field(default_factory=dict)
    answers: dict[tuple[str, str], dict[str, tuple[str, bytes]]] = field(default_factory=dict)
    reports: dict[tuple[str, str], str] = field(default_factory=dict)

    def next_control_number(self, partner: str, kind: str) -> int:
        last = self.numbers.get((partner, kind), 0)
        value = last % MAX_CONTROL_NUMBER + 1
        self.numbers[(partner, kind)] = value
        return value

    def interchange_seen(self, sender: str, control_number: str, digest: str) -> str | None:
        other = self.interchanges.get((sender, control_number))
        return None if other is None or other == digest else other

    def record_interchange(self, sender: str, control_number: str, digest: str, at: datetime) -> None:
        self.interchanges.setdefault((sender, control_number), digest)

    def documents(self, partner: str, digest: str) -> dict[str, tuple[str, bytes]]:
        return dict(self.answers.get((partner, digest), {}))

    def save_document(self, partner: str, digest: str, kind: str, name: str, content: bytes, sequence: int, at: datetime) -> None:
        self.answers.setdefault((partner, digest), {})[kind] = (name, content)

    def report(self, partner: str, digest: str) -> str | None:
        return self.reports.get((partner, digest))

    def save_report(self, partner: str, digest: str, report: str, at: datetime) -> None:
        self.reports[(partner, digest)] = report
