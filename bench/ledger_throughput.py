"""Benchmark: 820 payment lines posted (allocated) per second, on SQLite and PostgreSQL.

    python bench/ledger_throughput.py --lines 100000 [--db sqlite|postgresql|both]

Set-up (not timed): B businesses × A program accounts × K open declaration items
(lines = B × A × K, default 10 × 1,000 × 10), posted as one balanced entry through the
store's `write_plan`, like every posting.  Then B 820 files, one per business, each a
single payment of A × K lines — every line pays exactly one item, oldest due first — go
through `carm.intake.ingest` (validate, 997, account checks, 824, allocate, post) and, for
comparison on the same files, through the EDI stages alone (`edi.pipeline.acknowledge_file`
with an in-memory store, nothing posted).
Printed: seconds, lines/s end to end, and the posting share (end to end minus EDI).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text

from carm.db import upgrade
from carm.intake import ingest
from carm.logs import configure
from core.clock import EASTERN
from core.db import make_engine
from core.identifiers import luhn_check_digit
from core.settings import Settings
from edi.pipeline import acknowledge_file
from edi.samples import LineSpec, PaymentSpec, file_820
from edi.store import MemoryEdiStore
from ledger.model import Entry, JournalLine, NewItem, Plan
from ledger.policy import Policy
from store.journal import write_plan
from store.schema import business, journal_entry, journal_line, program_account

PG_ADMIN = os.environ.get("CARM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WHEN = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)


def bn9(n: int) -> str:
    body = f"{700000000 + n * 10:09d}"[:8]
    return body + str(luhn_check_digit(body))


def setup(engine, businesses: int, accounts: int, items_per_account: int) -> list[tuple[str, list[tuple[str, int]]]]:
    """Bulk reference data and open items; returns per business [(rm15, cents)] in payment order."""
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
        write_plan(conn, Plan(items=items, entries=[entry]), WHEN)
    return plan


def files(plan) -> list[tuple[str, bytes]]:
    out = []
    for n, (payer, pays) in enumerate(plan, start=1):
        spec = PaymentSpec(f"BENCH{n:05d}", payer, [LineSpec(rm15, cents) for rm15, cents in pays])
        out.append((f"bench{n}.x12", file_820([spec], control_number=n, group_control=n)))
    return out


def measure(url: str, args) -> dict:
    engine = make_engine(url)
    upgrade(engine)
    plan = setup(engine, args.businesses, args.accounts, args.items)
    payloads = files(plan)
    total_lines = sum(len(p) for _, p in plan)
    # the EDI stages alone, with an in-memory store (nothing kept)
    start = time.perf_counter()
    for name, data in payloads:
        acknowledge_file(io.BytesIO(data), name, store=MemoryEdiStore(), at=WHEN)
    edi_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for name, data in payloads:
        ingest(engine, data, name, received_at=WHEN, policy=Policy(), acknowledged_at=WHEN)
    seconds = time.perf_counter() - start
    with engine.begin() as conn:
        allocations = conn.execute(
            select(func.count()).select_from(journal_line.join(journal_entry, journal_entry.c.id == journal_line.c.entry_id))
            .where(journal_entry.c.reason == "PAYMENT", journal_line.c.account == "AR")
        ).scalar()
    engine.dispose()
    posting = seconds - edi_seconds
    return {"lines": total_lines, "allocations": allocations, "seconds": seconds, "edi_seconds": edi_seconds,
            "lines_per_s": total_lines / seconds, "allocations_per_s_posting": allocations / posting if posting > 0 else float("nan")}


def main() -> None:
    configure(Settings(log_level="WARNING"))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--businesses", type=int, default=10)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    args.accounts = max(1, args.lines // (args.businesses * args.items))
    print(f"command: python bench/ledger_throughput.py {' '.join(sys.argv[1:])}")
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.processor())
    print(f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load: {args.businesses} files × {args.accounts} accounts × {args.items} items = "
          f"{args.businesses * args.accounts * args.items} lines")
    results = {}
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results["SQLite"] = measure(f"sqlite:///{tmp}/bench.db", args)
    if args.db in ("postgresql", "both"):
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"carm_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            results["PostgreSQL"] = measure(admin.url.set(database=name).render_as_string(hide_password=False), args)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print()
    print(f"{'database':<11} {'lines':>8} {'allocations':>11} {'end to end s':>12} {'lines/s':>9} {'EDI only s':>10} {'posting alloc/s':>15}")
    for label, r in results.items():
        print(f"{label:<11} {r['lines']:>8} {r['allocations']:>11} {r['seconds']:>12.1f} {r['lines_per_s']:>9.0f} "
              f"{r['edi_seconds']:>10.1f} {r['allocations_per_s_posting']:>15.0f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
