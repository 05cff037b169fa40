"""The documents the statements layer produces, as immutable typed records.

Amounts are integer cents, signed as the ledger signs receivables: positive
raises what the holder owes (a debt), negative lowers it (a payment, a credit).
Every `DocumentLine` points back at the journal entry and receivable item it comes
from (`entry_id`, `item_id`), so each number on a document traces to the books.

The records are named tuples: a monthly run makes ~10 for each of 100,000 accounts, and a
frozen dataclass's generated `__init__`, setting its fields one by one, cost several times as
much (decision S14). A record with another value is `record._replace(field=value)`.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from ledger.standing import Standing

__all__ = [
    "Party", "Holder", "DocumentLine", "DailyAccount", "DailyNotice", "DaySummary", "BrokerTotal",
    "StatementAccount", "Statement", "Document", "LINE_TYPES",
]

#: Journal reasons → the line type documents show (the XSDs enumerate these).
LINE_TYPES = {
    "DECLARATION": "DECLARATION",
    "REASSESSMENT": "REASSESSMENT",
    "REFUND": "CREDIT",
    "PAYMENT": "PAYMENT",
    "OFFSET": "OFFSET",
    "DISBURSEMENT": "DISBURSEMENT",
    "INTEREST": "INTEREST",
    "PENALTY": "PENALTY",
    "ADMIN_FEE": "FEE",
    "CORRECTION": "CORRECTION",
    "SUSPENSE_APPLIED": "PAYMENT",  # a payment line, applied once an operator found its account
    "CHEQUE_RETURNED": "CORRECTION",  # a returned cheque's payment reversed (D17-R26 c)
    "RETURNED_CHEQUE_FEE": "FEE",
}


class Party(NamedTuple):
    """Who receives a document (D17-R16: the holder or its one designated agent).

    Attributes:
        bn9: business number.
        name: legal name.
        language: `en` or `fr`, the business's preferred language (G-R1).
    """

    bn9: str
    name: str
    language: str


class Holder(NamedTuple):
    """Whose account a document is about (D17-R2, R16).

    Attributes:
        kind: `importer` (keyed by `rm15`) or `broker` (keyed by `bn9` + `asec`).
        bn9 / name: the business.
        rm15: the importer's program account.
        asec: the broker's security account.
    """

    kind: str
    bn9: str
    name: str
    rm15: str | None = None
    asec: str | None = None

    @property
    def key(self) -> str:
        return self.rm15 if self.kind == "importer" else f"{self.bn9}{self.asec}"


class DocumentLine(NamedTuple):
    """One movement of one receivable item in one journal entry.

    Attributes:
        date: the entry date.
        type: a value of `LINE_TYPES`.
        amount_cents: signed cents (positive = owed more).
        description: the ledger's own description of the item (English).
        kind / component / transaction_number / asec / due_date / under_review: the item's facts.
        reference: trace number of a payment, reference of an adjustment.
        status: `O` for an offset (D17-R15).
        entry_id / item_id: where it comes from in the journal.
    """

    date: date
    type: str
    amount_cents: int
    description: str
    kind: str
    component: str | None
    transaction_number: str | None
    asec: str | None
    due_date: date | None
    under_review: bool
    reference: str | None
    status: str | None
    entry_id: int
    item_id: int


class DailyAccount(NamedTuple):
    """One program account's section of a Daily Notice (D17-R14)."""

    rm15: str
    name: str
    transactions: tuple[DocumentLine, ...]
    other: tuple[DocumentLine, ...]
    under_review: tuple[DocumentLine, ...]
    closing_balance_cents: int

    @property
    def net_change_cents(self) -> int:
        return sum(line.amount_cents for line in self.transactions + self.other + self.under_review)


class DailyNotice(NamedTuple):
    """A Daily Notice: what was recorded on an account the previous business day (D17-R14).

    Attributes:
        issue_date: the day it is issued (Tuesday–Saturday).
        activity_date: the business day it reports.
        activity_from: first entry date included (the day after the previous business day,
            so postings dated on a weekend or holiday appear on the next notice).
        recipient / holder: who receives it, whose account it is.
        accounts: one section per program account (several on a broker's notice).
        sequence: the recipient's document number for the day (set when emitted).
    """

    issue_date: date
    activity_date: date
    activity_from: date
    recipient: Party
    holder: Holder
    accounts: tuple[DailyAccount, ...]
    sequence: int = 0

    doc_type = "DN"

    @property
    def doc_date(self) -> date:
        return self.issue_date

    @property
    def net_change_cents(self) -> int:
        return sum(a.net_change_cents for a in self.accounts)

    @property
    def closing_balance_cents(self) -> int:
        return sum(a.closing_balance_cents for a in self.accounts)


class DaySummary(NamedTuple):
    """The declarations accounted on one day that fall due on the statement's due date.

    Attributes:
        date: the accounting date.
        transactions: (transaction number, security account, cents) per declaration and security
            account answering for it.
    """

    date: date
    transactions: tuple[tuple[str, str | None, int], ...]

    @property
    def total_cents(self) -> int:
        return sum(t[2] for t in self.transactions)

    @property
    def declaration_count(self) -> int:
        """Declarations of the day: one shown in two parts (its GST owed directly, D17-R5) counts once."""
        return len({t[0] for t in self.transactions})


class BrokerTotal(NamedTuple):
    """The part of an importer's total payable secured by a broker's security account (D17-R4)."""

    bn9: str
    name: str
    asec: str
    amount_cents: int


class StatementAccount(NamedTuple):
    """One program account's part of a Statement of Account (D17-R15).

    `opening_cents` (box D) + every section's total = `total_payable_cents` (box I).
    """

    rm15: str
    name: str
    opening_cents: int
    daily: tuple[DaySummary, ...]
    other: tuple[DocumentLine, ...]
    under_review: tuple[DocumentLine, ...]
    payments: tuple[DocumentLine, ...]
    interest: tuple[DocumentLine, ...]
    penalties: tuple[DocumentLine, ...]
    fees: tuple[DocumentLine, ...]
    broker_totals: tuple[BrokerTotal, ...] = ()
    measures: Standing | None = None  # D17-R38 measures in force at the period end

    @property
    def daily_total_cents(self) -> int:
        return sum(d.total_cents for d in self.daily)

    @property
    def sections(self) -> tuple[tuple[str, tuple[DocumentLine, ...]], ...]:
        return (
            ("other", self.other), ("under_review", self.under_review), ("payments", self.payments),
            ("interest", self.interest), ("penalties", self.penalties), ("fees", self.fees),
        )

    @property
    def total_payable_cents(self) -> int:
        return self.opening_cents + self.daily_total_cents + sum(line.amount_cents for _, lines in self.sections for line in lines)

    @property
    def importer_total_cents(self) -> int:
        return self.total_payable_cents - sum(b.amount_cents for b in self.broker_totals)


class Statement(NamedTuple):
    """A Statement of Account for one billing period (D17-R15).

    Attributes:
        period / period_start / period_end: the billing period (`YYYY-MM`, first and last day).
        statement_date: the day it is issued (the 25th).
        due_date: the payment due date (D17-R31).
        recipient / holder: who receives it, whose account it is.
        accounts: one for an importer; one per client account on a broker's statement.
        sequence: the recipient's document number for the day (set when emitted).
    """

    period: str
    period_start: date
    period_end: date
    statement_date: date
    due_date: date
    recipient: Party
    holder: Holder
    accounts: tuple[StatementAccount, ...]
    sequence: int = 0

    doc_type = "SOA"

    @property
    def doc_date(self) -> date:
        return self.statement_date

    @property
    def grand_total_cents(self) -> int:
        return sum(a.total_payable_cents for a in self.accounts)


Document = DailyNotice | Statement
