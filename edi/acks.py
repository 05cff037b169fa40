"""997 functional acknowledgements and TA1 interchange acknowledgements.

Built by the engine from `edi.results`, not by pyx12's writer, which stamps
ISA13 from the clock, writes GS08 `00401`, puts the TA1 after GE and answers
only the last interchange of a file (PYX12-NOTES).  Here:

* every inbound interchange is answered by its own outbound interchange,
  sender and receiver swapped, ISA15 echoed;
* ISA13 and GS06 come from the persistent per-partner sequence;
* one 997 per inbound functional group (AK1…AK9), GS08 = `004010`;
* AK901 is derived from the AK5s: `A`, `P` (some sets rejected), `R`;
* a TA1 when ISA14 = 1 or when the envelope is rejected (then no 997);
  TA1s travel in their own interchange, right after the ISA.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from .guide import RECEIVER_ID, RECEIVER_QUALIFIER
from .results import GroupResult, InterchangeResult, SetResult
from .writer import OUTBOUND_DELIMITERS, FunctionalGroup, Interchange

__all__ = ["ack_997_sets", "functional_ack_interchanges", "ta1_interchanges", "NextNumber"]

#: (partner, kind) -> next control number: `edi.store.EdiStore.next_control_number`.
NextNumber = Callable[[str, str], int]

_MAX_CODES = 5  # AK502-AK506 and AK905-AK909


def _valid(text: str, fmt: str, length: int) -> bool:
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return len(text) == length


def partner_key(ic: InterchangeResult) -> str:
    """The trading partner an interchange came from: `ISA05:ISA06`."""
    return f"{ic.sender[0]}:{ic.sender[1]}"


def _fit(value: str, pattern: re.Pattern[str], placeholder: str) -> str:
    """An echoed inbound value, or `placeholder` when the value could not stand in our own
    997 (a malformed control number or identifier would make the 997 itself invalid X12)."""
    return value if pattern.match(value) else placeholder


_N0_9 = re.compile(r"^\d{1,9}$")
_ID_3 = re.compile(r"^[A-Z0-9]{3}$")
_AN_4_9 = re.compile(r"^[A-Za-z0-9 ]{4,9}$")
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")


def _ak2_loop(st: SetResult) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [("AK2", _fit(st.set_id, _ID_3, "000"), _fit(st.control_number, _AN_4_9, "0000"))]
    for err in st.errors:
        out.append(("AK3", _fit(err.segment_id, _SEGMENT_ID, "ZZZ"), str(err.position), err.loop_id[:4], err.code))
        for ele in err.elements:
            where = str(ele.position)
            if ele.component is not None:
                where += f"{OUTBOUND_DELIMITERS.component}{ele.component}"
            out.append(("AK4", where, ele.data_element, ele.code, ele.bad_value[:99]))
    out.append(("AK5", st.ack_code, *st.codes[:_MAX_CODES]))
    return out


def ack_997_sets(group: GroupResult) -> list[tuple[str, ...]]:
    """The body of the 997 acknowledging `group` (AK1 … AK9), without ST/SE."""
    body: list[tuple[str, ...]] = [("AK1", _fit(group.functional_id, re.compile(r"^[A-Z]{2}$"), "ZZ"), _fit(group.control_number, _N0_9, "0"))]
    for st in group.sets:
        body += _ak2_loop(st)
    received = len(group.sets)
    included = group.declared_sets if group.declared_sets is not None else received
    body.append(
        ("AK9", group.ack_code, str(included), str(received), str(group.accepted_count), *group.codes[:_MAX_CODES])
    )
    return body


def functional_ack_interchanges(
    ic: InterchangeResult, next_number: NextNumber, at: datetime
) -> list[Interchange]:
    """The 997 interchange answering `ic` (none when the envelope was rejected)."""
    if not ic.usable or not ic.groups:
        return []
    partner = partner_key(ic)
    outbound = Interchange(
        sender=(RECEIVER_QUALIFIER, RECEIVER_ID),
        receiver=ic.sender,
        control_number=next_number(partner, "ISA"),
        at=at,
        usage=ic.usage if ic.usage in ("P", "T") else "P",
    )
    # One FA group per application sender the FI used (GS02), in file order.
    by_sender: dict[str, FunctionalGroup] = {}
    for group in ic.groups:
        fa = by_sender.get(group.sender_code)
        if fa is None:
            fa = FunctionalGroup("FA", RECEIVER_ID, group.sender_code or ic.sender[1], next_number(partner, "GS"))
            by_sender[group.sender_code] = fa
            outbound.groups.append(fa)
        fa.sets.append(("997", ack_997_sets(group)))
    return [outbound]


def ta1_interchanges(ic: InterchangeResult, next_number: NextNumber, at: datetime) -> list[Interchange]:
    """The TA1 interchange answering `ic`, when one was requested or the envelope is rejected."""
    if not ic.needs_ta1:
        return []
    # TA101-TA103 echo the inbound ISA13, ISA09, ISA10; when those are the
    # very thing that is wrong, echoing them would make our own TA1 invalid X12
    # (decision E13): zeros for the number, the processing time for date/time.
    control = ic.control_number if len(ic.control_number) == 9 and ic.control_number.isdigit() else "0" * 9
    date = ic.date if _valid(ic.date, "%y%m%d", 6) else at.strftime("%y%m%d")
    time = ic.time if _valid(ic.time, "%H%M", 4) else at.strftime("%H%M")
    ta1 = (control, date, time, ic.ta1_ack, ic.ta1_code)
    return [
        Interchange(
            sender=(RECEIVER_QUALIFIER, RECEIVER_ID),
            receiver=ic.sender,
            control_number=next_number(partner_key(ic), "ISA"),
            at=at,
            usage=ic.usage if ic.usage in ("P", "T") else "P",
            ta1s=[ta1],
        )
    ]
