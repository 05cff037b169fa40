"""The engine's outputs on the sample world are exactly the ones kept in `tests/golden/`.

`tests/golden_scenario.py` runs the demo's month (and the next) through the `carm`
command with the clock frozen: the 997/TA1/824 of every sample 820, the Daily Notices and
Statements of Account as XML, and the books at the end. A change that alters any byte of
them fails here; a change meant to alter them regenerates the folder
(`python -m tests.golden_scenario /tmp/g && cp -r /tmp/g/{accounts,acks,documents,ledger,validate} tests/golden/`)
and the diff shows what changed.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from . import golden_scenario

GOLDEN = Path(__file__).resolve().parent / "golden"


def _compare(produced: dict[str, bytes]) -> None:
    kept = golden_scenario.files(GOLDEN)
    assert sorted(produced) == sorted(kept)
    for name, data in produced.items():
        if data != kept[name]:
            diff = difflib.unified_diff(
                kept[name].decode(errors="replace").splitlines(), data.decode(errors="replace").splitlines(),
                f"golden/{name}", f"now/{name}", lineterm="", n=1,
            )
            raise AssertionError("\n".join(list(diff)[:60]))


def test_sample_world_outputs_are_unchanged_on_sqlite(tmp_path):
    golden_scenario.run(tmp_path)
    _compare(golden_scenario.files(tmp_path))


def test_sample_world_outputs_are_unchanged_on_postgresql(tmp_path, pg_engine):
    golden_scenario.run(tmp_path, pg_engine.url.render_as_string(hide_password=False))
    _compare(golden_scenario.files(tmp_path))


def test_a_dry_run_answers_exactly_as_the_ingest_that_follows_it():
    """`carm edi validate` just before `carm payments ingest` of the same file gives the same 997,
    TA1 and 824, control numbers aside (a dry run consumes none)."""
    import io

    from edi.reader import X12Reader

    def segments(data: bytes) -> list[tuple[str, ...]]:
        masked = {"ISA": 13, "IEA": 2, "GS": 6, "GE": 2}
        out = []
        for seg in X12Reader(io.BytesIO(data)):
            elements = list(seg.elements)
            if seg.id in masked:
                elements[masked[seg.id]] = "#"
            out.append(tuple(elements))
        return out

    kept = golden_scenario.files(GOLDEN)
    dry = {name.split("/", 1)[1]: data for name, data in kept.items() if name.startswith("validate/")}
    assert dry and set(dry) == {name.split("/", 1)[1] for name in kept if name.startswith("acks/")}
    for name, data in dry.items():
        assert segments(data) == segments(kept[f"acks/{name}"]), name
