"""The X12 writer: fixed-width ISA, counts, clean data, and write → read → write identity."""

from __future__ import annotations

import io
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from edi.reader import X12Reader
from edi.writer import OUTBOUND_DELIMITERS, FunctionalGroup, Interchange, format_segment

WHEN = datetime(2026, 11, 21, 14, 5)


def _interchange(sets) -> Interchange:
    group = FunctionalGroup("AG", "CBSACARM", "BANKOFTEST", 42, sets)
    return Interchange(("ZZ", "CBSACARM"), ("ZZ", "BANKOFTEST"), 7, WHEN, groups=[group])


def test_envelope_counts_and_control_numbers_are_written_for_the_caller():
    data = _interchange([("824", [("BGN", "11", "REF", "20261121")]), ("824", [("BGN", "11", "R2", "20261121")])]).render()
    lines = data.decode().splitlines()
    assert lines[0] == "ISA*00*          *00*          *ZZ*CBSACARM       *ZZ*BANKOFTEST     *261121*1405*U*00401*000000007*0*P*:~"
    assert len(lines[0]) == 106
    assert lines[1:] == [
        "GS*AG*CBSACARM*BANKOFTEST*20261121*1405*42*X*004010~",
        "ST*824*0001~",
        "BGN*11*REF*20261121~",
        "SE*3*0001~",
        "ST*824*0002~",
        "BGN*11*R2*20261121~",
        "SE*3*0002~",
        "GE*2*42~",
        "IEA*1*000000007~",
    ]


def test_trailing_empty_elements_are_dropped_and_delimiters_kept_out_of_data():
    assert format_segment(("TED", "024", "bad *value* ~here~", "", "")) == "TED*024*bad ?value? ?here?~\n"
    assert format_segment(("AK4", "2:1", "", "7")) == "AK4*2?1**7~\n"


def test_a_composite_keeps_its_component_separator():
    assert format_segment(("AK4", ("4", "1"), "128", "5", "XXXX")) == "AK4*4:1*128*5*XXXX~\n"
    assert format_segment(("AK4", ("4", ""), "128")) == "AK4*4*128~\n"


def test_characters_outside_the_x12_set_are_written_as_a_question_mark():
    # a control character, a NUL, a backtick, a fullwidth digit, an accented letter
    assert format_segment(("AK4", "2", "782", "6", "512\x0834`\x00１é")) == "AK4*2*782*6*512?34????~\n"


element = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-/", min_size=0, max_size=12)
segment = st.tuples(st.sampled_from(["BGN", "OTI", "TED", "AMT", "REF"]), st.lists(element, min_size=1, max_size=8))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(segment, min_size=1, max_size=6), min_size=1, max_size=4))
def test_write_read_write_is_identical(sets):
    """Any interchange the writer makes reads back to segments that write the same bytes."""
    body = [("824", [(sid, *elements) for sid, elements in segs]) for segs in sets]
    first = _interchange(body).render()
    segments = list(X12Reader(io.BytesIO(first)))
    rewritten = "".join(
        (OUTBOUND_DELIMITERS.element.join(s.elements) + "~\n") if s.id == "ISA" else format_segment(s.elements)
        for s in segments
    ).encode()
    assert rewritten == first
    # and the segment count of every set matches its SE01
    for s in segments:
        if s.id == "SE":
            start = next(x for x in segments if x.id == "ST" and x.get(2) == s.get(2))
            assert int(s.get(1)) == s.index - start.index + 1
