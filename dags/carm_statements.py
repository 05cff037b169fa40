"""
### Statements of account

At 06:00 Eastern on the 25th (D17-R15): the Statement of Account of the billing period
that ended on the 17th (`YYYY-MM`, the month of the run) for every importer (by RM15)
and broker (by BN9 + security account), as XML under `mappings/statement-of-account.xsd`
with its HTML rendering (the PDF drawn when delivered or downloaded, decision S12), split
across `CARM_STATEMENT_WORKERS` processes (decision S11), delivered to the holder or its
designated agent. The period
is closed first if `carm_period_close` has not done it (closing is idempotent). Re-running
writes byte-identical files. Accounts billed by calendar month get theirs on the 8th
(`carm_calendar_month_statements`).

*Trigger with config* takes a `period` (`YYYY-MM`) to issue (again) another period's
statements by hand: a statement already issued is rewritten byte for byte.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from carm_dag_common import DEFAULT_ARGS, PERIOD_CLOSED, START, period_param, run_period


@dag(
    dag_id="carm_statements",
    schedule="0 6 25 * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["carm", "statements"],
    doc_md=__doc__,
    params=period_param("Statements"),
)
def carm_statements():
    @task(inlets=[PERIOD_CLOSED], doc_md="Statements of account of the period, delivered to each recipient's outbox.")
    def issue() -> dict:
        from carm import jobs

        return jobs.statements_of_account(run_period(get_current_context()))

    issue()


carm_statements()
