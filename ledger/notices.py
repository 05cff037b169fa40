"""Notices (avis) the ledger raises: payment applied / refused / set aside, arrears,
disbursement, security exceeded, relationship changes (G-R1).

A notice is recorded once (its key comes from what it is about) with the
facts it states as JSON; rendering it in the holder's language and sending
it is the statements layer's job.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Connection

from carm.db import insert_for

from .schema import notice

__all__ = ["record_notice", "URGENT_KINDS"]

#: Kinds always sent, whatever the holder's e-mail subscription (G-R1).
URGENT_KINDS = frozenset({"payment_refused", "payment_set_aside", "arrears", "security_exceeded"})


def record_notice(conn: Connection, key: str, day: date, bn9: str, rm15: str | None, kind: str, data: dict) -> None:
    """Record the notice `key` unless it already exists (idempotent)."""
    insert = insert_for(conn)
    conn.execute(
        insert(notice)
        .values(key=key, notice_date=day, bn9=bn9, rm15=rm15, kind=kind, urgent=kind in URGENT_KINDS, data=json.dumps(data, sort_keys=True))
        .on_conflict_do_nothing()
    )
