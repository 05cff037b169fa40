"""Business validation of payments, and the 824 application advice that reports it.

A syntactically sound 820 set becomes a `Payment`; the checks here judge it and give a
`PaymentVerdict`:

* `TR` — the whole payment is refused (820 guide): total out of balance (TED 010), a
  currency other than CAD (D17-R29, TED 012), a method the agency does not take by EDI —
  a wire (D17-R27) or a cheque, which goes to headquarters on paper (D17-R26), TED 012 —,
  an amount not above zero (TED 012), a payer whose BN9 fails its check digit (TED 011);
* `TE` — some remittance lines are set aside (`OTI*IR`): an RM15 that is not a valid
  program account (TED 011), an interim payment line with no security account number
  (D17-R22, Annex G, TED 007), a malformed ASEC (TED 011), a transaction number (REF*TN)
  that is not 14 digits (TED 011) or that a payment other than an advance names (TED 012);
* `TA` — every line can be applied.

Checks that need account data (a duplicate trace, an unknown payer, a broker without its
security account, unknown or inactive accounts, no relationship) are `Check`s the ledger
passes in; they return findings of the same shape.

A positive 997 is the payer's proof of payment (memo D17-5-1 §30): every refusal is
decided before the 997 is written, and `refusal_errors` turns it into the AK3/AK4 that
reject the set in the 997 (`edi.pipeline`).  A refused set is neither posted nor held;
lines set aside are held in suspense (`PaymentVerdict.suspense_cents`) until an operator
applies or returns them.  The 824 says all of it in words (OTI/TED loops).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, repeat
from operator import attrgetter, is_, not_

from core.identifiers import all_fine, asec_problem, bn9_problem, rm15_problem
from core.money import format_cents, format_x12_amount
from core.text import is_digits

from .guide import ACCEPTED_METHODS, PAYMENT_KINDS
from .limits import DEFAULT_LIMITS
from .payments import Payment, RemittanceLine
from .results import ElementError, SegmentError

__all__ = [
    "Finding",
    "LineVerdict",
    "PaymentVerdict",
    "Check",
    "judge",
    "advice_824_body",
    "refusal_errors",
    "ACCEPTED_METHODS",
    "PAYMENT_KINDS",
    "TED",
]

#: TED01 codes the engine uses (X12 647).
TED = {
    "006": "duplicate",
    "007": "missing data",
    "010": "total out of balance",
    "011": "not matching",
    "012": "invalid combination",
    "024": "other unlisted reason",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """A business problem with a payment or one of its lines (one TED).

    Attributes:
        code: TED01 (`006`, `007`, `010`, `011`, `012`, `024`).
        message: TED02, what the FI operator reads (≤ 60 characters in the 824).
        segment_id / position / element / data_element / bad_value: TED03–TED07,
            the place in the 820 set, when there is one.
        rule: the DOMAIN rule or guide clause behind it.
    """

    code: str
    message: str
    segment_id: str = ""
    position: int | None = None
    element: int | None = None
    data_element: str = ""
    bad_value: str = ""
    rule: str = ""


@dataclass(frozen=True, slots=True)
class LineVerdict:
    """One remittance line as judged: applied, or set aside with its findings."""

    line: RemittanceLine
    findings: tuple[Finding, ...] = ()

    @property
    def applied(self) -> bool:
        return not self.findings


@dataclass(frozen=True, slots=True)
class PaymentVerdict:
    """A payment as judged: the OTI01 of its 824 and what happens to its money.

    Attributes:
        payment: the payment judged.
        refusals: set-level findings; any refuses the whole payment (`TR`).
        lines: one verdict per remittance line, in file order.
    """

    payment: Payment
    refusals: tuple[Finding, ...]
    lines: tuple[LineVerdict, ...]

    @property
    def code(self) -> str:
        if self.refusals:
            return "TR"
        if any(map(_FINDINGS, self.lines)):  # a line set aside (not `applied`)
            return "TE"
        return "TA"

    @property
    def duplicate(self) -> bool:
        return any(f.code == "006" for f in self.refusals)

    @property
    def lines_with_findings(self) -> tuple[LineVerdict, ...]:
        """The lines that have findings, in file order (set aside, unless the payment is refused)."""
        return tuple(compress(self.lines, map(_FINDINGS, self.lines)))

    @property
    def applicable_lines(self) -> tuple[LineVerdict, ...]:
        return () if self.refusals else tuple(compress(self.lines, map(not_, map(_FINDINGS, self.lines))))

    @property
    def suspense_cents(self) -> int:
        """Money accepted but not applied yet: the lines set aside, held against payer and trace.
        A refused payment is not accepted (negative 997): nothing of it is held."""
        if self.refusals:
            return 0
        return sum(lv.line.amount_cents for lv in self.lines_with_findings)


#: A check returns set-level findings and findings per line (by `RemittanceLine.number`).
Check = Callable[[Payment], tuple[list[Finding], dict[int, list[Finding]]]]


def _syntax_free_checks(
    payment: Payment, max_payment_cents: int, methods: frozenset[str] = ACCEPTED_METHODS
) -> tuple[list[Finding], dict[int, list[Finding]]]:
    """The checks that need no account data: total, ceiling, currency, method (`methods`: what the
    channel takes), kind, check digits, INT ASEC."""
    refusals: list[Finding] = []
    if payment.total_cents <= 0:
        refusals.append(Finding("012", "payment total must be above zero", "BPR", payment.position_of("BPR"), 2, "782",
                                format_cents(payment.total_cents), "820 guide BPR02"))
    elif payment.total_cents > max_payment_cents:
        refusals.append(Finding("012", f"payment total above the agency's ceiling of {format_cents(max_payment_cents)}", "BPR",
                                payment.position_of("BPR"), 2, "782", format_x12_amount(payment.total_cents), "decision E18"))
    if payment.method not in methods:
        if payment.method == "CHK":
            refusals.append(Finding("012", "cheques are not taken by EDI: mail them to headquarters", "BPR", payment.position_of("BPR"), 4,
                                    "591", payment.method, "D17-R26"))
        else:
            refusals.append(Finding("012", f"payment method {payment.method} is not accepted", "BPR", payment.position_of("BPR"), 4, "591",
                                    payment.method, "D17-R27"))
    if payment.currency is not None and payment.currency != "CAD":
        refusals.append(Finding("012", f"currency {payment.currency} is not accepted - CAD only", "CUR", payment.position_of("CUR"), 2, "100",
                                payment.currency, "D17-R29"))
    if payment.kind not in PAYMENT_KINDS:
        refusals.append(Finding("012", f"payment kind {payment.kind} is not SOA, ADV or INT", "REF", payment.position_of("KIND"), 2, "127",
                                payment.kind, "D17-R22"))
    bn9 = bn9_problem(payment.payer_bn9)
    if bn9:
        refusals.append(Finding("011", f"unknown payer - {bn9}", "N1", payment.position_of("PAYER"), 4, "67", payment.payer_bn9, "DOMAIN §1"))
    if payment.payer_asec is not None and asec_problem(payment.payer_asec):
        refusals.append(
            Finding("011", f"payer security account {payment.payer_asec} is malformed", "REF", payment.position_of("PAYER_ASEC"), 2, "127",
                    payment.payer_asec, "DOMAIN §1")
        )
    lines_total, non_positive, per_line = _line_checks(payment)
    for line in non_positive:
        refusals.append(
            Finding("012", f"line {line.number} amount must be above zero", "RMR", line.position, 4, "782", format_cents(line.amount_cents),
                    "820 guide RMR04")
        )
    if lines_total != payment.total_cents:
        refusals.append(
            Finding(
                "010",
                f"lines total {format_cents(lines_total)} != BPR02 {format_cents(payment.total_cents)}",
                "BPR",
                payment.position_of("BPR"),
                2,
                "782",
                format_cents(payment.total_cents),
                "820 guide: sum of RMR04 = BPR02",
            )
        )
    return refusals, per_line


def _line_checks(payment: Payment) -> tuple[int, list[RemittanceLine], dict[int, list[Finding]]]:
    """The lines' total, the lines whose amount is not above zero, and the findings of each line
    that is set aside (by `RemittanceLine.number`).  When every line passes — the usual payment —
    that is known without a Python call per line (`core.identifiers.all_fine`); else each line is
    asked for its findings."""
    lines = payment.lines
    amounts = list(map(_AMOUNT, lines))
    non_positive = [line for line in lines if line.amount_cents <= 0] if min(amounts, default=1) <= 0 else []
    per_line: dict[int, list[Finding]] = {}
    interim = payment.kind == "INT"
    asecs = [asec for asec in map(_ASEC, lines) if asec is not None]
    if (all(map(is_, map(_TRANSACTION, lines), repeat(None))) and (not interim or len(asecs) == len(lines))
            and all_fine(list(map(_ACCOUNT, lines)), asecs)):
        return sum(amounts), non_positive, per_line  # the usual payment: no line set aside, found without a loop
    for line in lines:
        problem = rm15_problem(line.rm15)
        if problem is None and line.asec is None and line.transaction_number is None and not interim:
            continue  # the usual line: nothing more to look at
        found: list[Finding] = []
        if problem:
            found.append(Finding("011", problem, "RMR", line.position, 2, "127", line.rm15, "DOMAIN §1"))
        if line.asec is not None and asec_problem(line.asec):
            found.append(Finding("011", f"security account {line.asec} is malformed", "REF", line.asec_position or line.position + 1, 2, "127",
                                 line.asec, "DOMAIN §1"))
        found += _aim_findings(payment, line)
        if interim and line.asec is None:
            found.append(
                Finding("007", "interim payment line needs its security account", "RMR", line.position, None, "", "", "D17-R22, 820 guide 9.2")
            )
        if found:
            per_line.setdefault(line.number, []).extend(found)
    return sum(amounts), non_positive, per_line


_AMOUNT, _ACCOUNT, _ASEC = attrgetter("amount_cents"), attrgetter("rm15"), attrgetter("asec")
_TRANSACTION, _FINDINGS = attrgetter("transaction_number"), attrgetter("findings")


def _aim_findings(payment: Payment, line: RemittanceLine) -> list[Finding]:
    """A line naming the debt it pays (REF*TN, decision L23): only an advance payment names one
    (D17-R22), and the name is a 14-digit transaction number (DOMAIN §1).  Either fault sets the
    line aside: the payer's instruction cannot be followed, so the money waits for a person."""
    number = line.transaction_number
    if number is None:
        return []
    where = ("REF", line.transaction_position, 2, "127", number)
    if not is_digits(number, 14, 14):
        return [Finding("011", f"transaction number {number} is not 14 digits", *where, "DOMAIN §1")]
    if payment.kind != "ADV":
        return [Finding("012", f"only an advance payment names a transaction - kind {payment.kind}", *where, "D17-R22, 820 guide 9.3")]
    return []


def judge(
    payment: Payment,
    checks: Sequence[Check] = (),
    *,
    max_payment_cents: int = DEFAULT_LIMITS.max_payment_cents,
    methods: frozenset[str] = ACCEPTED_METHODS,
) -> PaymentVerdict:
    """Run the account-free checks, then `checks` (the ledger's), and merge their findings;
    a total above `max_payment_cents` is refused (`edi.limits`); `methods` are the payment methods
    the channel takes (the 820's by default; a cheque entered at headquarters is judged with `CHK`)."""
    refusals, per_line = _syntax_free_checks(payment, max_payment_cents, methods)
    for check in checks:
        more_refusals, more_lines = check(payment)
        refusals += more_refusals
        for number, found in more_lines.items():
            per_line.setdefault(number, []).extend(found)
    if per_line:
        lines = tuple(LineVerdict(line, tuple(per_line.get(line.number, ()))) for line in payment.lines)
    else:  # every line applied
        lines = tuple(map(LineVerdict, payment.lines))
    return PaymentVerdict(payment, tuple(refusals), lines)


def _ted(finding: Finding) -> tuple[str, ...]:
    return (
        "TED",
        finding.code,
        finding.message[:60],
        finding.segment_id,
        "" if finding.position is None or finding.position > 999_999 else str(finding.position),  # TED04 N0 1/6
        "" if finding.element is None else str(finding.element),
        finding.data_element,
        finding.bad_value[:99],
    )


def advice_824_body(
    verdict: PaymentVerdict,
    *,
    group_sender: str,
    group_receiver: str,
    group_date: str,
    group_time: str,
    group_control: str,
    at: datetime,
) -> list[tuple[str, ...]]:
    """The body of the 824 answering one 820 set (BGN, OTI loops), without ST/SE."""
    p = verdict.payment
    src = p.source
    body: list[tuple[str, ...]] = [
        ("BGN", "11", f"{src.interchange}-{src.group}-{src.set_control}"[:30], at.strftime("%Y%m%d"), at.strftime("%H%M")),
        (
            "OTI",
            verdict.code,
            "TN",
            p.trace[:30],
            group_sender,
            group_receiver,
            group_date if is_digits(group_date, 8, 8) else "",
            group_time[:4] if is_digits(group_time[:4], 4, 4) else "",
            group_control,
            src.set_control,
            "820",
            "004010",
        ),
        ("AMT", "2", format_x12_amount(p.total_cents)),
    ]
    body += [_ted(f) for f in verdict.refusals]
    if not verdict.refusals:
        for lv in verdict.lines_with_findings:  # set aside
            body.append(("OTI", "IR", "11", lv.line.rm15[:30]))
            body.append(("AMT", "2", format_x12_amount(lv.line.amount_cents)))
            body += [_ted(f) for f in lv.findings]
    return body



def refusal_errors(refusals: Sequence[Finding]) -> tuple[SegmentError, ...]:
    """The 997's AK3/AK4 for a refused payment: each refusal points at its element (AK3 code 8,
    AK4 code 7: a value the guide does not accept) or at the segment it lacks (AK3 code 3)."""
    by_segment: dict[tuple[str, int], list[Finding]] = {}
    for f in refusals:
        by_segment.setdefault((f.segment_id, f.position or 0), []).append(f)
    errors = []
    for (segment_id, position), found in sorted(by_segment.items(), key=lambda item: item[0][1]):
        missing = [f for f in found if f.element is None]
        if missing:
            errors.append(SegmentError(segment_id, position, "", "3", missing[0].message))
            continue
        elements, seen = [], set()
        for f in found:
            if f.element not in seen:
                seen.add(f.element)
                elements.append(ElementError(f.element, None, f.data_element, "7", f.bad_value, f.message))
        errors.append(SegmentError(segment_id, position, "", "8", "; ".join(f.message for f in found), tuple(elements)))
    return tuple(errors)
