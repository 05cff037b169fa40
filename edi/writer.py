"""A small X12 writer for what the engine sends: 997, TA1 and 824 interchanges.

Callers describe transaction sets as lists of segments (tuples of element
strings, without ST/SE); the writer adds ST/SE, GS/GE and ISA/IEA with the
counts and control numbers right, pads the ISA to its fixed width, drops
trailing empty elements, and writes every value in the X12 character set with no
delimiter inside it (`edi.charset.x12_text`; a composite is given as a tuple of its
components, so its own separator survives).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .charset import x12_text
from .guide import ISA_QUALIFIERS
from .reader import Delimiters

__all__ = ["OUTBOUND_DELIMITERS", "Interchange", "FunctionalGroup", "format_segment", "isa_elements", "isa_id"]

#: What the engine writes: `*` elements, `:` components, `~` + LF after each segment.
OUTBOUND_DELIMITERS = Delimiters(element="*", component=":", segment="~", repetition=None, suffix="\n")

#: An element is text, or a composite written as its components (`("4", "1")` → `4:1`).
Element = str | tuple[str, ...]
SegmentData = Sequence[Element]


def _element(value: Element, delimiters: Delimiters) -> str:
    if isinstance(value, tuple):
        components = [x12_text(str(c), delimiters).rstrip(" ") for c in value]
        while len(components) > 1 and components[-1] == "":
            components.pop()
        return delimiters.component.join(components)
    return x12_text(str(value), delimiters).rstrip(" ")


def format_segment(elements: SegmentData, delimiters: Delimiters = OUTBOUND_DELIMITERS) -> str:
    """One segment as text, terminator and suffix included, trailing empty elements dropped."""
    # Trailing spaces are "unnecessary" padding to X12 validators (pyx12 flags them).
    values = [_element(v, delimiters) for v in elements]
    while len(values) > 1 and values[-1] == "":
        values.pop()
    return delimiters.element.join(values) + delimiters.segment + delimiters.suffix


def _isa_qualifier(value: str) -> str:
    return value if value in ISA_QUALIFIERS else "ZZ"


def isa_id(value: str, delimiters: Delimiters = OUTBOUND_DELIMITERS) -> str:
    """An interchange ID as an ISA can carry it: in the X12 character set, at most 15
    characters, `UNKNOWN` when nothing is left (unpadded)."""
    return x12_text(value, delimiters)[:15].strip() or "UNKNOWN"


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
    """The 16 ISA elements, fixed width (ISA06/ISA08 padded to 15), each fitted to the control
    map: a qualifier outside its code list becomes `ZZ`, an ID is written in the X12
    character set (`x12_text`), and a blank one as `UNKNOWN`."""
    return (
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        _isa_qualifier(sender[0]),
        isa_id(sender[1], delimiters).ljust(15),
        _isa_qualifier(receiver[0]),
        isa_id(receiver[1], delimiters).ljust(15),
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
                out += [tuple(v if isinstance(v, tuple) else str(v) for v in seg) for seg in body]
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
