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

from collections.abc import Callable
from datetime import datetime

from core.text import is_digits, is_gs_code, is_x12_id

from .guide import ACKNOWLEDGED_GROUPS, ACKNOWLEDGED_SETS, ISA_QUALIFIERS, RECEIVER_ID, RECEIVER_QUALIFIER, SET_CONTROL
from .results import GroupResult, InterchangeResult, SetResult
from .writer import FunctionalGroup, Interchange, isa_id

__all__ = ["ack_997_sets", "functional_ack_interchanges", "ta1_interchanges", "NextNumber", "partner_key", "reply_address"]

#: (partner, kind) -> next control number: `edi.store.EdiStore.next_control_number`.
NextNumber = Callable[[str, str], int]

_MAX_CODES = 5  # AK502-AK506 and AK905-AK909
#: N0 1/6 (AK302, AK902-AK904): a count or position beyond it is written as this.
_MAX_N0_6 = 999_999


def _valid(text: str, fmt: str, length: int) -> bool:
    if not is_digits(text, length, length):
        return False
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def partner_key(ic: InterchangeResult) -> str:
    """The trading partner an interchange came from: `ISA05:ISA06`."""
    return f"{ic.sender[0]}:{ic.sender[1]}"


def reply_address(ic: InterchangeResult, sender: str | None = None) -> tuple[str, str]:
    """(ISA07, ISA08) of the engine's answer to `ic`: the partner the file came from when it is
    known (its folder: whatever the ISA says, that is who receives the answer), else the
    interchange's ISA05/ISA06 — or, when those could not stand in an ISA, `ZZ`/`UNKNOWN`."""
    if sender is not None:
        qualifier, _, identifier = sender.partition(":")
        return qualifier, identifier
    qualifier = ic.sender[0] if ic.sender[0] in ISA_QUALIFIERS else "ZZ"
    identifier = ic.sender[1] if is_x12_id(ic.sender[1]) else isa_id(ic.sender[1])
    return qualifier, identifier


def reply_key(ic: InterchangeResult, sender: str | None = None) -> str:
    """The control number sequence of the answers to `ic` (`reply_address` as `Q:ID`)."""
    qualifier, identifier = reply_address(ic, sender)
    return f"{qualifier}:{identifier}"


def _n0(value: int) -> str:
    return str(min(value, _MAX_N0_6))


def _ak2_loop(st: SetResult) -> list[tuple]:
    # AK201/AK202 echo ST01/ST02 when the 997 map takes them; else the set slot the guide
    # expects (`820`, `0000`), the AK5 codes saying what was wrong (decision E16).
    set_id = st.set_id if st.set_id in ACKNOWLEDGED_SETS else "820"
    control = st.control_number if SET_CONTROL.fullmatch(st.control_number) else "0000"
    out: list[tuple] = [("AK2", set_id, control)]
    for err in st.errors:
        segment_id = err.segment_id if _is_segment_id(err.segment_id) else "ZZZ"
        out.append(("AK3", segment_id, _n0(err.position), err.loop_id[:4], err.code))
        for ele in err.elements:
            where = str(min(ele.position, 99))
            position = where if ele.component is None else (where, str(min(ele.component, 99)))
            data_element = ele.data_element if is_digits(ele.data_element, 1, 4) else ""  # AK402 N0 1/4: not a composite's C040
            out.append(("AK4", position, data_element, ele.code, ele.bad_value[:99]))
    out.append(("AK5", st.ack_code, *st.codes[:_MAX_CODES]))
    return out


def _is_segment_id(text: str) -> bool:
    """AK301 (ID 2/3): an uppercase letter, then one or two uppercase letters or digits."""
    return 2 <= len(text) <= 3 and "A" <= text[0] <= "Z" and all("A" <= c <= "Z" or "0" <= c <= "9" for c in text)


def ack_997_sets(group: GroupResult) -> list[tuple]:
    """The body of the 997 acknowledging `group` (AK1 … AK9), without ST/SE."""
    functional_id = group.functional_id if group.functional_id in ACKNOWLEDGED_GROUPS else "RA"
    control = group.control_number if is_digits(group.control_number, 1, 9) else "0"
    body: list[tuple] = [("AK1", functional_id, control)]
    for st in group.sets:
        body += _ak2_loop(st)
    received = len(group.sets)
    included = group.declared_sets if group.declared_sets is not None else received
    body.append(
        ("AK9", group.ack_code, _n0(included), _n0(received), _n0(group.accepted_count), *group.codes[:_MAX_CODES])
    )
    return body


def functional_ack_interchanges(
    ic: InterchangeResult, next_number: NextNumber, at: datetime, sender: str | None = None
) -> list[Interchange]:
    """The 997 interchange answering `ic` (none when the envelope was rejected)."""
    if not ic.usable or not ic.groups:
        return []
    address = reply_address(ic, sender)
    key = reply_key(ic, sender)
    outbound = Interchange(
        sender=(RECEIVER_QUALIFIER, RECEIVER_ID),
        receiver=address,
        control_number=next_number(key, "ISA"),
        at=at,
        usage=ic.usage if ic.usage in ("P", "T") else "P",
    )
    # One FA group per application sender the FI used (GS02), in file order.
    by_sender: dict[str, FunctionalGroup] = {}
    for group in ic.groups:
        fa = by_sender.get(group.sender_code)
        if fa is None:
            receiver = group.sender_code if is_gs_code(group.sender_code) else address[1]
            fa = FunctionalGroup("FA", RECEIVER_ID, receiver, next_number(key, "GS"))
            by_sender[group.sender_code] = fa
            outbound.groups.append(fa)
        fa.sets.append(("997", ack_997_sets(group)))
    return [outbound]


def ta1_interchanges(ic: InterchangeResult, next_number: NextNumber, at: datetime, sender: str | None = None) -> list[Interchange]:
    """The TA1 interchange answering `ic`, when one was requested or the envelope is rejected."""
    if not ic.needs_ta1:
        return []
    # TA101-TA103 echo the inbound ISA13, ISA09, ISA10; when those are the
    # very thing that is wrong, echoing them would make our own TA1 invalid X12
    # (decision E13): zeros for the number, the processing time for date/time.
    control = ic.control_number if is_digits(ic.control_number, 9, 9) else "0" * 9
    date = ic.date if _valid(ic.date, "%y%m%d", 6) else at.strftime("%y%m%d")
    time = ic.time if _valid(ic.time, "%H%M", 4) else at.strftime("%H%M")
    ta1 = (control, date, time, ic.ta1_ack, ic.ta1_code)
    return [
        Interchange(
            sender=(RECEIVER_QUALIFIER, RECEIVER_ID),
            receiver=reply_address(ic, sender),
            control_number=next_number(reply_key(ic, sender), "ISA"),
            at=at,
            usage=ic.usage if ic.usage in ("P", "T") else "P",
            ta1s=[ta1],
        )
    ]
