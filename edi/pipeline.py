"""One inbound file through the EDI stages: read → validate → 997/TA1 → judge → 824.

`acknowledge_file` runs them all on a byte stream; `acknowledge` runs the stages after
validation on a `FileResult`.  Both return an `Outcome` (results, verdicts, documents) and
never raise on bad input.  What must persist — control numbers, interchanges seen, the
answers — goes through an `edi.store.EdiStore`.  Re-running on the same bytes changes
nothing: the bytes are hashed first, and the documents first written for that digest are
returned again, byte for byte, with the report first made of them (`Report`), before
anything is validated or judged (issue 11 item 3, decision E27).

`acknowledge_file` keeps memory to the largest set, not the file (decision E25): each set
is judged as it closes (`_Judge`, the validator's `SetSink`), handed to `Books` — the
ledger, through `carm.intake` — and let go; only what the answers and the report need is
kept (`Judgement`).  What a later segment undoes — a group or interchange rejected at its
trailer, by a stray segment, by a control number another file brought — is rolled back to
a savepoint of the books (decision E26), so the answers and the books are those of a file
judged whole.

The checks that need account data come from the caller as `AccountChecks`: given the
payments about to be judged (in file order) and the (sender, trace) of the production sets
of the file judged before them, it returns the `Check` that judges each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, BinaryIO, Protocol

import structlog

from core.money import format_cents
from core.text import is_digits, is_x12_id, shown

from .acks import NextNumber, functional_ack_interchanges, partner_key, reply_address, reply_key, ta1_interchanges
from .advice import Check, Finding, PaymentVerdict, advice_824_body, judge, refusal_errors
from .guide import ISA_QUALIFIERS, RECEIVER_ID, RECEIVER_QUALIFIER
from .limits import DEFAULT_LIMITS, Limits
from .payments import Payment
from .results import AK5_TEXT, AK9_TEXT, TA1_TEXT, FileResult, GroupHeader, GroupResult, InterchangeResult, SetResult
from .store import EdiStore
from .validate import file_digest, validate_stream, with_problem
from .writer import FunctionalGroup, Interchange

__all__ = [
    "acknowledge_file", "acknowledge", "Outcome", "SetOutcome", "Judgement", "Report", "AccountChecks", "Books", "Savepoint",
    "DOCUMENT_KINDS", "report_name", "set_line",
]

log = structlog.get_logger("edi.pipeline")

#: Kinds of document written for an inbound file, in the order they are sent.
DOCUMENT_KINDS = ("ta1", "997", "824")

#: Given the payments about to be judged (file order) and the (sender, trace) of the production
#: sets of the file judged before them: the check that needs account data.
AccountChecks = Callable[[Sequence[Payment], Collection[tuple[str, str]]], Check]


class Savepoint(Protocol):
    """A nested transaction of the books (SQLAlchemy's `NestedTransaction` is one)."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Books(Protocol):
    """Where each judged payment goes as its set closes: the ledger, through `carm.intake`."""

    def post(self, payment: Payment, verdict: PaymentVerdict) -> list[Any]:
        """Post one judged payment; what was posted (the ledger's `PostedPayment`s)."""

    def savepoint(self) -> Savepoint:
        """Begin a savepoint: what is posted after it can be rolled back to it."""


@dataclass(frozen=True, slots=True)
class Judgement:
    """What is kept of a payment's verdict once the payment is posted and let go (decision E25):
    the 824 set that answers it and what the file's report says of it.

    Attributes:
        code: OTI01 — `TA` accepted, `TE` lines set aside, `TR` refused.
        refusals: the set-level findings (a refused set's AK3/AK4 in the 997, decision E18).
        suspense_cents: money accepted but not applied: the lines set aside.
        advice: the body of the 824 set answering it (BGN, OTI loops), without ST/SE.
        summary: the payment's part of `SetOutcome.summary()`.
    """

    code: str
    refusals: tuple[Finding, ...]
    suspense_cents: int
    advice: tuple[tuple[str, ...], ...]
    summary: dict = field(hash=False, compare=False)

    @property
    def duplicate(self) -> bool:
        return any(f.code == "006" for f in self.refusals)

    @classmethod
    def of(cls, verdict: PaymentVerdict, group: GroupHeader, at: datetime) -> Judgement:
        payment = verdict.payment
        applied = len(verdict.applicable_lines)
        advice = advice_824_body(verdict, group_sender=group.sender_code, group_receiver=group.receiver_code,
                                 group_date=group.date, group_time=group.time, group_control=group.control_number, at=at)
        summary = dict(
            trace=payment.trace,
            kind=payment.kind,
            payer=payment.payer_bn9,
            total=format_cents(payment.total_cents),
            lines=len(payment.lines),
            applied=applied,
            set_aside=len(payment.lines) - applied,
            suspense=format_cents(verdict.suspense_cents),
            findings=[f"{f.code} {f.message}" for f in verdict.refusals]
            + [f"line {lv.line.number}: {f.code} {f.message}" for lv in verdict.lines_with_findings for f in lv.findings],
        )
        return cls(verdict.code, verdict.refusals, verdict.suspense_cents, tuple(advice), summary)


@dataclass(frozen=True, slots=True)
class SetOutcome:
    """One transaction set after every EDI stage.

    Attributes:
        interchange / group / result: where it sits and what syntax found (its payment
            let go: `result.payload` is None).
        verdict: what the business judging (824) of a syntactically accepted 820 decided,
            else None.
    """

    interchange: InterchangeResult
    group: GroupResult
    result: SetResult
    verdict: Judgement | None

    @property
    def accepted(self) -> bool:
        """Whether the set's 997 is positive: envelope, group and set accepted (a refusal decided
        before the 997 rejects the set there, so this is the proof of payment, memo §30)."""
        return self.interchange.usable and self.group.ack_code != "R" and self.result.accepted

    def summary(self) -> dict:
        ic, group, st, verdict = self.interchange, self.group, self.result, self.verdict
        row: dict = {
            "interchange": ic.control_number,
            "sender": partner_key(ic),
            "group": group.control_number,
            "set": st.control_number,
            "set_id": st.set_id,
            "usage": ic.usage,
            "ta1": ic.ta1_ack if ic.needs_ta1 else None,
            "ta1_code": ic.ta1_code,
            "ak9": group.ack_code if ic.usable else None,
            "ak5": st.ack_code if ic.usable else None,
            "ak5_codes": list(st.codes),
            "segment_errors": len(st.errors),
            "advice": verdict.code if verdict else None,
        }
        if st.errors:
            first = st.errors[0]
            detail = first.elements[0].message if first.elements else first.message
            # a pyx12 message quotes the bad value whole, which may be a megabyte
            row["first_error"] = f"{first.segment_id} at {first.position}: {detail if len(detail) <= 200 else detail[:200] + '…'}"
        elif st.codes:
            row["first_error"] = AK5_TEXT.get(st.codes[0], st.codes[0])
        elif group.codes:
            row["first_error"] = AK9_TEXT.get(group.codes[0], group.codes[0])
        if verdict is not None:
            row.update(verdict.summary)
        return row

    def summary_line(self, *, dry_run: bool = False) -> str:
        """One line for people; `dry_run` words what would happen rather than what happened."""
        return set_line(self.summary(), dry_run=dry_run)


def set_line(s: dict, *, dry_run: bool = False) -> str:
    """A set's `SetOutcome.summary()` as one line for people (also from a stored `Report`)."""
    parts = [f"ISA {s['interchange']}", f"GS {s['group']}", f"ST {s['set_id']} {s['set']}"]
    if s["ta1_code"] != "000":
        parts.append(f"interchange rejected (TA1 R {s['ta1_code']}): not acknowledged by 997, not posted")
        return " | ".join(parts)
    parts.append(f"997 {s['ak5']}")
    if s["ak5_codes"]:
        parts[-1] += "(" + ",".join(s["ak5_codes"]) + ")"
    if s["ak9"] != "A":
        parts.append(f"AK9 {s['ak9']}")
    if s["advice"]:
        parts.append(f"824 {s['advice']}")
        verb = "to apply" if dry_run else "applied"
        parts.append(f"trace {s['trace']} {s['kind']} {s['total']} CAD, {s['applied']}/{s['lines']} lines {verb}")
        if s["suspense"] != "0.00":
            parts.append(f"{'to suspense' if dry_run else 'suspense'} {s['suspense']}")
    if s.get("first_error"):
        parts.append(s["first_error"])
    elif s.get("findings"):
        parts.append(s["findings"][0])
    if s["usage"] == "T":
        parts.append("test interchange: not posted")
    return " | ".join(parts)


@dataclass(frozen=True, slots=True)
class Report:
    """What is said of a file in words: its exit code, its envelope problems, one summary per set.
    Kept with the answers, so that a replay of the same bytes says what the first receipt said
    without validating anything (decision E27).

    Attributes:
        exit_code: 0 every set accepted; 1 something rejected or set aside; 2 nothing could be
            read or answered.
        envelope: one line per interchange rejected at the envelope, and per reader problem.
        sets: `SetOutcome.summary()` of each set, in file order.
        accepted: whether each set's 997 is positive, in the same order.
    """

    exit_code: int
    envelope: tuple[str, ...]
    sets: tuple[dict, ...]
    accepted: tuple[bool, ...]

    @classmethod
    def of(cls, result: FileResult, sets: Sequence[SetOutcome]) -> Report:
        return cls(_exit_code(result, sets), tuple(_envelope_lines(result)), tuple(s.summary() for s in sets),
                   tuple(s.accepted for s in sets))

    def lines(self, *, dry_run: bool = False, accepted: bool | None = None) -> list[str]:
        """`set_line` of each set — of the accepted ones or the others only, when `accepted` says."""
        return [set_line(row, dry_run=dry_run) for row, ok in zip(self.sets, self.accepted, strict=True)
                if accepted is None or ok == accepted]

    def to_json(self) -> str:
        return json.dumps({"exit_code": self.exit_code, "envelope": list(self.envelope), "sets": list(self.sets),
                           "accepted": list(self.accepted)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Report:
        data = json.loads(text)
        return cls(data["exit_code"], tuple(data["envelope"]), tuple(data["sets"]), tuple(data["accepted"]))


def _exit_code(result: FileResult, sets: Sequence[SetOutcome]) -> int:
    interchanges = result.interchanges
    if not interchanges or not any(ic.usable for ic in interchanges):
        return 2
    if any(not ic.usable for ic in interchanges):
        return 1
    if any(group.ack_code != "A" for ic in interchanges for group in ic.groups):
        return 1
    if any(s.result.ack_code != "A" or (s.verdict is not None and s.verdict.code != "TA") for s in sets):
        return 1
    return 0


def _envelope_lines(result: FileResult) -> list[str]:
    lines = [f"file: {p.message} ({p.where})" for p in result.problems]
    for ic in result.interchanges:
        if not ic.usable:
            lines.append(
                f"ISA {shown(ic.control_number, 9)} from {shown(partner_key(ic), 18)} | TA1 R {ic.ta1_code} "
                f"{TA1_TEXT.get(ic.ta1_code, '')}: {ic.ta1_message}"
            )
    return lines


@dataclass(frozen=True, slots=True)
class Outcome:
    """A file after the EDI stages.

    Attributes:
        name: the file's name as received.
        result: what validation found (on a replay, only the digest and size: nothing is validated).
        sets: every set with its verdict (on a replay, none: the `report` says what they were).
        documents: kind (`ta1`, `997`, `824`) → (file name, bytes) to send back.
        replayed: True when these documents were first written for an earlier
            receipt of the same bytes.
        report: what is said of the file in words (on a replay, the first receipt's).
    """

    name: str
    result: FileResult
    sets: tuple[SetOutcome, ...]
    documents: dict[str, tuple[str, bytes]]
    replayed: bool
    report: Report

    @property
    def exit_code(self) -> int:
        """0 every set accepted; 1 something rejected or set aside; 2 nothing could be read or answered."""
        return self.report.exit_code

    def envelope_lines(self) -> list[str]:
        """One line per interchange rejected at the envelope, and per reader problem."""
        return list(self.report.envelope)


def _storable(ic: InterchangeResult) -> bool:
    """Whether the interchange's (sender, ISA13) can be a key of the store: a valid qualifier, an ID
    a partner can be registered with, nine ASCII digits (anything else was answered TA1 005/006/018)."""
    return ic.sender[0] in ISA_QUALIFIERS and is_x12_id(ic.sender[1]) and is_digits(ic.control_number, 9, 9)


class _Judge:
    """The `SetSink` of one file: each set judged as it closes, posted to the `books`, and let go.

    A set is judged when syntax accepted it and built its payment, unless its envelope or group
    is already rejected.  Its group and interchange may still be rejected after it closed (a
    trailer, a stray segment, the sender, a control number another file brought): what was
    judged and posted inside them is then rolled back to the savepoint taken before it, so only
    sets of accepted groups of usable interchanges stay judged and posted (decision E26).
    `record`: interchanges are checked against, and recorded in, the store (not on a replay)."""

    def __init__(self, *, store: EdiStore, digest: str, at: datetime, account_checks: AccountChecks | None, books: Books | None,
                 sender: str | None, limits: Limits, record: bool = True) -> None:
        self._store, self._digest, self._at = store, digest, at
        self._account_checks, self._books, self._sender, self._limits, self._record = account_checks, books, sender, limits, record
        self.judgements: dict[int, Judgement] = {}  # by the file index of the ST
        self.posted: dict[int, list[Any]] = {}
        self.interchanges: list[InterchangeResult] = []  # settled, with the store's checks
        self._earlier: dict[tuple[str, str], int] = {}  # (sender, trace) of production sets judged → ST index
        self._group_sets: list[int] = []  # judged in the open group
        self._ic_sets: list[int] = []  # judged in the accepted groups of the open interchange
        self._group_scope: Savepoint | None = None
        self._ic_scope: Savepoint | None = None

    def set_closed(self, group: GroupHeader, st: SetResult, rejected: bool) -> SetResult:
        payment = st.payload
        if payment is not None:
            st = replace(st, payload=None)
        if rejected or not st.accepted or not isinstance(payment, Payment):
            return st
        checks = [self._account_checks([payment], self._earlier.keys())] if self._account_checks is not None else []
        verdict = judge(payment, checks, max_payment_cents=self._limits.max_payment_cents)
        if not payment.source.test and not verdict.duplicate:
            self._earlier.setdefault((payment.source.sender, payment.trace), st.file_index)
        if self._books is not None:
            if self._ic_scope is None:
                self._ic_scope = self._books.savepoint()
            if self._group_scope is None:
                self._group_scope = self._books.savepoint()
            self.posted[st.file_index] = self._books.post(payment, verdict)
        self.judgements[st.file_index] = Judgement.of(verdict, group, self._at)
        self._group_sets.append(st.file_index)
        return st

    def group_closed(self, group: GroupResult) -> None:
        if group.ack_code == "R":
            self._undo(self._group_sets, self._group_scope)
        else:
            if self._group_scope is not None:
                self._group_scope.commit()
            self._ic_sets += self._group_sets
        self._group_sets, self._group_scope = [], None

    def interchange_settled(self, ic: InterchangeResult) -> None:
        ic = self._checked(ic)
        if ic.usable:
            if self._ic_scope is not None:
                self._ic_scope.commit()
        else:
            self._undo(self._ic_sets, self._ic_scope)
        self._ic_sets, self._ic_scope = [], None
        self.interchanges.append(ic)

    def _undo(self, sets: list[int], scope: Savepoint | None) -> None:
        """Forget the judging and posting of `sets`: their group or interchange is rejected."""
        if scope is not None:
            scope.rollback()
        gone = set(sets)
        for index in gone:
            self.judgements.pop(index, None)
            self.posted.pop(index, None)
        self._earlier = {key: index for key, index in self._earlier.items() if index not in gone}

    def _checked(self, ic: InterchangeResult) -> InterchangeResult:
        """TA1 006 for an interchange whose ISA05/ISA06 is not the partner whose folder it came from;
        TA1 025 for one whose (sender, ISA13) another file already brought (else it is recorded)."""
        if self._sender is not None and partner_key(ic) != self._sender:
            ic = with_problem(ic, "006", f"ISA05/ISA06 {shown(partner_key(ic), 18)} is not {self._sender}, the partner this file came from")
        if not self._record or not _storable(ic):  # rejected at the envelope already; nothing of it reaches the store
            return ic
        other = self._store.interchange_seen(partner_key(ic), ic.control_number, self._digest)
        if other is not None:
            ic = with_problem(ic, "025", f"interchange {ic.control_number} was already received in file {other[:12]}")
        elif ic.usable:
            self._store.record_interchange(partner_key(ic), ic.control_number, self._digest, self._at)
        return ic

    def finish(self, result: FileResult) -> tuple[FileResult, tuple[SetOutcome, ...]]:
        """The file as judged: each refused set rejected in the 997 too (a positive 997 is the proof
        of payment, memo D17-5-1 §30), its refusals as AK3/AK4 within the notes the file has left."""
        room = [max(self._limits.max_file_errors - sum(len(st.errors) for ic in self.interchanges for g in ic.groups for st in g.sets), 0)]
        interchanges, outcomes = [], []
        for ic in self.interchanges:
            groups = []
            for group in ic.groups:
                sets = tuple(_with_refusals(st, self.judgements.get(st.file_index), self._limits, room) for st in group.sets)
                groups.append(replace(group, sets=sets))
            folded = replace(ic, groups=tuple(groups))
            interchanges.append(folded)
            outcomes += [SetOutcome(folded, group, st, self.judgements.get(st.file_index)) for group in folded.groups for st in group.sets]
        return replace(result, interchanges=tuple(interchanges)), tuple(outcomes)


def _judge_whole(judge_: _Judge, result: FileResult) -> None:
    """Hand a file validated whole to the judge, set by set, as the validator would have."""
    for ic in result.interchanges:
        groups = []
        for group in ic.groups:
            rejected = bool(ic.envelope_problems or group.codes)
            sets = tuple(judge_.set_closed(group.header, st, rejected) for st in group.sets)
            groups.append(replace(group, sets=sets))
            judge_.group_closed(groups[-1])
        judge_.interchange_settled(replace(ic, groups=tuple(groups)))


def _with_refusals(st: SetResult, verdict: Judgement | None, limits: Limits, room: list[int]) -> SetResult:
    """The set rejected for its refusals, their AK3 notes within the set's and the file's limits
    (`room` holds the file's notes left, spent here)."""
    if verdict is None or not verdict.refusals:
        return st
    notes = refusal_errors(verdict.refusals)[: max(min(limits.max_set_errors - len(st.errors), room[0]), 0)]
    room[0] -= len(notes)
    errors = tuple(sorted((*st.errors, *notes), key=lambda e: (e.position, e.code)))
    return replace(st, errors=errors, codes=tuple(sorted({*st.codes, "5"}, key=int)))


def _advice_interchanges(sets: Sequence[SetOutcome], next_number: NextNumber, at: datetime, sender: str | None) -> list[Interchange]:
    out: list[Interchange] = []
    current: tuple[InterchangeResult, Interchange] | None = None
    for s in sets:
        if s.verdict is None:
            continue
        ic, gs = s.interchange, s.group
        if current is None or current[0] is not ic:
            key = reply_key(ic, sender)
            outbound = Interchange(
                sender=(RECEIVER_QUALIFIER, RECEIVER_ID),
                receiver=reply_address(ic, sender),
                control_number=next_number(key, "ISA"),
                at=at,
                usage=ic.usage,
            )
            outbound.groups.append(FunctionalGroup("AG", RECEIVER_ID, gs.sender_code, next_number(key, "GS")))
            out.append(outbound)
            current = (ic, outbound)
        current[1].groups[-1].sets.append(("824", list(s.verdict.advice)))
    return out


#: Bytes of the inbound name an answer's name keeps: with `.<8 hex>.<kind>.x12` and the
#: `.<name>.<8 hex>.part` of an atomic write, an answer stays within a file system's 255 bytes.
NAME_BYTES = 200


def _base(name: str) -> str:
    """The inbound name as answers carry it: whole, or its first `NAME_BYTES` bytes (on a character
    boundary; the digest that follows keeps answers to different files apart, decision O2)."""
    data = name.encode("utf-8", "surrogateescape")
    return name if len(data) <= NAME_BYTES else data[:NAME_BYTES].decode("utf-8", "ignore")


def _answer_name(name: str, digest: str, kind: str) -> str:
    """`<inbound name>.<first 8 of its SHA-256>.<997|ta1|824>.x12`: beside the file it answers, and
    distinct when an FI reuses a file name for new content (decision O2)."""
    return f"{_base(name)}.{digest[:8]}.{kind}.x12"


def report_name(name: str, what: str) -> str:
    """`<inbound name>.<what>.txt`: a report in words about an inbound file (one that could not be
    read, a stray the engine will not take)."""
    return f"{_base(name)}.{what}.txt"


def acknowledge_file(
    stream: BinaryIO,
    name: str,
    *,
    store: EdiStore,
    at: datetime,
    account_checks: AccountChecks | None = None,
    books: Books | None = None,
    sender: str | None = None,
    channel: str = "",
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Validate, acknowledge and judge one inbound file read from a seekable `stream`, with memory
    of the largest set: the bytes are hashed first — the same bytes already answered on `channel`
    are answered again from the store, nothing validated — then validated, each set judged and
    handed to `books` (when given) as it closes.  The arguments are `acknowledge`'s."""
    start = stream.tell()
    hashed = file_digest(stream, limits)
    if not hashed.digest:  # too large: what `validate_stream` says of it
        return acknowledge(hashed, name, store=store, at=at, sender=sender, channel=channel, limits=limits)
    stored = store.documents(channel, hashed.digest)
    report = store.report(channel, hashed.digest) if stored else None
    if report is not None:
        return _replay(hashed, name, stored, Report.from_json(report))
    stream.seek(start)
    judge_ = _Judge(store=store, digest=hashed.digest, at=at, account_checks=account_checks, books=None if stored else books,
                    sender=sender, limits=limits, record=not stored)
    result = validate_stream(stream, limits=limits, progress=progress, sink=judge_, digest=hashed.digest)
    return _answer(judge_, result, name, store=store, at=at, sender=sender, channel=channel, stored=stored)


def _document_numbers(store: EdiStore) -> NextNumber:
    """Control numbers for one outbound document: each ISA13 distinct within it, even when two
    partners' sequences meet in one file (a number already used is drawn again)."""
    used: set[int] = set()

    def next_number(partner: str, kind: str) -> int:
        number = store.next_control_number(partner, kind)
        if kind == "ISA":
            while number in used:
                number = store.next_control_number(partner, kind)
            used.add(number)
        return number

    return next_number


def acknowledge(
    result: FileResult,
    name: str,
    *,
    store: EdiStore,
    at: datetime,
    account_checks: AccountChecks | None = None,
    books: Books | None = None,
    sender: str | None = None,
    channel: str = "",
    limits: Limits = DEFAULT_LIMITS,
) -> Outcome:
    """Acknowledge and judge one file validated whole; keep and return the documents.

    `channel` names where the file came from (the partner's folder; '' by hand): the answers are
    kept for it and the file's digest, so the same bytes from elsewhere are judged on their own.
    `at` is the processing time written in the outbound envelopes; `sender`, when known
    (the SFTP account the file came from), is the only `ISA05:ISA06` its interchanges may
    carry; `books`, when given, takes each judged payment (`Books`).
    """
    stored = store.documents(channel, result.digest)
    report = store.report(channel, result.digest) if stored else None
    if report is not None:
        return _replay(result, name, stored, Report.from_json(report))
    judge_ = _Judge(store=store, digest=result.digest, at=at, account_checks=account_checks, books=None if stored else books,
                    sender=sender, limits=limits, record=not stored)
    _judge_whole(judge_, result)
    return _answer(judge_, result, name, store=store, at=at, sender=sender, channel=channel, stored=stored)


def _replay(result: FileResult, name: str, stored: dict[str, tuple[str, bytes]], report: Report,
            sets: tuple[SetOutcome, ...] = ()) -> Outcome:
    """The same bytes again: the answers and the report first kept for them, under this upload's
    name (so the FI finds them beside its file); nothing judged or posted anew (the ledger is
    idempotent on the digest too)."""
    log.bind(file=name, digest=result.digest[:16], size=result.size).info("file.replayed", documents=sorted(stored))
    renamed = {kind: (_answer_name(name, result.digest, kind), content) for kind, (_, content) in stored.items()}
    return Outcome(name, result, sets, renamed, True, report)


def _answer(judge_: _Judge, result: FileResult, name: str, *, store: EdiStore, at: datetime, sender: str | None, channel: str,
            stored: dict[str, tuple[str, bytes]]) -> Outcome:
    """The judged file's TA1, 997 and 824, written and kept with its report — or, for bytes
    answered before reports were kept (`stored`, migration 0014), the report alone."""
    result, sets = judge_.finish(result)
    if stored:
        report = Report.of(result, sets)
        store.save_report(channel, result.digest, report.to_json(), at)
        return _replay(result, name, stored, report, sets)
    bound = log.bind(file=name, digest=result.digest[:16], size=result.size)
    ta1: list[Interchange] = []
    fa: list[Interchange] = []
    ta1_numbers, fa_numbers = _document_numbers(store), _document_numbers(store)
    for ic in result.interchanges:
        ta1 += ta1_interchanges(ic, ta1_numbers, at, sender)
        fa += functional_ack_interchanges(ic, fa_numbers, at, sender)
    ag = _advice_interchanges(sets, _document_numbers(store), at, sender)

    report = Report.of(result, sets)
    documents: dict[str, tuple[str, bytes]] = {}
    for sequence, (kind, interchanges) in enumerate((("ta1", ta1), ("997", fa), ("824", ag))):
        if interchanges:
            content = b"".join(i.render() for i in interchanges)
            doc_name = _answer_name(name, result.digest, kind)
            store.save_document(channel, result.digest, kind, doc_name, content, sequence, at)
            documents[kind] = (doc_name, content)
    if documents:
        store.save_report(channel, result.digest, report.to_json(), at)

    for ic in result.interchanges:
        bound.info(
            "interchange.acknowledged",
            isa13=ic.control_number,
            sender=partner_key(ic),
            ta1=ic.ta1_code,
            groups=len(ic.groups),
            reason=ic.ta1_message or None,
        )
    for s in sets:
        bound.info("set.judged", **{k: v for k, v in s.summary().items() if k not in ("findings",)})
    for problem in result.problems:
        bound.warning("file.problem", code=problem.code, message=problem.message, where=problem.where)
    return Outcome(name, result, sets, documents, False, report)
