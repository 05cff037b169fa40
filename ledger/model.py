"""The ledger's records and vocabularies: what the rules read and what they plan.

Rules take `Item`s (receivable items with their balance, read by the store) and return
plans made of `NewItem`s, `Entry`s and `Notice`s; the store writes a plan in one go.
A journal line names the item it is about by the item's key, so a plan can create an
item and post to it in the same breath.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple

__all__ = [
    "Account", "Reason", "ItemKind", "PaymentStatus", "NoticeKind", "ACCOUNTS", "REASONS",
    "DEBT_KINDS", "INTEREST_BEARING", "URGENT_KINDS",
    "Item", "NewItem", "JournalLine", "Entry", "Notice", "Plan",
]


class Account(StrEnum):
    """The chart of accounts.  AR is what importers owe (debit) or are owed (credit)."""

    AR = "AR"
    BANK = "BANK"
    SUSPENSE = "SUSPENSE"
    REVENUE = "REVENUE"
    REFUND = "REFUND"
    INTEREST = "INTEREST"
    PENALTY = "PENALTY"
    FEE = "FEE"
    DISBURSE = "DISBURSE"


ACCOUNTS = {
    Account.AR: "accounts receivable, per program account and item",
    Account.BANK: "money received from a financial institution, per FI",
    Account.SUSPENSE: "money received that cannot be applied yet, per payer and trace",
    Account.REVENUE: "duties and taxes assessed",
    Account.REFUND: "refunds granted as credits (D17-R9)",
    Account.INTEREST: "interest charged (D17-R33)",
    Account.PENALTY: "late-payment penalties (D17-R33)",
    Account.FEE: "administrative fees (D17-R34)",
    Account.DISBURSE: "credit balances paid out to importers (D17-R13)",
}


class Reason(StrEnum):
    """Why an entry was posted (one per entry)."""

    DECLARATION = "DECLARATION"
    REASSESSMENT = "REASSESSMENT"
    REFUND = "REFUND"
    PAYMENT = "PAYMENT"
    OFFSET = "OFFSET"
    DISBURSEMENT = "DISBURSEMENT"
    INTEREST = "INTEREST"
    PENALTY = "PENALTY"
    ADMIN_FEE = "ADMIN_FEE"
    CORRECTION = "CORRECTION"
    SUSPENSE_APPLIED = "SUSPENSE_APPLIED"
    SUSPENSE_RETURNED = "SUSPENSE_RETURNED"
    CHEQUE_RETURNED = "CHEQUE_RETURNED"
    RETURNED_CHEQUE_FEE = "RETURNED_CHEQUE_FEE"


REASONS = {
    Reason.DECLARATION: "an accounted declaration's duties and taxes",
    Reason.REASSESSMENT: "a B2 adjustment raising a debt",
    Reason.REFUND: "a refund credited to the account (D17-R9)",
    Reason.PAYMENT: "an EDI 820 payment applied",
    Reason.OFFSET: "credits offsetting debts at period end (D17-R10, R11)",
    Reason.DISBURSEMENT: "a credit balance paid out (D17-R12, R13)",
    Reason.INTEREST: "interest on overdue balances (D17-R33)",
    Reason.PENALTY: "late-payment penalty (D17-R33)",
    Reason.ADMIN_FEE: "administrative fee for a partial non-electronic payment (D17-R34)",
    Reason.CORRECTION: "an adjusting entry correcting an earlier one (D17-R18)",
    Reason.SUSPENSE_APPLIED: "money held in suspense applied to an account by an operator",
    Reason.SUSPENSE_RETURNED: "money held in suspense returned to the financial institution",
    Reason.CHEQUE_RETURNED: "a cheque returned by the bank: its payment entry reversed (D17-R26 c)",
    Reason.RETURNED_CHEQUE_FEE: "the fee for a cheque returned by the bank (D17-R26 c)",
}


class ItemKind(StrEnum):
    """What a receivable item is about."""

    DECLARATION = "declaration"  # one component of an accounted declaration
    ADJUSTMENT = "adjustment"  # a B2 reassessment
    INTEREST = "interest"
    PENALTY = "penalty"
    FEE = "fee"
    CREDIT = "credit"  # a refund
    PAYMENT = "payment"  # an unapplied or interim payment


#: Item kinds that are debts (positive balances); `credit` and `payment` items are credits.
DEBT_KINDS = (ItemKind.DECLARATION, ItemKind.ADJUSTMENT, ItemKind.INTEREST, ItemKind.PENALTY, ItemKind.FEE)
#: Item kinds on which interest runs (D17-R33: the unpaid balance; penalties and fees do not bear interest).
INTEREST_BEARING = (ItemKind.DECLARATION, ItemKind.ADJUSTMENT, ItemKind.INTEREST)


class PaymentStatus(StrEnum):
    POSTED = "posted"  # applied, left as credit, or set aside in suspense line by line
    REFUSED = "refused"  # refused whole: negative 997, neither posted nor held
    DUPLICATE = "duplicate"  # its trace number was already posted by the same FI


class NoticeKind(StrEnum):
    """Notices (avis) the ledger raises (G-R1)."""

    PAYMENT_APPLIED = "payment_applied"
    PAYMENT_SET_ASIDE = "payment_set_aside"
    PAYMENT_REFUSED = "payment_refused"
    ARREARS = "arrears"
    DISBURSEMENT = "disbursement"
    SECURITY_EXCEEDED = "security_exceeded"
    RELATIONSHIP_GRANTED = "relationship_granted"
    RELATIONSHIP_CHANGED = "relationship_changed"
    RELATIONSHIP_ENDED = "relationship_ended"
    SUSPENSE_APPLIED = "suspense_applied"
    SUSPENSE_RETURNED = "suspense_returned"
    CORRECTION_APPROVED = "correction_approved"
    CORRECTION_REJECTED = "correction_rejected"
    STANDING_MEASURES = "standing_measures"
    STANDING_RESTORED = "standing_restored"
    CHEQUE_RETURNED = "cheque_returned"


#: Kinds always sent, whatever the holder's e-mail subscription (G-R1).
URGENT_KINDS = frozenset(
    {NoticeKind.PAYMENT_REFUSED, NoticeKind.PAYMENT_SET_ASIDE, NoticeKind.ARREARS, NoticeKind.SECURITY_EXCEEDED,
     NoticeKind.STANDING_MEASURES, NoticeKind.CHEQUE_RETURNED}
)


class Item(NamedTuple):
    """A receivable item with its balance (positive = owed, negative = credit); a named tuple
    (decision L33: a payment's accounts' open items are read by the thousand).

    Attributes:
        id: the store's row id (its order is the order items were created), or None for an
            item a plan creates.
        key: the item's natural key (`decl:<number>:<component>`, `pay:<fi>:<trace>:<line>`…).
        rm15 / asec / agent_bn9: the program account, the security account it is tagged
            with (D17-R4), the agent associated with it (D17-R11).
        kind / component / transaction_number: what it is about.
        posted_on / due_date: when it arose and when it is due.
        under_review: a declaration under review bears no penalty or interest.
        description: the ledger's own words (English).
        balance_cents: signed cents.
    """

    id: int | None
    key: str
    rm15: str
    asec: str | None
    agent_bn9: str | None
    kind: str
    component: str | None
    transaction_number: str | None
    posted_on: date
    due_date: date | None
    under_review: bool
    description: str
    balance_cents: int


@dataclass(frozen=True, slots=True)
class NewItem:
    """A receivable item a plan creates (idempotent on its key)."""

    key: str
    rm15: str
    kind: str
    posted_on: date
    description: str
    due_date: date | None = None
    asec: str | None = None
    agent_bn9: str | None = None
    component: str | None = None
    transaction_number: str | None = None
    under_review: bool = False

    def opened(self, balance_cents: int = 0) -> Item:
        """The item as the rules see it once created, before any line."""
        return Item(None, self.key, self.rm15, self.asec, self.agent_bn9, self.kind, self.component,
                    self.transaction_number, self.posted_on, self.due_date, self.under_review, self.description, balance_cents)


class JournalLine(NamedTuple):
    """One side of one movement (a named tuple, decision L33: a payment makes one per allocation).

    Attributes:
        account: an `Account`.
        debit_cents / credit_cents: exactly one is above zero.
        rm15 / item_key: for AR lines, the program account and the item (by key).
        party / trace: for BANK and SUSPENSE lines, who and which payment.
    """

    account: str
    debit_cents: int = 0
    credit_cents: int = 0
    rm15: str | None = None
    item_key: str | None = None
    party: str | None = None
    trace: str | None = None

    @property
    def signed_cents(self) -> int:
        return self.debit_cents - self.credit_cents


@dataclass(frozen=True, slots=True)
class Entry:
    """A balanced journal entry.

    Attributes:
        key: idempotency key from the source document (declaration number, FI + trace…).
        day: the business date it is booked on.
        reason: a `Reason`.
        description: for people.
        lines: the movements.
        source: the digest of the file it came from, when it came from one.
        reverses: the id of the entry a correction reverses.
    """

    key: str
    day: date
    reason: str
    description: str
    lines: tuple[JournalLine, ...]
    source: str | None = None
    reverses: int | None = None

    @property
    def total_cents(self) -> int:
        return sum(line.debit_cents for line in self.lines)


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice (avis) to record once: its key says what it is about; `data` the facts it states."""

    key: str
    day: date
    bn9: str
    rm15: str | None
    kind: str
    data: dict


@dataclass
class Plan:
    """What a rule decided, for the store to write in order: items first, then entries, then notices."""

    items: list[NewItem] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def extend(self, other: Plan) -> None:
        self.items += other.items
        self.entries += other.entries
        self.notices += other.notices
