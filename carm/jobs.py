"""The engine's jobs, one function per Airflow task (the DAG files in `dags/` only call these).

Each job reads the settings from the environment once (`core.settings.Settings`), opens
the runtime (database engine with its schema checked — migrations are `carm db upgrade`,
a deploy step — policy, partner folders), does its work through `carm.intake`,
`carm.documents` or `store.ledger`, and closes everything it opened.  Every job is
idempotent: run it again — after a crash, a retry, a replay — and it finishes what was
left and changes nothing that was done.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import structlog
from sqlalchemy import Connection

from core import clock
from core.files import atomic_write
from core.settings import Settings
from ledger.policy import Policy
from store.ledger import CollectionsReport
from store.ledger import close_period as close
from store.ledger import run_collections as collect
from store.pad import PadDebit, run_pad_debits

from . import intake
from .runtime import open_runtime

__all__ = [
    "pending_files", "batches", "process_inbound", "process_batch", "close_period", "collections_day", "run_collections", "daily_notices",
    "statements_of_account",
]


def pending_files() -> list[dict]:
    """Every file ready in an FI inbox, and every file a stopped run had claimed."""
    with open_runtime() as runtime:
        return intake.gather_pending(runtime)


def batches(files: list[dict]) -> list[list[dict]]:
    """The files in batches of `CARM_INTAKE_BATCH` (20), one mapped task each."""
    return intake.batches(files, Settings.from_env().intake_batch)


def process_inbound(ref: dict) -> dict:
    """One inbound file, claimed to filed away (`carm.intake.process_inbound`)."""
    with open_runtime() as runtime:
        return intake.process_inbound(runtime, ref)


def process_batch(batch: list[dict]) -> dict:
    """The files of one mapped task, each on its own (`carm.intake.process_batch`)."""
    with open_runtime() as runtime:
        return intake.process_batch(runtime, batch)


def intake_report(batches: list[dict | None]) -> dict:
    """The run's summary (`carm.intake.run_summary`), logged as one event and as text."""
    summary = intake.run_summary(batches)
    log = structlog.get_logger("carm.jobs")
    log.info("intake.run_summary", **{k: v for k, v in summary.items() if k != "attention"}, attention=len(summary["attention"]))
    for line in intake.summary_text(summary).splitlines():
        (log.warning if line.startswith("NEEDS ATTENTION") else log.info)("intake.summary", line=line)
    return summary


def notify_operators(*, dag_id: str, task_id: str, run_id: str, reason: str) -> Path:
    """The operators' notice of a failed task: an `operators.notice` error event, and a text file in
    `$CARM_HOME/operators/` (one per task and run; a later failure of the same task replaces it)."""
    settings = Settings.from_env()
    folder = settings.home / "operators"
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in f"{dag_id}.{run_id}.{task_id}")
    path = folder / f"{safe[:200]}.txt"
    text = f"CARM: {dag_id} / {task_id} failed in run {run_id} at {settings.now().isoformat()}\n\n{reason}\n"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"))
    structlog.get_logger("carm.jobs").error("operators.notice", dag_id=dag_id, task_id=task_id, run_id=run_id,
                                             reason=reason[:2000], notice=str(path))
    return path


def close_period(period: str, calendar_month: bool = False) -> dict:
    """D17-R10…R13: offsetting, closing balances, disbursements of billing period `period` (of the
    accounts billed by calendar month with `calendar_month`, decision L17)."""
    with open_runtime() as runtime, runtime.engine.begin() as conn:
        report = close(conn, period, policy=runtime.policy, at=clock.now(), calendar_month=calendar_month)
    return {"period": period, "calendar_month": calendar_month, "already_closed": report.already_closed, "offsets": report.offsets,
            "offset_cents": report.offset_cents, "disbursements": report.disbursements,
            "disbursed_cents": report.disbursed_cents}


def collections_day(conn: Connection, day: date, policy: Policy) -> tuple[list[PadDebit], CollectionsReport]:
    """The collections of `day` in `conn`'s transaction: the pre-authorized debits due that day first
    — on a due date, before penalties are judged (decision L28) — then settlement, penalties,
    interest, arrears, security alerts and standing measures. The DAG's task and `carm collections
    run` both run this."""
    debits = run_pad_debits(conn, day, policy=policy)
    return debits, collect(conn, day, policy=policy, at=clock.now())


def run_collections(day: date) -> dict:
    """D17-R33…R38: the pre-authorized debits due `day` (D17-R23), then settlement, penalties, interest,
    arrears, security alerts and standing measures of `day`."""
    with open_runtime() as runtime, runtime.engine.begin() as conn:
        debits, report = collections_day(conn, day, runtime.policy)
    return {"day": str(day), "pad_debits": sum(1 for d in debits if d.posted),
            "pad_debited_cents": sum(d.amount_cents for d in debits if d.posted), "settlements": report.settlements, "penalties": report.penalties,
            "penalty_cents": report.penalty_cents, "interest_cents": report.interest_cents,
            "arrears_notices": report.arrears_notices, "security_alerts": report.security_alerts,
            "measures_started": report.measures_started, "measures_ended": report.measures_ended,
            "problems": [str(p) for p in report.problems]
            + [f"pre-authorized debit of {d.rm15} (statement {d.period}) not taken: {d.refused}" for d in debits if d.refused]}


def daily_notices(issue_date: date) -> dict:
    """D17-R14: the Daily Notices issued on `issue_date`, delivered; the day's notices e-mailed."""
    from . import documents  # here, not at the top: an intake task, started hundreds of times a day, never loads the renderers

    with open_runtime() as runtime:
        return documents.daily_notices(runtime, issue_date)


def statements_of_account(period: str, calendar_month: bool = False) -> dict:
    """D17-R15: the period's Statements of Account, delivered (of the accounts billed by calendar
    month with `calendar_month`, decision L17)."""
    from . import documents  # see daily_notices

    with open_runtime() as runtime:
        return documents.statements_of_account(runtime, period, calendar_month)
