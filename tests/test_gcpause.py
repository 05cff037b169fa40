"""`core.gcpause.collector_for`: work that makes reference cycles has them collected as it goes;
work that makes none runs with the collector paused (decisions L30, S14)."""

from __future__ import annotations

import gc
import weakref

from core.gcpause import collector_for


class _Cyclic:
    """An object in a reference cycle with itself, as fpdf2 leaves each PDF it draws."""

    def __init__(self) -> None:
        self.me = self
        self.payload = [object() for _ in range(20)]


def _alive_after_making(count: int, *, cycles: bool) -> int:
    refs = []
    with collector_for(cycles=cycles):
        for _ in range(count):
            refs.append(weakref.ref(_Cyclic()))
        alive = sum(ref() is not None for ref in refs)
    gc.collect()
    assert all(ref() is None for ref in refs)  # whatever the policy, nothing outlives a collection
    return alive


def test_cycles_made_in_bulk_are_collected_as_the_work_goes():
    gc.collect()
    assert _alive_after_making(20_000, cycles=True) < 20_000 // 2


def test_work_without_cycles_runs_with_the_collector_paused_and_gets_it_back():
    gc.collect()
    assert _alive_after_making(20_000, cycles=False) == 20_000  # paused: nothing collected in the block
    assert gc.isenabled()
