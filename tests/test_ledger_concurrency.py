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


C2 = "200000008RM0002"


def _multi_set_files() -> list[bytes]:
    """Two FIs, three files each, three payments a file touching A1, A2 and C2 in varying order."""
    out = []
    for sender in ("BANKOFTEST", "CAISSETEST"):
        for n in range(1, 4):
            specs = [
                PaymentSpec(f"{sender[:4]}{n}A", IMPORTER, [LineSpec(A1, 10_00), LineSpec(A2, 20_00)]),
                PaymentSpec(f"{sender[:4]}{n}B", IMPORTER, [LineSpec(A2, 30_00), LineSpec(A1, 40_00)]),
                PaymentSpec(f"{sender[:4]}{n}C", "200000008", [LineSpec(C2, 5_00)]),
            ]
            out.append(file_820(specs, sender_id=sender, control_number=100 + n, group_control=100 + n))
    return out


def _ingester(url: str, datas: list[bytes], barrier, errors) -> None:
    engine = make_engine(url)
    barrier.wait()
    try:
        for n, data in enumerate(datas):
            ingest(engine, data, f"m{n}.x12", received_at=WHEN, policy=POLICY)
    except Exception as exc:  # reported to the test, which fails on it
        errors.put(f"ingest: {type(exc).__name__}: {exc}")
    engine.dispose()


def _closer(url: str, barrier, errors) -> None:
    from store.ledger import close_period, run_collections

    engine = make_engine(url)
    barrier.wait()
    try:
        for _ in range(3):
            with engine.begin() as conn:
                close_period(conn, "2026-11", policy=POLICY, at=WHEN)
            with engine.begin() as conn:
                run_collections(conn, datetime(2026, 12, 2).date(), policy=POLICY, at=WHEN)
    except Exception as exc:
        errors.put(f"close/collections: {type(exc).__name__}: {exc}")
    engine.dispose()


def test_multi_set_files_of_several_fis_and_a_concurrent_close_and_collections_never_deadlock(pg_engine):
    """Four ingesters (every file sent twice, in different orders) and a process closing the
    period and running collections, all at once on PostgreSQL: no deadlock, no error, every
    payment posted once, the books sound. Accounts are locked in one global order (RM15) —
    a file's accounts all at once — so no two transactions can wait on each other in a circle."""
    setup_world(pg_engine)
    declare(
        pg_engine,
        dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02", duty="500.00"),
        dict(transaction_number=txn("12001", 2), rm15=A2, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02", duty="500.00"),
        dict(transaction_number=txn("50505", 3), rm15=C2, release_date="2026-11-06", accounting_date="2026-11-06", duty="100.00"),
    )
    files = _multi_set_files()
    plan = [files, files[::-1], files[3:] + files[:3], files[1::2] + files[0::2]]
    url = pg_engine.url.render_as_string(hide_password=False)
    ctx = mp.get_context("spawn")
    barrier, errors = ctx.Barrier(len(plan) + 1), ctx.Queue()
    workers = [ctx.Process(target=_ingester, args=(url, datas, barrier, errors)) for datas in plan]
    workers.append(ctx.Process(target=_closer, args=(url, barrier, errors)))
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    reported = []
    while not errors.empty():
        reported.append(errors.get())
    assert reported == [] and [w.exitcode for w in workers] == [0] * len(workers)
    with pg_engine.begin() as conn:
        assert check_books(conn) == []
        assert conn.execute(select(func.count()).select_from(payment).where(payment.c.status == "posted")).scalar() == 18
        assert conn.execute(select(func.count()).select_from(payment)).scalar() == 18
    # A1: 500.00 owed, 6 files × (10 + 40) = 300.00 paid; A2: 6 × (20 + 30) = 300.00; C2: 6 × 5.00 = 30.00 of 100.00;
    # each still owes after its due date on 12-02, so collections charged its penalty once (whatever the interleaving)
    for rm15, number, due in ((A1, txn("12001", 1), "2026-12-01"), (A2, txn("12001", 2), "2026-12-01"), (C2, txn("50505", 3), "2026-11-06")):
        owed = balances(pg_engine, rm15)
        assert owed[f"declaration:duty:{number}"] == {A1: 200_00, A2: 200_00, C2: 70_00}[rm15]
        assert owed[f"penalty:late-payment penalty: balance due {due} unpaid"] == 200_00


def test_two_files_with_the_same_trace_at_once_post_one_and_refuse_the_other(pg_engine):
    """Two different files (other totals) carrying the same trace, each ingested by two workers at
    once: whichever commits first is posted; the other, judged again after its transaction lost
    the race, is a duplicate (997 R) — no worker fails, nothing is posted twice."""
    setup_world(pg_engine)
    first = file_820([PaymentSpec("SAME1", IMPORTER, [LineSpec(A1, 100_00)])], control_number=1, group_control=1)
    second = file_820([PaymentSpec("SAME1", IMPORTER, [LineSpec(A1, 250_00)])], control_number=2, group_control=2)
    plan = [[first], [second], [second], [first]]
    url = pg_engine.url.render_as_string(hide_password=False)
    ctx = mp.get_context("spawn")
    barrier, errors = ctx.Barrier(len(plan)), ctx.Queue()
    workers = [ctx.Process(target=_ingester, args=(url, datas, barrier, errors)) for datas in plan]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    reported = []
    while not errors.empty():
        reported.append(errors.get())
    assert reported == [] and [w.exitcode for w in workers] == [0] * len(workers)
    with pg_engine.begin() as conn:
        rows = sorted(conn.execute(select(payment.c.status, payment.c.total_cents)).all())
        assert check_books(conn) == []
    assert [status for status, _ in rows] == ["duplicate", "posted"]
    posted = next(total for status, total in rows if status == "posted")
    assert sum(balances(pg_engine, A1).values()) == -posted  # A1 owed nothing: the posted payment is a credit
