"""`core.db`: array literals PostgreSQL reads back exactly; lists of values looked up on both databases;
writes sent without waiting (`Writes`) seen by the next read, and their errors raised."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.db import SQLITE_ROWS_PER_STATEMENT, AmongValues, Writes, array_literal, insert_rows, sqlite_values
from store.journal import _add_to_cache
from store.schema import account_balance, business, journal_entry, payment_line, program_account

# PostgreSQL text holds any character but NUL (and UTF-8 no lone surrogate)
TEXTS = st.lists(st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))), max_size=20)
INTEGERS = st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=20)
BOOLEANS = st.lists(st.one_of(st.none(), st.booleans()), max_size=20)


def test_an_array_literal_quotes_text_and_writes_null():
    assert array_literal([]) == "{}"
    assert array_literal([1, -5, None]) == "{1,-5,NULL}"
    assert array_literal([True, False, None]) == "{t,f,NULL}"
    assert array_literal(['a"b\\c', "x y", "NULL", None]) == '{"a\\"b\\\\c","x y","NULL",NULL}'


@pytest.mark.parametrize("value", [1.5, Decimal("1.00"), b"bytes"])
def test_an_array_literal_takes_no_floats_decimals_or_bytes(value):
    with pytest.raises(TypeError):
        array_literal([value])


def test_postgresql_reads_back_every_text_and_integer(pg_engine):
    with pg_engine.connect() as conn:

        @settings(max_examples=150, deadline=None)
        @given(texts=TEXTS, integers=INTEGERS, booleans=BOOLEANS)
        def round_trip(texts, integers, booleans):
            read = conn.execute(text("SELECT CAST(:t AS TEXT[]), CAST(:i AS BIGINT[]), CAST(:b AS BOOLEAN[])"),
                                {"t": array_literal(texts), "i": array_literal(integers), "b": array_literal(booleans)}).one()
            assert (list(read[0]), list(read[1]), list(read[2])) == (texts, integers, booleans)

        round_trip()


def test_among_values_finds_exactly_the_rows_of_a_long_list_on_both_databases(engine):
    """2,500 businesses; 1,500 asked for (more than one SQLite chunk), 500 of them unknown: the
    1,000 known, each once — and nothing, without a statement, for no values."""
    names = AmongValues(lambda among: select(business.c.bn9, business.c.name).where(among(business.c.bn9)))
    with engine.begin() as conn:
        conn.execute(insert(business), [{"bn9": f"{n:09d}", "name": f"B{n}", "role": "importer"} for n in range(2_500)])
        asked = [f"{n:09d}" for n in range(1_500, 3_000)]
        found = [tuple(row) for result in names.execute(conn, asked) for row in result]
        assert list(names.execute(conn, [])) == []
    assert sorted(found) == [(f"{n:09d}", f"B{n}") for n in range(1_500, 2_500)]


@pytest.mark.parametrize("count", [1, SQLITE_ROWS_PER_STATEMENT - 1, SQLITE_ROWS_PER_STATEMENT, 2 * SQLITE_ROWS_PER_STATEMENT + 50])
def test_rows_written_in_bulk_are_numbered_in_their_order_whatever_their_count(engine, count):
    """SQLite writes a hundred rows a statement and the rest in one more (`core.db.sqlite_values`),
    PostgreSQL by COPY: every row written once, each value as given, ids in the rows' order."""
    day = date(2026, 12, 7)
    at = datetime(2026, 12, 7, 10, tzinfo=UTC)
    rows = [(f"k{count - n:05d}", day, at, "PAYMENT", f"entry {n} 'quoted' ?", None) for n in range(count)]
    with engine.begin() as conn:
        insert_rows(conn, journal_entry, ("key", "entry_date", "posted_at", "reason", "description", "source"), rows)
        read = conn.execute(select(journal_entry.c.key, journal_entry.c.entry_date, journal_entry.c.description, journal_entry.c.source)
                            .order_by(journal_entry.c.id)).all()
    assert [tuple(r) for r in read] == [(key, day, description, None) for key, _, _, _, description, _ in rows]


def test_a_wide_row_keeps_each_sqlite_statement_within_999_values(sqlite_engine):
    """Rows of 11 values go 90 to a statement, not 100: a SQLite before 3.32 takes 999 values a statement."""
    columns = [f"c{n}" for n in range(11)]
    rows = [tuple(n * 100 + c for c in range(11)) for n in range(200)]
    seen: list[int] = []
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TEMP TABLE wide (id INTEGER PRIMARY KEY, {', '.join(columns)})")
        event.listen(conn, "before_cursor_execute", lambda _c, _cur, statement, *_: seen.append(statement.count("?")))
        sqlite_values(conn, f"INSERT INTO wide ({', '.join(columns)})", 11, rows)
        read = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM wide ORDER BY id").all()
    assert seen == [990, 220, 0]  # 180 rows in two steps of one statement of 90, then the 20 left; then the read
    assert [tuple(r) for r in read] == rows


def test_a_cache_adds_each_delta_to_its_row_or_creates_it_in_one_statement(engine):
    """`store.journal._add_to_cache` over more rows than one SQLite statement takes: existing rows
    get the delta added, missing ones are created with it."""
    count = SQLITE_ROWS_PER_STATEMENT + 7
    accounts = [f"123456782RM{n:04d}" for n in range(count)]
    with engine.begin() as conn:
        conn.execute(insert(business), [{"bn9": "123456782", "name": "B", "role": "importer"}])
        conn.execute(insert(program_account), [{"rm15": rm15, "bn9": "123456782", "client_type": "RPP", "opened_on": date(2026, 1, 1)}
                                               for rm15 in accounts])
        conn.execute(insert(account_balance), [{"rm15": rm15, "balance_cents": 1_000} for rm15 in accounts[::2]])
        _add_to_cache(conn, account_balance, [(rm15, -n) for n, rm15 in enumerate(accounts)])
        read = dict(conn.execute(select(account_balance.c.rm15, account_balance.c.balance_cents)).all())
    assert read == {rm15: (1_000 - n if n % 2 == 0 else -n) for n, rm15 in enumerate(accounts)}


def test_writes_sent_without_waiting_are_seen_by_the_next_read_in_their_order(engine):
    with engine.begin() as conn, Writes(conn) as writes:
        writes.insert(business, ("bn9", "name", "role"), [(f"{n:09d}", f"B {n}", "importer") for n in range(3_000)])
        writes.insert(business, ("bn9", "name", "role"), [("999999999", 'Quote " and \\ backslash', "broker")])
        rows = conn.execute(select(business.c.bn9, business.c.name).order_by(business.c.bn9)).all()
    assert len(rows) == 3_001
    assert rows[0] == ("000000000", "B 0") and rows[-1] == ("999999999", 'Quote " and \\ backslash')


def test_a_failed_write_raises_as_sqlalchemy_raises_and_its_transaction_writes_nothing(engine):
    bad = [(10_000, 1, "123456782RM0001", None, 100, True, None, None)]  # no payment 10,000
    columns = ("payment_id", "line_no", "rm15", "asec", "amount_cents", "applied", "reason", "transaction_number")
    with pytest.raises(IntegrityError), engine.begin() as conn, Writes(conn) as writes:
        writes.insert(business, ("bn9", "name", "role"), [("111111111", "B", "importer")])
        writes.insert(payment_line, columns, bad)
    with pytest.raises(RuntimeError, match="the caller's"), engine.begin() as conn, Writes(conn) as writes:
        writes.insert(business, ("bn9", "name", "role"), [("222222222", "B", "importer")])
        raise RuntimeError("the caller's own error goes on")
    if engine.dialect.name == "postgresql":  # a failed write still in flight when the caller fails: the caller's error goes on
        with pytest.raises(RuntimeError, match="the caller's"), engine.begin() as conn, Writes(conn) as writes:
            writes.insert(payment_line, columns, bad)
            raise RuntimeError("the caller's own error goes on")
    with engine.begin() as conn:  # the connection came back usable, and nothing was written
        assert conn.execute(select(business.c.bn9)).all() == []
        assert conn.execute(select(payment_line.c.payment_id)).all() == []


def test_a_value_too_long_for_its_column_is_refused_not_cut_and_a_key_too_long_matches_nothing(engine):
    """PostgreSQL cuts a value cast to VARCHAR(n) without a word: the arrays are cast to text
    (`core.db.array_type`), so on PostgreSQL a write of a value too long for its column fails, as
    COPY's did, and on both databases a look-up of a key one character too long finds nothing."""
    names = AmongValues(lambda among: select(business.c.bn9).where(among(business.c.bn9)))
    with engine.begin() as conn:
        conn.execute(insert(business), [{"bn9": "123456782", "name": "B", "role": "importer"}])
        assert [r.all() for r in names.execute(conn, ["1234567829"])] == [[]]
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="value too long"), engine.begin() as conn, Writes(conn) as writes:
            writes.insert(business, ("bn9", "name", "role"), [("9876543210", "B", "importer")])
        with engine.connect() as conn:
            assert conn.execute(select(business.c.bn9).order_by(business.c.bn9)).scalars().all() == ["123456782"]
