"""Bulk work without the cyclic garbage collector's full passes.

A bulk step (posting a file's allocations) creates a few small objects per line —
hundreds of thousands for a large file, none of them in reference cycles — and each
collection they trigger walks every object of the process, the validator's maps
included: a tenth of a second per full pass, a quarter of a posting's time. Paused for
the step, it resumes on its usual thresholds after it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause automatic garbage collection for the block (reference counting still frees
    everything acyclic at once); restore it as it was, whatever happens."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
