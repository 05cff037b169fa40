"""`carm payments ingest`: validate → 997/TA1 → account checks → 824 → post, in one transaction.

The EDI pipeline (`edi.pipeline.acknowledge_file`) judges each payment with
the ledger's account-data checks, writes the acknowledgements, and the ledger
posts what may be posted — all in one database transaction, so a crash
leaves either everything or nothing.  Two workers racing on the same file or
the same trace number: the loser's transaction fails on a unique key, is
rolled back and retried, and then finds the file already answered (replay).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from carm import clock
from edi.pipeline import Outcome, acknowledge_file

from .policy import Policy
from .posting import PostedPayment, payment_checks, post_payments

__all__ = ["ingest_file", "Ingested"]

log = structlog.get_logger("ledger.ingest")
ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Ingested:
    outcome: Outcome
    posted: list[PostedPayment]


def ingest_file(
    engine: Engine,
    data: bytes | Path,
    name: str,
    *,
    received_at: datetime,
    policy: Policy,
    sender: str | None = None,
    acknowledged_at: datetime | None = None,
) -> Ingested:
    """Acknowledge and post one inbound file (idempotent on its bytes).

    `received_at` decides timeliness (D17-R32); `acknowledged_at` [now] is written in
    the answers' envelopes; `sender` as in `acknowledge_file`."""
    acknowledged_at = acknowledged_at or clock.now()
    for attempt in range(1, ATTEMPTS + 1):
        stream = io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")
        try:
            with stream, engine.begin() as conn:
                outcome = acknowledge_file(
                    stream, name, conn=conn, when=acknowledged_at, checks=[payment_checks(conn, received_at.astimezone(clock.EASTERN).date())], sender=sender
                )
                posted = [] if outcome.replayed else post_payments(conn, outcome, received_at=received_at, policy=policy)
            return Ingested(outcome, posted)
        except (IntegrityError, OperationalError) as exc:
            # another worker committed the same file, trace or control number first (or SQLite was busy)
            if attempt == ATTEMPTS:
                raise
            log.info("ingest.retry", file=name, attempt=attempt, reason=type(exc.orig).__name__ if getattr(exc, "orig", None) else str(exc))
    raise AssertionError("unreachable")  # pragma: no cover
