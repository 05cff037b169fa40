"""Applying an 820 payment to the books: one balanced entry per payment (D17-R18).

`plan_payments` turns the judged payments of a file into plans, against a `Snapshot` of
the open items of the accounts they pay:

* BANK is debited with the total;
* each applicable line is allocated to the account's open items, oldest due first
  (`allocation_order`, decision L3), restricted to the items of the security account the
  line names when it names one (or, for a broker, the broker's own); an advance payment
  line naming a transaction (REF*TN) pays that transaction's open items first, then the
  others in the same order (`aimed_first`, decision L23);
* what a line leaves over stays on the account as an unapplied credit tagged with that
  security account — an interim payment (D17-R22) is entirely such a credit: it lowers
  the security's utilization and is applied at the next close or due date (decision L4);
* lines set aside go to SUSPENSE against payer and trace — never dropped — until an
  operator applies or returns them (`ledger.suspense`);
* a refused payment (its 997 was negative, so the FI holds no proof of payment) and a
  duplicate are recorded, and neither posted nor held (820 guide, decision L10).

Each plan also carries the `payment` and `payment_line` records and the payer's notice.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from core.identifiers import is_valid_bn9
from edi.advice import LineVerdict, PaymentVerdict
from edi.payments import Payment, RemittanceLine

from .calendar import Period, billed_by_calendar_month, payment_day, period_of
from .model import Account, Entry, Item, ItemKind, JournalLine, NewItem, Notice, NoticeKind, PaymentStatus, Reason
from .policy import COMPONENTS, Policy
from .snapshot import Snapshot

__all__ = [
    "PaymentRecord", "PaymentLineRecord", "PostedPayment", "PaymentPlan", "PaymentPart", "PART_LINES",
    "allocation_order", "administrative_fee_cents", "statement_balances", "last_statement", "open_debts", "apply_to_debts", "aimed_first",
    "plan_payments",
]


def allocation_order(policy: Policy):
    """Sort key for open items (decision L3): oldest due first; within a due date the
    policy's kind order (declarations before interest, penalties, fees), then the
    oldest declaration, each declaration settled whole in the component order
    duty, SIMA, excise duty, excise tax, GST; then the order the items were created."""
    kinds = {k: i for i, k in enumerate(policy.allocation_order)}
    components = {c: i for i, c in enumerate(COMPONENTS)}

    def key(it: Item):
        return (
            it.due_date or it.posted_on,
            kinds.get(it.kind, len(kinds)),
            it.posted_on,
            it.transaction_number or "",
            components.get(it.component or "", len(components)),
            it.id is None,  # items not yet written come after every written one, in creation order
            it.id or 0,
        )

    return key


def administrative_fee_cents(method: str, kind: str, paid_cents: int, balance_due_cents: int, policy: Policy) -> int:
    """D17-R34: a partial payment of a statement balance may bring an administrative fee
    (manual allocation); waived when paid electronically.  The 820 carries only electronic
    methods (ACH, BOP), so EDI payments never bear it; a cheque entered at headquarters
    (`ledger.channels`) may."""
    if kind != "SOA" or method in policy.electronic_methods or paid_cents >= balance_due_cents:
        return 0
    return policy.admin_fee_cents


def last_statement(day: date, policy: Policy, calendar_month: bool = False) -> Period:
    """The billing period whose statement is the latest issued on or before `day`."""
    period = period_of(day, policy, calendar_month)
    while True:
        period = period_of(period.start - timedelta(days=1), policy, calendar_month)
        if period.statement_date <= day:
            return period


def statement_balances(
    snapshot: Snapshot, rm15s: Iterable[str], day: date, policy: Policy, monthly: frozenset[str] = frozenset()
) -> dict[str, int]:
    """D17-R34 « l'intégralité du solde de leur compte »: what each account still owes of what its
    latest statement as of `day` billed — its open debt posted on or before that period's end
    (decision L24); `monthly` are the accounts billed by calendar month (decision L17)."""
    balances: dict[str, int] = {}
    for rm15 in sorted(set(rm15s)):
        end = last_statement(day, policy, billed_by_calendar_month(rm15, rm15 in monthly, policy)).end
        balances[rm15] = sum(it.balance_cents for it in snapshot.items(rm15) if it.balance_cents > 0 and it.posted_on <= end)
    return balances


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One 820 set's payment row, whatever its fate."""

    fi: str
    trace: str
    file_digest: str
    interchange: str
    group_control: str
    set_control: str
    kind: str
    method: str
    total_cents: int
    payer_bn9: str
    payer_asec: str | None
    received_at: datetime
    payment_day: date
    verdict: str
    status: str
    suspense_cents: int
    entry_key: str | None


class PaymentLineRecord(NamedTuple):
    """A remittance line as received and what became of it (a named tuple, decision L33)."""

    line_no: int
    rm15: str
    asec: str | None
    amount_cents: int
    applied: bool
    reason: str | None
    transaction_number: str | None = None


@dataclass(frozen=True, slots=True)
class PostedPayment:
    """What posting did with one payment."""

    fi: str
    trace: str
    status: str
    applied_cents: int
    credit_cents: int
    suspense_cents: int


@dataclass(frozen=True, slots=True)
class PaymentPart:
    """A slice of one payment's plan, written before the next is planned (decision L31): the items
    it opens, its journal lines (all of the payment's entry), the records of the remittance lines it covers."""

    items: tuple[NewItem, ...] = ()
    lines: tuple[JournalLine, ...] = ()
    records: tuple[PaymentLineRecord, ...] = ()


def open_debts(snapshot: Snapshot, rm15s: Sequence[str], policy: Policy) -> dict[str, list[Item]]:
    """The open debts of each account, in the order a payment reaches them (decision L3)."""
    order = allocation_order(policy)
    return {rm15: sorted((it for it in snapshot.items(rm15) if it.balance_cents > 0), key=order) for rm15 in rm15s}


def apply_to_debts(
    amount_cents: int, rm15: str, restrict_asec: str | None, debts: Iterable[Item], remaining: dict[str, int]
) -> tuple[list[JournalLine], int]:
    """AR credit lines paying `debts` (oldest due first) with `amount_cents`, only those secured by
    `restrict_asec` when one is named; `remaining` (item key → balance left) is updated.
    Returns the lines and what is left over."""
    lines: list[JournalLine] = []
    left = amount_cents
    for it in debts:
        if left == 0:
            break
        owed = remaining[it.key]
        if owed <= 0 or (restrict_asec and it.asec != restrict_asec):
            continue
        take = owed if owed < left else left
        lines.append(JournalLine(Account.AR, credit_cents=take, rm15=rm15, item_key=it.key))
        remaining[it.key] = owed - take
        left -= take
    return lines, left


def aimed_first(debts: Sequence[Item], transaction_number: str | None) -> Sequence[Item]:
    """`debts` with those of the transaction an advance payment names first, each group in its
    usual order (D17-R22: « afin de rembourser … une dette en particulier », decision L23)."""
    if transaction_number is None:
        return debts
    return [it for it in debts if it.transaction_number == transaction_number] + [
        it for it in debts if it.transaction_number != transaction_number]


def _unsettled(debts: deque[Item], remaining: dict[str, int]) -> deque[Item]:
    """`debts` without the settled ones at its head: a file paying an account's items one line
    each walks each item once, not once per line before it."""
    while debts and remaining[debts[0].key] <= 0:
        debts.popleft()
    return debts


class _Allocator:
    """A payment's applicable lines allocated part by part: the accounts' debts and what is left of
    each are carried from one part to the next, so parts allocate exactly as the whole would."""

    def __init__(self, p: Payment, verdict: PaymentVerdict, day: date, snapshot: Snapshot, policy: Policy, is_broker: bool) -> None:
        self._p, self._day, self._is_broker = p, day, is_broker
        self._interim = p.kind == "INT"  # an interim payment waits for the next SOA (D17-R22)
        # a deque only for an account with debts: an empty one costs ~600 bytes, and a payment may pay 100,000 accounts
        self._debts = {rm15: deque(items) for rm15, items in open_debts(
            snapshot, sorted({lv.line.rm15 for lv in verdict.lines if lv.applied}) if not self._interim else [], policy).items() if items}
        self._remaining = {it.key: it.balance_cents for items in self._debts.values() for it in items}
        self.applied_cents = self.credit_cents = 0

    def part(self, verdicts: Sequence[LineVerdict]) -> PaymentPart:
        """AR credit lines for the applicable lines among `verdicts`, the credit items they open, the line records."""
        p, debts, remaining = self._p, self._debts, self._remaining
        lines: list[JournalLine] = []
        items: list[NewItem] = []
        records: list[PaymentLineRecord] = []
        for lv in verdicts:
            line = lv.line
            asec = line.asec or p.payer_asec
            if not lv.applied:
                reason = "; ".join(f"{f.code} {f.message}" for f in lv.findings)
                records.append(PaymentLineRecord(line.number, line.rm15, asec, line.amount_cents, False, reason, line.transaction_number))
                continue
            records.append(PaymentLineRecord(line.number, line.rm15, asec, line.amount_cents, True, None, line.transaction_number))
            left = line.amount_cents
            if not self._interim:
                restrict = line.asec if line.asec else (p.payer_asec if self._is_broker else None)
                debts_of = debts.get(line.rm15)
                if debts_of:
                    owed = aimed_first(_unsettled(debts_of, remaining), line.transaction_number)
                    paid, left = apply_to_debts(left, line.rm15, restrict, owed, remaining)
                    lines += paid
                    self.applied_cents += line.amount_cents - left
            if left:
                items.append(_credit_item(p, line, asec, self._day))
                lines.append(JournalLine(Account.AR, credit_cents=left, rm15=line.rm15, item_key=items[-1].key))
                self.credit_cents += left
        return PaymentPart(tuple(items), tuple(lines), tuple(records))


def _credit_item(p: Payment, line: RemittanceLine, asec: str | None, day: date) -> NewItem:
    """The item holding what a line leaves over: an unapplied credit (or, for an interim payment, all of it)."""
    return NewItem(
        key=f"pay:{p.source.sender}:{p.trace}:{line.number}",
        rm15=line.rm15,
        kind=ItemKind.PAYMENT,
        asec=asec,
        agent_bn9=p.payer_bn9 if p.payer_bn9 != line.rm15[:9] else None,
        posted_on=day,
        description=f"{'interim' if p.kind == 'INT' else 'unapplied'} payment {p.trace} line {line.number}",
    )


def _findings(verdict: PaymentVerdict) -> list[str]:
    return [f"{f.code} {f.message}" for f in verdict.refusals] + [
        f"line {lv.line.number}: {f.code} {f.message}" for lv in verdict.lines for f in lv.findings
    ]


def _record(
    p: Payment, verdict: PaymentVerdict, received_at: datetime, day: date, status: str, suspense: int, entry_key: str | None
) -> PaymentRecord:
    src = p.source
    return PaymentRecord(
        fi=src.sender, trace=p.trace, file_digest=src.file_digest, interchange=src.interchange, group_control=src.group,
        set_control=src.set_control, kind=p.kind, method=p.method, total_cents=p.total_cents, payer_bn9=p.payer_bn9,
        payer_asec=p.payer_asec, received_at=received_at, payment_day=day, verdict=verdict.code, status=status,
        suspense_cents=suspense, entry_key=entry_key,
    )


#: Remittance lines planned and written at a time (decision L31): a payment's memory is that of a part, not of its lines.
PART_LINES = 2_000


class PaymentPlan:
    """The plan for one production payment (see the module doc), made in parts.

    `record` is its `payment` row and `entry` the header of its journal entry (`lines` empty; None
    when nothing is posted: refused, duplicate); `parts()` plans its lines `part_lines` at a time —
    the BANK debit, each part's allocations, then the fees and the suspense — each part folded
    into the snapshot by the caller before the next is asked for.  Once they are all taken,
    `notice` and `posted` say what it did."""

    def __init__(self, p: Payment, verdict: PaymentVerdict, *, received_at: datetime, snapshot: Snapshot, policy: Policy,
                 is_broker: bool, monthly: frozenset[str] = frozenset(), part_lines: int = PART_LINES) -> None:
        self._p, self._verdict, self._snapshot, self._policy, self._is_broker, self._monthly = p, verdict, snapshot, policy, is_broker, monthly
        self._part_lines = part_lines
        fi = p.source.sender
        self._day = day = payment_day(received_at, p.method, policy)
        self._code, self._suspense = verdict.code, verdict.suspense_cents  # each a pass over the lines
        if verdict.duplicate:
            status = PaymentStatus.DUPLICATE
        elif verdict.refusals:
            status = PaymentStatus.REFUSED
        else:
            status = PaymentStatus.POSTED
        suspense = self._suspense if status != PaymentStatus.DUPLICATE else 0
        # a posted payment always debits BANK; a refused one posts nothing (its 997 was negative)
        self.entry = Entry(f"pay:{fi}:{p.trace}", day, Reason.PAYMENT, f"{p.kind} payment {p.trace} from {p.payer_bn9} via {fi}", (),
                           source=p.source.file_digest) if status == PaymentStatus.POSTED else None
        self.record = _record(p, verdict, received_at, day, status, suspense, self.entry.key if self.entry else None)
        self.notice: Notice | None = None
        self.posted = PostedPayment(fi, p.trace, status, 0, 0, suspense)

    def parts(self) -> Iterator[PaymentPart]:
        p, verdict, policy, day, monthly, fi = self._p, self._verdict, self._policy, self._day, self._monthly, self._p.source.sender
        if self.record.status == PaymentStatus.DUPLICATE:
            return
        allocator = None
        if self.entry is not None:
            billed: dict[str, int] = {}
            paid: dict[str, int] = {}
            if p.method not in policy.electronic_methods:
                for lv in verdict.applicable_lines:
                    paid[lv.line.rm15] = paid.get(lv.line.rm15, 0) + lv.line.amount_cents
                billed = statement_balances(self._snapshot, paid, day, policy, monthly)
            allocator = _Allocator(p, verdict, day, self._snapshot, policy, self._is_broker)
            yield PaymentPart(lines=(JournalLine(Account.BANK, debit_cents=p.total_cents, party=fi, trace=p.trace),))
            for start in range(0, len(verdict.lines), self._part_lines):
                yield allocator.part(verdict.lines[start:start + self._part_lines])
            items: list[NewItem] = []
            lines: list[JournalLine] = []
            for rm15, balance in billed.items():
                fee = administrative_fee_cents(p.method, p.kind, paid[rm15], balance, policy)
                if fee:
                    # due with the statement it appears on (D17-R35: « apparaîtront dans le solde mensuel »)
                    due = period_of(day, policy, billed_by_calendar_month(rm15, rm15 in monthly, policy)).due_date
                    fee_item = NewItem(key=f"fee:{fi}:{p.trace}:{rm15}", rm15=rm15, kind=ItemKind.FEE, posted_on=day, due_date=due,
                                       description=f"administrative fee: partial non-electronic payment {p.trace}")
                    items.append(fee_item)
                    lines += [JournalLine(Account.AR, debit_cents=fee, rm15=rm15, item_key=fee_item.key),
                              JournalLine(Account.FEE, credit_cents=fee, rm15=rm15)]
            if self._suspense:
                lines.append(JournalLine(Account.SUSPENSE, credit_cents=self._suspense, party=p.payer_bn9, trace=p.trace))
            if items or lines:
                yield PaymentPart(tuple(items), tuple(lines))
        applied, credit = (allocator.applied_cents, allocator.credit_cents) if allocator else (0, 0)
        self.posted = PostedPayment(fi, p.trace, self.record.status, applied, credit, self._suspense)
        kind = NoticeKind.PAYMENT_REFUSED if verdict.refusals else (
            NoticeKind.PAYMENT_SET_ASIDE if self._code == "TE" else NoticeKind.PAYMENT_APPLIED)
        if is_valid_bn9(p.payer_bn9):  # a payer that is no business number has no one to read a notice (its FI has the 824)
            self.notice = Notice(
                f"{kind}:{fi}:{p.trace}", day, p.payer_bn9, None, kind,
                {"trace": p.trace, "total_cents": p.total_cents, "applied_cents": applied, "credit_cents": credit,
                 "suspense_cents": self._suspense, "verdict": self._code, "findings": _findings(verdict)},
            )


def plan_payments(
    judged: Sequence[tuple[Payment, PaymentVerdict]],
    *,
    received_at: datetime,
    snapshot: Snapshot,
    policy: Policy,
    brokers: frozenset[str],
    monthly: frozenset[str] = frozenset(),
    part_lines: int = PART_LINES,
) -> Iterator[PaymentPlan]:
    """Plans for the production payments of one file, each seeing the ones before it (its parts
    folded into `snapshot` by the caller as it takes them); `monthly`: the accounts their
    reference data bills by calendar month."""
    for payment, verdict in judged:
        if not payment.source.test:
            yield PaymentPlan(payment, verdict, received_at=received_at, snapshot=snapshot, policy=policy,
                              is_broker=payment.payer_bn9 in brokers, monthly=monthly, part_lines=part_lines)
