"""Posting a file's allocations as one batch, or one set at a time in one transaction.

Every test runs on SQLite and on PostgreSQL (the `engine` fixture).  World and dates as in
`test_ledger`: A1 owes 500.00 duty + 100.00 GST due 2026-12-01 and 400.00 duty due
2026-12-31; payments are received on time, Friday 2026-11-20.
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import func, select

from core.clock import EASTERN
from edi.pipeline import acknowledge
from edi.samples import file_820
from edi.store import MemoryEdiStore
from edi.validate import validate_stream
from ledger.checks import account_check
from store.ledger import payment_facts, post_payments
from store.schema import journal_line, payment, posted_file

from .ledger_helpers import AT, IMPORTER, POLICY, PaymentSpec, assert_books_sound, balances, declare, pay, setup_world, txn
from .ledger_helpers import LineSpec as PayLine

A1 = f"{IMPORTER}RM0001"
ON_TIME = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)
FIRST, SECOND = txn("12001", 11), txn("12001", 12)


@pytest.fixture
def world(engine):
    setup_world(engine)
    declare(
        engine,
        dict(transaction_number=FIRST, rm15=A1, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02", duty="500.00", gst="100.00"),
        dict(transaction_number=SECOND, rm15=A1, asec="12001", release_date="2026-11-19", accounting_date="2026-11-20", duty="400.00"),
    )
    return engine


class _CallPerSet:
    """`edi.pipeline.Books` posting each set by its own `post_payments` call; what each call returned."""

    def __init__(self, conn, name: str) -> None:
        self.conn, self.name, self.calls = conn, name, []

    def post(self, payment, verdict):
        posted = post_payments(self.conn, payment.source.file_digest, self.name, [(payment, verdict)], received_at=ON_TIME, policy=POLICY)
        self.calls.append(posted)
        return posted

    def savepoint(self):
        return self.conn.begin_nested()


def post_set_by_set(engine, data: bytes, name: str) -> list[list]:
    """Validate the file, then post each of its sets by its own `post_payments` call, all in one
    transaction (as a caller streaming a file set by set does); what each call returned.  The
    answers are kept in a store of their own, so a second run posts again rather than replays."""
    result = validate_stream(io.BytesIO(data))
    with engine.begin() as conn:
        def checks(payments, earlier):
            return account_check(payment_facts(conn, payments), payments, ON_TIME.date(), earlier)

        books = _CallPerSet(conn, name)
        acknowledge(result, name, store=MemoryEdiStore(), at=AT, account_checks=checks, books=books)
        return books.calls


def books(engine) -> tuple:
    """What the file left: A1's open items, the payment rows, the posted file's count, the AR lines."""
    with engine.begin() as conn:
        payments = conn.execute(select(payment.c.trace, payment.c.status).order_by(payment.c.trace)).all()
        counted = conn.execute(select(posted_file.c.payments)).scalars().all()
        ar_lines = conn.execute(select(func.count()).select_from(journal_line).where(journal_line.c.account == "AR")).scalar()
    return balances(engine, A1), [tuple(r) for r in payments], counted, ar_lines


TWO_SETS = [PaymentSpec("T1", IMPORTER, [PayLine(A1, 700_00)]), PaymentSpec("T2", IMPORTER, [PayLine(A1, 500_00)])]
# T1: 500.00 duty + 100.00 GST of the first declaration, 100.00 of the second (300.00 left);
# T2, seeing T1's allocations: the 300.00 left, and 200.00 stays as an unapplied credit.
AFTER_TWO_SETS = {"payment:unapplied payment T2 line 1": -200_00}


def test_two_sets_posted_one_call_each_in_one_transaction_book_what_one_call_books(world):
    """The second call sees what the first wrote in the same transaction: T2 pays only what T1 left."""
    posted = post_set_by_set(world, file_820(TWO_SETS, control_number=1, group_control=1), "pay1.x12")
    assert [[(p.trace, p.status, p.applied_cents, p.credit_cents) for p in call] for call in posted] == [
        [("T1", "posted", 700_00, 0)], [("T2", "posted", 300_00, 200_00)]]
    # 1 declaration entry: 3 AR lines; T1: 3 AR lines (duty, GST, second duty); T2: 2 (second duty, credit)
    assert books(world) == (AFTER_TWO_SETS, [("T1", "posted"), ("T2", "posted")], [2], 3 + 3 + 2)
    assert_books_sound(world)


def test_the_same_file_posted_in_one_call_books_the_same(world):
    """The reference for the test above: the same file through `ingest`, which posts each set as it
    closes and counts the file's payments once at the end (decision E26)."""
    done = pay(world, *TWO_SETS, received_at=ON_TIME)
    assert [(p.trace, p.applied_cents, p.credit_cents) for p in done.posted] == [("T1", 700_00, 0), ("T2", 300_00, 200_00)]
    assert books(world) == (AFTER_TWO_SETS, [("T1", "posted"), ("T2", "posted")], [2], 3 + 3 + 2)
    assert_books_sound(world)


def test_posting_the_sets_again_changes_nothing(world):
    data = file_820(TWO_SETS, control_number=1, group_control=1)
    post_set_by_set(world, data, "pay1.x12")
    assert post_set_by_set(world, data, "pay1.x12") == [[], []]
    assert books(world) == (AFTER_TWO_SETS, [("T1", "posted"), ("T2", "posted")], [2], 3 + 3 + 2)
    assert_books_sound(world)


def test_many_lines_to_one_account_pay_its_debts_in_order_each_once(world):
    """Decision L3 across the lines of one payment: each line starts where the one before stopped,
    settled items are not paid twice, and what the last line leaves is a credit."""
    lines = [PayLine(A1, 250_00) for _ in range(4)] + [PayLine(A1, 50_00)]
    done = pay(world, PaymentSpec("T1", IMPORTER, lines), received_at=ON_TIME)
    # 250 duty | 250 duty | 100 GST + 150 second | 250 second | 50 credit
    assert [(p.applied_cents, p.credit_cents) for p in done.posted] == [(1_000_00, 50_00)]
    assert balances(world, A1) == {"payment:unapplied payment T1 line 5": -50_00}
    with world.begin() as conn:
        credits = conn.execute(select(journal_line.c.credit_cents).where(journal_line.c.account == "AR", journal_line.c.credit_cents > 0)
                               .order_by(journal_line.c.id)).scalars().all()
    assert credits == [250_00, 250_00, 100_00, 150_00, 250_00, 50_00]
    assert_books_sound(world)


class _Gather:
    """`edi.pipeline.Books` keeping each judged set, to post them all in one call afterwards."""

    def __init__(self, conn) -> None:
        self.conn, self.judged = conn, []

    def post(self, payment, verdict):
        self.judged.append((payment, verdict))
        return []

    def savepoint(self):
        return self.conn.begin_nested()


A2 = f"{IMPORTER}RM0002"
UNKNOWN = f"{IMPORTER}RM0077"  # no such program account: its line is set aside, its money held in suspense
PARTED = [
    # T1: A1's 500.00 duty, 100.00 GST and 400.00 second duty in file order over four lines, then a credit;
    # a line set aside between them; a line for A2 (no debt: all of it an unapplied credit)
    PaymentSpec("T1", IMPORTER, [PayLine(A1, 250_00), PayLine(A1, 250_00), PayLine(UNKNOWN, 10_00), PayLine(A2, 30_00),
                                 PayLine(A1, 250_00), PayLine(A1, 250_00, asec="12001"), PayLine(A1, 75_00)]),
    # T2 sees what T1 paid: A1 owes nothing more, so both lines are credits
    PaymentSpec("T2", IMPORTER, [PayLine(A1, 20_00), PayLine(UNKNOWN, 5_00)]),
]


def _rows(conn) -> dict[str, list[tuple]]:
    """Every row posting wrote, in id order, each reference to another row by that row's natural key
    (ids themselves differ between two runs on PostgreSQL, whose sequences a rollback does not rewind)."""
    from store.schema import account_balance, ar_item, item_balance, journal_entry, notice, payment_line

    entry = dict(conn.execute(select(journal_entry.c.id, journal_entry.c.key)).all())
    item = dict(conn.execute(select(ar_item.c.id, ar_item.c.key)).all())
    pay_ = dict(conn.execute(select(payment.c.id, payment.c.trace)).all())
    return {
        "entries": conn.execute(select(journal_entry.c.key, journal_entry.c.reason, journal_entry.c.description)
                                .order_by(journal_entry.c.id)).all(),
        "lines": [(entry[e], a, r, item.get(i), party, d, c) for e, a, r, i, party, d, c in conn.execute(
            select(journal_line.c.entry_id, journal_line.c.account, journal_line.c.rm15, journal_line.c.item_id, journal_line.c.party,
                   journal_line.c.debit_cents, journal_line.c.credit_cents).order_by(journal_line.c.id))],
        "items": conn.execute(select(ar_item.c.key, ar_item.c.rm15, ar_item.c.asec, ar_item.c.kind).order_by(ar_item.c.id)).all(),
        "item_balances": sorted((item[i], b) for i, b in conn.execute(select(item_balance.c.item_id, item_balance.c.balance_cents))),
        "account_balances": sorted(conn.execute(select(account_balance.c.rm15, account_balance.c.balance_cents)).all()),
        "payments": conn.execute(select(payment.c.trace, payment.c.status, payment.c.suspense_cents, payment.c.entry_id.isnot(None))
                                 .order_by(payment.c.id)).all(),
        "payment_lines": [(pay_[p], n, r, a, c, ok, why) for p, n, r, a, c, ok, why in conn.execute(
            select(payment_line.c.payment_id, payment_line.c.line_no, payment_line.c.rm15, payment_line.c.asec, payment_line.c.amount_cents,
                   payment_line.c.applied, payment_line.c.reason).order_by(payment_line.c.payment_id, payment_line.c.line_no))],
        "notices": conn.execute(select(notice.c.key, notice.c.data).order_by(notice.c.id)).all(),
    }


@pytest.mark.parametrize("part_lines", [1, 2, 3])
def test_a_payment_posted_in_parts_books_row_for_row_what_one_part_books(world, part_lines):
    """Decision L31: parts of `part_lines` lines — a payment's lines split across parts, two payments'
    parts written together — write the same rows in the same order, the same balances and notices."""
    data = file_820(PARTED, control_number=1, group_control=1)
    result = validate_stream(io.BytesIO(data))
    books_by_size = {}
    for size in (part_lines, 10_000):
        with world.connect() as conn:
            transaction = conn.begin()

            def checks(payments, earlier, conn=conn):
                return account_check(payment_facts(conn, payments), payments, ON_TIME.date(), earlier)

            gathered = _Gather(conn)
            acknowledge(result, "parts.x12", store=MemoryEdiStore(), at=AT, account_checks=checks, books=gathered)
            digest = gathered.judged[0][0].source.file_digest
            posted = post_payments(conn, digest, "parts.x12", gathered.judged, received_at=ON_TIME, policy=POLICY, part_lines=size)
            books_by_size[size] = ([(p.trace, p.status, p.applied_cents, p.credit_cents, p.suspense_cents) for p in posted], _rows(conn))
            transaction.rollback()
    whole = books_by_size[10_000]
    # T1: 1,000.00 applied (500 + 100 + 400), 75.00 + 30.00 credits, 10.00 set aside; T2: 20.00 credit, 5.00 set aside
    assert whole[0] == [("T1", "posted", 1_000_00, 105_00, 10_00), ("T2", "posted", 0, 20_00, 5_00)]
    assert whole[1]["account_balances"] == [(A1, -95_00), (A2, -30_00)]
    assert books_by_size[part_lines] == whole


def test_an_entry_written_in_parts_is_checked_whole_and_posted_once(world):
    """`store.journal.PartWriter`: parts that do not balance, or an entry whose key is posted, write nothing."""
    from ledger.errors import IdempotencyConflict, UnbalancedEntry
    from ledger.model import Account, Entry, JournalLine, Reason
    from store.journal import PartWriter

    header = Entry("pay:test:P1", ON_TIME.date(), Reason.PAYMENT, "parts", ())
    with world.connect() as conn, conn.begin():
        with pytest.raises(UnbalancedEntry, match="debits 1000 != credits 999"), PartWriter(conn, ON_TIME, {}) as writer:
            writer.begin(header)
            writer.write([], [(header.key, JournalLine(Account.BANK, debit_cents=10_00, party="FI", trace="P1"))])
            writer.write([], [(header.key, JournalLine(Account.SUSPENSE, credit_cents=9_99, party=IMPORTER, trace="P1"))])
        with pytest.raises(IdempotencyConflict), PartWriter(conn, ON_TIME, {}) as writer:
            writer.begin(header)
