"""
### Payment intake

Financial institutions drop X12 820 payment files into their SFTP `inbox/`.
Every five minutes this DAG:

1. **find_files** — lists every FI inbox (and files a stopped run had claimed);
2. **process_batch** (mapped, 20 files a task) — for each file: claim it atomically
   (rename into `inbox/.claimed/`), archive the original bytes with their SHA-256 and
   receipt time, validate (pyx12 map of the 820 guide), write the 997 / TA1 / 824 into
   the FI's `outbox/`, post the payments to the ledger, then move the file to
   `processed/` — or to `quarantine/` with the reason when nothing in it could be read.

Every step is idempotent: retrying a task, or re-running after a crash, finishes
what was left and never posts twice (file digest and FI + trace number are the
keys). A failed task names each file and the reason; the structured log binds the
file digest, ISA/GS/ST control numbers and trace numbers.
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

    @task(outlets=[LEDGER], doc_md="Claim, archive, validate, acknowledge, post and file away each file of the batch.")
    def process_batch(batch: list[dict]) -> list[dict]:
        from carm import jobs

        done, failed = [], []
        for ref in batch:
            try:
                done.append(jobs.process_inbound(ref))
            except Exception as exc:  # infrastructure (SFTP, database): the retry resumes this file
                failed.append(f"{ref['partner']}/{ref['name']}: {type(exc).__name__}: {exc}")
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(batch)} file(s) not finished — " + "; ".join(failed))
        return done

    process_batch.expand(batch=find_files())


carm_payment_intake()
