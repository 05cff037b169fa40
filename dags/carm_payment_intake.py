"""
### Payment intake

Financial institutions drop X12 820 payment files into their SFTP `inbox/`.
Every five minutes this DAG:

1. **find_files** — lists every inbox, records when each file was first seen (its receipt
   time), and returns the files ready — their size at rest and ending with their IEA —
   plus the files a stopped run had claimed; strays (dot files, partial uploads, folders,
   anything in a broker's or importer's inbox) are reported to the partner and in the log;
2. **process_batch** (mapped, 20 files a task) — for each file, on its own: claim it
   atomically (rename into `inbox/.claimed/`), archive the original bytes with their
   SHA-256, validate (pyx12 map of the 820 guide) and judge against the ledger, write the
   997 / TA1 / 824 into the FI's `outbox/`, post the payments, then move the file to
   `processed/` — or to `quarantine/` with the reason when nothing in it could be read
   (a file the engine cannot open, three runs in a row, too, with a report to the FI).

Every step is idempotent: retrying a task, or re-running after a crash, finishes
what was left and never posts twice (file digest and FI + trace number are the
keys). A file that fails waits for the next run without holding the others back; the
task fails only when no file of its batch could be finished (infrastructure down). The
structured log binds the file digest, ISA/GS/ST control numbers and trace numbers.
Replaying a quarantined file: `docs/operations.md`.
"""

from __future__ import annotations

from airflow.sdk import dag, task

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
    @task(doc_md="Every file waiting in an FI inbox, plus files a stopped run had claimed; in batches of 20.")
    def find_files() -> list[list[dict]]:
        from carm import jobs

        return jobs.batches(jobs.pending_files())

    @task(outlets=[LEDGER], doc_md="Claim, archive, validate, acknowledge, post and file away each file of the batch, "
                                    "each on its own: a file that fails waits for the next run, never the others.")
    def process_batch(batch: list[dict]) -> dict:
        from carm import jobs

        return jobs.process_batch(batch)

    process_batch.expand(batch=find_files())


carm_payment_intake()
