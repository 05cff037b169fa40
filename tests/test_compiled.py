"""The compiled validation engine (decision E22): its tables are the map's, and its answers pyx12's.

pyx12 stays the oracle: every input here is answered by `edi.pipeline.acknowledge_file` with
each engine, and the TA1, 997 and 824 bytes — and the `FileResult`s behind them — must be the
same.  The full run (100,000 mutations) is `bench/differential.py`, by hand.
"""

from __future__ import annotations

import gc
import io
import random
import shutil
from datetime import datetime

import pytest

from bench import differential
from bench.gen820 import generate
from core.clock import EASTERN
from core.errors import ConfigError
from core.settings import Settings
from edi import compile_guide
from edi.limits import Limits
from edi.pipeline import acknowledge_file
from edi.reader import X12Reader
from edi.samples import LineSpec, PaymentSpec, file_820
from edi.store import MemoryEdiStore
from edi.validate import FileChanged, _maps, validate_stream
from mappings import MAP_DIR

from .conftest import CORPUS, FIXTURES
from .edi_helpers import BASE_PAYMENT, base_file

AT = datetime(2026, 11, 21, 8, 15, tzinfo=EASTERN)


def _both(data: bytes) -> tuple[tuple, tuple]:
    return differential.answers(data, Limits(engine="compiled")), differential.answers(data, Limits(engine="pyx12"))


def _segments(*body: str) -> bytes:
    """One set of the base file with its ENT loops replaced by `body` (SE01 counted)."""
    text = base_file().decode()
    head, rest = text.split("ENT*1~", 1)
    tail = rest[rest.index("SE*"):]
    count = head[head.index("ST*820"):].count("~") + len(body) + 1
    tail = f"SE*{count}*0001~" + tail.split("~", 1)[1]
    return (head + "".join(f"{s}~" for s in body) + tail).encode()


def test_the_generated_tables_are_those_of_the_map():
    """`python -m edi.compile_guide` gives the committed module byte for byte: a map changed
    without regenerating it fails here (and the engine would not use stale tables: E22)."""
    assert compile_guide.generate() == compile_guide.TARGET.read_text(encoding="utf-8")


def test_tables_for_another_map_are_not_used(tmp_path):
    """A map folder whose 820 map differs from the one the tables were made from is validated by pyx12."""
    maps = tmp_path / "maps"
    shutil.copytree(MAP_DIR, maps)
    (maps / compile_guide.MAP_NAME).write_text((MAP_DIR / compile_guide.MAP_NAME).read_text() + "\n<!-- changed -->\n")
    result = validate_stream(io.BytesIO(base_file()), map_dir=maps)
    assert [st.accepted for _, _, st in result.sets()] == [True]
    assert _maps(maps)._maps  # pyx12's map was loaded: it did the work


def test_a_clean_file_never_asks_pyx12(tmp_path):
    """A conforming file is walked and validated by the tables alone: pyx12's map is not even loaded."""
    maps = tmp_path / "maps"
    shutil.copytree(MAP_DIR, maps)
    result = validate_stream(io.BytesIO(base_file()), map_dir=maps)
    (payment,) = [st.payload for _, _, st in result.sets()]
    assert payment.total_cents == 125_50 and [line.amount_cents for line in payment.lines] == [100_00, 25_50]
    assert _maps(maps)._maps == {}


@pytest.mark.parametrize("body, expected", [
    # a second RMR in one ENT: the table's step needs RMR's count at 0, pyx12 reports the maximum use
    (("ENT*1", "RMR*11*123456782RM0001**100.00", "RMR*11*123456782RM0002**25.50"), ["AK3*RMR*10**5"]),
    # an ENT loop with no RMR before the SE: the walker's "mandatory segment missing"
    (("ENT*1", "RMR*11*123456782RM0001**125.50", "ENT*2"), ["AK3*RMR*11**3"]),
    # a qualifier out of the map's list (N1*XX): pyx12 does not recognize the segment
    (("N1*XX*SOMEONE", "ENT*1", "RMR*11*123456782RM0001**125.50"), ["AK3*N1*8**1"]),
    # an element error the pattern cannot vouch for: pyx12's AK4, its code and its copy of the value
    (("ENT*1", "RMR*12*123456782RM0001**125.50"), ["AK3*RMR*9**8", "AK4*1*128*7*12"]),
])
def test_what_the_tables_cannot_vouch_for_is_pyx12s_answer(body, expected):
    """Each step the tables do not vouch for is pyx12's own: the same AK3/AK4, from either engine
    (the set's header is ST, BPR, TRN, CUR, REF, N1, N1: its first ENT is segment 8)."""
    data = _segments(*body)
    (result_c, docs_c), (result_p, docs_p) = _both(data)
    assert docs_c == docs_p and result_c == result_p
    text = docs_c["997"].decode()
    assert [s.strip() for s in text.split("~") if s.strip().startswith(("AK3", "AK4"))] == expected


def test_a_separator_a_number_may_hold_leaves_every_element_to_pyx12():
    """ISA16 `1` (rejected by the envelope, TA1 027, but the sets are validated all the same): a
    date or an amount holding the separator is a composite to pyx12, so no pattern vouches for it."""
    text = base_file().decode()
    data = (text[:104] + "1" + text[105:]).replace("RM0001**100.00", "RM0001**100.01").encode()
    (result_c, docs_c), (result_p, docs_p) = _both(data)
    assert result_c == result_p and docs_c == docs_p
    errors = [e for _, _, st in result_c.sets() for e in st.errors]
    assert ("BPR", "6") in {(e.segment_id, element.code) for e in errors for element in e.elements}


def test_a_qualifier_holding_the_component_separator_is_pyx12s_to_match():
    """ISA16 `R`: to pyx12, `N1*PR` is a composite qualifier `P`, which no N1 of the map takes."""
    text = base_file().decode()
    (result_c, docs_c), (result_p, docs_p) = _both((text[:104] + "R" + text[105:]).encode())
    assert result_c == result_p and docs_c == docs_p
    errors = [e for _, _, st in result_c.sets() for e in st.errors]
    assert ("N1", "1") in {(e.segment_id, e.code) for e in errors}


def test_the_engines_agree_on_the_fixtures_and_the_corpus():
    """Every fixture and every third-party X12 file of the corpus: the same answers, byte for byte."""
    paths = sorted((FIXTURES / "820").glob("*.x12")) + sorted(p for p in CORPUS.rglob("*") if p.is_file()
                                                              and p.suffix not in (".json", ".tsv", ".md"))
    assert len(paths) > 50
    differ = [str(p) for p in paths if differential.compare(p.read_bytes()) is not None]
    assert differ == []


def test_the_engines_agree_on_a_sample_of_mutations():
    """600 mutations of valid 820s (the mutation test's edits, the fuzzer's, and segment drops,
    repeats, moves and swaps, cut and bad elements, wrong counts, loops dropped or doubled): the
    same 997/TA1/824 bytes and the same results from both engines."""
    stats = differential.run((20261207, 600, "/tmp"))
    assert stats["failures"] == []
    assert min(stats["kinds"].values()) > 100  # every kind of edit is in the sample
    assert stats["sampled_with_errors"] > 30  # most inputs do have syntax errors to agree on


@pytest.mark.slow
def test_the_engines_agree_on_a_larger_sample_of_mutations():
    stats = differential.run((7, 6_000, "/tmp"))
    assert stats["failures"] == []


def _layouts(data: bytes):
    yield data
    yield data.replace(b"~", b"~\n")
    yield data.replace(b"~", b"~\r\n")
    yield data.replace(b"~", b"\n")
    yield data.replace(b"~", b"\r")
    yield data.replace(b"~", "\u2026".encode())
    yield b"\xef\xbb\xbf\r\n" + data.replace(b"~", b"~\n\n\r\n")


def _read(data: bytes, chunk: int, bulk: bool) -> tuple:
    reader = X12Reader(io.BytesIO(data), chunk, bulk=bulk)
    return list(reader), reader.problems, reader.bytes_read


def test_the_bulk_reader_reads_what_one_segment_at_a_time_reads():
    """Segments, indexes, offsets and problems of the bulk cut equal those of the segment-by-segment
    cut, on mutations in seven layouts (line breaks, a multi-byte terminator, blank lines, a BOM)
    read in chunks of 7 bytes, 64 bytes and 64 KiB."""
    from bench import fuzz

    rng = random.Random(11)
    seeds = differential.seeds()
    compared = 0
    for _ in range(60):
        for layout in _layouts(rng.choice(seeds)):
            data = differential.structural(rng, layout) if rng.random() < 0.5 else fuzz.mutate(rng, layout)
            for chunk in (7, 64, 1 << 16):
                assert _read(data, chunk, True) == _read(data, chunk, False), data[:200]
                compared += 1
    assert compared == 60 * 7 * 3


def test_a_terminator_split_across_two_reads_is_found():
    """U+2026 as the terminator, its three bytes over two reads: still one terminator."""
    data = base_file().replace(b"~", "\u2026".encode())
    segments, problems, _ = _read(data, 64, False)
    assert problems == [] and [s.id for s in segments][:4] == ["ISA", "GS", "ST", "BPR"]
    assert segments == _read(data, 1 << 16, False)[0]


def test_the_engine_is_a_setting():
    """CARM_EDI_ENGINE chooses the engine; anything but compiled or pyx12 is a configuration error."""
    from carm.runtime import edi_limits

    assert edi_limits(Settings.from_env({})).engine == "compiled"
    assert edi_limits(Settings.from_env({"CARM_EDI_ENGINE": "pyx12"})).engine == "pyx12"
    with pytest.raises(ConfigError):
        edi_limits(Settings.from_env({"CARM_EDI_ENGINE": "fast"}))


def test_both_engines_build_the_same_payments_for_a_broker_file():
    """A broker's ADV and INT sets, line ASECs and transaction numbers: the same payments, the same 824."""
    data = file_820([BASE_PAYMENT, PaymentSpec("TRACE0002", "300000007", [LineSpec("123456782RM0001", 5_00, "40001")],
                                               kind="INT")], control_number=2, ack_requested=True)
    answers = [acknowledge_file(io.BytesIO(data), "b.x12", store=MemoryEdiStore(), at=AT, limits=Limits(engine=engine))
               for engine in ("compiled", "pyx12")]
    assert answers[0].documents == answers[1].documents and answers[0].result == answers[1].result
    built = [validate_stream(io.BytesIO(data), limits=Limits(engine=engine)) for engine in ("compiled", "pyx12")]
    payments = [[st.payload for g in r.interchanges[0].groups for st in g.sets] for r in built]
    assert payments[0] == payments[1] and [p.kind for p in payments[0]] == ["SOA", "INT"]


class _Unsized(io.BytesIO):
    """A stream that cannot tell its size (a pipe): how big it is is found by reading it."""

    def seekable(self) -> bool:
        return False


class _ThresholdsSeen:
    """A `SetSink` that notes the collector's thresholds as each set closes."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int, int]] = []

    def set_closed(self, group, st, rejected):
        self.seen.append(gc.get_threshold())
        return st

    def group_closed(self, group) -> None:
        pass

    def interchange_settled(self, ic) -> None:
        pass


def test_the_collector_runs_seldom_while_a_file_is_validated_and_as_before_after(tmp_path):
    """Decision E28: a young collection every 50,000 new objects and a full one after 1,000 sweeps while
    the sets are validated and judged; the thresholds found are put back — also when validation
    fails, and a collector switched off (threshold 0) stays off."""
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        sink = _ThresholdsSeen()
        validate_stream(io.BytesIO(base_file()), sink=sink)
        assert sink.seen == [(50_000, 10, 1000)] and gc.get_threshold() == (700, 10, 10)
        generate(tmp_path / "big.x12", 6000, 20)  # 20 sets: the first close before the file is read whole
        cut_short = _ThresholdsSeen()  # the reading stops inside the validation: a stream that grows too large
        with pytest.raises(FileChanged):
            validate_stream(_Unsized((tmp_path / "big.x12").read_bytes()), sink=cut_short, digest="0" * 64,
                            limits=Limits(max_file_bytes=200_000))
        assert cut_short.seen and gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(0, 10, 10)
        off = _ThresholdsSeen()
        validate_stream(io.BytesIO(base_file()), sink=off)
        assert off.seen == [(0, 10, 10)] and gc.get_threshold() == (0, 10, 10)
    finally:
        gc.set_threshold(*before)


def _lines_taken(monkeypatch) -> list[int]:
    """The segments `_Validator._lines` takes at once, call by call (a spy)."""
    from edi import validate as validate_module

    taken: list[int] = []
    lines = validate_module._Validator._lines

    def spy(validator, *args):
        found = lines(validator, *args)
        taken.append(found[0])
        return found

    monkeypatch.setattr(validate_module._Validator, "_lines", spy)
    return taken


def _both_built(data: bytes) -> tuple[tuple, tuple]:
    """The results of `validate_stream` (payments and every line in them) and the answers, of each engine."""
    return tuple((validate_stream(io.BytesIO(data), limits=Limits(engine=engine)), differential.answers(data, Limits(engine=engine)))
                 for engine in ("compiled", "pyx12"))


@pytest.mark.parametrize("layout", ["~\n", "~", "~\r\n"])
def test_whole_lines_are_taken_at_once_as_one_at_a_time(tmp_path, monkeypatch, layout):
    """Lines without a REF, with REF*ZZ (the INT set) and with REF*TN, over several of the reader's
    blocks: the compiled engine takes most of them at once (`_Validator._lines`), and builds the same
    payments — every line, its positions and file indexes — and the same answers as pyx12's engine."""
    path = tmp_path / "lines.x12"
    generate(path, 3_000, 3)  # SOA, ADV, INT: 3,000 lines, ~140 KiB
    text = path.read_text().replace("~\n", layout)
    text = text.replace(f"RM0004**1.00{layout}", f"RM0004**1.00{layout}REF*TN*12345678901234{layout}")  # lines that name a debt
    taken = _lines_taken(monkeypatch)
    (built_c, answers_c), (built_p, answers_p) = _both_built(text.encode())
    assert built_c == built_p and answers_c == answers_p
    assert [len(st.payload.lines) for _, _, st in built_c.sets()] == [1_000, 1_000, 1_000]
    assert sum(taken) > 0.9 * 7_000  # of the ~7,000 segments of the lines, most taken at once


#: edits of a line's segment (ENT or its RMR) that someone would say something of
_LINE_EDITS = {
    "not whole cents": ("RMR", lambda s: s + "5"),  # AK4 code 6
    "no decimal point": ("RMR", lambda s: s.replace(".", "")),  # fine, read by `parse_amount`
    "a space before the account": ("RMR", lambda s: s.replace("*11*", "*11* ")),
    "an element the map does not use": ("RMR", lambda s: s + "*1.00"),
    "two REF*ZZ": ("RMR", lambda s: s + "~REF*ZZ*40001~REF*ZZ*40002"),
    "a REF with REF03": ("RMR", lambda s: s + "~REF*ZZ*40001*X"),
    "a REF*TN among lines without": ("RMR", lambda s: s + "~REF*TN*12345678901234"),
    "a leading zero": ("ENT", lambda s: s.replace("*", "*0")),
    "not numbered next": ("ENT", lambda s: s + "1"),
    "syntax rules to ask": ("ENT", lambda s: s + "*ZZ*X*Y"),
    "a segment out of place": ("RMR", lambda s: s + "~N1*PE*CANADA BORDER SERVICES AGENCY*ZZ*CBSA"),  # the line stays open
    "a segment out of place after a REF": ("RMR", lambda s: s + "~REF*ZZ*40001~N1*PE*CANADA BORDER SERVICES AGENCY*ZZ*CBSA"),
    "no RMR": ("ENT", lambda s: s + "~" + s),
}


@pytest.mark.parametrize("edit", sorted(_LINE_EDITS))
def test_a_line_taken_alone_is_judged_as_before(tmp_path, monkeypatch, edit):
    """A line that the map, a syntax rule or the payment's builder would say something of — among
    lines taken at once — is taken alone: the same payments, AK3/AK4 and 824 from both engines,
    and the compiled engine did take the other lines of the file at once."""
    from edi.validate import _Validator

    taken: list[int] = []
    lines = _Validator._lines

    def spy(self, *args):
        result = lines(self, *args)
        taken.append(result[0])
        return result

    monkeypatch.setattr(_Validator, "_lines", spy)
    path = tmp_path / "edit.x12"
    generate(path, 600, 2)
    seg_id, change = _LINE_EDITS[edit]
    segments = path.read_text().split("~\n")
    # the 200th line of each set: the 199 before it in the first set are taken at once, then the edited one alone
    for at in [i for i, segment in enumerate(segments) if segment == "ENT*200"]:
        at += seg_id == "RMR"
        segments[at] = change(segments[at])
    (built_c, answers_c), (built_p, answers_p) = _both_built("~".join(segments).replace("~", "~\n").encode())
    assert built_c == built_p and answers_c == answers_p
    assert sum(taken) >= 150  # the lines before the edit were taken at once, and judged the same


def test_lines_walked_at_once_stop_where_one_step_at_a_time_would():
    """`walk_repeated` gives the counts and the number of lines a walk one step at a time gives, up to
    the ENT loop's 100,000th repeat, for lines with and without a REF."""
    from edi.compiled import LINE_NODE, STEPS, walk_repeated

    for signatures in (("RMR", "ENT"), ("RMR", "REF", "ENT")):
        for start, times in ((1, 5), (7, 1_000), (99_990, 20), (99_999, 3), (100_000, 2)):
            counts = [0] * len(STEPS)
            counts[LINE_NODE - 1], counts[LINE_NODE] = start, 1  # the ENT loop's count, then the ENT's
            done, walked = 0, list(counts)
            while done < times:
                step = list(walked)
                at = LINE_NODE
                for signature in signatures:
                    target, guards, resets, incs = STEPS[at][signature]
                    if not all(low <= step[node] <= high for node, low, high in guards):
                        break
                    for node in resets:
                        step[node] = 0
                    for node in incs:
                        step[node] += 1
                    at = target
                else:
                    walked, done = step, done + 1
                    continue
                break
            assert walk_repeated(LINE_NODE, counts, signatures, times) == (done, walked), (signatures, start, times)
