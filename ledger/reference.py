"""Reference data: businesses, program and security accounts, brokers, relationships, agents, rates.

Loaded with `carm reference load FILE` from the JSON format documented in
`fixtures/README.md` (sample: `fixtures/reference.json`).  `parse_reference` checks every
record and returns the rows to upsert, section by section; the store upserts them
(reference data is state, not history — history is the journal: decision L12).  Every
malformed record is a `Problem` and is skipped; the rest load.

Rules enforced here: BN9 and RM15 check digits (DOMAIN §1), 5-character security account
numbers, direct-GST and direct-security mutually exclusive (D17-R5), relationship scope
business/program with its accounts (D17-R3), one designated agent per account (Annex B),
references to known businesses and accounts, a program account's province one of the 13
provinces and territories (D17-R14; none given: the policy's `default_province`, decision L16),
monitoring-report recipients with their age public keys (Annex D).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from core.identifiers import asec_problem, bn9_problem, rm15_problem
from core.money import parse_amount
from core.problems import Problem

from .policy import PROVINCES

__all__ = ["SECTIONS", "CLIENT_TYPES", "ReferenceRows", "parse_reference"]

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
    "monitoring_recipients",
)

#: An age X25519 public key: `age1` and 58 characters of bech32.
_AGE_RECIPIENT = re.compile(r"^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$")
#: A recipient's name is also its folder: the partner folders' account names.
_RECIPIENT_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

#: A record parser: the row to upsert, or why the record is refused.
Parser = Callable[[dict], "dict | str"]


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _business(rec: dict) -> dict | str:
    problem = bn9_problem(str(rec.get("bn9", "")))
    if problem:
        return problem
    role = rec.get("role", "importer")
    if role not in ("importer", "broker", "consultant"):
        return f"role {role!r} is not importer, broker or consultant"
    language = rec.get("language", "en")
    if language not in ("en", "fr"):
        return f"language {language!r} is not en or fr"
    if not rec.get("name"):
        return "a business needs a name"
    return {"bn9": rec["bn9"], "name": rec["name"], "role": role, "language": language,
            "email": rec.get("email"), "email_notices": bool(rec.get("email_notices", False))}


def _program_account(rec: dict) -> dict | str:
    rm15 = str(rec.get("rm15", ""))
    problem = rm15_problem(rm15)
    if problem:
        return problem
    if rec.get("client_type") not in CLIENT_TYPES:
        return f"client_type {rec.get('client_type')!r} is not one of {sorted(CLIENT_TYPES)} (D17-R1)"
    if rec.get("direct_gst") and rec.get("direct_security"):
        return "direct GST and direct security options are mutually exclusive (D17-R5)"
    status = rec.get("status", "active")
    if status not in ("active", "inactive"):
        return f"status {status!r} is not active or inactive"
    opened = _date(rec.get("opened_on", "2020-01-01"))
    if opened is None:
        return f"opened_on {rec.get('opened_on')!r} is not a YYYY-MM-DD date"
    province = rec.get("province")
    if province is not None and province not in PROVINCES:
        return f"province {province!r} is not one of {', '.join(PROVINCES)}"
    return {"rm15": rm15, "bn9": rm15[:9], "status": status, "client_type": rec["client_type"],
            "direct_gst": bool(rec.get("direct_gst", False)), "direct_security": bool(rec.get("direct_security", False)),
            "calendar_month": bool(rec.get("calendar_month", False)), "opened_on": opened, "province": province}


def _security_account(rec: dict) -> dict | str:
    problem = asec_problem(str(rec.get("asec", "")))
    if problem:
        return problem
    holder = str(rec.get("holder_bn9", ""))
    if bn9_problem(holder):
        return bn9_problem(holder)
    kind = rec.get("holder_kind")
    if kind not in ("importer", "broker", "consultant"):
        return f"holder_kind {kind!r} is not importer, broker or consultant"
    cents = parse_amount(str(rec.get("security", "")))
    if cents is None or cents < 0:
        return f"security {rec.get('security')!r} is not an amount in dollars and cents"
    return {"asec": rec["asec"], "holder_bn9": holder, "holder_kind": kind, "security_cents": cents,
            "status": rec.get("status", "active")}


def _licensed_broker(rec: dict) -> dict | str:
    problem = bn9_problem(str(rec.get("bn9", "")))
    if problem:
        return problem
    if not rec.get("licence"):
        return "a licensed broker needs a licence number"
    return {"bn9": rec["bn9"], "licence": rec["licence"], "active": bool(rec.get("active", True))}


def _relationship(rec: dict) -> dict | str:
    for side in ("client_bn9", "provider_bn9"):
        problem = bn9_problem(str(rec.get(side, "")))
        if problem:
            return f"{side}: {problem}"
    scope = rec.get("scope")
    if scope not in ("business", "program"):
        return f"scope {scope!r} is not business or program (D17-R3)"
    accounts = rec.get("accounts", [])
    if scope == "program" and not accounts:
        return "a program-management relationship names its accounts (D17-R3)"
    if scope == "business" and accounts:
        return "a business-management relationship covers all accounts; list none (D17-R3)"
    for rm15 in accounts:
        if rm15_problem(rm15) or rm15[:9] != rec["client_bn9"]:
            return f"account {rm15!r} is not a program account of client {rec['client_bn9']}"
    start = _date(rec.get("start_date", "2020-01-01"))
    end = _date(rec["end_date"]) if rec.get("end_date") else None
    if start is None or (rec.get("end_date") and end is None):
        return "start_date and end_date must be YYYY-MM-DD dates"
    return {"id": rec.get("id") or f"{rec['client_bn9']}:{rec['provider_bn9']}", "client_bn9": rec["client_bn9"],
            "provider_bn9": rec["provider_bn9"], "scope": scope, "start_date": start, "end_date": end,
            "accounts": list(accounts)}


def _designated_agent(rec: dict) -> dict | str:
    problem = rm15_problem(str(rec.get("rm15", ""))) or bn9_problem(str(rec.get("agent_bn9", "")))
    if problem:
        return problem
    effective = _date(rec.get("effective_from", "2020-01-01"))
    if effective is None:
        return f"effective_from {rec.get('effective_from')!r} is not a YYYY-MM-DD date"
    return {"rm15": rec["rm15"], "agent_bn9": rec["agent_bn9"], "effective_from": effective}


def _interest_rate(rec: dict) -> dict | str:
    try:
        percent = Decimal(str(rec["prescribed_rate"]))
    except (KeyError, InvalidOperation):
        return "prescribed_rate must be a percentage such as 5.00"
    bp = percent * 100
    if not bp.is_finite() or bp != bp.to_integral_value() or bp < 0:
        return "prescribed_rate must be a non-negative percentage with at most 2 decimals"
    effective = _date(rec.get("effective_from"))
    if effective is None:
        return f"effective_from {rec.get('effective_from')!r} is not a YYYY-MM-DD date"
    return {"effective_from": effective, "prescribed_bp": int(bp)}


def _monitoring_recipient(rec: dict) -> dict | str:
    """Annex D: who asked for the monitoring report of which account (« votre NE 15 »), under which age key."""
    name = str(rec.get("name", ""))
    if not _RECIPIENT_NAME.fullmatch(name):
        return f"name {name!r} is not a folder name (^[a-z][a-z0-9_-]{{0,31}}$)"
    problem = rm15_problem(str(rec.get("rm15", "")))
    if problem:
        return problem
    language = rec.get("language", "en")
    if language not in ("en", "fr"):
        return f"language {language!r} is not en or fr"
    key = rec.get("age_recipient") or None
    if key is not None and not _AGE_RECIPIENT.fullmatch(str(key)):
        return "age_recipient is not an age public key (age1…, 62 characters)"
    return {"name": name, "rm15": rec["rm15"], "language": language, "age_recipient": key}


PARSERS: dict[str, Parser] = {
    "businesses": _business,
    "licensed_brokers": _licensed_broker,
    "program_accounts": _program_account,
    "security_accounts": _security_account,
    "relationships": _relationship,
    "designated_agents": _designated_agent,
    "interest_rates": _interest_rate,
    "monitoring_recipients": _monitoring_recipient,
}

#: Which fields of a section's row name a business or a program account that must exist.
_BN9_REFERENCES = {
    "licensed_brokers": ("bn9",),
    "program_accounts": ("bn9",),
    "security_accounts": ("holder_bn9",),
    "relationships": ("client_bn9", "provider_bn9"),
    "designated_agents": ("agent_bn9",),
}


def _unknown_reference(section: str, row: dict, known_bn9: set[str], known_rm15: set[str]) -> str | None:
    for name in _BN9_REFERENCES.get(section, ()):
        if row[name] not in known_bn9:
            return f"{name} {row[name]} is not a known business"
    rm15s = list(row.get("accounts") or []) + ([row["rm15"]] if section in ("designated_agents", "monitoring_recipients") else [])
    for rm15 in rm15s:
        if rm15 not in known_rm15:
            return f"program account {rm15} is not known"
    return None


@dataclass
class ReferenceRows:
    """The rows to upsert, per section in load order, and the records refused."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def loaded(self) -> dict[str, int]:
        return {section: len(self.rows.get(section, [])) for section in SECTIONS}


def parse_reference(data: dict, known_bn9: set[str], known_rm15: set[str]) -> ReferenceRows:
    """Check every record of `data` against the rules and the businesses and accounts known
    (those already loaded, `known_*`, and those earlier in `data`)."""
    out = ReferenceRows()
    known_bn9, known_rm15 = set(known_bn9), set(known_rm15)
    for name in sorted(set(data) - set(SECTIONS) - {"$comment"}):
        out.problems.append(Problem("not-loaded", "unknown section (expected one of: " + ", ".join(SECTIONS) + ")", name))
    for section in SECTIONS:
        rows = out.rows.setdefault(section, [])
        records = data.get(section, []) or []
        if not isinstance(records, list):
            out.problems.append(Problem("not-loaded", "a section is a list of records", section))
            continue
        for index, rec in enumerate(records):
            row = PARSERS[section](rec if isinstance(rec, dict) else {})
            if isinstance(row, dict):
                row = _unknown_reference(section, row, known_bn9, known_rm15) or row
            if isinstance(row, str):
                out.problems.append(Problem("not-loaded", row, f"{section}[{index}]"))
                continue
            rows.append(row)
            if section == "businesses":
                known_bn9.add(row["bn9"])
            if section == "program_accounts":
                known_rm15.add(row["rm15"])
    return out
