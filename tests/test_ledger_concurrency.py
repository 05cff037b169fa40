"""Several worker processes ingesting payments to the same accounts at once, on PostgreSQL:
nothing is lost, nothing is posted twice, the books stay sound."""

from __future__ import annotations

import multiprocessing as mp
from datetime import datetime

from sqlalchemy import func, select

from carm.intake import ingest
from core.clock import EASTERN
from core.db import make_engine
from edi.samples import file_820
from store.journal import check_books
from store.schema import payment, posted_file

from .ledger_helpers import IMPORTER, POLICY, LineSpec, PaymentSpec, balances, declare, setup_world, txn

A1, A2 = f"{IMPORTER}RM0001", f"{IMPORTER}RM0002"
WHEN = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)


def _files() -> list[bytes]:
    """Eight files, each paying 100.00 to A1 and 50.00 to A2 under its own trace."""
    return [
        file_820([PaymentSpec(f"CONC{n}", IMPORTER, [LineSpec(A1, 100_00), LineSpec(A2, 50_00)])], control_number=n, group_control=n)
        for n in range(1, 9)
    ]


def _worker(url: str, datas: list[bytes], barrier) -> None:
    engine = make_engine(url)
    barrier.wait()
    for n, data in enumerate(datas):
        ingest(engine, data, f"w{n}.x12", received_at=WHEN, policy=POLICY)
    engine.dispose()


def test_parallel_workers_post_each_payment_exactly_once(pg_engine):
    setup_world(pg_engine)
    declare(
        pg_engine,
        dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02", duty="500.00"),
        dict(transaction_number=txn("12001", 2), rm15=A2, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02", duty="500.00"),
    )
    files = _files()
    # four workers; every file is sent by two of them, in different orders
    plan = [files[0:4] + files[4:8], files[4:8] + files[0:4], files[::-1], files[2:6] + files[0:2] + files[6:8]]
    url = pg_engine.url.render_as_string(hide_password=False)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(plan))
    workers = [ctx.Process(target=_worker, args=(url, datas, barrier)) for datas in plan]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]

    with pg_engine.begin() as conn:
        assert check_books(conn) == []
        assert conn.execute(select(func.count()).select_from(payment)).scalar() == 8
        assert conn.execute(select(func.count()).select_from(posted_file)).scalar() == 8
    # 8 × 100.00 against a 500.00 debt on A1: 500 applied, 300 left as credit; 8 × 50.00 = 400 of 500 on A2
    assert sum(balances(pg_engine, A1).values()) == 500_00 - 800_00
    assert sum(balances(pg_engine, A2).values()) == 500_00 - 400_00
