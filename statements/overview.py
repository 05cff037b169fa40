"""The importer account balance overview (aperçu du solde du compte de l'importateur) — D17-R17.

The memo defines it as « un rapport qui répertorie toutes les déclarations en détail sur
un compte de douane d'un importateur ».  `balance_overview(conn, rm15, as_of)` lists every
declaration of the program account with its components, and for each what was charged,
what was paid (payments, credits and offsets taken off it), what is still open, its due
date and its status; then the account's other open items (reassessments, interest,
penalties, fees, unapplied credits), so that the open amounts add up to the account's
balance.

*As of a date* means the journal as it stood at the end of that day: only entries dated
on or before `as_of` count, so the overview of a past day is the same whenever it is
asked for (decision L20).  Status (`DeclarationStatus`) follows the ledger's own reading
of "overdue" (D17-R36, `ledger.accounts`): an open debt is overdue from the day after its
due date, unless it is under review.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import Connection, case, func, select

from ledger.model import DEBT_KINDS, Account, ItemKind, Reason
from store.schema import ar_item, business, journal_entry, journal_line, program_account

from .errors import UnknownAccount
from .model import Holder, Party

__all__ = [
    "DeclarationStatus", "ComponentBalance", "DeclarationBalance", "OpenItem", "BalanceOverview",
    "UnknownAccount", "balance_overview", "status_of",
]


class DeclarationStatus(StrEnum):
    """Where a declaration (or another item) stands on the overview's day."""

    PAID = "PAID"  # nothing left open
    PARTLY_PAID = "PARTLY_PAID"  # some paid, the rest open and not yet overdue
    NOT_YET_DUE = "NOT_YET_DUE"  # nothing paid, the due date not passed
    OVERDUE = "OVERDUE"  # open after its due date (D17-R36)
    UNDER_REVIEW = "UNDER_REVIEW"  # open and under review: bears no penalty or interest
    CREDIT = "CREDIT"  # a credit standing on the account (negative open amount)


def status_of(open_cents: int, paid_cents: int, due_date: date | None, under_review: bool, as_of: date) -> DeclarationStatus:
    """The status of an amount `open_cents` still open of which `paid_cents` was paid, on `as_of`."""
    if open_cents < 0:
        return DeclarationStatus.CREDIT
    if open_cents == 0:
        return DeclarationStatus.PAID
    if under_review:
        return DeclarationStatus.UNDER_REVIEW
    if due_date is not None and due_date < as_of:  # owed from the day after the due date (D17-R33, R36)
        return DeclarationStatus.OVERDUE
    return DeclarationStatus.PARTLY_PAID if paid_cents > 0 else DeclarationStatus.NOT_YET_DUE


@dataclass(frozen=True, slots=True)
class ComponentBalance:
    """One component of a declaration (duty, SIMA, excise duty, excise tax, GST).

    Attributes:
        component: the component's code.
        charged_cents: what the declaration charged for it.
        paid_cents: what payments, credits and offsets took off it by the overview's day.
        open_cents: what is still owed (`charged_cents - paid_cents`).
    """

    component: str
    charged_cents: int
    paid_cents: int
    open_cents: int


@dataclass(frozen=True, slots=True)
class DeclarationBalance:
    """One declaration on the account (its transaction number) as of the overview's day.

    Attributes:
        transaction_number / accounted_on / asec / due_date / under_review: the declaration's facts.
        components: in the order the ledger settles them (duty, SIMA, excise duty, excise tax, GST).
        status: a `DeclarationStatus`.
    """

    transaction_number: str
    accounted_on: date
    asec: str | None
    due_date: date | None
    under_review: bool
    components: tuple[ComponentBalance, ...]
    status: DeclarationStatus

    @property
    def charged_cents(self) -> int:
        return sum(c.charged_cents for c in self.components)

    @property
    def paid_cents(self) -> int:
        return sum(c.paid_cents for c in self.components)

    @property
    def open_cents(self) -> int:
        return sum(c.open_cents for c in self.components)


@dataclass(frozen=True, slots=True)
class OpenItem:
    """Another item open on the account: a B2 reassessment, interest, a penalty, a fee, a credit.

    Attributes:
        kind / component / transaction_number / asec / posted_on / due_date / under_review /
        description: the item's facts (`description` in the ledger's English).
        open_cents: signed (negative: a credit).
        status: a `DeclarationStatus`.
    """

    kind: str
    component: str | None
    transaction_number: str | None
    asec: str | None
    posted_on: date
    due_date: date | None
    under_review: bool
    description: str
    open_cents: int
    status: DeclarationStatus


@dataclass(frozen=True, slots=True)
class BalanceOverview:
    """An importer account balance overview (D17-R17) of one program account, as of a day.

    Attributes:
        as_of: the day; the journal counts up to its end.
        recipient: the business the overview is for (its holder), with its language.
        holder: the importer and its RM15.
        declarations: every declaration, oldest accounting date first.
        others: the account's other open items, oldest first.
    """

    as_of: date
    recipient: Party
    holder: Holder
    declarations: tuple[DeclarationBalance, ...]
    others: tuple[OpenItem, ...]

    doc_type = "BAO"

    @property
    def doc_date(self) -> date:
        return self.as_of

    @property
    def charged_cents(self) -> int:
        return sum(d.charged_cents for d in self.declarations)

    @property
    def paid_cents(self) -> int:
        return sum(d.paid_cents for d in self.declarations)

    @property
    def declarations_open_cents(self) -> int:
        return sum(d.open_cents for d in self.declarations)

    @property
    def others_open_cents(self) -> int:
        return sum(o.open_cents for o in self.others)

    @property
    def balance_cents(self) -> int:
        """The account's balance at the end of `as_of` (positive: owed; negative: a credit)."""
        return self.declarations_open_cents + self.others_open_cents

    @property
    def overdue_cents(self) -> int:
        return sum(d.open_cents for d in self.declarations if d.status is DeclarationStatus.OVERDUE) + sum(
            o.open_cents for o in self.others if o.status is DeclarationStatus.OVERDUE)


#: The order the ledger settles a declaration's components in (decision L3).
_COMPONENT_ORDER = {"duty": 0, "sima": 1, "excise_duty": 2, "excise_tax": 3, "gst": 4}
#: Entries that charge an item: what is not one of them took something off it.
_CHARGES = (Reason.DECLARATION.value, Reason.REASSESSMENT.value)


@dataclass(frozen=True, slots=True)
class _ItemRow:
    kind: str
    component: str | None
    transaction_number: str | None
    asec: str | None
    posted_on: date
    due_date: date | None
    under_review: bool
    description: str
    charged_cents: int
    open_cents: int
    item_id: int


def _item_rows(conn: Connection, rm15: str, as_of: date) -> list[_ItemRow]:
    """Every item of `rm15` with a line dated on or before `as_of`: what charged it, what is open."""
    net = journal_line.c.debit_cents - journal_line.c.credit_cents
    query = (
        select(
            ar_item.c.id, ar_item.c.kind, ar_item.c.component, ar_item.c.transaction_number, ar_item.c.asec,
            ar_item.c.posted_on, ar_item.c.due_date, ar_item.c.under_review, ar_item.c.description,
            func.sum(case((journal_entry.c.reason.in_(_CHARGES), net), else_=0)).label("charged"),
            func.sum(net).label("open"),
        )
        .select_from(
            journal_line.join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
            .join(ar_item, ar_item.c.id == journal_line.c.item_id)
        )
        .where(journal_line.c.account == Account.AR.value, ar_item.c.rm15 == rm15, journal_entry.c.entry_date <= as_of)
        .group_by(ar_item.c.id, ar_item.c.kind, ar_item.c.component, ar_item.c.transaction_number, ar_item.c.asec,
                  ar_item.c.posted_on, ar_item.c.due_date, ar_item.c.under_review, ar_item.c.description)
        .order_by(ar_item.c.id)
    )
    return [
        _ItemRow(r.kind, r.component, r.transaction_number, r.asec, r.posted_on, r.due_date, bool(r.under_review),
                 r.description, int(r.charged), int(r.open), int(r.id))
        for r in conn.execute(query)
    ]


def _declarations(rows: Iterable[_ItemRow], as_of: date) -> tuple[DeclarationBalance, ...]:
    by_number: dict[str, list[_ItemRow]] = {}
    for row in rows:
        by_number.setdefault(row.transaction_number or "", []).append(row)
    out = []
    for number, parts in by_number.items():
        parts.sort(key=lambda r: (_COMPONENT_ORDER.get(r.component or "", 9), r.item_id))
        components = tuple(ComponentBalance(p.component or "", p.charged_cents, p.charged_cents - p.open_cents, p.open_cents)
                           for p in parts)
        first = parts[0]
        review = any(p.under_review for p in parts)
        open_cents = sum(c.open_cents for c in components)
        paid_cents = sum(c.paid_cents for c in components)
        out.append(DeclarationBalance(
            transaction_number=number, accounted_on=min(p.posted_on for p in parts), asec=first.asec,
            due_date=first.due_date, under_review=review, components=components,
            status=status_of(open_cents, paid_cents, first.due_date, review, as_of),
        ))
    return tuple(sorted(out, key=lambda d: (d.accounted_on, d.transaction_number)))


def _others(rows: Iterable[_ItemRow], as_of: date) -> tuple[OpenItem, ...]:
    out = []
    for r in rows:
        if r.open_cents == 0:
            continue
        paid = r.charged_cents - r.open_cents if r.kind in DEBT_KINDS else 0
        out.append(OpenItem(r.kind, r.component, r.transaction_number, r.asec, r.posted_on, r.due_date, r.under_review,
                            r.description, r.open_cents, status_of(r.open_cents, paid, r.due_date, r.under_review, as_of)))
    return tuple(sorted(out, key=lambda o: (o.posted_on, o.kind, o.transaction_number or "", o.description)))


def balance_overview(conn: Connection, rm15: str, as_of: date) -> BalanceOverview:
    """The balance overview of program account `rm15` at the end of `as_of` (UnknownAccount when there is none)."""
    account = conn.execute(
        select(business.c.bn9, business.c.name, business.c.language)
        .join(program_account, program_account.c.bn9 == business.c.bn9)
        .where(program_account.c.rm15 == rm15)
    ).first()
    if account is None:
        raise UnknownAccount(f"{rm15}: no such program account")
    rows = _item_rows(conn, rm15, as_of)
    return BalanceOverview(
        as_of=as_of,
        recipient=Party(account.bn9, account.name, account.language),
        holder=Holder("importer", account.bn9, account.name, rm15=rm15),
        declarations=_declarations((r for r in rows if r.kind == ItemKind.DECLARATION), as_of),
        others=_others((r for r in rows if r.kind != ItemKind.DECLARATION), as_of),
    )
