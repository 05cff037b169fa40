"""The ledger's operations: read what a rule needs, call the rule, write its plan.

Each function runs inside the caller's transaction and is idempotent: running it again on
the same input changes nothing.

    payment_facts        what a file's payments are judged against (`ledger.checks`)
    post_payments        a file's judged payments → the books (`ledger.posting`)
    load_declarations    the declarations feed (`ledger.declarations`)
    load_reference       reference data (`ledger.reference`)
    close_period         a billing period (`ledger.close`)
    run_collections      a day's collections (`ledger.collections`)
    account_view         an account as of a day (`ledger.accounts`)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import structlog
from sqlalchemy import Connection, bindparam, delete, func, select, update

from core.db import AmongValues, insert_for
from core.gcpause import collector_paused
from core.money import format_cents
from core.problems import Problem
from edi.advice import PaymentVerdict
from edi.payments import Payment
from ledger.accounts import AccountView
from ledger.accounts import account_view as shape_account_view
from ledger.calendar import billed_by_calendar_month
from ledger.checks import PaymentFacts, Relationship
from ledger.close import CloseAccount, plan_close
from ledger.collections import Security, plan_collections, security_notices
from ledger.declarations import Adjustment, Declaration, DeclarationFacts, plan_declarations, read_rows
from ledger.model import Account, PaymentStatus, Plan
from ledger.policy import COMPONENTS, Policy
from ledger.posting import PART_LINES, PaymentLineRecord, PaymentPart, PostedPayment, plan_payments
from ledger.reference import SECTIONS, parse_reference
from ledger.snapshot import Snapshot
from ledger.standing import judge_standing

from .journal import PartWriter, account_history, items_as_of, lock_accounts, open_items, record_notices, suspense_by_trace, write_plan
from .schema import (
    account_period,
    ar_item,
    business,
    declaration,
    declaration_adjustment,
    designated_agent,
    interest_rate,
    journal_entry,
    journal_line,
    licensed_broker,
    monitoring_recipient,
    payment_line,
    period_close,
    posted_file,
    program_account,
    relationship,
    relationship_account,
    security_account,
)
from .schema import (
    payment as payment_table,
)
from .standing import latest_standings, security_amounts, standings, write_standing

__all__ = [
    "payment_facts", "post_payments", "record_posted_file", "load_declarations", "DeclarationReport", "load_reference", "LoadReport",
    "close_period", "CloseReport", "run_collections", "CollectionsReport", "account_view", "recorded_sets",
]

log = structlog.get_logger("store.ledger")


# ------------------------------------------------------------------ payments
def payment_facts(conn: Connection, payments: Sequence[Payment]) -> PaymentFacts:
    """Everything `ledger.checks.account_check` needs to judge `payments`, in a handful of queries."""
    payers = sorted({p.payer_bn9 for p in payments})
    asecs = sorted({a for p in payments for a in [p.payer_asec, *(line.asec for line in p.lines)] if a})
    rm15s = sorted({line.rm15 for p in payments for line in p.lines})
    traces = sorted({(p.source.sender, p.trace) for p in payments})
    named = sorted({line.transaction_number for p in payments for line in p.lines if line.transaction_number})
    relationships = []
    rows = conn.execute(select(relationship).where(relationship.c.provider_bn9.in_(payers))).all() if payers else []
    accounts: dict[str, set[str]] = {}
    if rows:
        for rid, rm15 in conn.execute(
            select(relationship_account.c.relationship_id, relationship_account.c.rm15)
            .where(relationship_account.c.relationship_id.in_([r.id for r in rows]))
        ):
            accounts.setdefault(rid, set()).add(rm15)
    for r in rows:
        relationships.append(Relationship(r.client_bn9, r.provider_bn9, r.scope, r.start_date, r.end_date, frozenset(accounts.get(r.id, ()))))
    posted: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for fi, trace in traces:
        row = conn.execute(
            select(payment_table.c.file_digest, payment_table.c.interchange, payment_table.c.group_control, payment_table.c.set_control)
            .where(payment_table.c.fi == fi, payment_table.c.trace == trace, payment_table.c.status == PaymentStatus.POSTED)
        ).first()
        if row is not None:
            posted[(fi, trace)] = tuple(row)
    return PaymentFacts(
        businesses=dict(conn.execute(select(business.c.bn9, business.c.role).where(business.c.bn9.in_(payers))).all()) if payers else {},
        active_brokers=frozenset(conn.execute(
            select(licensed_broker.c.bn9).where(licensed_broker.c.bn9.in_(payers), licensed_broker.c.active.is_(True))
        ).scalars()) if payers else frozenset(),
        security_accounts={r.asec: (r.holder_bn9, r.status) for r in conn.execute(
            select(security_account.c.asec, security_account.c.holder_bn9, security_account.c.status).where(security_account.c.asec.in_(asecs))
        )} if asecs else {},
        program_accounts=_program_accounts(conn, rm15s),
        relationships=tuple(relationships),
        posted_traces=posted,
        transactions=dict(conn.execute(
            select(declaration.c.transaction_number, declaration.c.rm15).where(declaration.c.transaction_number.in_(named))
        ).all()) if named else {},
    )


_ACCOUNT_STATUS = AmongValues(lambda among: select(program_account.c.rm15, program_account.c.status).where(among(program_account.c.rm15)))


def _program_accounts(conn: Connection, rm15s: Sequence[str]) -> dict[str, str]:
    """The status of each of the accounts (`core.db.AmongValues`: a file may pay 45,000 accounts).
    The keys are the lines' own strings, each status one string."""
    wanted = {rm15: rm15 for rm15 in rm15s}
    statuses: dict[str, str] = {}
    found: dict[str, str] = {}
    for result in _ACCOUNT_STATUS.execute(conn, rm15s):
        for rm15, status in result.all():
            found[wanted.get(rm15, rm15)] = statuses.setdefault(status, status)
    return found


# built once (see `store.journal`): posting a file set by set runs them once per set
_RECORDED_SETS = (select(payment_table.c.interchange, payment_table.c.group_control, payment_table.c.set_control)
                  .where(payment_table.c.file_digest == bindparam("digest")))
_ACTIVE_BROKERS = select(licensed_broker.c.bn9).where(licensed_broker.c.bn9.in_(bindparam("bn9s", expanding=True)),
                                                      licensed_broker.c.active.is_(True))
_BY_CALENDAR_MONTH = AmongValues(lambda among: select(program_account.c.rm15).where(among(program_account.c.rm15),
                                                                                    program_account.c.calendar_month.is_(True)))
_INSERT_PAYMENT = payment_table.insert().returning(payment_table.c.id)


def recorded_sets(conn: Connection, digest: str) -> set[tuple[str, str, str]]:
    """(ISA13, GS06, ST02) of the sets of the file `digest` that already have their payment row."""
    return {tuple(r) for r in conn.execute(_RECORDED_SETS, {"digest": digest})}


_PAYMENT_LINE_COLUMNS = ("payment_id", *PaymentLineRecord._fields)  # payment_line's columns, named as the record's fields


@collector_paused()  # a file's lines make objects by the hundred thousand, none in cycles
def post_payments(
    conn: Connection, digest: str, name: str, judged: Sequence[tuple[Payment, PaymentVerdict]], *, received_at: datetime, policy: Policy,
    record_file: bool = True, part_lines: int = PART_LINES,
) -> list[PostedPayment]:
    """Post every production payment of the file `digest` that has no payment row yet (each set is
    recorded once, whatever happened to the file's answers).  Test payments (ISA15 = T) are judged
    and acknowledged but never posted (decision L11).  `record_file`: the file's `posted_file` row
    is written here (a caller posting a file set by set writes it once, `record_posted_file`).

    The payments are planned and written in parts of about `part_lines` remittance lines (decision
    L31): the parts of small payments are written together, a large payment's a part at a time."""
    for p, _ in judged:
        if p.source.test:
            log.info("payment.test_not_posted", trace=p.trace, digest=digest[:16])
    done = recorded_sets(conn, digest)
    production = [(p, v) for p, v in judged
                  if not p.source.test and (p.source.interchange, p.source.group, p.source.set_control) not in done]
    if not production:
        return []
    accounts = {lv.line.rm15 for _, v in production if not v.refusals for lv in v.applicable_lines}
    lock_accounts(conn, accounts)  # every account of the file at once, in one order: no deadlock
    payers = sorted({p.payer_bn9 for p, _ in production})
    brokers = frozenset(conn.execute(_ACTIVE_BROKERS, {"bn9s": payers}).scalars()) if payers else frozenset()
    monthly = frozenset(rm15 for result in _BY_CALENDAR_MONTH.execute(conn, sorted(accounts)) for rm15 in result.scalars().all())
    snapshot = Snapshot(open_items(conn, accounts, debts_only=True))  # a payment reaches only debts (L3)
    del accounts
    posted, notices = [], []
    with PartWriter(conn, received_at, snapshot.ids()) as writer:
        batch = _PartBatch(writer, part_lines)
        for planned in plan_payments(production, received_at=received_at, snapshot=snapshot, policy=policy, brokers=brokers,
                                     monthly=monthly, part_lines=part_lines):
            record = planned.record
            entry_id = writer.begin(planned.entry) if planned.entry is not None else None
            values = {k: getattr(record, k) for k in record.__slots__ if k != "entry_key"}
            payment_id = conn.execute(_INSERT_PAYMENT, dict(values, entry_id=entry_id)).scalar_one()
            for part in planned.parts():
                batch.add(planned.entry.key if planned.entry is not None else "", payment_id, part)
                snapshot.apply_payment(part.items, part.lines)
            if planned.notice is not None:
                notices.append(planned.notice)
            posted.append(planned.posted)
            _log_posted(record, planned.posted)
        batch.flush()
    record_notices(conn, notices)
    if record_file:
        record_posted_file(conn, digest, name, received_at, len(posted))
    return posted


class _PartBatch:
    """Payments' parts gathered until about `size` lines, then written: small payments together
    (one statement per table for many sets), a large one a part at a time (decision L31)."""

    def __init__(self, writer: PartWriter, size: int) -> None:
        self.writer, self.size = writer, size
        self.items: list = []
        self.lines: list = []
        self.records: list[tuple] = []

    def add(self, entry_key: str, payment_id: int, part: PaymentPart) -> None:
        self.items += part.items
        self.lines += [(entry_key, line) for line in part.lines]
        self.records += [(payment_id, *r) for r in part.records]
        if len(self.lines) + len(self.records) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.items or self.lines:
            self.writer.write(self.items, self.lines)
        if self.records:
            self.writer.writes.insert(payment_line, _PAYMENT_LINE_COLUMNS, self.records)
        self.items, self.lines, self.records = [], [], []


def record_posted_file(conn: Connection, digest: str, name: str, received_at: datetime, payments: int) -> None:
    """The file `digest` posted `payments` more payments: one row per file, counting every payment
    recorded for it, whether posted in one call or one call per set (decision L29)."""
    stmt = insert_for(conn)(posted_file).values(file_digest=digest, name=name, received_at=received_at, payments=payments)
    conn.execute(stmt.on_conflict_do_update(index_elements=["file_digest"], set_={"payments": posted_file.c.payments + stmt.excluded.payments}))


def _log_posted(record, posted: PostedPayment) -> None:
    bound = log.bind(fi=record.fi, trace=record.trace, isa13=record.interchange, gs06=record.group_control, st02=record.set_control,
                     digest=record.file_digest[:16])
    if posted.status == "duplicate":
        bound.warning("payment.duplicate", total=format_cents(record.total_cents))
        return
    bound.info("payment.posted", status=posted.status, verdict=record.verdict, total=format_cents(record.total_cents),
               applied=format_cents(posted.applied_cents), credit=format_cents(posted.credit_cents),
               suspense=format_cents(posted.suspense_cents), payment_day=str(record.payment_day))


# ------------------------------------------------------------------ declarations
@dataclass
class DeclarationReport:
    posted: int = 0
    adjustments: int = 0
    already: int = 0
    problems: list[Problem] = field(default_factory=list)


def _declaration_facts(conn: Connection, rows: list[tuple[int, dict[str, str]]]) -> DeclarationFacts:
    numbers = sorted({row.get("transaction_number", "") for _, row in rows})
    references = sorted({row.get("reference", "") for _, row in rows if row.get("reference")})
    accounts = conn.execute(select(program_account.c.rm15, program_account.c.calendar_month, program_account.c.direct_gst,
                                   program_account.c.direct_security)).all()
    securities = conn.execute(select(security_account.c.asec, security_account.c.holder_bn9, security_account.c.holder_kind,
                                     security_account.c.status).order_by(security_account.c.asec)).all()
    own_security: dict[str, str] = {}
    for r in securities:
        if r.holder_kind == "importer" and r.status == "active":
            own_security.setdefault(r.holder_bn9, r.asec)
    facts = DeclarationFacts(
        accounts={r.rm15: bool(r.calendar_month) for r in accounts},
        security_accounts={r.asec for r in securities},
        direct_options={r.rm15: "gst" if r.direct_gst else "security" for r in accounts if r.direct_gst or r.direct_security},
        broker_security_accounts={r.asec for r in securities if r.holder_kind == "broker"},
        own_security=own_security,
        standings=standings(conn),
    )
    for r in conn.execute(select(declaration).where(declaration.c.transaction_number.in_(numbers))) if numbers else []:
        facts.declarations[r.transaction_number] = Declaration(
            r.transaction_number, r.rm15, r.asec, r.broker_bn9, r.release_date, r.accounting_date, bool(r.under_review),
            {c: int(getattr(r, f"{c}_cents")) for c in COMPONENTS}, r.source,
        )
    for r in conn.execute(select(declaration_adjustment).where(declaration_adjustment.c.reference.in_(references))) if references else []:
        facts.adjustments[r.reference] = Adjustment(r.reference, r.transaction_number, r.kind, r.component, int(r.amount_cents),
                                                    r.adjustment_date, r.agent_bn9, r.source)
    return facts


def load_declarations(conn: Connection, source: str | Path | bytes, *, policy: Policy, at: datetime) -> DeclarationReport:
    """Post every valid record of the CSV `source` (a path or its bytes); report the rest."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    rows, unreadable = read_rows(raw)
    if unreadable:
        return DeclarationReport(problems=[unreadable])
    planned = plan_declarations(rows, _declaration_facts(conn, rows), hashlib.sha256(raw).hexdigest(), policy)
    for number, under_review in planned.review_changes:
        conn.execute(update(declaration).where(declaration.c.transaction_number == number).values(under_review=under_review))
        conn.execute(update(ar_item).where(ar_item.c.transaction_number == number).values(under_review=under_review))
    if planned.declarations:
        conn.execute(declaration.insert(), [
            dict(transaction_number=d.transaction_number, rm15=d.rm15, asec=d.asec, broker_bn9=d.broker_bn9, release_date=d.release_date,
                 accounting_date=d.accounting_date, under_review=d.under_review, source=d.source,
                 **{f"{c}_cents": d.amounts_cents[c] for c in COMPONENTS})
            for d in planned.declarations
        ])
    if planned.adjustments:
        conn.execute(declaration_adjustment.insert(), [
            dict(reference=a.reference, transaction_number=a.transaction_number, kind=a.kind, component=a.component,
                 amount_cents=a.amount_cents, adjustment_date=a.adjustment_date, agent_bn9=a.agent_bn9, source=a.source)
            for a in planned.adjustments
        ])
    write_plan(conn, planned.plan, at)
    return DeclarationReport(planned.posted, planned.adjusted, planned.already, planned.problems)


# ------------------------------------------------------------------ reference data
@dataclass
class LoadReport:
    loaded: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


_REFERENCE_TABLES = {
    "businesses": (business, ["bn9"]),
    "licensed_brokers": (licensed_broker, ["bn9"]),
    "program_accounts": (program_account, ["rm15"]),
    "security_accounts": (security_account, ["asec"]),
    "relationships": (relationship, ["id"]),
    "designated_agents": (designated_agent, ["rm15"]),
    "interest_rates": (interest_rate, ["effective_from"]),
    "monitoring_recipients": (monitoring_recipient, ["name"]),
}


def _upsert(conn: Connection, table, key: list[str], row: dict) -> None:
    insert = insert_for(conn)
    stmt = insert(table).values(**row)
    updates = {k: stmt.excluded[k] for k in row if k not in key}
    conn.execute(stmt.on_conflict_do_update(index_elements=key, set_=updates) if updates else stmt.on_conflict_do_nothing())


def load_reference(conn: Connection, data: dict | str | Path) -> LoadReport:
    """Upsert every valid record of `data` (a dict, or a JSON file path); report the others."""
    if not isinstance(data, dict):
        try:
            data = json.loads(Path(data).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return LoadReport(problems=[Problem("not-loaded", f"cannot be read as JSON: {exc}", str(data))])
        if not isinstance(data, dict):
            return LoadReport(problems=[Problem("not-loaded", "the file is not one JSON object of sections")])
    known_bn9 = set(conn.execute(select(business.c.bn9)).scalars())
    known_rm15 = set(conn.execute(select(program_account.c.rm15)).scalars())
    parsed = parse_reference(data, known_bn9, known_rm15)
    for section in SECTIONS:
        table, key = _REFERENCE_TABLES[section]
        for row in parsed.rows[section]:
            row = dict(row)
            accounts = row.pop("accounts", None) if section == "relationships" else None
            _upsert(conn, table, key, row)
            if accounts is not None:
                conn.execute(delete(relationship_account).where(relationship_account.c.relationship_id == row["id"]))
                for rm15 in accounts:
                    conn.execute(relationship_account.insert().values(relationship_id=row["id"], rm15=rm15))
    return LoadReport(parsed.loaded, parsed.problems)


# ------------------------------------------------------------------ period close
@dataclass
class CloseReport:
    period: str
    calendar_month: bool = False
    already_closed: bool = False
    offsets: int = 0
    offset_cents: int = 0
    disbursements: int = 0
    disbursed_cents: int = 0
    accounts: int = 0


def close_period(conn: Connection, period: str, *, policy: Policy, at: datetime, calendar_month: bool = False) -> CloseReport:
    """Close billing period `period` of one billing cycle, once (`ledger.close`): the 18th → 17th
    period of every account billed so, or with `calendar_month` the calendar month of every
    account billed by calendar month (decision L17)."""
    report = CloseReport(period=period, calendar_month=calendar_month)
    closed = select(period_close.c.period).where(period_close.c.period == period, period_close.c.calendar_month == calendar_month)
    if conn.execute(closed).first():
        report.already_closed = True
        return report
    accounts = conn.execute(
        select(program_account.c.rm15, program_account.c.calendar_month, business.c.role, business.c.bn9)
        .join(business, business.c.bn9 == program_account.c.bn9)
        .order_by(program_account.c.rm15)
    ).all()
    for row in accounts:
        if billed_by_calendar_month(row.rm15, bool(row.calendar_month), policy) != calendar_month:
            continue  # the other cycle's account: closed on its own day
        account = CloseAccount(row.rm15, row.bn9, row.role, bool(row.calendar_month))
        lock_accounts(conn, [account.rm15])  # payments to the account wait while it is offset
        earlier = conn.execute(
            select(account_period.c.closing_balance_cents)
            .where(account_period.c.rm15 == account.rm15, account_period.c.period < period)
            .order_by(account_period.c.period.desc())
            .limit(policy.disbursement_months_in_credit)
        ).scalars().all()
        closed = plan_close(account, items_as_of(conn, account.rm15), period, policy, [int(b) for b in earlier])
        write_plan(conn, closed.plan, at)
        conn.execute(account_period.insert().values(rm15=account.rm15, period=period, closing_balance_cents=closed.closing_cents))
        report.accounts += 1
        if closed.offset_cents:
            report.offsets += 1
            report.offset_cents += closed.offset_cents
        if closed.disbursed_cents:
            report.disbursements += 1
            report.disbursed_cents += closed.disbursed_cents
    conn.execute(period_close.insert().values(period=period, calendar_month=calendar_month, closed_at=at))
    log.info("period.closed", period=period, calendar_month=calendar_month, accounts=report.accounts, offsets=report.offsets,
             offset_cents=report.offset_cents,
             disbursements=report.disbursements, disbursed_cents=report.disbursed_cents)
    return report


# ------------------------------------------------------------------ collections
@dataclass
class CollectionsReport:
    day: date
    settlements: int = 0
    penalties: int = 0
    penalty_cents: int = 0
    interest_items: int = 0
    interest_cents: int = 0
    arrears_notices: int = 0
    security_alerts: int = 0
    measures_started: int = 0
    measures_ended: int = 0
    problems: list[Problem] = field(default_factory=list)


def _securities(conn: Connection, day: date) -> list[Security]:
    out = []
    for sec in conn.execute(select(security_account).where(security_account.c.status == "active").order_by(security_account.c.asec)):
        rows = conn.execute(
            select(ar_item.c.kind, func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents))
            .join(journal_line, journal_line.c.item_id == ar_item.c.id)
            .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
            .where(ar_item.c.asec == sec.asec, journal_line.c.account == Account.AR, journal_entry.c.entry_date <= day)
            .group_by(ar_item.c.id, ar_item.c.kind)
        ).all()
        out.append(Security(sec.asec, sec.holder_bn9, int(sec.security_cents), tuple((kind, int(b)) for kind, b in rows)))
    return out


def run_collections(conn: Connection, day: date, *, policy: Policy, at: datetime) -> CollectionsReport:
    """A day's collections on every account, then the security alerts (`ledger.collections`)."""
    report = CollectionsReport(day)
    rates = [(r.effective_from, r.prescribed_bp) for r in conn.execute(select(interest_rate).order_by(interest_rate.c.effective_from))]
    accounts = conn.execute(select(program_account.c.rm15, program_account.c.bn9).order_by(program_account.c.rm15)).all()
    latest, securities = latest_standings(conn), security_amounts(conn)
    for account in accounts:
        lock_accounts(conn, [account.rm15])  # a payment posting to the account meanwhile waits (no double settlement)
        history = account_history(conn, account.rm15)
        decided = plan_collections(history, account.bn9, day, rates, policy)
        written = write_plan(conn, decided.plan, at)
        # D17-R36…R38: judged on the account as collections left it (history holds what was just planned)
        standing = judge_standing(account.rm15, account.bn9, history.items_as_of(day), latest.get(account.rm15), securities, day, policy)
        write_standing(conn, account.rm15, standing)
        report.measures_started += standing.start is not None
        report.measures_ended += standing.end is not None
        report.settlements += decided.settlements
        report.penalties += len(decided.penalty_cents)
        report.penalty_cents += sum(decided.penalty_cents)
        report.interest_items += len(decided.interest_cents)
        report.interest_cents += sum(decided.interest_cents)
        report.arrears_notices += written.notices
        report.problems += decided.problems
    alerts = security_notices(_securities(conn, day), day)
    write_plan(conn, Plan(notices=alerts), at)
    report.security_alerts = len(alerts)
    log.info("collections.run", day=str(day), penalties=report.penalties, penalty_cents=report.penalty_cents,
             interest_items=report.interest_items, interest_cents=report.interest_cents, arrears_notices=report.arrears_notices,
             security_alerts=report.security_alerts, measures_started=report.measures_started, measures_ended=report.measures_ended,
             problems=[str(p) for p in report.problems])
    return report


# ------------------------------------------------------------------ reading an account
def account_view(conn: Connection, rm15: str, as_of: date) -> AccountView | None:
    """`carm account show`: the account as of the end of `as_of`, or None when there is no such account."""
    account = conn.execute(
        select(program_account.c.status, business.c.name, business.c.bn9)
        .join(business, business.c.bn9 == program_account.c.bn9)
        .where(program_account.c.rm15 == rm15)
    ).first()
    if account is None:
        return None
    return shape_account_view(rm15, account.name, account.status, as_of, items_as_of(conn, rm15, as_of),
                              suspense_by_trace(conn, account.bn9, as_of), standings(conn, [rm15]).get(rm15, []))

