"""Daily notices and statements of account, with worked examples whose totals are computed
here by hand (D17-R14…R16, R35, D17-R3, R4).

Every test runs on SQLite and on PostgreSQL (the `engine` fixture).  Dates: billing
period 2026-10 runs 09-18 → 10-17 and is due Friday 10-30; period 2026-11 runs
10-18 → 11-17, its statement is dated 11-25 and it is due Tuesday 12-01.
Wednesday 2026-11-11 (Remembrance Day) is a federal holiday.
"""

from __future__ import annotations

import hashlib
import html
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from lxml import etree
from sqlalchemy import insert, select

from ledger.model import Entry, JournalLine, NewItem, Plan
from statements import InvalidDocument, issue_daily_notices, run_statements, to_xml
from statements.model import DailyAccount, DailyNotice, Holder, Party
from statements.pdf import _cell, _fit, _Pdf, pdf_of_html
from statements.pdf import pdf_text as latin_1
from statements.render import Table, View
from store.journal import balance, write_plan
from store.ledger import load_reference
from store.schema import ar_item, designated_agent

from .ledger_helpers import AT, PaymentSpec, declare, pay, txn
from .ledger_helpers import LineSpec as PayLine
from .statements_helpers import (
    A1,
    BROKER,
    BROKER2,
    C1,
    C2,
    CLIENT,
    IMPORTER,
    MANY,
    O1,
    OTHER,
    POLICY,
    accounts,
    at,
    cents,
    close,
    collections,
    daily,
    lines,
    parse,
    pdf_text,
    setup_statements_world,
    statements,
    text,
    xml_docs,
)


@pytest.fixture
def world(engine):
    setup_statements_world(engine)
    return engine


def _compound(cents_: int, annual: str, days: int) -> int:
    factor = (Decimal(1) + Decimal(annual) / Decimal(365)) ** days - 1
    return int((Decimal(cents_) * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


# ------------------------------------------------------------------ an importer paying directly
D0, D1, D2, D3 = txn("12001", 100), txn("12001", 101), txn("12001", 102), txn("50505", 103)


def _direct_importer(engine) -> None:
    """A1 (English, own security 12001):
    * D0 100.00 accounted 10-10 (period 2026-10, due 10-30), never paid → opening balance 100.00;
    * collections on 11-04: penalty 200.00 dated 10-31, interest 10-31…11-04 on 100.00;
    * 11-05: D1 duty 1,234.56 + GST 61.73 (due 12-01), D2 200.00 under review, payment T1 500.00;
    * 11-11 (holiday): D3 50.00 with no security, due at release 11-11."""
    declare(engine, dict(transaction_number=D0, rm15=A1, asec="12001", release_date="2026-10-09", accounting_date="2026-10-10", duty="100.00"))
    collections(engine, date(2026, 11, 4))
    declare(
        engine,
        dict(transaction_number=D1, rm15=A1, asec="12001", release_date="2026-11-04", accounting_date="2026-11-05", duty="1234.56", gst="61.73"),
        dict(transaction_number=D2, rm15=A1, asec="12001", release_date="2026-11-04", accounting_date="2026-11-05", duty="200.00", under_review="true"),
    )
    pay(engine, PaymentSpec("T1", IMPORTER, [PayLine(A1, 500_00)]), received_at=at(date(2026, 11, 5)))
    declare(engine, dict(transaction_number=D3, rm15=A1, release_date="2026-11-11", accounting_date="2026-11-11", duty="50.00"))


def test_a_daily_notice_reports_the_previous_business_day_in_three_sections(world, tmp_path):
    """D17-R14: issued Friday 11-06 for Thursday 11-05.  Transactions 1,234.56 + 61.73 = 1,296.29;
    under review 200.00; other transactions the payment −500.00; net change 996.29; the balance at
    the end of the day adds the 100.00 of D0, the 200.00 penalty and the interest charged before."""
    _direct_importer(world)
    report = daily(world, date(2026, 11, 6), tmp_path)
    docs = xml_docs(report)
    assert set(docs) == {A1}  # nobody else had activity on 11-05
    dn = docs[A1]
    assert (text(dn, "IssueDate"), text(dn, "ActivityDate"), text(dn, "ActivityFrom")) == ("2026-11-06", "2026-11-05", "2026-11-05")
    assert text(dn, "Recipient/BN9") == IMPORTER and text(dn, "Recipient/Language") == "en"
    (account,) = accounts(dn).values()
    assert lines(account.find("{*}Transactions")) == [("DECLARATION", 123456), ("DECLARATION", 6173)]
    assert cents(account, "Transactions/Total") == 129629
    assert lines(account.find("{*}UnderReview")) == [("DECLARATION", 20000)]
    assert cents(account, "OtherTransactions/Total") == -50000
    assert {t for t, _ in lines(account.find("{*}OtherTransactions"))} == {"PAYMENT"}
    assert cents(account, "NetChange") == 129629 + 20000 - 50000 == 99629
    interest = _compound(10000, "0.08", 5)  # 10-31 … 11-04 on 100.00 at 2% + 6 points
    assert interest == 11
    assert cents(account, "ClosingBalance") == 10000 + 20000 + interest + 99629
    with world.begin() as conn:
        assert cents(account, "ClosingBalance") == balance(conn, A1, date(2026, 11, 5))


def test_the_daily_notice_pdf_is_on_letter_paper_and_shows_every_reference_whole(world, tmp_path):
    """Issue 10, item 15: a Canadian recipient's PDF is on Letter paper (612 × 792 pt), A4 by the
    policy's `paper`; every transaction number is drawn whole — a payment's "trace / transaction"
    reference was cut to "NBK… / 12…"."""
    _direct_importer(world)
    # a bank's trace as long as they come (17 characters), paying a declaration: "trace / transaction"
    pay(world, PaymentSpec("NBK20261105000099", IMPORTER, [PayLine(A1, 10_00)]), received_at=at(date(2026, 11, 5), 11), control=99)
    report = daily(world, date(2026, 11, 6), tmp_path / "letter", formats=("xml", "pdf"))
    (pdf,) = [p for p in report.files if p.suffix == ".pdf"]
    data = pdf.read_bytes()
    assert b"/MediaBox [0 0 612.00 792.00]" in data
    drawn = pdf_text(data)
    numbers = [n.text for n in parse(pdf.with_suffix(".xml")).iter("{*}TransactionNumber")]
    assert numbers and all(n in drawn for n in numbers), numbers
    assert "..." not in drawn
    with world.begin() as conn:
        a4 = issue_daily_notices(conn, date(2026, 11, 6), tmp_path / "a4", policy=replace(POLICY, paper="a4"), formats=("pdf",))
    assert b"/MediaBox [0 0 595.28 841.89]" in a4.files[0].read_bytes()


def test_no_daily_notice_after_a_weekend_day_or_a_holiday_and_the_next_one_catches_up(world, tmp_path):
    """D17-R14: none issued Monday (Sunday), none on 11-12 (11-11 is Remembrance Day); the notice of
    Friday 11-13 reports Thursday 11-12 and the holiday's posting (D3, 50.00).  The penalty dated
    Saturday 10-31 appears on the notice of Tuesday 11-03, which reports Monday 11-02."""
    _direct_importer(world)
    assert daily(world, date(2026, 11, 9), tmp_path).documents == 0  # Monday: Sunday is no business day
    assert daily(world, date(2026, 11, 7), tmp_path).documents == 0  # Saturday: Friday 11-06 had no activity
    assert daily(world, date(2026, 11, 12), tmp_path).documents == 0  # the day after a holiday
    assert [p.code for p in daily(world, date(2026, 11, 12), tmp_path).problems] == ["no-notice-day"]
    friday = xml_docs(daily(world, date(2026, 11, 13), tmp_path))
    assert (text(friday[A1], "ActivityFrom"), text(friday[A1], "ActivityDate")) == ("2026-11-11", "2026-11-12")
    assert lines(accounts(friday[A1])[A1].find("{*}Transactions")) == [("DECLARATION", 5000)]
    tuesday = xml_docs(daily(world, date(2026, 11, 3), tmp_path))
    assert text(tuesday[A1], "ActivityFrom") == "2026-10-31"
    assert lines(accounts(tuesday[A1])[A1].find("{*}OtherTransactions")) == [("PENALTY", 20000)]


def test_the_statement_of_an_importer_paying_directly(world, tmp_path):
    """D17-R15: opening balance (D) 100.00; daily summary 11-05: D1 1,296.29 due 12-01; other items
    D3 50.00 due 11-11; under review D2 200.00; payments −500.00; interest 0.11; penalty 200.00.
    Total payable (I) = 100.00 + 1,296.29 + 50.00 + 200.00 − 500.00 + 0.11 + 200.00 = 1,346.40,
    all the importer's own (no broker total)."""
    _direct_importer(world)
    close(world, "2026-11")
    report = statements(world, "2026-11", tmp_path)
    assert report.problems == []
    soa = xml_docs(report)[A1]
    assert (text(soa, "StatementDate"), text(soa, "BillingPeriod/Start"), text(soa, "BillingPeriod/End"), text(soa, "PaymentDueDate")) == (
        "2026-11-25", "2026-10-18", "2026-11-17", "2026-12-01")
    account = accounts(soa)[A1]
    assert cents(account, "OpeningBalance") == 10000 and account.find("{*}OpeningBalance").get("box") == "D"
    (day,) = account.findall("{*}DailySummary/{*}Day")
    assert (text(day, "Date"), text(day, "Count"), text(day, "Transaction/TransactionNumber"), cents(day, "Total")) == (
        "2026-11-05", "1", D1, 129629)
    assert [(text(l, "TransactionNumber"), text(l, "DueDate"), cents(l, "Amount")) for l in account.findall("{*}OtherItems/{*}Line")] == [
        (D3, "2026-11-11", 5000)]
    assert [(text(l, "TransactionNumber"), text(l, "DueDate")) for l in account.findall("{*}UnderReview/{*}Line")] == [(D2, "2026-12-01")]
    assert cents(account, "PaymentsCreditsOffsets/Total") == -50000
    assert cents(account, "Interest/Total") == _compound(10000, "0.08", 5) == 11
    assert cents(account, "Penalties/Total") == 20000
    assert cents(account, "Fees/Total") == 0
    expected = 10000 + 129629 + 5000 + 20000 - 50000 + 11 + 20000
    assert expected == 134640
    assert cents(account, "TotalPayable") == expected and account.find("{*}TotalPayable").get("box") == "I"
    assert cents(account, "ImporterTotal") == expected and account.findall("{*}BrokerTotal") == []
    with world.begin() as conn:
        assert expected == balance(conn, A1, date(2026, 11, 17))


# ------------------------------------------------------------------ an importer using two brokers
B1, B2, OWN = txn("40001", 201), txn("60001", 202), txn("50505", 203)


def _two_brokers(engine) -> None:
    """C1 (French) uses BROKER (40001, program scope on C1) and BROKER2 (60001, business scope):
    B1 1,000.00 + 234.56 under 40001 on 11-05, B2 2,000.00 under 60001 on 11-06, OWN 300.00 unsecured
    on 11-10; BROKER pays 1,000.00 under 40001 on 11-12; BROKER2 files a 150.00 refund on B2 on 11-13;
    the 2026-11 close offsets that credit against B2 (D17-R11: the same agent's debts first)."""
    declare(
        engine,
        dict(transaction_number=B1, rm15=C1, asec="40001", broker_bn9=BROKER, release_date="2026-11-04", accounting_date="2026-11-05", duty="1000.00", gst="234.56"),
        dict(transaction_number=B2, rm15=C1, asec="60001", broker_bn9=BROKER2, release_date="2026-11-05", accounting_date="2026-11-06", duty="2000.00"),
        dict(transaction_number=OWN, rm15=C1, release_date="2026-11-10", accounting_date="2026-11-10", duty="300.00"),
    )
    pay(engine, PaymentSpec("BK1", BROKER, [PayLine(C1, 1_000_00)], kind="ADV", payer_asec="40001"), received_at=at(date(2026, 11, 12)), control=2)
    declare(engine, dict(record="refund", transaction_number=B2, accounting_date="2026-11-13", reference="RF-B2", component="duty",
                         amount="150.00", agent_bn9=BROKER2))
    close(engine, "2026-11")


def test_the_statement_of_an_importer_using_two_brokers_splits_the_total_by_broker(world, tmp_path):
    """D17-R4, R15: daily summary 1,234.56 (11-05) + 2,000.00 (11-06) = 3,234.56; other items 300.00;
    payments, credits and offsets −1,000.00 − 150.00 + 150.00 (O) − 150.00 (O) = −1,150.00.
    Total payable 2,384.56 = broker 40001 234.56 + broker 60001 1,850.00 + importer 300.00."""
    _two_brokers(world)
    docs = xml_docs(statements(world, "2026-11", tmp_path))
    soa = docs[C1]
    assert text(soa, "Recipient/BN9") == CLIENT and text(soa, "Recipient/Language") == "fr"
    account = accounts(soa)[C1]
    assert [cents(d, "Total") for d in account.findall("{*}DailySummary/{*}Day")] == [123456, 200000]
    assert cents(account, "DailySummary/Total") == 323456
    assert cents(account, "OtherItems/Total") == 30000
    pcs = account.findall("{*}PaymentsCreditsOffsets/{*}Line")
    assert sorted((text(l, "Type"), text(l, "Status"), cents(l, "Amount")) for l in pcs) == [
        ("CREDIT", None, -15000), ("OFFSET", "O", -15000), ("OFFSET", "O", 15000), ("PAYMENT", None, -100000)]
    assert cents(account, "PaymentsCreditsOffsets/Total") == -115000
    assert cents(account, "TotalPayable") == 323456 + 30000 - 115000 == 238456
    assert [(text(b, "BN9"), text(b, "SecurityAccount"), cents(b, "Amount")) for b in account.findall("{*}BrokerTotal")] == [
        (BROKER, "40001", 123456 - 100000), (BROKER2, "60001", 200000 - 15000)]
    assert cents(account, "ImporterTotal") == 30000
    # each broker's statement: only its own items, and its grand total
    first, second = docs[BROKER + "40001"], docs[BROKER2 + "60001"]
    assert list(accounts(first)) == [C1] and list(accounts(second)) == [C1]
    assert cents(first, "BrokerStatement/GrandTotal") == 23456
    assert cents(second, "BrokerStatement/GrandTotal") == 185000
    assert cents(accounts(second)[C1], "PaymentsCreditsOffsets/Total") == -15000
    with world.begin() as conn:
        assert balance(conn, C1, date(2026, 11, 17)) == 238456


def test_english_and_french_renderings_say_the_same_in_each_language(world, tmp_path):
    """G-R1, issue §3: the French client's statement in French (`2 384,56 $`, no-break spaces), the
    English importer's in English (`$1,346.40`); credits in brackets; PDF and HTML agree."""
    _direct_importer(world)
    _two_brokers(world)
    report = statements(world, "2026-11", tmp_path, formats=("xml", "html", "pdf"))
    by_name = {p.name: p for p in report.files}
    fr_html = html.unescape(by_name[f"{CLIENT}-SOA-20261125-0001.html"].read_text(encoding="utf-8"))
    for expected in ('lang="fr"', "Relevé de compte", "Solde d'ouverture (D)", "Total à payer (I)", "Paiements, crédits et compensations",
                     "Sommaire quotidien des déclarations exigibles le 1er décembre 2026", "2\xa0384,56\xa0$", "1\xa0850,00\xa0$",
                     "(150,00\xa0$)", "Date d'échéance du paiement", "Total à payer par le courtier", "Droits de douane", "Paiement", "Compensation"):
        assert expected in fr_html, expected
    assert "Statement of account" not in fr_html
    fr_xml = by_name[f"{CLIENT}-SOA-20261125-0001.xml"].read_text(encoding="utf-8")  # its descriptions in French too
    assert "<Description>Droits de douane</Description>" in fr_xml and " on transaction " not in fr_xml
    en_html = html.unescape(by_name[f"{IMPORTER}-SOA-20261125-0001.html"].read_text(encoding="utf-8"))
    for expected in ('lang="en"', "Statement of account", "Opening balance (D)", "Total payable (I)", "$1,346.40", "($500.00)",
                     "Under review", "Payment due date", "December 1, 2026", "Late-payment penalty"):
        assert expected in en_html, expected
    fr_pdf = by_name[f"{CLIENT}-SOA-20261125-0001.pdf"].read_bytes()
    assert fr_pdf.startswith(b"%PDF-")
    drawn = pdf_text(fr_pdf)
    assert "Relev\xe9 de compte" in drawn and "2\xa0384,56\xa0$" in drawn and "Total \xe0 payer (I)" in drawn
    assert "$1,346.40" in pdf_text(by_name[f"{IMPORTER}-SOA-20261125-0001.pdf"].read_bytes())


def test_the_one_designated_agent_receives_the_importers_documents(world, tmp_path):
    """Annex B, D17-R16: OTHER designated BROKER2 for O1; its DN and SOA go to BROKER2 (file name and
    Recipient), in BROKER2's language, still keyed by O1's RM15; OTHER receives none."""
    with world.begin() as conn:
        conn.execute(insert(designated_agent).values(rm15=O1, agent_bn9=BROKER2, effective_from=date(2026, 1, 1)))
    declare(world, dict(transaction_number=txn("50505", 301), rm15=O1, release_date="2026-11-05", accounting_date="2026-11-05", duty="75.00"))
    close(world, "2026-11")
    for report in (daily(world, date(2026, 11, 6), tmp_path / "dn"), statements(world, "2026-11", tmp_path / "soa")):
        (path,) = [p for p in report.files if p.suffix == ".xml"]
        assert path.name.startswith(f"{BROKER2}-")
        root = parse(path)
        assert (text(root, "Recipient/BN9"), text(root, "Recipient/Language")) == (BROKER2, "fr")
        assert list(accounts(root)) == [O1]


# ------------------------------------------------------------------ brokers
def test_a_broker_with_many_clients_gets_one_notice_and_one_statement_with_a_grand_total(world, tmp_path):
    """D17-R15: five clients (business scope) each owe (i × 100.00) under 40001 accounted 11-05 and
    10.00 of their own; the broker's DN and SOA list the five accounts with only the 40001 items:
    100 + 200 + 300 + 400 + 500 = 1,500.00."""
    rows = []
    for i, bn9 in enumerate(MANY, 1):
        rows.append(dict(transaction_number=txn("40001", 400 + i), rm15=f"{bn9}RM0001", asec="40001", broker_bn9=BROKER,
                         release_date="2026-11-04", accounting_date="2026-11-05", duty=f"{i * 100}.00"))
        rows.append(dict(transaction_number=txn("50505", 400 + i), rm15=f"{bn9}RM0001", release_date="2026-11-05",
                         accounting_date="2026-11-05", duty="10.00"))
    declare(world, *rows)
    close(world, "2026-11")
    dn = xml_docs(daily(world, date(2026, 11, 6), tmp_path / "dn"))[BROKER + "40001"]
    assert list(accounts(dn)) == [f"{bn9}RM0001" for bn9 in MANY]
    assert [cents(a, "Transactions/Total") for a in accounts(dn).values()] == [10000, 20000, 30000, 40000, 50000]
    assert cents(dn, "NetChange") == 150000
    docs = xml_docs(statements(world, "2026-11", tmp_path / "soa"))
    soa = docs[BROKER + "40001"]
    assert [cents(a, "TotalPayable") for a in accounts(soa).values()] == [10000, 20000, 30000, 40000, 50000]
    assert cents(soa, "BrokerStatement/GrandTotal") == 150000
    # each client's own statement has both: its broker total and its own 10.00
    client = accounts(docs[f"{MANY[2]}RM0001"])[f"{MANY[2]}RM0001"]
    assert (cents(client, "TotalPayable"), cents(client, "ImporterTotal"), cents(client, "BrokerTotal/Amount")) == (31000, 1000, 30000)


def test_a_program_management_client_s_other_accounts_never_reach_the_broker(world, tmp_path):
    """D17-R3: BROKER manages only C1 (program scope).  Debts under its security 40001 on C2 and on
    A1 (no relationship) stay off its documents; the holders still see them on theirs."""
    declare(
        world,
        dict(transaction_number=txn("40001", 501), rm15=C1, asec="40001", broker_bn9=BROKER, release_date="2026-11-04", accounting_date="2026-11-05", duty="10.00"),
        dict(transaction_number=txn("40001", 502), rm15=C2, asec="40001", broker_bn9=BROKER, release_date="2026-11-04", accounting_date="2026-11-05", duty="20.00"),
        dict(transaction_number=txn("40001", 503), rm15=A1, asec="40001", broker_bn9=BROKER, release_date="2026-11-04", accounting_date="2026-11-05", duty="40.00"),
    )
    close(world, "2026-11")
    for report in (daily(world, date(2026, 11, 6), tmp_path / "dn"), statements(world, "2026-11", tmp_path / "soa")):
        docs = xml_docs(report)
        assert list(accounts(docs[BROKER + "40001"])) == [C1]
        assert {C1, C2, A1} <= set(docs)
    assert cents(accounts(xml_docs(statements(world, "2026-11", tmp_path / "soa"))[C2])[C2], "BrokerTotal/Amount") == 2000


def test_a_relationship_counts_only_between_its_start_and_end_dates(world, tmp_path):
    """D17-R3: BROKER2's relationship with CLIENT ends 11-10: the DN of 11-06 (for 11-05) shows C1,
    the 2026-11 statement (period end 11-17) no longer does."""
    declare(world, dict(transaction_number=txn("60001", 601), rm15=C1, asec="60001", broker_bn9=BROKER2, release_date="2026-11-04",
                        accounting_date="2026-11-05", duty="99.00"))
    with world.begin() as conn:
        load_reference(conn, {"relationships": [{"client_bn9": CLIENT, "provider_bn9": BROKER2, "scope": "business",
                                                 "start_date": "2024-01-01", "end_date": "2026-11-10"}]})
    close(world, "2026-11")
    assert BROKER2 + "60001" in xml_docs(daily(world, date(2026, 11, 6), tmp_path / "dn"))
    assert BROKER2 + "60001" not in xml_docs(statements(world, "2026-11", tmp_path / "soa"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_broker_ever_receives_another_brokers_items(world, tmp_path, seed):
    """Property over random worlds: three brokers, random relationships (business, program, none),
    random declarations under random brokers' securities on random accounts.  Every line on a broker's
    documents carries the broker's own ASEC and sits on an account its relationships cover; every
    covered tagged debt appears; the brokers' totals add up to the tagged balances."""
    rnd = random.Random(seed)
    brokers = {BROKER: "40001", BROKER2: "60001", "700000003": "70001"}
    clients = [CLIENT, OTHER, IMPORTER, *MANY[:3]]
    ref = {
        "businesses": [{"bn9": "700000003", "name": "THIRD BROKER", "role": "broker"}],
        "licensed_brokers": [{"bn9": "700000003", "licence": "CB-3"}],
        "security_accounts": [{"asec": "70001", "holder_bn9": "700000003", "holder_kind": "broker", "security": "1.00"}],
        "program_accounts": [{"rm15": f"{c}RM0003", "client_type": "BRK"} for c in clients],
        "relationships": [],
    }
    covered: set[tuple[str, str]] = set()
    for broker in brokers:
        for client in clients:
            scope = rnd.choice(["business", "program", None])
            rid = f"{client}:{broker}"
            if scope == "business":
                ref["relationships"].append({"id": rid, "client_bn9": client, "provider_bn9": broker, "scope": "business", "start_date": "2024-01-01"})
                covered |= {(broker, f"{client}RM0003")}
            elif scope == "program":
                ref["relationships"].append({"id": rid, "client_bn9": client, "provider_bn9": broker, "scope": "program",
                                             "accounts": [f"{client}RM0003"], "start_date": "2024-01-01"})
                covered |= {(broker, f"{client}RM0003")}
            else:  # no relationship of its own (the world's fixed ones may still exist: remove them for this client)
                ref["relationships"].append({"id": rid, "client_bn9": client, "provider_bn9": broker, "scope": "business",
                                             "start_date": "2024-01-01", "end_date": "2024-01-02"})
    with world.begin() as conn:
        assert load_reference(conn, ref).problems == []
    rows, expected = [], {}
    for n in range(25):
        broker = rnd.choice(list(brokers))
        client = rnd.choice(clients)
        amount = rnd.randint(1, 99_999)
        asec = brokers[broker]
        day = date(2026, 11, 2) + timedelta(days=rnd.randint(0, 3))
        rows.append(dict(transaction_number=txn(asec, 700 + n), rm15=f"{client}RM0003", asec=asec, broker_bn9=broker,
                         release_date=str(day), accounting_date=str(day), duty=f"{amount // 100}.{amount % 100:02d}"))
        if (broker, f"{client}RM0003") in covered:
            expected[(broker, f"{client}RM0003")] = expected.get((broker, f"{client}RM0003"), 0) + amount
    declare(world, *rows)
    close(world, "2026-11")
    seen: dict[tuple[str, str], int] = {}
    for report in (statements(world, "2026-11", tmp_path / "soa"), *(daily(world, date(2026, 11, d), tmp_path / f"dn{d}") for d in (3, 4, 5, 6))):
        for path in (p for p in report.files if p.suffix == ".xml"):
            root = parse(path)
            broker = root.find(".//{*}Broker")
            if broker is None:
                continue
            bn9, asec = text(broker, "BN9"), text(broker, "SecurityAccount")
            assert brokers[bn9] == asec and text(root, "Recipient/BN9") == bn9
            for rm15, account in accounts(root).items():
                assert (bn9, rm15) in covered, (bn9, rm15)
                assert {text(l, "SecurityAccount") for l in account.iter("{*}Line")} <= {asec}
                assert {text(t, "SecurityAccount") for t in account.iter("{*}Transaction")} <= {asec}
                if root.tag.endswith("StatementOfAccount"):
                    seen[(bn9, rm15)] = cents(account, "TotalPayable")
    assert seen == {k: v for k, v in expected.items() if k[1].endswith("RM0003")}


# ------------------------------------------------------------------ XSD, determinism
def test_every_emitted_document_passes_its_xsd_and_an_invalid_one_is_never_written(world, tmp_path):
    """Issue §1: all DN and SOA files of a busy month validate; a document the XSD refuses raises."""
    _direct_importer(world)
    _two_brokers(world)
    reports = [daily(world, date(2026, 11, d), tmp_path) for d in range(2, 19)] + [statements(world, "2026-11", tmp_path)]
    files = [p for r in reports for p in r.files if p.suffix == ".xml"]
    assert len(files) >= 10
    for path in files:
        parse(path)
    broken = DailyNotice(date(2026, 11, 6), date(2026, 11, 5), date(2026, 11, 5), Party(IMPORTER, "X", "de"),
                         Holder("importer", IMPORTER, "X", rm15=A1), (DailyAccount(A1, "X", (), (), (), 0),), 1)
    with pytest.raises(InvalidDocument, match="Language"):
        to_xml(broken)


def test_the_same_ledger_state_gives_byte_identical_files(world, tmp_path):
    """Issue §5: a second run rewrites nothing; a run into another folder gives the same bytes."""
    _direct_importer(world)
    _two_brokers(world)
    formats = ("xml", "html", "pdf")
    first = statements(world, "2026-11", tmp_path / "a", formats)
    again = statements(world, "2026-11", tmp_path / "a", formats)
    other = statements(world, "2026-11", tmp_path / "b", formats)
    assert first.written == len(first.files) and again.written == 0 and again.unchanged == len(first.files)
    digest = lambda paths: {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    assert digest(first.files) == digest(other.files)
    names = sorted(p.name for p in first.files if p.suffix == ".xml")
    assert names == sorted([f"{IMPORTER}-SOA-20261125-0001.xml", f"{CLIENT}-SOA-20261125-0001.xml",
                            f"{BROKER}-SOA-20261125-0001.xml", f"{BROKER2}-SOA-20261125-0001.xml"])
    dn1 = daily(world, date(2026, 11, 6), tmp_path / "dn", formats)
    dn2 = daily(world, date(2026, 11, 6), tmp_path / "dn", formats)
    assert dn2.written == 0 and dn2.unchanged == len(dn1.files)


def test_a_statement_before_the_close_is_flagged(world, tmp_path):
    """D17-R10: offsetting happens at the close, before statements: running them first is reported."""
    _two_brokers(world)
    assert [p.code for p in statements(world, "2026-12", tmp_path).problems] == ["period-not-closed"]
    assert statements(world, "2026-11", tmp_path).problems == []


def test_an_administrative_fee_posted_with_a_payment_is_shown_as_a_fee(world, tmp_path):
    """D17-R34, R35: the ledger posts the fee of a partial non-electronic payment inside the payment's
    entry; the statement still shows it under fees: 1,000.00 − 400.00 paid + 25.00 fee = 625.00."""
    number = txn("12001", 901)
    declare(world, dict(transaction_number=number, rm15=A1, asec="12001", release_date="2026-11-04", accounting_date="2026-11-05", duty="1000.00"))
    with world.begin() as conn:
        debt = conn.execute(select(ar_item.c.key).where(ar_item.c.transaction_number == number)).scalar_one()
        fee = NewItem(key="fee:CHQ:F1", rm15=A1, kind="fee", posted_on=date(2026, 11, 9), due_date=date(2026, 11, 9),
                      description="administrative fee: partial non-electronic payment F1")
        write_plan(conn, Plan(items=[fee], entries=[Entry("pay:CHQ:F1", date(2026, 11, 9), "PAYMENT", "SOA payment F1 by cheque", (
            JournalLine("BANK", debit_cents=400_00, party="CHQ", trace="F1"), JournalLine("AR", credit_cents=400_00, rm15=A1, item_key=debt),
            JournalLine("AR", debit_cents=25_00, rm15=A1, item_key=fee.key), JournalLine("FEE", credit_cents=25_00, rm15=A1)))]), AT)
    close(world, "2026-11")
    account = accounts(xml_docs(statements(world, "2026-11", tmp_path))[A1])[A1]
    assert lines(account.find("{*}PaymentsCreditsOffsets")) == [("PAYMENT", -40000)]
    assert lines(account.find("{*}Fees")) == [("FEE", 2500)]
    assert cents(account, "TotalPayable") == 100000 - 40000 + 2500 == 62500
    dn = xml_docs(daily(world, date(2026, 11, 10), tmp_path))[A1]
    assert lines(accounts(dn)[A1].find("{*}OtherTransactions")) == [("PAYMENT", -40000), ("FEE", 2500)]


def test_cadp_accounts_get_no_statement_and_quiet_accounts_none_at_all(world, tmp_path):
    """D17-R15: statements for importers other than CADP, and brokers; an account with no balance and
    no posting in the period gets nothing."""
    with world.begin() as conn:
        load_reference(conn, {"program_accounts": [{"rm15": f"{OTHER}RM0005", "client_type": "CADP"}]})
    declare(world, dict(transaction_number=txn("50505", 801), rm15=f"{OTHER}RM0005", release_date="2026-11-05", accounting_date="2026-11-05", duty="5.00"))
    close(world, "2026-11")
    assert set(xml_docs(statements(world, "2026-11", tmp_path))) == set()
    assert set(xml_docs(daily(world, date(2026, 11, 6), tmp_path))) == {f"{OTHER}RM0005"}  # a DN still reports it


# ------------------------------------------------------------------ the run split across processes
def test_a_run_split_across_worker_processes_writes_the_one_process_run_byte_for_byte(world, tmp_path):
    """Decision S11: three workers over ranges of accounts write the same files, bytes and names, and
    the same report, output for output, as one process. BROKER is the designated agent of the first
    and last of its five clients (ranges apart) and holds a broker statement of its own: its documents
    are numbered 0001, 0002 (the agent's) then 0003 (its broker statement) across the ranges."""
    _direct_importer(world)
    _two_brokers(world)
    with world.begin() as conn:
        for bn9 in (MANY[0], MANY[-1]):
            conn.execute(insert(designated_agent).values(rm15=f"{bn9}RM0001", agent_bn9=BROKER, effective_from=date(2026, 1, 1)))
    declare(world, *(dict(transaction_number=txn("40001", 500 + i), rm15=f"{bn9}RM0001", asec="40001", broker_bn9=BROKER,
                          release_date="2026-11-04", accounting_date="2026-11-05", duty=f"{i * 10}.00") for i, bn9 in enumerate(MANY, 1)))
    formats = ("xml", "html", "pdf")
    with world.begin() as conn:
        one = run_statements(conn, "2026-11", tmp_path / "one", policy=POLICY, formats=formats)
    with world.begin() as conn:
        split = run_statements(conn, "2026-11", tmp_path / "split", policy=POLICY, formats=formats, workers=3)
    names = [p.name for p in one.files]
    assert [p.name for p in split.files] == names
    assert {p.name: p.read_bytes() for p in split.files} == {p.name: p.read_bytes() for p in one.files}
    assert [(o.recipient_bn9, o.format, o.written) for o in split.outputs] == [(o.recipient_bn9, o.format, o.written) for o in one.outputs]
    assert split.summary_line() == one.summary_line() == "SOA 2026-11: 9 documents (7 importer, 2 broker), 27 files written, 0 unchanged"
    assert [n for n in names if n.startswith(BROKER) and n.endswith(".xml")] == [
        f"{BROKER}-SOA-20261125-0001.xml", f"{BROKER}-SOA-20261125-0002.xml", f"{BROKER}-SOA-20261125-0003.xml"]
    with world.begin() as conn:  # idempotent: a second split run rewrites nothing
        again = run_statements(conn, "2026-11", tmp_path / "split", policy=POLICY, formats=formats, workers=3)
    assert (again.written, again.unchanged) == (0, 27)


def test_the_xml_written_is_what_lxml_would_write_with_names_escaped():
    """S6: the XML is written as text (faster than an lxml tree); it is byte for byte lxml's own
    pretty-printed form — parsing it and printing it again gives the same bytes — and a name with
    `&`, `<`, `>`, quotes or a carriage return reads back exactly."""
    name = 'SMITH & <SONS> "LTD" l\'an\r2'
    doc = DailyNotice(date(2026, 11, 6), date(2026, 11, 5), date(2026, 11, 5), Party(IMPORTER, name, "en"),
                      Holder("importer", IMPORTER, name, rm15=A1), (DailyAccount(A1, name, (), (), (), 0),), 1)
    data = to_xml(doc)
    assert b"<Name>SMITH &amp; &lt;SONS&gt; \"LTD\" l'an&#13;2</Name>" in data
    root = etree.fromstring(data)
    assert etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True) == data
    assert root.findtext("{*}Recipient/{*}Name") == name
    with pytest.raises(InvalidDocument, match="not well-formed"):
        to_xml(doc._replace(recipient=Party(IMPORTER, "BELL\x07", "en")))


# ------------------------------------------------------------------ PDF on demand
def test_a_pdf_drawn_on_demand_from_the_html_is_the_pdf_the_run_would_have_written(world, tmp_path):
    """Decision S12: every statement and daily notice of a busy month — English and French, importers'
    and brokers', empty sections, a daily summary, agents — drawn from its stored HTML gives, byte for
    byte, the PDF drawn from the document itself in the run."""
    _direct_importer(world)
    _two_brokers(world)
    formats = ("xml", "html", "pdf")
    reports = [daily(world, date(2026, 11, d), tmp_path, formats) for d in (6, 7, 10, 13, 14)]
    reports.append(statements(world, "2026-11", tmp_path, formats))
    pages = [p for r in reports for p in r.files if p.suffix == ".html"]
    assert len(pages) >= 8 and {parse(p.with_suffix(".xml")).findtext("{*}Recipient/{*}Language") for p in pages} == {"en", "fr"}
    for page in pages:
        assert pdf_of_html(page.read_bytes(), paper=POLICY.paper) == page.with_suffix(".pdf").read_bytes(), page.name


def test_pdf_cells_are_drawn_as_fpdf2_draws_them_byte_for_byte():
    """Decision S12: the PDF's cells skip fpdf2's `cell` machinery but must draw what it draws — a
    filled header, rows over a page break, parentheses and backslashes to escape, amounts on the
    right, a description cut to its column, empty values, ruled totals and headings, full-width
    lines — so the PDF is byte for byte the one before."""
    widths = Table.widths
    rows = [[f"2026-11-{n % 28 + 1:02d}", "Paiement (intérim)", "TRACE\\0001 / 12001000000010", "x" * (n % 60),
             "" if n % 3 else "2026-12-01", "O" if n % 5 == 0 else "", f"({n},00\xa0$)"] for n in range(90)]
    last = len(widths) - 1

    def drawn(cell) -> bytes:
        pdf = _Pdf(View("fr", "Relevé de compte", [("Document", f"{IMPORTER}-SOA-20261125-0001")]))
        pdf.set_creation_date(datetime(2026, 11, 25, tzinfo=UTC))
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 11)
        cell(pdf, 0, 7, "Compte 123456782RM0001 - ÉTÉ", border="B", next_line=True)
        pdf.set_font("Helvetica", "B", 7)
        pdf.set_fill_color(230, 230, 230)
        for i, w in enumerate(widths):
            cell(pdf, w, 5, "Montant" if i == last else "", fill=True, align="R" if i == last else "L")
        pdf.ln()
        pdf.set_font("Helvetica", size=7)
        for row in rows:
            for i, (value, w) in enumerate(zip(row, widths, strict=True)):
                cell(pdf, w, 4.5, _fit(pdf, latin_1(value), w), align="R" if i == last else "L")
            pdf.ln()
        cell(pdf, 160, 5, "Total", border="T", align="R")
        cell(pdf, 30, 5, "(1 234,56\xa0$)", border="T", align="R", next_line=True)
        cell(pdf, 0, 4, "Rien à signaler.", next_line=True)
        return bytes(pdf.output())

    def fpdf2(pdf, w, h, text, *, align="L", fill=False, border="", next_line=False) -> None:
        pdf.cell(w, h, text, border=border or 0, align=align, fill=fill, **({"new_x": "LMARGIN", "new_y": "NEXT"} if next_line else {}))

    expected = drawn(fpdf2)
    assert expected.count(b"/Type /Page\n") == 2
    assert drawn(_cell) == expected
