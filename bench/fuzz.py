"""Fuzz the inbound EDI path: hostile 820s through read → validate → 997/TA1 → judge → 824 → post.

    python bench/fuzz.py --count 20000                          # in memory, 2 workers
    python bench/fuzz.py --count 1000000 --workers 2 --out var/fuzz
    python bench/fuzz.py --store sqlite --post --count 50000     # through the ledger, SQLite
    python bench/fuzz.py --store postgresql --post --count 50000 # … PostgreSQL (CARM_TEST_PG_URL)

Inputs are mutations of seeds — the fixtures, `../shared/robustness/`, the X12 files of
`../shared/corpus/` and generated 820s — by byte edits (replace, insert, delete, truncate),
element edits (an element replaced by a value known to hurt: Unicode digits, control
characters, 5,000-digit numbers, 19-digit amounts, delimiters, blanks…), segment edits
(repeated up to thousands of times, deleted, swapped, empty segments) and whole-set copies —
the huge multiples rarely, since what size costs is `bench/hostile_cost.py`'s to measure.
Each input is new to the engine: in memory a fresh `MemoryEdiStore`; on a database,
`carm.intake.preview` in a transaction rolled back at once, over the fixtures' reference
data (so payments post to real accounts, with `--post`).

Checked for every input:

* no exception escapes (each distinct one is saved with its input and traceback);
* no input takes more than `--hang` seconds (10) — an alarm interrupts it and it is saved;
* every 997, TA1 and 824 written passes its map (`edi.conformance.document_problems`,
  pyx12 against `mappings/`; verdicts cached by content);
* the AK9 counts agree with the AK2/AK5 the 997 holds;
* a positive 997 is a proof of payment: no set acknowledged `A` is refused by its 824, and
  with `--post` every such production set is posted;
* one input in 20 is answered twice on one store: the second answer is a replay, byte for byte.

Prints one line of figures per 10,000 inputs and a JSON summary at the end; exits 1 when
anything above was violated.  The figures in `docs/robustness.md` come from this script.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing as mp
import os
import platform
import random
import re
import signal
import sys
import tempfile
import time
import traceback
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.clock import EASTERN  # noqa: E402
from edi.conformance import document_problems  # noqa: E402
from edi.limits import Limits  # noqa: E402
from edi.pipeline import acknowledge  # noqa: E402
from edi.samples import LineSpec, PaymentSpec, file_820  # noqa: E402
from edi.store import MemoryEdiStore  # noqa: E402
from edi.validate import validate_stream  # noqa: E402

SHARED = ROOT.parent / "shared"
AT = datetime(2026, 11, 20, 10, 15, tzinfo=EASTERN)
SENDER = "ZZ:BANKOFTEST"
LIMITS = Limits()

#: Element values that have hurt an X12 engine somewhere.
NASTY = [
    "", " ", "    ", "0", "00", "-1", "1.234", "0.00", "-0", ".5", "5.", "1e5", "1,000.00", "NaN", "Infinity",
    "9" * 18, "9" * 19, "1" * 4301, "1" * 5000, "99999999999999999.99", "1" * 7,
    "²", "١٢", "１", "𝟗", "٢0261120", "0" * 8 + "²",
    "\x00", "\x0b", "\x08", "\x1f", "\x7f", "`", "^", "é", "ÿ", "\u2028", "\ufeff",
    "*", "~", ":", "|", "^", ">", "\n", "\r\n",
    "ZZ", "01", "RA", "IN", "FA", "820", "810", "997", "824", "ACH", "BOP", "CHK", "FWT", "CAD", "USD",
    "SOA", "ADV", "INT", "PR", "PE", "123456782", "123456782RM0001", "40001", "20261120", "20250231", "2400",
    "A" * 31, "A" * 61, "B" * 100, "X" * 1000,
]
BYTES = [b"\x00", b"\x0b", b"\xb2", b"\xc2\xb2", b"\xff", b"*", b"~", b":", b"\n", b"\r", b"`", b"^", b" ", b"0", b"9",
         b"ISA", b"GS*", b"ST*820*", b"SE*", b"GE*", b"IEA*", b"~~~~", b"ENT*9~", b"\xef\xbb\xbf"]


# ------------------------------------------------------------------ seeds
def _generated() -> list[bytes]:
    payer = "123456782"
    lines = [LineSpec(f"{payer}RM000{n}", 100_00 * n) for n in (1, 2, 3)]
    return [
        file_820([PaymentSpec("TRACE0001", payer, lines)]),
        file_820([PaymentSpec("TRACE0002", "300000007", [LineSpec(f"{payer}RM0001", 5_00, "40001")], kind="INT")],
                 control_number=2, ack_requested=True),
        file_820([PaymentSpec(f"TRACE1{n:04d}", payer, lines[:1]) for n in range(5)], control_number=3),
    ]


def load_seeds() -> list[bytes]:
    seeds = [p.read_bytes() for p in sorted((ROOT / "fixtures" / "820").glob("*.x12"))]
    seeds += [p.read_bytes() for p in sorted((SHARED / "robustness").glob("*.x12"))]
    corpus = SHARED / "corpus"
    if corpus.is_dir():
        for path in sorted(corpus.rglob("*")):
            if path.is_file() and path.stat().st_size < 200_000:
                data = path.read_bytes()
                if b"ISA" in data[:300]:
                    seeds.append(data)
    return seeds + _generated()


# ------------------------------------------------------------------ mutations
def _delimiters(data: bytes) -> tuple[bytes, bytes]:
    element = data[3:4] if len(data) > 3 and data.startswith(b"ISA") else b"*"
    terminator = data[105:106] if len(data) > 105 else b"~"
    if not element or element.isalnum():
        element = b"*"
    if not terminator or terminator.isalnum() or terminator == b" ":
        terminator = b"~"
    return element, terminator


def _segments(data: bytes, terminator: bytes) -> list[bytes]:
    return data.split(terminator)


#: Inputs are cut to this size: the fuzz looks for wrong answers, not for the cost of size, which
#: `bench/hostile_cost.py` measures (the engine refuses what exceeds `CARM_MAX_FILE_BYTES`).
MAX_INPUT = 2 * 2**20


def mutate(rng: random.Random, data: bytes) -> bytes:
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        data = rng.choice(_MUTATORS)(rng, data)
        if len(data) > MAX_INPUT:
            data = data[:MAX_INPUT]
    return data


def _byte_edit(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return rng.choice(BYTES)
    at = rng.randrange(len(data))
    kind = rng.choice(("replace", "insert", "delete", "truncate"))
    payload = rng.choice(BYTES) if rng.random() < 0.7 else bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
    if kind == "replace":
        return data[:at] + payload + data[at + len(payload):]
    if kind == "insert":
        return data[:at] + payload + data[at:]
    if kind == "delete":
        return data[:at] + data[at + rng.randint(1, 8):]
    return data[:at]


def _element_edit(rng: random.Random, data: bytes) -> bytes:
    element, terminator = _delimiters(data)
    segments = _segments(data, terminator)
    if len(segments) < 2:
        return _byte_edit(rng, data)
    i = rng.randrange(len(segments))
    parts = segments[i].split(element)
    if len(parts) < 2:
        return _byte_edit(rng, data)
    j = rng.randrange(1, len(parts))
    value = rng.choice(NASTY)
    if rng.random() < 0.1:
        value = "".join(rng.choice("0123456789 .-") for _ in range(rng.randint(1, 40)))
    raw = value.encode("utf-8") if rng.random() < 0.8 else value.encode("latin-1", "replace")
    if i == 0 and rng.random() < 0.5 and j < len(parts):  # keep the ISA's width for its fields
        raw = raw[: len(parts[j])].ljust(len(parts[j]), b" ")
    parts[j] = raw
    segments[i] = element.join(parts)
    return terminator.join(segments)


def _blank_edit(rng: random.Random, data: bytes) -> bytes:
    """An element made blank, or given spaces around it: what a translator's padding does."""
    element, terminator = _delimiters(data)
    segments = _segments(data, terminator)
    i = rng.randrange(len(segments))
    parts = segments[i].split(element)
    if i == 0 or len(parts) < 2:
        return _byte_edit(rng, data)
    j = rng.randrange(1, len(parts))
    parts[j] = rng.choice((b" ", b"    ", b"", b" " + parts[j], parts[j] + b" ", b" " * 30))
    segments[i] = element.join(parts)
    return terminator.join(segments)


def _segment_edit(rng: random.Random, data: bytes) -> bytes:
    _, terminator = _delimiters(data)
    segments = _segments(data, terminator)
    if len(segments) < 3:
        return _byte_edit(rng, data)
    i = rng.randrange(1, len(segments) - 1)
    kind = rng.choice(("repeat", "repeat", "delete", "swap", "empty", "blank-lines"))
    if kind == "repeat":
        times = rng.choice((2, 3, 10, 100)) if rng.random() < 0.97 else rng.choice((1000, 5000))
        segments[i:i + 1] = [segments[i]] * times
    elif kind == "delete":
        del segments[i]
    elif kind == "swap":
        k = rng.randrange(1, len(segments) - 1)
        segments[i], segments[k] = segments[k], segments[i]
    elif kind == "empty":
        segments[i:i] = [b""] * (rng.choice((1, 10, 100)) if rng.random() < 0.97 else rng.choice((1000, 20000)))
    else:
        segments[i] = b"\r\n" * rng.randint(1, 5) + segments[i]
    return terminator.join(segments)


def _set_edit(rng: random.Random, data: bytes) -> bytes:
    """Copy a whole ST…SE set once or many times (the same ST02, or renumbered)."""
    element, terminator = _delimiters(data)
    segments = _segments(data, terminator)
    starts = [i for i, s in enumerate(segments) if s.lstrip(b"\r\n").startswith(b"ST" + element)]
    ends = [i for i, s in enumerate(segments) if s.lstrip(b"\r\n").startswith(b"SE" + element)]
    if not starts or not ends:
        return _segment_edit(rng, data)
    start = rng.choice(starts)
    end = next((e for e in ends if e > start), None)
    if end is None:
        return _segment_edit(rng, data)
    block = segments[start:end + 1]
    copies = rng.choice((1, 1, 2, 10)) if rng.random() < 0.95 else rng.choice((50, 500))
    segments[end + 1:end + 1] = block * copies
    return terminator.join(segments)


def _swap_delimiters(rng: random.Random, data: bytes) -> bytes:
    element, terminator = _delimiters(data)
    new = rng.choice((b"/", b"|", b"^", b"!", b"\x1d", b"*"))
    return data.replace(element, new) if new != terminator else data


_MUTATORS = [_byte_edit, _byte_edit, _element_edit, _element_edit, _element_edit, _blank_edit, _segment_edit, _set_edit,
             _swap_delimiters]


# ------------------------------------------------------------------ checks
class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang


_AK9 = re.compile(rb"AK9\*[A-Z]\*([0-9]+)\*([0-9]+)\*([0-9]+)")


def _ak9_problems(content: bytes) -> list[str]:
    """AK903 = the AK2s of its 997, AK904 = its AK5*A."""
    problems = []
    for body in content.split(b"ST*997*")[1:]:
        match = _AK9.search(body)
        if match is None:
            problems.append("997 without AK9")
            continue
        received, accepted = int(match.group(2)), int(match.group(3))
        ak2 = body.count(b"\nAK2*") + body.startswith(b"AK2*")
        ak5 = body.count(b"\nAK5*A")
        if received < 999_999 and (received != ak2 or accepted != ak5):
            problems.append(f"AK9 says {received} received / {accepted} accepted, the 997 holds {ak2} AK2 / {ak5} AK5*A")
    return problems


def _accepted(seed: bytes) -> bool:
    """Whether some set of `seed` is acknowledged A."""
    outcome = acknowledge(validate_stream(io.BytesIO(seed)), "seed.x12", store=MemoryEdiStore(), at=AT)
    return any(s.result.accepted for s in outcome.sets)


def _ak5s(content: bytes) -> list[str]:
    """AK501 of every AK5 of a 997 document, in order."""
    return [line[4:5].decode() for line in content.split(b"\n") if line.startswith(b"AK5*")]


def _in_997_order(outcome) -> list:
    """The sets a 997 document acknowledges, in its order: per usable interchange, one FA group
    per application sender in order of first appearance, each holding its inbound groups in order."""
    by_result = {id(s.result): s for s in outcome.sets}
    ordered = []
    for ic in outcome.result.interchanges:
        if not ic.usable:
            continue
        for sender in dict.fromkeys(group.sender_code for group in ic.groups):
            for group in ic.groups:
                if group.sender_code == sender:
                    ordered += [by_result[id(st)] for st in group.sets]
    return ordered


class Worker:
    """Runs numbered inputs (`run`); `engine`, when given, is a database of the fixtures' world
    to judge and post against (the tests hand theirs in)."""

    def __init__(self, store: str, post: bool, out: Path, hang: float, engine=None) -> None:
        self.seeds = load_seeds()
        self.guide_seeds = [seed for seed in self.seeds if _accepted(seed)]
        self.store, self.post, self.out, self.hang = store, post, out, hang
        self.verdicts: dict[bytes, list[str]] = {}
        self.engine = engine
        self.cleanup = None
        if store != "memory" and engine is None:
            self.engine, self.cleanup = _database(store)
        signal.signal(signal.SIGALRM, _alarm)

    def seed(self, rng: random.Random) -> bytes:
        """Three inputs in four start from an 820 the engine accepts (a fixture, a generated one: one
        edit away from the paths that judge and post), the rest from any seed."""
        if rng.random() < 0.75:
            return rng.choice(self.guide_seeds)
        return rng.choice(self.seeds)

    def answer(self, data: bytes, sender: str | None):
        from carm.intake import preview

        if self.engine is None:
            result = validate_stream(io.BytesIO(data), limits=LIMITS)
            return acknowledge(result, "fuzz.x12", store=MemoryEdiStore(), at=AT, sender=sender, limits=LIMITS), None
        from ledger.policy import Policy

        done = preview(self.engine, data, "fuzz.x12", at=AT, limits=LIMITS, policy=Policy() if self.post else None,
                       sender=sender, channel="bankoftest" if sender else "")
        return done.outcome, done.posted if self.post else None

    def run(self, task: tuple[int, int]) -> dict:
        first, count = task
        stats = {"inputs": 0, "exceptions": {}, "hangs": 0, "documents": 0, "checked": 0, "invalid": 0,
                 "violations": 0, "seconds": 0.0, "slowest": 0.0, "bytes": 0, "answer_bytes": 0, "max_ratio": 0.0, "posted": 0}
        for n in range(first, first + count):
            rng = random.Random(n)
            data = mutate(rng, self.seed(rng))
            sender = SENDER if rng.random() < 0.3 else None
            stats["inputs"] += 1
            stats["bytes"] += len(data)
            started = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, self.hang)
            try:
                outcome, posted = self.answer(data, sender)
                replay = None
                if n % 20 == 0 and self.engine is None:
                    store = MemoryEdiStore()
                    result = validate_stream(io.BytesIO(data), limits=LIMITS)
                    first_answer = acknowledge(result, "fuzz.x12", store=store, at=AT, sender=sender, limits=LIMITS)
                    replay = (first_answer, acknowledge(result, "fuzz.x12", store=store, at=AT, sender=sender, limits=LIMITS))
            except Hang:
                stats["hangs"] += 1
                self._save("hang", n, data, f"more than {self.hang} s")
                continue
            except Exception as exc:
                signature = _signature(exc)
                if signature not in stats["exceptions"]:
                    self._save("exception", n, data, traceback.format_exc())
                stats["exceptions"][signature] = stats["exceptions"].get(signature, 0) + 1
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                elapsed = time.perf_counter() - started
                stats["seconds"] += elapsed
                stats["slowest"] = max(stats["slowest"], elapsed)
            problems = self._check(outcome, posted, replay, stats, len(data))
            if problems:
                stats["violations"] += 1
                self._save("violation", n, data, "\n".join(problems), outcome)
        return stats

    def _check(self, outcome, posted, replay, stats, size) -> list[str]:
        problems = []
        answer_bytes = 0
        for kind, (_, content) in outcome.documents.items():
            stats["documents"] += 1
            answer_bytes += len(content)
            key = hashlib.sha1(content).digest()
            verdict = self.verdicts.get(key)
            if verdict is None:
                verdict = document_problems(content)
                stats["checked"] += 1
                if len(self.verdicts) < 200_000:
                    self.verdicts[key] = verdict
            if verdict:
                stats["invalid"] += 1
                problems += [f"{kind}: {p}" for p in verdict[:5]]
            if kind == "997":
                problems += _ak9_problems(content)
        stats["answer_bytes"] += answer_bytes
        if size >= 1000:
            stats["max_ratio"] = max(stats["max_ratio"], answer_bytes / size)
        # What the 997 really says of each set (AK5, in file order) against the verdicts: the
        # engine's own results already fold refusals in, so they cannot be the witness.
        said = _ak5s(outcome.documents.get("997", ("", b""))[1])
        answered = _in_997_order(outcome)
        if len(said) != len(answered):
            problems.append(f"the 997 acknowledges {len(said)} sets, the file's usable interchanges hold {len(answered)}")
        accepted = []
        for ak5, s in zip(said, answered, strict=False):
            if ak5 == "A" and s.group.ack_code != "R" and s.verdict is not None:
                if s.verdict.code == "TR":
                    problems.append(f"set {s.result.control_number} acknowledged A but refused by its 824")
                if s.interchange.usage != "T":  # a test interchange is judged, never posted (decision L11)
                    accepted.append(s)
            elif ak5 == "A" and s.group.ack_code != "R":
                problems.append(f"set {s.result.control_number} acknowledged A but never judged: its money would be lost")
        applied = [p for p in posted or () if p.status == "posted"]
        stats["posted"] += len(applied)
        if posted is not None and len(applied) != len(accepted):
            problems.append(f"{len(accepted)} production sets acknowledged A, {len(applied)} posted")
        if replay is not None:
            first, second = replay
            again = {kind: content for kind, (_, content) in second.documents.items()}
            if (first.documents and not second.replayed) or {kind: c for kind, (_, c) in first.documents.items()} != again:
                problems.append("the same bytes again were not answered byte for byte the same")
        return problems

    def _save(self, kind: str, n: int, data: bytes, why: str, outcome=None) -> None:
        folder = self.out / kind
        folder.mkdir(parents=True, exist_ok=True)
        if len(list(folder.iterdir())) > 400:
            return
        (folder / f"{n}.x12").write_bytes(data)
        text = why
        if outcome is not None:
            for kind_, (_, content) in outcome.documents.items():
                text += f"\n--- {kind_}\n" + content.decode("ascii", "replace")
        (folder / f"{n}.txt").write_text(text)


def _signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if str(ROOT) in f.filename and "/bench/" not in f.filename] or frames
    last = ours[-1] if ours else None
    where = f"{Path(last.filename).relative_to(ROOT) if last and str(ROOT) in last.filename else last.filename}:{last.lineno}" if last else "?"
    return f"{type(exc).__name__} at {where}: {str(exc)[:80]}"


def load_world(engine) -> None:
    """The fixtures' reference data and declarations, so payments reach real accounts."""
    from ledger.policy import Policy
    from store.ledger import load_declarations, load_reference

    with engine.begin() as conn:
        load_reference(conn, ROOT / "fixtures" / "reference.json")
        load_declarations(conn, ROOT / "fixtures" / "declarations.csv", policy=Policy(), at=AT)


def _database(store: str):
    """A database of the fixtures' world for one worker: SQLite in a temporary folder, or a fresh
    PostgreSQL database (dropped at the end)."""
    from sqlalchemy import create_engine, text

    from carm.db import upgrade
    from core.db import make_engine

    cleanup = None
    if store == "sqlite":
        folder = tempfile.mkdtemp(prefix="carm-fuzz-")
        engine = make_engine(f"sqlite:///{folder}/carm.db")
    else:
        url = os.environ.get("CARM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        name = f"carm_fuzz_{uuid.uuid4().hex[:10]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))

        def cleanup():
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    upgrade(engine)
    load_world(engine)
    return engine, cleanup


_worker: Worker | None = None


def _init(store: str, post: bool, out: str, hang: float) -> None:
    global _worker
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    logging.disable(logging.CRITICAL)
    _worker = Worker(store, post, Path(out), hang)
    if _worker.cleanup is not None:
        mp.util.Finalize(None, _worker.cleanup, exitpriority=10)


def _run(task: tuple[int, int]) -> dict:
    assert _worker is not None
    return _worker.run(task)


def _merge(total: dict, part: dict) -> None:
    for key, value in part.items():
        if key == "exceptions":
            for sig, count in value.items():
                total[key][sig] = total[key].get(sig, 0) + count
        elif key in ("slowest", "max_ratio"):
            total[key] = max(total[key], value)
        else:
            total[key] += value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--start", type=int, default=0, help="first input number (each number is one reproducible input)")
    parser.add_argument("--store", choices=("memory", "sqlite", "postgresql"), default="memory")
    parser.add_argument("--post", action="store_true", help="post accepted payments too (needs a database store)")
    parser.add_argument("--hang", type=float, default=10.0)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--out", default=str(ROOT / "var" / "fuzz"))
    parser.add_argument("--one", type=int, help="run input number ONE alone and print its answers")
    args = parser.parse_args(argv)
    if args.post and args.store == "memory":
        parser.error("--post needs --store sqlite or postgresql")
    out = Path(args.out)
    if args.one is not None:
        _init(args.store, args.post, str(out), args.hang)
        rng = random.Random(args.one)
        data = mutate(rng, _worker.seed(rng))
        sys.stdout.buffer.write(data + b"\n")
        print(_worker.run((args.one, 1)))
        return 0
    tasks = [(n, min(args.chunk, args.start + args.count - n)) for n in range(args.start, args.start + args.count, args.chunk)]
    total = {"inputs": 0, "exceptions": {}, "hangs": 0, "documents": 0, "checked": 0, "invalid": 0, "violations": 0,
             "seconds": 0.0, "slowest": 0.0, "bytes": 0, "answer_bytes": 0, "max_ratio": 0.0, "posted": 0}
    started = time.perf_counter()
    print(f"fuzz: {args.count:,} inputs from #{args.start}, store={args.store}{' +post' if args.post else ''}, "
          f"{args.workers} workers, {platform.processor() or platform.machine()}, Python {platform.python_version()}", flush=True)
    next_report = 10_000
    ctx = mp.get_context("fork")
    pool = ctx.Pool(args.workers, initializer=_init, initargs=(args.store, args.post, str(out), args.hang))
    try:
        for part in pool.imap_unordered(_run, tasks):
            _merge(total, part)
            if total["inputs"] >= next_report:
                next_report += 10_000
                wall = time.perf_counter() - started
                print(f"  {total['inputs']:>9,} inputs  {sum(total['exceptions'].values())} exceptions  {total['hangs']} hangs  "
                      f"{total['invalid']} invalid of {total['documents']:,} documents  {total['violations']} violations  "
                      f"{total['inputs'] / wall:,.0f}/s", flush=True)
    finally:
        pool.close()  # workers exit and drop their databases
        pool.join()
    total["wall_seconds"] = round(time.perf_counter() - started, 1)
    total["slowest"] = round(total["slowest"], 3)
    total["max_ratio"] = round(total["max_ratio"], 2)
    total["seconds"] = round(total["seconds"], 1)
    total["store"], total["post"], total["start"] = args.store, args.post, args.start
    print(json.dumps(total, indent=2))
    bad = total["exceptions"] or total["hangs"] or total["invalid"] or total["violations"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
