"""What every CARM DAG shares: schedule time zone, retries, assets. No I/O here (parse time).

DAG files are named `carm_*.py` so that no DAG module shadows a package the tasks import
(`statements`, the standard library's `collections`): Airflow puts this folder on `sys.path`.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Asset, Param


def notify_operators(context) -> None:
    """A task failed (or the intake run needs attention): the operators' notice (`carm.jobs`)."""
    from carm import jobs

    ti = context.get("ti") or context.get("task_instance")
    jobs.notify_operators(
        dag_id=getattr(ti, "dag_id", "?"), task_id=getattr(ti, "task_id", "?"), run_id=str(context.get("run_id", "")),
        reason=str(context.get("exception") or "failed"),
    )


EASTERN = "America/Toronto"
START = pendulum.datetime(2026, 11, 1, tz=EASTERN)
DEFAULT_ARGS = {
    "owner": "carm-payments",
    # CARM_TASK_RETRIES=0 for one-shot runs (`airflow dags test` waits out every retry delay)
    "retries": int(os.environ.get("CARM_TASK_RETRIES", "3")),
    "retry_delay": pendulum.duration(minutes=2),
    "retry_exponential_backoff": True,
    # a task that hangs (a dead SFTP peer, a lock never granted) fails and is retried, instead of
    # holding its slot for ever; intake stops itself well before (CARM_INTAKE_BUDGET)
    "execution_timeout": pendulum.duration(minutes=int(os.environ.get("CARM_TASK_TIMEOUT_MINUTES", "60"))),
    "on_failure_callback": notify_operators,
    # every task holds database connections: the pool bounds how many tasks do at once, whatever
    # the executor's parallelism (`airflow pools set carm_db 4 …`; scripts/stack, the demo and the
    # tests create it)
    "pool": os.environ.get("CARM_AIRFLOW_POOL", "carm_db"),
}

#: The ledger's journal: payments, declarations, penalties and interest post to it.
LEDGER = Asset("carm://ledger/journal")
#: A billing period has been closed (offsetting done, balances snapshotted).
PERIOD_CLOSED = Asset("carm://ledger/period-close")


def period_param(what: str, empty: str = "the run's month") -> dict:
    """The `period` Param of a job an operator may trigger by hand for another period."""
    return {"period": Param(None, type=["null", "string"], pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", title="Period (YYYY-MM)",
                            description=f"{what} for this billing period instead of the run's own (empty: {empty}).")}


def run_period(context) -> str:
    """The billing period a run works on: its `period` Param when an operator gave one, else the
    month of its logical date (Eastern)."""
    chosen = (context.get("params") or {}).get("period")
    if chosen:
        return str(chosen)
    day = eastern_day(context)
    return f"{day.year:04d}-{day.month:02d}"


def run_calendar_month(context) -> str:
    """The calendar month a calendar-month run works on (decision L17): its `period` Param when an
    operator gave one, else the month before its logical date (Eastern) — the month that has ended
    when the run closes it (on the 1st) or issues its statements (on the 8th)."""
    chosen = (context.get("params") or {}).get("period")
    if chosen:
        return str(chosen)
    day = eastern_day(context).replace(day=1).subtract(days=1)
    return f"{day.year:04d}-{day.month:02d}"


def eastern_day(context) -> pendulum.Date:
    """The business day a run is keyed on: its logical date in Eastern time (never `now()`)."""
    return pendulum.instance(context["logical_date"]).in_timezone(EASTERN).date()
