"""Card payments (D17-R23 « Carte de crédit (jusqu'à 4 999,99 dollars canadiens) »), for the
portal and for `carm payments card`.

The card processor is outside the engine: it sits behind `CardProcessor`, which authorises an
amount and answers with its authorisation reference or a decline reason.  `FakeCardProcessor`
is the deterministic twin for tests and the demo.  `pay_by_card` runs a request once, keyed by
its reference:

1. the request is judged as an 820 payment is (payer, account, relationship) plus the card
   limit per program account and billing cycle (`ledger.channels.card_limit_check`, decision
   L27) — refused, it is recorded as such and no card is charged;
2. the processor authorises it (the reference is its idempotency key) — declined, recorded;
3. authorised, it is posted by the 820's posting (method `CARD`, electronic: no
   administrative fee, D17-R34), with the authorisation reference recorded in `card_payment`.

The same reference again charges nothing and posts nothing: the request as it went is returned.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from ledger.channels import CARD, ChannelPayment
from ledger.policy import Policy
from store.channels import CardRequest, card_check, card_request, judge_channel_payment, post_channel_payment, record_card_request

__all__ = ["Authorisation", "CardProcessor", "FakeCardProcessor", "CardOutcome", "pay_by_card", "CARD_CHANNEL"]

#: The channel card payments are recorded under (the payment's FI).
CARD_CHANNEL = "CARD"


@dataclass(frozen=True, slots=True)
class Authorisation:
    """The processor's answer: its authorisation reference, or why it declined."""

    reference: str | None
    declined: str | None = None


class CardProcessor(Protocol):
    def authorise(self, amount_cents: int, reference: str, token: str) -> Authorisation:
        """Charge `amount_cents` to the card `token`, once per `reference`."""


@dataclass
class FakeCardProcessor:
    """A processor that authorises every card but the `declined` tokens, with a reference derived
    from the request (the same request, the same answer), and counts its calls."""

    declined: frozenset[str] = frozenset({"tok_declined"})
    calls: list[tuple[int, str, str]] = field(default_factory=list)

    def authorise(self, amount_cents: int, reference: str, token: str) -> Authorisation:
        self.calls.append((amount_cents, reference, token))
        if token in self.declined:
            return Authorisation(None, "card declined by the issuer")
        digest = hashlib.sha256(f"{reference}:{amount_cents}:{token}".encode()).hexdigest()
        return Authorisation(f"AUTH-{digest[:10].upper()}")


@dataclass(frozen=True, slots=True)
class CardOutcome:
    """What a card request did: the request as recorded, the reasons it was refused, whether it
    was run now (False: the same reference was asked before, nothing done)."""

    request: CardRequest
    reasons: tuple[str, ...] = ()
    new: bool = True


def pay_by_card(conn: Connection, rm15: str, amount_cents: int, *, payer_bn9: str, token: str, reference: str,
                received_at: datetime, processor: CardProcessor, policy: Policy) -> CardOutcome:
    """A card payment of `amount_cents` for the program account `rm15` (see the module doc)."""
    earlier = card_request(conn, reference)
    if earlier is not None:
        return CardOutcome(earlier, (earlier.reason,) if earlier.reason else (), new=False)
    cp = ChannelPayment(CARD_CHANNEL, CARD, reference, payer_bn9, "SOA", ((rm15, amount_cents, None, None),), received_at)
    verdict = judge_channel_payment(conn, cp, checks=(card_check(conn, cp, policy),))
    reasons = tuple(f"{f.message} ({f.rule})" if f.rule else f.message
                    for f in [*verdict.refusals, *(f for lv in verdict.lines for f in lv.findings)])
    request = CardRequest(reference, rm15, payer_bn9, amount_cents, received_at, "refused", reason="; ".join(reasons) or None)
    if not reasons:
        answer = processor.authorise(amount_cents, reference, token)
        if answer.reference is None:
            request = CardRequest(reference, rm15, payer_bn9, amount_cents, received_at, "declined", reason=answer.declined)
            reasons = (answer.declined or "declined",)
        else:
            request = CardRequest(reference, rm15, payer_bn9, amount_cents, received_at, "authorised", answer.reference)
            post_channel_payment(conn, cp, verdict, policy=policy)
    record_card_request(conn, request)
    return CardOutcome(request, reasons)
