"""Shared fixtures: databases (SQLite and PostgreSQL, both real), paths, sample files."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from carm.db import upgrade
from core.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
FIXTURES = ROOT / "fixtures"

PG_URL = os.environ.get("CARM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite database brought to head by the migrations, once per session: each test gets a
    copy of the file (the migrations themselves are tested in tests/test_schema.py)."""
    path = tmp_path_factory.mktemp("template") / "carm.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _sqlite(tmp_path: Path, template: Path) -> Iterator[Engine]:
    shutil.copyfile(template, tmp_path / "carm.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'carm.db'}")
    yield engine
    engine.dispose()


def _postgres() -> Iterator[Engine]:
    """A fresh database on the real server for each test; dropped afterwards.

    No skip when the server is down: CI starts it (scripts/test) and a test
    that cannot reach it must fail, not hide.
    """
    name = f"carm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


#: Fixtures that reach a real server: the tests using them are in the slow tier (`-m slow`).
SLOW_FIXTURES = {"pg_engine", "sftp", "airflow_home"}


def pytest_collection_modifyitems(items) -> None:
    """The fast tier (`-m "not slow"`) runs without PostgreSQL, sshd or Airflow: anything
    that needs one of them, or runs on the `postgresql` side of `engine`, is `slow`."""
    for item in items:
        params = getattr(item, "callspec", None)
        on_postgres = params is not None and params.params.get("engine") == "postgresql"
        if on_postgres or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path, _migrated_sqlite) -> Iterator[Engine]:
    """The project database on SQLite and on PostgreSQL (every test using it runs on both)."""
    if request.param == "sqlite":
        yield from _sqlite(tmp_path, _migrated_sqlite)
    else:
        yield from _postgres()


@pytest.fixture
def sqlite_engine(tmp_path, _migrated_sqlite) -> Iterator[Engine]:
    yield from _sqlite(tmp_path, _migrated_sqlite)


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    yield from _postgres()


@pytest.fixture(scope="session")
def sftp():
    """The real OpenSSH SFTP server on loopback (sftp_inbox/start.sh), shared by the session.

    Never skipped: when it cannot start (no root, no openssh-server) the tests fail with the reason.
    """
    from . import sftp_server

    try:
        server = sftp_server.start_server()
    except sftp_server.ServerError as exc:
        pytest.fail(f"the SFTP server did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
