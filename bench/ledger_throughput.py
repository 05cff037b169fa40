"""Benchmark: 820 payment lines allocated and posted per second, on SQLite and PostgreSQL.

    python bench/ledger_throughput.py --lines 100000 [--db sqlite|postgresql|both]
    python bench/ledger_throughput.py --lines 20000 --businesses 2 --baseline /tmp/posting-before --repeat 3
    python bench/ledger_throughput.py --lines 20000 --businesses 2 --sets 100 [--set-by-set]

Set-up (not timed): B businesses × A program accounts × K open declaration items
(lines = B × A × K, default 10 × 1,000 × 10), posted as one balanced entry through the
store's `write_plan`, like every posting.  Then B 820 files, one per business, each of
A × K lines — every line pays exactly one item, oldest due first — in one payment (or split
into `--sets` payments), through `carm.intake.ingest` (validate, 997, account checks, 824,
allocate, post), one transaction per file; with `--set-by-set`, `post_payments` is called
once per set of the file instead of once per file.

*Posting* is the time spent inside `store.ledger.post_payments` (read the open items,
allocate, write the journal, the caches, the payment rows and the notices), timed around
each call, with the CPU seconds it used in this process and, on PostgreSQL, in the server
process serving the connection (`/proc/<pid>/stat`): on a shared machine the wall time
moves with the load, the CPU seconds much less.  *End to end* is the whole `ingest` loop.
The one-time import of the holiday calendar is done before timing, as a running worker has
done it.  After the run the books are proved (`store.journal.check_books`, what `carm ledger
check` runs): a figure on books that do not balance would mean nothing.  On SQLite the bench
also gives the time the posting's writes (its INSERT and UPDATE statements) spend in the driver
and in SQLite, per allocation: in-process work that no planning can overlap or remove.

Every measurement runs in a fresh child process; with `--baseline DIR` the same
measurement with the code of the checkout DIR is interleaved with this one's, `--repeat`
times, and best and median are printed for each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("CARM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def bn9(n: int) -> str:
    from core.identifiers import luhn_check_digit

    body = f"{700000000 + n * 10:09d}"[:8]
    return body + str(luhn_check_digit(body))


# ------------------------------------------------------------------------ child side
def setup(engine, businesses: int, accounts: int, items_per_account: int, when: datetime) -> list[tuple[str, list[tuple[str, int]]]]:
    """Bulk reference data and open items; returns per business [(rm15, cents)] in payment order."""
    from ledger.model import Entry, JournalLine, NewItem, Plan
    from store.journal import write_plan
    from store.schema import business, program_account

    plan = []
    with engine.begin() as conn:
        conn.execute(business.insert(), [{"bn9": bn9(b), "name": f"BENCH {b}", "role": "importer"} for b in range(businesses)])
        conn.execute(
            program_account.insert(),
            [{"rm15": f"{bn9(b)}RM{a + 1:04d}", "bn9": bn9(b), "client_type": "DIR", "opened_on": date(2024, 1, 1)}
             for b in range(businesses) for a in range(accounts)],
        )
        items, lines = [], []
        for b in range(businesses):
            pays = []
            for a in range(accounts):
                rm15 = f"{bn9(b)}RM{a + 1:04d}"
                for k in range(items_per_account):
                    cents = 1_000 + (a * 7 + k * 13) % 90_000
                    item = NewItem(key=f"bench:{rm15}:{k}", rm15=rm15, kind="declaration", component="duty",
                                   posted_on=date(2026, 10, 20), due_date=date(2026, 10, 21) + timedelta(days=k), description="bench")
                    items.append(item)
                    lines.append(JournalLine("AR", debit_cents=cents, rm15=rm15, item_key=item.key))
                    pays.append((rm15, cents))
            plan.append((bn9(b), pays))
        lines.append(JournalLine("REVENUE", credit_cents=sum(line.debit_cents for line in lines)))
        entry = Entry("bench:setup", date(2026, 10, 20), "DECLARATION", "bench set-up", tuple(lines))
        write_plan(conn, Plan(items=items, entries=[entry]), when)
    return plan


def files(plan, sets: int) -> list[tuple[str, bytes]]:
    """One file per business, its lines split into `sets` payments (sets) of consecutive lines."""
    from edi.samples import LineSpec, PaymentSpec, file_820

    out = []
    for n, (payer, pays) in enumerate(plan, start=1):
        size = -(-len(pays) // sets)
        specs = [PaymentSpec(f"BENCH{n:05d}S{k:04d}", payer, [LineSpec(rm15, cents) for rm15, cents in pays[start:start + size]])
                 for k, start in enumerate(range(0, len(pays), size))]
        out.append((f"bench{n}.x12", file_820(specs, control_number=n, group_control=n)))
    return out


def _set_by_set(function):
    """`post_payments` called once per set of the file, in the file's transaction (as a caller
    streaming a file set by set calls it, decision L29)."""

    def post(conn, digest, name, judged, **kwargs):
        return [posted for pair in judged for posted in function(conn, digest, name, [pair], **kwargs)]

    return post


def _server_cpu(conn) -> float:
    """CPU seconds used so far by the PostgreSQL backend serving `conn` (0 on SQLite, in-process)."""
    if conn.dialect.name != "postgresql":
        return 0.0
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _timed(function, spent: list[float], profiler=None):
    """`function` (`post_payments`), adding to `spent` the seconds each call takes, the CPU seconds
    of this process, and those of the PostgreSQL backend (and profiling it with `profiler`);
    `spent[4]` is true while a call runs (`_count_writes`)."""

    def timed(conn, *args, **kwargs):
        server = _server_cpu(conn)
        start, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        spent[4] = True
        try:
            return function(conn, *args, **kwargs)
        finally:
            spent[4] = False
            if profiler:
                profiler.disable()
            spent[0] += time.perf_counter() - start
            spent[1] += time.process_time() - cpu
            spent[2] += _server_cpu(conn) - server

    return timed


def _count_writes(engine, spent: list) -> None:
    """On SQLite, add to `spent[3]` the seconds the posting's writes (INSERT, UPDATE) spend in the driver
    and SQLite itself: in-process, what no change to the planning can take away.  (On PostgreSQL the
    writes are sent without waiting; the server's CPU seconds say what they cost.)"""
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, _cursor, statement, *_args):
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, _cursor, statement, *_args):
        if spent[4] and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE"):
            spent[3] += time.perf_counter() - conn.info["bench_started"]


def measure(url: str, args) -> dict:
    """Set up, post every file, prove the books; the figures (in this process)."""
    from sqlalchemy import func, select

    import carm.intake
    from carm.db import upgrade
    from core.clock import EASTERN
    from core.db import make_engine
    from ledger.calendar import payment_day
    from ledger.policy import Policy
    from store.journal import check_books
    from store.schema import journal_entry, journal_line

    when = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)
    engine = make_engine(url)
    upgrade(engine)
    payloads = files(setup(engine, args.businesses, args.accounts, args.items, when), args.sets)
    payment_day(when, "ACH", Policy())  # the holiday calendar's one-time import
    spent, profiler = [0.0, 0.0, 0.0, 0.0, False], None
    _count_writes(engine, spent)
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    post = _set_by_set(carm.intake.post_payments) if args.set_by_set else carm.intake.post_payments
    carm.intake.post_payments = _timed(post, spent, profiler)
    start = time.perf_counter()
    for name, data in payloads:
        carm.intake.ingest(engine, data, name, received_at=when, policy=Policy(), acknowledged_at=when)
    seconds = time.perf_counter() - start
    if profiler:
        profiler.dump_stats(args.profile)
    with engine.begin() as conn:
        allocations = conn.execute(
            select(func.count()).select_from(journal_line.join(journal_entry, journal_entry.c.id == journal_line.c.entry_id))
            .where(journal_entry.c.reason == "PAYMENT", journal_line.c.account == "AR")
        ).scalar()
        problems = [str(p) for p in check_books(conn)]
    engine.dispose()
    return {"code": str(Path(carm.intake.__file__).resolve().parent.parent), "allocations": allocations,
            "seconds": seconds, "posting_seconds": spent[0], "posting_cpu_seconds": spent[1],
            "server_cpu_seconds": spent[2], "write_seconds": spent[3] if engine.dialect.name == "sqlite" else None, "problems": problems}


def child(args) -> dict:
    from sqlalchemy import create_engine, text

    from carm.logs import configure
    from core.settings import Settings

    configure(Settings(log_level="WARNING"))
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return measure(f"sqlite:///{tmp}/bench.db", args)
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"carm_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        return measure(admin.url.set(database=name).render_as_string(hide_password=False), args)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ----------------------------------------------------------------------- parent side
def run_child(args, db: str, root: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--root", str(root), "--db", db, "--lines", str(args.lines),
           "--businesses", str(args.businesses), "--items", str(args.items), "--sets", str(args.sets)]
    if args.set_by_set:
        cmd.append("--set-by-set")
    if args.profile:
        cmd += ["--profile", args.profile]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    if proc.returncode != 0:
        raise RuntimeError(f"{db} with {root} failed:\n{proc.stderr}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    if figures["code"] != str(root):
        raise RuntimeError(f"the child ran the code in {figures['code']}, not {root}")
    if figures["problems"] or figures["allocations"] != args.accounts * args.businesses * args.items:
        raise RuntimeError(f"the books are wrong after the run: {figures}")
    return figures


def summary(label: str, db: str, runs: list[dict]) -> str:
    allocations = runs[0]["allocations"]
    posting = sorted(r["posting_seconds"] for r in runs)
    whole = sorted(r["seconds"] for r in runs)
    cpu = min(r["posting_cpu_seconds"] for r in runs)
    server = min(r["server_cpu_seconds"] for r in runs)
    writes = [r["write_seconds"] for r in runs if r.get("write_seconds") is not None]
    written = f"{min(writes) / allocations * 1e6:.1f}" if writes else "—"
    return (f"| {label} | {db} | {allocations:,} | {whole[0]:.2f} | {posting[0]:.3f} | {statistics.median(posting):.3f} | {cpu:.3f} | "
            f"{server:.2f} | {written} | {allocations / posting[0]:,.0f} | {allocations / statistics.median(posting):,.0f} | "
            f"{allocations / (cpu + server):,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--businesses", type=int, default=10)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--sets", type=int, default=1, help="payments (ST…SE sets) per file, the lines split between them")
    parser.add_argument("--set-by-set", action="store_true", help="call post_payments once per set instead of once per file")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--baseline", type=Path, help="also measure the code of this checkout, interleaved")
    parser.add_argument("--profile", help="cProfile the post_payments calls into this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.accounts = max(1, args.lines // (args.businesses * args.items))
    if args.child:
        sys.path.insert(0, str(args.root))
        print(json.dumps(child(args)))
        return
    codes = [("this", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.processor())
    print(f"command: python bench/ledger_throughput.py {' '.join(sys.argv[1:])}")
    print(f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.2f} at start")
    print(f"load: {args.businesses} files × {args.accounts} accounts × {args.items} items = "
          f"{args.businesses * args.accounts * args.items} lines in {args.sets} set(s) per file, posted "
          f"{'set by set' if args.set_by_set else 'file by file'}; a fresh child per run, {args.repeat} run(s) each, interleaved")
    runs: dict[tuple[str, str], list[dict]] = {}
    for i in range(args.repeat):
        for db in databases:
            for label, root in codes:
                figures = run_child(args, db, root)
                runs.setdefault((label, db), []).append(figures)
                print(f"  {label} {db} run {i + 1}: posting {figures['posting_seconds']:.3f} s ({figures['posting_cpu_seconds']:.3f} CPU, "
                      f"{figures['server_cpu_seconds']:.2f} server CPU), "
                      f"end to end {figures['seconds']:.2f} s, "
                      f"books checked: {len(figures['problems'])} problems", file=sys.stderr)
    print(f"load {os.getloadavg()[0]:.2f} at end; peak RSS of the children: "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MiB")
    print()
    print("| code | database | allocations | end to end s (best) | posting s (best) | posting s (median) | posting CPU s (best) "
          "| server CPU s (best) | SQLite's writes µs/alloc (best) | posting alloc/s (best) | posting alloc/s (median) "
          "| alloc/s of CPU (client + server) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (label, db), found in runs.items():
        print(summary(f"{label} ({codes[[c for c, _ in codes].index(label)][1].name})", db, found))


if __name__ == "__main__":
    main()
