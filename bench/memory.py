"""Benchmark: peak memory and time of one 820 file ingested — validated, answered, posted (issue 11).

    python bench/memory.py [--lines 1000000] [--compare-lines 100000] [--sets 10] [--repeat 2] [--baseline /tmp/before] [--no-post]

Files from `bench/gen820.py`, written to disk: `--lines` in `--sets` sets (the issue's file:
1,000,000 lines, ten full sets of 100,000; measured once), and `--compare-lines` in as many sets (a size the
code before issue 11 can do in seconds).  Each measurement is `carm.intake.ingest` of one
file into a fresh, migrated SQLite database holding the reference data its payments need
(payers — importers, and brokers with their security account and licence —, the 5,000
importers and 45,000 program accounts the lines pay, their security accounts, a business-scope
relationship from each payer to each importer), so every set is accepted, judged `TA` and
posted (each line an unapplied credit: the accounts have no open items).  Then the same bytes
again: the replay.  `--no-post`: the same without a posting policy — validated, judged against
the ledger, answered, nothing posted — to tell the EDI side's memory from the posting's.

How it measures (as `docs/performance.md` says): a fresh child process per measurement, on a
copy of a database set up once per engine by another child; the measuring child resets the kernel's peak-RSS mark (`echo 5 >
/proc/self/clear_refs`) and times the one call; peak RSS is `VmHWM`.  The code before
(`--baseline`, a worktree at 13ed90a) is given the file's bytes (its `ingest` takes bytes: reading
them is in its timed call); the code after, the path.  Repeats are interleaved; best and median
are printed.  Each child checks what it did (exit code 0, every set posted) and prints the
SHA-256 of each answer it wrote and the sums it posted: at the compare size, the code before and
after must give the same answers byte for byte and post the same money.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
IMPORTERS = 5000  # bench/gen820.py: the lines pay RM15 = bn9(100 + k) RM 0001…0009, k < 5000
ACCOUNTS_PER_IMPORTER = 9
PAYER_BASE = 90_000  # bench/gen820.py: set s is paid by bn9(90,000 + s); ADV sets by a broker
KINDS = ("SOA", "ADV", "INT")


# ------------------------------------------------------------------------ child side
def _bn9(n: int) -> str:
    from core.identifiers import luhn_check_digit

    head = f"{10_000_000 + n:08d}"
    return head + str(luhn_check_digit(head))


def _reference(engine, sets: int) -> None:
    """What the file's payments are judged against (see the module doc), bulk inserted."""
    from datetime import date

    from store.schema import business, licensed_broker, program_account, relationship, security_account

    importers = [_bn9(100 + k) for k in range(IMPORTERS)]
    payers = [(_bn9(PAYER_BASE + s), KINDS[s % len(KINDS)] == "ADV") for s in range(sets)]
    with engine.begin() as conn:
        conn.execute(business.insert(), [{"bn9": b, "name": f"IMPORTER {b}", "role": "importer"} for b in importers]
                     + [{"bn9": b, "name": f"PAYER {b}", "role": "broker" if broker else "importer"} for b, broker in payers])
        brokers = [{"bn9": b, "licence": f"L{b}"} for b, broker in payers if broker]
        if brokers:  # a file of one set has no broker's
            conn.execute(licensed_broker.insert(), brokers)
        conn.execute(program_account.insert(), [
            {"rm15": f"{b}RM{a:04d}", "bn9": b, "client_type": "DIR", "opened_on": date(2024, 1, 1)}
            for b in importers for a in range(1, ACCOUNTS_PER_IMPORTER + 1)
        ])
        conn.execute(security_account.insert(), [
            {"asec": f"S{k:04d}", "holder_bn9": b, "holder_kind": "importer", "security_cents": 10**9} for k, b in enumerate(importers)
        ] + [
            {"asec": f"B{s:04d}", "holder_bn9": b, "holder_kind": "broker", "security_cents": 10**9}
            for s, (b, broker) in enumerate(payers) if broker
        ])
        conn.execute(relationship.insert(), [
            {"id": f"{p}-{c}", "client_bn9": c, "provider_bn9": p, "scope": "business", "start_date": date(2024, 1, 1)}
            for p, _ in payers for c in importers
        ])


def _peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _timed(call) -> tuple[object, float, int]:
    """`call()` with its wall time and the peak RSS (KiB) during it."""
    Path("/proc/self/clear_refs").write_text("5")
    start = time.perf_counter()
    out = call()
    return out, time.perf_counter() - start, _peak_kb()


def _setup(root: str, database: str, sets: int) -> dict:
    """A migrated database with the reference data, built once per engine in its own process
    (so the measuring child's memory holds none of the set-up)."""
    sys.path.insert(0, root)
    from carm.db import upgrade
    from core.db import make_engine

    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    _reference(engine, sets)
    engine.dispose()
    return {"database": database}


def _child(root: str, path: str, database: str, post: str) -> dict:
    """One ingest of `path` (and its replay) by the engine in `root` into `database`, in this fresh process."""
    sys.path.insert(0, root)
    import inspect
    from datetime import datetime

    from carm.intake import ingest
    from carm.logs import configure
    from core.clock import EASTERN
    from core.db import make_engine
    from core.settings import Settings
    from ledger.policy import Policy

    configure(Settings(log_level="WARNING"), open(os.devnull, "w"))  # noqa: SIM115 - to nowhere, for the child's life
    engine = make_engine(f"sqlite:///{database}")
    when = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)
    streams = "source" in inspect.signature(ingest).parameters  # the code after issue 11 reads the path

    def run():
        source = Path(path) if streams else Path(path).read_bytes()
        policy = Policy() if post == "post" else None  # without a policy, ingest posts nothing (before and after)
        return ingest(engine, source, Path(path).name, received_at=when, policy=policy, acknowledged_at=when)

    before_kb = int(next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmRSS:")).split()[1])
    done, seconds, peak = _timed(run)
    again, replay_seconds, replay_peak = _timed(run)
    posted = done.posted
    return {
        "code": str(Path(sys.modules["edi"].__file__).parent.parent),
        "seconds": seconds,
        "peak_kb": peak,
        "before_kb": before_kb,
        "replay_seconds": replay_seconds,
        "replay_peak_kb": replay_peak,
        "exit_code": done.outcome.exit_code,
        "replayed": again.outcome.replayed and again.posted == [] and again.outcome.documents == done.outcome.documents,
        "documents": {kind: hashlib.sha256(content).hexdigest()[:16] for kind, (_, content) in done.outcome.documents.items()},
        "posted": [(p.trace, p.status, p.applied_cents, p.credit_cents, p.suspense_cents) for p in posted],
    }


# ----------------------------------------------------------------------- parent side
def _run(root: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], capture_output=True, text=True, cwd=root)
    if proc.returncode != 0:
        raise RuntimeError(f"{args} in {root} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _measure(root: Path, path: Path, template: Path, sets: int, post: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="carm-bench-memory-db-") as tmp:
        database = Path(tmp) / "carm.db"
        shutil.copyfile(template, database)
        figures = _run(root, "--child", str(root), str(path), str(database), "post" if post else "no-post")
    if figures["code"] != str(root.resolve()):
        raise RuntimeError(f"the child ran the engine in {figures['code']}, not {root}")
    if figures["exit_code"] != 0 or len(figures["posted"]) != (sets if post else 0) or not figures["replayed"]:
        raise RuntimeError(f"{root} did not accept, post and replay {path}: {figures}")
    return figures


def _row(label: str, lines: int, runs: list[dict]) -> str:
    def best_median(key: str) -> str:
        values = [r[key] for r in runs]
        return f"{min(values):.2f} | {statistics.median(values):.2f}"

    peak = max(r["peak_kb"] for r in runs) / 1024
    before = max(r["before_kb"] for r in runs) / 1024
    replay_peak = max(r["replay_peak_kb"] for r in runs) / 1024
    return (f"| {lines:,} | {label} | {best_median('seconds')} | {before:.1f} | {peak:.1f} | {best_median('replay_seconds')} "
            f"| {replay_peak:.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--compare-lines", type=int, default=100_000)
    parser.add_argument("--sets", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="a worktree of the code before (13ed90a), run at --compare-lines only")
    parser.add_argument("--no-post", action="store_true", help="validate, judge and answer only (no posting policy)")
    parser.add_argument("--child", nargs=4, metavar=("ROOT", "FILE", "DATABASE", "POST"), help=argparse.SUPPRESS)
    parser.add_argument("--setup", nargs=3, metavar=("ROOT", "DATABASE", "SETS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child or args.setup:
        print(json.dumps(_child(*args.child) if args.child else _setup(args.setup[0], args.setup[1], int(args.setup[2]))))
        return 0

    sys.path.insert(0, str(HERE))
    from gen820 import generate  # bench/gen820.py, beside this script

    print(f"command: python bench/memory.py {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"posting: {'no (--no-post)' if args.no_post else 'yes'}")
    print(f"load average at start: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    with tempfile.TemporaryDirectory(prefix="carm-bench-memory-") as tmp:
        small, large = Path(tmp) / f"820-{args.compare_lines}.x12", Path(tmp) / f"820-{args.lines}.x12"
        for path, lines in ((small, args.compare_lines), (large, args.lines)):
            stats = generate(path, lines, args.sets)
            print(f"{path.name}: {stats.lines:,} lines in {stats.sets} sets, {stats.segments:,} segments, {stats.bytes / 2**20:.1f} MiB")
        plan = [("after", ROOT, small, args.compare_lines), ("after", ROOT, large, args.lines)]
        if args.baseline:
            plan.insert(0, ("before", args.baseline.resolve(), small, args.compare_lines))
        templates = {root: Path(tmp) / f"template-{n}.db" for n, root in enumerate({root for _, root, _, _ in plan})}
        for root, template in templates.items():
            _run(root, "--setup", str(root), str(template), str(args.sets))
        runs: dict[tuple[str, int], list[dict]] = {}
        for repeat in range(args.repeat):
            for label, root, path, lines in plan:
                if path is large and repeat:  # the large file once: minutes on a shared machine
                    continue
                runs.setdefault((label, lines), []).append(_measure(root, path, templates[root], args.sets, not args.no_post))
    if args.baseline:
        before, after = runs[("before", args.compare_lines)][0], runs[("after", args.compare_lines)][0]
        same = before["documents"] == after["documents"] and before["posted"] == after["posted"]
        print(f"same answers and postings before and after at {args.compare_lines:,} lines: {'yes' if same else 'NO'}")
        if not same:
            print(json.dumps({"before": before, "after": after}, indent=1))
            return 1
    print(f"load average at end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print()
    print("| ENT lines | code | ingest best s | median s | RSS before MiB | peak RSS MiB | replay best s | median s | replay peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (label, lines), measured in runs.items():
        print(_row(label, lines, measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
