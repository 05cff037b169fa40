"""The streaming reader: delimiters from each ISA, positions, problems as values, flat memory."""

from __future__ import annotations

import io
import itertools
import tracemalloc

import pytest

from edi.reader import Delimiters, X12Reader

ISA = "ISA*00*          *00*          *ZZ*BANKOFTEST     *ZZ*CBSACARM       *261120*0930*U*00401*000000001*0*P*:~"


def read(data: bytes, chunk_size: int = 1 << 16):
    reader = X12Reader(io.BytesIO(data), chunk_size=chunk_size)
    return list(reader), reader.problems


def test_delimiters_are_learned_from_the_isa_and_line_breaks_skipped():
    """`~` + CRLF after each segment: the CRLF is not data."""
    data = (ISA + "\r\nGS*RA*X*CBSACARM*20261120*0930*1*X*004010~\r\nGE*0*1~\r\nIEA*1*000000001~\r\n").encode()
    segments, problems = read(data)
    assert [s.id for s in segments] == ["ISA", "GS", "GE", "IEA"]
    assert segments[0].delimiters == Delimiters("*", ":", "~", None, "\r\n")
    assert segments[1].elements == ("GS", "RA", "X", "CBSACARM", "20261120", "0930", "1", "X", "004010")
    assert problems == []


def test_every_segment_knows_its_index_and_byte_offset():
    data = (ISA + "\nGS*RA*X*CBSACARM*20261120*0930*1*X*004010~\nGE*0*1~\nIEA*1*000000001~\n").encode()
    segments, _ = read(data, chunk_size=7)  # tiny chunks: positions must not depend on buffering
    # ISA is 106 bytes + LF; GS is 42 + LF; GE is 7 + LF.
    assert [(s.index, s.offset) for s in segments] == [(1, 0), (2, 107), (3, 150), (4, 158)]
    for s in segments:
        assert data[s.offset : s.offset + len(s.id)].decode() == s.id


def test_each_interchange_brings_its_own_delimiters():
    first = ISA + "IEA*0*000000001~"
    second = ISA.replace("*", "|").replace(":~", "^!") + "IEA|0|000000001!"
    segments, problems = read((first + second).encode())
    assert [s.id for s in segments] == ["ISA", "IEA", "ISA", "IEA"]
    assert segments[3].delimiters.element == "|" and segments[3].delimiters.segment == "!"
    assert segments[3].elements == ("IEA", "0", "000000001")
    assert problems == []


def test_repetition_separator_is_read_from_version_00402_on():
    isa = ISA.replace("*U*00401*", "*^*00501*")
    segments, _ = read((isa + "IEA*0*000000001~").encode())
    assert segments[0].delimiters.repetition == "^"


def test_a_bare_newline_terminator_works():
    isa = ISA[:-1] + "\n"
    segments, _ = read((isa + "IEA*0*000000001\n").encode())
    assert [s.id for s in segments] == ["ISA", "IEA"]
    assert segments[0].delimiters.segment == "\n"


def test_a_multibyte_terminator_is_one_character():
    isa = ISA[:-1] + "…"
    segments, problems = read((isa + "IEA*0*000000001…").encode("utf-8"))
    assert [s.id for s in segments] == ["ISA", "IEA"] and problems == []


def test_bom_is_skipped_and_leading_prose_is_reported():
    segments, problems = read(b"\xef\xbb\xbf" + (ISA + "IEA*0*000000001~").encode())
    assert [s.id for s in segments] == ["ISA", "IEA"] and problems == []
    segments, problems = read(b"hello bank\n" + (ISA + "IEA*0*000000001~").encode())
    assert [s.id for s in segments] == ["ISA", "IEA"]
    assert [p.code for p in problems] == ["leading-bytes"]
    assert segments[0].offset == 11


def test_empty_and_non_x12_files_are_problems_not_exceptions():
    assert read(b"") == ([], read(b"")[1])
    assert [p.code for p in read(b"")[1]] == ["empty"]
    assert [p.code for p in read(b"\x00\xff\xfejunk" * 100)[1]] == ["no-isa"]
    assert [p.code for p in read(b"ISA*00*short")[1]] == ["bad-isa"]


def test_a_segment_cut_off_by_the_end_of_file_is_read_and_reported():
    segments, problems = read((ISA + "GS*RA*X").encode())
    assert segments[-1].elements == ("GS", "RA", "X") and not segments[-1].terminated
    assert [p.code for p in problems] == ["unterminated"]


@pytest.mark.slow  # seconds of work: the full suite runs it, the fast tier does not
def test_memory_stays_flat_whatever_the_file_size():
    """200,000 segments stream through with a peak far below the file size."""

    class Source:
        """Yields the file chunk by chunk without ever holding it."""

        def __init__(self, n):
            self.parts = itertools.chain(
                [ISA.encode()], itertools.repeat(b"RMR*11*123456782RM0001**100.00~\n", n), [b"IEA*0*000000001~"]
            )

        def read(self, size):
            out = bytearray()
            for part in self.parts:
                out += part
                if len(out) >= size:
                    break
            return bytes(out)

    n = 200_000
    tracemalloc.start()
    count = sum(1 for _ in X12Reader(Source(n)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == n + 2
    file_size = n * 32
    assert peak < 512 * 1024 < file_size


def test_an_isa_hidden_after_a_stray_byte_is_reported_not_asserted():
    """Regression (found by hypothesis): `IISAA*00*…` made the reader fail an assert."""
    segments, problems = read(b"I" + ISA.replace("ISA*", "ISAA*", 1).encode() + b"IEA*0*000000001~")
    assert segments == []
    assert [(p.code, p.message) for p in problems] == [
        ("leading-bytes", "1 bytes before the first ISA were not X12: b'I'"),
        ("bad-isa", "ISA element separator b'A' is not usable"),
    ]
