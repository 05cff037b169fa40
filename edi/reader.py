"""Streaming X12 reader: bytes in, positioned segments out.

The reader learns the delimiters from each ISA it meets (element separator at
byte 4, component separator ISA16, segment terminator right after it, the
repetition separator ISA11 from version 00402 on), so one file may hold several
interchanges with different delimiters.  Whatever follows a terminator as line
breaks (CR, LF) is skipped.  Memory stays flat: the reader holds one read
buffer and the segment being cut, whatever the size of the file.

Every segment carries where it came from — its 1-based index in the file and
the byte offset of its first byte — so a 997, an 824 or a log line can point
at the exact bytes.

What the reader cannot make sense of is reported as a `core.problems.Problem`
(`reader.problems`, `where` = the byte offset), never raised: an empty file, no ISA, bytes before the
ISA, an ISA too short to learn delimiters from, a segment cut off by the end
of the file.  The envelope checks (counts, control numbers) are not the
reader's business; `edi.validate` does them.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate, count, repeat
from typing import BinaryIO, NamedTuple

from core.problems import Problem

__all__ = ["Delimiters", "PlainRun", "Segment", "X12Reader", "ISA_LENGTH", "at_byte", "ends_with_iea"]

#: A well-formed ISA is exactly 106 characters, its terminator included.
ISA_LENGTH = 106
_CHUNK = 1 << 16
#: A segment longer than this is cut (and reported) so memory stays bounded.
MAX_SEGMENT_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"
_LINE_BREAKS = b"\r\n"


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators an ISA declares.

    Attributes:
        element: data element separator (ISA byte 4).
        component: component element separator (ISA16).
        segment: segment terminator (the byte after ISA16).
        repetition: repetition separator (ISA11) from version 00402 on, else None.
        suffix: the line break written after each terminator, if any ("", "\\n", "\\r\\n").
    """

    element: str = "*"
    component: str = ":"
    segment: str = "~"
    repetition: str | None = None
    suffix: str = ""


class Segment(NamedTuple):
    """One X12 segment, split into its elements (a named tuple: the reader makes one per segment,
    230,000 for a 100,000-line file, and a tuple is made in a third of a frozen dataclass' time).

    Attributes:
        elements: the segment ID followed by its data elements, as text; a
            composite element stays one string (split it with `components`).
        index: 1-based position of the segment in the file.
        offset: byte offset of the segment's first byte in the file.
        delimiters: the delimiters in force for this segment.
        terminated: False when the file ended before the segment's terminator.
        cut: True when the segment had no terminator within `MAX_SEGMENT_BYTES` and only
            its first bytes were kept.
        written: the elements as read, joined by the element separator (what `elements` was split
            from: `text()` without joining them again, which the validator's patterns match on).
    """

    elements: tuple[str, ...]
    index: int
    offset: int
    delimiters: Delimiters
    terminated: bool = True
    cut: bool = False
    written: str = ""

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, position: int) -> str:
        """Element `position` (1-based, as in `BPR02`), or '' when absent."""
        try:
            return self.elements[position]
        except IndexError:
            return ""

    def components(self, position: int) -> list[str]:
        return self.get(position).split(self.delimiters.component)

    def text(self) -> str:
        """The segment as written, without its terminator."""
        return self.written or self.delimiters.element.join(self.elements)


def at_byte(code: str, message: str, offset: int) -> Problem:
    """A reader problem: codes `empty`, `no-isa`, `leading-bytes`, `bad-isa`,
    `unterminated`, `segment-too-long`; `where` is the byte offset it was found at."""
    return Problem(code, message, f"byte {offset}")


#: The last segment of a complete file: IEA, an element separator, the group count, the same
#: separator, a 9-digit control number, then at most a terminator and line breaks.
_IEA_AT_END = re.compile(rb"IEA([^A-Za-z0-9\s])\d{1,5}\1\d{9}[^A-Za-z0-9]{0,3}\s*\Z")


def ends_with_iea(tail: bytes) -> bool:
    """Whether the last bytes of a file close an interchange: an upload cut short (the partner's
    client stalled or died) does not, and is better left to finish than answered TA1 023."""
    return _IEA_AT_END.search(tail) is not None


def _decode(raw: bytes) -> str:
    # X12 is ASCII; accented payer names may arrive as UTF-8 or Latin-1.  Latin-1
    # never fails, so every byte reaches the validator, which flags what is
    # outside the character set.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_isa_delimiters(head: bytes) -> tuple[Delimiters, int] | str:
    """Learn the delimiters from the bytes of an ISA.

    Returns `(delimiters, isa_length)` with the length including the
    terminator, or a message saying why no delimiters can be learned.  A
    fixed-width ISA has its separators at known places; one that is not fixed
    width (IDs not padded) is read by counting 16 element separators, and the
    envelope check reports the width.
    """
    if len(head) < 4 or not head.startswith(b"ISA"):
        return "the interchange does not start with ISA"
    element = head[3:4]
    if element.isalnum() or element in b" \r\n":
        return f"ISA element separator {element!r} is not usable"
    pos = 0
    for _ in range(16):
        pos = head.find(element, pos + 1)
        if pos < 0:
            return "the ISA has fewer than 16 elements"
    if pos + 3 > len(head):
        return "the file ends inside the ISA"
    component = head[pos + 1 : pos + 2]
    terminator = _utf8_char(head, pos + 2)
    isa_length = pos + 2 + len(terminator)
    isa_text = head[:pos].decode("latin-1")
    fields = isa_text.split(element.decode("latin-1"))
    repetition = None
    if len(fields) > 12 and fields[12] >= "00402" and len(fields[11]) == 1 and not fields[11].isalnum():
        repetition = fields[11]
    suffix = b""
    rest = head[isa_length:]
    while rest[: len(suffix) + 1] and rest[len(suffix) : len(suffix) + 1] in (b"\r", b"\n") and terminator not in (b"\r", b"\n"):
        suffix = rest[: len(suffix) + 1]
    delimiters = Delimiters(
        element=element.decode("latin-1"),
        component=component.decode("latin-1"),
        segment=terminator.decode("utf-8") if len(terminator) > 1 else terminator.decode("latin-1"),
        repetition=repetition,
        suffix=suffix.decode("latin-1"),
    )
    return delimiters, isa_length


def _utf8_char(data: bytes, pos: int) -> bytes:
    """The character at `pos`: one byte, or a whole UTF-8 sequence (a terminator
    such as U+2026 is three bytes)."""
    first = data[pos : pos + 1]
    if first and first[0] >= 0xC2:
        for width in (2, 3, 4):
            candidate = data[pos : pos + width]
            try:
                char = candidate.decode("utf-8")
                # Only characters beyond Latin-1 take several bytes, so that
                # `_encode` gives back exactly these bytes.
                if len(char) == 1 and ord(char) > 0xFF:
                    return candidate
            except UnicodeDecodeError:
                continue
    return first


class PlainRun:
    """The segments of a block of the usual layout (`X12Reader.runs`), made as they are taken — map,
    zip and accumulate only: no Python code runs per segment — with what they are made from, so a
    consumer that can take several at once from the text skips them (`after`).

    Attributes:
        pieces: each segment's text, in file order.
        text: the block's text: the pieces, each followed by `joiner` (the last one may not be).
        joiner: the segment terminator and the line break written after it.
        base: the file offset of the block's first byte (`text[0]`).
        first: the index in the file of the first piece's segment.
        delimiters: the delimiters of the block's interchange.
    """

    __slots__ = ("pieces", "text", "joiner", "base", "first", "delimiters", "_segments")

    def __init__(self, pieces: list[str], text: str, joiner: str, base: int, first: int, delimiters: Delimiters) -> None:
        self.pieces, self.text, self.joiner, self.base, self.first, self.delimiters = pieces, text, joiner, base, first, delimiters
        self._segments = self._made(pieces, 0, base)

    def __iter__(self) -> Iterator[Segment]:
        return self._segments

    def after(self, piece: int, offset: int) -> Iterator[Segment]:
        """The segments from piece number `piece` on, the first at file offset `offset`."""
        return self._made(self.pieces[piece:], piece, offset)

    def _made(self, pieces: list[str], piece: int, offset: int) -> Iterator[Segment]:
        step = len(self.joiner)
        starts = accumulate(map(step.__add__, map(len, pieces)), initial=offset)
        elements = map(tuple, map(str.split, pieces, repeat(self.delimiters.element)))
        fields = zip(elements, count(self.first + piece), starts, repeat(self.delimiters), repeat(True), repeat(False), pieces)
        return map(tuple.__new__, repeat(Segment), fields)


class X12Reader:
    """Iterate the segments of an X12 byte stream.

    Usage::

        reader = X12Reader(stream)
        for segment in reader:
            ...
        reader.problems  # what could not be read, as values

    Attributes:
        problems: what could not be read, as `Problem`s.
        bytes_read: bytes consumed from the stream.
    """

    def __init__(self, stream: BinaryIO, chunk_size: int = _CHUNK, *, bulk: bool = True) -> None:
        self._stream = stream
        self._bulk_cut = bulk  # False: one `_cut` per segment (the reference the bulk cut is tested against)
        self._chunk = chunk_size
        self._buf = bytearray()
        self._base = 0  # file offset of self._buf[0]
        self._eof = False
        self.problems: list[Problem] = []
        self.bytes_read = 0
        self._too_long = False  # the segment just cut overflowed MAX_SEGMENT_BYTES
        self._after_blank = False  # a blank line was just skipped: the next line breaks are data

    # -- buffer management -------------------------------------------------
    def _fill(self, need: int) -> bool:
        """Make at least `need` bytes available in the buffer, if the stream has them."""
        while len(self._buf) < need and not self._eof:
            data = self._stream.read(self._chunk)
            if not data:
                self._eof = True
                break
            self._buf += data
            self.bytes_read += len(data)
        return len(self._buf) >= need

    def _consume(self, n: int) -> None:
        del self._buf[:n]
        self._base += n

    def _skip_line_breaks(self, terminator: bytes) -> None:
        # The CR / LF bytes that are layout here (not the terminator itself).
        skip = _LINE_BREAKS.replace(terminator, b"") if len(terminator) == 1 else _LINE_BREAKS
        self._after_blank = False
        while True:
            if not self._buf and not self._fill(1):
                return
            buf = self._buf
            if buf[0] not in skip:  # the usual case: the next segment starts here
                return
            i, n = 1, len(buf)
            while i < n and buf[i] in skip:
                i += 1
            self._consume(i)
            if self._buf or self._eof:
                return

    # -- iteration -----------------------------------------------------------
    def __iter__(self) -> Iterator[Segment]:
        for run in self.runs():
            yield from run

    def runs(self) -> Iterator[Iterable[Segment]]:
        """The segments, in file order, as runs to iterate one after the other: a block of the usual
        layout is one run (an iterator that makes each segment as it is taken), any other segment a
        run of its own.  A consumer that loops over a run itself saves a generator step per segment."""
        index = 0
        self._fill(ISA_LENGTH + 8)
        if not self._buf:
            self.problems.append(at_byte("empty", "the file is empty", 0))
            return
        if self._buf.startswith(_BOM):
            self._consume(len(_BOM))
        self._skip_line_breaks(b"")
        start = self._find_isa()
        if start is None:
            return
        delimiters: Delimiters | None = None
        terminator = b""
        while True:
            if not self._buf and not self._fill(1):
                return
            if self._buf.startswith(b"ISA") and (len(self._buf) < 4 or not self._buf[3:4].isalnum()):
                self._fill(ISA_LENGTH + 8)
                learned = parse_isa_delimiters(bytes(self._buf[: ISA_LENGTH * 4]))
                if isinstance(learned, str):
                    self.problems.append(at_byte("bad-isa", learned, self._base))
                    return
                delimiters, isa_length = learned
                terminator = _encode(delimiters.segment)
                index += 1
                raw = bytes(self._buf[: isa_length - len(terminator)])
                offset = self._base
                self._consume(isa_length)
                yield (_make_segment(raw, index, offset, delimiters, True),)
                self._skip_line_breaks(terminator)
                continue
            if delimiters is None:
                # `_find_isa` stopped on an "ISA" that opens no segment ("ISAA*00…"):
                # there are no delimiters to learn, so nothing more can be read.
                learned = parse_isa_delimiters(bytes(self._buf[: ISA_LENGTH * 4]))
                message = learned if isinstance(learned, str) else "the interchange does not start with ISA"
                self.problems.append(at_byte("bad-isa", message, self._base))
                return
            if self._bulk_cut and self._bulk_ready(terminator):
                block = bytes(self._buf[: self._buf.rfind(terminator)])
                plain = self._plain_run(block, terminator, delimiters, index)
                if plain is None:
                    index = yield from _singly(self._bulk(block, terminator, delimiters, index))
                else:  # the usual block: one run
                    made, run = plain
                    yield run
                    index += made
                continue
            raw, terminated = self._cut(terminator)
            if raw is None:
                return
            if not raw and terminated and terminator in (b"\n", b"\r"):
                # a blank line in a line-per-segment file is layout, not a segment
                self._consume(len(terminator))
                self._after_blank = True
                continue
            index += 1
            offset = self._base
            self._consume(len(raw) + (len(terminator) if terminated else 0))
            cut = self._too_long
            if cut:
                self._too_long = False
                self.problems.append(
                    at_byte("segment-too-long", f"segment {index} has no terminator within {MAX_SEGMENT_BYTES} bytes: "
                            "the rest of it, up to the next terminator, was skipped", offset)
                )
                self._discard_through(terminator)
            elif not terminated:
                self.problems.append(
                    at_byte("unterminated", f"the file ends inside segment {index} (no terminator)", offset)
                )
            yield (_make_segment(raw, index, offset, delimiters, terminated, cut),)
            self._skip_line_breaks(terminator)

    # -- bulk: every whole segment in the buffer at once -------------------------
    def _bulk_ready(self, terminator: bytes) -> bool:
        """Whether the buffer holds whole segments to cut at once (else `_cut` takes one, at the end)."""
        if len(self._buf) < self._chunk // 2 and not self._eof:
            self._fill(self._chunk)
        return self._buf.rfind(terminator) >= 0

    def _bulk(self, block: bytes, terminator: bytes, delimiters: Delimiters, index: int) -> Iterator[Segment]:
        """The segments of `block` — the buffer up to its last terminator — cut in one split, when
        `_plain_run` cannot take it: the same segments, offsets, indexes and layout rules as `_cut`
        one at a time.  Stops before an ISA (the caller learns its delimiters) and leaves what
        follows the last terminator for the next read."""
        buf = self._buf
        width = len(terminator)
        skip = _LINE_BREAKS.replace(terminator, b"") if width == 1 else _LINE_BREAKS
        blank_is_layout = terminator in (b"\n", b"\r")
        text_mode = block.isascii() and terminator.isascii()
        if text_mode:
            pieces, skip = block.decode("ascii").split(terminator.decode("ascii")), skip.decode("ascii")
        else:
            pieces = block.split(terminator)
        element, base, offset = delimiters.element, self._base, self._base
        odd = any(c in terminator for c in b"ISA")  # then an ISA may not start a piece: look at the bytes
        new = tuple.__new__
        for piece in pieces:
            # after a blank line the line breaks are not skipped (as `_cut` leaves them)
            raw = piece if self._after_blank else piece.lstrip(skip)
            start = offset + len(piece) - len(raw)
            at = start - base
            if (raw[:3] in ("ISA", b"ISA") or odd) and buf[at : at + 3] == b"ISA" and not buf[at + 3 : at + 4].isalnum():
                self._consume(start - base)  # a new interchange: the caller reads its ISA
                self._after_blank = False
                return index
            offset += len(piece) + width
            self._after_blank = not raw and blank_is_layout
            if self._after_blank:
                continue
            index += 1
            text = raw if text_mode else _decode(raw)
            yield new(Segment, (tuple(text.split(element)), index, start, delimiters, True, False, text))
        self._consume(offset - base)
        if not self._after_blank:
            self._skip_line_breaks(terminator)
        return index

    def _plain_run(self, block: bytes, terminator: bytes, delimiters: Delimiters, index: int) -> tuple[int, PlainRun] | None:
        """The segments of `block` when it has the usual layout — ASCII, every line break right after
        a terminator (the ISA's suffix) — as (how many, an iterator making each as it is taken: a
        block's segments never live all at once, which would wake the garbage collector thousands of
        times a file); None for any other block."""
        term, suffix = terminator.decode("latin-1"), delimiters.suffix
        if self._after_blank or not block.isascii() or not terminator.isascii() or terminator.isalnum() or term in "ISA\r\n":
            return None
        text = block.decode("ascii")
        terminators = text.count(term)
        if not suffix or text.count(term + suffix) != terminators:
            suffix = ""
        if text.count("\r") + text.count("\n") != terminators * len(suffix):
            return None  # a line break elsewhere: one piece at a time
        pieces = text.split(term + suffix)
        if "ISA" in text:
            stop = next((i for i, piece in enumerate(pieces) if piece[:3] == "ISA" and not piece[3:4].isalnum()), None)
            if stop is not None:
                pieces = pieces[:stop]
        run = PlainRun(pieces, text, term + suffix, self._base, index + 1, delimiters)
        step = len(run.joiner)
        if len(pieces) < len(text.split(term + suffix)):
            self._consume(sum(len(piece) + step for piece in pieces))  # up to the ISA that follows
        else:
            self._consume(len(block) + len(terminator))
            self._skip_line_breaks(terminator)
        return len(pieces), run

    def _find_isa(self) -> int | None:
        """Position the buffer on the first ISA; report and skip any bytes before it."""
        scanned = 0
        while True:
            pos = self._buf.find(b"ISA")
            if pos >= 0:
                if pos:
                    skipped = bytes(self._buf[:pos])
                    self.problems.append(
                        at_byte(
                            "leading-bytes",
                            f"{scanned + pos} bytes before the first ISA were not X12: {skipped[:40]!r}",
                            self._base,
                        )
                    )
                    self._consume(pos)
                    self._fill(ISA_LENGTH + 8)
                return 0
            if self._eof or scanned > MAX_SEGMENT_BYTES:
                self.problems.append(at_byte("no-isa", "no ISA segment: this is not an X12 interchange", 0))
                return None
            keep = 2  # an 'IS' at the end of the buffer may continue in the next chunk
            drop = max(len(self._buf) - keep, 0)
            scanned += drop
            self._consume(drop)
            if not self._fill(len(self._buf) + 1):
                self.problems.append(at_byte("no-isa", "no ISA segment: this is not an X12 interchange", 0))
                return None

    def _cut(self, terminator: bytes) -> tuple[bytes | None, bool]:
        """Return the bytes up to the next terminator (and whether one was found)."""
        searched = 0
        while True:
            pos = self._buf.find(terminator, searched)
            if pos >= 0:
                return bytes(self._buf[:pos]), True
            if len(self._buf) >= MAX_SEGMENT_BYTES:
                self._too_long = True
                return bytes(self._buf[:MAX_SEGMENT_BYTES]), False
            searched = max(len(self._buf) - len(terminator) + 1, 0)  # a terminator may straddle two reads
            if not self._fill(len(self._buf) + 1):
                rest = bytes(self._buf)
                if not rest.strip():
                    self._consume(len(rest))
                    return None, False
                return rest, False


    def _discard_through(self, terminator: bytes) -> None:
        """Skip the rest of an overlong segment, its terminator included, holding one chunk at a time."""
        while True:
            pos = self._buf.find(terminator)
            if pos >= 0:
                self._consume(pos + len(terminator))
                return
            self._consume(max(len(self._buf) - (len(terminator) - 1), 0))
            if not self._fill(len(self._buf) + 1):
                self._consume(len(self._buf))
                return


def _singly(segments: Generator[Segment, None, int]) -> Generator[tuple[Segment], None, int]:
    """Each segment of `segments` as a run of its own; the generator's return value passed on."""
    while True:
        try:
            seg = next(segments)
        except StopIteration as stop:
            return stop.value
        yield (seg,)


def _encode(delimiter: str) -> bytes:
    return delimiter.encode("utf-8") if ord(delimiter) > 0xFF else delimiter.encode("latin-1")


def _make_segment(raw: bytes, index: int, offset: int, delimiters: Delimiters, terminated: bool, cut: bool = False) -> Segment:
    text = _decode(raw)
    return Segment(tuple(text.split(delimiters.element)), index, offset, delimiters, terminated, cut, text)
