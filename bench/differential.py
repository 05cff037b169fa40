"""The two validation engines against each other: the same 997, TA1 and 824 bytes, input by input.

    python bench/differential.py --mutations 100000 --workers 2     # the full run (docs/performance.md)
    python bench/differential.py --mutations 2000 --seed 7          # a quick look

Each input goes through `edi.pipeline.acknowledge_file` twice, on a fresh in-memory store
each time — once with `Limits(engine="compiled")`, once with `Limits(engine="pyx12")` — and
the documents (TA1, 997, 824) must be identical byte for byte; so must the `FileResult`s
(every AK3/AK4 with its message, every payment built).  Inputs:

* the fixtures, the X12 files of `../shared/corpus/` and the seeds of `bench/fuzz.py`, as
  they are;
* mutations of small valid 820s (`SEEDS`): the edits of `tests/test_mutations.py`, those of
  `bench/fuzz.py`, and edits of the set's structure and elements (`STRUCTURAL`): a segment
  dropped, repeated or moved, two swapped, an element cut short, lengthened, emptied or
  given a bad code, a qualifier changed, the ENT numbering or the SE01/GE01/IEA01 counts
  wrong, an ENT loop or an N1 loop dropped or doubled.

Prints the figures and every disagreement (the input saved under `--out`); exits 1 on any.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import fuzz  # noqa: E402
from carm.logs import configure  # noqa: E402
from core.clock import EASTERN  # noqa: E402
from core.settings import Settings  # noqa: E402
from edi import validate  # noqa: E402
from edi.limits import Limits  # noqa: E402
from edi.pipeline import acknowledge_file  # noqa: E402
from edi.samples import LineSpec, PaymentSpec, file_820  # noqa: E402
from edi.store import MemoryEdiStore  # noqa: E402
from tests import test_mutations as mutations  # noqa: E402

AT = datetime(2026, 11, 21, 8, 15, tzinfo=EASTERN)
SHARED = Path(os.environ.get("CARM_SHARED", ROOT.parent / "shared"))
COMPILED, PYX12 = Limits(engine="compiled"), Limits(engine="pyx12")
_PAYER = "123456782"


def seeds() -> list[bytes]:
    """Small valid 820s: one set, several, a broker's ASECs and transaction numbers, CUR and DTM;
    sets of a dozen lines, which the compiled engine takes several at once (`edi.validate._Validator._lines`)."""
    lines = [LineSpec(f"{_PAYER}RM000{n}", 100_00 * n) for n in (1, 2, 3)]
    dozen = [LineSpec(f"{_PAYER}RM{n:04d}", 1_00 * n + n % 7) for n in range(1, 13)]
    return [
        file_820([PaymentSpec("TRACE0001", _PAYER, lines)]),
        file_820([PaymentSpec("TRACE0002", "300000007", [LineSpec(f"{_PAYER}RM0001", 5_00, "40001")], kind="INT"),
                  PaymentSpec("TRACE0003", "300000007", [LineSpec(f"{_PAYER}RM0002", 7_00, "40001")], kind="ADV")],
                 control_number=2, ack_requested=True),
        file_820([PaymentSpec(f"TRACE1{n:04d}", _PAYER, lines[: 1 + n % 3]) for n in range(4)], control_number=3),
        file_820([PaymentSpec("TRACE2001", _PAYER, dozen),
                  PaymentSpec("TRACE2002", "300000007", [replace(line, asec="40001") for line in dozen], kind="INT"),
                  PaymentSpec("TRACE2003", "300000007", [replace(line, transaction_number=f"{n:014d}") if n % 4 == 0 else line
                                                          for n, line in enumerate(dozen)], kind="ADV")], control_number=4),
    ]


# ------------------------------------------------------------------ structural edits
_BAD_VALUES = ["", " ", "X", "XX", "ZZZ", "99", "0", "-1", "1.5", "1.234", "20261131", "20260229", "2400", "123",
               "A" * 31, "1" * 19, "PE", "PR", "ZZ", "TN", "11", "097", "ACH", "CHK", "C", "D", "SOA", "BAD", "abc",
               "1234567890", "12345678", "CAD", "USD", "PR:1", ":", "1 ", " 1"]


def _split(data: bytes) -> tuple[bytes, bytes, list[bytes]]:
    element, terminator = fuzz._delimiters(data)
    return element, terminator, data.split(terminator)


def _body_indices(segments: list[bytes], element: bytes) -> list[int]:
    envelope = (b"ISA", b"GS", b"GE", b"IEA")
    return [i for i, s in enumerate(segments) if s.strip() and s.strip(b"\r\n").split(element)[0] not in envelope]


def structural(rng: random.Random, data: bytes) -> bytes:
    """One edit of the set's structure or of one element (see the module doc)."""
    element, terminator, segments = _split(data)
    body = _body_indices(segments, element)
    if not body:
        return fuzz._byte_edit(rng, data)
    i = rng.choice(body)
    kind = rng.choice(("drop", "repeat", "move", "swap", "element", "element", "element", "truncate", "extend",
                       "count", "loop"))
    if kind == "drop":
        del segments[i]
    elif kind == "repeat":
        segments[i:i + 1] = [segments[i]] * rng.choice((2, 2, 3))
    elif kind == "move":
        segment = segments.pop(i)
        segments.insert(rng.choice(body[:-1] or body), segment)
    elif kind == "swap":
        k = rng.choice(body)
        segments[i], segments[k] = segments[k], segments[i]
    elif kind in ("element", "truncate", "extend"):
        segments[i] = _element_change(rng, kind, segments[i], element)
    elif kind == "count":
        segments = _wrong_count(rng, segments, element)
    else:
        segments = _loop_edit(rng, segments, element)
    return terminator.join(segments)


def _element_change(rng: random.Random, kind: str, segment: bytes, element: bytes) -> bytes:
    parts = segment.split(element)
    if len(parts) < 2:
        return segment
    j = rng.randrange(1, len(parts) + (1 if rng.random() < 0.2 else 0))
    if j == len(parts):
        parts.append(rng.choice(_BAD_VALUES).encode())
    elif kind == "truncate":
        parts[j] = parts[j][: rng.randrange(len(parts[j]) + 1)]
        if rng.random() < 0.3:
            del parts[j + 1:]
    elif kind == "extend":
        parts[j] = parts[j] + rng.choice((b"0", b"9", b"A", b" ", b".5", b"00000000000000000000"))
    else:
        parts[j] = rng.choice(_BAD_VALUES).encode()
    return element.join(parts)


def _wrong_count(rng: random.Random, segments: list[bytes], element: bytes) -> list[bytes]:
    targets = [i for i, s in enumerate(segments) if s.strip(b"\r\n").split(element)[0] in (b"SE", b"GE", b"IEA", b"ENT")]
    if not targets:
        return segments
    i = rng.choice(targets)
    parts = segments[i].split(element)
    if len(parts) > 1:
        digits = parts[1].strip(b"\r\n")
        value = int(digits) if digits.isdigit() else 0
        parts[1] = parts[1][: len(parts[1]) - len(digits)] + str(max(value + rng.choice((-1, 1, 2)), 0)).encode()
        segments[i] = element.join(parts)
    return segments


def _loop_edit(rng: random.Random, segments: list[bytes], element: bytes) -> list[bytes]:
    """Drop or double a whole ENT or N1 loop."""
    ids = [s.strip(b"\r\n").split(element)[0] for s in segments]
    starts = [i for i, sid in enumerate(ids) if sid in (b"ENT", b"N1")]
    if not starts:
        return segments
    start = rng.choice(starts)
    end = start + 1
    while end < len(ids) and ids[end] not in (b"ENT", b"N1", b"SE", b"GE", b"IEA", b"ST"):
        end += 1
    block = segments[start:end]
    if rng.random() < 0.5:
        return segments[:start] + segments[end:]
    return segments[:end] + block + segments[end:]


def test_mutation(rng: random.Random, data: bytes) -> bytes:
    """The edits of `tests/test_mutations.py` (its `mutate`): one to four, its payloads or random bytes."""
    payloads = [b"*", b"~", b":", b"\n", b"ISA", b"GS*", b"ST*820*", b"SE*", b"GE*", b"IEA*", b"ENT*9~", b"0"]
    kinds = ["replace", "insert", "delete", "duplicate"] * 3 + ["truncate"]  # a cut file now and then
    edits = [(rng.choice(kinds), rng.randrange(len(data) + 1),
              rng.choice(payloads) if rng.random() < 0.6 else bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))))
             for _ in range(rng.randint(1, 4))]
    return mutations.mutate(data, edits)


def mutation(rng: random.Random, seed_files: list[bytes]) -> tuple[str, bytes]:
    """(kind, input): half structural edits (one to three), a quarter each test and fuzz edits."""
    data = rng.choice(seed_files)
    roll = rng.random()
    if roll < 0.5:
        for _ in range(rng.choice((1, 1, 2, 3))):
            data = structural(rng, data)
        return "structural", data
    if roll < 0.75:
        return "test", test_mutation(rng, data)
    return "fuzz", fuzz.mutate(rng, data)


# ------------------------------------------------------------------ comparison
def answers(data: bytes, limits: Limits) -> tuple:
    outcome = acknowledge_file(io.BytesIO(data), "diff.x12", store=MemoryEdiStore(), at=AT, limits=limits)
    return outcome.result, {kind: content for kind, (_, content) in outcome.documents.items()}


class _Asked:
    """Counts the compiled engine's calls on pyx12 (a walker step, an element validation), and the
    times it took several lines at once (`edi.validate._Validator._lines`), while on."""

    def __init__(self) -> None:
        self.on, self.walks, self.elements, self.lines = False, 0, 0, 0
        step, check, lines = validate._Validator._pyx12_step, validate._Validator._validate_elements, validate._Validator._lines

        def counted_step(validator, state, seg):
            self.walks += self.on
            return step(validator, state, seg)

        def counted_check(validator, state, seg, node, p12):
            self.elements += self.on and state.cursor is not None
            return check(validator, state, seg, node, p12)

        def counted_lines(validator, *args):
            taken = lines(validator, *args)
            self.lines += self.on and taken[0] > 0
            return taken

        validate._Validator._pyx12_step = counted_step
        validate._Validator._validate_elements = counted_check
        validate._Validator._lines = counted_lines


ASKED = _Asked()


def compare(data: bytes) -> str | None:
    """None when both engines answer alike; else what differs."""
    ASKED.on = True
    try:
        result_c, docs_c = answers(data, COMPILED)
    finally:
        ASKED.on = False
    result_p, docs_p = answers(data, PYX12)
    if docs_c != docs_p:
        return "documents differ: " + ", ".join(k for k in sorted(set(docs_c) | set(docs_p)) if docs_c.get(k) != docs_p.get(k))
    if result_c != result_p:
        return "results differ (documents alike)"
    if payments(data, COMPILED) != payments(data, PYX12):
        return "payments differ (results and documents alike)"
    return None


def payments(data: bytes, limits: Limits) -> list:
    """The payments `validate_stream` builds, every line in them (`answers` has them judged and let go)."""
    return [st.payload for _, _, st in validate.validate_stream(io.BytesIO(data), limits=limits).sets()]


def _errors(data: bytes) -> bool:
    result, _ = answers(data, COMPILED)
    return any(st.errors for _, _, st in result.sets())


def run(task: tuple[int, int, str]) -> dict:
    """`count` mutations from `seed`; disagreements saved under `out`."""
    seed, count, out = task
    rng = random.Random(seed)
    files = seeds()
    kinds: Counter[str] = Counter()
    with_errors = asked = at_once = 0
    failures = []
    for n in range(count):
        kind, data = mutation(rng, files)
        kinds[kind] += 1
        before, lines_before = ASKED.walks + ASKED.elements, ASKED.lines
        problem = compare(data)
        asked += ASKED.walks + ASKED.elements > before
        at_once += ASKED.lines > lines_before
        if problem is None:
            with_errors += _errors(data) if n % 10 == 0 else 0
            continue
        path = Path(out) / f"diff-{seed}-{n}.x12"
        path.write_bytes(data)
        failures.append({"input": str(path), "kind": kind, "problem": problem})
    return {"count": count, "kinds": dict(kinds), "sampled_with_errors": with_errors, "failures": failures,
            "asked_pyx12": asked, "pyx12_walks": ASKED.walks, "pyx12_element_checks": ASKED.elements, "lines_at_once": at_once}


def fixed_inputs() -> list[Path]:
    """The fixtures and the corpus' X12 files, as they are."""
    paths = sorted((ROOT / "fixtures" / "820").glob("*.x12"))
    paths += sorted((SHARED / "robustness").glob("*.x12"))
    corpus = SHARED / "corpus"
    if corpus.is_dir():
        paths += sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix not in (".json", ".tsv", ".md"))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutations", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("/tmp/differential"))
    args = parser.parse_args(argv)
    configure(Settings(log_format="json"), open(os.devnull, "w"))  # noqa: SIM115 - the engine's events, to nowhere
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    fixed = [(str(p), compare(p.read_bytes())) for p in fixed_inputs()]
    fixed_failures = [{"input": p, "problem": problem} for p, problem in fixed if problem]
    chunk = 1_000
    tasks = [(args.seed + i, min(chunk, args.mutations - i * chunk), str(args.out)) for i in range((args.mutations + chunk - 1) // chunk)]
    total: dict = {"count": 0, "kinds": Counter(), "sampled_with_errors": 0, "failures": [], "asked_pyx12": 0,
                   "pyx12_walks": 0, "pyx12_element_checks": 0, "lines_at_once": 0}
    with mp.Pool(args.workers) as pool:
        for part in pool.imap_unordered(run, tasks):
            total["count"] += part["count"]
            total["kinds"].update(part["kinds"])
            for key in ("sampled_with_errors", "asked_pyx12", "pyx12_walks", "pyx12_element_checks", "lines_at_once"):
                total[key] += part[key]
            total["failures"] += part["failures"]
            print(f"  {total['count']:,} mutations, {len(total['failures'])} disagreements, "
                  f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    summary = {
        "fixed_inputs": len(fixed), "fixed_disagreements": fixed_failures,
        "mutations": total["count"], "kinds": dict(total["kinds"]),
        "sampled_with_errors": f"{total['sampled_with_errors']} of {(total['count'] + 9) // 10} sampled",
        "inputs on which the compiled engine asked pyx12": total["asked_pyx12"],
        "pyx12 walker steps": total["pyx12_walks"], "pyx12 element validations": total["pyx12_element_checks"],
        "inputs on which the compiled engine took lines at once": total["lines_at_once"],
        "disagreements": len(total["failures"]), "first": total["failures"][:20],
        "seconds": round(time.perf_counter() - start, 1), "seed": args.seed, "workers": args.workers,
    }
    print(json.dumps(summary, indent=2))
    return 1 if fixed_failures or total["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
