"""The database as a deploy step: migrations (`carm db upgrade`) and the schema check every job makes.

Jobs and commands never migrate: they check that the database is at the revision this
engine was built for (`require_current`) and stop with a clear message when it is not.
The embedded default's SQLite file is created only by `upgrade`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from core.db import make_engine
from core.errors import SchemaError
from core.settings import Settings

__all__ = ["open_engine", "exists", "upgrade", "head_revision", "current_revision", "require_current", "describe"]


def _alembic_config():
    from alembic.config import Config  # Alembic (~11 MiB) only in a process that looks at migrations

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def describe(engine: Engine) -> str:
    """Where the database is, for people (no password)."""
    return engine.url.render_as_string(hide_password=True)


def shown_url(settings: Settings) -> str:
    """The configured database's URL, for people: no password."""
    return make_url(settings.database_url).render_as_string(hide_password=True)


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def exists(settings: Settings) -> bool:
    """False when the configured database is the embedded SQLite file and it was never created."""
    path = _sqlite_file(settings.database_url)
    return path is None or path.exists()


def open_engine(settings: Settings, *, create: bool = False) -> Engine:
    """The engine of the configured database; with `create`, the SQLite file's folder is made."""
    url = settings.database_url
    path = _sqlite_file(url)
    if path is not None:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            raise SchemaError(f"no database at {path}: create it with `carm db upgrade` (or set CARM_HOME / CARM_DATABASE_URL)")
    return make_engine(url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current(engine: Engine) -> None:
    """Raise `SchemaError` unless the database is at this engine's schema revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = f"at revision {current}" if current else "empty"
        raise SchemaError(f"the database at {describe(engine)} is {state}; this engine needs revision {head}: run `carm db upgrade`")
