"""Database plumbing: one way to make an engine, one way to upsert, one way to insert in bulk.

SQLite (the embedded default) gets WAL, foreign keys and a generous busy timeout;
PostgreSQL a pre-pinged pool.  The schema itself is the store's (`store.schema`) and
its migrations the application's (`carm.db`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

__all__ = ["make_engine", "insert_for", "insert_rows", "chunks"]


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """The engine of `url`. On PostgreSQL, `pool_size` + `max_overflow` is the most connections this
    process opens at once: what bounds the server's connections across Airflow workers (decision O22).
    SQLite is a file (or memory), whose connections cost no server anything: its default pool stays."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)


def insert_for(conn: Connection):
    """The dialect's `insert` (with `on_conflict_do_update/nothing`): PostgreSQL or SQLite."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert `rows` (tuples of the `columns`' values) into `table` in bulk, in the caller's transaction.

    On PostgreSQL with COPY: one stream, where psycopg's `executemany` sends a statement per row
    (a round trip each).  On SQLite one prepared statement run over the tuples by the driver:
    in-process, so already the fast way once SQLAlchemy's per-row parameter handling is left out —
    only the columns whose type converts its values (dates, booleans) are converted here."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join('?' * len(columns))})",
                             _bound(conn, table, columns, rows))
        return
    statement = f"COPY {quote(table.name)} ({names}) FROM STDIN"
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as error:  # raised as SQLAlchemy raises a statement's: IntegrityError, as an insert's would
        raise DBAPIError.instance(statement, None, error, dbapi.Error) from error


def _bound(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence]) -> list:
    """`rows` as the driver takes them: each value through its column type's bind processor, if it has one."""
    dialect = conn.dialect
    processors = [(n, p) for n, c in enumerate(columns) if (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect))]
    if not processors:
        return [tuple(row) for row in rows]
    bound = []
    for row in rows:
        values = list(row)
        for n, process in processors:
            if values[n] is not None:
                values[n] = process(values[n])
        bound.append(tuple(values))
    return bound


def chunks(values: Sequence, size: int = 1000) -> Iterator[Sequence]:
    """`values` a `size` at a time: the lists a query takes as one expanding parameter stay short
    (a statement of tens of thousands of parameters costs SQLite tens of MiB to parse)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
