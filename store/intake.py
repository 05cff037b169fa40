"""What intake keeps: the register of inbound files (`edi_inbound_file`), every file taken from a
partner's inbox with where its bytes are archived and what became of it; and what intake saw
in the inboxes (`edi_inbox_poll`, `edi_inbox_sighting`): when each file was first seen, whether
its size still moves, how many reads failed, which strays were reported."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Connection, delete, select, update

from core.db import insert_for

from .schema import inbound_file, inbox_poll, inbox_sighting

__all__ = [
    "FileState", "Sighting", "record_received", "record_outcome",
    "poll", "sight", "sighting", "forget_others", "failed_read", "forget", "mark_reported",
]


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
        .values(status=state, reason=None if reason is None else reason.replace("\x00", "\\x00"), exit_code=exit_code,
                processed_at=at)
    )


@dataclass(frozen=True, slots=True)
class Sighting:
    """An inbox entry as intake has seen it over its listings.

    Attributes:
        partner / name / kind: where, what (`file`, or the kind of stray).
        first_seen_at: the listing that first showed it.
        window_start: the inbox's listing before that one, when there was one: the entry
            arrived between the two.
        size / size_since: its size, and the listing since which it has not changed.
        modified_at: its modification time, as the partner's client set it.
        attempts / last_error: reads that failed, and the last reason.
        reported_at: when it was reported (strays).
    """

    partner: str
    name: str
    kind: str
    first_seen_at: datetime
    window_start: datetime | None
    size: int
    size_since: datetime
    modified_at: datetime | None
    attempts: int
    last_error: str | None
    reported_at: datetime | None


def _utc(at: datetime | None) -> datetime | None:
    """Instants are kept in UTC; SQLite gives them back without their zone."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _sighting(row) -> Sighting:
    return Sighting(row.partner, row.name, row.kind, _utc(row.first_seen_at), _utc(row.window_start), int(row.size), _utc(row.size_since),
                    _utc(row.modified_at), int(row.attempts), row.last_error, _utc(row.reported_at))


def poll(conn: Connection, partner: str, now: datetime) -> datetime | None:
    """Record a listing of `partner`'s inbox at `now`; when the one before was made, if ever."""
    previous = _utc(conn.execute(select(inbox_poll.c.polled_at).where(inbox_poll.c.partner == partner)).scalar())
    now = _utc(now)
    stmt = insert_for(conn)(inbox_poll).values(partner=partner, polled_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["partner"], set_={"polled_at": now}))
    return previous


def sight(conn: Connection, partner: str, name: str, kind: str, size: int, modified_at: datetime | None, now: datetime,
          window_start: datetime | None) -> Sighting:
    """Record that a listing at `now` shows this entry; the sighting as it stands after."""
    now, window_start, modified_at = _utc(now), _utc(window_start), _utc(modified_at)
    found = sighting(conn, partner, name)
    if found is None:
        conn.execute(insert_for(conn)(inbox_sighting).values(
            partner=partner, name=name, kind=kind, first_seen_at=now, window_start=window_start, size=size, size_since=now,
            modified_at=modified_at, attempts=0).on_conflict_do_nothing())
    elif found.size != size or found.modified_at != modified_at:
        conn.execute(update(inbox_sighting).where(inbox_sighting.c.partner == partner, inbox_sighting.c.name == name)
                     .values(size=size, size_since=now, modified_at=modified_at))
    return sighting(conn, partner, name)


def sighting(conn: Connection, partner: str, name: str) -> Sighting | None:
    row = conn.execute(select(inbox_sighting).where(inbox_sighting.c.partner == partner, inbox_sighting.c.name == name)).first()
    return None if row is None else _sighting(row)


def forget_others(conn: Connection, partner: str, present: Iterable[str]) -> None:
    """Drop the sightings of entries no longer in the partner's inbox (withdrawn by the partner)."""
    keep = set(present)
    gone = [n for n in conn.execute(select(inbox_sighting.c.name).where(inbox_sighting.c.partner == partner)).scalars() if n not in keep]
    if gone:
        conn.execute(delete(inbox_sighting).where(inbox_sighting.c.partner == partner, inbox_sighting.c.name.in_(gone)))


def failed_read(conn: Connection, partner: str, name: str, error: str) -> int:
    """Count one more failed read of a claimed file; the attempts so far."""
    conn.execute(update(inbox_sighting).where(inbox_sighting.c.partner == partner, inbox_sighting.c.name == name)
                 .values(attempts=inbox_sighting.c.attempts + 1, last_error=error))
    found = sighting(conn, partner, name)
    return found.attempts if found else 1


def forget(conn: Connection, partner: str, name: str) -> None:
    """The file is finished (processed or quarantined): a new upload of the same name starts afresh."""
    conn.execute(delete(inbox_sighting).where(inbox_sighting.c.partner == partner, inbox_sighting.c.name == name))


def mark_reported(conn: Connection, partner: str, name: str, at: datetime) -> None:
    conn.execute(update(inbox_sighting).where(inbox_sighting.c.partner == partner, inbox_sighting.c.name == name)
                 .values(reported_at=_utc(at)))
