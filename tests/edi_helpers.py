"""Helpers shared by the EDI tests: a conforming 820 and ways to read the engine's answers."""

from __future__ import annotations

import io
from datetime import datetime

from edi.acks import ack_997_sets
from edi.pipeline import acknowledge_file
from edi.results import FileResult
from edi.samples import LineSpec, PaymentSpec, file_820
from edi.store import MemoryEdiStore
from edi.validate import validate_stream
from edi.writer import format_segment

IMPORTER = "123456782"
BROKER = "300000007"

BASE_PAYMENT = PaymentSpec(
    trace="TRACE0001",
    payer_bn9=IMPORTER,
    payer_name="NORTHERN IMPORTS LTD",
    lines=[LineSpec(f"{IMPORTER}RM0001", 100_00), LineSpec(f"{IMPORTER}RM0002", 25_50)],
)


def base_file(**kwargs) -> bytes:
    """One interchange (ISA13 000000001), one group (GS06 1), one set (ST02 0001) paying 125.50."""
    return file_820([BASE_PAYMENT], **kwargs)


def validate(data: bytes) -> FileResult:
    return validate_stream(io.BytesIO(data))


def ack_segments(data: bytes, account_checks=None) -> list[str]:
    """The AK1…AK9 segments of every 997 the engine would send, as text without terminators:
    syntax, then the business refusals (the account-free checks, and `account_checks` when given)."""
    outcome = acknowledge_file(io.BytesIO(data), "case.x12", store=MemoryEdiStore(), at=datetime(2026, 11, 21, 8, 15),
                               account_checks=account_checks)
    result = outcome.result
    out = []
    for ic in result.interchanges:
        if ic.usable:
            for group in ic.groups:
                out += [format_segment(seg).rstrip("~\n") for seg in ack_997_sets(group)]
    return out


def ta1s(data: bytes) -> list[tuple[str, str, str]]:
    """(ISA13, TA104, TA105) for every interchange that gets a TA1."""
    return [(ic.control_number, ic.ta1_ack, ic.ta1_code) for ic in validate(data).interchanges if ic.needs_ta1]


def edit(data: bytes, old: str, new: str, *, fix_count: bool = True) -> bytes:
    """Replace `old` by `new` in a one-segment-per-line file and, unless told not to,
    recount SE01 so that the edit is the only error in the file."""
    text = data.decode()
    assert old in text, old
    lines = text.replace(old, new).split("\n")
    if fix_count:
        start = None
        for i, line in enumerate(lines):
            if line.startswith("ST*"):
                start = i
            elif line.startswith("SE*") and start is not None:
                parts = line.rstrip("~").split("*")
                parts[1] = str(i - start + 1)
                lines[i] = "*".join(parts) + "~"
                start = None
    return "\n".join(lines).encode()


def pyx12_verdict(data: bytes) -> tuple[bool, list[str]]:
    """Validate bytes the engine wrote with pyx12 itself, against the maps in mappings/."""
    import pyx12.params
    import pyx12.x12n_document

    from mappings import MAP_DIR

    ack = io.StringIO()
    ok = pyx12.x12n_document.x12n_document(
        pyx12.params.params(), io.StringIO(data.decode("ascii")), ack, None, map_path=str(MAP_DIR)
    )
    return bool(ok), [line for line in ack.getvalue().splitlines() if line.startswith(("AK3", "AK4", "AK5"))]
