"""Pre-authorized debit agreements (D17-R23 « Débit préautorisé (DPA) ») in the database, and the
collections-day step that debits them (decision L28).

An agreement names one program account, the payer whose bank account is debited, the bank's
reference, and its first and last day (`pad_agreement`); an account has at most one open
agreement.  On a statement's due date, `run_pad_debits` debits, for each account with an
agreement active that day, what that statement still owes (`ledger.posting.statement_balances`:
its open debts posted by the end of the period), once per account and period, posted by the
820's posting (method `PAD`, electronic: no administrative fee) — before that day's collections
judge penalties, so a debited statement draws none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, select, update

from core.problems import Problem
from ledger.calendar import billed_by_calendar_month
from ledger.channels import PAD_CHANNEL, PadAgreement, pad_debit, statement_due_on
from ledger.policy import Policy
from ledger.posting import PostedPayment, statement_balances
from ledger.snapshot import Snapshot

from .channels import judge_channel_payment, post_channel_payment
from .journal import lock_accounts, open_items
from .schema import pad_agreement, payment, program_account

__all__ = ["agreements", "enrol", "cancel", "PadDebit", "run_pad_debits"]


def _agreement(row) -> PadAgreement:
    return PadAgreement(row.rm15, row.payer_bn9, row.bank_reference, row.start_date, row.end_date)


def agreements(conn: Connection, *, open_on: date | None = None) -> list[PadAgreement]:
    """Every agreement, by account and start; with `open_on`, those not ended before that day."""
    query = select(pad_agreement).order_by(pad_agreement.c.rm15, pad_agreement.c.start_date, pad_agreement.c.id)
    if open_on is not None:
        query = query.where((pad_agreement.c.end_date.is_(None)) | (pad_agreement.c.end_date >= open_on))
    return [_agreement(r) for r in conn.execute(query)]


def enrol(conn: Connection, rm15: str, payer_bn9: str, bank_reference: str, *, start: date, at: datetime) -> PadAgreement | Problem:
    """Enrol `rm15` from `start`; why not: no such active account, or it has an agreement still open."""
    status = conn.execute(select(program_account.c.status).where(program_account.c.rm15 == rm15)).scalar()
    if status != "active":
        return Problem("not-enrolled", f"{rm15} is not an active program account")
    current = [a for a in agreements(conn, open_on=start) if a.rm15 == rm15]
    if current:
        return Problem("not-enrolled", f"{rm15} has a pre-authorized debit agreement from {current[0].start} ({current[0].bank_reference}): "
                                       "cancel it first")
    conn.execute(pad_agreement.insert().values(rm15=rm15, payer_bn9=payer_bn9, bank_reference=bank_reference, start_date=start,
                                               enrolled_at=at))
    return PadAgreement(rm15, payer_bn9, bank_reference, start)


def cancel(conn: Connection, rm15: str, *, last_day: date) -> PadAgreement | Problem:
    """End the open agreement of `rm15` after `last_day` (the last day it may be debited)."""
    row = conn.execute(select(pad_agreement).where(pad_agreement.c.rm15 == rm15, pad_agreement.c.end_date.is_(None))).first()
    if row is None:
        return Problem("not-cancelled", f"{rm15} has no open pre-authorized debit agreement")
    if last_day < row.start_date:
        return Problem("not-cancelled", f"the agreement of {rm15} starts on {row.start_date}, after {last_day}")
    conn.execute(update(pad_agreement).where(pad_agreement.c.id == row.id).values(end_date=last_day))
    return PadAgreement(row.rm15, row.payer_bn9, row.bank_reference, row.start_date, last_day)


@dataclass(frozen=True, slots=True)
class PadDebit:
    """One debit of a day: the account, the period whose statement it pays, and what posting did
    (None with `refused`: the reasons it was not taken)."""

    rm15: str
    period: str
    amount_cents: int
    posted: PostedPayment | None
    refused: str | None = None


def run_pad_debits(conn: Connection, day: date, *, policy: Policy) -> list[PadDebit]:
    """Debit every agreement active on `day` whose account has a statement due that day (see the module doc)."""
    done = []
    for agreement in agreements(conn, open_on=day):
        monthly = bool(conn.execute(select(program_account.c.calendar_month).where(program_account.c.rm15 == agreement.rm15)).scalar())
        calendar_month = billed_by_calendar_month(agreement.rm15, monthly, policy)
        period = statement_due_on(day, policy, calendar_month)
        if period is None or not agreement.active_on(day):
            continue
        trace = f"PAD-{agreement.rm15}-{period.name}"
        if conn.execute(select(payment.c.id).where(payment.c.fi == PAD_CHANNEL, payment.c.trace == trace)).first():
            continue  # debited already
        lock_accounts(conn, [agreement.rm15])
        owed = statement_balances(Snapshot(open_items(conn, [agreement.rm15])), [agreement.rm15], day, policy,
                                  frozenset({agreement.rm15}) if calendar_month else frozenset())[agreement.rm15]
        cp = pad_debit(agreement, period, owed)
        if cp is None:
            continue
        verdict = judge_channel_payment(conn, cp)
        reasons = [f.message for f in [*verdict.refusals, *(f for lv in verdict.lines for f in lv.findings)]]
        if reasons:
            done.append(PadDebit(agreement.rm15, period.name, owed, None, "; ".join(reasons)))
            continue
        done.append(PadDebit(agreement.rm15, period.name, owed, post_channel_payment(conn, cp, verdict, policy=policy).posted))
    return done
