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
  whose cheque is above `Policy.certified_cheque_above_cents` must send a certified cheque.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from core.money import format_cents
from edi.advice import Check, Finding
from edi.payments import Payment, RemittanceLine, Source

from .policy import Policy

__all__ = ["CHEQUE", "CHEQUE_CHANNEL", "Cheque", "ChequeFacts", "cheque_check", "cheque_payment"]

#: The payment method of a cheque (X12 591 code, as the 820 would carry it).
CHEQUE = "CHK"

#: Who a cheque is recorded as received by: the `payment.fi` of every cheque (the 820's FI).
CHEQUE_CHANNEL = "HQ-CHEQUE"


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
    """

    payer_secured: bool
    monthly_balances: Mapping[str, int]


def cheque_check(cheque: Cheque, facts: ChequeFacts, policy: Policy) -> Check:
    """The cheque rules as an `edi.advice.Check`: findings refuse the whole cheque (it goes back
    to the payer with the reason), like a refused 820 set."""

    def check(payment: Payment) -> tuple[list[Finding], dict[int, list[Finding]]]:
        refusals = []
        for rm15, _, _ in cheque.lines:
            balance = facts.monthly_balances.get(rm15, 0)
            if balance > policy.electronic_only_above_cents:
                refusals.append(Finding(
                    "012", f"{rm15} owes ${format_cents(balance)} a month: it must pay electronically", rule="D17-R24"))
        if not cheque.certified and not facts.payer_secured and cheque.total_cents > policy.certified_cheque_above_cents:
            refusals.append(Finding(
                "012", f"a cheque above ${format_cents(policy.certified_cheque_above_cents)} from a payer without a security "
                       "account must be certified", rule="D17-R26"))
        return refusals, {}

    return check
