"""
### Collections

Every day at 02:00 Eastern, for the day of the run: settle each past due date with the
payments standing on the account, charge the late-payment penalty once per account and
due date (D17-R33, $200), charge daily-compounded interest from the day after the due
date at the prescribed rate + 6 points, raise arrears notices 30 days after a due date
(D17-R37) and security-exceeded alerts. Idempotent for a day: re-running changes nothing.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from carm_dag_common import DEFAULT_ARGS, LEDGER, START, eastern_day


@dag(
    dag_id="carm_collections",
    schedule="0 2 * * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["carm", "ledger", "collections"],
    doc_md=__doc__,
)
def carm_collections():
    @task(inlets=[LEDGER], outlets=[LEDGER], doc_md="Penalties, interest, arrears notices and security alerts for the run's day.")
    def collect() -> dict:
        from carm import jobs

        return jobs.run_collections(eastern_day(get_current_context()))

    collect()


carm_collections()
