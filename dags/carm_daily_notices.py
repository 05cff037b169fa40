"""
### Daily notices

Tuesday to Saturday at 00:30 Eastern (D17-R14): for the business day before the run's
day, a Daily Notice for every account that had activity — sections Transactions, Other
transactions, Under review — as XML under `mappings/daily-notice.xsd` (with its HTML
rendering in the holder's language; the PDF drawn when delivered or downloaded), delivered to the holder or its designated agent
(Annex B); brokers see only items under their security account for clients whose
relationship covers the account. None when that day was a holiday or had no activity.
Then the day's notices (avis) are e-mailed: to subscribers, and urgent ones to everyone.
Re-running writes byte-identical files and sends nothing twice.

*Trigger with config* takes an `issue_date` (`YYYY-MM-DD`) to re-issue that day's notices by
hand — after a correction, or for a run that was missed.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from carm_dag_common import DEFAULT_ARGS, LEDGER, START, eastern_day


def _issue_date(context):
    """The issue date: the `issue_date` Param when an operator gave one, else the run's day (Eastern)."""
    chosen = (context.get("params") or {}).get("issue_date")
    return pendulum.parse(chosen).date() if chosen else eastern_day(context)


@dag(
    dag_id="carm_daily_notices",
    schedule="30 0 * * 2-6",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["carm", "statements", "notices"],
    doc_md=__doc__,
    params={"issue_date": Param(None, type=["null", "string"], format="date", title="Issue date (YYYY-MM-DD)",
                                description="Re-issue the Daily Notices of this issue date (for the business day before it); empty: the run's day.")},
)
def carm_daily_notices():
    @task(inlets=[LEDGER], doc_md="Daily Notices for the previous business day, delivered to each recipient's outbox; notices e-mailed.")
    def issue() -> dict:
        from carm import jobs

        return jobs.daily_notices(_issue_date(get_current_context()))

    issue()


carm_daily_notices()
