"""The declarations feed: accounted declarations (the debts) and their adjustments.

`carm declarations load FILE` reads the CSV format documented in `fixtures/README.md`
(sample `fixtures/declarations.csv`), one record a row; `plan_declarations` turns the
rows into a plan, given what the ledger already holds (`DeclarationFacts`):

* `declaration` — a 14-digit transaction number with its check digit, the RM15 it is
  accounted to, the ASEC it was accounted under, the broker, the release and accounting
  dates, an amount per component (duty, excise tax, GST, SIMA, excise duty) and an
  under-review flag.  Posted as one entry: each component a receivable item (D17-R8), due
  on the billing period's due date when accounted under a security (D17-R21, R31), else
  at release.  Each item is tagged with the security account that answers for it
  (`secured_by`): the one the declaration was accounted under, unless the importer chose an
  option of D17-R5 — with direct GST the GST component of a declaration a broker accounted
  under its security is the importer's own debt (no broker's security), with direct
  security every component is secured by the importer's own security account (decision L22).
  Goods released while the account is under the measures of D17-R38 are due at release.
* `reassessment` — a B2 adjustment raising a debt on a declaration component.
* `refund` — a refund, credited to the account (D17-R9), associated with the agent who
  filed it (D17-R11).

Idempotent: a declaration or adjustment already posted is skipped; the same number with
different amounts is reported, never posted over.  A change of the under-review flag is
recorded on the declaration and its items (the one fact about a debt that is state, not
money).  Malformed rows are reported as problems and skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from core.identifiers import asec_problem, bn9_problem, luhn_check_digit
from core.money import parse_amount
from core.problems import Problem
from core.text import is_digits

from .calendar import billed_by_calendar_month, period_of
from .model import Account, Entry, ItemKind, JournalLine, NewItem, Plan, Reason
from .policy import COMPONENTS, Policy
from .standing import Standing, pay_at_release

__all__ = [
    "COLUMNS", "Declaration", "Adjustment", "DeclarationFacts", "DeclarationsPlan",
    "plan_declarations", "transaction_number_problem", "TRANSACTION_CHECKS",
]

COLUMNS = (
    "record", "transaction_number", "rm15", "asec", "broker_bn9", "release_date", "accounting_date",
    "duty", "excise_tax", "gst", "sima", "excise_duty", "under_review", "reference", "component", "amount", "agent_bn9",
)


def _luhn_ok(number: str) -> bool:
    return luhn_check_digit(number[:-1]) == int(number[-1])


#: Check-digit rules a policy may choose for transaction numbers (`Policy.transaction_check_digit`).
#: D17-1-10 Appendix F's algorithm is not public: the default, "none", checks the format only
#: (decision L2); "luhn" over the first 13 digits is there for a feed known to use it.
TRANSACTION_CHECKS: dict[str, Callable[[str], bool]] = {"none": lambda number: True, "luhn": _luhn_ok}


def transaction_number_problem(number: str, asec: str | None, check: str = "none") -> str | None:
    """Why `number` is not a valid transaction number for `asec`, or None (DOMAIN §1): 14 ASCII
    digits, the first five the security account when there is a numeric one, and the check digit
    of the policy's rule `check` (none by default)."""
    if not is_digits(number, 14, 14):
        return f"transaction number {number!r} is not 14 digits"
    if not TRANSACTION_CHECKS[check](number):
        return f"transaction number {number} fails its check digit ({check})"
    if asec and asec.isdigit() and number[:5] != asec:
        return f"transaction number {number} does not start with security account {asec}"
    return None


@dataclass(frozen=True, slots=True)
class Declaration:
    """An accounted declaration, as the `declaration` table holds it."""

    transaction_number: str
    rm15: str
    asec: str | None
    broker_bn9: str | None
    release_date: date
    accounting_date: date
    under_review: bool
    amounts_cents: dict[str, int]
    source: str


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A B2 reassessment or a refund, as the `declaration_adjustment` table holds it."""

    reference: str
    transaction_number: str
    kind: str
    component: str
    amount_cents: int
    adjustment_date: date
    agent_bn9: str | None
    source: str


@dataclass
class DeclarationFacts:
    """What the ledger holds that a feed is judged against (the planner adds what it posts).

    Attributes:
        accounts: RM15 → billed by calendar month, of every program account.
        security_accounts: every ASEC.
        declarations: the declarations the feed names, by transaction number.
        adjustments: the adjustments the feed names, by reference.
        direct_options: RM15 → `gst` or `security`, of the accounts that chose a D17-R5 option.
        broker_security_accounts: the ASECs held by brokers.
        own_security: importer BN9 → its own active security account (the first, when several).
        standings: the records of D17-R38 measures, per account (goods released under them are due at release).
    """

    accounts: dict[str, bool] = field(default_factory=dict)
    security_accounts: set[str] = field(default_factory=set)
    direct_options: dict[str, str] = field(default_factory=dict)
    broker_security_accounts: set[str] = field(default_factory=set)
    own_security: dict[str, str] = field(default_factory=dict)
    declarations: dict[str, Declaration] = field(default_factory=dict)
    adjustments: dict[str, Adjustment] = field(default_factory=dict)
    standings: dict[str, list[Standing]] = field(default_factory=dict)


@dataclass
class DeclarationsPlan:
    """What a feed posts: the plan, the rows to record, the review flags changed, and the counts."""

    plan: Plan = field(default_factory=Plan)
    declarations: list[Declaration] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)
    review_changes: list[tuple[str, bool]] = field(default_factory=list)
    posted: int = 0
    adjusted: int = 0
    already: int = 0
    problems: list[Problem] = field(default_factory=list)


def read_rows(raw: bytes) -> tuple[list[tuple[int, dict[str, str]]], Problem | None]:
    """The CSV's rows with their line numbers, or why the file cannot be read."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], Problem("not-loaded", "the file is not UTF-8 text")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("record", "transaction_number") if c not in (reader.fieldnames or [])]
    if missing:
        return [], Problem("not-loaded", f"missing columns {missing}; expected {', '.join(COLUMNS)}")
    return [(n, {k: (v or "").strip() for k, v in row.items() if k}) for n, row in enumerate(reader, start=2)], None


def _date(row: dict, name: str) -> date | str:
    try:
        return date.fromisoformat(row[name])
    except (KeyError, ValueError):
        return f"{name} {row.get(name)!r} is not a YYYY-MM-DD date"


def _cents(text: str, name: str) -> int | str:
    cents = parse_amount(text or "0")
    if cents is None or cents < 0:
        return f"{name} {text!r} is not an amount in dollars and cents"
    return cents


class _Feed:
    def __init__(self, facts: DeclarationFacts, digest: str, policy: Policy) -> None:
        self.facts, self.digest, self.policy = facts, digest, policy
        self.out = DeclarationsPlan()

    def _due(self, rm15: str, asec: str | None, accounting: date, release: date) -> date:
        if asec and not pay_at_release(self.facts.standings.get(rm15, ()), release):
            calendar_month = billed_by_calendar_month(rm15, self.facts.accounts.get(rm15, False), self.policy)
            return period_of(accounting, self.policy, calendar_month).due_date
        return release  # D17-R21: unsecured accounts pay at release; D17-R38 c: so do accounts not in good standing

    def secured_by(self, decl: Declaration, component: str) -> str | None:
        """The security account answering for `component` of `decl`, the tag that puts the debt on
        a broker's statement and total or on the importer's own (D17-R4, R5, decision L22)."""
        if decl.asec not in self.facts.broker_security_accounts:
            return decl.asec
        option = self.facts.direct_options.get(decl.rm15)
        if option == "security":  # « l'importateur accepte de s'acquitter directement … du montant total »
            return self.facts.own_security.get(decl.rm15[:9])
        if option == "gst" and component == "gst":  # « verser directement à l'ASFC la portion de la TPS »
            return None
        return decl.asec

    def row(self, row: dict[str, str]) -> str | None:
        """Post one row; None, or why it was not posted."""
        if row["record"] == "declaration":
            return self.declaration(row)
        if row["record"] in ("reassessment", "refund"):
            return self.adjustment(row)
        return f"record {row['record']!r} is not declaration, reassessment or refund"

    def _declaration_values(self, row: dict[str, str]) -> Declaration | str:
        number, rm15 = row["transaction_number"], row.get("rm15", "")
        asec = row.get("asec") or None
        broker = row.get("broker_bn9") or None
        if rm15 not in self.facts.accounts:
            return f"program account {rm15!r} is not known"
        if asec and (asec_problem(asec) or asec not in self.facts.security_accounts):
            return f"security account {asec!r} is not known"
        if broker and bn9_problem(broker):
            return f"broker {broker}: {bn9_problem(broker)}"
        problem = transaction_number_problem(number, asec, self.policy.transaction_check_digit)
        if problem:
            return problem
        release, accounting = _date(row, "release_date"), _date(row, "accounting_date")
        for value in (release, accounting):
            if isinstance(value, str):
                return value
        amounts = {c: _cents(row.get(c, ""), c) for c in COMPONENTS}
        bad = next((v for v in amounts.values() if isinstance(v, str)), None)
        if bad:
            return bad
        if not any(amounts.values()):
            return f"declaration {number} has no amount"
        under_review = row.get("under_review", "").lower() in ("1", "true", "yes", "y")
        return Declaration(number, rm15, asec, broker, release, accounting, under_review, amounts, self.digest)

    def declaration(self, row: dict[str, str]) -> str | None:
        decl = self._declaration_values(row)
        if isinstance(decl, str):
            return decl
        number = decl.transaction_number
        existing = self.facts.declarations.get(number)
        if existing is not None:
            if existing.amounts_cents != decl.amounts_cents or existing.rm15 != decl.rm15:
                return f"declaration {number} was already posted with other amounts; use an adjustment"
            if existing.under_review != decl.under_review:  # review status is a fact about the debt, not money
                self.out.review_changes.append((number, decl.under_review))
                self.facts.declarations[number] = Declaration(**{**_fields(existing), "under_review": decl.under_review})
            self.out.already += 1
            return None
        self.facts.declarations[number] = decl
        self.out.declarations.append(decl)
        due = self._due(decl.rm15, decl.asec, decl.accounting_date, decl.release_date)
        lines: list[JournalLine] = []
        for component in COMPONENTS:
            cents = decl.amounts_cents[component]
            if not cents:
                continue
            item = NewItem(
                key=f"decl:{number}:{component}", rm15=decl.rm15, kind=ItemKind.DECLARATION, component=component,
                transaction_number=number, asec=self.secured_by(decl, component), agent_bn9=decl.broker_bn9, posted_on=decl.accounting_date,
                due_date=due, under_review=decl.under_review,
                description=f"{component.replace('_', ' ')} on transaction {number}",
            )
            self.out.plan.items.append(item)
            lines.append(JournalLine(Account.AR, debit_cents=cents, rm15=decl.rm15, item_key=item.key))
            lines.append(JournalLine(Account.REVENUE, credit_cents=cents, party=component))
        self.out.plan.entries.append(
            Entry(f"decl:{number}", decl.accounting_date, Reason.DECLARATION, f"transaction {number} accounted", tuple(lines), source=self.digest)
        )
        self.out.posted += 1
        return None

    def _adjustment_values(self, row: dict[str, str]) -> Adjustment | str:
        reference = row.get("reference", "")
        if not reference:
            return "an adjustment needs a reference"
        number = row["transaction_number"]
        if number not in self.facts.declarations:
            return f"adjustment {reference}: transaction {number} is not a posted declaration"
        component = row.get("component", "")
        if component not in COMPONENTS:
            return f"adjustment {reference}: component {component!r} is not one of {', '.join(COMPONENTS)}"
        amount = _cents(row.get("amount", ""), "amount")
        if isinstance(amount, str):
            return amount
        if amount <= 0:
            return f"adjustment {reference}: amount must be above zero"
        when = _date(row, "accounting_date")
        if isinstance(when, str):
            return when
        return Adjustment(reference, number, row["record"], component, amount, when, row.get("agent_bn9") or None, self.digest)

    def adjustment(self, row: dict[str, str]) -> str | None:
        adj = self._adjustment_values(row)
        if isinstance(adj, str):
            return adj
        existing = self.facts.adjustments.get(adj.reference)
        if existing is not None:
            if existing.amount_cents != adj.amount_cents or existing.kind != adj.kind:
                return f"adjustment {adj.reference} was already posted with another amount"
            self.out.already += 1
            return None
        self.facts.adjustments[adj.reference] = adj
        self.out.adjustments.append(adj)
        decl = self.facts.declarations[adj.transaction_number]
        rm15, number, component, amount, when = decl.rm15, adj.transaction_number, adj.component, adj.amount_cents, adj.adjustment_date
        if adj.kind == "reassessment":
            item = NewItem(
                key=f"adj:{adj.reference}", rm15=rm15, kind=ItemKind.ADJUSTMENT, component=component, transaction_number=number,
                asec=self.secured_by(decl, component), agent_bn9=decl.broker_bn9, posted_on=when,
                due_date=self._due(rm15, decl.asec, when, when),
                description=f"B2 reassessment {adj.reference} of {component.replace('_', ' ')} on {number}",
            )
            lines = (JournalLine(Account.AR, debit_cents=amount, rm15=rm15, item_key=item.key),
                     JournalLine(Account.REVENUE, credit_cents=amount, party=component))
            reason = Reason.REASSESSMENT
        else:
            item = NewItem(
                key=f"refund:{adj.reference}", rm15=rm15, kind=ItemKind.CREDIT, component=component, transaction_number=number,
                asec=self.secured_by(decl, component), agent_bn9=adj.agent_bn9, posted_on=when,
                description=f"refund {adj.reference} of {component.replace('_', ' ')} on {number}",
            )
            lines = (JournalLine(Account.REFUND, debit_cents=amount, party=component),
                     JournalLine(Account.AR, credit_cents=amount, rm15=rm15, item_key=item.key))
            reason = Reason.REFUND
        self.out.plan.items.append(item)
        self.out.plan.entries.append(
            Entry(f"adj:{adj.reference}", when, reason, f"{adj.kind} {adj.reference} on {number}", lines, source=self.digest)
        )
        self.out.adjusted += 1
        return None


def _fields(decl: Declaration) -> dict:
    return {name: getattr(decl, name) for name in Declaration.__slots__}


def plan_declarations(rows: list[tuple[int, dict[str, str]]], facts: DeclarationFacts, digest: str, policy: Policy) -> DeclarationsPlan:
    """Plan every valid row (in order, each seeing the ones before); report the others."""
    feed = _Feed(facts, digest, policy)
    for line_no, row in rows:
        problem = feed.row(row)
        if problem:
            feed.out.problems.append(Problem("not-posted", problem, f"line {line_no}"))
    return feed.out
