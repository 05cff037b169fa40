"""
### Daily notices

Tuesday to Saturday at 00:30 Eastern (D17-R14): for the business day before the run's
day, a Daily Notice for every account that had activity — sections Transactions, Other
transactions, Under review — as XML under `mappings/daily-notice.xsd` (with HTML and PDF
renderings in the holder's language), delivered to the holder or its designated agent
(Annex B); brokers see only items under their security account for clients whose
relationship covers the account. None when that day was a holiday or had no activity.
Then the day's notices (avis) are e-mailed: to subscribers, and urgent ones to everyone.
Re-running writes byte-identical files and sends nothing twice.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from carm_dag_common import DEFAULT_ARGS, LEDGER, START, eastern_day


@dag(
    dag_id="carm_daily_notices",
    schedule="30 0 * * 2-6",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["carm", "statements", "notices"],
    doc_md=__doc__,
)
def carm_daily_notices():
    @task(inlets=[LEDGER], doc_md="Daily Notices for the previous business day, delivered to each recipient's outbox; notices e-mailed.")
    def issue() -> dict:
        from carm import jobs

        return jobs.daily_notices(eastern_day(get_current_context()))

    issue()


carm_daily_notices()
