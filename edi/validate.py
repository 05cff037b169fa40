"""Validate an X12 file: the envelope by the engine, each set by pyx12 against our map.

One pass over the stream (`edi.reader`), memory flat:

* **Envelope** (ISA/IEA, GS/GE, ST/SE) is checked here, for every interchange
  of the file — delimiters, ISA fields, counts, control numbers, nesting, a
  file cut short — giving TA1, AK9 and AK5 codes.  pyx12 checks only the last
  interchange and raises on a group it has no map for (PYX12-NOTES); the engine
  answers those with TA1 / `AK9*R*…*2` instead.
* **Sets** of a supported group are checked segment by segment against
  `mappings/820.4010.CARM.xml`, giving the AK3/AK4 detail, by one of two engines
  (`Limits.engine`, decision E22): `compiled` — the tables `edi.compiled` generated
  from the map, walked over a set body as one run (`_Validator._body_run`), whole
  remittance lines taken at once where they can be (`_Validator._lines`, decision E30),
  handing pyx12 the steps they cannot vouch for — or `pyx12` — its map
  walker (`walk_tree.walk_errors`) and element validator (`segment_if.is_valid_errors`)
  on every segment; the answers are the same.  The guide's own syntax rules that a map
  cannot express are added by `edi.payments.PaymentBuilder`, which builds the typed
  payment in the same pass.

Everything found is a value in an `edi.results.FileResult`; nothing here
raises on bad input.  See `docs/decisions.md` for the choices made where X12
or the guide leave room (strict ISA width, string comparison of ISA13/IEA02…).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyx12.map_if
import pyx12.map_index
import pyx12.params
import pyx12.path
import pyx12.segment
import pyx12.validation
from pyx12.errors import EngineError
from pyx12.map_if._composite import composite_if
from pyx12.map_walker import walk_tree
from pyx12.nodeCounter import NodeCounter

from core.gcpause import collections_seldom
from core.problems import Problem
from core.text import is_digits, is_gs_code, is_x12_id, number
from core.text import shown as _shown
from mappings import MAP_DIR

from .charset import is_x12_text
from .compiled import GUIDE_MAP, KNOWN, LINE_NODE, LINE_START, NODES, UNKNOWN, VOUCHED, WALKED, WALKS, Cursor, compiled_for, line_run, walk_repeated
from .errors import EdiError, MapError
from .guide import ISA_QUALIFIERS, RECEIVER_ID, RECEIVER_QUALIFIER, SET_CONTROL, SUPPORTED
from .limits import DEFAULT_LIMITS, Limits
from .payments import PaymentBuilder, Source
from .reader import ISA_LENGTH, MAX_SEGMENT_BYTES, PlainRun, Segment, X12Reader
from .results import ElementError, FileResult, GroupHeader, GroupResult, InterchangeResult, SegmentError, SetResult

__all__ = ["validate_stream", "validate_path", "with_problem", "file_digest", "SetSink", "FileChanged"]

log = logging.getLogger(__name__)

_AUTH_QUALIFIERS = {"00", "01", "02", "03", "04", "05", "06"}
_TIME = re.compile(r"[0-9]{4}([0-9]{2}([0-9]{1,2})?)?")


class FileChanged(EdiError):
    """The bytes validated are not the bytes hashed before (the file changed in between)."""


class SetSink(Protocol):
    """Who takes each transaction set as it closes, so that no set outlives its SE (issue 11).

    The calls come in file order: `set_closed` for each set of a group, then `group_closed`
    for the group; `interchange_settled` once nothing more can change an interchange — at
    the next ISA or the end of the file, not at its IEA (a stray segment after the IEA
    still rejects it)."""

    def set_closed(self, group: GroupHeader, st: SetResult, rejected: bool) -> SetResult:
        """Take the set (its payment in `st.payload`); return what the group keeps of it.
        `rejected`: its envelope or group is already known to be rejected."""

    def group_closed(self, group: GroupResult) -> None:
        """The group's sets are all closed and its trailer judged."""

    def interchange_settled(self, ic: InterchangeResult) -> None:
        """Nothing in the file can change the interchange any more."""


# --------------------------------------------------------------------------- maps
class _Maps:
    """pyx12 maps, loaded once per process (loading a map costs ~100 ms)."""

    def __init__(self, map_dir: Path) -> None:
        self.dir = str(map_dir)
        self.param = pyx12.params.params()
        try:
            self.index = pyx12.map_index.map_index(self.dir)
        except Exception as exc:  # pyx12 raises assorted errors for a missing or broken folder
            raise MapError(f"pyx12 maps in {self.dir} cannot be loaded: {exc}") from exc
        self._maps: dict[str, Any] = {}
        #: map name → whether `_PathCounter` may count its walk (see `_paths_are_exact`)
        self._exact: dict[str, bool] = {}
        #: map name → the segment IDs it knows anywhere (see `known_segments`)
        self._ids: dict[int, frozenset[str]] = {}
        #: map → its nodes in the compiled engine's numbering (see `node_at`)
        self._nodes: dict[int, list[Any]] = {}

    def known_segments(self, map_root: Any) -> frozenset[str]:
        """Every segment ID of a map.  A segment whose ID is not among them is unrecognized
        wherever it stands (AK3 code 1): pyx12's walker would search the whole map to say so,
        the costliest thing a junk segment can make it do."""
        key = id(map_root)
        if key not in self._ids:
            self._ids[key] = frozenset(
                node.id for node in map_root.loop_segment_iterator() if getattr(node, "is_segment", lambda: False)()
            )
        return self._ids[key]

    def node_at(self, name: str, number: int) -> Any:
        """The node of map `name` the compiled engine numbers `number` (`edi.guide820_compiled.NODES`);
        the map is loaded the first time the compiled engine needs pyx12."""
        map_root = self.load(name)
        key = id(map_root)
        if key not in self._nodes:
            by_path = {node.x12path.format(): node for node in map_root.loop_segment_iterator()}
            self._nodes[key] = [by_path[path] for path in NODES]
        return self._nodes[key][number]

    def exact_paths(self, map_root: Any) -> bool:
        for name, loaded in self._maps.items():
            if loaded is map_root:
                if name not in self._exact:
                    self._exact[name] = _paths_are_exact(map_root)
                return self._exact[name]
        return False

    def for_group(self, icvn: str, version: str, functional_id: str) -> Any | None:
        name = self.name_for(icvn, version, functional_id)
        return None if name is None else self.load(name)

    def name_for(self, icvn: str, version: str, functional_id: str) -> str | None:
        """The file name of the map for a group, without loading it (None: not supported)."""
        if (icvn, version, functional_id) not in SUPPORTED:
            return None
        return self.index.get_filename(icvn, version, functional_id)

    def load(self, name: str) -> Any:
        if name not in self._maps:
            try:
                self._maps[name] = pyx12.map_if.load_map_file(name, self.param, self.dir)
            except Exception as exc:
                raise MapError(f"pyx12 map {name} cannot be loaded: {exc}") from exc
        return self._maps[name]


@lru_cache(maxsize=4)
def _maps(map_dir: Path = MAP_DIR) -> _Maps:
    return _Maps(map_dir)


# ------------------------------------------------------- pyx12, without its hot spots
# Profiling a 230,000-segment file (docs/performance.md) shows two pure
# overheads inside pyx12 4.0.0 that this engine pays on every segment: the
# parse of a reference designator (`BPR02`) into an `X12Path` by regex on
# every element access, and the walker's loop/segment counter, an OrderedDict
# keyed by `X12Path` objects whose hash re-formats the path on each look-up
# and whose `reset_to_node` re-formats and re-splits every key on each loop
# start.  The two classes below compute the same answers from memoized parses
# and path text; together they take about 30 % off validation time.
#: (segment ID, element index, component index) per reference designator: the
#: designators come from the map, so the table stays small (bounded anyway).
_REFDES: dict[str, tuple[str | None, int | None, int | None]] = {}
_REFDES_MAX = 4096


class _Pyx12Segment(pyx12.segment.Segment):
    """`pyx12.segment.Segment` whose `_parse_refdes` is memoized (same results, same errors)."""

    def _parse_refdes(self, ref_des: str) -> tuple[int | None, int | None]:
        parsed = _REFDES.get(ref_des)
        if parsed is None:
            xp = pyx12.path.X12Path(ref_des)
            parsed = (
                xp.seg_id,
                xp.ele_idx - 1 if xp.ele_idx is not None else None,
                xp.subele_idx - 1 if xp.subele_idx is not None else None,
            )
            if len(_REFDES) < _REFDES_MAX:
                _REFDES[ref_des] = parsed
        seg_id, ele_idx, comp_idx = parsed
        if seg_id is not None and seg_id != self.seg_id:
            raise EngineError(f"Invalid Reference Designator: {ref_des}, seg_id: {self.seg_id}")
        return ele_idx, comp_idx


@lru_cache(maxsize=1024)
def _path_text(path: str) -> str:
    return pyx12.path.X12Path(path).format()


class _PathCounter(NodeCounter):
    """The walker's `NodeCounter`, keyed by path text instead of `X12Path` objects.

    Same counts: two map paths are equal exactly when their texts are, which
    `_Maps.exact_paths` checks for every node of a map before this is used;
    "child of" is the same component-prefix test as `X12Path.is_child_path`.
    """

    def __init__(self) -> None:
        super().__init__()
        self._counts: dict[str, int] = {}

    @staticmethod
    def _key(xpath: Any) -> str:
        return _path_text(xpath) if isinstance(xpath, str) else xpath.format()

    def reset_to_node(self, xpath: Any) -> None:
        prefix = self._key(xpath) + "/"
        counts = self._counts
        for key in [key for key in counts if key.startswith(prefix)]:
            del counts[key]

    def increment(self, xpath: Any) -> None:
        key = self._key(xpath)
        self._counts[key] = self._counts.get(key, 0) + 1

    def setCount(self, xpath: Any, ct: int) -> None:
        self._counts[self._key(xpath)] = ct

    def get_count(self, xpath: Any) -> int:
        return self._counts.get(self._key(xpath), 0)

    def getState(self) -> Any:
        return dict(self._counts)


def _pyx12_segment(seg: Segment) -> _Pyx12Segment:
    return _Pyx12Segment(seg.text(), seg.delimiters.segment, seg.delimiters.element, seg.delimiters.component)


def _new_walker(exact_paths: bool) -> walk_tree:
    walker = walk_tree()
    if exact_paths and isinstance(getattr(walker, "counter", None), NodeCounter):
        walker.counter = _PathCounter()
    walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
    walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
    return walker


def _paths_are_exact(map_root: Any) -> bool:
    """True when each node's path text names it exactly (text equal ⇔ `X12Path` equal)."""
    try:
        paths = [node.x12path for node in map_root.loop_segment_iterator()]
        by_text: dict[str, Any] = {}
        for path in paths:
            text = path.format()
            if pyx12.path.X12Path(text) != path or by_text.setdefault(text, path) != path:
                return False
        return True
    except Exception:
        return False


# ----------------------------------------------------------------- pyx12 bridge
def _element_error(err: Any, segment_node: Any = None) -> ElementError:
    node = err.map_node
    value = err.err_val or ""
    if node is not None:
        parent = getattr(node, "parent", None)
        if isinstance(parent, composite_if):
            return ElementError(parent.seq, node.seq, node.data_ele or "", err.err_cde, value, err.err_str)
        return ElementError(node.seq, None, node.data_ele or "", err.err_cde, value, err.err_str)
    # A syntax rule (BPR06 without BPR07, a pairing rule) names its element by number, not
    # by a map node: pyx12 gives `refdes` as an int there, and as text (`BPR16`) elsewhere.
    refdes = err.refdes
    if isinstance(refdes, int):
        position = refdes
    else:
        digits = re.findall(r"[0-9]+", refdes or "")
        position = int(digits[-1][-2:]) if digits else 1
    data_element = ""
    if segment_node is not None and position >= 1:
        try:
            child = segment_node.get_child_node_by_idx(position - 1)
        except Exception:  # pyx12 raises for an index beyond the segment's elements
            child = None
        data_element = getattr(child, "data_ele", "") or ""
    return ElementError(max(position, 1), None, data_element, err.err_cde, value, err.err_str)


def _crowded_composites(segment_node: Any, seg: Segment) -> tuple[ElementError, ...]:
    """AK4 code 3 for each composite of `seg` holding more components than its map defines."""
    found = []
    separator = seg.delimiters.component
    for index, child in enumerate(getattr(segment_node, "children", ()), start=1):
        if isinstance(child, composite_if):
            value = seg.get(index)
            if value.count(separator) + 1 > len(child.children):
                found.append(ElementError(index, None, "", "3", value[:99],
                                          f"{seg.id}{index:02d} has more than {len(child.children)} components"))
    return tuple(found)


def _walk_error(err: Any, seg: Segment, position: int) -> SegmentError:
    if err.seg_data is not None:
        seg_id = err.seg_data.get_seg_id() or seg.id
        where = err.seg_count if err.seg_count is not None else position
    else:
        seg_id, where = seg.id, position
    missing = err.err_cde == "3"
    return SegmentError(
        seg_id,
        where,
        err.ls_id or "",
        err.err_cde,
        err.err_str,
        (),
        None if missing else seg.index,
        None if missing else seg.offset,
    )


def _one_note_per_segment(errors: list[SegmentError]) -> tuple[SegmentError, ...]:
    """One AK3 per segment with data element errors, whoever found them (pyx12's map, the guide's
    rules in `edi.payments`): their AK4s together, one per element (the first finding stands)."""
    merged: list[SegmentError] = []
    for err in errors:
        if len(err.elements) > 1:
            unique: dict[tuple[int, int | None], ElementError] = {}
            for element in err.elements:
                unique.setdefault((element.position, element.component), element)
            err = replace(err, elements=tuple(unique.values()))
        last = merged[-1] if merged else None
        if (last is not None and err.code == last.code == "8" and err.position == last.position
                and err.segment_id == last.segment_id and err.file_index == last.file_index):
            seen = {(e.position, e.component) for e in last.elements}
            extra = tuple(e for e in err.elements if (e.position, e.component) not in seen)
            merged[-1] = replace(last, elements=last.elements + extra, message=f"{last.message}; {err.message}")
        else:
            merged.append(err)
    return tuple(merged)


# --------------------------------------------------------------- envelope checks
def _check_isa(seg: Segment, isa_length: int) -> list[tuple[str, str]]:
    """Every ISA problem as (TA105 code, message)."""
    d = seg.delimiters
    e = seg.elements
    if len(e) != 17:
        return [("022", f"the ISA has {len(e) - 1} elements, not 16")]
    problems: list[tuple[str, str]] = []
    if d.element == d.segment:
        problems.append(("026", "the element separator is the segment terminator"))
    if d.segment.isalnum() or d.segment == " ":
        problems.append(("004", f"segment terminator {d.segment!r} is not allowed"))
    if d.component in (d.element, d.segment) or d.component.isalnum():
        problems.append(("027", f"component separator {d.component!r} is not usable"))
    checks = [
        ("010", e[1] in _AUTH_QUALIFIERS, f"ISA01 {_shown(e[1])} is not an authorization qualifier"),
        ("011", len(e[2]) == 10 and is_x12_text(e[2]), "ISA02 must be 10 characters of the X12 character set"),
        ("012", e[3] in ("00", "01"), "ISA03 must be 00 or 01"),
        ("013", len(e[4]) == 10 and is_x12_text(e[4]), "ISA04 must be 10 characters of the X12 character set"),
        ("005", e[5] in ISA_QUALIFIERS, f"ISA05 qualifier {_shown(e[5])} is not valid"),
        ("006", len(e[6]) == 15 and is_x12_id(e[6].rstrip(" ")),
         "ISA06 sender ID must be 15 characters: a registered ID (letters, digits, space, .&()/+,-) padded with spaces"),
        ("007", e[7] == RECEIVER_QUALIFIER, f"ISA07 must be {RECEIVER_QUALIFIER}"),
        ("008", len(e[8]) == 15 and is_x12_id(e[8].rstrip(" ")), "ISA08 receiver ID must be 15 characters"),
        ("009", e[8].strip() == RECEIVER_ID, f"ISA08 {_shown(e[8].strip())} is not {RECEIVER_ID}"),
        ("014", _is_date(e[9], "%y%m%d") and len(e[9]) == 6, f"ISA09 {_shown(e[9])} is not a YYMMDD date"),
        ("015", _is_date(e[10], "%H%M") and len(e[10]) == 4, f"ISA10 {_shown(e[10])} is not an HHMM time"),
        ("016", e[11] == "U" or e[12] != "00401", "ISA11 must be U in version 00401"),
        ("017", is_digits(e[12], 5, 5), f"ISA12 {_shown(e[12])} is not a version"),
        ("003", e[12] == "00401", f"ISA12 version {_shown(e[12])} is not supported (00401 only)"),
        ("018", is_digits(e[13], 9, 9), f"ISA13 {_shown(e[13])} is not a 9-digit control number"),
        ("019", e[14] in ("0", "1"), "ISA14 must be 0 or 1"),
        ("020", e[15] in ("P", "T"), "ISA15 must be P or T"),
        ("027", len(e[16]) == 1, "ISA16 must be one character"),
    ]
    problems += [(code, message) for code, ok, message in checks if not ok]
    if isa_length != ISA_LENGTH:
        problems.append(("022", f"the ISA is {isa_length} characters, not the fixed {ISA_LENGTH}"))
    return problems


#: Which TA105 code a TA1 carries when an interchange has several problems:
#: the envelope's own syntax first, then its structure and trailers, then
#: whether the engine supports it, then whom it is addressed to.
_TA1_PRIORITY = {
    code: rank
    for rank, codes in enumerate(
        [
            ("004", "026", "027", "010", "011", "012", "013", "005", "006", "008", "014", "015", "016", "017", "018", "019", "020"),
            ("023", "022", "021", "001", "025"),
            ("024",),
            ("003",),
            ("007", "009"),
        ]
    )
    for code in codes
}


#: Envelope problems kept per interchange before only new codes are added.
_MAX_PROBLEMS = 100

#: Problems about whom a group is addressed to rank with the ISA's addressing.
_ADDRESSING = "addressing: "


def _ta1_choice(problems: list[tuple[str, str]]) -> tuple[str, str]:
    if not problems:
        return "000", ""

    def rank(problem: tuple[str, str]) -> int:
        return 4 if problem[1].startswith(_ADDRESSING) else _TA1_PRIORITY.get(problem[0], 0)

    return min(problems, key=rank)


def _is_date(text: str, fmt: str) -> bool:
    """Whether `text` is a real date or time written in `fmt`'s ASCII digits (strptime alone
    takes any Unicode digit and a single digit for `%m`)."""
    if not is_digits(text, len(datetime(2000, 1, 1).strftime(fmt)), len(datetime(2000, 1, 1).strftime(fmt))):
        return False
    try:
        datetime.strptime(text, fmt)
    except ValueError:
        return False
    # a CCYYMMDD date as X12 validators read it (pyx12: none before 1800): GS04 is echoed in OTI06
    return fmt != "%Y%m%d" or pyx12.validation.is_valid_date("D8", text)


def with_problem(ic: InterchangeResult, code: str, message: str) -> InterchangeResult:
    """The interchange with one more envelope problem; the TA1 code chosen again among them all."""
    problems = (*ic.envelope_problems, (code, message))
    ta1_code, ta1_message = _ta1_choice(list(problems))
    return replace(ic, ta1_code=ta1_code, ta1_message=ta1_message, envelope_problems=problems)


# ------------------------------------------------------------------ the walk
@dataclass
class _Set:
    st: Segment
    map: Any
    source: Source | None
    position: int = 1
    errors: list[SegmentError] = field(default_factory=list)
    codes: set[str] = field(default_factory=set)
    walker: walk_tree | None = None
    node: Any = None
    builder: PaymentBuilder | None = None
    unchecked: int = 0
    known: frozenset[str] = frozenset()
    cursor: Cursor | None = None  # the compiled engine's walk (None: pyx12's walker)


@dataclass
class _Group:
    gs: Segment
    map: Any  # the pyx12 map; for the compiled engine its file name (loaded only if pyx12 must step in)
    codes: set[str] = field(default_factory=set)
    sets: list[SetResult] = field(default_factory=list)
    declared: int | None = None
    controls: set[str] = field(default_factory=set)

    @property
    def header(self) -> GroupHeader:
        gs = self.gs
        return GroupHeader(gs.get(2), gs.get(3), gs.get(4), gs.get(5), gs.get(6))


@dataclass
class _Interchange:
    isa: Segment
    problems: list[tuple[str, str]]
    groups: list[GroupResult] = field(default_factory=list)


class _Validator:
    def __init__(self, maps: _Maps, limits: Limits, sink: SetSink | None = None, digest: str = "") -> None:
        self._maps = maps
        self._sink = sink
        self._digest = digest  # stamped on each payment's source when known before the stream is read
        self._settled = 0  # interchanges handed to the sink as settled
        self._compiled = limits.engine == "compiled" and compiled_for(Path(maps.dir))
        self._max_set_errors = limits.max_set_errors
        self._max_file_errors = limits.max_file_errors
        self._notes = 0  # AK3 notes written for the file so far
        self.interchanges: list[InterchangeResult] = []
        self._ic: _Interchange | None = None
        self._group: _Group | None = None
        self._set: _Set | None = None
        self._seen_isa13: set[tuple[str, str]] = set()
        self._after_iea = False
        self._lines_stopped: PlainRun | None = None  # the run in which `_lines` takes no more lines
        self._cycles: tuple[Any, str, dict] = (None, "", {})  # `line_run`'s answers for these delimiters and joiner
        self._declined = 0  # `_lines` calls in a row that found no two lines alike to take

    # -- interchange ----------------------------------------------------------
    def _flag(self, code: str, message: str) -> None:
        """Record an envelope problem: the interchange will be rejected (`_ta1_choice` picks the TA105).
        Past `_MAX_PROBLEMS`, a problem of a code already recorded adds nothing (a file of stray
        segments costs no more than one)."""
        ic = self._ic
        if ic is not None and (len(ic.problems) < _MAX_PROBLEMS or all(code != c for c, _ in ic.problems)):
            ic.problems.append((code, message))

    def isa(self, seg: Segment) -> None:
        if self._ic is not None:
            self.end_interchange(None)
        self._settle()
        self._after_iea = False
        isa_length = len(seg.text()) + len(seg.delimiters.segment)
        problems = _check_isa(seg, isa_length)
        key = (f"{seg.get(5)}:{seg.get(6).strip()}", seg.get(13))
        if key in self._seen_isa13:
            problems.append(("025", f"interchange control number {seg.get(13)} appears twice in the file"))
        self._seen_isa13.add(key)
        self._ic = _Interchange(seg, problems)

    def end_interchange(self, iea: Segment | None) -> None:
        self._close_group(None)
        ic = self._ic
        assert ic is not None
        if iea is None:
            self._flag("023", "the interchange has no IEA: the file ended or another ISA began")
        else:
            if number(iea.get(1), 5) != len(ic.groups):  # IEA01 N0 1/5
                self._flag("021", f"IEA01 says {_shown(iea.get(1))} groups, the interchange holds {len(ic.groups)}")
            if iea.get(2) != ic.isa.get(13):
                self._flag("001", f"IEA02 {_shown(iea.get(2))} does not match ISA13 {_shown(ic.isa.get(13))}")
        isa = ic.isa
        code, message = _ta1_choice(ic.problems)
        self.interchanges.append(
            InterchangeResult(
                sender=(isa.get(5), isa.get(6).strip()),
                receiver=(isa.get(7), isa.get(8).strip()),
                control_number=isa.get(13),
                date=isa.get(9),
                time=isa.get(10),
                ack_requested=isa.get(14) == "1",
                usage=isa.get(15),
                ta1_code=code,
                ta1_message=message,
                envelope_problems=tuple(ic.problems),
                groups=tuple(ic.groups),
                file_index=isa.index,
                file_offset=isa.offset,
            )
        )
        self._ic = None

    # -- group -------------------------------------------------------------------
    def gs(self, seg: Segment) -> None:
        self._close_group(None)
        assert self._ic is not None
        icvn = self._ic.isa.get(12)
        find = self._maps.name_for if self._compiled else self._maps.for_group  # the compiled engine loads it when it must
        group = _Group(seg, find(icvn, seg.get(8), seg.get(1)))
        if group.map is None:
            known = any(fic == seg.get(1) for (_, _, fic) in SUPPORTED)
            group.codes.add("2" if known else "1")
        if number(seg.get(6), 9) is None:  # GS06 N0 1/9
            group.codes.add("6")
        # GS04/GS05 formats are version-specific (YYMMDD before 004010): judged only in ours.
        problems = self._gs_problems(seg) if icvn == "00401" else []
        for problem in problems:
            self._flag("024", problem)
        self._group = group

    def _gs_problems(self, seg: Segment) -> list[str]:
        if len(seg.elements) != 9:
            return [f"GS has {len(seg.elements) - 1} elements, not 8"]
        problems = []
        if not is_gs_code(seg.get(2)):
            problems.append("GS02 application sender code must be 2 to 15 characters (letters, digits, space, .&()/+,-)")
        if seg.get(3) != RECEIVER_ID:
            problems.append(f"{_ADDRESSING}GS03 {_shown(seg.get(3))} is not {RECEIVER_ID}")
        if not _is_date(seg.get(4), "%Y%m%d") or len(seg.get(4)) != 8:
            problems.append(f"GS04 {_shown(seg.get(4))} is not a CCYYMMDD date")
        if not _TIME.fullmatch(seg.get(5)) or not _is_date(seg.get(5)[:4], "%H%M"):
            problems.append(f"GS05 {_shown(seg.get(5))} is not an HHMM time")
        if seg.get(7) != "X":
            problems.append("GS07 must be X")
        return problems

    def ge(self, seg: Segment) -> None:
        if self._group is None:
            self._flag("022", f"GE at segment {seg.index} closes no group")
            return
        self._close_group(seg)

    def _close_group(self, ge: Segment | None) -> None:
        if self._set is not None:
            self._close_set(None)
        group = self._group
        if group is None:
            return
        gs = group.gs
        if ge is None:
            group.codes.add("3")
        else:
            group.declared = number(ge.get(1), 6)  # GE01 N0 1/6
            if group.declared != len(group.sets):
                group.codes.add("5")
            control = number(ge.get(2), 9)  # GE02 N0 1/9
            if control is None or control != number(gs.get(6), 9):
                group.codes.add("4")
        assert self._ic is not None
        result = GroupResult(
            functional_id=gs.get(1),
            sender_code=gs.get(2),
            receiver_code=gs.get(3),
            control_number=gs.get(6),
            version=gs.get(8),
            date=gs.get(4),
            time=gs.get(5),
            declared_sets=group.declared,
            sets=tuple(group.sets),
            codes=tuple(sorted(group.codes, key=int)),
            file_index=gs.index,
        )
        self._ic.groups.append(result)
        self._group = None
        if self._sink is not None:
            self._sink.group_closed(result)

    # -- set ------------------------------------------------------------------------
    def st(self, seg: Segment) -> None:
        if self._group is None:
            self._flag("022", f"ST at segment {seg.index} is outside a functional group")
            return
        if self._set is not None:
            self._close_set(None)
        group = self._group
        state = _Set(seg, group.map, None)
        if not seg.get(1):
            state.codes.add("6")
        control = seg.get(2)
        if SET_CONTROL.fullmatch(control) is None:
            state.codes.add("7")
        elif control in group.controls:
            state.codes.add("23")  # the same ST02 twice in one group: only the first is taken
        group.controls.add(control)
        expected = SUPPORTED.get((self._ic.isa.get(12), group.gs.get(8), group.gs.get(1))) if self._ic else None
        if group.map is None or seg.get(1) != expected:
            state.codes.add("1")
            state.map = None
        else:
            assert self._ic is not None
            isa = self._ic.isa
            state.source = Source(
                file_digest=self._digest,
                sender=f"{isa.get(5)}:{isa.get(6).strip()}",
                interchange=isa.get(13),
                group=group.gs.get(6),
                set_control=seg.get(2),
                file_index=seg.index,
                test=isa.get(15) == "T",
            )
            state.builder = PaymentBuilder(state.source)
            if self._compiled and state.map == GUIDE_MAP:
                state.cursor, state.known = Cursor(seg.delimiters), KNOWN
            else:
                state.map = self._maps.load(state.map) if isinstance(state.map, str) else state.map
                state.walker = _new_walker(self._maps.exact_paths(state.map))
                state.known = self._maps.known_segments(state.map)
                state.node = state.map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
        self._set = state
        self._check(state, seg)

    def body(self, seg: Segment) -> None:
        state = self._set
        if state is None:
            if self._group is not None:
                self._flag("022", f"segment {_shown(seg.id, 3)} at {seg.index} is outside a transaction set")
            else:
                self._flag("022", f"segment {_shown(seg.id, 3)} at {seg.index} is outside a functional group")
            return
        state.position += 1
        self._check(state, seg)

    def se(self, seg: Segment) -> None:
        if self._set is None:
            self._flag("022", f"SE at segment {seg.index} closes no transaction set")
            return
        self._set.position += 1
        self._check(self._set, seg)
        self._close_set(seg)

    def _check(self, state: _Set, seg: Segment) -> None:
        if state.map is None:
            return
        # Once the set is rejected and its 997 says enough, the rest of it costs nothing; once the
        # file has spent its notes, a set is given up at its first error.
        limit = self._max_set_errors if self._notes < self._max_file_errors else 1
        if len(state.errors) >= limit:
            state.unchecked += 1
            state.builder = None
            return
        sid = seg.elements[0]
        if sid not in state.known:
            state.errors.append(SegmentError(sid, state.position, "", "1", f"segment {_shown(sid, 3)} is not in the map",
                                             (), seg.index, seg.offset))
        elif state.cursor is not None:
            self._step(state, seg)
        else:
            self._walk(state, seg)
        if state.builder is not None:
            errors = state.builder.feed(seg, state.position)
            if errors:
                state.errors += errors

    def _walk(self, state: _Set, seg: Segment) -> None:
        """The segment through pyx12's map walker and element validation."""
        try:
            p12 = _pyx12_segment(seg)
            node, _, _, walk_errors = state.walker.walk_errors(state.node, p12, state.position, seg.index, None)
            state.errors += [_walk_error(err, seg, state.position) for err in walk_errors]
            if node is not None:
                state.node = node
                self._validate_elements(state, seg, node, p12)
        except Exception as exc:
            self._failed(state, seg, exc)

    def _step(self, state: _Set, seg: Segment, done: int | None = None) -> None:
        """The segment through the compiled engine: its tables where they vouch for it, pyx12 for the
        step they cannot (a walk with errors, a segment its pattern does not match).  `done`: what
        `Cursor.vouch` already said of it (`_body_run` walked it, its elements are to be judged)."""
        cursor = state.cursor
        assert cursor is not None
        try:
            if done is None:
                done = cursor.vouch(seg)
            if done == VOUCHED:
                return
            if done == UNKNOWN and (self._pyx12_step(state, seg) is None or cursor.valid(seg.elements)):
                return
            node = self._maps.node_at(state.map, cursor.node)
            self._validate_elements(state, seg, node, _pyx12_segment(seg))
        except MapError:
            raise
        except Exception as exc:
            self._failed(state, seg, exc)

    def _body_run(self, state: _Set, segments: Iterator[Segment], run: Any = None) -> tuple[Segment | None, Iterator[Segment]]:
        """Take the body segments of the open set from `segments` while the compiled tables vouch for
        them — `Cursor.vouch`, `_check` and `body` run with locals, one segment after another — and
        any other body segment through `_check`; after an ENT of a `PlainRun`, the whole lines that
        follow it at once (`_lines`).  Return the first segment that is not the set's body (the
        envelope's, or one cut short), or None when the run ends, and the segments left after it.
        The same walk, counts, errors and payment as `feed` one segment at a time."""
        cursor = state.cursor
        assert cursor is not None
        node, counts, position, errors = cursor.node, cursor.counts, state.position, state.errors
        feed = None if state.builder is None else state.builder.feed
        limit = self._max_set_errors if self._notes < self._max_file_errors else 1
        matchers, join = cursor.matchers, cursor.delimiters.element.join
        envelope, follow = _ENVELOPE, WALKS[node]
        room = len(errors) < limit  # the set may take more notes: checked again when errors are added
        lines = isinstance(run, PlainRun) and run.delimiters == cursor.delimiters
        while True:
            for seg in segments:
                elements = seg[0]
                sid = elements[0]
                if sid in envelope or seg[5]:  # seg.cut
                    cursor.node, state.position = node, position
                    return seg, segments
                position += 1
                step = follow.get(sid) if room else None  # None too for an ID unknown or with a qualifier
                if step is not None:
                    for guarded, low, high in step[1]:
                        if not low <= counts[guarded] <= high:
                            break
                    else:
                        pair = matchers.get(step[0])  # None: its pattern not made yet (`Cursor.vouch` makes it)
                        if pair is not None:
                            node, follow = step[0], step[4]
                            for reset in step[2]:
                                counts[reset] = 0
                            for inc in step[3]:
                                counts[inc] += 1
                            matches, rules, unasked = pair
                            if matches(seg[6] or join(elements)) is None or (len(elements) > unasked and not rules(elements)):
                                cursor.node, state.position = node, position
                                self._step(state, seg, WALKED)
                                node, counts, room = cursor.node, cursor.counts, len(errors) < limit
                            elif sid == LINE_START and lines and feed is not None:
                                found = feed(seg, position)
                                if found:
                                    errors += found
                                    room = len(errors) < limit
                                elif node == LINE_NODE and room:
                                    taken, offset = self._lines(state, run, seg, position, counts)
                                    if taken:  # the lines' segments skipped: the run goes on after them
                                        position += taken
                                        follow = WALKS[node]
                                        segments = run.after(seg[1] - run.first + 1 + taken, offset)
                                        break
                                    lines = run is not self._lines_stopped
                                continue
                            if feed is not None:
                                found = feed(seg, position)
                                if found:
                                    errors += found
                                    room = len(errors) < limit
                            continue
                # the tables cannot take it alone: the step as `_check` takes it
                cursor.node, state.position = node, position
                self._check(state, seg)
                node, counts = cursor.node, cursor.counts
                follow, room = WALKS[node], len(errors) < limit
                if state.builder is None:
                    feed = None
            else:
                cursor.node, state.position = node, position
                return None, segments

    def _lines(self, state: _Set, run: PlainRun, ent: Segment, position: int, counts: list[int]) -> tuple[int, int]:
        """After `ent`, a line's ENT just fed (at `position` in the set, the walk at `LINE_NODE` with
        `counts`): the whole lines written after it in `run`, each an RMR, perhaps a REF, and the next
        ENT, taken at once — matched by one regular expression (`edi.compiled.line_run`, the segments'
        own patterns joined), walked by `walk_repeated`, built by `PaymentBuilder.take_lines` — as far
        as each segment, step and line would pass alone.  Returns how many segments were taken (0:
        none, the caller goes on one at a time) and the file offset of the segment after them; `counts`
        are changed as the walk leaves them.  Once a line the expression matched could not be taken
        (a check of the builder's, a guard), the rest of the run goes one segment at a time: no
        segment is matched again and again."""
        builder = state.builder
        assert builder is not None
        if run is self._lines_stopped:
            return 0, 0
        pieces, element, joiner = run.pieces, run.delimiters.element, run.joiner
        at = ent[1] - run.first + 1  # the piece after the ENT
        after_rmr = pieces[at + 1] if at + 1 < len(pieces) else ""
        shape = 3 if after_rmr[:4] == "REF" + element else 2
        second = at + 2 * shape - 1  # the ENT that ends the second line: the next line alike, or nothing to take
        if second >= len(pieces) or pieces[second][:4] != "ENT" + element or pieces[at + shape + 1][:4] != after_rmr[:4]:
            self._declined += 1
            if self._declined > _MAX_DECLINED:  # lines of changing shapes: one at a time, without asking, for the rest of the run
                self._lines_stopped = run
            return 0, 0
        self._declined = 0
        qualifier = after_rmr.split(element, 2)[1] if shape == 3 else None
        if qualifier not in (None, "ZZ", "TN"):
            return 0, 0
        if run.delimiters is not self._cycles[0] or joiner != self._cycles[1]:
            self._cycles = (run.delimiters, joiner, {})
        cycles = self._cycles[2]
        if qualifier not in cycles:
            cycles[qualifier] = line_run(run.delimiters, joiner, qualifier)
        cycle = cycles[qualifier]
        if cycle is None:
            return 0, 0
        match, signatures = cycle
        start = ent[2] - run.base + len(ent[6]) + len(joiner)  # where the piece after the ENT starts in the text
        end = match(run.text, start).end()
        matched = min(run.text.count(joiner, start, end), len(pieces) - at) // shape
        if matched < 2:
            return 0, 0
        walkable, _ = walk_repeated(LINE_NODE, counts, signatures, matched)
        count = builder.take_lines(pieces[at : at + walkable * shape], shape, qualifier, element, position, ent[1])
        if count < matched:
            self._lines_stopped = run
        if count < 1:
            return 0, 0
        counts[:] = walk_repeated(LINE_NODE, counts, signatures, count)[1]
        taken = pieces[at : at + count * shape]
        return count * shape, ent[2] + len(ent[6]) + len(joiner) + sum(map(len, taken)) + len(taken) * len(joiner)

    def _pyx12_step(self, state: _Set, seg: Segment) -> Any:
        """One step of pyx12's walker from where the compiled walk stands, with its counts; the
        compiled walk resumes where pyx12 lands.  Returns the node (None: no node matched)."""
        cursor = state.cursor
        assert cursor is not None
        walker = _new_walker(True)
        walker.counter._counts = cursor.state()
        start = self._maps.node_at(state.map, cursor.node)
        node, _, _, walk_errors = walker.walk_errors(start, _pyx12_segment(seg), state.position, seg.index, None)
        state.errors += [_walk_error(err, seg, state.position) for err in walk_errors]
        if node is not None:
            cursor.resume(node.x12path.format(), walker.counter._counts)
        return node

    def _validate_elements(self, state: _Set, seg: Segment, node: Any, p12: Any) -> None:
        """pyx12's element validation of `seg` as map segment `node`."""
        crowded = _crowded_composites(node, seg)
        if crowded:  # pyx12 indexes past the composite's map and raises: said here instead
            state.errors.append(SegmentError(seg.id, state.position, "", "8", "; ".join(e.message for e in crowded),
                                             crowded, seg.index, seg.offset))
            return
        _, element_errors = node.is_valid_errors(p12)
        if element_errors:
            elements = tuple(_element_error(err, node) for err in element_errors)
            message = "; ".join(err.err_str for err in element_errors)
            state.errors.append(SegmentError(seg.id, state.position, "", "8", message, elements, seg.index, seg.offset))

    @staticmethod
    def _failed(state: _Set, seg: Segment, exc: Exception) -> None:
        log.warning("pyx12 failed on segment %s at %s: %r", seg.id, seg.index, exc)
        state.errors.append(
            SegmentError(seg.id, state.position, "", "1", f"segment could not be validated: {exc}", (), seg.index, seg.offset)
        )

    def _close_set(self, se: Segment | None) -> None:
        state = self._set
        assert state is not None and self._group is not None
        self._set = None
        st = state.st
        if se is None:
            state.codes.add("2")
            if state.builder is not None:
                state.builder = None
        else:
            if se.get(2) != st.get(2):
                state.codes.add("3")
            if number(se.get(1), 10) != state.position:  # SE01 N0 1/10: 012 = 12
                state.codes.add("4")
        errors = _one_note_per_segment(sorted(state.errors, key=lambda e: (e.position, e.code)))
        if errors:
            state.codes.add("5")
        room = max(self._max_file_errors - self._notes, 0)
        errors = errors[: min(self._max_set_errors, room)]
        self._notes += len(errors)
        payload = None
        if state.builder is not None and not state.codes:
            payload = state.builder.finish()
        result = SetResult(
            set_id=st.get(1),
            control_number=st.get(2),
            codes=tuple(sorted(state.codes, key=int)),
            errors=errors,
            segment_count=state.position,
            file_index=st.index,
            file_offset=st.offset,
            payload=payload,
            unchecked=state.unchecked,
        )
        if self._sink is not None:
            assert self._ic is not None
            result = self._sink.set_closed(self._group.header, result, bool(self._ic.problems or self._group.codes))
        self._group.sets.append(result)

    # -- dispatch --------------------------------------------------------------------
    def run(self, runs: Iterable[Iterable[Segment]]) -> None:
        """`feed` each segment of `runs` (`X12Reader.runs`); the body of a set the compiled engine
        checks is taken by `_body_run`, as far as the run goes."""
        for run in runs:
            segments = iter(run)
            seg = next(segments, None)
            while seg is not None:
                self.feed(seg)
                state = self._set
                if state is None or state.cursor is None:
                    seg = next(segments, None)
                    continue
                seg, segments = self._body_run(state, segments, run)  # None: the run is over (the set goes on in the next one)

    def feed(self, seg: Segment) -> None:
        if seg.elements[0] not in _ENVELOPE and not seg.cut and self._set is not None:
            self.body(seg)  # the usual segment: inside a set, nothing of the envelope to look at
            return
        if seg.cut:
            # longer than the reader holds: what it said cannot be known, nor whether it was fit to post
            self._flag("022", f"segment {seg.index} has no terminator within {MAX_SEGMENT_BYTES} bytes")
        sid = seg.id
        if sid == "ISA":
            self.isa(seg)
            return
        if self._ic is None:
            # Between an IEA and the next ISA: the interchange is already closed;
            # the stray segment is reported on it.
            if self.interchanges and not self._after_iea:
                self._after_iea = True  # the first stray segment says it; the rest add nothing
                last = self.interchanges[-1]
                self.interchanges[-1] = with_problem(last, "022", f"segment {_shown(sid, 3)} at {seg.index} follows the IEA")
            return
        if sid == "IEA":
            self.end_interchange(seg)
        elif sid == "GS":
            self.gs(seg)
        elif sid == "GE":
            self.ge(seg)
        elif sid == "ST":
            self.st(seg)
        elif sid == "SE":
            self.se(seg)
        elif sid in ("TA1", "ISB", "ISE") and self._group is None:
            pass  # interchange-level segments X12 allows between ISA and the first GS
        else:
            self.body(seg)

    def finish(self) -> None:
        if self._ic is not None:
            self.end_interchange(None)
        self._settle()

    def _settle(self) -> None:
        """Hand the sink each interchange closed since the last call: none of them can change now."""
        if self._sink is not None:
            for ic in self.interchanges[self._settled:]:
                self._sink.interchange_settled(ic)
        self._settled = len(self.interchanges)


#: `_Validator._lines` calls in a row that find no two lines alike before the rest of the run goes one
#: segment at a time without asking (lines of changing shapes: with and without a REF in turn)
_MAX_DECLINED = 8

#: Segments `_Validator.feed` hands to the envelope checks (any other goes to the open set).
_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1", "ISB", "ISE"})


class _TooLarge(Exception):
    """The stream holds more than the file size limit (raised inside `_HashingReader.read`)."""


class _HashingReader:
    def __init__(self, stream: BinaryIO, max_bytes: int, progress: Callable[[int], None] | None = None) -> None:
        self._stream = stream
        self._max_bytes = max_bytes
        self._progress = progress
        self.size = 0
        self.sha = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self.size += len(data)
        if self.size > self._max_bytes:
            raise _TooLarge
        self.sha.update(data)
        if self._progress is not None:
            self._progress(self.size)
        return data


def _size(stream: BinaryIO) -> int:
    """Bytes left in `stream` when it can tell (a file, a buffer), else 0."""
    try:
        if not stream.seekable():
            return 0
        here = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError):
        return 0


def _too_large(limits: Limits) -> Problem:
    return Problem("too-large", f"the file is larger than {limits.max_file_bytes:,} bytes, the most one file may hold: "
                   "split its payments over several files", "byte 0", "edi.limits")


def validate_stream(
    stream: BinaryIO,
    *,
    map_dir: Path = MAP_DIR,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int], None] | None = None,
    sink: SetSink | None = None,
    digest: str | None = None,
) -> FileResult:
    """Validate every interchange in `stream`; return what was found, as values.

    A stream longer than `limits.max_file_bytes` is not validated: the result holds no
    interchange, only the problem `too-large` (nothing is answered by X12; the application
    reports it in words).  `progress`, when given, is called with the bytes read so far after
    each chunk (the command line shows a bar on a terminal).  `limits.engine` checks set bodies
    with the compiled tables (`edi.compiled`, the default) or with pyx12's walker: the same
    answers (decision E22).

    `sink`, when given, takes each set as it closes (`SetSink`) and the result keeps what it
    returns.  `digest`, the SHA-256 the caller already took of these bytes, is stamped on
    each payment as it is built; bytes that turn out different (or too many) raise
    `FileChanged`, since the sink was handed sets of another file."""
    if _size(stream) > limits.max_file_bytes:  # known at once: not a byte of it is read
        if digest is not None:
            raise FileChanged("the file grew past the size limit after it was hashed")
        return FileResult(digest="", size=_size(stream), interchanges=(), problems=(_too_large(limits),))
    hashing = _HashingReader(stream, limits.max_file_bytes, progress)
    reader = X12Reader(hashing)  # type: ignore[arg-type]
    validator = _Validator(_maps(map_dir), limits, sink, digest or "")
    try:
        with collections_seldom():
            validator.run(reader.runs())
    except _TooLarge:
        if digest is not None:
            raise FileChanged("the file grew past the size limit after it was hashed") from None
        return FileResult(digest="", size=hashing.size, interchanges=(), problems=(_too_large(limits),))
    if reader.problems and validator._ic is not None:
        problem = next((p for p in reader.problems if p.code == "bad-isa"), None)
        if problem is not None:
            validator._flag("022", problem.message)
    validator.finish()
    found = hashing.sha.hexdigest()
    if digest is not None and digest != found:
        raise FileChanged(f"the file's SHA-256 was {digest[:16]}… when hashed, {found[:16]}… when validated")
    interchanges = tuple(validator.interchanges) if digest else tuple(_with_digest(ic, found) for ic in validator.interchanges)
    return FileResult(digest=found, size=reader.bytes_read, interchanges=interchanges, problems=tuple(reader.problems))


def file_digest(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS, chunk: int = 1 << 20) -> FileResult:
    """The SHA-256 of what is left in `stream`, read in chunks, as a `FileResult` with no
    interchange yet (the digest, the size); past `limits.max_file_bytes` the result `validate_stream`
    gives such a file (it stops reading there): its `problems` say so."""
    sha, size = hashlib.sha256(), 0
    while data := stream.read(chunk):
        size += len(data)
        if size > limits.max_file_bytes:
            return FileResult(digest="", size=size, interchanges=(), problems=(_too_large(limits),))
        sha.update(data)
    return FileResult(digest=sha.hexdigest(), size=size, interchanges=())


def _with_digest(ic: InterchangeResult, digest: str) -> InterchangeResult:
    """Stamp the file digest on every payment's source (known only at the end of the stream)."""
    groups = []
    for group in ic.groups:
        sets = []
        for st in group.sets:
            if st.payload is not None:
                st = replace(st, payload=replace(st.payload, source=replace(st.payload.source, file_digest=digest)))
            sets.append(st)
        groups.append(replace(group, sets=tuple(sets)))
    return replace(ic, groups=tuple(groups))


def validate_path(path: str | Path, *, map_dir: Path = MAP_DIR, limits: Limits = DEFAULT_LIMITS) -> FileResult:
    with open(path, "rb") as stream:
        return validate_stream(stream, map_dir=map_dir, limits=limits)
