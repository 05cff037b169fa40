"""Whether a document the engine wrote is valid X12 against its own maps — checked by pyx12.

The engine's answers are written by `edi.writer`, not by pyx12; this module is the other
pair of eyes: pyx12's `x12n_document` reads each outbound interchange against the maps in
`mappings/` (the 997 map, the 824 map, the control map for ISA/TA1/IEA).  pyx12 judges
only the last interchange of a file (PYX12-NOTES), so each interchange is given to it on
its own; what it cannot see across interchanges — an ISA13 used twice in one document —
and bytes outside printable ASCII are checked here.

Used by the tests (every answer to every robustness input and fuzz sample), by
`bench/fuzz.py`.  pyx12 loads its maps from XML on every call (~15 ms a document); here
they are loaded once per process (pyx12 4 keeps no per-document state in a map — its walker
counts in its own `NodeCounter` — which `edi.validate` relies on too), ~3 ms a document.
Never on the intake path.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import pyx12.map_if
import pyx12.params
import pyx12.x12n_document

from mappings import MAP_DIR

from .reader import X12Reader

__all__ = ["document_problems"]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_load_map_file = pyx12.map_if.load_map_file


@lru_cache(maxsize=16)
def _cached_map(name: str, map_path: str | None) -> Any:
    return _load_map_file(name, pyx12.params.params(), map_path)


def _load_cached(name: str, param: Any, map_path: str | None = None) -> Any:
    return _cached_map(name, map_path)


@contextlib.contextmanager
def _maps_loaded_once() -> Iterator[None]:
    pyx12.map_if.load_map_file = _load_cached
    try:
        yield
    finally:
        pyx12.map_if.load_map_file = _load_map_file


def _pyx12_problems(text: str) -> list[str]:
    handler = _Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    errors = io.StringIO()
    try:
        with _maps_loaded_once():
            ok = pyx12.x12n_document.x12n_document(
                pyx12.params.params(), io.StringIO(text), io.StringIO(), None, fd_json=errors, map_path=str(MAP_DIR)
            )
    except Exception as exc:  # pyx12 raises on what it cannot read at all
        return [f"pyx12 could not read it: {exc!r}"]
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    found = [message for message in handler.messages if not message.startswith("No current segment in error_handler")]
    try:
        found += _json_errors(json.loads(errors.getvalue() or "{}"))
    except ValueError:
        found.append("pyx12 wrote no readable error report")
    return [] if ok and not found else found or ["pyx12 says it is not valid"]


def _json_errors(node: object, where: str = "") -> list[str]:
    """Every error in pyx12's JSON report (a tree of loops, segments and elements)."""
    found: list[str] = []
    if isinstance(node, dict):
        here = str(node.get("id") or node.get("ele_ref_num") or where)
        for error in node.get("errors") or ():
            if isinstance(error, dict):
                found.append(f"{here}: {error.get('err_cde')} {error.get('err_str')}")
        for value in node.values():
            if isinstance(value, (dict, list)):
                found += _json_errors(value, here)
    elif isinstance(node, list):
        for value in node:
            found += _json_errors(value, where)
    return found


def document_problems(data: bytes) -> list[str]:
    """Every reason `data` — a 997, TA1 or 824 document, one or more interchanges — is not
    valid X12 against the engine's maps; empty when it is."""
    problems: list[str] = []
    bad_bytes = sorted({byte for byte in data if not (32 <= byte < 127 or byte == 10)})
    if bad_bytes:
        problems.append(f"bytes outside printable ASCII: {bad_bytes[:8]}")
    reader = X12Reader(io.BytesIO(data))
    interchanges: list[list[str]] = []
    numbers: list[str] = []
    for segment in reader:
        if segment.id == "ISA":
            interchanges.append([])
            numbers.append(segment.get(13))
        elif not interchanges:
            continue
        delimiters = segment.delimiters
        interchanges[-1].append(segment.text() + delimiters.segment + delimiters.suffix)
    problems += [f"reader: {problem}" for problem in reader.problems]
    if not interchanges:
        problems.append("no interchange")
    repeated = sorted({number for number in numbers if numbers.count(number) > 1})
    if repeated:
        problems.append(f"ISA13 used more than once in the document: {repeated}")
    for index, segments in enumerate(interchanges, start=1):
        problems += [f"interchange {index}: {problem}" for problem in _pyx12_problems("".join(segments))]
    return problems
