"""Payment intake: one inbound 820 file from an FI's inbox to its answers and the books.

    pending_files    every file waiting in an FI inbox (and every file a stopped run had claimed)
    process_inbound  claim → archive → register → ingest → deliver 997/TA1/824 → processed/ or quarantine/
    ingest           validate → account checks → 997/TA1 → 824 → post, in one database transaction
    preview          the answers `ingest` would send, with nothing posted, kept or numbered (`carm edi validate`)

`ingest` is where the EDI stages meet the ledger: the file is validated once, then
acknowledged and posted in one transaction, so a crash leaves everything or nothing.
Two workers racing on the same file or the same trace number: the loser's transaction
fails on a unique key, is rolled back and retried, and then finds the file already
answered (a replay).  Every step of `process_inbound` is idempotent: run it again — after
a crash, a retry, a replay — and it finishes what was left and changes nothing done.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import structlog
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from core import clock
from core.files import atomic_write
from edi.advice import Check
from edi.payments import Payment
from edi.pipeline import AccountChecks, Outcome, acknowledge
from edi.store import MemoryEdiStore
from edi.validate import validate_stream
from ledger.checks import account_check
from ledger.policy import Policy
from ledger.posting import PostedPayment
from store.edi import SqlEdiStore
from store.intake import FileState, record_outcome, record_received
from store.ledger import payment_facts, post_payments
from transport.folders import PROCESSED, QUARANTINE, InboxFile

from .runtime import Runtime

__all__ = ["Ingested", "ingest", "preview", "pending_files", "batches", "process_inbound", "ANSWER_KINDS"]

log = structlog.get_logger("carm.intake")

#: What an FI receives for a file, in the order it is delivered.
ANSWER_KINDS = ("ta1", "997", "824")


@dataclass(frozen=True, slots=True)
class Ingested:
    outcome: Outcome
    posted: list[PostedPayment]


def ingest(
    engine: Engine,
    data: bytes,
    name: str,
    *,
    received_at: datetime,
    policy: Policy,
    sender: str | None = None,
    acknowledged_at: datetime | None = None,
    attempts: int = 5,
) -> Ingested:
    """Acknowledge and post one inbound file (idempotent on its bytes).

    `received_at` decides timeliness (D17-R32) and the day relationships are judged on
    (decision L6); `acknowledged_at` [now] is written in the answers' envelopes; `sender`,
    the ISA05:ISA06 of the partner the file came from, is the only one its interchanges may carry."""
    acknowledged_at = acknowledged_at or clock.now()
    result = validate_stream(io.BytesIO(data))
    received_on = received_at.astimezone(clock.EASTERN).date()
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as conn:
                outcome = acknowledge(result, name, store=SqlEdiStore(conn), at=acknowledged_at,
                                      account_checks=_account_checks(conn, received_on), sender=sender)
                posted = [] if outcome.replayed else post_payments(
                    conn, result.digest, name, [(s.payment, s.verdict) for s in outcome.sets if s.verdict is not None],
                    received_at=received_at, policy=policy,
                )
            return Ingested(outcome, posted)
        except (IntegrityError, OperationalError) as exc:
            # another worker committed the same file, trace or control number first (or SQLite was busy)
            if attempt == attempts:
                raise
            log.info("ingest.retry", file=name, attempt=attempt, reason=type(exc.orig).__name__ if getattr(exc, "orig", None) else str(exc))
    raise AssertionError("unreachable")  # pragma: no cover


def _account_checks(conn: Connection, received_on: date) -> AccountChecks:
    """The ledger's checks of a file's payments, reading what they need through `conn`."""

    def checks(payments: Sequence[Payment]) -> Check:
        return account_check(payment_facts(conn, payments), payments, received_on)

    return checks


def preview(engine: Engine | None, data: bytes, name: str, *, at: datetime) -> Outcome:
    """The answers `ingest` would send for `data` now — judged against the ledger when there is
    one, in a transaction rolled back at once: nothing posted, no answer kept, no control number
    consumed, so a later ingest of the same bytes judges and posts them as if never seen.  Without
    a database, only the checks that need no account data are made."""
    result = validate_stream(io.BytesIO(data))
    if engine is None:
        return acknowledge(result, name, store=MemoryEdiStore(), at=at)
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            return acknowledge(result, name, store=SqlEdiStore(conn), at=at,
                               account_checks=_account_checks(conn, at.astimezone(clock.EASTERN).date()))
        finally:
            transaction.rollback()


def pending_files(runtime: Runtime, now: float | None = None) -> list[dict]:
    """Every file waiting in an FI's inbox, and every file a stopped run had claimed (to resume).

    A file modified less than the settle time (`CARM_SETTLE_SECONDS`, 60) ago is left for the
    next run: an FI whose client uploads under the final name would otherwise have a
    half-written file taken (uploads named `*.part`, `*.tmp`, `*.filepart` are never listed)."""
    settle = runtime.settings.settle_seconds
    now = time.time() if now is None else now
    folders = runtime.folders
    out, settling = [], 0
    for partner in runtime.registry():
        if partner.role != "fi":
            continue
        for claimed, files in ((True, folders.claimed(partner.sftp_user)), (False, folders.inbox(partner.sftp_user))):
            for f in files:
                if not claimed and now - f.mtime < settle:
                    settling += 1
                    continue
                out.append({"partner": f.partner, "name": f.name, "size": f.size, "mtime": f.mtime, "claimed": claimed})
    log.info("intake.pending", files=len(out), resumed=sum(1 for f in out if f["claimed"]), still_uploading=settling)
    return out


def batches(files: list[dict], size: int) -> list[list[dict]]:
    """Files grouped for mapped tasks (one task per batch keeps the Airflow UI readable)."""
    return [files[i : i + size] for i in range(0, len(files), size)]


def _archive(archive_dir: Path, data: bytes, digest: str, received_at: datetime) -> Path:
    folder = archive_dir / received_at.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.x12"
    if not path.exists():
        atomic_write(path, data)
    return path


def process_inbound(runtime: Runtime, ref: dict) -> dict:
    """Claim → archive → validate, acknowledge, post → deliver 997/TA1/824 → processed/ or quarantine/."""
    folders = runtime.folders
    partner = runtime.registry().by_sftp_user(ref["partner"])
    file = InboxFile(ref["partner"], ref["name"], int(ref["size"]), float(ref["mtime"]))
    bound = log.bind(partner=ref["partner"], file=ref["name"])
    if not ref.get("claimed") and folders.claim(file) is None:
        bound.info("intake.taken_by_another_worker")
        return {"partner": ref["partner"], "name": ref["name"], "status": "taken"}
    data = folders.read_claimed(file)
    digest = hashlib.sha256(data).hexdigest()
    received_at = datetime.fromtimestamp(file.mtime, clock.EASTERN)
    bound = bound.bind(digest=digest[:16], size=len(data))
    archived = _archive(runtime.settings.archive_dir, data, digest, received_at)
    with runtime.engine.begin() as conn:
        record_received(conn, digest=digest, partner=ref["partner"], name=ref["name"], size=len(data),
                        received_at=received_at, archive_path=str(archived))
    sender = partner.isa_sender if partner is not None else None
    done = ingest(runtime.engine, data, ref["name"], received_at=received_at, policy=runtime.policy, sender=sender,
                  attempts=runtime.settings.ingest_attempts)
    outcome = done.outcome
    for kind in ANSWER_KINDS:
        if kind in outcome.documents:
            name, content = outcome.documents[kind]
            folders.deliver(ref["partner"], name, content)
    unusable = outcome.exit_code == 2
    reason = "; ".join(outcome.envelope_lines()) if unusable else None
    folder = QUARANTINE if unusable else PROCESSED
    folders.finish(file, folder)
    with runtime.engine.begin() as conn:
        record_outcome(conn, ref["partner"], digest, state=FileState.QUARANTINED if unusable else FileState.PROCESSED, reason=reason,
                       exit_code=outcome.exit_code, at=clock.now())
    summary = {
        "partner": ref["partner"],
        "name": ref["name"],
        "digest": digest,
        "status": folder,
        "reason": reason,
        "exit_code": outcome.exit_code,
        "replayed": outcome.replayed,
        "documents": sorted(name for name, _ in outcome.documents.values()),
        "sets": [s.summary_line() for s in outcome.sets],
        "posted": [{"trace": p.trace, "status": p.status, "applied_cents": p.applied_cents,
                    "credit_cents": p.credit_cents, "suspense_cents": p.suspense_cents} for p in done.posted],
    }
    bound.info("intake.file_done", status=folder, exit_code=outcome.exit_code, reason=reason,
               replayed=outcome.replayed, sets=len(outcome.sets), posted=len(done.posted))
    return summary

