"""Collections, run each day after due dates: penalties, interest, arrears, security (D17-R33…R38).

`run_collections(conn, day, …)` — deterministic and idempotent for a day:

* **Settlement on the due date**: unapplied and interim payments standing on
  the account by a due date pay the debts due then (D17-R22, decision L4).
* **Late-payment penalty** (D17-R33): one instance per account and due date
  when, at the end of the due date, debts due that day were still unpaid
  (payments count for the day they arrived by the cut-off, D17-R32): a flat
  `late_payment_penalty_cents` ($200) penalty item, due at once.
* **Interest** (D17-R33), per security account of the debts (a broker's debts bear the
  broker's interest, shown on its statement, D17-R35), from the day after the due date, compounded daily,
  at the prescribed rate in force each day (`interest_rate`, effective-dated)
  plus `interest_markup_bp` (the specified rate = prescribed + 6 points).  It
  runs on the unpaid overdue balance of declarations, adjustments and earlier
  interest — not penalties, not items under review — as the journal shows it
  at the start of each day, so paying late and running collections late give
  the same interest.  Each run posts the interest for the days since the
  previous run, rounded half-even to the cent, as one item due at once.
* **Standing** (D17-R36) is derived (`accounts.in_good_standing`).
* **Arrears notice** (D17-R37) once per account and due date, `arrears_notice_days`
  (30) after it: overdue amount, penalties and interest to the notice date.
* **Security utilization** per ASEC: the debts secured by it, less the interim
  payments that protect it; above the security amount → an urgent notice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, getcontext

import structlog
from sqlalchemy import Connection, func, select

from .accounts import DEBT_KINDS, INTEREST_BEARING, items_as_of
from .close import offset_lines
from .posting import lock_accounts
from .journal import Entry, Line, item, post
from .notices import record_notice
from .policy import Policy
from .schema import ar_item, interest_rate, notice, journal_entry, journal_line, program_account, security_account

__all__ = ["run_collections", "CollectionsReport", "interest_for"]

log = structlog.get_logger("ledger.collections")
getcontext().prec = 34


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
    problems: list[str] = field(default_factory=list)


def _rates(conn: Connection) -> list[tuple[date, int]]:
    return [(r.effective_from, r.prescribed_bp) for r in conn.execute(select(interest_rate).order_by(interest_rate.c.effective_from))]


def _rate_on(rates: list[tuple[date, int]], day: date) -> int | None:
    current = None
    for effective, bp in rates:
        if effective <= day:
            current = bp
    return current


def interest_for(daily_bases: list[tuple[date, int]], rates: list[tuple[date, int]], policy: Policy) -> tuple[int, list[date]]:
    """Interest in cents over `daily_bases` [(day, unpaid overdue balance at the start of the day)],
    compounded daily: each day's interest joins the base of the next.  Returns (cents, days with no rate)."""
    accrued = Decimal(0)
    missing = []
    for day, base in daily_bases:
        bp = _rate_on(rates, day)
        if bp is None:
            missing.append(day)
            continue
        annual = Decimal(bp + policy.interest_markup_bp) / Decimal(10_000)
        accrued += (Decimal(base) + accrued) * annual / Decimal(policy.day_count) if base > 0 else 0
    return int(accrued.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), missing


def _item_lines(conn: Connection, rm15: str, upto: date) -> list[tuple[int, date, int]]:
    """(item id, entry date, signed cents) of the account's AR lines up to `upto`."""
    rows = conn.execute(
        select(journal_line.c.item_id, journal_entry.c.entry_date, journal_line.c.debit_cents - journal_line.c.credit_cents)
        .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
        .where(journal_line.c.account == "AR", journal_line.c.rm15 == rm15, journal_entry.c.entry_date <= upto)
    )
    return [(r[0], r[1], int(r[2])) for r in rows]


def run_collections(conn: Connection, day: date, *, policy: Policy, at: datetime) -> CollectionsReport:
    report = CollectionsReport(day)
    rates = _rates(conn)
    accounts = conn.execute(select(program_account.c.rm15, program_account.c.bn9).order_by(program_account.c.rm15)).all()
    for account in accounts:
        _settle_due_dates(conn, account, day, policy, at, report)
        _penalties(conn, account, day, policy, at, report)
        _interest(conn, account, day, rates, policy, at, report)
        _arrears(conn, account, day, policy, report)
    _security(conn, day, report)
    log.info("collections.run", day=str(day), penalties=report.penalties, penalty_cents=report.penalty_cents,
             interest_items=report.interest_items, interest_cents=report.interest_cents,
             arrears_notices=report.arrears_notices, security_alerts=report.security_alerts, problems=report.problems)
    return report


def _settle_due_dates(conn, account, day: date, policy: Policy, at: datetime, report: CollectionsReport) -> None:
    """On each past due date, money the holder already paid — unapplied and interim payments
    standing on the account by then (D17-R22: applied to the next statement) — settles the
    debts due, before any penalty or interest is judged (decision L4)."""
    lock_accounts(conn, [account.rm15])  # a payment posting to the account meanwhile waits (no double settlement)
    items = items_as_of(conn, account.rm15)
    due_dates = sorted({i.due_date for i in items if i.balance > 0 and i.due_date is not None and i.due_date < day})
    for due in due_dates:
        key = f"settle:{account.rm15}:{due}"
        if conn.execute(select(journal_entry.c.id).where(journal_entry.c.key == key)).first():
            continue
        current = items_as_of(conn, account.rm15)
        eligible = [
            i for i in current
            if (i.balance < 0 and i.kind == "payment" and i.posted_on <= due)
            or (i.balance > 0 and i.due_date is not None and i.due_date <= due and i.kind in DEBT_KINDS)
        ]
        lines = offset_lines(eligible, policy)
        if lines:
            post(conn, Entry(key, due, "OFFSET", f"payments on {account.rm15} settle what is due {due}", tuple(lines)), at)
            report.settlements += 1


def _penalties(conn, account, day: date, policy: Policy, at: datetime, report: CollectionsReport) -> None:
    items = items_as_of(conn, account.rm15, open_only=False)
    due_dates = sorted({
        i.due_date for i in items
        if i.kind in ("declaration", "adjustment") and i.due_date is not None and i.due_date < day and not i.under_review
    })
    for due in due_dates:
        key = f"penalty:{account.rm15}:{due}"
        if conn.execute(select(ar_item.c.id).where(ar_item.c.key == key)).first():
            continue
        at_due = {i.id: i for i in items_as_of(conn, account.rm15, due)}
        unpaid = sum(
            i.balance for i in at_due.values()
            if i.due_date == due and i.kind in ("declaration", "adjustment") and i.balance > 0 and not i.under_review
        )
        if unpaid <= 0:
            continue
        charged_on = due + timedelta(days=1)
        # tagged with the security account (and agent) of the unpaid debts when they share one (D17-R4, R35)
        unpaid_items = [i for i in at_due.values() if i.due_date == due and i.kind in ("declaration", "adjustment") and i.balance > 0]
        asecs = {i.asec for i in unpaid_items}
        agents = {i.agent_bn9 for i in unpaid_items}
        item_id = item(conn, key=key, rm15=account.rm15, kind="penalty", posted_on=charged_on, due_date=charged_on,
                       asec=asecs.pop() if len(asecs) == 1 else None, agent_bn9=agents.pop() if len(agents) == 1 else None,
                       description=f"late-payment penalty: balance due {due} unpaid")
        amount = policy.late_payment_penalty_cents
        post(conn, Entry(key, charged_on, "PENALTY", f"late payment of the balance due {due} on {account.rm15}",
                         (Line("AR", debit=amount, rm15=account.rm15, item_id=item_id), Line("PENALTY", credit=amount, rm15=account.rm15))), at)
        report.penalties += 1
        report.penalty_cents += amount


def _interest(conn, account, day: date, rates, policy: Policy, at: datetime, report: CollectionsReport) -> None:
    """Interest per security account of the debts (D17-R4, R35: a broker's debts bring the
    broker's interest, which its statement shows), then per account for unsecured debts."""
    meta = {
        r.id: r for r in conn.execute(
            select(ar_item.c.id, ar_item.c.kind, ar_item.c.due_date, ar_item.c.under_review, ar_item.c.asec,
                   ar_item.c.agent_bn9).where(ar_item.c.rm15 == account.rm15)
        )
    }
    bearing = {i for i, m in meta.items() if m.kind in INTEREST_BEARING and m.due_date is not None and not m.under_review}
    if not bearing:
        return
    lines = _item_lines(conn, account.rm15, day)
    for asec in sorted({meta[i].asec for i in bearing}, key=lambda a: a or ""):
        group = {i for i in bearing if meta[i].asec == asec}
        agents = {meta[i].agent_bn9 for i in group if meta[i].kind != "interest"}
        _interest_for_group(conn, account, day, rates, policy, at, report, meta, group, lines, asec,
                            agents.pop() if len(agents) == 1 else None)


def _interest_for_group(conn, account, day, rates, policy, at, report, meta, group, lines, asec, agent) -> None:
    start = min(meta[i].due_date for i in group) + timedelta(days=1)
    last = conn.execute(
        select(func.max(ar_item.c.posted_on)).where(
            ar_item.c.rm15 == account.rm15, ar_item.c.kind == "interest",
            ar_item.c.asec.is_(None) if asec is None else ar_item.c.asec == asec,
        )
    ).scalar()
    if last is not None:
        start = max(start, last + timedelta(days=1))
    if start > day:
        return
    daily: list[tuple[date, int]] = []
    d = start
    while d <= day:
        # the unpaid balance at the start of day d: every line up to d - 1, of items overdue on d
        base = sum(c for item_id, when, c in lines if item_id in group and when < d and meta[item_id].due_date < d)
        daily.append((d, base))
        d += timedelta(days=1)
    cents, missing = interest_for(daily, rates, policy)
    if missing:
        report.problems.append(f"{account.rm15}: no prescribed rate for {missing[0]}…{missing[-1]}")
    if cents <= 0:
        return
    key = f"interest:{account.rm15}:{asec or '-'}:{day}"
    item_id = item(conn, key=key, rm15=account.rm15, kind="interest", posted_on=day, due_date=day, asec=asec,
                   agent_bn9=agent, description=f"interest {start} to {day}")
    post(conn, Entry(key, day, "INTEREST", f"interest {start}..{day} on {account.rm15}",
                     (Line("AR", debit=cents, rm15=account.rm15, item_id=item_id), Line("INTEREST", credit=cents, rm15=account.rm15))), at)
    report.interest_items += 1
    report.interest_cents += cents


def _arrears(conn, account, day: date, policy: Policy, report: CollectionsReport) -> None:
    items = items_as_of(conn, account.rm15, day)
    overdue_by_due: dict[date, int] = defaultdict(int)
    for i in items:
        if i.kind in ("declaration", "adjustment") and i.balance > 0 and i.due_date and not i.under_review:
            if (day - i.due_date).days >= policy.arrears_notice_days:
                overdue_by_due[i.due_date] += i.balance
    if not overdue_by_due:
        return
    penalties = sum(i.balance for i in items if i.kind == "penalty" and i.balance > 0)
    interest = sum(i.balance for i in items if i.kind == "interest" and i.balance > 0)
    for due, amount in sorted(overdue_by_due.items()):
        key = f"arrears:{account.rm15}:{due}"
        before = conn.execute(select(func.count()).select_from(notice).where(notice.c.key == key)).scalar()
        record_notice(conn, key, day, account.bn9, account.rm15, "arrears",
                      {"due_date": str(due), "overdue_cents": amount, "penalties_cents": penalties, "interest_cents": interest,
                       "total_cents": amount + penalties + interest, "as_of": str(day)})
        report.arrears_notices += 0 if before else 1


def _security(conn: Connection, day: date, report: CollectionsReport) -> None:
    for sec in conn.execute(select(security_account).where(security_account.c.status == "active")):
        rows = conn.execute(
            select(ar_item.c.kind, func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents))
            .join(journal_line, journal_line.c.item_id == ar_item.c.id)
            .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
            .where(ar_item.c.asec == sec.asec, journal_line.c.account == "AR", journal_entry.c.entry_date <= day)
            .group_by(ar_item.c.id, ar_item.c.kind)
        ).all()
        secured = sum(int(b) for kind, b in rows if kind in DEBT_KINDS and int(b) > 0)
        protected = -sum(int(b) for kind, b in rows if kind == "payment" and int(b) < 0)
        utilization = secured - protected
        if utilization > sec.security_cents:
            record_notice(conn, f"security:{sec.asec}:{day}", day, sec.holder_bn9, None, "security_exceeded",
                          {"asec": sec.asec, "security_cents": sec.security_cents, "utilization_cents": utilization, "as_of": str(day)})
            report.security_alerts += 1
