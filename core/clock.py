"""Agency time: Eastern (D17-R32 cut-offs, envelope dates).

`now()` is the engine's one reading of the clock; everything else takes its instants as
arguments, so that a run keyed on a date never depends on when it runs.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["EASTERN", "now"]

EASTERN = ZoneInfo("America/Toronto")


def now() -> datetime:
    return datetime.now(EASTERN)
