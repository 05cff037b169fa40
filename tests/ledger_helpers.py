"""A small world of importers, a broker and their accounts, and ways to act on it in tests."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from sqlalchemy import Engine, select

from carm.intake import ingest
from core.clock import EASTERN
from core.identifiers import luhn_check_digit
from edi.samples import LineSpec, PaymentSpec, file_820
from ledger.declarations import COLUMNS
from ledger.model import Item
from ledger.policy import Policy
from store.journal import check_books, items_as_of
from store.ledger import load_declarations, load_reference
from store.schema import notice

POLICY = Policy()
AT = datetime(2026, 11, 21, 12, 0, tzinfo=EASTERN)

IMPORTER = "123456782"  # pays directly, own security 12001
CLIENT = "200000008"  # a broker's client, French
BROKER = "300000007"  # licensed broker, security 40001
OTHER = "400000006"  # importer with no relationship to the broker

WORLD = {
    "businesses": [
        {"bn9": IMPORTER, "name": "NORTHERN IMPORTS LTD", "role": "importer"},
        {"bn9": CLIENT, "name": "EPICERIE FINE DU QUEBEC INC", "role": "importer", "language": "fr"},
        {"bn9": BROKER, "name": "SWIFT CUSTOMS BROKERS INC", "role": "broker"},
        {"bn9": OTHER, "name": "PRAIRIE TRADING CO", "role": "importer"},
    ],
    "licensed_brokers": [{"bn9": BROKER, "licence": "CB-1"}],
    "program_accounts": [
        {"rm15": f"{IMPORTER}RM0001", "client_type": "RPP"},
        {"rm15": f"{IMPORTER}RM0002", "client_type": "RPP"},
        {"rm15": f"{CLIENT}RM0001", "client_type": "BRK"},
        {"rm15": f"{CLIENT}RM0002", "client_type": "DIR"},
        {"rm15": f"{OTHER}RM0001", "client_type": "DIR"},
        {"rm15": f"{OTHER}RM0009", "client_type": "DIR", "status": "inactive"},
    ],
    "security_accounts": [
        {"asec": "12001", "holder_bn9": IMPORTER, "holder_kind": "importer", "security": "75000.00"},
        {"asec": "40001", "holder_bn9": BROKER, "holder_kind": "broker", "security": "8000.00"},
    ],
    "relationships": [
        {"client_bn9": CLIENT, "provider_bn9": BROKER, "scope": "program", "accounts": [f"{CLIENT}RM0001"], "start_date": "2024-01-01"},
    ],
    "interest_rates": [{"effective_from": "2026-01-01", "prescribed_rate": "2.00"}],
}


def setup_world(engine: Engine, extra: dict | None = None) -> None:
    with engine.begin() as conn:
        report = load_reference(conn, WORLD)
        assert report.problems == [], report.problems
        if extra:
            report = load_reference(conn, extra)
            assert report.problems == [], report.problems


def txn(prefix: str, sequence: int) -> str:
    """A 14-digit transaction number starting with `prefix` (an ASEC) with its check digit."""
    body = f"{prefix}{sequence:0{13 - len(prefix)}d}"
    return body + str(luhn_check_digit(body))


def declare(engine: Engine, *rows: dict, policy: Policy = POLICY):
    """Load declarations/adjustments given as dicts of the CSV columns."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({"record": "declaration", **row})
    with engine.begin() as conn:
        return load_declarations(conn, out.getvalue().encode(), policy=policy, at=AT)


def pay(engine: Engine, *payments: PaymentSpec, received_at: datetime, control: int = 1, usage: str = "P", policy: Policy = POLICY):
    data = file_820(list(payments), control_number=control, group_control=control, usage=usage)
    return ingest(engine, data, f"pay{control}.x12", received_at=received_at, policy=policy)


def items(engine: Engine, rm15: str, as_of: date | None = None) -> list[Item]:
    with engine.begin() as conn:
        return items_as_of(conn, rm15, as_of)


def balances(engine: Engine, rm15: str, as_of: date | None = None) -> dict[str, int]:
    """Open item balances keyed `kind:component:transaction` (or description), for assertions."""
    out = {}
    for it in items(engine, rm15, as_of):
        key = f"{it.kind}:{it.component}:{it.transaction_number}" if it.transaction_number else f"{it.kind}:{it.description}"
        out[key] = it.balance_cents
    return out


def notices(engine: Engine, kind: str | None = None) -> list:
    with engine.begin() as conn:
        query = select(notice).order_by(notice.c.id)
        if kind:
            query = query.where(notice.c.kind == kind)
        return conn.execute(query).all()


def assert_books_sound(engine: Engine) -> None:
    """Every entry balanced and every cached balance equal to the journal (`carm ledger check`)."""
    with engine.begin() as conn:
        assert check_books(conn) == []


__all__ = [
    "AT", "BROKER", "CLIENT", "IMPORTER", "OTHER", "POLICY", "WORLD", "LineSpec", "PaymentSpec",
    "assert_books_sound", "balances", "declare", "items", "notices", "pay", "setup_world", "txn",
]
