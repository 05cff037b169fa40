"""One inbound file through the EDI stages: read → validate → 997/TA1 → judge → 824.

`acknowledge_file` runs them all on a byte stream; `acknowledge` runs the stages after
validation on a `FileResult`.  Both return an `Outcome` (results, verdicts, documents) and
never raise on bad input.  What must persist — control numbers, interchanges seen, the
answers — goes through an `edi.store.EdiStore`.  Re-running on the same bytes changes
nothing: the documents first written for a file digest are stored and returned again,
byte for byte.

The checks that need account data come from the caller as `AccountChecks`: given every
payment that will be judged (in file order), it returns the `Check` that judges each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import BinaryIO

import structlog

from core.money import format_cents
from core.text import is_digits, is_x12_id, shown

from .acks import NextNumber, functional_ack_interchanges, partner_key, reply_address, reply_key, ta1_interchanges
from .advice import Check, PaymentVerdict, advice_824_body, judge, refusal_errors
from .guide import ISA_QUALIFIERS, RECEIVER_ID, RECEIVER_QUALIFIER
from .limits import DEFAULT_LIMITS, Limits
from .payments import Payment
from .results import AK5_TEXT, AK9_TEXT, TA1_TEXT, FileResult, GroupResult, InterchangeResult, SetResult
from .store import EdiStore
from .validate import validate_stream, with_problem
from .writer import FunctionalGroup, Interchange

__all__ = ["acknowledge_file", "acknowledge", "Outcome", "SetOutcome", "AccountChecks", "DOCUMENT_KINDS", "report_name"]

log = structlog.get_logger("edi.pipeline")

#: Kinds of document written for an inbound file, in the order they are sent.
DOCUMENT_KINDS = ("ta1", "997", "824")

#: Given every payment that will be judged, in file order: the check that needs account data.
AccountChecks = Callable[[Sequence[Payment]], Check]


@dataclass(frozen=True, slots=True)
class SetOutcome:
    """One transaction set after every EDI stage.

    Attributes:
        interchange / group / result: where it sits and what syntax found.
        verdict: the business verdict (824) for a syntactically accepted 820,
            else None.
    """

    interchange: InterchangeResult
    group: GroupResult
    result: SetResult
    verdict: PaymentVerdict | None

    @property
    def payment(self) -> Payment | None:
        return self.result.payload

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
        payment = self.payment
        if payment is not None and verdict is not None:
            row.update(
                trace=payment.trace,
                kind=payment.kind,
                payer=payment.payer_bn9,
                total=format_cents(payment.total_cents),
                lines=len(payment.lines),
                applied=len(verdict.applicable_lines),
                set_aside=len(payment.lines) - len(verdict.applicable_lines),
                suspense=format_cents(verdict.suspense_cents),
                findings=[f"{f.code} {f.message}" for f in verdict.refusals]
                + [f"line {lv.line.number}: {f.code} {f.message}" for lv in verdict.lines for f in lv.findings],
            )
        return row

    def summary_line(self, *, dry_run: bool = False) -> str:
        """One line for people; `dry_run` words what would happen rather than what happened."""
        s = self.summary()
        parts = [f"ISA {s['interchange']}", f"GS {s['group']}", f"ST {s['set_id']} {s['set']}"]
        if not self.interchange.usable:
            parts.append(f"interchange rejected (TA1 R {self.interchange.ta1_code}): not acknowledged by 997, not posted")
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
class Outcome:
    """A file after the EDI stages.

    Attributes:
        name: the file's name as received.
        result: what validation found.
        sets: every set with its verdict.
        documents: kind (`ta1`, `997`, `824`) → (file name, bytes) to send back.
        replayed: True when these documents were first written for an earlier
            receipt of the same bytes.
    """

    name: str
    result: FileResult
    sets: tuple[SetOutcome, ...]
    documents: dict[str, tuple[str, bytes]]
    replayed: bool

    @property
    def exit_code(self) -> int:
        """0 every set accepted; 1 something rejected or set aside; 2 nothing could be read or answered."""
        interchanges = self.result.interchanges
        if not interchanges or not any(ic.usable for ic in interchanges):
            return 2
        if any(not ic.usable for ic in interchanges):
            return 1
        if any(group.ack_code != "A" for ic in interchanges for group in ic.groups):
            return 1
        if any(s.result.ack_code != "A" or (s.verdict is not None and s.verdict.code != "TA") for s in self.sets):
            return 1
        return 0

    def envelope_lines(self) -> list[str]:
        """One line per interchange rejected at the envelope, and per reader problem."""
        lines = [f"file: {p.message} ({p.where})" for p in self.result.problems]
        for ic in self.result.interchanges:
            if not ic.usable:
                lines.append(
                    f"ISA {shown(ic.control_number, 9)} from {shown(partner_key(ic), 18)} | TA1 R {ic.ta1_code} "
                    f"{TA1_TEXT.get(ic.ta1_code, '')}: {ic.ta1_message}"
                )
        return lines


def _check_cross_file_duplicates(result: FileResult, store: EdiStore, at: datetime) -> FileResult:
    """TA1 025 for an interchange whose (sender, ISA13) another file already brought."""
    checked = []
    for ic in result.interchanges:
        if not _storable(ic):  # rejected at the envelope already; nothing of it reaches the store
            checked.append(ic)
            continue
        other = store.interchange_seen(partner_key(ic), ic.control_number, result.digest)
        if other is not None:
            ic = with_problem(ic, "025", f"interchange {ic.control_number} was already received in file {other[:12]}")
        elif ic.usable:
            store.record_interchange(partner_key(ic), ic.control_number, result.digest, at)
        checked.append(ic)
    return replace(result, interchanges=tuple(checked))


def _storable(ic: InterchangeResult) -> bool:
    """Whether the interchange's (sender, ISA13) can be a key of the store: a valid qualifier, an ID
    a partner can be registered with, nine ASCII digits (anything else was answered TA1 005/006/018)."""
    return ic.sender[0] in ISA_QUALIFIERS and is_x12_id(ic.sender[1]) and is_digits(ic.control_number, 9, 9)


def _check_sender(result: FileResult, sender: str) -> FileResult:
    """TA1 006 for an interchange whose ISA05/ISA06 is not the partner whose folder it came from."""
    checked = []
    for ic in result.interchanges:
        if partner_key(ic) != sender:
            ic = with_problem(ic, "006", f"ISA05/ISA06 {shown(partner_key(ic), 18)} is not {sender}, the partner this file came from")
        checked.append(ic)
    return replace(result, interchanges=tuple(checked))


def _judged(ic: InterchangeResult, group: GroupResult, st: SetResult) -> bool:
    """Whether a set reaches business judging: envelope, group and set accepted, a payment built."""
    return ic.usable and group.ack_code != "R" and st.accepted and isinstance(st.payload, Payment)


def _judge_sets(
    result: FileResult, account_checks: AccountChecks | None, limits: Limits
) -> tuple[FileResult, tuple[SetOutcome, ...]]:
    """Judge every set that passed syntax; a refused set is rejected in the 997 too (a positive
    997 is the proof of payment, memo D17-5-1 §30): its refusals become AK3/AK4 and AK5 `R`."""
    judged = [st.payload for ic, group, st in result.sets() if _judged(ic, group, st)]
    room = [max(limits.max_file_errors - sum(len(st.errors) for _, _, st in result.sets()), 0)]  # AK3 notes the file has left
    checks = [account_checks(judged)] if account_checks is not None and judged else []
    verdicts = {
        st.file_index: judge(st.payload, checks, max_payment_cents=limits.max_payment_cents)
        for ic, group, st in result.sets()
        if _judged(ic, group, st)
    }
    interchanges = []
    outcomes: list[SetOutcome] = []
    for ic in result.interchanges:
        groups = []
        for group in ic.groups:
            sets = tuple(_with_refusals(st, verdicts.get(st.file_index), limits, room) for st in group.sets)
            groups.append(replace(group, sets=sets))
        folded = replace(ic, groups=tuple(groups))
        interchanges.append(folded)
        outcomes += [SetOutcome(folded, group, st, verdicts.get(st.file_index)) for group in folded.groups for st in group.sets]
    return replace(result, interchanges=tuple(interchanges)), tuple(outcomes)


def _with_refusals(st: SetResult, verdict: PaymentVerdict | None, limits: Limits, room: list[int]) -> SetResult:
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
        body = advice_824_body(
            s.verdict,
            group_sender=gs.sender_code,
            group_receiver=gs.receiver_code,
            group_date=gs.date,
            group_time=gs.time,
            group_control=gs.control_number,
            at=at,
        )
        current[1].groups[-1].sets.append(("824", body))
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
    sender: str | None = None,
    channel: str = "",
    limits: Limits = DEFAULT_LIMITS,
) -> Outcome:
    """Validate, acknowledge and judge one inbound file (`acknowledge` after `validate_stream`)."""
    return acknowledge(validate_stream(stream, limits=limits), name, store=store, at=at, account_checks=account_checks,
                       sender=sender, channel=channel, limits=limits)


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
    sender: str | None = None,
    channel: str = "",
    limits: Limits = DEFAULT_LIMITS,
) -> Outcome:
    """Acknowledge and judge one validated file; keep and return the documents.

    `channel` names where the file came from (the partner's folder; '' by hand): the answers are
    kept for it and the file's digest, so the same bytes from elsewhere are judged on their own.
    `at` is the processing time written in the outbound envelopes; `sender`, when known
    (the SFTP account the file came from), is the only `ISA05:ISA06` its interchanges may
    carry.
    """
    if sender is not None:
        result = _check_sender(result, sender)
    bound = log.bind(file=name, digest=result.digest[:16], size=result.size)
    stored = store.documents(channel, result.digest)
    if stored:
        # Same bytes again: same answers, and nothing judged anew (the first
        # receipt's verdicts stand; the ledger is idempotent on the digest).
        result, sets = _judge_sets(result, account_checks, limits)
        bound.info("file.replayed", documents=sorted(stored))
        # the same bytes under this upload's name, so the FI finds them beside its file
        renamed = {kind: (_answer_name(name, result.digest, kind), content) for kind, (_, content) in stored.items()}
        return Outcome(name, result, sets, renamed, True)

    result = _check_cross_file_duplicates(result, store, at)
    result, sets = _judge_sets(result, account_checks, limits)
    ta1: list[Interchange] = []
    fa: list[Interchange] = []
    ta1_numbers, fa_numbers = _document_numbers(store), _document_numbers(store)
    for ic in result.interchanges:
        ta1 += ta1_interchanges(ic, ta1_numbers, at, sender)
        fa += functional_ack_interchanges(ic, fa_numbers, at, sender)
    ag = _advice_interchanges(sets, _document_numbers(store), at, sender)

    documents: dict[str, tuple[str, bytes]] = {}
    for sequence, (kind, interchanges) in enumerate((("ta1", ta1), ("997", fa), ("824", ag))):
        if interchanges:
            content = b"".join(i.render() for i in interchanges)
            doc_name = _answer_name(name, result.digest, kind)
            store.save_document(channel, result.digest, kind, doc_name, content, sequence, at)
            documents[kind] = (doc_name, content)

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
    return Outcome(name, result, sets, documents, False)
