"""Generate a large, conforming 820 payment file, streamed to disk.

    python bench/gen820.py --lines 100000 --sets 10 --out /tmp/820-100k.x12

The file follows the 820 guide exactly as `edi.samples` writes it (one
interchange, one RA group, `--sets` transaction sets sharing `--lines` ENT
lines between them), with valid BN9 / RM15 check digits (`edi.identifiers`)
and amounts whose sum is each set's BPR02.  Sets cycle through the payment
kinds: `SOA` and `ADV` (a broker with its security account) carry ENT + RMR per
line, `INT` adds the REF*ZZ ASEC the guide requires after each RMR — so a file
holds about 2.33 segments per line plus envelope and headers.

Memory stays flat: no set is ever held whole.  The header of each set comes
from `edi.samples.PaymentSpec` (built with no lines and the total precomputed),
the ENT/RMR/REF segments are written line by line in the form
`PaymentSpec.segments` gives them, and every segment goes through
`edi.writer.format_segment`, the function `edi.samples.file_820` renders with.
`--check` proves the two agree byte for byte on a small file.

Deterministic: the same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.identifiers import asec_problem, luhn_check_digit, rm15_problem  # noqa: E402
from core.money import format_cents  # noqa: E402
from edi.guide import RECEIVER_ID, RECEIVER_QUALIFIER  # noqa: E402
from edi.samples import LineSpec, PaymentSpec, file_820  # noqa: E402
from edi.writer import OUTBOUND_DELIMITERS, format_segment, isa_elements  # noqa: E402

__all__ = ["GenStats", "bn9", "set_specs", "write_820", "main"]

SENDER = "BANKOFBENCH"
WHEN = datetime(2026, 11, 20, 9, 30)
KINDS = ("SOA", "ADV", "INT")
#: Distinct importers the lines pay (RM15 = importer BN9 + RM + 0001…0009).
IMPORTERS = 5000
#: The guide allows 1…100000 ENT per set.
MAX_LINES_PER_SET = 100_000


def bn9(n: int) -> str:
    """The n-th business number: 8 digits + Luhn check digit (DOMAIN §1)."""
    head = f"{10_000_000 + n:08d}"
    return head + str(luhn_check_digit(head))


def _line(set_no: int, i: int, kind: str) -> LineSpec:
    """LineSpec `i` (0-based) of set `set_no`: deterministic, valid identifiers."""
    k = (set_no * 7919 + i * 104_729) % IMPORTERS
    rm15 = f"{bn9(100 + k)}RM{i % 9 + 1:04d}"
    cents = 100 + (set_no * 31_337 + i * 2_654_435_761) % 2_500_000  # 1.00 … 25,000.99
    asec = f"S{k % 10000:04d}" if kind == "INT" else None
    return LineSpec(rm15, cents, asec)


def _lines(set_no: int, count: int, kind: str) -> Iterator[LineSpec]:
    for i in range(count):
        yield _line(set_no, i, kind)


@dataclass(frozen=True, slots=True)
class GenStats:
    lines: int
    sets: int
    segments: int
    bytes: int


def _split(lines: int, sets: int) -> list[int]:
    if sets < 1 or lines < sets:
        raise ValueError("need at least one set and at least one line per set")
    base, extra = divmod(lines, sets)
    counts = [base + (1 if s < extra else 0) for s in range(sets)]
    if max(counts) > MAX_LINES_PER_SET:
        raise ValueError(f"the guide allows at most {MAX_LINES_PER_SET} ENT per set: use more --sets")
    return counts


def set_specs(lines: int, sets: int) -> Iterator[tuple[PaymentSpec, int]]:
    """(header-only spec with its total, line count) for each set, in file order."""
    for s, count in enumerate(_split(lines, sets)):
        kind = KINDS[s % len(KINDS)]
        broker = kind == "ADV"
        payer = bn9(90_000 + s)
        total = sum(line.cents for line in _lines(s, count, kind))  # first pass: nothing kept
        spec = PaymentSpec(
            trace=f"BENCH{s + 1:010d}",
            payer_bn9=payer,
            payer_name=f"BENCH {'BROKER' if broker else 'IMPORTER'} {s + 1}",
            payer_asec=f"B{s % 10000:04d}" if broker else None,
            kind=kind,
            lines=(),
            total_cents=total,
        )
        yield spec, count


def _line_segments(line: LineSpec, number: int) -> Iterator[tuple[str, ...]]:
    # Exactly what PaymentSpec.segments() gives for one line.
    yield ("ENT", str(number))
    yield ("RMR", "11", line.rm15, "", format_cents(line.cents))
    if line.asec:
        yield ("REF", "ZZ", line.asec)


def write_820(out: BinaryIO, lines: int, sets: int, *, control_number: int = 1) -> GenStats:
    """Write the file to `out` segment by segment; return what was written."""
    d = OUTBOUND_DELIMITERS
    written = 0
    segments = 0
    buf: list[str] = []

    def emit(elements: tuple[str, ...], raw: str | None = None) -> None:
        nonlocal written, segments
        buf.append(raw if raw is not None else format_segment(elements, d))
        segments += 1
        if len(buf) >= 4096:
            flush()

    def flush() -> None:
        nonlocal written
        data = "".join(buf).encode("ascii")
        out.write(data)
        written += len(data)
        buf.clear()

    isa = isa_elements(
        sender=("ZZ", SENDER),
        receiver=(RECEIVER_QUALIFIER, RECEIVER_ID),
        control_number=control_number,
        at=WHEN,
        usage="P",
    )
    emit(isa, d.element.join(isa) + d.segment + d.suffix)
    emit(("GS", "RA", SENDER, RECEIVER_ID, WHEN.strftime("%Y%m%d"), WHEN.strftime("%H%M"), str(control_number), "X", "004010"))
    n_sets = 0
    for s, (spec, count) in enumerate(set_specs(lines, sets)):
        control = f"{s + 1:04d}"
        emit(("ST", "820", control))
        body = 0
        for seg in spec.segments():
            emit(seg)
            body += 1
        for number, line in enumerate(_lines(s, count, spec.kind), start=1):
            for seg in _line_segments(line, number):
                emit(seg)
                body += 1
        emit(("SE", str(body + 2), control))
        n_sets += 1
    emit(("GE", str(n_sets), str(control_number)))
    emit(("IEA", "1", f"{control_number:09d}"))
    flush()
    return GenStats(lines=lines, sets=n_sets, segments=segments, bytes=written)


def generate(path: str | os.PathLike, lines: int, sets: int) -> GenStats:
    with open(path, "wb") as out:
        return write_820(out, lines, sets)


def check(lines: int = 30, sets: int = 4) -> None:
    """The streamed file equals `edi.samples.file_820` on the same payments, and every identifier is valid."""
    import io

    buf = io.BytesIO()
    write_820(buf, lines, sets)
    specs = []
    for s, (spec, count) in enumerate(set_specs(lines, sets)):
        full = list(_lines(s, count, spec.kind))
        for line in full:
            assert rm15_problem(line.rm15) is None, line
            assert line.asec is None or asec_problem(line.asec) is None, line
        specs.append(
            PaymentSpec(
                trace=spec.trace,
                payer_bn9=spec.payer_bn9,
                payer_name=spec.payer_name,
                payer_asec=spec.payer_asec,
                kind=spec.kind,
                lines=full,
            )
        )
    expected = file_820(specs, sender_id=SENDER, control_number=1, group_control=1, at=WHEN)
    if buf.getvalue() != expected:
        raise AssertionError("streamed file differs from edi.samples.file_820")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000, help="ENT lines in the whole file (default 100000)")
    parser.add_argument("--sets", type=int, default=10, help="transaction sets sharing the lines (default 10)")
    parser.add_argument("--out", type=Path, help="file to write")
    parser.add_argument("--check", action="store_true", help="compare with edi.samples.file_820 on a small file and exit")
    args = parser.parse_args(argv)
    if args.check:
        check()
        check(lines=7, sets=1)
        print("ok: streamed output equals edi.samples.file_820")
        return 0
    if args.out is None:
        parser.error("--out is required")
    stats = generate(args.out, args.lines, args.sets)
    print(f"{args.out}: {stats.lines} lines, {stats.sets} sets, {stats.segments} segments, {stats.bytes} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
