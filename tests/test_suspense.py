"""Suspense has a way out: a line set aside is listed with its age, and applied to an account or
returned to the FI — once, by an adjusting entry that names it — with a notice to the payer.

The world: NORTHERN IMPORTS (A1) owes 600.00 due 2026-12-01; its bank pays trace S1 on
2026-11-20 with 100.00 for A1 and 40.00 for `999999998RM0001`, an account nobody has (the
FI's typo for A1): the second line is set aside, 40.00 held in suspense.
"""

from __future__ import annotations

import multiprocessing as mp
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from core.clock import EASTERN
from core.db import make_engine
from core.problems import Problem
from ledger.suspense import age_bucket, bucket_names
from store import suspense
from store.ledger import account_view
from store.schema import journal_entry, journal_line

from .ledger_helpers import AT, IMPORTER, POLICY, LineSpec, PaymentSpec, assert_books_sound, balances, declare, notices, pay, setup_world, txn
from .statements_helpers import accounts, daily, lines, xml_docs

A1 = f"{IMPORTER}RM0001"
LINE = "ZZ:BANKOFTEST/S1/2"
ON_TIME = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)
DECIDED = date(2026, 11, 24)


@pytest.fixture
def world(engine):
    setup_world(engine)
    declare(engine, dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01",
                         accounting_date="2026-11-02", duty="600.00"))
    done = pay(engine, PaymentSpec("S1", IMPORTER, [LineSpec(A1, 100_00), LineSpec("999999998RM0001", 40_00)]), received_at=ON_TIME)
    assert [(p.status, p.applied_cents, p.suspense_cents) for p in done.posted] == [("posted", 100_00, 40_00)]
    assert done.outcome.sets[0].result.ack_code == "A"  # accepted: the money will be applied (memo §30)
    return engine


def _suspense_balance(engine) -> int:
    with engine.begin() as conn:
        return int(conn.execute(
            select(func.coalesce(func.sum(journal_line.c.credit_cents - journal_line.c.debit_cents), 0)).where(journal_line.c.account == "SUSPENSE")
        ).scalar_one())



def test_a_line_set_aside_is_listed_with_its_reason_and_age(world):
    with world.begin() as conn:
        (line,) = suspense.suspense_lines(conn)
        view = account_view(conn, A1, date(2026, 11, 20))
    assert (line.id, line.payer_bn9, line.rm15, line.amount_cents, line.payment_day) == (LINE, IMPORTER, "999999998RM0001", 40_00, date(2026, 11, 20))
    assert line.reason == "011 unknown program account 999999998RM0001" and line.held
    assert view.suspense_cents == {"S1": 40_00}  # the payer sees it on its account
    assert age_bucket(line.payment_day, DECIDED) == "0-30" and age_bucket(line.payment_day, date(2027, 2, 19)) == "91+"
    assert bucket_names() == ["0-30", "31-60", "61-90", "91+"]


def test_applying_a_line_pays_the_account_once_and_tells_the_payer(world, tmp_path):
    """The 40.00 reaches A1's debt (600.00 - 100.00 - 40.00 = 460.00), suspense empties, and the
    next Daily Notice (issued 11-25 for 11-24) shows it as a payment under trace S1."""
    with world.begin() as conn:
        done = suspense.apply(conn, LINE, A1, None, policy=POLICY, day=DECIDED, at=AT, by="ops1", note="typo in the RM15")
    assert not isinstance(done, Problem), done
    assert balances(world, A1) == {f"declaration:duty:{txn('12001', 1)}": 600_00 - 100_00 - 40_00}
    assert _suspense_balance(world) == 0
    (notice,) = notices(world, "suspense_applied")
    assert (notice.bn9, notice.rm15, notice.notice_date) == (IMPORTER, A1, DECIDED)
    dn = xml_docs(daily(world, date(2026, 11, 25), tmp_path))[A1]
    assert lines(accounts(dn)[A1].find("{*}OtherTransactions")) == [("PAYMENT", -40_00)]
    assert dn.find(".//{*}Reference").text == "S1"
    with world.begin() as conn:
        again = suspense.apply(conn, LINE, A1, None, policy=POLICY, day=DECIDED, at=AT, by="ops2", note="twice")
        back = suspense.return_(conn, LINE, day=DECIDED, at=AT, by="ops2", reason="too late")
        assert suspense.suspense_lines(conn) == []
        assert [line.resolution for line in suspense.suspense_lines(conn, held_only=False)] == ["SUSPENSE_APPLIED"]
    assert (again.code, again.message) == ("already-resolved", f"line {LINE} was already applied on {DECIDED}")
    assert back.code == "already-resolved"
    assert_books_sound(world)


def test_returning_a_line_gives_the_money_back_to_the_fi(world):
    with world.begin() as conn:
        done = suspense.return_(conn, LINE, day=DECIDED, at=AT, by="ops1", reason="no such account at CBSA")
        entry = conn.execute(select(journal_entry).where(journal_entry.c.key == "suspense:ZZ:BANKOFTEST:S1:2")).one()
        moved = conn.execute(select(journal_line.c.account, journal_line.c.debit_cents, journal_line.c.credit_cents, journal_line.c.party)
                             .where(journal_line.c.entry_id == entry.id).order_by(journal_line.c.id)).all()
    assert not isinstance(done, Problem) and entry.reason == "SUSPENSE_RETURNED"
    assert [tuple(m) for m in moved] == [("SUSPENSE", 40_00, 0, IMPORTER), ("BANK", 0, 40_00, "ZZ:BANKOFTEST")]
    assert _suspense_balance(world) == 0
    assert balances(world, A1) == {f"declaration:duty:{txn('12001', 1)}": 500_00}  # untouched
    assert [n.bn9 for n in notices(world, "suspense_returned")] == [IMPORTER]
    assert_books_sound(world)


def test_an_apply_that_cannot_be_done_says_why_and_changes_nothing(world):
    with world.begin() as conn:
        unknown = suspense.apply(conn, "ZZ:BANKOFTEST/S1/9", A1, None, policy=POLICY, day=DECIDED, at=AT, by="ops", note="")
        inactive = suspense.apply(conn, LINE, "400000006RM0009", None, policy=POLICY, day=DECIDED, at=AT, by="ops", note="")
        no_security = suspense.apply(conn, LINE, A1, "99999", policy=POLICY, day=DECIDED, at=AT, by="ops", note="")
        malformed = suspense.find_line(conn, "S1-2")
    assert [p.code for p in (unknown, inactive, no_security, malformed)] == ["not-found", "not-applied", "not-applied", "not-found"]
    assert _suspense_balance(world) == 40_00


def _apply_in_a_process(url: str, barrier, results) -> None:
    engine = make_engine(url)
    barrier.wait()
    with engine.begin() as conn:
        done = suspense.apply(conn, LINE, A1, None, policy=POLICY, day=DECIDED, at=AT, by=mp.current_process().name, note="race")
    results.put("applied" if not isinstance(done, Problem) else done.code)
    engine.dispose()


def test_two_operators_applying_the_same_line_at_once_apply_it_once(pg_engine):
    """Four processes race to apply the same line on PostgreSQL: one wins, three are told it is
    already resolved; one adjusting entry, the books sound."""
    setup_world(pg_engine)
    declare(pg_engine, dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01",
                            accounting_date="2026-11-02", duty="600.00"))
    pay(pg_engine, PaymentSpec("S1", IMPORTER, [LineSpec(A1, 100_00), LineSpec("999999998RM0001", 40_00)]), received_at=ON_TIME)
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    url = pg_engine.url.render_as_string(hide_password=False)
    workers = [ctx.Process(target=_apply_in_a_process, args=(url, barrier, results)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert sorted(results.get(timeout=5) for _ in workers) == ["already-resolved"] * 3 + ["applied"]
    with pg_engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(journal_entry).where(journal_entry.c.key.like("suspense:%"))).scalar() == 1
    assert _suspense_balance(pg_engine) == 0
    assert balances(pg_engine, A1) == {f"declaration:duty:{txn('12001', 1)}": 460_00}
    assert_books_sound(pg_engine)
