"""
### Period close, accounts billed by calendar month

At 01:00 Eastern on the 1st, closes the calendar month that has just ended (`YYYY-MM`, the
month before the run's) on the accounts billed by calendar month — courier LVS, CSA
(D17-R15, decision L17): credits offset debts, an agent's credits first (D17-R10, R11);
every account's closing balance is kept; importer credit balances above $1,000 or in credit
two closes running are disbursed (D17-R12, R13). `carm_period_close` closes the other
accounts' 18th → 17th periods on the 18th. Idempotent: a period closes once. Their
statements (issued on the 8th, `carm_calendar_month_statements`) follow it.

*Trigger with config* takes a `period` (`YYYY-MM`) to close another calendar month by hand;
closing a closed period again changes nothing.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from carm_dag_common import DEFAULT_ARGS, LEDGER, PERIOD_CLOSED, START, period_param, run_calendar_month


@dag(
    dag_id="carm_calendar_month_close",
    schedule="0 1 1 * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["carm", "ledger", "statements"],
    doc_md=__doc__,
    params=period_param("Close the calendar month", "the month before the run's"),
)
def carm_calendar_month_close():
    @task(inlets=[LEDGER], outlets=[LEDGER, PERIOD_CLOSED],
          doc_md="Offsetting, closing balances and disbursements for the calendar month, on the accounts billed so.")
    def close() -> dict:
        from carm import jobs

        return jobs.close_period(run_calendar_month(get_current_context()), calendar_month=True)

    close()


carm_calendar_month_close()
