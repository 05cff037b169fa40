"""A small X12 writer for what the engine sends: 997, TA1 and 824 interchanges.

Callers describe transaction sets as lists of segments (tuples of element
strings, without ST/SE); the writer adds ST/SE, GS/GE and ISA/IEA with the
counts and control numbers right, pads the ISA to its fixed width, drops
trailing empty elements, and keeps any delimiter out of the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .reader import Delimiters

__all__ = ["OUTBOUND_DELIMITERS", "Interchange", "FunctionalGroup", "format_segment", "isa_elements"]

#: What the engine writes: `*` elements, `:` components, `~` + LF after each segment.
OUTBOUND_DELIMITERS = Delimiters(element="*", component=":", segment="~", repetition=None, suffix="\n")

SegmentData = Sequence[str]


def _clean(value: str, delimiters: Delimiters) -> str:
    # Data copied from an inbound file (a bad value quoted in a TED or AK4) may
    # hold our delimiters or line breaks; they would break the segment.
    for char in (delimiters.element, delimiters.component, delimiters.segment, "\r", "\n"):
        value = value.replace(char, " ")
    return value


def format_segment(elements: SegmentData, delimiters: Delimiters = OUTBOUND_DELIMITERS) -> str:
    """One segment as text, terminator and suffix included, trailing empty elements dropped."""
    # Trailing spaces are "unnecessary" padding to X12 validators (pyx12 flags them).
    values = [_clean(str(v), delimiters).rstrip(" ") for v in elements]
    while len(values) > 1 and values[-1] == "":
        values.pop()
    return delimiters.element.join(values) + delimiters.segment + delimiters.suffix


def isa_elements(
    *,
    sender: tuple[str, str],
    receiver: tuple[str, str],
    control_number: int,
    at: datetime,
    usage: str,
    ack_requested: bool = False,
    delimiters: Delimiters = OUTBOUND_DELIMITERS,
) -> tuple[str, ...]:
    """The 16 ISA elements, fixed width (ISA06/ISA08 padded to 15)."""
    return (
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        sender[0][:2].ljust(2),
        sender[1].ljust(15)[:15],
        receiver[0][:2].ljust(2),
        receiver[1].ljust(15)[:15],
        at.strftime("%y%m%d"),
        at.strftime("%H%M"),
        "U",
        "00401",
        f"{control_number:09d}",
        "1" if ack_requested else "0",
        usage,
        delimiters.component,
    )


@dataclass(slots=True)
class FunctionalGroup:
    """A functional group to write.

    Attributes:
        functional_id: GS01 (`FA` for 997, `AG` for 824).
        sender_code / receiver_code: GS02 / GS03.
        control_number: GS06.
        sets: each transaction set as (ST01, body segments without ST/SE).
    """

    functional_id: str
    sender_code: str
    receiver_code: str
    control_number: int
    sets: list[tuple[str, list[SegmentData]]] = field(default_factory=list)


@dataclass(slots=True)
class Interchange:
    """An interchange to write: optional TA1s first, then functional groups.

    Attributes:
        sender / receiver: (qualifier, ID) for ISA05/06 and ISA07/08.
        control_number: ISA13.
        at: ISA09/ISA10 and GS04/GS05.
        usage: ISA15, `P` or `T`, echoing the interchange acknowledged.
        ta1s: TA1 segments (elements without the `TA1` id).
        groups: functional groups.
    """

    sender: tuple[str, str]
    receiver: tuple[str, str]
    control_number: int
    at: datetime
    usage: str = "P"
    ack_requested: bool = False
    ta1s: list[SegmentData] = field(default_factory=list)
    groups: list[FunctionalGroup] = field(default_factory=list)

    def segments(self, delimiters: Delimiters = OUTBOUND_DELIMITERS) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = [
            isa_elements(
                sender=self.sender,
                receiver=self.receiver,
                control_number=self.control_number,
                at=self.at,
                usage=self.usage,
                ack_requested=self.ack_requested,
                delimiters=delimiters,
            )
        ]
        out += [("TA1", *ta1) for ta1 in self.ta1s]
        for group in self.groups:
            out.append(
                (
                    "GS",
                    group.functional_id,
                    group.sender_code,
                    group.receiver_code,
                    self.at.strftime("%Y%m%d"),
                    self.at.strftime("%H%M"),
                    str(group.control_number),
                    "X",
                    "004010",
                )
            )
            for number, (set_id, body) in enumerate(group.sets, start=1):
                control = f"{number:04d}"
                out.append(("ST", set_id, control))
                out += [tuple(str(v) for v in seg) for seg in body]
                out.append(("SE", str(len(body) + 2), control))
            out.append(("GE", str(len(group.sets)), str(group.control_number)))
        out.append(("IEA", str(len(self.groups)), f"{self.control_number:09d}"))
        return out

    def render(self, delimiters: Delimiters = OUTBOUND_DELIMITERS) -> bytes:
        segments = self.segments(delimiters)
        # The ISA keeps its padding and its last element is the component
        # separator itself, so it is written as is.
        isa = delimiters.element.join(segments[0]) + delimiters.segment + delimiters.suffix
        rest = "".join(format_segment(seg, delimiters) for seg in segments[1:])
        return (isa + rest).encode("ascii", errors="replace")
