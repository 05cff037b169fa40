"""The compiled engine: a set body checked from tables generated out of the pyx12 map.

`edi.validate` checks each segment of a transaction set against the guide with one of
two engines (decision E22):

* ``pyx12`` — pyx12's map walker (`walk_tree.walk_errors`) and element validator
  (`segment_if.is_valid_errors`) on every segment;
* ``compiled`` (the default) — the tables of `edi.guide820_compiled`, generated from
  the same map by `python -m edi.compile_guide`: a transition table that says where the
  walker lands and how its counts move when it would report nothing, and one regular
  expression per map segment that matches only segments pyx12's element validator
  accepts.  A segment either table cannot vouch for — the walker would report an
  error, or the regular expression does not match — is handed to pyx12 for that step,
  with the walker's counts as the table kept them, so the answer is pyx12's own: the
  two engines give the same AK3/AK4, byte for byte (`bench/differential.py`).

A clean set never touches pyx12 (its map is not even loaded); a broken one pays pyx12's
price only for the segments that are in error.  `Cursor.vouch` takes one segment; `WALKS` is
the same transition table as `edi.validate` walks a whole set body with it, each step knowing
which guards the step before it already made hold; `line_run` and `walk_repeated` take whole
remittance lines at once — the segments' own patterns joined into one expression, the line's
steps walked once and repeated (decision E30).
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import guide820_compiled as guide
from .reader import Delimiters, Segment

__all__ = ["GUIDE_MAP", "KNOWN", "LINE_NODE", "LINE_START", "NODES", "UNKNOWN", "VOUCHED", "WALKED", "WALKS", "Cursor", "compiled_for",
           "element_matcher", "line_run", "walk_repeated"]

#: pyx12's extended character set for AN and ID values (`validation.rec_ID_E`, charset "E").
_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!\"&'()*+,-./:;?= abcdefghijklmnopqrstuvwxyz%~@[]_{}\\|<>#$"
_NEVER = "(?!)"


@lru_cache(maxsize=8)
def compiled_for(map_dir: Path) -> bool:
    """Whether the generated tables were made from exactly this folder's map and data element
    dictionary (else pyx12 does the work)."""
    digest = hashlib.sha256()
    try:
        for name in (guide.MAP_NAME, "dataele.xml"):  # `edi.compile_guide.SOURCES`
            digest.update((map_dir / name).read_bytes())
    except OSError:
        return False
    return digest.hexdigest() == guide.SOURCES_SHA256


# ------------------------------------------------------------------ element patterns
def _class(chars: str) -> str:
    return "[" + "".join(re.escape(c) for c in chars) + "]"


def _code_ok(code: str, kind: str, low: int, high: int, allowed: str, body: str | None) -> bool:
    """Whether pyx12 would accept `code` as a value of this position (it is in the list)."""
    return (
        kind in ("AN", "ID")
        and low <= len(code) <= high
        and all(c in allowed for c in code)
        and code[-1] != " "
        and (body is None or re.fullmatch(body, code, re.ASCII) is not None)
    )


def _value_pattern(spec: tuple, allowed: str, sep: str, last: str = r"\Z") -> str:
    r"""A pattern for a non-empty value pyx12 accepts at this position (a subset of what it accepts);
    `last` matches where the segment's text ends (`\Z` when the pattern is matched on one segment)."""
    _, kind, low, high, codes, body = spec
    low = max(low, 1)
    if body is not None and body != _NEVER and any(c.isalnum() or c == "-" for c in sep):
        body = _NEVER  # the map's regex could match a separator: not embedded
    if codes:
        fit = [code for code in codes if _code_ok(code, kind, low, high, allowed, body)]
        return "(?:" + "|".join(re.escape(code) for code in fit) + ")" if fit else _NEVER
    if kind in ("AN", "ID"):
        if high < 1:
            return _NEVER
        pattern = f"{_class(allowed)}{{{low - 1},{high - 1}}}{_class(allowed.replace(' ', ''))}"
    elif kind.startswith("N"):
        pattern = f"-?[0-9]{{{low},{high}}}"
    elif kind == "R":
        end = "(?:" + re.escape(sep[0]) + "|" + last + ")"
        # the usual amount (`12.34`) first; possessive (`*+`, `++`): a digit given back never lets a separator match
        pattern = f"-?(?:(?=[0-9.]{{{low + 1},{high + 1}}}{end})[0-9]*+\\.[0-9]++|[0-9]{{{low},{high}}}+)"
    elif kind == "DT" and low <= 8 <= high:
        pattern = _DATE
    elif kind == "TM":
        shapes = [n for n in (4, 6, 7, 8) if low <= n <= high]
        pattern = "(?:[01][0-9]|2[0-3])[0-5][0-9]" + _TIME_TAIL.get(tuple(shapes), _NEVER) if shapes else _NEVER
    else:
        return _NEVER
    if body is not None:
        end = "(?:" + re.escape(sep[0]) + "|" + last + ")"
        pattern = f"(?=(?:{body}){end}){pattern}"
    return pattern


#: CCYYMMDD from 1800 on whose day exists in every year (29 February is left to pyx12).
_DATE = (
    "(?:1[89]|[2-9][0-9])[0-9]{2}"
    "(?:(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])(?:29|30)|(?:0[13578]|1[02])31)"
)
#: what may follow HHMM for the lengths a TM position allows (pyx12: HHMM, HHMMSS, HHMMSSd, HHMMSSdd)
_TIME_TAIL = {
    (4,): "",
    (4, 6, 7, 8): "(?:[0-5][0-9](?:[0-9]{1,2})?)?",
    (6, 7, 8): "[0-5][0-9](?:[0-9]{1,2})?",
    (4, 6): "(?:[0-5][0-9])?",
    (6,): "[0-5][0-9]",
}


def _element_pattern(spec: tuple, allowed: str, sep: str, last: str = r"\Z") -> str:
    usage, kind = spec[0], spec[1]
    if kind == "composite":
        return _NEVER if usage == "R" else ""
    if usage == "N":
        return ""
    value = _value_pattern(spec, allowed, sep, last)
    return value if usage == "R" else f"(?:{value})?"


def _segment_pattern(seg_id: str, specs: tuple, allowed: str, sep: str, last: str = r"\Z") -> str:
    """The whole segment: its ID, then each position; positions after the last mandatory one may be left off."""
    esc = re.escape(sep)
    parts = [_element_pattern(spec, allowed, sep, last) for spec in specs]
    last_required = max((i for i, spec in enumerate(specs) if spec[0] == "R"), default=-1)
    tail = ""
    for i in range(len(parts) - 1, last_required, -1):
        tail = f"(?:{esc}{parts[i]}{tail})?"
    head = "".join(f"{esc}{parts[i]}" for i in range(last_required + 1))
    return re.escape(seg_id) + head + tail


def _rule_holds(rule: tuple, elements: tuple[str, ...]) -> bool:
    """One syntax rule (P, R, E, C, L) as pyx12's `syntax.is_syntax_valid` judges it."""
    code, *positions = rule
    present = [p < len(elements) and elements[p] != "" for p in positions]
    if code == "P":
        return not any(present) or all(present)
    if code == "R":
        return any(present)
    if code == "E":
        return sum(present) <= 1
    if code in ("C", "L") and len(positions) >= 2:
        if not present[0]:
            return True
        return all(present[1:]) if code == "C" else any(present[1:])
    return False


def _rules_check(rules: tuple, specs: tuple) -> tuple[Callable[[tuple[str, ...]], bool], int]:
    """The syntax rules as one check, and how many elements (the ID included) a segment may have
    for them to hold without asking it: any number (`sys.maxsize`) when the pattern already makes
    them hold, none (-1) when they fail whatever the segment holds or fail without the optional
    elements."""
    optional = [p for rule in rules for p in rule[1:] if p > len(specs) or specs[p - 1][0] != "R"]
    if not optional:
        present = ("",) + ("x",) * max((p for rule in rules for p in rule[1:]), default=0)
        if all(_rule_holds(rule, present) for rule in rules):
            return (lambda elements: True), sys.maxsize
        return (lambda elements: False), -1
    first = min(optional)

    def check(elements: tuple[str, ...]) -> bool:
        if len(elements) <= first:  # none of the optional elements: as if all were absent
            return always_absent
        return all(_rule_holds(rule, elements) for rule in rules)

    always_absent = all(_rule_holds(rule, ("",) + ("x",) * (first - 1)) for rule in rules)  # the mandatory ones there
    return check, first if always_absent else -1


@lru_cache(maxsize=64)
def element_matcher(node: int, delimiters: Delimiters) -> tuple[Callable[[str], Any], Callable[[tuple[str, ...]], bool], int]:
    """(fullmatch over the segment's text, syntax check, how many elements a segment may have for the
    check to hold unasked — `_rules_check`) for map segment `node`."""
    seg_id, specs, rules = guide.ELEMENTS[node]
    return (re.compile(_node_pattern(node, delimiters), re.ASCII).fullmatch, *_rules_check(rules, specs))


def _node_pattern(node: int, delimiters: Delimiters, last: str = r"\Z", most: int = sys.maxsize) -> str:
    """The pattern of map segment `node` (`_segment_pattern`) with this set's separators; `most`: for
    segments of at most that many elements (the ID included) only."""
    seg_id, specs, _ = guide.ELEMENTS[node]
    separators = {delimiters.element, delimiters.component, delimiters.segment} | ({delimiters.repetition} - {None})
    if any(c.isalnum() or c in "-. " for c in "".join(separators)):
        return _NEVER  # a separator a number or a date may hold (the envelope rejects it): pyx12 judges every segment
    if most < 1 or any(spec[0] == "R" for spec in specs[max(most - 1, 0):]):
        return _NEVER  # a mandatory element past `most`
    allowed = "".join(c for c in _CHARSET if c not in separators)
    return _segment_pattern(seg_id, specs[: max(most - 1, 0)], allowed, delimiters.element, last)


# --------------------------------------------------------------------------- cursor
class Cursor:
    """Where the walk of one set stands: the map node and the walker's counts, by node number."""

    __slots__ = ("node", "counts", "delimiters", "matchers")

    def __init__(self, delimiters: Delimiters) -> None:
        self.node = guide.START
        counts = [0] * len(guide.NODES)
        for path in ("/ISA_LOOP", "/ISA_LOOP/ISA", "/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS"):
            counts[_NUMBER[path]] = 1  # as `edi.validate` forces pyx12's walker to the group's start
        self.counts = counts
        self.delimiters = delimiters  # a set's segments share its ISA's delimiters
        self.matchers: dict[int, tuple] = {}

    def vouch(self, seg: Segment) -> int:
        """Step over one segment where the tables can: `VOUCHED` (walked and valid, as pyx12 would
        find it), `WALKED` (walked; its elements are pyx12's to judge) or `UNKNOWN` (nothing done:
        pyx12's walker must take this step)."""
        elements = seg.elements
        seg_id = elements[0]
        qualifier = None
        key = KEYS.get(seg_id)
        if key is not None and len(elements) > key:
            qualifier = elements[key]
            if self.delimiters.component in qualifier:
                qualifier = "?"  # pyx12 reads it as a composite (`PR` with `R` the separator is `P`): its step
            elif qualifier not in QUALIFIERS[seg_id]:
                qualifier = None
        plan = guide.TRANSITIONS[self.node].get(seg_id if qualifier is None else f"{seg_id}*{qualifier}")
        if plan is None:
            return UNKNOWN
        counts = self.counts
        for node, low, high in plan[1]:
            if not low <= counts[node] <= high:
                return UNKNOWN
        for op, arg in plan[2]:
            if op == "inc":
                counts[arg] += 1
            else:
                for node in arg:
                    counts[node] = 0
        self.node = plan[0]
        return VOUCHED if self.valid(elements) else WALKED

    def valid(self, elements: tuple[str, ...]) -> bool:
        """Whether the segment, as map node `self.node`, is one pyx12's element validation accepts."""
        matches, rules, unasked = self.matcher(self.node)
        return matches(self.delimiters.element.join(elements)) is not None and (len(elements) <= unasked or rules(elements))

    def matcher(self, node: int) -> tuple[Callable[[str], Any], Callable[[tuple[str, ...]], bool], int]:
        """`element_matcher` of map segment `node` for this set's delimiters (kept per cursor)."""
        matcher = self.matchers.get(node)
        if matcher is None:
            matcher = self.matchers[node] = element_matcher(node, self.delimiters)
        return matcher

    def state(self) -> dict[str, int]:
        """The counts as pyx12's counter (`edi.validate._PathCounter`) keys them."""
        return {guide.NODES[i]: count for i, count in enumerate(self.counts) if count}

    def resume(self, node_path: str, counts: dict[str, int]) -> None:
        """Take over after pyx12's walker did one step."""
        self.node = _NUMBER[node_path]
        fresh = [0] * len(guide.NODES)
        for path, count in counts.items():
            fresh[_NUMBER[path]] = count
        self.counts = fresh


def _flat(plan: tuple) -> tuple:
    """A transition as (next node, guards, nodes whose counts go to 0, nodes whose counts go up by 1):
    the tables list a step's resets before its increments, so applying them in that order is the same walk."""
    resets: list[int] = []
    incs: list[int] = []
    for op, arg in plan[2]:
        if op == "inc":
            incs.append(arg)
        elif incs:
            raise ValueError(f"a reset after an increment in {plan!r}")
        else:
            resets += arg
    return plan[0], plan[1], tuple(resets), tuple(incs)


#: node (index) -> segment ID -> `_flat` transition, for the IDs that have no qualifier (`KEYS`): the compiled walk
#: as `edi.validate` runs it over a set body, with `Cursor.counts` and `Cursor.node` as its state
STEPS = [{sig: _flat(plan) for sig, plan in guide.TRANSITIONS.get(node, {}).items() if sig.partition("*")[0] not in guide.KEYS}
         for node in range(len(guide.NODES))]


def _known_after(guards: tuple, resets: tuple, incs: tuple) -> dict[int, tuple[float, float]]:
    """What a step that was taken tells of the counts after it: its guards held (a count is never
    below 0), then its resets and increments."""
    known: dict[int, tuple[float, float]] = {}
    for node, low, high in guards:
        was_low, was_high = known.get(node, (0, math.inf))
        known[node] = (max(low, was_low), min(high, was_high))
    for node in resets:
        known[node] = (0, 0)
    for node in incs:
        low, high = known.get(node, (0, math.inf))
        known[node] = (low + 1, high + 1)
    return known


def _walks() -> list[dict[str, tuple]]:
    """`STEPS` as a graph: node -> segment ID -> (next node, guards, resets, increments, the steps that
    may follow it), where the steps that follow keep only the guards the step before does not
    already make hold (after `ENT`, an `RMR` has none left to check)."""
    follows = {(node, sig): {} for node, steps in enumerate(STEPS) for sig in steps}
    for (node, sig), follow in follows.items():
        target, guards, resets, incs = STEPS[node][sig]
        known = _known_after(guards, resets, incs)
        for then, (after, then_guards, then_resets, then_incs) in STEPS[target].items():
            left = tuple(g for g in then_guards if not (g[0] in known and g[1] <= known[g[0]][0] and known[g[0]][1] <= g[2]))
            follow[then] = (after, left, then_resets, then_incs, follows[(target, then)])
    return [{sig: (*step, follows[(node, sig)]) for sig, step in steps.items()} for node, steps in enumerate(STEPS)]


#: node -> segment ID -> a step with every guard, and the steps that may follow it with fewer (`_walks`)
WALKS = _walks()

#: what `Cursor.vouch` could do for a segment
VOUCHED, WALKED, UNKNOWN = 0, 1, 2
#: the map file the tables were generated from
GUIDE_MAP = guide.MAP_NAME
NODES = guide.NODES
_NUMBER = {path: i for i, path in enumerate(NODES)}
KEYS = guide.KEYS
QUALIFIERS = {seg_id: frozenset(codes) for seg_id, codes in guide.QUALIFIERS.items()}
#: every segment ID of the map (another is unrecognized wherever it stands)
KNOWN = frozenset(seg_id for seg_id, _, _ in guide.ELEMENTS.values())


# ------------------------------------------------------------------ lines at once
#: the map nodes of a remittance line (ENT, its RMR, a REF after the RMR), when the map has them
_LINE_NODES = tuple(_NUMBER.get(f"/ISA_LOOP/GS_LOOP/ST_LOOP/ENT_LOOP/{seg_id}") for seg_id in ("ENT", "RMR", "REF"))
#: the segment that opens a line, and the map node it lands on
LINE_START, LINE_NODE = "ENT", _LINE_NODES[0]
#: the most lines `line_run` matches at once: what is matched and then not taken (a line further on that
#: the builder speaks of) is bounded, and a run of lines costs one line taken alone every so many
LINES_AT_ONCE = 256
#: a map's own regular expression for a value that can only match letters and digits (see `line_run`)
_PLAIN_BODY = re.compile(r"[A-Za-z0-9|()]*")


@lru_cache(maxsize=16)
def line_run(delimiters: Delimiters, joiner: str, qualifier: str | None) -> tuple[Callable[..., Any], tuple[str, ...]] | None:
    r"""(match, signatures) for lines written one after another — an RMR, a REF with this `qualifier` when
    one is given, then the ENT of the next line, each segment followed by `joiner` (the terminator and
    the line break after it) — or None when the map has no such line or its patterns cannot be joined.
    ``match(text, pos)`` matches as many whole lines from `pos` (`LINES_AT_ONCE` at most) as each segment's own pattern
    (`element_matcher`) accepts, and only segments whose syntax rules hold unasked: `\Z` in a segment's
    pattern becomes "the terminator follows" (no segment holds the terminator, so a pattern ends at
    its segment's end and nowhere else), and a value the map constrains by its own regular expression
    is looked ahead for only when that expression can match letters and digits alone."""
    if None in _LINE_NODES or not joiner.startswith(delimiters.segment):
        return None
    nodes = (_LINE_NODES[1], _LINE_NODES[0]) if qualifier is None else (_LINE_NODES[1], _LINE_NODES[2], _LINE_NODES[0])
    end, parts = re.escape(joiner), []
    for node in nodes:
        seg_id, specs, rules = guide.ELEMENTS[node]
        if any(spec[5] is not None and _PLAIN_BODY.fullmatch(spec[5]) is None for spec in specs):
            return None
        pattern = _node_pattern(node, delimiters, "(?=" + re.escape(delimiters.segment) + ")", _rules_check(rules, specs)[1])
        if pattern == _NEVER:
            return None
        if node == _LINE_NODES[2]:
            pattern = "(?=" + re.escape(delimiters.element.join((seg_id, qualifier, ""))) + ")" + pattern
        parts.append(pattern + end)
    signatures = tuple(guide.ELEMENTS[node][0] for node in nodes)
    return re.compile("(?:" + "".join(parts) + f"){{0,{LINES_AT_ONCE}}}", re.ASCII).match, signatures


def walk_repeated(node: int, counts: list[int], signatures: tuple[str, ...], times: int) -> tuple[int, list[int]]:
    """Walk `signatures` — a cycle of steps from map node `node` back to it — up to `times` times over
    `counts`: (how many times every guard held, the counts after them), as that many steps one
    after another would find.  A count is only ever reset or incremented, so from the second cycle
    on each count, and each value a guard is checked against, moves by the same amount every cycle:
    three cycles are walked step by step, the rest worked out."""
    seen: list[tuple[list[int], list[tuple]]] = []
    after = [counts]
    for _ in range(min(times, 3)):
        walked = _walk_once(node, list(after[-1]), signatures)
        if walked is None:
            return len(seen), after[-1]
        seen.append(walked[0])
        after.append(walked[1])
    if times <= 3:
        return len(seen), after[-1]
    one, two, three = after[1], after[2], after[3]
    if any(c3 - c2 != c2 - c1 for c1, c2, c3 in zip(one, two, three, strict=True)):
        return 3, three  # not moving as a cycle does: the rest step by step
    most = times
    for (_, _low, high), g1, g2 in zip(seen[1][1], seen[1][0], seen[2][0], strict=True):
        if g2 < g1:
            return 3, three
        if g2 > g1:  # cycle j (from 0) checks g1 + (g2 - g1) * (j - 1), below `high` while j <= this
            most = min(most, (high - g1) // (g2 - g1) + 2)
    most = max(most, 3)
    return most, [c1 + (c2 - c1) * (most - 1) for c1, c2 in zip(one, two, strict=True)]


def _walk_once(node: int, counts: list[int], signatures: tuple[str, ...]) -> tuple[tuple[list[int], list[tuple]], list[int]] | None:
    """One cycle of `walk_repeated` over `counts` (changed): ((the values the guards were checked
    against, the guards), the counts), or None when a step is not in the tables or a guard fails."""
    values: list[int] = []
    guards: list[tuple] = []
    at = node
    for signature in signatures:
        step = STEPS[at].get(signature)
        if step is None:
            return None
        target, checks, resets, incs = step
        for guarded, low, high in checks:
            if not low <= counts[guarded] <= high:
                return None
            values.append(counts[guarded])
            guards.append((guarded, low, high))
        for reset in resets:
            counts[reset] = 0
        for inc in incs:
            counts[inc] += 1
        at = target
    return ((values, guards), counts) if at == node else None
