"""
### Period close

At 01:00 Eastern on the 18th, closes the billing period that ended on the 17th
(`YYYY-MM`, the month of the run): credits offset debts, an agent's credits first
(D17-R10, R11); every account's closing balance is kept; importer credit balances
above $1,000 or in credit two closes running are disbursed (D17-R12, R13).
Idempotent: a period closes once. Statements (issued on the 25th) follow it. Accounts
billed by calendar month close on the 1st (`carm_calendar_month_close`).

*Trigger with config* takes a `period` (`YYYY-MM`) to close another period by hand —
one a late run missed, say; closing a closed period again changes nothing.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from carm_dag_common import DEFAULT_ARGS, LEDGER, PERIOD_CLOSED, START, period_param, run_period


@dag(
    dag_id="carm_period_close",
    schedule="0 1 18 * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["carm", "ledger", "statements"],
    doc_md=__doc__,
    params=period_param("Close"),
)
def carm_period_close():
    @task(inlets=[LEDGER], outlets=[LEDGER, PERIOD_CLOSED], doc_md="Offsetting, closing balances and disbursements for the period.")
    def close() -> dict:
        from carm import jobs

        return jobs.close_period(run_period(get_current_context()))

    close()


carm_period_close()
