"""Generate `edi/guide820_compiled.py` from the pyx12 map: the compiled engine's tables.

    python -m edi.compile_guide            # write the module
    python -m edi.compile_guide --check    # exit 1 when the module is stale against the map

The pyx12 map (`mappings/820.4010.CARM.xml`) stays the one source of truth for the
guide; this turns it into two tables that `edi.compiled` runs without walking the map:

* **Transitions** — for each map segment the set may stand on and each segment it may
  meet next (its ID, and its qualifier where pyx12 matches on one), what pyx12's
  `walk_tree.walk_errors` would do when it finds no error: the node it lands on, the
  counter operations it performs (loop resets, loop and segment counts) and the
  conditions on the counts under which it reports nothing (a mandatory segment or loop
  already seen, a maximum use not exceeded).  It is worked out here by following the
  walker's own search order — the same scan of positions, the same pops to the parent
  loop, the same loop entries — with the counts kept symbolic ("as found" plus what the
  walk added, or known after a reset).  A walk that would report an error has no entry:
  the engine hands that segment to pyx12's walker.
* **Elements** — for each map segment, what each position accepts (usage, data type,
  lengths, code list, the map's regex) and its syntax rules, from which `edi.compiled`
  builds one regular expression per segment that matches only segments pyx12 finds
  valid.  A segment it does not match is validated by pyx12's element validator.

The generated module names the SHA-256 of the map and of the data element dictionary;
`tests/test_compiled.py` fails when regenerating it would give other bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import pprint
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyx12.map_if
import pyx12.params
from pyx12.map_if._composite import composite_if
from pyx12.map_if._element import element_if

from mappings import MAP_DIR

from .errors import MapError

__all__ = ["MAP_NAME", "SOURCES", "TARGET", "generate", "main", "sources_digest"]

MAP_NAME = "820.4010.CARM.xml"
TARGET = Path(__file__).with_name("guide820_compiled.py")
#: The transaction set's walk starts on GS (as `edi.validate` starts pyx12's walker there).
START = "/ISA_LOOP/GS_LOOP/GS"
#: A map regex the engine can embed: `^…$` over letters, digits, classes, groups and counts.
#: Such a body matches only letters, digits and '-', never a separator the engine allows.
_SAFE_REGEX = re.compile(r"\^([A-Za-z0-9|(){}\[\],\-]*)\$")


class Unsupported(MapError):
    """The map has a shape the generator does not emulate (a wrapper loop): validate with pyx12."""


# ------------------------------------------------------------------ symbolic counts
@dataclass
class _Counts:
    """The walker's counter during one walk, relative to the counts found at its start.

    A path's count is either "as found plus `delta`" or, under a loop reset during the
    walk, "`delta`" exactly.  Conditions on counts as found become guards; conditions on
    known counts are decided here.
    """

    delta: dict[str, int] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    resets: list[str] = field(default_factory=list)
    guards: list[tuple[str, int, int]] = field(default_factory=list)
    effects: list[tuple[str, Any]] = field(default_factory=list)
    impossible: bool = False

    def _is_known(self, path: str) -> bool:
        return path in self.known or any(path.startswith(prefix + "/") for prefix in self.resets)

    def require(self, path: str, low: int, high: int) -> None:
        """The count of `path` now must lie in [low, high], or the walk reports an error."""
        delta = self.delta.get(path, 0)
        if self._is_known(path):
            if not low <= delta <= high:
                self.impossible = True
            return
        self.guards.append((path, low - delta, high - delta))

    def increment(self, path: str) -> None:
        self.delta[path] = self.delta.get(path, 0) + 1
        self.effects.append(("inc", path))

    def reset(self, loop_path: str, descendants: tuple[str, ...]) -> None:
        for path in descendants:
            self.delta.pop(path, None)
            self.known.add(path)
        self.resets.append(loop_path)
        self.effects.append(("reset", descendants))


# ------------------------------------------------------------- the walker, emulated
_MAXINT = 2**31 - 1


def _path(node: Any) -> str:
    return node.x12path.format()


def _children(node: Any) -> list[Any]:
    return [child for pos in sorted(node.pos_map) for child in node.pos_map[pos]]


def _parent_loop(node: Any) -> Any:
    parent = node.parent
    while not (parent.is_loop() or parent.is_map_root()):
        parent = parent.parent
    return parent


def _descendants(loop: Any) -> tuple[str, ...]:
    return tuple(_path(node) for node in loop.loop_segment_iterator() if node is not loop)


class _Walk:
    """One emulated `walk_tree.walk_errors(start, segment)` for a segment of a given signature."""

    def __init__(self, start: Any, matches: Any) -> None:
        self.start = start
        self.matches = matches  # segment node -> bool: would pyx12's `is_match` say yes
        self.counts = _Counts()

    def run(self) -> Any | None:
        node, node_pos = self.start, self.start.pos
        if not (node.is_loop() or node.is_map_root()):
            node = _parent_loop(node)
        while True:
            found = self._scan(node, node_pos)
            if found is not None or self.counts.impossible:
                return None if self.counts.impossible else found
            if node.is_map_root():
                return None  # "segment not found": an error
            node_pos = node.pos
            node = _parent_loop(node)

    def _scan(self, loop: Any, from_pos: int) -> Any | None:
        for child in _children(loop):
            if child.pos < from_pos:
                continue
            if child.is_segment():
                if self.matches(child):
                    if loop.is_loop() and self._loop_match(loop):
                        return self._enter(loop)
                    return self._segment(child)
                if child.usage == "R":
                    self.counts.require(_path(child), 1, _MAXINT)  # else "mandatory segment missing"
            elif child.is_loop() and self._loop_match(child):
                return self._enter(child)
            if self.counts.impossible:
                return None
        return None

    def _segment(self, child: Any) -> Any | None:
        if child.usage not in ("R", "S"):
            self.counts.impossible = True
            return None
        self.counts.increment(_path(child))
        self.counts.require(_path(child), 0, child.get_max_repeat())
        return child

    def _loop_match(self, loop: Any) -> bool:
        first = loop.get_first_node()
        if first is None:
            return False
        if first.is_loop():
            raise Unsupported(f"wrapper loop {loop.id}: the generator does not emulate it")
        if first.is_segment() and self.matches(first):
            return True
        if loop.usage == "R":
            self.counts.require(_path(loop), 1, _MAXINT)  # else "mandatory loop missing"
        return False

    def _enter(self, loop: Any) -> Any | None:
        first = loop.get_first_seg()
        if first is None or not self.matches(first):
            raise Unsupported(f"loop {loop.id} entered by a segment below its first")
        if loop.usage not in ("R", "S"):
            self.counts.impossible = True
            return None
        self.counts.reset(_path(loop), _descendants(loop))
        self.counts.increment(_path(loop))
        self.counts.require(_path(loop), 0, loop.get_max_repeat())
        self.counts.increment(_path(first))
        return first


# ------------------------------------------------------------------ what is generated
def _key_element(node: Any) -> tuple[int, frozenset[str]] | None:
    """The element pyx12's `segment_if.is_match` reads to tell this node from others, and its codes."""
    key = node._resolve_unique_key_field(node.id, with_qual=False)
    if key is None:
        return None
    child, ele_idx, subele_idx = key
    if subele_idx:
        raise Unsupported(f"{node.id}: a qualifier inside a composite")
    return ele_idx, frozenset(child.valid_codes)


def _segments(root: Any) -> list[Any]:
    return [node for node in root.loop_segment_iterator() if node.is_segment()]


def _signatures(segments: list[Any]) -> dict[str, dict[str | None, Any]]:
    """Segment ID -> qualifier (None: none of the codes) -> predicate over map nodes."""
    keys: dict[str, tuple[int, frozenset[str]]] = {}
    for node in segments:
        key = _key_element(node)
        if key is not None:
            index, codes = key
            previous = keys.get(node.id, (index, frozenset()))
            if previous[0] != index:
                raise Unsupported(f"{node.id} is told apart by two different elements")
            keys[node.id] = (index, previous[1] | codes)
    out: dict[str, dict[str | None, Any]] = {}
    for seg_id in sorted({node.id for node in segments}):
        codes = keys.get(seg_id, (0, frozenset()))[1]
        out[seg_id] = {qual: _matcher(seg_id, qual) for qual in [None, *sorted(codes)]}
    return out


def _matcher(seg_id: str, qual: str | None) -> Any:
    def matches(node: Any) -> bool:
        if node.id != seg_id:
            return False
        key = _key_element(node)
        return key is None or qual in key[1]

    return matches


def _transitions(segments: list[Any], nodes: list[str]) -> dict[int, dict[str, tuple]]:
    """Node number -> signature -> (next node, guards, effects), nodes numbered as in `nodes`."""
    number = {path: i for i, path in enumerate(nodes)}
    table: dict[int, dict[str, tuple]] = {}
    for start in segments:
        row: dict[str, tuple] = {}
        for seg_id, by_qual in _signatures(segments).items():
            for qual, matches in by_qual.items():
                walk = _Walk(start, matches)
                target = walk.run()
                if target is None:
                    continue
                guards = tuple((number[path], low, high) for path, low, high in walk.counts.guards)
                effects = tuple(
                    (op, tuple(number[p] for p in arg) if op == "reset" else number[arg]) for op, arg in walk.counts.effects
                )
                row[seg_id if qual is None else f"{seg_id}*{qual}"] = (number[_path(target)], guards, effects)
        table[number[_path(start)]] = row
    return table


def _element_spec(child: Any) -> tuple:
    """(usage, kind, min, max, codes, regex body) of one position; kind 'composite' for a composite."""
    if isinstance(child, composite_if):
        return (child.usage, "composite", 0, 0, (), None)
    assert isinstance(child, element_if)
    data = child._resolve_data_ele()
    body = None
    if child.res:
        safe = _SAFE_REGEX.fullmatch(child.res)
        body = safe.group(1) if safe else "(?!)"  # a regex the engine cannot embed: never fast
    kind = data["data_type"]
    if child.external_codes is not None:
        kind = "(?!)"  # external code lists are pyx12's business
    return (child.usage, kind, data["min_len"], data["max_len"], tuple(child.valid_codes), body)


def _elements(segments: list[Any], nodes: list[str]) -> dict[int, tuple]:
    return {
        nodes.index(_path(node)): (node.id, tuple(_element_spec(child) for child in node.children), tuple(tuple(s) for s in node.syntax))
        for node in segments
    }


def _key_elements(segments: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for node in segments:
        key = _key_element(node)
        if key is not None:
            out[node.id] = key[0]
    return out


#: The files the tables are made from: the map, and the data element dictionary its elements use.
SOURCES = ("dataele.xml",)


def sources_digest(map_dir: Path, map_name: str = MAP_NAME) -> str:
    """SHA-256 over the map and the dictionary, in that order (what `edi.compiled` checks at run time)."""
    digest = hashlib.sha256()
    for name in (map_name, *SOURCES):
        digest.update((map_dir / name).read_bytes())
    return digest.hexdigest()


def generate(map_dir: Path = MAP_DIR, map_name: str = MAP_NAME) -> str:
    """The text of the generated module for `map_name` in `map_dir`."""
    digest = sources_digest(map_dir, map_name)
    root = pyx12.map_if.load_map_file(map_name, pyx12.params.params(), str(map_dir))
    segments = _segments(root)
    nodes = [_path(node) for node in root.loop_segment_iterator() if node.is_loop() or node.is_segment()]
    parts = [
        f'"""Generated by `python -m edi.compile_guide` from mappings/{map_name}: do not edit.\n\n'
        "The compiled engine's tables (see `edi.compile_guide` for what they mean).\n"
        '"""\n\n'
        "# fmt: off\n"
        f"MAP_NAME = {map_name!r}\n",
        "#: SHA-256 of the map and of the data element dictionary (types, lengths) it was generated from\n",
        f"SOURCES_SHA256 = {digest!r}\n",
        f"START = {nodes.index(START)}\n\n",
        "#: the map's loops and segments, by number: a count's key, as pyx12's counter names it\n",
        f"NODES = {pprint.pformat(tuple(nodes), width=110)}\n\n",
        "#: segment ID -> the element whose value tells its map nodes apart (pyx12's `is_match`)\n",
        f"KEYS = {pprint.pformat(_key_elements(segments), width=110)}\n\n",
        "#: segment ID -> qualifier codes that select a node\n",
        f"QUALIFIERS = {pprint.pformat({k: tuple(sorted(v)) for k, v in _qualifiers(segments).items()}, width=110)}\n\n",
        "#: node -> signature -> (next node, guards (node, low, high) on the counts found,\n"
        "#: effects ('inc', node) / ('reset', descendant nodes)) of a walk that reports nothing\n",
        f"TRANSITIONS = {pprint.pformat(_transitions(segments, nodes), width=100, compact=True)}\n\n",
        "#: node -> (segment ID, per position (usage, type, min, max, codes, regex body), syntax rules)\n",
        f"ELEMENTS = {pprint.pformat(_elements(segments, nodes), width=100, compact=True)}\n",
    ]
    return "".join(parts)


def _qualifiers(segments: list[Any]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for node in segments:
        key = _key_element(node)
        if key is not None:
            out[node.id] = out.get(node.id, frozenset()) | key[1]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed module is stale")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is stale against mappings/{MAP_NAME}: run python -m edi.compile_guide", file=sys.stderr)
            return 1
        print(f"{TARGET.name} is up to date")
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
