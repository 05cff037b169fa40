"""Statements of account for many accounts: accounts per second and peak memory.

    .venv/bin/python bench/statements_throughput.py --accounts 100000 [--url URL] [--formats xml,html,pdf] [--document soa|dn]
        [--workers 1,2] [--baseline /tmp/before] [--repeat N]

Generates a ledger directly with bulk inserts (the ledger's posting code is
not what is measured here): for each importer account of period 2026-11 an
opening debt accounted 2026-10-10, two declarations in the period (one with
duty and GST), and a payment — every third account's declarations accounted
under one of 50 brokers' security accounts, its client covered by a
business-management relationship.  That is 4 journal entries, 5 items and 9
AR lines per account.  Then `statements.run_statements` writes every
statement of period 2026-11 (or, with `--document dn`,
`statements.issue_daily_notices` every Daily Notice of Friday 2026-11-06,
reporting the 11-05 declarations of every account) in a child process, so its
peak RSS is the run's own: once per number of `--workers` (statements split across
that many processes, decision S11; the peak is the parent's) and, with `--baseline`,
with the code of that checkout (its own copy of this script, with as many workers) — the same ledger, the
measurements interleaved `--repeat` times. Every measurement writes into a fresh
folder, kept until the end (see `main`), and the digest of all its files (names and
bytes) is printed: the same digest means byte-identical output.

Default database: SQLite in a temporary folder; `--url postgresql+psycopg://…`
for PostgreSQL (a fresh database is created and dropped).
"""

from __future__ import annotations

import argparse
import hashlib
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
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from carm.db import upgrade  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.identifiers import luhn_check_digit  # noqa: E402
from ledger.model import Entry, JournalLine, NewItem, Plan  # noqa: E402
from store.journal import write_plan  # noqa: E402
from store.schema import business, period_close, program_account, relationship, security_account  # noqa: E402

BROKERS = 50
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def bn9(n: int) -> str:
    body = f"{n:08d}"
    return body + str(luhn_check_digit(body))


def txn(asec: str, n: int) -> str:
    body = f"{asec}{n:08d}"
    return body + str(luhn_check_digit(body))


def generate(engine, accounts: int, batch: int = 20_000) -> None:
    brokers = [bn9(90_000_000 + i) for i in range(BROKERS)]
    with engine.begin() as conn:
        conn.execute(business.insert(), [{"bn9": b, "name": f"BROKER {i}", "role": "broker", "language": "en", "email_notices": False}
                                         for i, b in enumerate(brokers)])
        conn.execute(security_account.insert(), [{"asec": f"{90000 + i}", "holder_bn9": b, "holder_kind": "broker", "security_cents": 10**9}
                                                 for i, b in enumerate(brokers)])
        conn.execute(period_close.insert().values(period="2026-11", closed_at=AT))
    for start in range(0, accounts, batch):
        rows = {"business": [], "program_account": [], "relationship": []}
        plan = Plan()
        for n in range(start, min(accounts, start + batch)):
            owner = bn9(10_000_000 + n)
            rm15 = f"{owner}RM0001"
            brokered = n % 3 == 0
            asec = f"{90000 + n % BROKERS}" if brokered else "12345"
            rows["business"].append({"bn9": owner, "name": f"IMPORTER {n}", "role": "importer", "language": "fr" if n % 4 == 0 else "en",
                                     "email_notices": False})
            rows["program_account"].append({"rm15": rm15, "bn9": owner, "status": "active", "client_type": "BRK" if brokered else "RPP",
                                             "direct_gst": False, "direct_security": False, "calendar_month": False, "opened_on": date(2020, 1, 1)})
            if brokered:
                rows["relationship"].append({"id": f"{owner}:{brokers[n % BROKERS]}", "client_bn9": owner, "provider_bn9": brokers[n % BROKERS],
                                             "scope": "business", "start_date": date(2024, 1, 1), "end_date": None})
            debts = [  # (accounting date, due date, [(component, cents)])
                (date(2026, 10, 10), date(2026, 10, 30), [("duty", 10_000 + n % 997)]),
                (date(2026, 11, 5), date(2026, 12, 1), [("duty", 123_456 + n % 1000), ("gst", 6_173)]),
                (date(2026, 11, 12), date(2026, 12, 1), [("duty", 50_000)]),
            ]
            first_item = None
            for k, (day, due, parts) in enumerate(debts):
                number = txn(asec, n * 3 + k)
                lines = []
                for component, cents in parts:
                    item = NewItem(key=f"decl:{number}:{component}", rm15=rm15, asec=asec if brokered else None,
                                   agent_bn9=brokers[n % BROKERS] if brokered else None, kind="declaration", component=component,
                                   transaction_number=number, posted_on=day, due_date=due, description=f"{component} on transaction {number}")
                    plan.items.append(item)
                    first_item = first_item or item.key
                    lines += [JournalLine("AR", debit_cents=cents, rm15=rm15, item_key=item.key),
                              JournalLine("REVENUE", credit_cents=cents, party=component)]
                plan.entries.append(Entry(f"decl:{number}", day, "DECLARATION", f"transaction {number} accounted", tuple(lines), source="bench"))
            plan.entries.append(Entry(f"pay:BENCH:{n}", date(2026, 11, 13), "PAYMENT", f"SOA payment {n}", (
                JournalLine("BANK", debit_cents=10_000, party="BENCH", trace=str(n)),
                JournalLine("AR", credit_cents=10_000, rm15=rm15, item_key=first_item),
            ), source="bench"))
        with engine.begin() as conn:
            for table in (business, program_account, relationship):
                if rows[table.name]:
                    conn.execute(table.insert(), rows[table.name])
            write_plan(conn, plan, AT)
            conn.execute(text("ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def _hwm_kib() -> int | None:
    """The process's peak RSS since the last reset (`VmHWM`), or None without /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def measure(url: str, out: str, formats: tuple[str, ...], document: str, workers: int = 1) -> dict:
    import statements
    from ledger.policy import Policy

    engine = make_engine(url)
    try:  # forget the peak of imports (and of the parent, which ru_maxrss would keep)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    started = time.perf_counter()
    with engine.connect() as conn:
        if document == "dn":
            report = statements.issue_daily_notices(conn, date(2026, 11, 6), Path(out), policy=Policy(), formats=formats)
        else:
            split = {"workers": workers} if workers > 1 else {}  # the baseline's run_statements knows no workers
            report = statements.run_statements(conn, "2026-11", Path(out), policy=Policy(), formats=formats, **split)
    seconds = time.perf_counter() - started
    return {
        "documents": report.documents, "importer": report.importer, "broker": report.broker, "files": len(report.files),
        "seconds": round(seconds, 2), "documents_per_s": round(report.documents / seconds, 1),
        "accounts_per_s": round(report.importer / seconds, 1),
        "peak_rss_mib": round((_hwm_kib() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1),
        "problems": [p.message for p in report.problems],
    }


def _digest(folder: Path) -> str:
    """One digest of every file of `folder`: names and bytes."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _child(script: Path, workers: int, args, url: str, out: Path) -> dict:
    workers = ["--workers", str(workers)] if workers > 1 else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.run(
        [sys.executable, str(script), "--formats", args.formats, "--document", args.document, *workers, "--measure", url, str(out)],
        check=True, capture_output=True, text=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    # CPU of the child and its workers, imports and ledger reads included: the baseline's script reports none itself
    result["child_cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)
    result["digest"] = _digest(out)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--url", help="database URL (default: SQLite in a temporary folder)")
    parser.add_argument("--formats", default="xml", help="comma-separated: xml,html,pdf (default xml, the delivered document)")
    parser.add_argument("--document", choices=("soa", "dn"), default="soa", help="statements of account (default) or daily notices")
    parser.add_argument("--workers", default="1", help="comma-separated numbers of worker processes to measure (default 1)")
    parser.add_argument("--baseline", type=Path, help="a checkout of the code before, measured on the same ledger")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved repeats of every measurement")
    parser.add_argument("--measure", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    formats = tuple(args.formats.split(","))
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.measure[1], formats, args.document, int(args.workers))))
        return 0
    os.environ.setdefault("CARM_LOG_LEVEL", "WARNING")
    counts = [int(w) for w in args.workers.split(",")]
    paths = {f"{w}×" if w > 1 else "1 process": (Path(__file__), w) for w in counts}
    if args.baseline:  # the code before, with the same numbers of workers (its run_statements may know none: one process)
        before = args.baseline / "bench" / "statements_throughput.py"
        paths = {**{f"before, {w}×" if w > 1 else "before": (before, w) for w in counts}, **paths}
    results: dict[str, list[dict]] = {label: [] for label in paths}
    with tempfile.TemporaryDirectory(prefix="carm-bench-") as tmp:
        created = None
        if args.url:
            name = f"carm_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = admin.url.set(database=name).render_as_string(hide_password=False)
            created = (admin, name)
        else:
            url = f"sqlite:///{tmp}/bench.db"
        try:
            engine = make_engine(url)
            upgrade(engine)
            t0 = time.perf_counter()
            generate(engine, args.accounts)
            engine.dispose()
            generated = time.perf_counter() - t0
            load_before = os.getloadavg()[0]
            # every measurement writes into a folder of its own, all removed at the end: creating files just
            # after deleting as many costs ext4 several times the CPU (a new inode skips the ones deleted in
            # the last minutes), which would charge one measurement for the one before it
            for rep in range(args.repeat):
                for k, (label, (script, workers)) in enumerate(paths.items()):
                    results[label].append(_child(script, workers, args, url, Path(tmp) / f"out-{rep}-{k}"))
        finally:
            if created:
                admin, name = created
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    print(f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average {load_before:.2f} before the measurements, {os.getloadavg()[0]:.2f} at the end")
    print(f"database: {'PostgreSQL' if args.url else 'SQLite'}; {args.accounts} accounts generated in {generated:.1f} s")
    what = "daily notices of 2026-11-06" if args.document == "dn" else "statements of account, period 2026-11"
    print(f"documents: {what}; formats: {args.formats}; {args.repeat} interleaved repeat(s)")
    first = next(iter(results.values()))[0]
    print(f"written: {first['documents']} documents ({first['importer']} importer, {first['broker']} broker), {first['files']} files")
    print("| run | best s | median s | best CPU s (child) | best accounts/s | peak RSS MiB | output digest |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, runs in results.items():
        seconds = sorted(r["seconds"] for r in runs)
        best = min(runs, key=lambda r: r["seconds"])
        cpu = min(r["child_cpu_s"] for r in runs)
        print(f"| {label} | {seconds[0]} | {round(statistics.median(seconds), 2)} | {cpu} | {best['accounts_per_s']} | "
              f"{max(r['peak_rss_mib'] for r in runs)} | {' '.join(sorted({r['digest'] for r in runs}))} |")
    if first["problems"]:
        print(f"problems: {first['problems']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
