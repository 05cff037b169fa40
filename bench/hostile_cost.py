"""What a hostile file costs the engine, per megabyte, against a valid file of the same size.

    python bench/hostile_cost.py                 # ~8 MB of each shape
    python bench/hostile_cost.py --mb 2

Each shape is one interchange, one RA group, written in memory, then answered by
`edi.pipeline.acknowledge_file` (read, validate, 997/TA1, judge, 824) with a fresh
`MemoryEdiStore`.  For each: CPU seconds per MB of input (`time.process_time`), the size
of the answers against the input, and the AK3 lines written.

``valid``          100 ENT/RMR lines per set, as many sets as fit (`bench/gen820.py`'s form)
``empty``          one set holding nothing but empty segments (`~` after `~`)
``repeated``       one set whose CUR segment is repeated to fill the size
``junk-sets``      many small sets, each with 20 segments the map does not know
``repeated-sets``  the same valid set over and over, same ST02 (AK5 23 from the second on)

The issue this answers (#13) measured ~16× the CPU per MB of a valid file for empty or
repeated segments, and a 997 up to 18× the size of its input; the limits of `edi.limits`
(AK3 notes per set) bound both.  Figures go in `docs/robustness.md`.
"""

from __future__ import annotations

import argparse
import io
import logging
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import structlog  # noqa: E402

from core.clock import EASTERN  # noqa: E402
from edi.pipeline import acknowledge_file  # noqa: E402
from edi.samples import LineSpec, PaymentSpec, file_820  # noqa: E402
from edi.store import MemoryEdiStore  # noqa: E402

AT = datetime(2026, 11, 21, 9, 0, tzinfo=EASTERN)
PAYER = "123456782"


def _one_set(lines: int = 100, trace: str = "TRACE0001") -> bytes:
    return file_820([PaymentSpec(trace, PAYER, [LineSpec(f"{PAYER}RM0001", 100 + n) for n in range(lines)])])


def _envelope(data: bytes) -> tuple[bytes, bytes, bytes]:
    """(ISA+GS, the set ST…SE, GE+IEA) of a one-set file."""
    st, ge = data.index(b"\nST*") + 1, data.index(b"\nGE*") + 1
    return data[:st], data[st:ge], data[ge:]


def valid(size: int) -> bytes:
    head, _, tail = _envelope(_one_set())
    sets = []
    total = 0
    n = 0
    while total < size:
        n += 1
        one = _envelope(_one_set(trace=f"TRACE{n:05d}"))[1].replace(b"ST*820*0001", f"ST*820*{n:04d}".encode())
        one = one.replace(b"SE*", b"SE*", 1).replace(b"*0001~\n", f"*{n:04d}~\n".encode())
        sets.append(one)
        total += len(one)
    return head + b"".join(sets) + tail.replace(b"GE*1*", f"GE*{n}*".encode())


def empty(size: int) -> bytes:
    head, st, tail = _envelope(_one_set(1))
    cut = st.index(b"\nTRN*") + 1
    return head + st[:cut] + b"~\n" * (size // 2) + st[cut:] + tail


def repeated(size: int) -> bytes:
    head, st, tail = _envelope(_one_set(1))
    cur = b"CUR*PR*CAD~\n"
    cut = st.index(b"\nCUR*") + 1
    return head + st[:cut] + cur * (size // len(cur)) + st[cut:] + tail


def junk_sets(size: int) -> bytes:
    head, _, tail = _envelope(_one_set(1))
    one = b"ST*820*0001~\n" + b"ZZZ*1*2*3~\n" * 20 + b"SE*22*0001~\n"
    count = size // len(one)
    return head + one * count + tail.replace(b"GE*1*", f"GE*{count}*".encode())


def repeated_sets(size: int) -> bytes:
    head, st, tail = _envelope(_one_set())
    count = max(size // len(st), 1)
    return head + st * count + tail.replace(b"GE*1*", f"GE*{count}*".encode())


SHAPES = {"valid": valid, "empty": empty, "repeated": repeated, "junk-sets": junk_sets, "repeated-sets": repeated_sets}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=8.0)
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES))
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    size = int(args.mb * 2**20)
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, ~{args.mb} MB a shape")
    print(f"{'shape':<14} {'MB':>6} {'CPU s':>7} {'s/MB':>6} {'× valid':>8} {'answers':>10} {'× input':>8} {'AK3':>7}")
    base = None
    for name in args.shapes:
        data = SHAPES[name](size)
        started = time.process_time()
        outcome = acknowledge_file(io.BytesIO(data), f"{name}.x12", store=MemoryEdiStore(), at=AT)
        cpu = time.process_time() - started
        mb = len(data) / 2**20
        per_mb = cpu / mb
        base = per_mb if name == "valid" else base
        answers = sum(len(content) for _, content in outcome.documents.values())
        ak3 = sum(content.count(b"\nAK3*") for _, content in outcome.documents.values())
        ratio = f"{per_mb / base:.2f}" if base else "-"
        print(f"{name:<14} {mb:>6.1f} {cpu:>7.2f} {per_mb:>6.2f} {ratio:>8} {answers:>10,} {answers / len(data):>8.3f} {ak3:>7,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
