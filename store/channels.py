"""Posting a payment received by a channel other than EDI: a cheque entered at headquarters
(`ledger.channels`), judged by the 820's checks plus the cheque rules and posted by
`store.ledger.post_payments`, the 820's own posting; the electronic channels' payments
(`ledger.channels.ChannelPayment`: card, at release, pre-authorized debit) judged and posted
by the same two functions (`judge_channel_payment`, `post_channel_payment`), card requests
recorded in `card_payment`; and undoing a cheque the bank returned
(`return_cheque`, D17-R26 c), recorded in `cheque_return`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from core.clock import EASTERN
from core.problems import Problem
from edi.advice import Check, PaymentVerdict, judge
from edi.payments import Payment
from ledger.calendar import Period, billed_by_calendar_month, payment_day, period_of
from ledger.channels import (
    CARD,
    CHEQUE_CHANNEL,
    ChannelPayment,
    Cheque,
    ChequeFacts,
    ReturnedCheque,
    card_limit_check,
    certified_required_since,
    channel_check,
    channel_refusal,
    cheque_check,
    cheque_payment,
    plan_cheque_return,
    release_payment,
)
from ledger.checks import account_check
from ledger.errors import IdempotencyConflict
from ledger.model import Account, ItemKind, JournalLine, PaymentStatus
from ledger.policy import Policy
from ledger.posting import PostedPayment
from ledger.suspense import resolution_key

from .journal import lock_accounts, write_plan
from .ledger import payment_facts, post_payments, recorded_sets
from .schema import (
    account_period,
    ar_item,
    card_payment,
    cheque_return,
    declaration,
    item_balance,
    journal_entry,
    journal_line,
    payment,
    payment_line,
    program_account,
    security_account,
)

__all__ = [
    "ChequeReceipt", "receive_cheque", "ChequeReturn", "return_cheque", "returned_cheque_days",
    "ChannelReceipt", "judge_payment", "judge_channel_payment", "post_channel_payment", "billing_cycle", "card_check", "CardRequest",
    "card_request", "record_card_request", "pay_at_release", "ChannelAllowance", "channel_allowed", "monthly_balances",
]


@dataclass(frozen=True, slots=True)
class ChequeReceipt:
    """What entering a cheque did.

    Attributes:
        verdict: how it was judged (None when it had been entered before).
        posted: what posting did (None when it had been entered before).
        fee_cents: the administrative fee it brought (D17-R34), in all accounts.
        earlier_status: the status it was recorded with, when entered before.
    """

    verdict: PaymentVerdict | None
    posted: PostedPayment | None
    fee_cents: int
    earlier_status: str | None = None


def monthly_balances(conn: Connection, rm15s) -> dict[str, int]:
    """RM15 → its closing balance of its latest closed period (D17-R24 « soldes mensuels », decision L24)."""
    latest = (select(account_period.c.rm15, func.max(account_period.c.period).label("period"))
              .where(account_period.c.rm15.in_(sorted(set(rm15s)))).group_by(account_period.c.rm15).subquery())
    return {rm15: int(cents) for rm15, cents in conn.execute(
        select(account_period.c.rm15, account_period.c.closing_balance_cents)
        .join(latest, (account_period.c.rm15 == latest.c.rm15) & (account_period.c.period == latest.c.period))
    )}


@dataclass(frozen=True, slots=True)
class ChannelAllowance:
    """Whether an account may pay by a method, and why not (`reason`, with its rule)."""

    rm15: str
    method: str
    allowed: bool
    reason: str | None = None


def channel_allowed(conn: Connection, rm15: str, method: str, *, policy: Policy) -> ChannelAllowance:
    """May `rm15` pay by `method` (`ledger.channels.channel_refusal`: D17-R24, R27)? What the portal
    asks before offering a way to pay, and what every channel's check applies."""
    refusal = channel_refusal(rm15, method, monthly_balances(conn, [rm15]).get(rm15, 0), policy)
    if refusal is None:
        return ChannelAllowance(rm15, method, True)
    return ChannelAllowance(rm15, method, False, f"{refusal.message} ({refusal.rule})")


def _facts(conn: Connection, cheque: Cheque, policy: Policy) -> ChequeFacts:
    secured = conn.execute(
        select(func.count()).select_from(security_account)
        .where(security_account.c.holder_bn9 == cheque.payer_bn9, security_account.c.status == "active")
    ).scalar_one() > 0
    balances = monthly_balances(conn, {rm15 for rm15, _, _ in cheque.lines})
    day = cheque.received_at.astimezone(EASTERN).date()
    since = certified_required_since(returned_cheque_days(conn, cheque.payer_bn9, day), policy)
    return ChequeFacts(payer_secured=secured, monthly_balances=balances, certified_required_since=since)


def _fee_cents(conn: Connection, cheque: Cheque) -> int:
    keys = [f"fee:{CHEQUE_CHANNEL}:{cheque.trace}:{rm15}" for rm15, _, _ in cheque.lines]
    return int(conn.execute(
        select(func.coalesce(func.sum(journal_line.c.debit_cents), 0))
        .select_from(journal_line.join(ar_item, journal_line.c.item_id == ar_item.c.id))
        .where(ar_item.c.key.in_(keys), ar_item.c.kind == ItemKind.FEE, journal_line.c.account == Account.AR)
    ).scalar_one())


def receive_cheque(conn: Connection, cheque: Cheque, *, policy: Policy) -> ChequeReceipt:
    """Judge and post `cheque` once: the same entry again posts nothing and says how it went."""
    if recorded_sets(conn, cheque.digest):
        status = conn.execute(select(payment.c.status).where(payment.c.file_digest == cheque.digest)).scalar_one()
        return ChequeReceipt(None, None, _fee_cents(conn, cheque), earlier_status=status)
    p = cheque_payment(cheque)
    verdict = judge_payment(conn, p, cheque.received_at, checks=(cheque_check(cheque, _facts(conn, cheque, policy), policy),))
    [posted] = post_payments(conn, cheque.digest, f"cheque {cheque.trace}", [(p, verdict)], received_at=cheque.received_at, policy=policy)
    return ChequeReceipt(verdict, posted, _fee_cents(conn, cheque))


def returned_cheque_days(conn: Connection, payer_bn9: str, up_to: date) -> list[date]:
    """The days the payer's cheques were returned, on or before `up_to` (D17-R26 d)."""
    return list(conn.execute(
        select(cheque_return.c.returned_on)
        .where(cheque_return.c.payer_bn9 == payer_bn9, cheque_return.c.returned_on <= up_to).order_by(cheque_return.c.returned_on)
    ).scalars())


@dataclass(frozen=True, slots=True)
class ChequeReturn:
    """What returning a cheque did.

    Attributes:
        trace: the cheque (`<payer>-<serial>`).
        reversed_cents: what the reversal took back from the accounts (applied and left as credit).
        suspense_cents: what was still held in suspense, returned with it.
        fee_cents: the returned-cheque fee charged (D17-R26 c).
        certified_since: the day from which the payer's cheques must be certified (D17-R26 d), or None.
    """

    trace: str
    reversed_cents: int
    suspense_cents: int
    fee_cents: int
    certified_since: date | None


def _returned_cheque(conn: Connection, trace: str) -> ReturnedCheque | Problem:
    rows = conn.execute(select(payment).where(payment.c.fi == CHEQUE_CHANNEL, payment.c.trace == trace).order_by(payment.c.id)).all()
    if not rows:
        return Problem("not-found", f"no cheque {trace} was entered")
    posted = [r for r in rows if r.status == PaymentStatus.POSTED]
    if not posted:
        return Problem("not-posted", f"cheque {trace} was {rows[-1].status}, never posted: there is nothing to reverse")
    (row,) = posted
    done = conn.execute(select(cheque_return.c.returned_on).where(cheque_return.c.trace == trace)).scalar()
    if done is not None:
        return Problem("already-returned", f"cheque {trace} was already returned on {done}")
    held = conn.execute(select(payment_line.c.line_no, payment_line.c.amount_cents)
                        .where(payment_line.c.payment_id == row.id, payment_line.c.applied.is_(False))
                        .order_by(payment_line.c.line_no)).all()
    for line_no, _ in held:
        resolved = conn.execute(select(journal_entry.c.reason, journal_entry.c.entry_date)
                                .where(journal_entry.c.key == resolution_key(CHEQUE_CHANNEL, trace, line_no))).first()
        if resolved is not None:
            verb = "applied to an account" if resolved.reason == "SUSPENSE_APPLIED" else "returned"
            return Problem("suspense-resolved", f"line {line_no} of cheque {trace}, held in suspense, was {verb} on {resolved.entry_date}: "
                                                "undo that first")
    lines = tuple(
        JournalLine(r.account, debit_cents=int(r.debit_cents), credit_cents=int(r.credit_cents), rm15=r.rm15, item_key=r.key,
                    party=r.party, trace=r.trace)
        for r in conn.execute(
            select(journal_line.c.account, journal_line.c.debit_cents, journal_line.c.credit_cents, journal_line.c.rm15,
                   journal_line.c.party, journal_line.c.trace, ar_item.c.key)
            .select_from(journal_line.outerjoin(ar_item, journal_line.c.item_id == ar_item.c.id))
            .where(journal_line.c.entry_id == row.entry_id).order_by(journal_line.c.id))
    )
    fee_rm15 = next((line.rm15 for line in lines if line.account == Account.AR), None)
    return ReturnedCheque(trace, row.payer_bn9, int(row.total_cents), row.payment_day, int(row.entry_id), lines,
                          tuple((int(n), int(c)) for n, c in held), fee_rm15, None)


def return_cheque(conn: Connection, payer_bn9: str, number: str, *, day: date, reason: str, policy: Policy,
                  at: datetime) -> ChequeReturn | Problem:
    """Undo the cheque `number` of `payer_bn9`, returned by the bank on `day` (`ledger.channels.plan_cheque_return`),
    once; why not, when it cannot be: unknown, never posted, already returned, or a line of it held in
    suspense since applied or returned."""
    trace = f"{payer_bn9}-{number}"
    cheque = _returned_cheque(conn, trace)
    if isinstance(cheque, Problem):
        return cheque
    if day < cheque.payment_day:
        return Problem("not-returned", f"cheque {trace} counted for {cheque.payment_day}: it cannot be returned on {day}")
    lock_accounts(conn, {line.rm15 for line in cheque.lines if line.rm15})
    if cheque.fee_rm15:
        monthly = bool(conn.execute(select(program_account.c.calendar_month).where(program_account.c.rm15 == cheque.fee_rm15)).scalar())
        due = period_of(day, policy, billed_by_calendar_month(cheque.fee_rm15, monthly, policy)).due_date
        cheque = replace(cheque, fee_due=due)
    plan = plan_cheque_return(cheque, day=day, reason=reason, policy=policy)
    fee = policy.returned_cheque_fee_cents if cheque.fee_rm15 else 0
    savepoint = conn.begin_nested()
    try:
        written = write_plan(conn, plan, at)
        conn.execute(cheque_return.insert().values(
            trace=trace, payer_bn9=payer_bn9, returned_on=day, reason=reason, fee_cents=fee,
            entry_id=written.entry_ids.get(f"returned:{CHEQUE_CHANNEL}:{trace}"), recorded_at=at))
    except (IntegrityError, IdempotencyConflict):
        savepoint.rollback()  # returned (or a suspense line resolved) meanwhile by another operator
        return Problem("already-returned", f"cheque {trace} was returned or resolved meanwhile")
    savepoint.commit()
    held = sum(cents for _, cents in cheque.held)
    since = certified_required_since(returned_cheque_days(conn, payer_bn9, day), policy)
    return ChequeReturn(trace, cheque.total_cents - held, held, fee, since)


# ------------------------------------------------------------------ the electronic channels (D17-R21, R23)
@dataclass(frozen=True, slots=True)
class ChannelReceipt:
    """What posting a channel's payment did: its verdict and posting, or (`earlier_status`) the
    status it was recorded with when it had been posted before (nothing done)."""

    verdict: PaymentVerdict | None
    posted: PostedPayment | None
    earlier_status: str | None = None


def judge_payment(conn: Connection, p: Payment, received_at: datetime, *, checks: tuple[Check, ...] = ()) -> PaymentVerdict:
    """Judge a payment that came by another channel as an 820 payment is judged
    (`ledger.checks.account_check`, relationships as of its Eastern receipt day), plus the
    channel's `checks`; its own method is the one the channel takes."""
    received_on = received_at.astimezone(EASTERN).date()
    return judge(p, [account_check(payment_facts(conn, [p]), [p], received_on), *checks], methods=frozenset({p.method}))


def judge_channel_payment(conn: Connection, cp: ChannelPayment, *, checks: tuple[Check, ...] = ()) -> PaymentVerdict:
    """`judge_payment` for an electronic channel's payment."""
    return judge_payment(conn, cp.payment(), cp.received_at, checks=checks)


def post_channel_payment(conn: Connection, cp: ChannelPayment, verdict: PaymentVerdict, *, policy: Policy) -> ChannelReceipt:
    """Post `cp` with its verdict by the 820's posting, once: the same payment again posts nothing."""
    if recorded_sets(conn, cp.digest):
        status = conn.execute(select(payment.c.status).where(payment.c.file_digest == cp.digest)).scalar_one()
        return ChannelReceipt(None, None, status)
    [posted] = post_payments(conn, cp.digest, f"{cp.channel.lower()} {cp.trace}", [(cp.payment(), verdict)], received_at=cp.received_at,
                             policy=policy)
    return ChannelReceipt(verdict, posted)


def billing_cycle(conn: Connection, rm15: str, day: date, policy: Policy) -> Period:
    """The billing period `day` falls in for `rm15`: 18th → 17th, or the calendar month (decision L17)."""
    monthly = bool(conn.execute(select(program_account.c.calendar_month).where(program_account.c.rm15 == rm15)).scalar())
    return period_of(day, policy, billed_by_calendar_month(rm15, monthly, policy))


def card_check(conn: Connection, cp: ChannelPayment, policy: Policy) -> Check:
    """`ledger.channels.card_limit_check` with what card payments already brought each account of `cp`
    in the billing cycle of `cp`'s payment day (posted card payments, whatever channel took them)."""
    day = payment_day(cp.received_at, cp.method, policy)
    paid: dict[str, tuple[str, int]] = {}
    for rm15 in sorted({line[0] for line in cp.lines}):
        cycle = billing_cycle(conn, rm15, day, policy)
        cents = conn.execute(
            select(func.coalesce(func.sum(payment_line.c.amount_cents), 0))
            .select_from(payment_line.join(payment, payment.c.id == payment_line.c.payment_id))
            .where(payment_line.c.rm15 == rm15, payment.c.method == cp.method, payment.c.status == PaymentStatus.POSTED,
                   payment.c.payment_day >= cycle.start, payment.c.payment_day <= cycle.end)
        ).scalar_one()
        paid[rm15] = (cycle.name, int(cents))
    return card_limit_check(paid, policy)


@dataclass(frozen=True, slots=True)
class CardRequest:
    """A card payment as asked and as it went (`card_payment`).

    Attributes:
        reference: the request's reference (the payment's trace; the processor's idempotency key).
        rm15 / payer_bn9 / amount_cents / requested_at: what was asked.
        status: `authorised` (and posted), `declined` by the processor, or `refused` before authorising.
        authorisation: the processor's authorisation reference, when authorised.
        reason: why declined or refused.
    """

    reference: str
    rm15: str
    payer_bn9: str
    amount_cents: int
    requested_at: datetime
    status: str
    authorisation: str | None = None
    reason: str | None = None


def card_request(conn: Connection, reference: str) -> CardRequest | None:
    """The card request `reference` as recorded, or None."""
    row = conn.execute(select(card_payment).where(card_payment.c.reference == reference)).first()
    if row is None:
        return None
    return CardRequest(row.reference, row.rm15, row.payer_bn9, int(row.amount_cents), row.requested_at, row.status, row.authorisation,
                       row.reason)


def record_card_request(conn: Connection, request: CardRequest) -> None:
    """Record what became of a card request (once: its reference is the key)."""
    conn.execute(card_payment.insert().values(
        reference=request.reference, rm15=request.rm15, payer_bn9=request.payer_bn9, amount_cents=request.amount_cents,
        requested_at=request.requested_at, status=request.status, authorisation=request.authorisation, reason=request.reason))


def pay_at_release(conn: Connection, transaction_number: str, *, method: str, received_at: datetime, policy: Policy,
                   payer_bn9: str | None = None) -> ChannelReceipt | Problem:
    """Post the payment at release of an unsecured declaration (`ledger.channels.release_payment`): what
    it owes now, paid by `payer_bn9` (default: the importer); why not, when it is secured, paid, or
    the payment is refused (a card over its cycle's limit, D17-R23; a cheque from an account that must
    pay electronically, D17-R24)."""
    decl = conn.execute(select(declaration.c.rm15, declaration.c.asec).where(declaration.c.transaction_number == transaction_number)).first()
    if decl is None:
        return Problem("not-found", f"no declaration {transaction_number} was accounted")
    lock_accounts(conn, [decl.rm15])
    owed = int(conn.execute(
        select(func.coalesce(func.sum(item_balance.c.balance_cents), 0))
        .select_from(item_balance.join(ar_item, ar_item.c.id == item_balance.c.item_id))
        .where(ar_item.c.transaction_number == transaction_number, item_balance.c.balance_cents > 0)
    ).scalar_one())
    cp = release_payment(transaction_number, decl.rm15, decl.asec, owed, method=method, payer_bn9=payer_bn9 or decl.rm15[:9],
                         received_at=received_at)
    if isinstance(cp, str):
        return Problem("not-at-release", cp)
    checks = (channel_check(monthly_balances(conn, [decl.rm15]), policy),) + ((card_check(conn, cp, policy),) if method == CARD else ())
    verdict = judge_channel_payment(conn, cp, checks=checks)
    reasons = [f"{f.message} ({f.rule})" if f.rule else f.message for f in [*verdict.refusals, *(f for lv in verdict.lines for f in lv.findings)]]
    if reasons:
        return Problem("refused", "; ".join(reasons))
    return post_channel_payment(conn, cp, verdict, policy=policy)
