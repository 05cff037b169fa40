"""Reference data: businesses, program and security accounts, brokers, relationships, agents, rates.

Loaded with `carm reference load FILE` from the JSON format documented in
`fixtures/README.md` (sample: `fixtures/reference.json`).  Loading is an
upsert: loading the same file twice changes nothing; a changed row replaces
the old one (reference data is state, not history — history is the journal).
Every malformed record is reported as a `Problem` and skipped; the rest load.

Rules enforced here: BN9 and RM15 check digits (DOMAIN §1), 5-character
security account numbers, direct-GST and direct-security mutually exclusive
(D17-R5), relationship scope business/program with its accounts (D17-R3), one
designated agent per account (Annex B).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, select

from carm.db import insert_for
from edi.identifiers import asec_problem, bn9_problem, rm15_problem
from edi.payments import parse_amount

from .schema import (
    business,
    designated_agent,
    interest_rate,
    licensed_broker,
    program_account,
    relationship,
    relationship_account,
    security_account,
)

__all__ = ["load_reference", "LoadReport", "Problem", "CLIENT_TYPES"]

#: D17-R1: (a) importer with security, (b) without security dealing directly,
#: (c) without security through a broker, (d) licensed broker with security, (e) CADP.
CLIENT_TYPES = {"RPP", "DIR", "BRK", "BRKS", "CADP"}
SECTIONS = (
    "businesses",
    "licensed_brokers",
    "program_accounts",
    "security_accounts",
    "relationships",
    "designated_agents",
    "interest_rates",
)


@dataclass(frozen=True, slots=True)
class Problem:
    """A record that was not loaded, and why."""

    where: str
    message: str


@dataclass
class LoadReport:
    loaded: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _date(value: Any) -> date:
    return date.fromisoformat(str(value))


def _upsert(conn: Connection, table, key: list[str], row: dict) -> None:
    insert = insert_for(conn)
    stmt = insert(table).values(**row)
    updates = {k: stmt.excluded[k] for k in row if k not in key}
    conn.execute(stmt.on_conflict_do_update(index_elements=key, set_=updates) if updates else stmt.on_conflict_do_nothing())


def _business(rec: dict) -> dict:
    problem = bn9_problem(str(rec.get("bn9", "")))
    if problem:
        raise ValueError(problem)
    role = rec.get("role", "importer")
    if role not in ("importer", "broker", "consultant"):
        raise ValueError(f"role {role!r} is not importer, broker or consultant")
    language = rec.get("language", "en")
    if language not in ("en", "fr"):
        raise ValueError(f"language {language!r} is not en or fr")
    if not rec.get("name"):
        raise ValueError("a business needs a name")
    return {
        "bn9": rec["bn9"],
        "name": rec["name"],
        "role": role,
        "language": language,
        "email": rec.get("email"),
        "email_notices": bool(rec.get("email_notices", False)),
    }


def _program_account(rec: dict) -> dict:
    rm15 = str(rec.get("rm15", ""))
    problem = rm15_problem(rm15)
    if problem:
        raise ValueError(problem)
    if rec.get("client_type") not in CLIENT_TYPES:
        raise ValueError(f"client_type {rec.get('client_type')!r} is not one of {sorted(CLIENT_TYPES)} (D17-R1)")
    if rec.get("direct_gst") and rec.get("direct_security"):
        raise ValueError("direct GST and direct security options are mutually exclusive (D17-R5)")
    status = rec.get("status", "active")
    if status not in ("active", "inactive"):
        raise ValueError(f"status {status!r} is not active or inactive")
    return {
        "rm15": rm15,
        "bn9": rm15[:9],
        "status": status,
        "client_type": rec["client_type"],
        "direct_gst": bool(rec.get("direct_gst", False)),
        "direct_security": bool(rec.get("direct_security", False)),
        "calendar_month": bool(rec.get("calendar_month", False)),
        "opened_on": _date(rec.get("opened_on", "2020-01-01")),
    }


def _security_account(rec: dict) -> dict:
    problem = asec_problem(str(rec.get("asec", "")))
    if problem:
        raise ValueError(problem)
    holder = str(rec.get("holder_bn9", ""))
    if bn9_problem(holder):
        raise ValueError(bn9_problem(holder))
    kind = rec.get("holder_kind")
    if kind not in ("importer", "broker", "consultant"):
        raise ValueError(f"holder_kind {kind!r} is not importer, broker or consultant")
    cents = parse_amount(str(rec.get("security", "")))
    if cents is None or cents < 0:
        raise ValueError(f"security {rec.get('security')!r} is not an amount in dollars and cents")
    return {
        "asec": rec["asec"],
        "holder_bn9": holder,
        "holder_kind": kind,
        "security_cents": cents,
        "status": rec.get("status", "active"),
    }


def _licensed_broker(rec: dict) -> dict:
    if bn9_problem(str(rec.get("bn9", ""))):
        raise ValueError(bn9_problem(str(rec.get("bn9", ""))))
    if not rec.get("licence"):
        raise ValueError("a licensed broker needs a licence number")
    return {"bn9": rec["bn9"], "licence": rec["licence"], "active": bool(rec.get("active", True))}


def _relationship(rec: dict) -> dict:
    for side in ("client_bn9", "provider_bn9"):
        if bn9_problem(str(rec.get(side, ""))):
            raise ValueError(f"{side}: {bn9_problem(str(rec.get(side, '')))}")
    scope = rec.get("scope")
    if scope not in ("business", "program"):
        raise ValueError(f"scope {scope!r} is not business or program (D17-R3)")
    accounts = rec.get("accounts", [])
    if scope == "program" and not accounts:
        raise ValueError("a program-management relationship names its accounts (D17-R3)")
    if scope == "business" and accounts:
        raise ValueError("a business-management relationship covers all accounts; list none (D17-R3)")
    for rm15 in accounts:
        if rm15_problem(rm15) or rm15[:9] != rec["client_bn9"]:
            raise ValueError(f"account {rm15!r} is not a program account of client {rec['client_bn9']}")
    return {
        "id": rec.get("id") or f"{rec['client_bn9']}:{rec['provider_bn9']}",
        "client_bn9": rec["client_bn9"],
        "provider_bn9": rec["provider_bn9"],
        "scope": scope,
        "start_date": _date(rec.get("start_date", "2020-01-01")),
        "end_date": _date(rec["end_date"]) if rec.get("end_date") else None,
        "_accounts": list(accounts),
    }


def _designated_agent(rec: dict) -> dict:
    if rm15_problem(str(rec.get("rm15", ""))):
        raise ValueError(rm15_problem(str(rec.get("rm15", ""))))
    if bn9_problem(str(rec.get("agent_bn9", ""))):
        raise ValueError(bn9_problem(str(rec.get("agent_bn9", ""))))
    return {"rm15": rec["rm15"], "agent_bn9": rec["agent_bn9"], "effective_from": _date(rec.get("effective_from", "2020-01-01"))}


def _interest_rate(rec: dict) -> dict:
    try:
        percent = Decimal(str(rec["prescribed_rate"]))
    except (KeyError, InvalidOperation):
        raise ValueError("prescribed_rate must be a percentage such as 5.00") from None
    bp = percent * 100
    if bp != bp.to_integral_value() or bp < 0:
        raise ValueError("prescribed_rate must be a non-negative percentage with at most 2 decimals")
    return {"effective_from": _date(rec["effective_from"]), "prescribed_bp": int(bp)}


_PARSERS = {
    "businesses": (_business, business, ["bn9"]),
    "licensed_brokers": (_licensed_broker, licensed_broker, ["bn9"]),
    "program_accounts": (_program_account, program_account, ["rm15"]),
    "security_accounts": (_security_account, security_account, ["asec"]),
    "relationships": (_relationship, relationship, ["id"]),
    "designated_agents": (_designated_agent, designated_agent, ["rm15"]),
    "interest_rates": (_interest_rate, interest_rate, ["effective_from"]),
}


def load_reference(conn: Connection, data: dict | str | Path) -> LoadReport:
    """Upsert every valid record of `data` (a dict, or a JSON file path); report the others."""
    if not isinstance(data, dict):
        try:
            data = json.loads(Path(data).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            return LoadReport(problems=[Problem(str(data), f"cannot be read as JSON: {exc}")])
    report = LoadReport()
    unknown = set(data) - set(SECTIONS) - {"$comment"}
    for name in sorted(unknown):
        report.problems.append(Problem(name, "unknown section (expected one of: " + ", ".join(SECTIONS) + ")"))
    known_bn9 = set(conn.execute(select(business.c.bn9)).scalars())
    known_rm15 = set(conn.execute(select(program_account.c.rm15)).scalars())
    for section in SECTIONS:
        parse, table, key = _PARSERS[section]
        count = 0
        for index, rec in enumerate(data.get(section, []) or []):
            where = f"{section}[{index}]"
            try:
                row = parse(rec if isinstance(rec, dict) else {})
                _check_references(section, row, known_bn9, known_rm15)
            except (ValueError, KeyError) as exc:
                report.problems.append(Problem(where, str(exc)))
                continue
            accounts = row.pop("_accounts", None)
            _upsert(conn, table, key, row)
            if accounts is not None:
                conn.execute(delete(relationship_account).where(relationship_account.c.relationship_id == row["id"]))
                for rm15 in accounts:
                    conn.execute(relationship_account.insert().values(relationship_id=row["id"], rm15=rm15))
            if section == "businesses":
                known_bn9.add(row["bn9"])
            if section == "program_accounts":
                known_rm15.add(row["rm15"])
            count += 1
        report.loaded[section] = count
    return report


def _check_references(section: str, row: dict, known_bn9: set[str], known_rm15: set[str]) -> None:
    needed_bn9 = {
        "licensed_brokers": ["bn9"],
        "program_accounts": ["bn9"],
        "security_accounts": ["holder_bn9"],
        "relationships": ["client_bn9", "provider_bn9"],
        "designated_agents": ["agent_bn9"],
    }.get(section, [])
    for name in needed_bn9:
        if row[name] not in known_bn9:
            raise ValueError(f"{name} {row[name]} is not a known business")
    rm15s = list(row.get("_accounts") or []) + ([row["rm15"]] if section == "designated_agents" else [])
    for rm15 in rm15s:
        if rm15 not in known_rm15:
            raise ValueError(f"program account {rm15} is not known")
