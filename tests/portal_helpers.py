"""A world for the client portal's tests, and a browser-less client that fills its forms.

NORTHERN IMPORTS (A, 123456782, tests/ledger_helpers.py) declared on A1 transaction 1 (duty
600.00, accounted 2026-11-02) and transaction 2 (duty 100.00 + GST 5.00, accounted 2026-11-03),
then paid 400.00 on A1 on 2026-11-20 (trace E1). PRAIRIE TRADING (B, 400000006) declared 9,000.00
on P1 on 2026-11-03 and never paid. Billing period 2026-11 (10-18 → 11-17) is closed on
2026-11-21: A's accounts end it at 600.00 + 105.00 = 705.00 (the payment came after the 17th),
B's at 9,000.00; everything falls due on 2026-12-01. With a documents folder, A's Daily Notice
issued 2026-11-21 (Friday's payment) and both Statements of Account are written into it.

The proof answers (G-R2) of A are therefore: transaction 1 → 600.00, transaction 2 → 105.00,
last payment 400.00, last statement 705.00.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from carm.documents import KEPT_FORMATS
from carm.portal import PortalConfig, create_app
from carm.portal.security import Passwords
from core.clock import EASTERN
from statements import issue_daily_notices, run_statements
from store.ledger import close_period

from .ledger_helpers import AT, IMPORTER, OTHER, POLICY, LineSpec, PaymentSpec, declare, pay, setup_world, txn

A1, A2, P1 = f"{IMPORTER}RM0001", f"{IMPORTER}RM0002", f"{OTHER}RM0001"
TXN1, TXN2, TXN_B = txn("12001", 1), txn("12001", 2), txn("00000", 2)
TOTALS = {TXN1: "600.00", TXN2: "105.00"}
A_ANSWERS = {"payment": "400.00", "statement": "705.00"}
B_ANSWERS = {TXN_B: "9000.00", "statement": "9000.00"}
PASSWORD = "Maple2026Leaf"

#: A cheap argon2id for tests (the same algorithm; the production parameters are the library's defaults).
FAST = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


class Clock:
    """The portal's clock, moved by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def build_world(engine: Engine, documents: Path | None = None) -> None:
    setup_world(engine)
    declare(engine,
            dict(transaction_number=TXN1, rm15=A1, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02", duty="600.00"),
            dict(transaction_number=TXN2, rm15=A1, asec="12001", release_date="2026-11-02", accounting_date="2026-11-03",
                 duty="100.00", gst="5.00"),
            dict(transaction_number=TXN_B, rm15=P1, release_date="2026-11-03", accounting_date="2026-11-03", duty="9000.00"))
    pay(engine, PaymentSpec("E1", IMPORTER, [LineSpec(A1, 400_00)]), received_at=datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN))
    with engine.begin() as conn:
        close_period(conn, "2026-11", policy=POLICY, at=AT)
        if documents is not None:  # as the jobs keep them for the portal: XML and HTML, the PDF drawn when asked for (S12)
            issue_daily_notices(conn, date(2026, 11, 21), documents / "DN" / "2026-11-21", policy=POLICY, formats=KEPT_FORMATS)
            run_statements(conn, "2026-11", documents / "SOA" / "2026-11", policy=POLICY, formats=KEPT_FORMATS)


def portal(engine: Engine, tmp_path: Path, now: datetime | Clock = datetime(2026, 12, 10, 12, 0, tzinfo=EASTERN)) -> TestClient:
    clock = now if isinstance(now, Clock) else Clock(now)
    config = PortalConfig(documents_dir=tmp_path / "documents", uploads_dir=tmp_path / "uploads", policy=POLICY, now=clock,
                          passwords=FAST)
    return TestClient(create_app(engine, config), base_url="https://testserver", follow_redirects=False)


def csrf_of(client: TestClient, path: str) -> str:
    page = client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, f"no CSRF token on {path}: {page.status_code} {page.text[:300]}"
    return found.group(1)


def post(client: TestClient, path: str, data: dict, form_page: str | None = None, **kwargs):
    return client.post(path, data={"csrf": csrf_of(client, form_page or path), **data}, **kwargs)


def register(client: TestClient, username: str, password: str = PASSWORD):
    return post(client, "/signup", {"username": username, "password": password, "confirm": password})


def sign_in(client: TestClient, username: str, password: str = PASSWORD):
    return post(client, "/signin", {"username": username, "password": password})


def asked(page_text: str) -> dict[str, str | None]:
    """The questions on an enrolment page: field → the transaction number it asks about (or None)."""
    out: dict[str, str | None] = {}
    for name in re.findall(r'name="answer_(\w+)"', page_text):
        number = re.search(r"transaction (\d{14})", page_text) if name == "transaction" else None
        out[name] = number.group(1) if number else None
    return out


def right_answers(client: TestClient, bn9: str) -> dict[str, str]:
    """Step 1 of the enrolment (the business number), and the right answers to what it asks."""
    questions = asked(post(client, "/enrol", {"bn9": bn9}).text)
    book = {**TOTALS, **A_ANSWERS} if bn9 == IMPORTER else B_ANSWERS
    return {f"answer_{name}": book[number] if number else book[name] for name, number in questions.items()}


def enrol(client: TestClient, bn9: str, answers: dict[str, str] | None = None):
    answers = answers or right_answers(client, bn9)
    return post(client, "/enrol", {"bn9": bn9, **answers})


def user_of(engine: Engine, client: TestClient, username: str, bn9: str) -> TestClient:
    register(client, username)
    sign_in(client, username)
    done = enrol(client, bn9)
    assert done.status_code == 200, done.text
    return client
