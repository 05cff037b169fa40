"""Corrections of interest, penalties and fees (D17-R18, memo §17–19, Annex E), as adjusting entries.

A holder asks that a charge be corrected — the late-payment penalty, the interest or the
administrative fee an entry put on its account — saying how much and why (Annex E §1: « une
explication à propos du rajustement demandé ainsi qu'une justification »).  An officer other
than the one who recorded the request reviews it (§2: « L'ASFC examinera et analysera la
demande »), and either rejects it or approves it; approved, « l'Agence effectuera les
rajustements nécessaires » — here one adjusting entry, never an edit of the charge:

* it debits the charge's own account (PENALTY, INTEREST, FEE) and credits the charged item for
  what of it is still open;
* what of the corrected amount was already paid is an overpayment: it becomes a credit on the
  account (§19: « en cas de trop perçu, un crédit sera appliqué au compte de douane »), a new
  `credit` item, offset or disbursed like any other (D17-R10…R13);
* the entry names the entry it corrects (`Entry.reverses`) and is keyed by the request
  (`correction:<id>`), so approving twice, or in two processes at once, posts it once.

A correction never takes back more than the corrected entry still carries: what it charged,
less what earlier corrections of it took back (a penalty is not reversed twice).  Either way
the holder is told (Annex E §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from core.clock import EASTERN
from core.problems import Problem

from .model import Account, Entry, Item, ItemKind, JournalLine, NewItem, Notice, NoticeKind, Plan, Reason

__all__ = [
    "CorrectionKind", "CorrectionStatus", "Charge", "CorrectionRequest", "correction_key",
    "request_problem", "review_problem", "plan_correction", "rejection_notice",
]


class CorrectionKind(StrEnum):
    """What a correction is about: the charge kinds Annex E names (« intérêts », « sanctions »)
    and the administrative fee of D17-R34, charged the same way."""

    PENALTY = "penalty"
    INTEREST = "interest"
    FEE = "fee"


class CorrectionStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


#: The account each kind of charge was credited to, which its correction debits.
_CHARGE_ACCOUNTS = {CorrectionKind.PENALTY: Account.PENALTY, CorrectionKind.INTEREST: Account.INTEREST, CorrectionKind.FEE: Account.FEE}


@dataclass(frozen=True, slots=True)
class Charge:
    """A charge one journal entry put on one program account, and what is left of it.

    Attributes:
        entry_id / entry_key / entry_day: the entry that charged it.
        item: the charged item (penalty, interest or fee), with its balance now.
        charged_cents: what the entry debited to the item.
        corrected_cents: what approved corrections of the entry took back.
    """

    entry_id: int
    entry_key: str
    entry_day: date
    item: Item
    charged_cents: int
    corrected_cents: int

    @property
    def kind(self) -> CorrectionKind:
        return CorrectionKind(self.item.kind)

    @property
    def carried_cents(self) -> int:
        """What a correction may still take back."""
        return self.charged_cents - self.corrected_cents


@dataclass(frozen=True, slots=True)
class CorrectionRequest:
    """A request to correct a charge, and its review.

    Attributes:
        id: the request's number (`carm corrections list`).
        rm15 / entry_key / item_key / kind: the account, the entry corrected, its charged item, the kind.
        amount_cents: how much to take back.
        reason / requested_by / requested_at: why, who recorded it, when.
        status: a `CorrectionStatus`.
        reviewed_by / reviewed_at / review_note: the review, once made.
        adjusting_entry_key: the entry an approval posted.
    """

    id: int
    rm15: str
    entry_key: str
    item_key: str
    kind: str
    amount_cents: int
    reason: str
    requested_by: str
    requested_at: datetime
    status: str
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None
    adjusting_entry_key: str | None = None

    @property
    def requested_on(self) -> date:
        return _eastern_day(self.requested_at)

    @property
    def reviewed_on(self) -> date | None:
        return _eastern_day(self.reviewed_at) if self.reviewed_at else None


def _eastern_day(at: datetime) -> date:
    """The Eastern business day of an instant (a naive one is already Eastern wall time, as SQLite keeps it)."""
    return at.astimezone(EASTERN).date() if at.tzinfo else at.date()


def correction_key(request_id: int) -> str:
    """The key of the adjusting entry of request `request_id` (one entry per request)."""
    return f"correction:{request_id}"


def request_problem(charge: Charge, amount_cents: int, reason: str, by: str) -> Problem | None:
    """Why a request to take `amount_cents` back from `charge` cannot be recorded, or None."""
    where = charge.entry_key
    if not reason.strip():
        return Problem("not-requested", "a correction request needs the reason for the adjustment (Annex E §1)", where, "D17-R18")
    if not by.strip():
        return Problem("not-requested", "a correction request needs who makes it", where, "D17-R18")
    if amount_cents <= 0:
        return Problem("not-requested", "the amount to correct must be above zero", where, "D17-R18")
    if amount_cents > charge.carried_cents:
        return _exceeds(charge, amount_cents)
    return None


def _exceeds(charge: Charge, amount_cents: int) -> Problem:
    return Problem("exceeds", f"{amount_cents} cents is more than the {charge.carried_cents} cents entry {charge.entry_key} still "
                   f"carries (charged {charge.charged_cents}, corrected {charge.corrected_cents})", charge.entry_key, "D17-R18")


def review_problem(request: CorrectionRequest, by: str) -> Problem | None:
    """Why `by` may not review `request` now, or None: a request is reviewed once, by someone else."""
    where = f"correction {request.id}"
    if request.status != CorrectionStatus.REQUESTED:
        return Problem("already-reviewed", f"correction {request.id} was already {request.status} by {request.reviewed_by} "
                       f"on {request.reviewed_on}", where)
    if not by.strip():
        return Problem("not-reviewed", "a review needs who makes it", where)
    if by == request.requested_by:
        return Problem("four-eyes", f"{by} recorded correction {request.id}: another officer must review it", where, "D17-R18")
    return None


def plan_correction(request: CorrectionRequest, charge: Charge, *, day: date) -> Plan | Problem:
    """The adjusting entry of an approved request (and the credit for what was already paid), or
    why it cannot be posted (the charge no longer carries the amount)."""
    amount = request.amount_cents
    if amount > charge.carried_cents:
        return _exceeds(charge, amount)
    item, rm15, key = charge.item, request.rm15, correction_key(request.id)
    still_open = min(amount, max(item.balance_cents, 0))
    overpaid = amount - still_open
    plan = Plan()
    lines = [JournalLine(_CHARGE_ACCOUNTS[charge.kind], debit_cents=amount, rm15=rm15)]
    if still_open:
        lines.append(JournalLine(Account.AR, credit_cents=still_open, rm15=rm15, item_key=item.key))
    if overpaid:
        credit = NewItem(key=key, rm15=rm15, kind=ItemKind.CREDIT, posted_on=day, asec=item.asec, agent_bn9=item.agent_bn9,
                         description=f"overpaid {charge.kind} credited by correction {request.id}")
        plan.items.append(credit)
        lines.append(JournalLine(Account.AR, credit_cents=overpaid, rm15=rm15, item_key=credit.key))
    plan.entries.append(Entry(key, day, Reason.CORRECTION, f"correction {request.id} of {charge.entry_key} on {rm15}",
                              tuple(lines), reverses=charge.entry_id))
    plan.notices.append(Notice(f"{NoticeKind.CORRECTION_APPROVED}:{request.id}", day, rm15[:9], rm15, NoticeKind.CORRECTION_APPROVED, {
        "request": request.id, "what": charge.kind.value, "entry": charge.entry_key, "charged_on": str(charge.entry_day),
        "amount_cents": amount, "still_open_cents": still_open, "credit_cents": overpaid, "reason": request.reason,
    }))
    return plan


def rejection_notice(request: CorrectionRequest, *, day: date, note: str) -> Notice:
    """The answer to a rejected request (Annex E §3), with the reviewer's reason."""
    return Notice(f"{NoticeKind.CORRECTION_REJECTED}:{request.id}", day, request.rm15[:9], request.rm15, NoticeKind.CORRECTION_REJECTED, {
        "request": request.id, "what": request.kind, "entry": request.entry_key, "amount_cents": request.amount_cents, "reason": note,
    })
