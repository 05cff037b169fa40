"""Payment intake: one inbound 820 file from an FI's inbox to its answers and the books.

    pending_files    every file waiting in an FI inbox (and every file a stopped run had claimed)
    process_inbound  claim → archive (copied in chunks) → register → ingest from the archive → deliver 997/TA1/824 → processed/ or quarantine/
    ingest           hash → validate → account checks → 997/TA1 → 824 → post, in one database transaction
    preview          the answers `ingest` would send, with nothing posted, kept or numbered (`carm edi validate`)

`ingest` is where the EDI stages meet the ledger: the file is hashed, then validated once
from its path or bytes in chunks, each set judged and posted as it closes (memory of the
largest set, decision E25), then acknowledged — all in one transaction, so a crash leaves
everything or nothing.  The same bytes again are answered from the store, unread (E27).
Two workers racing on the same file or the same trace number: the loser's transaction
fails on a unique key, is rolled back and retried, and then finds the file already
answered (a replay).  Every step of `process_inbound` is idempotent: run it again — after
a crash, a retry, a replay — and it finishes what was left and changes nothing done.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

import structlog
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from core import clock
from core.errors import CarmError
from core.money import format_cents
from edi.advice import Check, PaymentVerdict
from edi.limits import DEFAULT_LIMITS, Limits
from edi.payments import Payment
from edi.pipeline import AccountChecks, Outcome, acknowledge_file, report_name
from edi.reader import ends_with_iea
from edi.store import MemoryEdiStore
from edi.validate import FileChanged
from ledger.checks import account_check
from ledger.errors import IdempotencyConflict
from ledger.policy import Policy
from ledger.posting import PostedPayment
from store.edi import SqlEdiStore, forget_answers
from store.intake import (
    FileState,
    Sighting,
    failed_read,
    forget,
    forget_others,
    mark_reported,
    poll,
    record_outcome,
    record_received,
    sight,
    sighting,
)
from store.ledger import payment_facts, post_payments, record_posted_file
from transport.folders import PROCESSED, QUARANTINE, InboxFile, Stray, TransportError

from .runtime import Runtime

__all__ = [
    "Ingested", "IntakeStalled", "ingest", "preview", "pending_files", "batches", "process_inbound", "process_batch", "replay",
    "ANSWER_KINDS",
]

log = structlog.get_logger("carm.intake")

#: The status of a file left claimed because it could not be read this time.
UNREAD = "unread"

#: What an FI receives for a file, in the order it is delivered.
ANSWER_KINDS = ("ta1", "997", "824")


class IntakeStalled(CarmError):
    """Not one file of a batch could be finished: the folders or the database are out of reach."""


@dataclass(frozen=True, slots=True)
class Ingested:
    outcome: Outcome
    posted: list[PostedPayment]


def ingest(
    engine: Engine,
    source: bytes | Path,
    name: str,
    *,
    received_at: datetime,
    policy: Policy,
    sender: str | None = None,
    channel: str = "",
    acknowledged_at: datetime | None = None,
    attempts: int = 5,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int], None] | None = None,
) -> Ingested:
    """Acknowledge and post one inbound file, its bytes or its path (idempotent on its bytes).

    `received_at` decides timeliness (D17-R32) and the day relationships are judged on
    (decision L6); `acknowledged_at` [now] is written in the answers' envelopes; `sender`,
    the ISA05:ISA06 of the partner the file came from, is the only one its interchanges may carry;
    `channel`, the partner's folder, is whom the answers are kept for; `limits`, what the file
    may cost (`edi.limits`)."""
    acknowledged_at = acknowledged_at or clock.now()
    for attempt in range(1, attempts + 1):
        try:
            with _opened(source) as stream, engine.begin() as conn:
                return _acknowledge_and_post(conn, stream, name, received_at=received_at, policy=policy, sender=sender,
                                             channel=channel, acknowledged_at=acknowledged_at, limits=limits, progress=progress)
        except (IntegrityError, OperationalError, IdempotencyConflict, FileChanged) as exc:
            # another worker committed the same file, trace or control number first (or SQLite was busy, or the
            # file changed while read); judged again, the set now sees it (a duplicate, or a replay of the same file)
            if attempt == attempts:
                raise
            log.info("ingest.retry", file=name, attempt=attempt, reason=type(exc.orig).__name__ if getattr(exc, "orig", None) else str(exc))
    raise AssertionError("unreachable")  # pragma: no cover


def _opened(source: bytes | Path) -> BinaryIO:
    """The file to read in chunks: its bytes as a stream, or the file at its path."""
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # closed by the caller's `with`


class _Books:
    """`edi.pipeline.Books` on `conn`'s transaction: each judged payment posted as its set closes,
    under the savepoints the pipeline takes (decision E26)."""

    def __init__(self, conn: Connection, name: str, received_at: datetime, policy: Policy) -> None:
        self._conn, self._name, self._received_at, self._policy = conn, name, received_at, policy
        self.posted: dict[int, list[PostedPayment]] = {}  # by the file index of the set's ST

    def post(self, payment: Payment, verdict: PaymentVerdict) -> list[PostedPayment]:
        posted = post_payments(self._conn, payment.source.file_digest, self._name, [(payment, verdict)],
                               received_at=self._received_at, policy=self._policy, record_file=False)
        self.posted[payment.source.file_index] = posted
        return posted

    def savepoint(self):
        return self._conn.begin_nested()


def _acknowledge_and_post(conn: Connection, stream: BinaryIO, name: str, *, received_at: datetime, policy: Policy | None,
                          sender: str | None, channel: str, acknowledged_at: datetime, limits: Limits,
                          progress: Callable[[int], None] | None = None) -> Ingested:
    """One file through the 997/TA1/824 and, with a `policy`, the ledger, in `conn`'s transaction."""
    received_on = received_at.astimezone(clock.EASTERN).date()
    books = None if policy is None else _Books(conn, name, received_at, policy)
    outcome = acknowledge_file(stream, name, store=SqlEdiStore(conn), at=acknowledged_at, account_checks=_account_checks(conn, received_on),
                               books=books, sender=sender, channel=channel, limits=limits, progress=progress)
    if books is None or outcome.replayed:
        return Ingested(outcome, [])
    # the sets still judged: those of a group or interchange rejected after they closed were rolled back
    posted = [p for s in outcome.sets if s.verdict is not None for p in books.posted.get(s.result.file_index, ())]
    if posted:
        record_posted_file(conn, outcome.result.digest, name, received_at, len(posted))
    return Ingested(outcome, posted)


def _account_checks(conn: Connection, received_on: date) -> AccountChecks:
    """The ledger's checks of a file's payments, reading what they need through `conn`."""

    def checks(payments: Sequence[Payment], earlier: Collection[tuple[str, str]]) -> Check:
        return account_check(payment_facts(conn, payments), payments, received_on, earlier)

    return checks


def preview(engine: Engine | None, data: bytes, name: str, *, at: datetime, limits: Limits = DEFAULT_LIMITS,
            policy: Policy | None = None, sender: str | None = None, channel: str = "",
            progress: Callable[[int], None] | None = None) -> Ingested:
    """What `ingest` would do with `data` now — judged against the ledger when there is one and,
    with a `policy`, posted — in a transaction rolled back at once: nothing posted, no answer kept,
    no control number consumed, so a later ingest of the same bytes judges and posts them as if
    never seen.  Without a database, only the checks that need no account data are made."""
    if engine is None:
        outcome = acknowledge_file(io.BytesIO(data), name, store=MemoryEdiStore(), at=at, sender=sender, limits=limits, progress=progress)
        return Ingested(outcome, [])
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            return _acknowledge_and_post(conn, io.BytesIO(data), name, received_at=at, policy=policy, sender=sender, channel=channel,
                                         acknowledged_at=at, limits=limits, progress=progress)
        finally:
            transaction.rollback()


#: Bytes read from the end of a waiting file to see whether it closes with its IEA.
TAIL_BYTES = 64

#: What the partner is told about a stray left in its inbox, by kind.
STRAY_TEXT = {
    "dot-file": "its name starts with a dot, which marks a hidden or temporary file",
    "partial-upload": "its name ends with .part, .tmp or .filepart, which marks an upload still in progress",
    "folder": "it is a folder; only files are taken",
    "link": "it is a link; only regular files are taken",
    "special": "it is not a regular file",
    "not-utf8": "its name is not UTF-8 text",
    "not-expected": "this inbox is not one CBSA takes files from (only financial institutions send payments)",
}


def receipt_time(sighting: Sighting | None, now: datetime) -> datetime:
    """When a file was received (D17-R32 timeliness): when the engine first saw it — or, within
    the window since the inbox's previous listing, the modification time the client set, which
    a partner cannot then move outside the window (decision O6)."""
    if sighting is None:
        return now
    if sighting.window_start is None or sighting.modified_at is None:
        return sighting.first_seen_at
    return max(sighting.window_start, min(sighting.modified_at, sighting.first_seen_at))


def _ready(runtime: Runtime, file: InboxFile, sighting: Sighting, now: datetime) -> bool:
    """A file is taken once its size has rested the settle time and it ends with its IEA; one that
    never does is taken after the incomplete wait, and answered (TA1 023)."""
    settings = runtime.settings
    rested = (now - sighting.size_since).total_seconds()
    if rested < settings.settle_seconds:
        return False
    if rested >= settings.incomplete_wait_seconds:
        return True
    return ends_with_iea(runtime.folders.tail(file, TAIL_BYTES))


def _ref(file: InboxFile, claimed: bool, received_at: datetime) -> dict:
    return {"partner": file.partner, "name": file.name, "size": file.size, "mtime": file.mtime, "claimed": claimed,
            "received_at": received_at.isoformat()}


def _instant(mtime: float) -> datetime:
    return datetime.fromtimestamp(mtime, UTC)


def gather_pending(runtime: Runtime) -> list[dict]:
    """What an intake run takes: `pending_files`, and — when a file it saw only awaits its settle
    time — one wait of what is left of it (at most `CARM_SETTLE_SECONDS`), then a second listing:
    an upload that ended before the run is answered by that run, not the next one, and the rule
    stays "its size rested" (decisions O5, O17). Never with a pinned clock (`CARM_CLOCK`): a
    simulated "now" does not move while the run waits."""
    settling: list[float] = []
    files = pending_files(runtime, settling=settling)
    if not settling or runtime.settings.clock is not None:
        return files
    wait = min(max(settling) + 0.5, runtime.settings.settle_seconds + 0.5)
    log.info("intake.settle_wait", files=len(settling), seconds=round(wait, 1))
    time.sleep(wait)
    return pending_files(runtime)


def pending_files(runtime: Runtime, now: datetime | None = None, *, settling: list[float] | None = None) -> list[dict]:
    """Every file ready in an FI's inbox, and every file a stopped run had claimed (to resume).

    Each listing is recorded (`store.intake`): a file is received when first seen, and taken
    once its size has rested `CARM_SETTLE_SECONDS` and it ends with its IEA (decision O5).
    Strays — dot files, partial uploads, folders, links, names that are not UTF-8, and anything
    in a broker's or importer's inbox — are never taken, and reported once they have sat
    `CARM_REPORT_AFTER`. `settling`, when given, receives the seconds each file seen but not
    taken still has to rest."""
    now = now or runtime.now()
    out, waiting = [], 0
    for partner in runtime.registry():
        user = partner.sftp_user
        scan = runtime.folders.scan(user)
        claimed = runtime.folders.claimed(user) if partner.role == "fi" else []
        strays = list(scan.strays)
        with runtime.engine.begin() as conn:
            previous = poll(conn, user, now)
            if partner.role == "fi":
                for f in claimed:
                    out.append(_ref(f, True, receipt_time(sighting(conn, user, f.name), now)))
                for f in scan.files:
                    seen = sight(conn, user, f.name, "file", f.size, _instant(f.mtime), now, previous)
                    if _ready(runtime, f, seen, now):
                        out.append(_ref(f, False, receipt_time(seen, now)))
                    else:
                        waiting += 1
                        left = runtime.settings.settle_seconds - (now - seen.size_since).total_seconds()
                        if settling is not None and left > 0:
                            settling.append(left)
            else:
                strays += [Stray(user, f.name, "not-expected", f.size, f.mtime) for f in scan.files]
            for stray in strays:
                sight(conn, user, stray.name, stray.kind, stray.size, _instant(stray.mtime), now, previous)
            forget_others(conn, user, [f.name for f in (*scan.files, *claimed)] + [s.name for s in strays])
        _report_strays(runtime, partner.sftp_user, strays, now)
    log.info("intake.pending", files=len(out), resumed=sum(1 for f in out if f["claimed"]), waiting=waiting)
    return out


def _report_strays(runtime: Runtime, user: str, strays: list[Stray], now: datetime) -> None:
    """Tell the partner (a text file in its outbox) and the operators (the log) about each stray
    that has sat in its inbox longer than `CARM_REPORT_AFTER`, once."""
    for stray in strays:
        with runtime.engine.begin() as conn:
            seen = sighting(conn, user, stray.name)
            if seen is None or seen.reported_at is not None or (now - seen.size_since).total_seconds() < runtime.settings.report_after_seconds:
                continue
            text = (f"CBSA's engine does not take '{stray.name}' from your inbox: {STRAY_TEXT[stray.kind]}.\n"
                    f"It has been there, unchanged, since {seen.size_since.astimezone(clock.EASTERN):%Y-%m-%d %H:%M} (Eastern).\n"
                    "Nothing in it was processed. Rename or remove it; payment files are taken once complete, "
                    "under a name that does not start with a dot nor end with .part, .tmp or .filepart.\n")
            runtime.folders.deliver(user, report_name(stray.name, "not-taken"), text.encode("utf-8"))
            mark_reported(conn, user, stray.name, now)
        log.warning("intake.stray_reported", partner=user, file=stray.name, kind=stray.kind)


def batches(files: list[dict], size: int) -> list[list[dict]]:
    """Files grouped for mapped tasks (one task per batch keeps the Airflow UI readable)."""
    return [files[i : i + size] for i in range(0, len(files), size)]


class _Archiving:
    """A writer into the archive's temporary file that hashes and counts what passes; past
    `max_bytes` it only counts (the file is refused: its size is said, its bytes not kept)."""

    def __init__(self, out: BinaryIO, max_bytes: int) -> None:
        self._out, self._max_bytes = out, max_bytes
        self.sha, self.size = hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size <= self._max_bytes:
            self.sha.update(data)
            self._out.write(data)
        return len(data)


def _archive(runtime: Runtime, file: InboxFile, received_at: datetime) -> tuple[Path | None, str, int]:
    """The claimed file copied in chunks into the archive, `<day>/<its SHA-256>.x12` (kept once per
    digest), never held whole: its path (None when it is over the size limit), digest and size."""
    folder = runtime.settings.archive_dir / received_at.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{secrets.token_hex(8)}.part"
    try:
        with temp.open("wb") as out:
            archiving = _Archiving(out, runtime.settings.max_file_bytes)
            runtime.folders.copy_claimed(file, archiving)  # type: ignore[arg-type]
        digest = archiving.sha.hexdigest()
        if archiving.size > runtime.settings.max_file_bytes:
            return None, digest, archiving.size
        path = folder / f"{digest}.x12"
        if not path.exists():
            os.replace(temp, path)
        return path, digest, archiving.size
    finally:
        temp.unlink(missing_ok=True)


def _set_aside(runtime: Runtime, file: InboxFile, seen: Sighting | None, *, kind: str, reason: str, text: str) -> dict:
    """A claimed file the engine will not process (`kind`: `unreadable`, `too-large`): moved to
    quarantine with its reason, registered under a pseudo-digest (its bytes are not known), and the
    FI told in its outbox by `<name>.<kind>.txt` (no TA1 can be addressed without reading the ISA)."""
    folders, now = runtime.folders, runtime.now()
    first_seen = seen.first_seen_at if seen else now
    pseudo = f"{kind}:" + hashlib.sha256(f"{file.partner}/{file.name}/{first_seen.isoformat()}".encode()).hexdigest()[:52]
    folders.deliver(file.partner, report_name(file.name, kind), text.encode("utf-8"))
    with runtime.engine.begin() as conn:
        record_received(conn, digest=pseudo, partner=file.partner, name=file.name, size=file.size,
                        received_at=receipt_time(seen, now), archive_path="")
        record_outcome(conn, file.partner, pseudo, state=FileState.QUARANTINED, reason=reason, exit_code=2, at=now)
    folders.finish(file, QUARANTINE)
    with runtime.engine.begin() as conn:
        forget(conn, file.partner, file.name)
    log.error(f"intake.{kind.replace('-', '_')}_quarantined", partner=file.partner, file=file.name, reason=reason)
    return {"partner": file.partner, "name": file.name, "digest": None, "status": QUARANTINE, "reason": reason, "exit_code": 2,
            "replayed": False, "documents": [report_name(file.name, kind)], "sets": [], "posted": []}


def _quarantine_unreadable(runtime: Runtime, file: InboxFile, seen: Sighting | None, error: str) -> dict:
    """A claimed file the engine could not read, `CARM_READ_ATTEMPTS` times."""
    text = (f"CBSA could not read '{file.name}' ({error}).\n"
            "It was set aside and nothing in it was processed. Upload it again with permissions that let the "
            "engine read it (rw-r-----, 0640, or your client's default without setting permissions).\n")
    return _set_aside(runtime, file, seen, kind="unreadable", reason=f"the engine could not read the file: {error}", text=text)


def _refuse_too_large(runtime: Runtime, file: InboxFile) -> dict:
    """A file over `CARM_MAX_FILE_BYTES`: refused whole before it is read (`edi.limits`)."""
    limit = runtime.settings.max_file_bytes
    with runtime.engine.connect() as conn:
        seen = sighting(conn, file.partner, file.name)
    reason = f"the file is {file.size:,} bytes, more than the {limit:,} one file may hold"
    text = (f"CBSA did not process '{file.name}': it is {file.size:,} bytes, more than the {limit:,} bytes one file "
            "may hold.\nNothing in it was processed or acknowledged, and no payment in it was received. "
            "Split its payments over several files and upload them again.\n")
    return _set_aside(runtime, file, seen, kind="too-large", reason=reason, text=text)


def _received(runtime: Runtime, file: InboxFile, received_at: datetime) -> tuple[Path, str, int] | dict:
    """The claimed file archived (`_archive`); or, when it cannot be read, the summary of a file left
    claimed for the next run — quarantined after `CARM_READ_ATTEMPTS` failures; or, when it grew
    past the size limit after it was listed, the summary of a file refused."""
    try:
        archived = _archive(runtime, file, received_at)
    except TransportError as exc:
        with runtime.engine.begin() as conn:
            attempts = failed_read(conn, file.partner, file.name, str(exc))
            seen = sighting(conn, file.partner, file.name)
        if attempts >= runtime.settings.read_attempts:
            return _quarantine_unreadable(runtime, file, seen, str(exc.__cause__ or exc))
        log.warning("intake.unreadable", partner=file.partner, file=file.name, attempts=attempts, reason=str(exc))
        return {"partner": file.partner, "name": file.name, "status": UNREAD, "attempts": attempts, "reason": str(exc)}
    path, digest, size = archived
    if path is None:  # it grew after it was listed
        return _refuse_too_large(runtime, InboxFile(file.partner, file.name, size, file.mtime))
    return path, digest, size


def process_inbound(runtime: Runtime, ref: dict) -> dict:
    """Claim → read → archive → validate, acknowledge, post → deliver 997/TA1/824 → record → processed/ or quarantine/."""
    folders = runtime.folders
    partner = runtime.registry().by_sftp_user(ref["partner"])
    file = InboxFile(ref["partner"], ref["name"], int(ref["size"]), float(ref["mtime"]))
    bound = log.bind(partner=ref["partner"], file=ref["name"])
    if not ref.get("claimed") and folders.claim(file) is None:
        bound.info("intake.taken_by_another_worker")
        return {"partner": ref["partner"], "name": ref["name"], "status": "taken"}
    if file.size > runtime.settings.max_file_bytes:
        return _refuse_too_large(runtime, file)
    received_at = datetime.fromisoformat(ref["received_at"]) if ref.get("received_at") else runtime.now()
    received = _received(runtime, file, received_at.astimezone(clock.EASTERN))
    if isinstance(received, dict):
        return received
    archived, digest, size = received
    bound = bound.bind(digest=digest[:16], size=size)
    with runtime.engine.begin() as conn:
        record_received(conn, digest=digest, partner=ref["partner"], name=ref["name"], size=size,
                        received_at=received_at, archive_path=str(archived))
    sender = partner.isa_sender if partner is not None else None
    done = ingest(runtime.engine, archived, ref["name"], received_at=received_at, policy=runtime.policy, sender=sender,
                  channel=ref["partner"], acknowledged_at=runtime.now(), attempts=runtime.settings.ingest_attempts,
                  limits=runtime.limits)
    outcome = done.outcome
    for kind in ANSWER_KINDS:
        if kind in outcome.documents:
            name, content = outcome.documents[kind]
            folders.deliver(ref["partner"], name, content)
    unusable = outcome.exit_code == 2
    reason = "; ".join(outcome.envelope_lines()) if unusable else None
    reports = []
    if unusable and not outcome.documents:
        # nothing X12 can answer (no ISA, an empty file): the FI is told in words
        reports.append(report_name(ref["name"], "rejected"))
        text = (f"CBSA could not process '{ref['name']}': " + "; ".join(outcome.envelope_lines()) + ".\n"
                "Nothing in it was processed or acknowledged, and no payment in it was received. "
                "Correct the file and upload it again.\n")
        folders.deliver(ref["partner"], reports[0], text.encode("utf-8"))
    folder = QUARANTINE if unusable else PROCESSED
    with runtime.engine.begin() as conn:  # recorded before the file is filed away: a crash in between resumes it
        record_outcome(conn, ref["partner"], digest, state=FileState.QUARANTINED if unusable else FileState.PROCESSED, reason=reason,
                       exit_code=outcome.exit_code, at=runtime.now())
    folders.finish(file, folder)
    with runtime.engine.begin() as conn:
        forget(conn, ref["partner"], ref["name"])
    summary = {
        "partner": ref["partner"],
        "name": ref["name"],
        "digest": digest,
        "status": folder,
        "reason": reason,
        "exit_code": outcome.exit_code,
        "replayed": outcome.replayed,
        "documents": sorted([name for name, _ in outcome.documents.values()] + reports),
        "sets": outcome.report.lines(),
        "sets_accepted": sum(outcome.report.accepted),
        "sets_rejected": len(outcome.report.accepted) - sum(outcome.report.accepted),
        "rejections": outcome.report.lines(accepted=False)[:_REJECTIONS_SHOWN],
        "posted": [{"trace": p.trace, "status": p.status, "applied_cents": p.applied_cents,
                    "credit_cents": p.credit_cents, "suspense_cents": p.suspense_cents} for p in done.posted],
    }
    bound.info("intake.file_done", status=folder, exit_code=outcome.exit_code, reason=reason,
               replayed=outcome.replayed, sets=len(outcome.report.sets), posted=len(done.posted))
    return summary



#: Rejected sets a file's summary quotes (the rest are in the log and the FI's 997).
_REJECTIONS_SHOWN = 5


def run_summary(batches: Sequence[dict | None]) -> dict:
    """One intake run at a glance, from what each `process_batch` returned (None for a batch whose
    task failed): files processed and quarantined, sets accepted and rejected, money received,
    applied, left as credit and held in suspense — and `attention`, what a person should look at."""
    done = [d for b in batches if b for d in b.get("done", ())]
    posted = [p for d in done for p in d.get("posted", ()) if p["status"] == "posted"]
    quarantined = [d for d in done if d["status"] == QUARANTINE]
    summary = {
        "batches": len(batches),
        "batches_failed": sum(1 for b in batches if not b),
        "files": len(done),
        "processed": len(done) - len(quarantined),
        "quarantined": [{"file": f"{d['partner']}/{d['name']}", "reason": d.get("reason")} for d in quarantined],
        "sets_accepted": sum(d.get("sets_accepted", 0) for d in done),
        "sets_rejected": sum(d.get("sets_rejected", 0) for d in done),
        "payments_posted": len(posted),
        "received_cents": sum(p["applied_cents"] + p["credit_cents"] + p["suspense_cents"] for p in posted),
        "applied_cents": sum(p["applied_cents"] for p in posted),
        "credit_cents": sum(p["credit_cents"] for p in posted),
        "suspense_cents": sum(p["suspense_cents"] for p in posted),
        "failed": [f for b in batches if b for f in b.get("failed", ())],
        "unread": [f for b in batches if b for f in b.get("unread", ())],
        "deferred": [f for b in batches if b for f in b.get("deferred", ())],
    }
    attention = [f"quarantined {q['file']}: {q['reason']}" for q in summary["quarantined"]]
    attention += [f"rejected in {d['partner']}/{d['name']}: {line}" for d in done for line in d.get("rejections", ())]
    if summary["suspense_cents"]:
        attention.append(f"held in suspense: {format_cents(summary['suspense_cents'])} (carm suspense list)")
    attention += [f"failed, left for the next run: {f}" for f in summary["failed"]]
    attention += [f"could not be read: {f}" for f in summary["unread"]]
    if summary["batches_failed"]:
        attention.append(f"{summary['batches_failed']} batch task(s) failed: see their logs")
    summary["attention"] = attention
    return summary


def summary_text(summary: dict) -> str:
    """The run summary as a person reads it in the task log."""
    lines = [
        f"files: {summary['files']} ({summary['processed']} processed, {len(summary['quarantined'])} quarantined)"
        f" · sets: {summary['sets_accepted']} accepted, {summary['sets_rejected']} rejected",
        f"money: {summary['payments_posted']} payments, {format_cents(summary['received_cents'])} received — "
        f"{format_cents(summary['applied_cents'])} applied, {format_cents(summary['credit_cents'])} left as credit, "
        f"{format_cents(summary['suspense_cents'])} in suspense",
    ]
    if summary["deferred"]:
        lines.append(f"left to the next run (time budget): {len(summary['deferred'])} files")
    lines += [f"NEEDS ATTENTION: {item}" for item in summary["attention"]] or ["nothing needs attention"]
    return "\n".join(lines)


def process_batch(runtime: Runtime, batch: list[dict]) -> dict:
    """Each file of `batch` on its own: one that fails stays claimed for the next run and never
    holds the others back; past `CARM_INTAKE_BUDGET` seconds the rest is left to the next run.
    Raises `IntakeStalled` only when every file failed (the folders or the database are down)."""
    started = time.monotonic()  # the budget is real time, whatever clock the engine is told to keep
    done, failed, unread, deferred = [], [], [], []
    for ref in batch:
        if time.monotonic() - started > runtime.settings.intake_budget_seconds:
            deferred.append(f"{ref['partner']}/{ref['name']}")
            continue
        try:
            summary = process_inbound(runtime, ref)
        except Exception as exc:  # one file's failure is logged and left for the next run
            log.exception("intake.file_failed", partner=ref["partner"], file=ref["name"])
            failed.append(f"{ref['partner']}/{ref['name']}: {type(exc).__name__}: {exc}")
            continue
        if summary["status"] == UNREAD:  # counted; quarantined after CARM_READ_ATTEMPTS
            unread.append(f"{ref['partner']}/{ref['name']}: attempt {summary['attempts']}: {summary['reason']}")
        else:
            done.append(summary)
    if failed and not done and not unread:
        raise IntakeStalled(f"no file of the batch could be finished — {'; '.join(failed)}")
    if deferred:
        log.warning("intake.deferred", files=deferred, budget_seconds=runtime.settings.intake_budget_seconds)
    return {"done": done, "failed": failed, "unread": unread, "deferred": deferred}


def replay(runtime: Runtime, partner: str, name: str) -> dict:
    """Send a quarantined file through intake again, judged afresh: once its cause is fixed (a
    registry entry, say), an operator moves it back into the partner's inbox and the answers
    kept for its bytes are forgotten, so it is not simply answered as before.  What was posted
    from it stays posted, once (posting is idempotent per set)."""
    folders = runtime.folders
    data = folders.read_finished(partner, QUARANTINE, name)
    digest = hashlib.sha256(data).hexdigest()
    with runtime.engine.begin() as conn:
        forgotten = forget_answers(conn, partner, digest)
        forget(conn, partner, name)
    folders.restore(partner, QUARANTINE, name)
    log.warning("intake.replayed", partner=partner, file=name, digest=digest[:16], answers_forgotten=forgotten)
    return {"partner": partner, "name": name, "digest": digest, "answers_forgotten": forgotten}
