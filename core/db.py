"""Database plumbing: one way to make an engine, one way to upsert.

SQLite (the embedded default) gets WAL, foreign keys and a generous busy timeout;
PostgreSQL a pre-pinged pool.  The schema itself is the store's (`store.schema`) and
its migrations the application's (`carm.db`).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["make_engine", "insert_for"]


def make_engine(url: str) -> Engine:
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
    return create_engine(url, pool_pre_ping=True)


def insert_for(conn: Connection):
    """The dialect's `insert` (with `on_conflict_do_update/nothing`): PostgreSQL or SQLite."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
