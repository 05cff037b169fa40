"""Worlds for the statements tests: the ledger tests' world plus a second broker,
a broker's many clients, designated agents — and ways to read what was emitted."""

from __future__ import annotations

import re
import zlib
from datetime import date, datetime
from pathlib import Path

from lxml import etree
from sqlalchemy import Engine

from core.clock import EASTERN
from statements import issue_daily_notices, run_statements
from statements.xml import DN_NS, schema_for
from store.ledger import close_period, run_collections

from .ledger_helpers import AT, BROKER, CLIENT, IMPORTER, OTHER, POLICY, setup_world

BROKER2 = "600000004"  # a second licensed broker, security 60001, French
MANY = ["810000000", "820000008", "830000006", "840000004", "850000001"]  # the first broker's business-scope clients

A1, A2 = f"{IMPORTER}RM0001", f"{IMPORTER}RM0002"
C1, C2 = f"{CLIENT}RM0001", f"{CLIENT}RM0002"
O1 = f"{OTHER}RM0001"

EXTRA = {
    "businesses": [
        {"bn9": BROKER2, "name": "COURTAGE DOUANIER RIVE-SUD", "role": "broker", "language": "fr"},
        *({"bn9": bn9, "name": f"CLIENT {i} OF SWIFT", "role": "importer"} for i, bn9 in enumerate(MANY, 1)),
    ],
    "licensed_brokers": [{"bn9": BROKER2, "licence": "CB-2"}],
    "program_accounts": [{"rm15": f"{bn9}RM0001", "client_type": "BRK"} for bn9 in MANY],
    "security_accounts": [{"asec": "60001", "holder_bn9": BROKER2, "holder_kind": "broker", "security": "50000.00"}],
    "relationships": [
        {"client_bn9": CLIENT, "provider_bn9": BROKER2, "scope": "business", "start_date": "2024-01-01"},
        *({"client_bn9": bn9, "provider_bn9": BROKER, "scope": "business", "start_date": "2024-01-01"} for bn9 in MANY),
    ],
}


def setup_statements_world(engine: Engine) -> None:
    setup_world(engine, EXTRA)


def close(engine: Engine, period: str) -> None:
    with engine.begin() as conn:
        close_period(conn, period, policy=POLICY, at=AT)


def collections(engine: Engine, day: date) -> None:
    with engine.begin() as conn:
        run_collections(conn, day, policy=POLICY, at=AT)


def daily(engine: Engine, issue: date, out: Path, formats=("xml",)):
    with engine.begin() as conn:
        return issue_daily_notices(conn, issue, out, policy=POLICY, formats=formats)


def statements(engine: Engine, period: str, out: Path, formats=("xml",)):
    with engine.begin() as conn:
        return run_statements(conn, period, out, policy=POLICY, formats=formats)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=EASTERN)


# ------------------------------------------------------------------ reading what was written
def parse(path: Path) -> etree._Element:
    """The document at `path`, after checking it against its XSD again, from the bytes on disk."""
    root = etree.parse(str(path)).getroot()
    kind = "DN" if root.tag == f"{{{DN_NS}}}DailyNotice" else "SOA"
    schema = schema_for(kind)
    assert schema.validate(root), schema.error_log
    return root


def xml_docs(report) -> dict[str, etree._Element]:
    """Every XML document of a run, keyed by holder: RM15 for importers, BN9+ASEC for brokers."""
    out = {}
    for path in report.files:
        if path.suffix != ".xml":
            continue
        root = parse(path)
        holder = root.find(".//{*}Importer") if root.find(".//{*}Importer") is not None else root.find(".//{*}Broker")
        key = text(holder, "RM15") or text(holder, "BN9") + text(holder, "SecurityAccount")
        assert key not in out
        out[key] = root
    return out


def text(node, path: str) -> str | None:
    found = node.find("/".join(f"{{*}}{part}" for part in path.split("/")))
    return None if found is None else found.text


def cents(node, path: str) -> int:
    """An amount element as integer cents (no float on the way)."""
    value = text(node, path)
    sign = -1 if value.startswith("-") else 1
    whole, part = value.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(part))


def accounts(root) -> dict[str, etree._Element]:
    return {text(a, "RM15"): a for a in root.iter("{*}Account", "{*}ClientAccount")}


def lines(section) -> list[tuple[str, int]]:
    """(type, cents) of each line of a section element."""
    return [(text(l, "Type"), cents(l, "Amount")) for l in section.findall("{*}Line")]


def pdf_text(data: bytes) -> str:
    """The text drawn in a PDF: its content streams inflated, as Latin-1."""
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            chunks.append(match.group(1).decode("latin-1"))
    return re.sub(r"\\([()\\])", r"\1", "".join(chunks))  # PDF string escapes


__all__ = [
    "A1", "A2", "AT", "BROKER", "BROKER2", "C1", "C2", "CLIENT", "IMPORTER", "MANY", "O1", "OTHER", "POLICY",
    "accounts", "at", "cents", "close", "collections", "daily", "lines", "parse", "pdf_text", "setup_statements_world",
    "statements", "text", "xml_docs",
]
