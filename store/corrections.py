"""Correction requests in the database: recorded, reviewed, and approved as one adjusting entry
(`ledger.corrections`).

`approve` locks the account, reads the request again, and writes the adjusting entry keyed by
the request inside a savepoint: a second approval — after, or at the same time in another
process — finds the request approved, or the key taken, and posts nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.exc import IntegrityError

from core.problems import Problem
from ledger.corrections import (
    Charge,
    CorrectionKind,
    CorrectionRequest,
    CorrectionStatus,
    correction_key,
    plan_correction,
    rejection_notice,
    request_problem,
    review_problem,
)
from ledger.errors import IdempotencyConflict
from ledger.model import Account, Item, Reason

from .journal import _item, lock_accounts, record_notices, write_plan
from .schema import ar_item, correction_request, journal_entry, journal_line, program_account

__all__ = ["find_charge", "request", "approve", "reject", "requests", "find_request"]

_CHARGE_ACCOUNTS = {CorrectionKind.PENALTY: Account.PENALTY, CorrectionKind.INTEREST: Account.INTEREST, CorrectionKind.FEE: Account.FEE}


def find_charge(conn: Connection, rm15: str, entry_key: str) -> Charge | Problem:
    """The penalty, interest or fee the entry `entry_key` charged to `rm15`, with what is left of it."""
    entry = conn.execute(select(journal_entry.c.id, journal_entry.c.entry_date).where(journal_entry.c.key == entry_key)).first()
    if entry is None:
        return Problem("not-found", f"no journal entry {entry_key}", rm15)
    kinds = [k.value for k in CorrectionKind]
    charged = conn.execute(
        select(ar_item.c.id, func.sum(journal_line.c.debit_cents))
        .join(ar_item, ar_item.c.id == journal_line.c.item_id)
        .where(journal_line.c.entry_id == entry.id, journal_line.c.account == Account.AR, journal_line.c.rm15 == rm15,
               journal_line.c.debit_cents > 0, ar_item.c.kind.in_(kinds))
        .group_by(ar_item.c.id)
    ).all()
    if len(charged) != 1:
        what = "no penalty, interest or fee" if not charged else "more than one charge"
        return Problem("not-correctable", f"entry {entry_key} put {what} on {rm15}", rm15, "D17-R18")
    item_id, charged_cents = int(charged[0][0]), int(charged[0][1])
    row = conn.execute(select(ar_item).where(ar_item.c.id == item_id)).one()
    item_balance = conn.execute(
        select(func.coalesce(func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents), 0))
        .where(journal_line.c.item_id == item_id, journal_line.c.account == Account.AR)
    ).scalar_one()
    item: Item = _item(row, int(item_balance))
    corrected = conn.execute(
        select(func.coalesce(func.sum(journal_line.c.debit_cents), 0))
        .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
        .where(journal_entry.c.reverses == entry.id, journal_entry.c.reason == Reason.CORRECTION,
               journal_line.c.account == _CHARGE_ACCOUNTS[CorrectionKind(item.kind)])
    ).scalar_one()
    return Charge(int(entry.id), entry_key, entry.entry_date, item, charged_cents, int(corrected))


def _request(row) -> CorrectionRequest:
    return CorrectionRequest(
        id=int(row.id), rm15=row.rm15, entry_key=row.entry_key, item_key=row.item_key, kind=row.kind, amount_cents=int(row.amount_cents),
        reason=row.reason, requested_by=row.requested_by, requested_at=row.requested_at, status=row.status,
        reviewed_by=row.reviewed_by, reviewed_at=row.reviewed_at, review_note=row.review_note, adjusting_entry_key=row.adjusting_key,
    )


def _query():
    corrected = journal_entry.alias("corrected")
    adjusting = journal_entry.alias("adjusting")
    return (
        select(correction_request, corrected.c.key.label("entry_key"), ar_item.c.key.label("item_key"), adjusting.c.key.label("adjusting_key"))
        .join(corrected, corrected.c.id == correction_request.c.entry_id)
        .join(ar_item, ar_item.c.id == correction_request.c.item_id)
        .outerjoin(adjusting, adjusting.c.id == correction_request.c.adjusting_entry_id)
    )


def requests(conn: Connection, *, rm15: str | None = None, status: str | None = None) -> list[CorrectionRequest]:
    """Correction requests, oldest first, of one account and in one status when asked."""
    query = _query().order_by(correction_request.c.id)
    if rm15 is not None:
        query = query.where(correction_request.c.rm15 == rm15)
    if status is not None:
        query = query.where(correction_request.c.status == status)
    return [_request(r) for r in conn.execute(query)]


def find_request(conn: Connection, request_id: int) -> CorrectionRequest | Problem:
    row = conn.execute(_query().where(correction_request.c.id == request_id)).first()
    return _request(row) if row is not None else Problem("not-found", f"no correction request {request_id}")


def request(conn: Connection, rm15: str, entry_key: str, amount_cents: int | None, *, reason: str, by: str,
            at: datetime) -> CorrectionRequest | Problem:
    """Record a request to correct what `entry_key` charged to `rm15` (all it still carries when
    `amount_cents` is None); the request, or why it cannot be recorded."""
    if conn.execute(select(program_account.c.rm15).where(program_account.c.rm15 == rm15)).first() is None:
        return Problem("not-found", f"no program account {rm15}", rm15)
    charge = find_charge(conn, rm15, entry_key)
    if isinstance(charge, Problem):
        return charge
    amount = charge.carried_cents if amount_cents is None else amount_cents
    problem = request_problem(charge, amount, reason, by)
    if problem:
        return problem
    request_id = conn.execute(
        correction_request.insert().values(
            rm15=rm15, entry_id=charge.entry_id, item_id=charge.item.id, kind=charge.kind.value, amount_cents=amount, reason=reason,
            requested_by=by, requested_at=at, status=CorrectionStatus.REQUESTED,
        ).returning(correction_request.c.id)
    ).scalar_one()
    return find_request(conn, int(request_id))


def _reviewed(conn: Connection, request_id: int, status: str, by: str, at: datetime, note: str | None, entry_id: int | None) -> bool:
    """Mark the request reviewed unless someone else did meanwhile; whether this call did."""
    done = conn.execute(
        update(correction_request)
        .where(and_(correction_request.c.id == request_id, correction_request.c.status == CorrectionStatus.REQUESTED))
        .values(status=status, reviewed_by=by, reviewed_at=at, review_note=note, adjusting_entry_id=entry_id)
    )
    return done.rowcount == 1


def approve(conn: Connection, request_id: int, *, by: str, day: date, at: datetime, note: str | None = None) -> CorrectionRequest | Problem:
    """Approve a request: its adjusting entry, posted once; the request, or why not."""
    found = find_request(conn, request_id)
    if isinstance(found, Problem):
        return found
    lock_accounts(conn, [found.rm15])  # concurrent approvals of the account's requests wait here, then see this one
    found = find_request(conn, request_id)
    problem = review_problem(found, by)
    if problem:
        return problem
    charge = find_charge(conn, found.rm15, found.entry_key)
    if isinstance(charge, Problem):
        return charge
    plan = plan_correction(found, charge, day=day)
    if isinstance(plan, Problem):
        return plan
    key = correction_key(found.id)
    savepoint = conn.begin_nested()
    try:
        written = write_plan(conn, plan, at)
    except (IntegrityError, IdempotencyConflict):
        written = None
    if written is None or key not in written.entry_ids or not _reviewed(
            conn, found.id, CorrectionStatus.APPROVED, by, at, note, written.entry_ids[key]):
        savepoint.rollback()  # approved meanwhile, by another officer or process: nothing posted here
        again = find_request(conn, request_id)
        meanwhile = Problem("already-reviewed", f"correction {request_id} was reviewed meanwhile", f"correction {request_id}")
        return (review_problem(again, by) if isinstance(again, CorrectionRequest) else None) or meanwhile
    savepoint.commit()
    return find_request(conn, request_id)


def reject(conn: Connection, request_id: int, *, by: str, day: date, at: datetime, note: str) -> CorrectionRequest | Problem:
    """Reject a request, with the reason told to the holder; nothing is posted."""
    found = find_request(conn, request_id)
    if isinstance(found, Problem):
        return found
    problem = review_problem(found, by)
    if problem:
        return problem
    if not note.strip():
        return Problem("not-reviewed", "a rejection needs its reason (told to the holder, Annex E §3)", f"correction {request_id}")
    if not _reviewed(conn, found.id, CorrectionStatus.REJECTED, by, at, note, None):
        return Problem("already-reviewed", f"correction {request_id} was reviewed meanwhile", f"correction {request_id}")
    record_notices(conn, [rejection_notice(found, day=day, note=note)])
    return find_request(conn, request_id)
