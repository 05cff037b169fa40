"""The database both layers use: URL from the environment, schema by Alembic.

`CARM_DATABASE_URL` names it; the embedded default is SQLite in
`$CARM_HOME/carm.db` (`CARM_HOME` defaults to `./var`).  PostgreSQL in
production: `postgresql+psycopg://user@host/db`.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["database_url", "make_engine", "upgrade", "home", "insert_for"]


def home() -> Path:
    return Path(os.environ.get("CARM_HOME", "var"))


def database_url() -> str:
    url = os.environ.get("CARM_DATABASE_URL")
    if url:
        return url
    path = home() / "carm.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_engine(url: str | None = None) -> Engine:
    url = url or database_url()
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


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def insert_for(conn: Connection):
    """The dialect's `insert` (with `on_conflict_do_update/nothing`): PostgreSQL or SQLite."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
