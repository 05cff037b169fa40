"""Build 820 payment files the way the 820 guide says an FI must.

Used for the sample files in `fixtures/`, the tests and the benchmark
(`bench/`); an FI's developers can use it to see a conforming file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from core.money import format_cents

from .guide import RECEIVER_ID, RECEIVER_QUALIFIER
from .writer import OUTBOUND_DELIMITERS, FunctionalGroup, Interchange

__all__ = ["LineSpec", "PaymentSpec", "payment_set", "interchange_820", "file_820"]


@dataclass(frozen=True, slots=True)
class LineSpec:
    """One remittance line an FI puts in a payment: the account, the amount, the security account it
    names, and the transaction an advance payment pays first (REF*TN)."""

    rm15: str
    cents: int
    asec: str | None = None
    transaction_number: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentSpec:
    """What an FI puts in one 820 set."""

    trace: str
    payer_bn9: str
    lines: Sequence[LineSpec]
    kind: str = "SOA"
    payer_name: str = "PAYER"
    payer_asec: str | None = None
    method: str = "ACH"
    effective: date = date(2026, 11, 20)
    currency: str | None = "CAD"
    total_cents: int | None = None  # None: the sum of the lines

    def segments(self) -> list[tuple[str, ...]]:
        total = sum(line.cents for line in self.lines) if self.total_cents is None else self.total_cents
        body: list[tuple[str, ...]] = [
            ("BPR", "C", format_cents(total), "C", self.method, "", "", "", "", "", "", "", "", "", "", "", self.effective.strftime("%Y%m%d")),
            ("TRN", "1", self.trace, "1" + self.payer_bn9),
        ]
        if self.currency is not None:
            body.append(("CUR", "PR", self.currency))
        body.append(("REF", "ZZ", self.kind))
        body.append(("N1", "PE", "CANADA BORDER SERVICES AGENCY", "ZZ", "CBSA"))
        body.append(("N1", "PR", self.payer_name, "FI", self.payer_bn9))
        if self.payer_asec:
            body.append(("REF", "ZZ", self.payer_asec))
        for number, line in enumerate(self.lines, start=1):
            body.append(("ENT", str(number)))
            body.append(("RMR", "11", line.rm15, "", format_cents(line.cents)))
            if line.asec:
                body.append(("REF", "ZZ", line.asec))
            if line.transaction_number:
                body.append(("REF", "TN", line.transaction_number))
        return body


def payment_set(spec: PaymentSpec) -> tuple[str, list[tuple[str, ...]]]:
    return ("820", spec.segments())


def interchange_820(
    payments: Iterable[PaymentSpec],
    *,
    sender_id: str = "BANKOFTEST",
    control_number: int = 1,
    group_control: int = 1,
    at: datetime = datetime(2026, 11, 20, 9, 30),
    usage: str = "P",
    ack_requested: bool = False,
) -> Interchange:
    group = FunctionalGroup("RA", sender_id, RECEIVER_ID, group_control, [payment_set(p) for p in payments])
    return Interchange(
        sender=("ZZ", sender_id),
        receiver=(RECEIVER_QUALIFIER, RECEIVER_ID),
        control_number=control_number,
        at=at,
        usage=usage,
        ack_requested=ack_requested,
        groups=[group],
    )


def file_820(payments: Iterable[PaymentSpec], **kwargs) -> bytes:
    """One interchange, one RA group, one set per payment, as bytes."""
    return interchange_820(payments, **kwargs).render(OUTBOUND_DELIMITERS)
