"""Payments that reach the ledger by a channel other than EDI 820 (D17 §21–29).

A cheque mailed to headquarters (D17-R26 « les paiements peuvent être acquittés par chèque »)
is entered by an operator.  It becomes the same `edi.payments.Payment` an 820 set becomes, is
judged by the same checks (`edi.advice.judge` with the ledger's `ledger.checks.account_check`)
plus the cheque rules here, and is posted by the same code (`ledger.posting.plan_payments`):
one path for the money, whatever the channel.  That path is also where the administrative fee
of a partial non-electronic payment arises (D17-R34, `ledger.posting.administrative_fee_cents`).

The cheque rules (decision L24):

* D17-R24 — an account whose monthly balance is above `Policy.electronic_only_above_cents`
  ($50,000) must pay electronically: a cheque for it is refused;
* D17-R26 b — « pour ce qui est d'un payeur ne détenant pas de compte-garantie, les chèques
  supérieurs à 5 000 $ doivent être certifiés »: a payer holding no active security account
  whose cheque is above `Policy.certified_cheque_above_cents` must send a certified cheque;
* D17-R26 d — « Si un payeur détenant ou non un compte-garantie soumet deux chèques retournés
  dans une période de six mois consécutifs, un chèque certifié sera exigé pour tous les
  prochains paiements » (`certified_required_since`, decision L26).

The electronic channels (D17-R23) take the same road: a `ChannelPayment` — a card payment for
one program account, within `Policy.card_limit_per_cycle_cents` a billing cycle
(`card_limit_check`, decision L27); a payment at release of an unsecured declaration (D17-R21 b);
a pre-authorized debit on a statement's due date — becomes the same `Payment` and is posted by
the same code.

A cheque the bank returns (D17-R26 c) is undone by `plan_cheque_return`: one adjusting entry
swapping every line of the cheque's payment entry (the debts it paid are owed again), the
lines still held in suspense returned as `ledger.suspense` returns them, and the returned-cheque
fee when the policy sets one (« Des frais peuvent être applicables »).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.clock import EASTERN
from core.money import format_cents
from edi.advice import Check, Finding
from edi.payments import Payment, RemittanceLine, Source

from .calendar import Period
from .model import Account, Entry, ItemKind, JournalLine, NewItem, Notice, NoticeKind, Plan, Reason
from .policy import Policy
from .posting import last_statement
from .suspense import resolution_key

__all__ = [
    "CHEQUE", "CHEQUE_CHANNEL", "Cheque", "ChequeFacts", "cheque_check", "cheque_payment",
    "ReturnedCheque", "plan_cheque_return", "certified_required_since", "add_months",
    "CARD", "PAD", "INTERAC", "RELEASE_CHANNEL", "RELEASE_METHODS", "ChannelPayment", "card_limit_check", "release_payment",
    "PAD_CHANNEL", "PadAgreement", "statement_due_on", "pad_debit", "NON_ELECTRONIC_METHODS", "channel_refusal", "channel_check",
]

#: The payment method of a cheque (X12 591 code, as the 820 would carry it).
CHEQUE = "CHK"

#: Who a cheque is recorded as received by: the `payment.fi` of every cheque (the 820's FI).
CHEQUE_CHANNEL = "HQ-CHEQUE"

#: The electronic methods of D17-R23 other than the 820's (each in `Policy.electronic_methods`).
CARD, PAD, INTERAC = "CARD", "PAD", "INTERAC"

#: The methods accepted that are not electronic (D17-R26: « Lorsqu'il se révèle impossible d'utiliser
#: la voie électronique, les paiements peuvent être acquittés par chèque »); every other method not in
#: `Policy.electronic_methods` is refused (D17-R27: no cash, traveller's cheques or wire transfers).
NON_ELECTRONIC_METHODS = frozenset({CHEQUE})

#: Who a pre-authorized debit is recorded as taken by.
PAD_CHANNEL = "PAD"

#: Who a payment at release is recorded as taken by (an operator at the port, or a release system).
RELEASE_CHANNEL = "RELEASE"
#: How a declaration may be paid at release (D17-R23 b: « Carte de crédit » or « Interac® »
#: « au port d'entrée »; a cheque where the electronic way is impossible, D17-R26).
RELEASE_METHODS = (CARD, INTERAC, CHEQUE)


@dataclass(frozen=True, slots=True)
class ChannelPayment:
    """A payment taken by a channel other than EDI 820 and cheques (D17-R21, R23).

    Attributes:
        channel: who took it, recorded as the payment's FI: `CARD`, `PAD`, `RELEASE`.
        method: `CARD`, `PAD`, `INTERAC`, `CHK`.
        trace: its reference in that channel (unique per channel: the idempotency key).
        payer_bn9: who pays.
        kind: `SOA`, `ADV` or `INT` (D17-R22), as for an 820.
        lines: (RM15, cents, security account or None, transaction number or None) per account paid.
        received_at: when it was taken.
    """

    channel: str
    method: str
    trace: str
    payer_bn9: str
    kind: str
    lines: tuple[tuple[str, int, str | None, str | None], ...]
    received_at: datetime

    @property
    def total_cents(self) -> int:
        return sum(line[1] for line in self.lines)

    @property
    def digest(self) -> str:
        """What identifies it: the same channel, trace and content is the same payment."""
        canonical = json.dumps([self.channel, self.method, self.trace, self.payer_bn9, self.kind, self.lines], separators=(",", ":"))
        return hashlib.sha256(f"channel:{canonical}".encode()).hexdigest()

    def payment(self) -> Payment:
        """The `Payment` it is judged and posted as."""
        lines = tuple(
            RemittanceLine(number=n, rm15=rm15, amount_cents=cents, asec=asec, position=n, file_index=n, transaction_number=tn)
            for n, (rm15, cents, asec, tn) in enumerate(self.lines, start=1)
        )
        return Payment(
            kind=self.kind, total_cents=self.total_cents, method=self.method, credit_debit="C", handling="C",
            effective_date=self.received_at.date(), trace=self.trace, originator=self.channel, currency="CAD",
            created=self.received_at, payer_name="", payer_bn9=self.payer_bn9, payer_asec=None, lines=lines,
            source=Source(file_digest=self.digest, sender=self.channel, interchange=self.channel[:9], group="", set_control="1",
                          file_index=0),
        )


def card_limit_check(paid_in_cycle: Mapping[str, tuple[str, int]], policy: Policy) -> Check:
    """D17-R23 « Carte de crédit (jusqu'à 4 999,99 dollars canadiens) », per program account and
    billing cycle (decision L27): `paid_in_cycle` is RM15 → (its current cycle, what card payments
    already brought it in that cycle).  A card payment that would take an account above
    `card_limit_per_cycle_cents` is refused whole, before any card is charged."""

    def check(payment: Payment) -> tuple[list[Finding], dict[int, list[Finding]]]:
        refusals = []
        for rm15 in sorted({line.rm15 for line in payment.lines}):
            amount = sum(line.amount_cents for line in payment.lines if line.rm15 == rm15)
            cycle, paid = paid_in_cycle.get(rm15, ("", 0))
            if paid + amount > policy.card_limit_per_cycle_cents:
                refusals.append(Finding(
                    "012", f"{rm15} has had ${format_cents(paid)} by card in billing period {cycle}: ${format_cents(amount)} more "
                           f"would exceed ${format_cents(policy.card_limit_per_cycle_cents)}", rule="D17-R23"))
        return refusals, {}

    return check


@dataclass(frozen=True, slots=True)
class Cheque:
    """A cheque received at headquarters, as the operator enters it (D17 Annex H).

    Attributes:
        number: the cheque's serial number.
        payer_bn9: the payer's business number (written on the back, Annex H).
        kind: `SOA`, `ADV` or `INT` (D17-R22), as for an 820.
        lines: (RM15, cents, security account or None) for each account it pays.
        received_at: when it reached headquarters (D17-R32: cheques count by their cut-off).
        certified: a certified cheque (D17-R26 b, d).
        payer_asec: the payer's security account number, when it writes one (a broker's ASEC).
    """

    number: str
    payer_bn9: str
    kind: str
    lines: tuple[tuple[str, int, str | None], ...]
    received_at: datetime
    certified: bool = False
    payer_asec: str | None = None

    @property
    def total_cents(self) -> int:
        return sum(cents for _, cents, _ in self.lines)

    @property
    def trace(self) -> str:
        """The cheque's trace number: its payer and serial (serials repeat across payers' banks)."""
        return f"{self.payer_bn9}-{self.number}"

    @property
    def digest(self) -> str:
        """What identifies this entry, as a file's digest identifies a file: the same cheque entered
        again with the same content is the same entry (nothing is posted twice)."""
        canonical = json.dumps([self.number, self.payer_bn9, self.kind, self.lines, self.certified, self.payer_asec],
                               separators=(",", ":"))
        return hashlib.sha256(f"cheque:{canonical}".encode()).hexdigest()


def cheque_payment(cheque: Cheque) -> Payment:
    """The `Payment` a cheque is judged and posted as."""
    lines = tuple(
        RemittanceLine(number=n, rm15=rm15, amount_cents=cents, asec=asec, position=n, file_index=n)
        for n, (rm15, cents, asec) in enumerate(cheque.lines, start=1)
    )
    return Payment(
        kind=cheque.kind, total_cents=cheque.total_cents, method=CHEQUE, credit_debit="C", handling="C",
        effective_date=cheque.received_at.date(), trace=cheque.trace, originator=CHEQUE_CHANNEL, currency="CAD",
        created=cheque.received_at, payer_name="", payer_bn9=cheque.payer_bn9, payer_asec=cheque.payer_asec, lines=lines,
        source=Source(file_digest=cheque.digest, sender=CHEQUE_CHANNEL, interchange="CHEQUE", group="", set_control="1", file_index=0),
    )


@dataclass(frozen=True, slots=True)
class ChequeFacts:
    """What the cheque rules need from the ledger.

    Attributes:
        payer_secured: the payer holds an active security account (D17-R26 b).
        monthly_balances: RM15 → its closing balance of the latest closed period (D17-R24).
        certified_required_since: the day the payer's returned cheques made certified cheques
            compulsory (D17-R26 d), or None.
    """

    payer_secured: bool
    monthly_balances: Mapping[str, int]
    certified_required_since: date | None = None


def channel_refusal(rm15: str, method: str, monthly_balance_cents: int, policy: Policy) -> Finding | None:
    """Why `rm15` may not pay by `method`, or None (decision L24): an electronic method always may;
    D17-R24 « Les titulaires d'un compte de douane dont les soldes mensuels au compte s'élèvent à plus
    de 50 000 $ doivent soumettre leurs paiements par voie électronique » — `monthly_balance_cents`
    is the closing balance of its latest closed period; D17-R27 « L'ASFC n'accepte pas les espèces,
    les chèques de voyage ou les virements électroniques »: a method neither electronic nor a cheque."""
    if method in policy.electronic_methods:
        return None
    if method not in NON_ELECTRONIC_METHODS:
        return Finding("012", f"{method} is not a way to pay the agency: pay electronically or by cheque", rule="D17-R27")
    if monthly_balance_cents > policy.electronic_only_above_cents:
        return Finding("012", f"{rm15} owes ${format_cents(monthly_balance_cents)} a month: it must pay electronically", rule="D17-R24")
    return None


def channel_check(monthly_balances: Mapping[str, int], policy: Policy) -> Check:
    """`channel_refusal` for every account a payment pays, as an `edi.advice.Check`."""

    def check(payment: Payment) -> tuple[list[Finding], dict[int, list[Finding]]]:
        found = (channel_refusal(rm15, payment.method, monthly_balances.get(rm15, 0), policy)
                 for rm15 in dict.fromkeys(line.rm15 for line in payment.lines))
        return [f for f in found if f is not None], {}

    return check


def cheque_check(cheque: Cheque, facts: ChequeFacts, policy: Policy) -> Check:
    """The cheque rules as an `edi.advice.Check`: findings refuse the whole cheque (it goes back
    to the payer with the reason), like a refused 820 set."""

    def check(payment: Payment) -> tuple[list[Finding], dict[int, list[Finding]]]:
        refusals, _ = channel_check(facts.monthly_balances, policy)(payment)
        if not cheque.certified and not facts.payer_secured and cheque.total_cents > policy.certified_cheque_above_cents:
            refusals.append(Finding(
                "012", f"a cheque above ${format_cents(policy.certified_cheque_above_cents)} from a payer without a security "
                       "account must be certified", rule="D17-R26"))
        if not cheque.certified and facts.certified_required_since is not None:
            refusals.append(Finding(
                "012", f"two cheques returned within six months (the second on {facts.certified_required_since}): "
                       "every cheque must now be certified", rule="D17-R26"))
        return refusals, {}

    return check


def add_months(day: date, months: int) -> date:
    """`day` moved `months` calendar months on, on the same day of the month or the month's last day."""
    year, month = divmod(day.month - 1 + months, 12)
    first = date(day.year + year, month + 1, 1)
    last = (date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)).day
    return first.replace(day=min(day.day, last))


def certified_required_since(returned_on: Sequence[date], policy: Policy) -> date | None:
    """D17-R26 d « deux chèques retournés dans une période de six mois consécutifs »: the day of the
    return that made `certified_after_returns` returns fall within `certified_returns_months`
    consecutive months (the last return before the first's same day that many months later,
    decision L26); from that day every cheque of the payer must be certified.  None: not (yet)."""
    days = sorted(returned_on)
    k = policy.certified_after_returns
    for i in range(len(days) - k + 1):
        if days[i + k - 1] < add_months(days[i], policy.certified_returns_months):
            return days[i + k - 1]
    return None


@dataclass(frozen=True, slots=True)
class ReturnedCheque:
    """A posted cheque the bank returned, as the store reads it.

    Attributes:
        trace / payer_bn9 / total_cents / payment_day: the cheque's payment.
        entry_id: its payment entry, which the return reverses.
        lines: that entry's lines (AR lines name their item by key).
        held: (line number, cents) of its lines still held in suspense.
        fee_rm15 / fee_due: the account the returned-cheque fee is charged to (the first it paid)
            and the due date of that account's current period, or None when it paid none.
    """

    trace: str
    payer_bn9: str
    total_cents: int
    payment_day: date
    entry_id: int
    lines: tuple[JournalLine, ...]
    held: tuple[tuple[int, int], ...] = ()
    fee_rm15: str | None = None
    fee_due: date | None = None


def _swapped(line: JournalLine, cents: int | None = None) -> JournalLine:
    debit, credit = line.credit_cents, line.debit_cents
    if cents is not None:
        debit, credit = (cents, 0) if debit else (0, cents)
    return JournalLine(line.account, debit_cents=debit, credit_cents=credit, rm15=line.rm15, item_key=line.item_key,
                       party=line.party, trace=line.trace)


def plan_cheque_return(cheque: ReturnedCheque, *, day: date, reason: str, policy: Policy) -> Plan:
    """Undo a returned cheque on `day` (D17-R26 c): every line of its payment entry swapped — the
    lines held in suspense each returned by the suspense line's own resolution entry (so no operator
    can apply them afterwards), the rest by one adjusting entry reversing the payment entry — then
    the returned-cheque fee (`returned_cheque_fee_cents`, none by default) and a notice to the payer."""
    plan = Plan()
    held_cents = sum(cents for _, cents in cheque.held)
    for line_no, cents in cheque.held:
        plan.entries.append(Entry(
            resolution_key(CHEQUE_CHANNEL, cheque.trace, line_no), day, Reason.SUSPENSE_RETURNED,
            f"cheque {cheque.trace} returned by the bank: suspense line {line_no} returned", (
                JournalLine(Account.SUSPENSE, debit_cents=cents, party=cheque.payer_bn9, trace=cheque.trace),
                JournalLine(Account.BANK, credit_cents=cents, party=CHEQUE_CHANNEL, trace=cheque.trace),
            )))
    reversed_lines = []
    for line in cheque.lines:
        if line.account == Account.SUSPENSE:
            continue  # returned line by line above
        if line.account == Account.BANK and held_cents:
            if line.debit_cents > held_cents:
                reversed_lines.append(_swapped(line, line.debit_cents - held_cents))
            continue
        reversed_lines.append(_swapped(line))
    if reversed_lines:
        plan.entries.append(Entry(
            f"returned:{CHEQUE_CHANNEL}:{cheque.trace}", day, Reason.CHEQUE_RETURNED,
            f"cheque {cheque.trace} returned by the bank: {reason}"[:300], tuple(reversed_lines), reverses=cheque.entry_id))
    fee = policy.returned_cheque_fee_cents if cheque.fee_rm15 else 0
    if fee:
        item = NewItem(key=f"fee:returned cheque:{cheque.trace}", rm15=cheque.fee_rm15, kind=ItemKind.FEE, posted_on=day,
                       due_date=cheque.fee_due, description=f"returned cheque fee {cheque.trace}")
        plan.items.append(item)
        plan.entries.append(Entry(
            f"returned-fee:{CHEQUE_CHANNEL}:{cheque.trace}", day, Reason.RETURNED_CHEQUE_FEE, f"returned cheque fee {cheque.trace}",
            (JournalLine(Account.AR, debit_cents=fee, rm15=cheque.fee_rm15, item_key=item.key),
             JournalLine(Account.FEE, credit_cents=fee, rm15=cheque.fee_rm15))))
    plan.notices.append(Notice(
        f"{NoticeKind.CHEQUE_RETURNED}:{CHEQUE_CHANNEL}:{cheque.trace}", day, cheque.payer_bn9, cheque.fee_rm15,
        NoticeKind.CHEQUE_RETURNED,
        {"trace": cheque.trace, "amount_cents": cheque.total_cents, "payment_day": str(cheque.payment_day),
         "suspense_cents": held_cents, "fee_cents": fee, "reason": reason}))
    return plan


def release_payment(transaction_number: str, rm15: str, asec: str | None, owed_cents: int, *, method: str, payer_bn9: str,
                    received_at: datetime) -> ChannelPayment | str:
    """D17-R21 b « Au moment où les marchandises font l'objet d'une mainlevée en ce qui a trait aux
    comptes de douane pour lesquels aucun dépôt de sécurité n'a été versé »: the payment at release
    of an unsecured declaration — exactly what it still owes, aimed at it (an advance payment naming
    the transaction, D17-R22) — or why there is none to take."""
    if asec:
        return (f"declaration {transaction_number} is secured by security account {asec}: it is paid by the due date of its "
                "statement (D17-R21), not at release")
    if owed_cents <= 0:
        return f"declaration {transaction_number} owes nothing: it is paid"
    return ChannelPayment(RELEASE_CHANNEL, method, f"REL-{transaction_number}", payer_bn9, "ADV",
                          ((rm15, owed_cents, None, transaction_number),), received_at)


@dataclass(frozen=True, slots=True)
class PadAgreement:
    """A pre-authorized debit agreement (D17-R23 « Débit préautorisé (DPA) ») for one program account.

    Attributes:
        rm15: the account whose statements it pays.
        payer_bn9: whose bank account is debited.
        bank_reference: the agreement's reference at the payer's bank.
        start / end: the first and last day it may be debited (end None: until cancelled).
    """

    rm15: str
    payer_bn9: str
    bank_reference: str
    start: date
    end: date | None = None

    def active_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def statement_due_on(day: date, policy: Policy, calendar_month: bool = False) -> Period | None:
    """The billing period whose statement balance is due on `day` (D17-R31), or None."""
    period = last_statement(day, policy, calendar_month)
    return period if period.due_date == day else None


def pad_debit(agreement: PadAgreement, period: Period, owed_cents: int) -> ChannelPayment | None:
    """The debit of `agreement` on `period`'s due date for what its statement still owes (decision
    L28), or None: not active that day, or nothing owed.  Keyed by account and period: once."""
    day = period.due_date
    if not agreement.active_on(day) or owed_cents <= 0:
        return None
    at = datetime.combine(day, datetime.min.time(), tzinfo=EASTERN)
    return ChannelPayment(PAD_CHANNEL, PAD, f"PAD-{agreement.rm15}-{period.name}", agreement.payer_bn9, "SOA",
                          ((agreement.rm15, owed_cents, None, None),), at)
