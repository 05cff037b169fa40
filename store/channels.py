"""Posting a payment received by a channel other than EDI: a cheque entered at headquarters
(`ledger.channels`), judged by the 820's checks plus the cheque rules and posted by
`store.ledger.post_payments`, the 820's own posting."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from core.clock import EASTERN
from edi.advice import PaymentVerdict, judge
from ledger.channels import CHEQUE, CHEQUE_CHANNEL, Cheque, ChequeFacts, cheque_check, cheque_payment
from ledger.checks import account_check
from ledger.model import Account, ItemKind
from ledger.policy import Policy
from ledger.posting import PostedPayment

from .ledger import payment_facts, post_payments, recorded_sets
from .schema import account_period, ar_item, journal_line, payment, security_account

__all__ = ["ChequeReceipt", "receive_cheque"]


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


def _facts(conn: Connection, cheque: Cheque) -> ChequeFacts:
    secured = conn.execute(
        select(func.count()).select_from(security_account)
        .where(security_account.c.holder_bn9 == cheque.payer_bn9, security_account.c.status == "active")
    ).scalar_one() > 0
    rm15s = sorted({rm15 for rm15, _, _ in cheque.lines})
    latest = (select(account_period.c.rm15, func.max(account_period.c.period).label("period"))
              .where(account_period.c.rm15.in_(rm15s)).group_by(account_period.c.rm15).subquery())
    balances = dict(conn.execute(
        select(account_period.c.rm15, account_period.c.closing_balance_cents)
        .join(latest, (account_period.c.rm15 == latest.c.rm15) & (account_period.c.period == latest.c.period))
    ).all())
    return ChequeFacts(payer_secured=secured, monthly_balances=balances)


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
    received_on = cheque.received_at.astimezone(EASTERN).date()
    checks = [account_check(payment_facts(conn, [p]), [p], received_on), cheque_check(cheque, _facts(conn, cheque), policy)]
    verdict = judge(p, checks, methods=frozenset({CHEQUE}))
    [posted] = post_payments(conn, cheque.digest, f"cheque {cheque.trace}", [(p, verdict)], received_at=cheque.received_at, policy=policy)
    return ChequeReceipt(verdict, posted, _fee_cents(conn, cheque))
