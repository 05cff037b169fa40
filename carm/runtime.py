"""What a job or a command works with, built once from `Settings` and closed when done.

`open_runtime(settings)` gives the database engine (its schema checked, never migrated),
the policy, the partner folders (local, or SFTP from the settings or from the Airflow
connection) and the trading-partner registry; leaving the `with` block disposes of the
engine and closes the SFTP connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import Engine

from core.errors import ConfigError
from core.settings import Settings
from edi.limits import Limits
from ledger.policy import Policy, load_policy
from store.partners import read_registry
from transport.folders import LocalFolders, PartnerFolders
from transport.partners import PartnerRegistry, load_partners

from . import db

if TYPE_CHECKING:
    from transport.sftp import SftpFolders

__all__ = ["Runtime", "open_runtime", "make_folders", "edi_limits"]

log = structlog.get_logger("carm.runtime")


def _sftp_from_airflow_connection(conn_id: str) -> SftpFolders:
    """The SFTP folders from an Airflow connection (type `sftp`: host, port, login; extra
    `key_file`, `known_hosts`, `no_host_key_check`) — read when a task runs through the Task
    SDK (secrets backends, `AIRFLOW_CONN_*`), never at parse time."""
    from airflow.sdk import BaseHook  # only inside an Airflow task: the command line never loads Airflow

    from transport.sftp import SftpFolders

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson
    if not extra.get("key_file"):
        raise ConfigError(f"Airflow connection {conn_id!r} needs extra key_file (the engine's private key)")
    return SftpFolders(
        conn.host,
        int(conn.port or 22),
        conn.login or "carm-engine",
        key_filename=extra["key_file"],
        known_hosts=extra.get("known_hosts"),
        strict_host_key=str(extra.get("no_host_key_check", "false")).lower() not in ("true", "1", "yes"),
    )


def edi_limits(settings: Settings) -> Limits:
    """What one inbound file may cost (`edi.limits`), as configured."""
    return Limits(max_file_bytes=settings.max_file_bytes, max_set_errors=settings.max_set_errors,
                  max_file_errors=settings.max_file_errors, max_payment_cents=settings.max_payment_cents,
                  engine=settings.edi_engine)


def make_folders(settings: Settings) -> PartnerFolders:
    """The partner folders the settings name."""
    if settings.transport == "local":
        return LocalFolders(settings.partners_dir)
    if settings.sftp_url:
        from transport.sftp import SftpFolders  # paramiko (~17 MiB) only in a process that speaks SFTP

        if not settings.sftp_key:
            raise ConfigError("CARM_SFTP_KEY is not set (path of the engine's private key)")
        return SftpFolders.from_url(
            settings.sftp_url, key_filename=settings.sftp_key,
            known_hosts=settings.sftp_known_hosts or str(Path("~/.ssh/known_hosts").expanduser()),
            strict_host_key=settings.sftp_strict_host_key, timeout=settings.sftp_timeout,
        )
    return _sftp_from_airflow_connection(settings.sftp_conn_id)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    policy: Policy
    _folders: PartnerFolders | None = field(default=None, repr=False)

    @property
    def folders(self) -> PartnerFolders:
        if self._folders is None:
            self._folders = make_folders(self.settings)
        return self._folders

    @property
    def limits(self) -> Limits:
        return edi_limits(self.settings)

    def now(self) -> datetime:
        """The engine's "now" (`Settings.now`: the clock, unless a simulation pins it)."""
        return self.settings.now()

    def registry(self) -> PartnerRegistry:
        """The trading partners: the `trading_partner` table once loaded (`carm partners load`),
        else the registry file (the embedded default)."""
        with self.engine.connect() as conn:
            loaded = read_registry(conn)
        if loaded is not None:
            return loaded
        partners, problems = load_partners(self.settings.partners_file)
        for problem in problems:
            log.warning("partners.problem", file=str(self.settings.partners_file), problem=str(problem))
        return partners

    def close(self) -> None:
        close = getattr(self._folders, "close", None)  # an SFTP session to end; local folders have none
        if close is not None:
            close()
        self._folders = None
        self.engine.dispose()


@contextlib.contextmanager
def open_runtime(settings: Settings | None = None, *, folders: PartnerFolders | None = None) -> Iterator[Runtime]:
    settings = settings or Settings.from_env()
    edi_limits(settings)  # a limit out of range is a configuration error now, not in the middle of a file
    if settings.log_file is not None:  # an Airflow task: its events go to the file too (the CLI has configured already)
        from . import logs

        logs.configure(settings)
    engine = db.open_engine(settings)
    runtime = Runtime(settings, engine, load_policy(settings.policy_file), folders)
    try:
        db.require_current(engine)
        yield runtime
    finally:
        runtime.close()
