"""Bulk work without the cyclic garbage collector's full passes: paused for a posting
(`collector_paused`, decision L30), run seldom while a file is validated (`collections_seldom`, E28);
for a statements run, paused unless it makes reference cycles (`collector_for`, S14).

A bulk step (posting a file's allocations) creates a few small objects per line —
hundreds of thousands for a large file, none of them in reference cycles — and each
collection they trigger walks every object of the process, the validator's maps
included: a tenth of a second per full pass, a quarter of a posting's time. Paused for
the step, it resumes on its usual thresholds after it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused", "collections_seldom", "collector_for"]


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


#: New objects between two young collections while a file is validated (Python's default: 700), and
#: young collections between two full ones (default: 10); `collections_seldom`.
_YOUNG_COLLECTION_EVERY = 50_000
_FULL_COLLECTION_EVERY = 1000
_collections_lock = threading.Lock()
_collections_kept: list = [0, None]  # files being validated, the thresholds to put back after the last


@contextmanager
def collections_seldom() -> Iterator[None]:
    """Let the garbage collector run seldom while a file is validated (decision E28): a payment
    keeps an object per line until its set is judged (its lines, their verdicts), and at Python's
    default thresholds so many objects that live on are walked by each generation in turn, then make
    Python walk every object of the process again and again — a fifth of the time of a 100,000-line
    file.  Cycles are still collected, 50,000 new objects at most after they are made; the thresholds
    are put back when the last file in validation ends, whichever thread it runs in."""
    with _collections_lock:
        if _collections_kept[0] == 0:
            _collections_kept[1] = gc.get_threshold()
            young, middle, _ = _collections_kept[1]
            if young:  # 0: collection is off; it stays so
                gc.set_threshold(max(young, _YOUNG_COLLECTION_EVERY), middle, _FULL_COLLECTION_EVERY)
        _collections_kept[0] += 1
    try:
        yield
    finally:
        with _collections_lock:
            _collections_kept[0] -= 1
            if _collections_kept[0] == 0:
                gc.set_threshold(*_collections_kept[1])


@contextmanager
def collector_for(*, cycles: bool) -> Iterator[None]:
    """The collector for bulk work: paused (`collector_paused`) when the work makes no reference
    cycles, left as it is when it does.  Paused, it would keep every cycle until the block ends: a
    PDF drawn by fpdf2 leaves ~375 objects in cycles (~76 KiB), so a statements run of 100,000 PDFs
    would hold gigabytes.  Run seldom (`collections_seldom`) is no cure: a PDF's objects live while
    it is drawn, outlive a young collection or two, and wait in the oldest generation for a full
    pass that seldom comes (600 PDFs: 91 MiB paused, 54 MiB seldom; decision S14)."""
    if cycles:
        yield
        return
    with collector_paused():
        yield
