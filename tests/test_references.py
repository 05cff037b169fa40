"""A journal line names an entry and an item that exist, a payment line a payment that exists:
on SQLite by foreign key, on PostgreSQL by a trigger run once per statement (decision L32,
migration 0016) — through both write paths, the bulk one (`insert_rows`: COPY on PostgreSQL)
and a plain insert. On PostgreSQL the rows named are kept: never deleted, their ids never changed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.db import insert_rows
from ledger.model import Entry, JournalLine, NewItem, Plan
from store.journal import write_plan
from store.schema import ar_item, journal_entry, journal_line, payment, payment_line
from tests.ledger_helpers import AT, IMPORTER, setup_world

RM15 = f"{IMPORTER}RM0001"
LINE_COLUMNS = ("entry_id", "account", "rm15", "item_id", "party", "trace", "debit_cents", "credit_cents")
PAYMENT_LINE_COLUMNS = ("payment_id", "line_no", "rm15", "asec", "amount_cents", "applied", "reason", "transaction_number")


@pytest.fixture
def booked(engine):
    """One declaration item of 100.00 posted, and one payment row: (engine, entry id, item id, payment id)."""
    setup_world(engine)
    item = NewItem(key="ref:item", rm15=RM15, kind="declaration", component="duty", posted_on=date(2026, 11, 2),
                   due_date=date(2026, 11, 3), description="a debt")
    entry = Entry("ref:entry", date(2026, 11, 2), "DECLARATION", "a debt", (
        JournalLine("AR", debit_cents=10_000, rm15=RM15, item_key=item.key), JournalLine("REVENUE", credit_cents=10_000)))
    with engine.begin() as conn:
        entry_id = write_plan(conn, Plan(items=[item], entries=[entry]), AT).entry_ids["ref:entry"]
        item_id = conn.execute(select(ar_item.c.id).where(ar_item.c.key == "ref:item")).scalar_one()
        payment_id = conn.execute(insert(payment).values(
            fi="BANK1", trace="T1", file_digest="d" * 64, interchange="1", group_control="1", set_control="1", kind="PMT",
            method="ACH", total_cents=1, payer_bn9=IMPORTER, received_at=AT, payment_day=date(2026, 11, 2), verdict="A",
            status="refused", suspense_cents=0).returning(payment.c.id)).scalar_one()
    return engine, entry_id, item_id, payment_id


def _counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(journal_line)).scalar_one(),
                conn.execute(select(func.count()).select_from(payment_line)).scalar_one())


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "insert"])
@pytest.mark.parametrize("bad", ["item", "entry"])
def test_a_journal_line_naming_no_item_or_entry_is_refused_and_its_statement_writes_nothing(booked, bulk, bad):
    engine, entry_id, item_id, _ = booked
    good = (entry_id, "AR", RM15, item_id, None, None, 0, 100)
    wrong = (entry_id, "AR", RM15, item_id + 1000, None, None, 0, 100) if bad == "item" else (entry_id + 1000, "AR", RM15, item_id, None, None, 0, 100)
    before = _counts(engine)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        if bulk:
            insert_rows(conn, journal_line, LINE_COLUMNS, [good, wrong, good])
        else:
            conn.execute(insert(journal_line), [dict(zip(LINE_COLUMNS, row, strict=True)) for row in (good, wrong)])
    assert _counts(engine) == before


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "insert"])
def test_a_payment_line_naming_no_payment_is_refused(booked, bulk):
    engine, _, _, payment_id = booked
    rows = [(payment_id, 1, RM15, None, 100, True, None, None), (payment_id + 1000, 1, RM15, None, 100, True, None, None)]
    before = _counts(engine)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        if bulk:
            insert_rows(conn, payment_line, PAYMENT_LINE_COLUMNS, rows)
        else:
            conn.execute(insert(payment_line), [dict(zip(PAYMENT_LINE_COLUMNS, row, strict=True)) for row in rows])
    assert _counts(engine) == before


def test_a_line_moved_to_an_item_that_does_not_exist_is_refused(booked):
    engine, _, item_id, _ = booked
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(journal_line).where(journal_line.c.item_id == item_id).values(item_id=item_id + 1000))


def test_rows_naming_what_exists_are_written(booked):
    engine, entry_id, item_id, payment_id = booked
    before = _counts(engine)
    with engine.begin() as conn:
        insert_rows(conn, journal_line, LINE_COLUMNS, [(entry_id, "AR", RM15, item_id, None, None, 0, 100),
                                                       (entry_id, "BANK", None, None, "BANK1", "T1", 100, 0)])
        insert_rows(conn, payment_line, PAYMENT_LINE_COLUMNS, [(payment_id, 1, RM15, None, 100, True, None, None)])
    assert _counts(engine) == (before[0] + 2, before[1] + 1)


@pytest.mark.parametrize("table", [ar_item, journal_entry, payment], ids=lambda t: t.name)
def test_postgresql_keeps_the_rows_a_line_may_name(pg_engine, table):
    """The per-row foreign key's lock kept a named row from being deleted before commit; the rows are
    kept instead (D17-R18): a delete, a change of id or a truncate is refused, even of a row no line names."""
    setup_world(pg_engine)
    engine = pg_engine
    with engine.begin() as conn:
        write_plan(conn, Plan(items=[NewItem(key="ref:lonely", rm15=RM15, kind="declaration", component="duty", posted_on=date(2026, 11, 2),
                                             description="no line names it")],
                              entries=[Entry("ref:e", date(2026, 11, 2), "DECLARATION", "x", (
                                  JournalLine("AR", debit_cents=1, rm15=RM15), JournalLine("REVENUE", credit_cents=1)))]), AT)
        conn.execute(insert(payment).values(
            fi="BANK1", trace="T9", file_digest="e" * 64, interchange="1", group_control="1", set_control="1", kind="PMT",
            method="ACH", total_cents=1, payer_bn9=IMPORTER, received_at=AT, payment_day=date(2026, 11, 2), verdict="R",
            status="refused", suspense_cents=0))
    for statement in (delete(table), update(table).values(id=table.c.id + 100_000), text(f"TRUNCATE {table.name} CASCADE")):
        with pytest.raises(DBAPIError, match="rows are kept"), engine.begin() as conn:
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar_one() >= 1
