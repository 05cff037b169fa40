"""Monitoring-report recipients and what was delivered to them (Annex D).

Recipients are reference data (`carm reference load`, section `monitoring_recipients`);
a delivery is recorded per recipient and period with the SHA-256 of the report before
encryption, so a re-run that would send the same report sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from core.db import insert_for

from .schema import monitoring_delivery, monitoring_recipient

__all__ = ["MonitoringRecipient", "monitoring_recipients", "delivered_digest", "record_delivery"]


@dataclass(frozen=True, slots=True)
class MonitoringRecipient:
    """Who asked for the monitoring report of an account.

    Attributes:
        name: the recipient's name, also its folder (the report goes to its outbox).
        rm15: the program account the report is about.
        language: `en` or `fr`.
        age_recipient: its age X25519 public key (`age1…`), or None when none is registered.
    """

    name: str
    rm15: str
    language: str
    age_recipient: str | None


def monitoring_recipients(conn: Connection, name: str | None = None) -> list[MonitoringRecipient]:
    """Every registered recipient by name, or only `name` (an empty list when nobody has it)."""
    query = select(monitoring_recipient).order_by(monitoring_recipient.c.name)
    if name is not None:
        query = query.where(monitoring_recipient.c.name == name)
    return [MonitoringRecipient(r.name, r.rm15, r.language, r.age_recipient) for r in conn.execute(query)]


def delivered_digest(conn: Connection, name: str, period: str) -> str | None:
    """The digest of the report last delivered to `name` for `period`, or None."""
    return conn.execute(
        select(monitoring_delivery.c.digest).where(monitoring_delivery.c.name == name, monitoring_delivery.c.period == period)
    ).scalar_one_or_none()


def record_delivery(conn: Connection, name: str, period: str, file_name: str, digest: str, at: datetime) -> None:
    """Remember that the report of `digest` went to `name` for `period` (replacing an earlier one)."""
    insert = insert_for(conn)
    row = {"name": name, "period": period, "file_name": file_name, "digest": digest, "delivered_at": at}
    stmt = insert(monitoring_delivery).values(**row)
    conn.execute(stmt.on_conflict_do_update(index_elements=["name", "period"],
                                            set_={k: stmt.excluded[k] for k in ("file_name", "digest", "delivered_at")}))
