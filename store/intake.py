"""The register of inbound files (`edi_inbound_file`): every file taken from a partner's inbox,
where its bytes are archived, and what became of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, update

from core.db import insert_for

from .schema import inbound_file

__all__ = ["FileState", "record_received", "record_outcome"]


class FileState(StrEnum):
    RECEIVED = "received"  # claimed and archived, not finished
    PROCESSED = "processed"  # answered (997 / TA1 / 824) and posted
    QUARANTINED = "quarantined"  # nothing in it could be read or answered by a 997


def record_received(conn: Connection, *, digest: str, partner: str, name: str, size: int, received_at: datetime, archive_path: str) -> None:
    """Register a file the first time its bytes arrive from `partner` (idempotent on partner and digest)."""
    conn.execute(
        insert_for(conn)(inbound_file)
        .values(file_digest=digest, partner=partner, name=name, size=size, received_at=received_at,
                archive_path=archive_path, status=FileState.RECEIVED)
        .on_conflict_do_nothing()
    )


def record_outcome(conn: Connection, partner: str, digest: str, *, state: FileState, reason: str | None, exit_code: int, at: datetime) -> None:
    conn.execute(
        update(inbound_file)
        .where(inbound_file.c.partner == partner, inbound_file.c.file_digest == digest)
        .values(status=state, reason=reason, exit_code=exit_code, processed_at=at)
    )
