"""Suspense in the database: the lines held, and an operator's apply or return (`ledger.suspense`).

`apply` and `return_` each write one adjusting entry keyed by the line, inside a savepoint:
when another operator (or process) resolved the same line first, the journal's unique key
refuses the second entry and the caller gets a `Problem` saying so — never a second posting.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from core.problems import Problem
from ledger.errors import IdempotencyConflict
from ledger.model import PaymentStatus
from ledger.policy import Policy
from ledger.snapshot import Snapshot
from ledger.suspense import SuspenseLine, plan_apply, plan_return, resolution_key

from .journal import lock_accounts, open_items, write_plan
from .schema import journal_entry, payment, payment_line, program_account, security_account

__all__ = ["suspense_lines", "find_line", "apply", "return_"]


def suspense_lines(conn: Connection, *, held_only: bool = True) -> list[SuspenseLine]:
    """Every line set aside from a posted payment, oldest first, with what became of it."""
    rows = conn.execute(
        select(payment.c.fi, payment.c.trace, payment.c.payer_bn9, payment.c.payment_day, payment_line.c.line_no,
               payment_line.c.rm15, payment_line.c.asec, payment_line.c.amount_cents, payment_line.c.reason)
        .join(payment_line, payment_line.c.payment_id == payment.c.id)
        .where(payment.c.status == PaymentStatus.POSTED, payment_line.c.applied.is_(False))
        .order_by(payment.c.payment_day, payment.c.id, payment_line.c.line_no)
    ).all()
    keys = {resolution_key(r.fi, r.trace, r.line_no): r for r in rows}
    resolved = {}
    for chunk_start in range(0, len(keys), 1000):
        chunk = list(keys)[chunk_start:chunk_start + 1000]
        resolved.update(
            (k, (reason, day)) for k, reason, day in conn.execute(
                select(journal_entry.c.key, journal_entry.c.reason, journal_entry.c.entry_date).where(journal_entry.c.key.in_(chunk))
            )
        )
    lines = []
    for key, r in keys.items():
        resolution, on = resolved.get(key, (None, None))
        if held_only and resolution is not None:
            continue
        lines.append(SuspenseLine(r.fi, r.trace, int(r.line_no), r.payer_bn9, r.rm15, r.asec, int(r.amount_cents), r.payment_day,
                                  r.reason or "", resolution, on))
    return lines


def find_line(conn: Connection, line_id: str) -> SuspenseLine | Problem:
    """The line `<FI>/<trace>/<line>` (as `carm suspense list` names it), held or not."""
    fi, sep, rest = line_id.partition("/")
    trace, sep2, number = rest.rpartition("/")
    if not (sep and sep2 and number.isdigit()):
        return Problem("not-found", f"{line_id!r} is not a suspense line id (<FI>/<trace>/<line>, as `carm suspense list` shows)")
    for line in suspense_lines(conn, held_only=False):
        if (line.fi, line.trace, line.line_no) == (fi, trace, int(number)):
            return line
    return Problem("not-found", f"no line {line_id} was set aside")


def _resolved(line: SuspenseLine) -> Problem:
    verb = "applied" if line.resolution == "SUSPENSE_APPLIED" else "returned"
    return Problem("already-resolved", f"line {line.id} was already {verb} on {line.resolved_on}")


def _write_once(conn: Connection, plan, line: SuspenseLine, at: datetime) -> Problem | None:
    """Write the plan resolving `line`, unless another operator or process resolved it first."""
    key = resolution_key(line.fi, line.trace, line.line_no)
    savepoint = conn.begin_nested()
    try:
        written = write_plan(conn, plan, at)
    except (IntegrityError, IdempotencyConflict):
        written = None
    if written is not None and key in written.entry_ids:
        savepoint.commit()
        return None
    savepoint.rollback()  # the key was taken meanwhile: our entry was not written (or was a replay of theirs)
    found = find_line(conn, line.id)
    if isinstance(found, SuspenseLine) and not found.held:
        return _resolved(found)
    return Problem("already-resolved", f"line {line.id} was resolved meanwhile")


def apply(conn: Connection, line_id: str, rm15: str, asec: str | None, *, policy: Policy, day: date, at: datetime,
          by: str, note: str) -> SuspenseLine | Problem:
    """Apply a held line to `rm15` (and `asec`); the line, or why not."""
    line = find_line(conn, line_id)
    if isinstance(line, Problem):
        return line
    if not line.held:
        return _resolved(line)
    status = conn.execute(select(program_account.c.status).where(program_account.c.rm15 == rm15)).scalar()
    if status != "active":
        return Problem("not-applied", f"{rm15} is not an active program account", line.id)
    if asec is not None:
        sec = conn.execute(select(security_account.c.status).where(security_account.c.asec == asec)).scalar()
        if sec != "active":
            return Problem("not-applied", f"{asec} is not an active security account", line.id)
    lock_accounts(conn, [rm15])
    plan = plan_apply(line, rm15, asec, day=day, snapshot=Snapshot(open_items(conn, [rm15])), policy=policy, by=by, note=note)
    return _write_once(conn, plan, line, at) or line


def return_(conn: Connection, line_id: str, *, day: date, at: datetime, by: str, reason: str) -> SuspenseLine | Problem:
    """Return a held line to the FI that sent it; the line, or why not."""
    line = find_line(conn, line_id)
    if isinstance(line, Problem):
        return line
    if not line.held:
        return _resolved(line)
    return _write_once(conn, plan_return(line, day=day, by=by, reason=reason), line, at) or line
