"""A statements run split across worker processes, writing what the one-process run writes.

The accounts of the run (in RM15 order) are cut into one contiguous range per worker. Each
worker is a process of its own (started by `spawn`: no state inherited from the caller, safe
under Airflow's task runner), with its own connection — on PostgreSQL inside the snapshot the
caller's transaction exported, so every worker reads the same books. A run goes in two steps:

1. each worker builds the importer statements of its range and reports, per recipient, how
   many it holds, then sends its accounts' parts of the brokers' statements;
2. the caller tells each worker how many documents each of its recipients received from the
   ranges before it — as soon as it has the counts, before reading the parts — so the worker numbers
   its own (`<NNNN>`, decision S6) exactly as one process would; the workers write, while the
   caller assembles and writes the brokers' statements, which come after every importer's.

The run report is the workers' reports in range order, then the brokers': the one-process
report, output for output (decision S11). What crosses between processes is kept lean: the
parts' records (named tuples) pickled as their values, a worker's files as names. A worker reads
the reference data of its own range of accounts, the caller only the brokers' (S14), while its
workers start.
"""

from __future__ import annotations

import multiprocessing
import pickle
import re
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import structlog
from sqlalchemy import Connection, text

from core.db import make_engine
from core.gcpause import collector_for
from ledger.policy import Policy

from .errors import StatementsError
from .output import Output, RunReport, write_documents
from .query import NO_ACCOUNTS, AccountRow
from .soa import BrokerParts, broker_statements, importer_statements, run_context

__all__ = ["run_split", "ranges"]

log = structlog.get_logger("statements")

_SNAPSHOT = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


@dataclass(frozen=True)
class _Job:
    """What one worker is given: where the books are, which period and accounts, where to write."""

    url: str
    snapshot: str | None
    period: str
    policy: Policy
    calendar_month: bool
    rows: Sequence[AccountRow]
    out: Path
    formats: tuple[str, ...]
    paper: str
    doc_type: str
    label: str


def ranges(rows: Sequence[AccountRow], workers: int) -> list[Sequence[AccountRow]]:
    """`rows` cut into at most `workers` contiguous ranges of (nearly) equal length, none empty."""
    count = max(1, min(workers, len(rows)))
    size, extra = divmod(len(rows), count)
    cuts, start = [], 0
    for k in range(count):
        stop = start + size + (1 if k < extra else 0)
        cuts.append(rows[start:stop])
        start = stop
    return [c for c in cuts if len(c)]


def run_split(conn: Connection, period: str, out: Path, report: RunReport, accounts: Sequence[AccountRow], *, policy: Policy,
              formats: tuple[str, ...], paper: str, calendar_month: bool, workers: int) -> RunReport:
    """Write the statements of `period` — of `accounts`, the run's (`run_accounts`) — with `workers` processes,
    adding to `report` (see the module docstring)."""
    url = conn.engine.url.render_as_string(hide_password=False)
    snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one() if conn.dialect.name == "postgresql" else None
    jobs = [_Job(url, snapshot, period, policy, calendar_month, rows, out, formats, paper, report.doc_type, report.label)
            for rows in ranges(accounts, workers)]
    log.info("statements.split", doc_type=report.doc_type, label=report.label, workers=len(jobs), accounts=[len(j.rows) for j in jobs])
    spawn = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    try:
        for job in jobs:
            ours, theirs = spawn.Pipe()
            process = spawn.Process(target=_work, args=(job, theirs), name=f"statements-{len(processes) + 1}")
            process.start()
            theirs.close()
            pipes.append(ours)
            processes.append(process)
        ctx = run_context(conn, period, policy, calendar_month, span=NO_ACCOUNTS)  # while the workers start: brokers' names
        numbered: Counter = Counter()
        for pipe in pipes:  # step 1, in range order: each range numbers after the ones before it
            counts = _receive(pipe)
            pipe.send(Counter({key: numbered[key] for key in counts if key in numbered}))  # its own recipients'
            numbered.update(counts)
        broker_parts: BrokerParts = {}
        for pipe in pipes:  # a worker starts writing once its parts are read
            for key, accounts in pickle.loads(_receive(pipe)).items():
                broker_parts.setdefault(key, []).extend(accounts)
        brokers = RunReport(report.doc_type, report.label)
        write_documents(broker_statements(ctx, broker_parts), out, brokers, formats, paper=paper, numbered=numbered)
        for pipe in pipes:
            part, outputs = _receive(pipe)
            part.outputs = [Output(out / name, recipient, fmt, written) for name, recipient, fmt, written in outputs]
            report.add(part)
        report.add(brokers)
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
    return report


def _dumps(parts: BrokerParts) -> bytes:
    """`parts` pickled (read back with `pickle.loads`): the records, named tuples, as their values."""
    return pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL)


def _receive(pipe):
    """The worker's next message; its failure raised here, with the worker's traceback."""
    try:
        kind, payload = pipe.recv()
    except EOFError as exc:
        raise StatementsError("a statements worker died without a word (killed? out of memory?)") from exc
    if kind == "error":
        raise StatementsError(f"a statements worker failed:\n{payload}")
    return payload


def _work(job: _Job, pipe) -> None:
    """One worker: build its range's importer statements, report the counts, learn its numbering, write
    (the garbage collector paused unless it draws PDFs, as for the whole run: `run_statements`)."""
    try:
        with collector_for(cycles="pdf" in job.formats):  # fpdf2 leaves cycles
            _work_paused(job, pipe)
    except BaseException:  # every failure goes back to the caller, who raises it
        pipe.send(("error", traceback.format_exc()))
    finally:
        pipe.close()


def _work_paused(job: _Job, pipe) -> None:
    engine = make_engine(job.url)
    with engine.connect() as conn:
        if job.snapshot:
            if not _SNAPSHOT.fullmatch(job.snapshot):
                raise StatementsError(f"unexpected snapshot id {job.snapshot!r}")
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.execute(text(f"SET TRANSACTION SNAPSHOT '{job.snapshot}'"))
        ctx = run_context(conn, job.period, job.policy, job.calendar_month, span=(job.rows[0].rm15, job.rows[-1].rm15))
        broker_parts: BrokerParts = {}
        documents = list(importer_statements(conn, ctx, job.rows, broker_parts))
    engine.dispose()
    pipe.send(("counted", Counter((d.recipient.bn9, d.doc_date.isoformat()) for d in documents)))
    numbered = pipe.recv()  # before sending the parts: the caller answers every worker's counts first
    pipe.send(("parts", _dumps(broker_parts)))
    report = RunReport(job.doc_type, job.label)
    write_documents(documents, job.out, report, job.formats, paper=job.paper, numbered=numbered)
    outputs = [(o.path.name, o.recipient_bn9, o.format, o.written) for o in report.outputs]
    pipe.send(("written", (replace(report, outputs=[]), outputs)))  # names, not paths: a tenth of the pickling
