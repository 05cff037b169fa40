"""Agency time: Eastern (D17-R32 cut-offs, envelope dates)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/Toronto")


def now() -> datetime:
    return datetime.now(EASTERN)
