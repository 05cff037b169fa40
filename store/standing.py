"""The standing of accounts in the database: the dated records of the measures of D17-R38
(`ledger.standing`) and their claims against security accounts.

A record is written once when measures start; when they end, its `ended_on` and its claims'
`withdrawn_on` are set (state with dates, the history kept — never money: the journal is not
touched).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from core.db import insert_for
from ledger.model import Notice
from ledger.standing import SecurityClaim, Standing, StandingChange

from .journal import record_notices
from .schema import account_standing, security_account, security_claim

__all__ = ["standings", "latest_standings", "security_amounts", "write_standing"]


def standings(conn: Connection, rm15s: Iterable[str] | None = None) -> dict[str, list[Standing]]:
    """Every record of measures, per account, oldest first (of `rm15s` only when given)."""
    query = select(account_standing).order_by(account_standing.c.rm15, account_standing.c.since)
    claims_query = select(security_claim).order_by(security_claim.c.asec)
    if rm15s is not None:
        wanted = sorted(set(rm15s))
        query = query.where(account_standing.c.rm15.in_(wanted))
        claims_query = claims_query.join(account_standing, account_standing.c.id == security_claim.c.standing_id).where(
            account_standing.c.rm15.in_(wanted))
    claims: dict[int, list[SecurityClaim]] = defaultdict(list)
    for c in conn.execute(claims_query):
        claims[int(c.standing_id)].append(SecurityClaim(c.asec, int(c.overdue_cents), int(c.security_cents), int(c.claim_cents)))
    out: dict[str, list[Standing]] = defaultdict(list)
    for r in conn.execute(query):
        out[r.rm15].append(Standing(r.rm15, r.since, r.ended_on, r.reason, r.oldest_due_date, int(r.overdue_cents),
                                    tuple(claims.get(int(r.id), ()))))
    return dict(out)


def latest_standings(conn: Connection) -> dict[str, Standing]:
    """The latest record of each account that has one (in force or ended)."""
    return {rm15: records[-1] for rm15, records in standings(conn).items()}


def security_amounts(conn: Connection) -> dict[str, tuple[str, int]]:
    """The holder and the security posted of each active security account."""
    return {r.asec: (r.holder_bn9, int(r.security_cents)) for r in conn.execute(
        select(security_account.c.asec, security_account.c.holder_bn9, security_account.c.security_cents)
        .where(security_account.c.status == "active"))}


def write_standing(conn: Connection, rm15: str, change: StandingChange) -> None:
    """Write a day's change of standing of `rm15` and its notices (idempotent: the same day again
    finds the record written and the notices recorded)."""
    if change.start is not None:
        s = change.start
        insert = insert_for(conn)
        standing_id = conn.execute(  # a run of the same day in another process may have written it first: then nothing
            insert(account_standing).values(rm15=rm15, since=s.since, reason=s.reason, oldest_due_date=s.oldest_due_date,
                                            overdue_cents=s.overdue_cents).on_conflict_do_nothing().returning(account_standing.c.id)
        ).scalar()
        if standing_id is not None and s.claims:
            conn.execute(security_claim.insert(), [
                dict(standing_id=standing_id, asec=c.asec, claimed_on=s.since, overdue_cents=c.overdue_cents,
                     security_cents=c.security_cents, claim_cents=c.claim_cents) for c in s.claims
            ])
    if change.end is not None:
        open_ids = select(account_standing.c.id).where(account_standing.c.rm15 == rm15, account_standing.c.ended_on.is_(None))
        conn.execute(update(security_claim).where(security_claim.c.standing_id.in_(open_ids), security_claim.c.withdrawn_on.is_(None))
                     .values(withdrawn_on=change.end))
        conn.execute(update(account_standing).where(account_standing.c.rm15 == rm15, account_standing.c.ended_on.is_(None))
                     .values(ended_on=change.end))
    notices: list[Notice] = change.notices
    record_notices(conn, notices)
