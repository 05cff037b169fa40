"""Posting 820 payments: the checks that need account data, allocation, suspense.

`payment_checks(conn)` gives the `edi.advice.Check` the EDI pipeline runs
before the 824 is written (820 guide "What the engine answers"):

* a trace number already posted by the same FI → `TR`, TED 006, not held;
* an unknown payer → `TR`, TED 011; a broker paying without its security
  account number → `TR`, TED 007;
* per line, set aside (`OTI*IR`, TED 011): an unknown or inactive RM15, an
  unknown or inactive ASEC, a payer paying an account that is not its own
  without a relationship whose scope covers it (D17-R3).

`post_payments` then writes one balanced entry per payment (D17-R18):
BANK is debited with the total; each applicable line is allocated to the
account's open items, oldest due first (decision L3 for the order within a
day), restricted to the items of the security account the line names when it
names one; what a line leaves over stays on the account as an unapplied
credit tagged with that ASEC (an interim payment, D17-R22, is entirely such a
credit: it lowers the security's utilization and is applied at the next
period close).  Lines set aside, and whole refused payments, go to SUSPENSE
against payer and trace — never dropped.  Idempotent: on the file digest
and on (FI, trace).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import structlog
from sqlalchemy import Connection, and_, or_, select

from edi.advice import Finding, PaymentVerdict
from edi.payments import Payment, format_cents
from edi.pipeline import Outcome, SetOutcome

from .calendar import payment_day
from .journal import Entry, Item, Line, item, open_items, post
from .notices import record_notice
from .policy import COMPONENTS, Policy
from .schema import (
    business,
    licensed_broker,
    payment as payment_table,
    payment_line,
    posted_file,
    program_account,
    relationship,
    relationship_account,
    security_account,
)

__all__ = ["payment_checks", "post_payments", "allocation_order", "administrative_fee_cents", "PostedPayment"]

log = structlog.get_logger("ledger.posting")


# ------------------------------------------------------------------ checks
def _covers(conn: Connection, provider: str, rm15: str, on: date) -> bool:
    """Is there a relationship letting `provider` act for the account `rm15` on `on` (D17-R3)?"""
    client = rm15[:9]
    active = and_(
        relationship.c.client_bn9 == client,
        relationship.c.provider_bn9 == provider,
        relationship.c.start_date <= on,
        or_(relationship.c.end_date.is_(None), relationship.c.end_date >= on),
    )
    for rel in conn.execute(select(relationship.c.id, relationship.c.scope).where(active)):
        if rel.scope == "business":  # all program accounts, including ones added later
            return True
        listed = conn.execute(
            select(relationship_account.c.rm15).where(
                relationship_account.c.relationship_id == rel.id, relationship_account.c.rm15 == rm15
            )
        ).first()
        if listed is not None:
            return True
    return False


def payment_checks(conn: Connection, received_on: date | None = None):
    """The account-data checks for `edi.advice.judge`, reading the ledger through `conn`;
    relationships are judged as of the day the file was received (else the payment's effective date)."""
    seen: set[tuple[str, str]] = set()

    def check(p: Payment) -> tuple[list[Finding], dict[int, list[Finding]]]:
        refusals: list[Finding] = []
        src = p.source
        key = (src.sender, p.trace)
        trn = p.position_of("TRN")
        earlier = conn.execute(
            select(payment_table.c.file_digest, payment_table.c.interchange, payment_table.c.group_control, payment_table.c.set_control)
            .where(payment_table.c.fi == src.sender, payment_table.c.trace == p.trace, payment_table.c.status != "duplicate")
        ).first()
        this_set = earlier is not None and (earlier.file_digest, earlier.interchange, earlier.group_control, earlier.set_control) == (
            src.file_digest, src.interchange, src.group, src.set_control
        )
        if (earlier is not None and not this_set) or key in seen:
            refusals.append(Finding("006", f"trace number {p.trace} was already received", "TRN", trn, 2, "127", p.trace, "820 guide TRN02"))
            return refusals, {}
        if not src.test:
            seen.add(key)
        payer = conn.execute(select(business.c.bn9, business.c.role).where(business.c.bn9 == p.payer_bn9)).first()
        if payer is None:
            refusals.append(Finding("011", f"unknown payer {p.payer_bn9}", "N1", p.position_of("PAYER"), 4, "67", p.payer_bn9, "820 guide N1*PR"))
            return refusals, {}
        is_broker = conn.execute(
            select(licensed_broker.c.bn9).where(licensed_broker.c.bn9 == p.payer_bn9, licensed_broker.c.active.is_(True))
        ).first() is not None
        if is_broker and not p.payer_asec:
            refusals.append(Finding("007", "a broker payment needs the broker's security account", "N1", p.position_of("PAYER"), None, "", "", "D17 Annex F, 820 guide 8"))
        if p.payer_asec:
            holder = conn.execute(
                select(security_account.c.holder_bn9, security_account.c.status).where(security_account.c.asec == p.payer_asec)
            ).first()
            if holder is None or holder.status != "active" or holder.holder_bn9 != p.payer_bn9:
                refusals.append(Finding("011", f"security account {p.payer_asec} is not the payer's", "REF", p.position_of("PAYER_ASEC"), 2, "127", p.payer_asec, "D17 Annex F"))
        if refusals:
            return refusals, {}
        on = received_on or p.effective_date or date.min
        per_line: dict[int, list[Finding]] = {}
        accounts = {
            r.rm15: r.status
            for r in conn.execute(
                select(program_account.c.rm15, program_account.c.status).where(
                    program_account.c.rm15.in_({line.rm15 for line in p.lines})
                )
            )
        }
        for line in p.lines:
            found: list[Finding] = []
            status = accounts.get(line.rm15)
            if status is None:
                found.append(Finding("011", f"unknown program account {line.rm15}", "RMR", line.position, 2, "127", line.rm15, "820 guide 9.1"))
            elif status != "active":
                found.append(Finding("011", f"program account {line.rm15} is not active", "RMR", line.position, 2, "127", line.rm15, "820 guide 9.1"))
            elif line.rm15[:9] != p.payer_bn9 and not _covers(conn, p.payer_bn9, line.rm15, on):
                found.append(Finding("011", f"no relationship lets {p.payer_bn9} pay {line.rm15}", "RMR", line.position, 2, "127", line.rm15, "D17-R3"))
            asec = line.asec
            if asec is not None:
                sec = conn.execute(select(security_account.c.status).where(security_account.c.asec == asec)).first()
                if sec is None or sec.status != "active":
                    found.append(Finding("011", f"unknown security account {asec}", "REF", line.position + 1, 2, "127", asec, "820 guide 9.2"))
            if found:
                per_line[line.number] = found
        return refusals, per_line

    return check


# ------------------------------------------------------------------ allocation
def allocation_order(policy: Policy):
    """Sort key for open items (decision L3): oldest due first; within a due date the
    policy's kind order (declarations before interest, penalties, fees), then the
    oldest declaration, each declaration settled whole in the component order
    duty, SIMA, excise duty, excise tax, GST."""
    kinds = {k: i for i, k in enumerate(policy.allocation_order)}
    components = {c: i for i, c in enumerate(COMPONENTS)}

    def key(it: Item):
        return (
            it.due_date or it.posted_on,
            kinds.get(it.kind, len(kinds)),
            it.posted_on,
            it.transaction_number or "",
            components.get(it.component or "", len(components)),
            it.id,
        )

    return key


def administrative_fee_cents(method: str, kind: str, paid_cents: int, balance_due_cents: int, policy: Policy) -> int:
    """D17-R34: a partial payment of a statement balance may bring an administrative fee
    (manual allocation); waived when paid electronically.  The 820 carries only electronic
    methods (ACH, BOP), so EDI payments never bear it; other channels would."""
    if kind != "SOA" or method in policy.electronic_methods or paid_cents >= balance_due_cents:
        return 0
    return policy.admin_fee_cents


@dataclass(frozen=True, slots=True)
class PostedPayment:
    """What posting did with one payment."""

    fi: str
    trace: str
    status: str
    entry_id: int | None
    applied_cents: int
    credit_cents: int
    suspense_cents: int


def _allocate(
    conn: Connection,
    p: Payment,
    verdict: PaymentVerdict,
    fi: str,
    day: date,
    policy: Policy,
    is_broker: bool,
) -> tuple[list[Line], int, int, list[dict]]:
    """AR credit lines for the applicable lines; returns (lines, applied, left as credit, line rows)."""
    order = allocation_order(policy)
    lines: list[Line] = []
    applied = credit = 0
    rows: list[dict] = []
    items_by_account: dict[str, list[Item]] = {}
    remaining: dict[int, int] = {}  # item id -> balance left after this payment's earlier lines
    if p.kind != "INT":  # every account of the payment in one query
        wanted = sorted({lv.line.rm15 for lv in verdict.lines if lv.applied})
        for it in open_items(conn, wanted) if wanted else []:
            if it.balance > 0:
                items_by_account.setdefault(it.rm15, []).append(it)
                remaining[it.id] = it.balance
        for rm15 in wanted:
            items_by_account[rm15] = sorted(items_by_account.get(rm15, []), key=order)
    for lv in verdict.lines:
        line = lv.line
        asec = line.asec or p.payer_asec
        if not lv.applied:
            rows.append(dict(line_no=line.number, rm15=line.rm15, asec=asec, amount_cents=line.amount_cents, applied=False,
                             reason="; ".join(f"{f.code} {f.message}" for f in lv.findings)))
            continue
        rows.append(dict(line_no=line.number, rm15=line.rm15, asec=asec, amount_cents=line.amount_cents, applied=True, reason=None))
        left = line.amount_cents
        if p.kind != "INT":  # an interim payment waits for the next SOA (D17-R22)
            restrict = line.asec if line.asec else (p.payer_asec if is_broker else None)
            for it in items_by_account[line.rm15]:
                if left == 0:
                    break
                if remaining[it.id] <= 0 or (restrict and it.asec != restrict):
                    continue
                take = min(left, remaining[it.id])
                lines.append(Line("AR", credit=take, rm15=line.rm15, item_id=it.id))
                remaining[it.id] -= take
                left -= take
                applied += take
        if left:
            credit_item = item(
                conn,
                key=f"pay:{fi}:{p.trace}:{line.number}",
                rm15=line.rm15,
                kind="payment",
                asec=asec,
                agent_bn9=p.payer_bn9 if p.payer_bn9 != line.rm15[:9] else None,
                posted_on=day,
                description=f"{'interim' if p.kind == 'INT' else 'unapplied'} payment {p.trace} line {line.number}",
            )
            lines.append(Line("AR", credit=left, rm15=line.rm15, item_id=credit_item))
            credit += left
    return lines, applied, credit, rows


def lock_accounts(conn: Connection, rm15s: Sequence[str]) -> None:
    """Serialize postings to the same accounts across workers (PostgreSQL row locks, fixed order)."""
    if conn.dialect.name == "postgresql" and rm15s:
        conn.execute(
            select(program_account.c.rm15).where(program_account.c.rm15.in_(sorted(set(rm15s)))).order_by(program_account.c.rm15).with_for_update()
        ).all()


def post_payments(conn: Connection, outcome: Outcome, *, received_at: datetime, policy: Policy) -> list[PostedPayment]:
    """Post every production payment of an acknowledged file; nothing when the file was posted before."""
    digest = outcome.result.digest
    if conn.execute(select(posted_file.c.file_digest).where(posted_file.c.file_digest == digest)).first():
        return []
    posted: list[PostedPayment] = []
    for s in outcome.sets:
        if s.verdict is None or s.payment is None:
            continue
        if s.interchange.usage != "P":
            log.info("payment.test_not_posted", trace=s.payment.trace, digest=digest[:16])
            continue
        posted.append(_post_one(conn, s, received_at, policy))
    conn.execute(
        posted_file.insert().values(file_digest=digest, name=outcome.name[:200], received_at=received_at, payments=len(posted))
    )
    return posted


def _post_one(conn: Connection, s: SetOutcome, received_at: datetime, policy: Policy) -> PostedPayment:
    p, verdict = s.payment, s.verdict
    assert p is not None and verdict is not None
    fi = p.source.sender
    day = payment_day(received_at, p.method, policy)
    bound = log.bind(fi=fi, trace=p.trace, isa13=p.source.interchange, gs06=p.source.group, st02=p.source.set_control, digest=p.source.file_digest[:16])
    base = dict(
        fi=fi, trace=p.trace, file_digest=p.source.file_digest, interchange=p.source.interchange,
        group_control=p.source.group, set_control=p.source.set_control, kind=p.kind[:3], method=p.method[:3],
        total_cents=p.total_cents, payer_bn9=p.payer_bn9, payer_asec=p.payer_asec, received_at=received_at,
        payment_day=day, verdict=verdict.code,
    )
    if verdict.duplicate:
        conn.execute(payment_table.insert().values(**base, status="duplicate", suspense_cents=0, entry_id=None))
        bound.warning("payment.duplicate", total=format_cents(p.total_cents))
        return PostedPayment(fi, p.trace, "duplicate", None, 0, 0, 0)

    is_broker = conn.execute(select(licensed_broker.c.bn9).where(licensed_broker.c.bn9 == p.payer_bn9)).first() is not None
    lock_accounts(conn, [lv.line.rm15 for lv in verdict.applicable_lines])
    lines: list[Line] = [Line("BANK", debit=p.total_cents, party=fi, trace=p.trace)] if p.total_cents > 0 else []
    applied = credit = 0
    rows: list[dict] = []
    if verdict.refusals:
        if verdict.suspense_cents:
            lines.append(Line("SUSPENSE", credit=verdict.suspense_cents, party=p.payer_bn9, trace=p.trace))
        status, reason = "refused", "PAYMENT_REFUSED"
    else:
        due_before = sum(it.balance for lv in verdict.applicable_lines for it in open_items(conn, lv.line.rm15)
                         if it.balance > 0 and it.due_date is not None and it.due_date <= day) if p.method not in policy.electronic_methods else 0
        ar_lines, applied, credit, rows = _allocate(conn, p, verdict, fi, day, policy, is_broker)
        lines += ar_lines
        fee = administrative_fee_cents(p.method, p.kind, applied + credit, due_before, policy)
        if fee and verdict.applicable_lines:
            rm15 = verdict.applicable_lines[0].line.rm15
            fee_item = item(conn, key=f"fee:{fi}:{p.trace}", rm15=rm15, kind="fee", posted_on=day, due_date=day,
                            description=f"administrative fee: partial non-electronic payment {p.trace}")
            lines += [Line("AR", debit=fee, rm15=rm15, item_id=fee_item), Line("FEE", credit=fee, rm15=rm15)]
        if verdict.suspense_cents:
            lines.append(Line("SUSPENSE", credit=verdict.suspense_cents, party=p.payer_bn9, trace=p.trace))
        status, reason = "posted", "PAYMENT"
    entry_id = None
    if lines:
        entry_id = post(
            conn,
            Entry(f"pay:{fi}:{p.trace}", day, reason, f"{p.kind} payment {p.trace} from {p.payer_bn9} via {fi}", tuple(lines), source=p.source.file_digest),
            received_at,
        )
    payment_id = conn.execute(
        payment_table.insert().values(**base, status=status, suspense_cents=verdict.suspense_cents, entry_id=entry_id).returning(payment_table.c.id)
    ).scalar_one()
    if rows:
        conn.execute(payment_line.insert(), [dict(payment_id=payment_id, **row) for row in rows])
    kind = "payment_refused" if verdict.refusals else ("payment_set_aside" if verdict.code == "TE" else "payment_applied")
    record_notice(
        conn, f"{kind}:{fi}:{p.trace}", day, p.payer_bn9, None, kind,
        {"trace": p.trace, "total_cents": p.total_cents, "applied_cents": applied, "credit_cents": credit,
         "suspense_cents": verdict.suspense_cents, "verdict": verdict.code,
         "findings": [f"{f.code} {f.message}" for f in verdict.refusals] + [f"line {lv.line.number}: {f.code} {f.message}" for lv in verdict.lines for f in lv.findings]},
    )
    bound.info("payment.posted", status=status, verdict=verdict.code, total=format_cents(p.total_cents),
               applied=format_cents(applied), credit=format_cents(credit), suspense=format_cents(verdict.suspense_cents), payment_day=str(day))
    return PostedPayment(fi, p.trace, status, entry_id, applied, credit, verdict.suspense_cents)
