"""Property: any mutation of a valid file gets an answer (997, TA1, or a recorded reason), never an exception.

The whole EDI path runs — read, validate, acknowledge, judge, 824 — with a fresh
in-memory store for each input, and every document it writes must read back as X12.
"""

from __future__ import annotations

import io
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import EASTERN
from edi.pipeline import acknowledge_file
from edi.reader import X12Reader
from edi.samples import LineSpec, PaymentSpec, file_820
from edi.store import MemoryEdiStore

from .edi_helpers import BASE_PAYMENT, base_file

VALID = base_file() + file_820(
    [BASE_PAYMENT, PaymentSpec("TRACE0002", "200000008", [LineSpec("200000008RM0001", 5_00, "40001")], kind="INT")],
    control_number=2,
    ack_requested=True,
)

def mutate(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for kind, position, payload in edits:
        if not out:
            out += payload
            continue
        at = position % len(out)
        if kind == "replace":
            out[at : at + len(payload)] = payload
        elif kind == "insert":
            out[at:at] = payload
        elif kind == "delete":
            del out[at : at + max(len(payload), 1)]
        elif kind == "truncate":
            del out[at:]
        elif kind == "duplicate":
            end = out.find(b"~", at)
            if end > 0:
                start = out.rfind(b"\n", 0, at) + 1
                out[end + 1 : end + 1] = out[start : end + 1]
    return bytes(out)


edit = st.tuples(
    st.sampled_from(["replace", "insert", "delete", "truncate", "duplicate"]),
    st.integers(min_value=0, max_value=len(VALID)),
    st.one_of(
        st.binary(min_size=1, max_size=8),
        st.sampled_from([b"*", b"~", b":", b"\n", b"ISA", b"GS*", b"ST*820*", b"SE*", b"GE*", b"IEA*", b"ENT*9~", b"0"]),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edit, min_size=1, max_size=4))
def test_any_mutation_is_answered_never_raised(edits):
    data = mutate(VALID, edits)
    outcome = acknowledge_file(io.BytesIO(data), "mutant.x12", store=MemoryEdiStore(), at=datetime(2026, 11, 21, tzinfo=EASTERN))
    result = outcome.result
    if not result.interchanges:
        assert result.problems, "an unusable file must say why"
        assert outcome.exit_code == 2
        return
    for ic in result.interchanges:
        answered_by_ta1 = ic.needs_ta1
        answered_by_997 = ic.usable and bool(ic.groups)
        assert answered_by_ta1 or answered_by_997 or (ic.usable and not ic.groups and outcome.exit_code in (0, 1))
    assert outcome.documents or all(ic.usable and not ic.groups for ic in result.interchanges)
    for _, content in outcome.documents.values():
        reader = X12Reader(io.BytesIO(content))
        segments = list(reader)
        assert segments[0].id == "ISA" and segments[-1].id == "IEA" and reader.problems == []
