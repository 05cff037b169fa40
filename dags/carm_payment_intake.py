"""
### Payment intake

Financial institutions drop X12 820 payment files into their SFTP `inbox/`.
Every five minutes this DAG:

1. **find_files** — lists every inbox, records when each file was first seen (its receipt
   time), and returns the files ready — their size at rest and ending with their IEA —
   plus the files a stopped run had claimed; strays (dot files, partial uploads, folders,
   anything in a broker's or importer's inbox) are reported to the partner and in the log;
2. **process_batch** (mapped, `CARM_INTAKE_BATCH` files a task: 20 unless configured) — for
   each file, on its own: claim it atomically (rename into `inbox/.claimed/`), archive the
   original bytes with their SHA-256, validate (pyx12 map of the 820 guide) and judge against
   the ledger, write the 997 / TA1 / 824 into the FI's `outbox/`, post the payments, then move
   the file to `processed/` — or to `quarantine/` with the reason when nothing in it could be read
   (a file the engine cannot open, three runs in a row, too, with a report to the FI).

3. **report** — the run at a glance (its return value, and its log): files processed and
   quarantined with their reasons, sets accepted and rejected, money received, applied, left
   as credit and held in suspense;
4. **needs_attention** — fails, marking the run red, when something needs a person: a
   quarantined file, a rejected set, money to suspense, a file that failed or could not be
   read. Its log lists them; the operators' notice goes out (`on_failure_callback`). It is
   never retried: nothing is re-run by it.

Every step is idempotent: retrying a task, or re-running after a crash, finishes
what was left and never posts twice (file digest and FI + trace number are the
keys). A file that fails waits for the next run without holding the others back; the
task fails only when no file of its batch could be finished (infrastructure down). The
structured log binds the file digest, ISA/GS/ST control numbers and trace numbers.
Replaying a quarantined file: `docs/operations.md`.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowFailException

from carm_dag_common import DEFAULT_ARGS, LEDGER, START


@dag(
    dag_id="carm_payment_intake",
    schedule="*/5 * * * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["carm", "edi", "payments"],
    doc_md=__doc__,
)
def carm_payment_intake():
    @task(doc_md="Every file waiting in an FI inbox, plus files a stopped run had claimed; in batches of CARM_INTAKE_BATCH (20).")
    def find_files() -> list[list[dict]]:
        from carm import jobs

        return jobs.batches(jobs.pending_files())

    @task(outlets=[LEDGER], doc_md="Claim, archive, validate, acknowledge, post and file away each file of the batch, "
                                    "each on its own: a file that fails waits for the next run, never the others.")
    def process_batch(batch: list[dict]) -> dict:
        from carm import jobs

        return jobs.process_batch(batch)

    @task(trigger_rule="all_done", doc_md="The run at a glance: files, sets accepted and rejected, money posted and to "
                                            "suspense, quarantined files with their reasons. Runs even when a batch failed.")
    def report(batches) -> dict:
        from carm import jobs

        results = []
        for index in range(len(batches)):
            try:
                results.append(batches[index])
            except Exception:  # a batch task that failed left no result: counted as such
                results.append(None)
        return jobs.intake_report(results)

    @task(retries=0, doc_md="Fails, marking the run, when something needs a person; its log says what.")
    def needs_attention(summary: dict) -> int:
        if summary["attention"]:
            count = len(summary["attention"])
            head = "1 thing needs attention" if count == 1 else f"{count} things need attention"
            raise AirflowFailException(f"{head}:\n" + "\n".join(summary["attention"]))
        return 0

    needs_attention(report(process_batch.expand(batch=find_files())))


carm_payment_intake()
