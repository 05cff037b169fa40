"""Database plumbing: one way to make an engine, one way to upsert, one way to insert in bulk.

SQLite (the embedded default) gets WAL, foreign keys and a generous busy timeout;
PostgreSQL a pre-pinged pool.  The schema itself is the store's (`store.schema`) and
its migrations the application's (`carm.db`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["make_engine", "insert_for", "insert_rows"]


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


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in bulk, in the caller's transaction.

    On PostgreSQL with COPY: one stream, where psycopg's `executemany` sends a statement per row
    (a round trip each); elsewhere with `executemany` (SQLite runs in-process: already the fast way)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), list(rows))
        return
    columns = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
