"""
### Statements of account, accounts billed by calendar month

At 06:00 Eastern on the 8th — 8 days after the month's end, as the 25th is after the 17th
(D17-R15, decision L17) — the Statement of Account of the calendar month that ended
(`YYYY-MM`, the month before the run's) for every account billed by calendar month (courier
LVS, CSA), and for each broker securing some of them, as XML under
`mappings/statement-of-account.xsd` with its HTML rendering (the PDF drawn when delivered or
downloaded), delivered to the holder or its designated agent. The month is closed first if `carm_calendar_month_close` has not done
it (closing is idempotent). Re-running writes byte-identical files.

*Trigger with config* takes a `period` (`YYYY-MM`) to issue (again) another calendar month's
statements by hand: a statement already issued is rewritten byte for byte.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from carm_dag_common import DEFAULT_ARGS, PERIOD_CLOSED, START, period_param, run_calendar_month


@dag(
    dag_id="carm_calendar_month_statements",
    schedule="0 6 8 * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["carm", "statements"],
    doc_md=__doc__,
    params=period_param("Statements of the calendar month", "the month before the run's"),
)
def carm_calendar_month_statements():
    @task(inlets=[PERIOD_CLOSED], doc_md="Statements of account of the calendar month, delivered to each recipient's outbox.")
    def issue() -> dict:
        from carm import jobs

        return jobs.statements_of_account(run_calendar_month(get_current_context()), calendar_month=True)

    issue()


carm_calendar_month_statements()
