"""`Settings`: the engine's configuration, read once from the environment at the edge.

The command line and each Airflow task call `Settings.from_env()` once and pass the
object down; no module below the application reads the environment.  Embedded defaults
in brackets:

=========================  ================================================================
variable                   meaning
=========================  ================================================================
CARM_HOME                  [`./var`] the embedded default's state: `carm.db`, `partners/`,
                           `archive/`, `documents/`
CARM_DATABASE_URL          [SQLite in `CARM_HOME`] the database (PostgreSQL in production:
                           `postgresql+psycopg://user@host/db`)
CARM_DB_POOL_SIZE          [5] PostgreSQL connections one process keeps open (SQLAlchemy's pool)
CARM_DB_MAX_OVERFLOW       [10] further connections one process may open at a busy moment; one
                           process holds at most the sum (decision O22: each task process's sum,
                           times the pool `carm_db`'s slots, bounds the engine's connections)
CARM_TRANSPORT             [`local`] partner folders: `local` or `sftp`
CARM_PARTNERS_DIR          [`$CARM_HOME/partners`] the local partner folders
CARM_PARTNERS_FILE         [`fixtures/partners.csv`] the registry, until `carm partners load`
CARM_SFTP_URL              `sftp://carm-engine@host:port` (else the Airflow connection)
CARM_SFTP_KEY              the engine's private key file
CARM_SFTP_KNOWN_HOSTS      [`~/.ssh/known_hosts`]
CARM_SFTP_STRICT_HOST_KEY  [`yes`] `no` accepts an unknown host key (never a changed one)
CARM_SFTP_TIMEOUT          [15] seconds
CARM_SFTP_CONN_ID          [`carm_sftp`] the Airflow connection used without CARM_SFTP_URL
CARM_SETTLE_SECONDS        [60] how long an inbox file's size must stay the same before it is taken
CARM_INCOMPLETE_WAIT       [3600] seconds a file that does not end with its IEA waits before it is
                           taken anyway (and answered TA1 023)
CARM_READ_ATTEMPTS         [3] failed reads of a claimed file before it goes to quarantine
CARM_REPORT_AFTER          [3600] seconds a stray (a dot file, a partial upload, a folder…) sits in
                           an inbox before the partner and the operators are told
CARM_INTAKE_BUDGET         [240] seconds an intake task works before leaving files to the next run
CARM_INTAKE_BATCH          [20] files per mapped intake task
CARM_STATEMENT_WORKERS     [the machine's cores] processes a Statements of Account run is split across
                           (decision S11); 1 runs it in the task's own process
CARM_STATEMENT_SPLIT_FROM  [5000] accounts from which a run is split at all: below, starting the
                           workers (~2 s of imports each) costs more than it saves
CARM_INGEST_ATTEMPTS       [5] attempts of one file's transaction when another worker races it
CARM_MAX_FILE_BYTES        [104857600] the largest inbound file taken (100 MiB); a larger one is refused
                           whole, with a report (`edi.limits`)
CARM_MAX_SET_ERRORS        [100] AK3 segment notes per transaction set in a 997; past them the set is
                           not validated further (it is rejected all the same)
CARM_MAX_FILE_ERRORS       [1000] AK3 segment notes per file; past them each later set is given up at its
                           first error (`edi.limits`)
CARM_MAX_PAYMENT_CENTS     [1000000000000] the largest payment taken, in cents ($10 billion); above it
                           the payment is refused before the 997 (decision E18)
CARM_EDI_ENGINE            [`compiled`] what checks a set's body against the guide: `compiled` (tables
                           generated from the map) or `pyx12` (its walker); the same answers (E22)
CARM_CLOCK                 an ISO 8601 instant the engine takes as "now" (simulations and the
                           demo only; never in production)
CARM_POLICY                a TOML file overriding policy numbers (`ledger.policy`)
CARM_SMTP_URL              notices by SMTP too (`smtp://`, `smtps://`, `smtp+starttls://`)
CARM_NOTICE_FROM           [`avis-notices@carm.invalid`] the notices' sender
CARM_LOG_FORMAT            [`json`, `console` on a terminal]
CARM_LOG_LEVEL             [`INFO`]
CARM_LOG_FILE              a file every engine event is also appended to, as on stderr (the demo's
                           `out/engine.log`: the command line and every Airflow task in one place)
=========================  ================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import clock
from .errors import ConfigError

__all__ = ["Settings"]

_YES = {"1", "yes", "true", "on"}
_NO = {"0", "no", "false", "off"}


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise ConfigError(f"{name} must be yes or no, not {value!r}")


def _number(value: str, name: str, kind=float):
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative, not {value!r}")
    return number


def _instant(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{name} must be an ISO 8601 instant, not {value!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=clock.EASTERN)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the engine is configured with (see the module doc for the variables)."""

    home: Path = Path("var")
    database_url_override: str | None = None
    db_pool_size: int = 5
    db_max_overflow: int = 10
    transport: str = "local"
    partners_dir_override: Path | None = None
    partners_file: Path = Path("fixtures/partners.csv")
    sftp_url: str | None = None
    sftp_key: str | None = None
    sftp_known_hosts: str | None = None
    sftp_strict_host_key: bool = True
    sftp_timeout: float = 15.0
    sftp_conn_id: str = "carm_sftp"
    settle_seconds: float = 60.0
    incomplete_wait_seconds: float = 3600.0
    read_attempts: int = 3
    report_after_seconds: float = 3600.0
    intake_budget_seconds: float = 240.0
    intake_batch: int = 20
    statement_workers: int = 1
    statement_split_from: int = 5000
    ingest_attempts: int = 5
    max_file_bytes: int = 100 * 2**20
    max_set_errors: int = 100
    max_file_errors: int = 1_000
    max_payment_cents: int = 1_000_000_000_000
    edi_engine: str = "compiled"
    policy_file: Path | None = None
    smtp_url: str | None = None
    notice_from: str = "avis-notices@carm.invalid"
    log_format: str | None = None
    log_level: str = "INFO"
    log_file: Path | None = None
    clock: datetime | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        transport = get("CARM_TRANSPORT") or "local"
        if transport not in ("local", "sftp"):
            raise ConfigError(f"CARM_TRANSPORT={transport!r}: expected local or sftp")
        log_format = get("CARM_LOG_FORMAT")
        if log_format not in (None, "json", "console"):
            raise ConfigError(f"CARM_LOG_FORMAT={log_format!r}: expected json or console")
        return cls(
            home=Path(get("CARM_HOME") or "var"),
            database_url_override=get("CARM_DATABASE_URL"),
            db_pool_size=max(1, _number(get("CARM_DB_POOL_SIZE") or "5", "CARM_DB_POOL_SIZE", int)),
            db_max_overflow=_number(get("CARM_DB_MAX_OVERFLOW") or "10", "CARM_DB_MAX_OVERFLOW", int),
            transport=transport,
            partners_dir_override=Path(get("CARM_PARTNERS_DIR")) if get("CARM_PARTNERS_DIR") else None,
            partners_file=Path(get("CARM_PARTNERS_FILE") or "fixtures/partners.csv"),
            sftp_url=get("CARM_SFTP_URL"),
            sftp_key=get("CARM_SFTP_KEY"),
            sftp_known_hosts=get("CARM_SFTP_KNOWN_HOSTS"),
            sftp_strict_host_key=_flag(get("CARM_SFTP_STRICT_HOST_KEY") or "yes", "CARM_SFTP_STRICT_HOST_KEY"),
            sftp_timeout=_number(get("CARM_SFTP_TIMEOUT") or "15", "CARM_SFTP_TIMEOUT"),
            sftp_conn_id=get("CARM_SFTP_CONN_ID") or "carm_sftp",
            settle_seconds=_number(get("CARM_SETTLE_SECONDS") or "60", "CARM_SETTLE_SECONDS"),
            incomplete_wait_seconds=_number(get("CARM_INCOMPLETE_WAIT") or "3600", "CARM_INCOMPLETE_WAIT"),
            read_attempts=max(1, _number(get("CARM_READ_ATTEMPTS") or "3", "CARM_READ_ATTEMPTS", int)),
            report_after_seconds=_number(get("CARM_REPORT_AFTER") or "3600", "CARM_REPORT_AFTER"),
            intake_budget_seconds=_number(get("CARM_INTAKE_BUDGET") or "240", "CARM_INTAKE_BUDGET"),
            intake_batch=max(1, _number(get("CARM_INTAKE_BATCH") or "20", "CARM_INTAKE_BATCH", int)),
            statement_workers=max(1, _number(get("CARM_STATEMENT_WORKERS") or str(os.cpu_count() or 1), "CARM_STATEMENT_WORKERS", int)),
            statement_split_from=max(1, _number(get("CARM_STATEMENT_SPLIT_FROM") or "5000", "CARM_STATEMENT_SPLIT_FROM", int)),
            ingest_attempts=max(1, _number(get("CARM_INGEST_ATTEMPTS") or "5", "CARM_INGEST_ATTEMPTS", int)),
            max_file_bytes=max(1, _number(get("CARM_MAX_FILE_BYTES") or str(100 * 2**20), "CARM_MAX_FILE_BYTES", int)),
            max_set_errors=max(1, _number(get("CARM_MAX_SET_ERRORS") or "100", "CARM_MAX_SET_ERRORS", int)),
            max_file_errors=max(1, _number(get("CARM_MAX_FILE_ERRORS") or "1000", "CARM_MAX_FILE_ERRORS", int)),
            max_payment_cents=max(1, _number(get("CARM_MAX_PAYMENT_CENTS") or "1000000000000", "CARM_MAX_PAYMENT_CENTS", int)),
            edi_engine=get("CARM_EDI_ENGINE") or "compiled",
            policy_file=Path(get("CARM_POLICY")) if get("CARM_POLICY") else None,
            smtp_url=get("CARM_SMTP_URL"),
            notice_from=get("CARM_NOTICE_FROM") or "avis-notices@carm.invalid",
            log_format=log_format,
            log_level=(get("CARM_LOG_LEVEL") or "INFO").upper(),
            log_file=Path(get("CARM_LOG_FILE")) if get("CARM_LOG_FILE") else None,
            clock=_instant(get("CARM_CLOCK"), "CARM_CLOCK"),
        )

    def now(self) -> datetime:
        """The engine's "now": the clock, or `CARM_CLOCK` when a simulation pins it."""
        return self.clock if self.clock is not None else clock.now()

    @property
    def database_url(self) -> str:
        return self.database_url_override or f"sqlite:///{self.home / 'carm.db'}"

    @property
    def partners_dir(self) -> Path:
        return self.partners_dir_override or self.home / "partners"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def documents_dir(self) -> Path:
        return self.home / "documents"

    @property
    def email_outbox(self) -> Path:
        return self.home / "outbox-email"
