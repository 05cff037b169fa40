"""The declarations feed: accounted declarations (the debts) and their adjustments.

`carm declarations load FILE` reads the CSV format documented in
`fixtures/README.md` (sample `fixtures/declarations.csv`), one record a row:

* `declaration` — a 14-digit transaction number with its check digit, the
  RM15 it is accounted to, the ASEC it was accounted under, the broker, the
  release and accounting dates, an amount per component (duty, excise tax,
  GST, SIMA, excise duty) and an under-review flag.  Posted as one entry:
  each component a receivable item (D17-R8), due on the billing period's due
  date when accounted under a security (D17-R21, R31), else at release.
* `reassessment` — a B2 adjustment raising a debt on a declaration component.
* `refund` — a refund, credited to the account (D17-R9), associated with the
  agent who filed it (D17-R11).

Idempotent: a declaration or adjustment already posted is skipped; the same
number with different amounts is reported, never posted over.  Malformed
rows are reported as problems and skipped.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Connection, select, update

from edi.identifiers import asec_problem, bn9_problem, luhn_check_digit
from edi.payments import parse_amount

from .calendar import period_of
from .journal import Entry, Line, item, post
from .policy import COMPONENTS, Policy
from .schema import ar_item, declaration, declaration_adjustment, program_account, security_account

__all__ = ["load_declarations", "DeclarationReport", "transaction_number_problem", "COLUMNS"]

COLUMNS = (
    "record",
    "transaction_number",
    "rm15",
    "asec",
    "broker_bn9",
    "release_date",
    "accounting_date",
    "duty",
    "excise_tax",
    "gst",
    "sima",
    "excise_duty",
    "under_review",
    "reference",
    "component",
    "amount",
    "agent_bn9",
)
COMPONENT_COLUMNS = {"duty": "duty", "excise_tax": "excise_tax", "gst": "gst", "sima": "sima", "excise_duty": "excise_duty"}


def _luhn_ok(number: str) -> bool:
    return luhn_check_digit(number[:-1]) == int(number[-1])


#: The transaction-number check digit.  D17-1-10 Appendix F's algorithm could not be
#: confirmed in public, so the engine uses Luhn over the first 13 digits (decision L2);
#: replace this function to change it.
TRANSACTION_CHECK: Callable[[str], bool] = _luhn_ok


def transaction_number_problem(number: str, asec: str | None) -> str | None:
    """Why `number` is not a valid transaction number for `asec`, or None (DOMAIN §1)."""
    if len(number) != 14 or not number.isdigit():
        return f"transaction number {number!r} is not 14 digits"
    if not TRANSACTION_CHECK(number):
        return f"transaction number {number} fails its check digit"
    if asec and asec.isdigit() and number[:5] != asec:
        return f"transaction number {number} does not start with security account {asec}"
    return None


@dataclass
class DeclarationReport:
    posted: int = 0
    adjustments: int = 0
    already: int = 0
    problems: list[str] = field(default_factory=list)


def _due(conn: Connection, rm15: str, asec: str | None, accounting: date, release: date, policy: Policy) -> date:
    calendar_month = bool(
        conn.execute(select(program_account.c.calendar_month).where(program_account.c.rm15 == rm15)).scalar()
    )
    if asec:
        return period_of(accounting, policy, calendar_month).due_date
    return release  # D17-R21: unsecured accounts pay at release


def load_declarations(
    conn: Connection, source: str | Path | bytes, *, policy: Policy, posted_at: datetime
) -> DeclarationReport:
    """Post every valid record of the CSV `source` (a path or its bytes); report the rest."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    report = DeclarationReport()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.problems.append("the file is not UTF-8 text")
        return report
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("record", "transaction_number") if c not in (reader.fieldnames or [])]
    if missing:
        report.problems.append(f"missing columns {missing}; expected {', '.join(COLUMNS)}")
        return report
    accounts = {r.rm15: r.status for r in conn.execute(select(program_account.c.rm15, program_account.c.status))}
    asecs = set(conn.execute(select(security_account.c.asec)).scalars())
    for line_no, row in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in row.items() if k}
        try:
            if row["record"] == "declaration":
                outcome = _declaration(conn, row, accounts, asecs, digest, policy, posted_at)
                report.posted += outcome == "posted"
            elif row["record"] in ("reassessment", "refund"):
                outcome = _adjustment(conn, row, digest, policy, posted_at)
                report.adjustments += outcome == "posted"
            else:
                raise ValueError(f"record {row['record']!r} is not declaration, reassessment or refund")
            report.already += outcome == "already"
        except ValueError as exc:
            report.problems.append(f"line {line_no}: {exc}")
    return report


def _parse_date(row: dict, name: str) -> date:
    try:
        return date.fromisoformat(row[name])
    except (KeyError, ValueError):
        raise ValueError(f"{name} {row.get(name)!r} is not a YYYY-MM-DD date") from None


def _cents(text: str, name: str) -> int:
    cents = parse_amount(text or "0")
    if cents is None or cents < 0:
        raise ValueError(f"{name} {text!r} is not an amount in dollars and cents")
    return cents


def _declaration(conn, row, accounts, asecs, digest, policy, posted_at) -> str:
    number, rm15 = row["transaction_number"], row.get("rm15", "")
    asec = row.get("asec") or None
    broker = row.get("broker_bn9") or None
    if rm15 not in accounts:
        raise ValueError(f"program account {rm15!r} is not known")
    if asec and (asec_problem(asec) or asec not in asecs):
        raise ValueError(f"security account {asec!r} is not known")
    if broker and bn9_problem(broker):
        raise ValueError(f"broker {broker}: {bn9_problem(broker)}")
    problem = transaction_number_problem(number, asec)
    if problem:
        raise ValueError(problem)
    release, accounting = _parse_date(row, "release_date"), _parse_date(row, "accounting_date")
    amounts = {c: _cents(row.get(c, ""), c) for c in COMPONENTS}
    if not any(amounts.values()):
        raise ValueError(f"declaration {number} has no amount")
    under_review = row.get("under_review", "").lower() in ("1", "true", "yes", "y")
    values = {
        "transaction_number": number,
        "rm15": rm15,
        "asec": asec,
        "broker_bn9": broker,
        "release_date": release,
        "accounting_date": accounting,
        "under_review": under_review,
        **{f"{c}_cents": amounts[c] for c in COMPONENTS},
        "source": digest,
    }
    existing = conn.execute(select(declaration).where(declaration.c.transaction_number == number)).first()
    if existing is not None:
        same = all(getattr(existing, f"{c}_cents") == amounts[c] for c in COMPONENTS) and existing.rm15 == rm15
        if not same:
            raise ValueError(f"declaration {number} was already posted with other amounts; use an adjustment")
        if bool(existing.under_review) != under_review:  # review status is a fact about the debt, not money
            conn.execute(update(declaration).where(declaration.c.transaction_number == number).values(under_review=under_review))
            conn.execute(update(ar_item).where(ar_item.c.transaction_number == number).values(under_review=under_review))
        return "already"
    conn.execute(declaration.insert().values(**values))
    due = _due(conn, rm15, asec, accounting, release, policy)
    lines: list[Line] = []
    for component in COMPONENTS:
        if not amounts[component]:
            continue
        item_id = item(
            conn,
            key=f"decl:{number}:{component}",
            rm15=rm15,
            kind="declaration",
            component=component,
            transaction_number=number,
            asec=asec,
            agent_bn9=broker,
            posted_on=accounting,
            due_date=due,
            under_review=under_review,
            description=f"{component.replace('_', ' ')} on transaction {number}",
        )
        lines.append(Line("AR", debit=amounts[component], rm15=rm15, item_id=item_id))
        lines.append(Line("REVENUE", credit=amounts[component], party=component))
    post(
        conn,
        Entry(f"decl:{number}", accounting, "DECLARATION", f"transaction {number} accounted", tuple(lines), source=digest),
        posted_at,
    )
    return "posted"


def _adjustment(conn, row, digest, policy, posted_at) -> str:
    reference = row.get("reference", "")
    if not reference:
        raise ValueError("an adjustment needs a reference")
    number = row["transaction_number"]
    decl = conn.execute(select(declaration).where(declaration.c.transaction_number == number)).first()
    if decl is None:
        raise ValueError(f"adjustment {reference}: transaction {number} is not a posted declaration")
    component = row.get("component", "")
    if component not in COMPONENTS:
        raise ValueError(f"adjustment {reference}: component {component!r} is not one of {', '.join(COMPONENTS)}")
    amount = _cents(row.get("amount", ""), "amount")
    if amount <= 0:
        raise ValueError(f"adjustment {reference}: amount must be above zero")
    when = _parse_date(row, "accounting_date")
    agent = row.get("agent_bn9") or None
    kind = row["record"]
    existing = conn.execute(
        select(declaration_adjustment).where(declaration_adjustment.c.reference == reference)
    ).first()
    if existing is not None:
        if existing.amount_cents != amount or existing.kind != kind:
            raise ValueError(f"adjustment {reference} was already posted with another amount")
        return "already"
    conn.execute(
        declaration_adjustment.insert().values(
            reference=reference,
            transaction_number=number,
            kind=kind,
            component=component,
            amount_cents=amount,
            adjustment_date=when,
            agent_bn9=agent,
            source=digest,
        )
    )
    rm15 = decl.rm15
    if kind == "reassessment":
        due = _due(conn, rm15, decl.asec, when, when, policy)
        item_id = item(
            conn, key=f"adj:{reference}", rm15=rm15, kind="adjustment", component=component, transaction_number=number,
            asec=decl.asec, agent_bn9=decl.broker_bn9, posted_on=when, due_date=due,
            description=f"B2 reassessment {reference} of {component.replace('_', ' ')} on {number}",
        )
        lines = (Line("AR", debit=amount, rm15=rm15, item_id=item_id), Line("REVENUE", credit=amount, party=component))
        reason = "REASSESSMENT"
    else:
        item_id = item(
            conn, key=f"refund:{reference}", rm15=rm15, kind="credit", component=component, transaction_number=number,
            asec=decl.asec, agent_bn9=agent, posted_on=when,
            description=f"refund {reference} of {component.replace('_', ' ')} on {number}",
        )
        lines = (Line("REFUND", debit=amount, party=component), Line("AR", credit=amount, rm15=rm15, item_id=item_id))
        reason = "REFUND"
    post(conn, Entry(f"adj:{reference}", when, reason, f"{kind} {reference} on {number}", lines, source=digest), posted_at)
    return "posted"
