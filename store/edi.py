"""`SqlEdiStore`: the EDI layer's `edi.store.EdiStore` in the database, inside the caller's transaction.

Control numbers are incremented atomically by the database (one upsert returning the new
value), so two workers never hand out the same number.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select

from core.db import insert_for
from edi.store import MAX_CONTROL_NUMBER

from .schema import control_sequence, inbound_interchange, inbound_report, outbound_document

__all__ = ["SqlEdiStore", "forget_answers"]


class SqlEdiStore:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def next_control_number(self, partner: str, kind: str) -> int:
        insert = insert_for(self._conn)
        stmt = insert(control_sequence).values(partner=partner, kind=kind, last_value=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["partner", "kind"],
            set_={"last_value": control_sequence.c.last_value % MAX_CONTROL_NUMBER + 1},
        ).returning(control_sequence.c.last_value)
        return int(self._conn.execute(stmt).scalar_one())

    def interchange_seen(self, sender: str, control_number: str, digest: str) -> str | None:
        row = self._conn.execute(
            select(inbound_interchange.c.file_digest).where(
                inbound_interchange.c.sender == sender, inbound_interchange.c.control_number == control_number
            )
        ).first()
        if row is None or row.file_digest == digest:
            return None
        return row.file_digest

    def record_interchange(self, sender: str, control_number: str, digest: str, at: datetime) -> None:
        insert = insert_for(self._conn)
        self._conn.execute(
            insert(inbound_interchange)
            .values(sender=sender, control_number=control_number, file_digest=digest, received_at=at)
            .on_conflict_do_nothing()
        )

    def documents(self, partner: str, digest: str) -> dict[str, tuple[str, bytes]]:
        rows = self._conn.execute(
            select(outbound_document.c.kind, outbound_document.c.name, outbound_document.c.content)
            .where(outbound_document.c.partner == partner, outbound_document.c.file_digest == digest)
            .order_by(outbound_document.c.sequence)
        )
        return {row.kind: (row.name, bytes(row.content)) for row in rows}

    def save_document(self, partner: str, digest: str, kind: str, name: str, content: bytes, sequence: int, at: datetime) -> None:
        self._conn.execute(
            outbound_document.insert().values(
                partner=partner, file_digest=digest, kind=kind, name=name, content=content, sequence=sequence, created_at=at
            )
        )

    def report(self, partner: str, digest: str) -> str | None:
        return self._conn.execute(
            select(inbound_report.c.report).where(inbound_report.c.partner == partner, inbound_report.c.file_digest == digest)
        ).scalar_one_or_none()

    def save_report(self, partner: str, digest: str, report: str, at: datetime) -> None:
        insert = insert_for(self._conn)
        self._conn.execute(
            insert(inbound_report).values(partner=partner, file_digest=digest, report=report, created_at=at)
            .on_conflict_do_update(index_elements=["partner", "file_digest"], set_={"report": report, "created_at": at})
        )


def forget_answers(conn: Connection, partner: str, digest: str) -> int:
    """Forget the answers kept for the file `digest` from `partner`, and the interchanges it
    brought, so that it is judged afresh (an operator's replay of a quarantined file); how many."""
    gone = conn.execute(delete(outbound_document).where(outbound_document.c.partner == partner, outbound_document.c.file_digest == digest))
    conn.execute(delete(inbound_report).where(inbound_report.c.partner == partner, inbound_report.c.file_digest == digest))
    conn.execute(delete(inbound_interchange).where(inbound_interchange.c.file_digest == digest))
    return gone.rowcount or 0
