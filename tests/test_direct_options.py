"""The direct-GST and direct-security options (D17-R5, decision L22): who owes a broker-accounted
declaration's GST, or all of it, and on whose statement and total it counts — worked by hand.

Every test runs on SQLite and on PostgreSQL (the `engine` fixture).  Billing period 2026-11 runs
10-18 → 11-17, its statement is dated 11-25 and it is due Tuesday 12-01.  The broker (SWIFT,
security 40001) accounts two declarations of its client EPICERIE (account C1):

    T1 on 11-05: duty 5,000.00 + GST 2,500.00            = 7,500.00
    T2 on 11-12: duty 1,500.00 + SIMA 300.00 + GST 200.00 = 2,000.00
                                                   total   9,500.00 (of which GST 2,700.00)
"""

from __future__ import annotations

from datetime import date

import pytest

from store.journal import balance
from store.ledger import load_reference

from .ledger_helpers import LineSpec as PayLine
from .ledger_helpers import PaymentSpec, declare, items, pay, txn
from .statements_helpers import BROKER, C1, CLIENT, accounts, at, cents, close, setup_statements_world, statements, text, xml_docs

T1, T2 = txn("40001", 501), txn("40001", 502)
OWN_ASEC = "20001"  # the client's own security account, for the direct-security option


def _declarations(engine) -> None:
    report = declare(
        engine,
        {"transaction_number": T1, "rm15": C1, "asec": "40001", "broker_bn9": BROKER, "release_date": "2026-11-04",
         "accounting_date": "2026-11-05", "duty": "5000.00", "gst": "2500.00"},
        {"transaction_number": T2, "rm15": C1, "asec": "40001", "broker_bn9": BROKER, "release_date": "2026-11-11",
         "accounting_date": "2026-11-12", "duty": "1500.00", "sima": "300.00", "gst": "200.00"},
    )
    assert (report.posted, report.problems) == (2, [])


def _world(engine, option: str | None) -> None:
    setup_statements_world(engine)
    extra: dict = {"program_accounts": [{"rm15": C1, "client_type": "BRK", "opened_on": "2024-01-01",
                                         **({f"direct_{option}": True} if option else {})}]}
    if option == "security":  # « l'importateur est tenu de déposer une garantie auprès de l'ASFC »
        extra["security_accounts"] = [{"asec": OWN_ASEC, "holder_bn9": CLIENT, "holder_kind": "importer", "security": "20000.00"}]
    with engine.begin() as conn:
        assert load_reference(conn, extra).problems == []
    _declarations(engine)


def _tags(engine) -> list[tuple[str, str, str | None, int]]:
    return sorted((it.transaction_number, it.component, it.asec, it.balance_cents) for it in items(engine, C1))


@pytest.mark.parametrize(
    ("option", "tags", "broker_total", "importer_total"),
    [
        # no option: the broker's security answers for every component (D17-R4)
        (None, [(T1, "duty", "40001", 500000), (T1, "gst", "40001", 250000),
                (T2, "duty", "40001", 150000), (T2, "gst", "40001", 20000), (T2, "sima", "40001", 30000)], 950000, 0),
        # direct GST: the GST (2,500.00 + 200.00) is the importer's own debt, the rest stays the broker's
        ("gst", [(T1, "duty", "40001", 500000), (T1, "gst", None, 250000),
                 (T2, "duty", "40001", 150000), (T2, "gst", None, 20000), (T2, "sima", "40001", 30000)],
         500000 + 150000 + 30000, 250000 + 20000),
        # direct security: every component under the importer's own security, none the broker's
        ("security", [(T1, "duty", OWN_ASEC, 500000), (T1, "gst", OWN_ASEC, 250000),
                      (T2, "duty", OWN_ASEC, 150000), (T2, "gst", OWN_ASEC, 20000), (T2, "sima", OWN_ASEC, 30000)], None, 950000),
    ],
    ids=["no-option", "direct-gst", "direct-security"],
)
def test_the_option_decides_whose_security_and_whose_total_a_broker_accounted_debt_is(engine, tmp_path, option, tags, broker_total,
                                                                                      importer_total):
    """D17-R5: the same two declarations, accounted by the broker under its security 40001, land on the
    client's account (9,500.00 either way); the option moves the GST (direct GST) or everything (direct
    security) off the broker's security: out of the broker total and the broker's statement, into the
    importer total of the client's statement."""
    _world(engine, option)
    assert _tags(engine) == tags
    close(engine, "2026-11")
    docs = xml_docs(statements(engine, "2026-11", tmp_path))
    account = accounts(docs[C1])[C1]
    assert cents(account, "TotalPayable") == 750000 + 200000 == 950000
    assert [cents(d, "Total") for d in account.findall("{*}DailySummary/{*}Day")] == [750000, 200000]
    assert [text(d, "Count") for d in account.findall("{*}DailySummary/{*}Day")] == ["1", "1"]
    brokers = [(text(b, "SecurityAccount"), cents(b, "Amount")) for b in account.findall("{*}BrokerTotal")]
    assert brokers == ([("40001", broker_total)] if broker_total is not None else [])
    assert cents(account, "ImporterTotal") == importer_total
    if broker_total is None:
        assert BROKER + "40001" not in docs  # nothing of the client's is the broker's any more
    else:
        broker_doc = docs[BROKER + "40001"]
        assert list(accounts(broker_doc)) == [C1]
        assert cents(broker_doc, "BrokerStatement/GrandTotal") == broker_total
    with engine.begin() as conn:
        assert balance(conn, C1, date(2026, 11, 17)) == 950000


def test_with_direct_gst_the_daily_summary_shows_each_declaration_in_its_two_parts(engine, tmp_path):
    """D17-R5, R15: on the client's statement T1's day reads 5,000.00 under 40001 and 2,500.00 owed
    directly (no security account); the broker's statement shows only the 5,000.00."""
    _world(engine, "gst")
    close(engine, "2026-11")
    docs = xml_docs(statements(engine, "2026-11", tmp_path))
    first_day = accounts(docs[C1])[C1].find("{*}DailySummary/{*}Day")
    assert [(text(t, "TransactionNumber"), text(t, "SecurityAccount"), cents(t, "Amount")) for t in first_day.findall("{*}Transaction")] == [
        (T1, None, 250000), (T1, "40001", 500000)]
    broker_day = accounts(docs[BROKER + "40001"])[C1].find("{*}DailySummary/{*}Day")
    assert [(text(t, "TransactionNumber"), cents(t, "Amount")) for t in broker_day.findall("{*}Transaction")] == [(T1, 500000)]


def test_with_direct_gst_the_broker_pays_its_total_and_the_importer_still_owes_the_gst(engine):
    """D17-R5, Annex H: the broker pays its grand total, 6,800.00, under its security; the broker's part
    is settled and the client's account still owes exactly the GST it pays directly,
    9,500.00 − 6,800.00 = 2,700.00 = 2,500.00 + 200.00.  A B2 reassessment of T1's GST (+100.00) is the
    client's too."""
    _world(engine, "gst")
    pay(engine, PaymentSpec("SWIFT-ADV-1", BROKER, [PayLine(C1, 680000)], kind="ADV", payer_asec="40001"),
        received_at=at(date(2026, 11, 20)))
    report = declare(engine, {"record": "reassessment", "transaction_number": T1, "reference": "B2-0001", "component": "gst",
                              "amount": "100.00", "accounting_date": "2026-11-23"})
    assert (report.adjustments, report.problems) == (1, [])
    # the open items are the GST alone, none under the broker's security (settled items are not listed)
    assert _tags(engine) == [(T1, "gst", None, 10000), (T1, "gst", None, 250000), (T2, "gst", None, 20000)]
    with engine.begin() as conn:
        assert balance(conn, C1, date(2026, 11, 23)) == 950000 - 680000 + 10000 == 280000


def test_a_broker_advance_aimed_at_a_direct_gst_declaration_pays_only_the_brokers_part_of_it(engine):
    """D17-R5 with D17-R22 (decision L23): the broker sends 6,000.00 in advance naming T2.  Its payment
    reaches only what its security answers for: T2's duty 1,500.00 and SIMA 300.00 first (T2's GST,
    200.00, is the client's own), then by the usual order T1's duty, 6,000.00 − 1,800.00 = 4,200.00 of
    5,000.00, leaving 800.00.  The client's GST, 2,500.00 + 200.00, is untouched."""
    _world(engine, "gst")
    pay(engine, PaymentSpec("SWIFT-ADV-2", BROKER, [PayLine(C1, 600000, transaction_number=T2)], kind="ADV", payer_asec="40001"),
        received_at=at(date(2026, 11, 20)))
    assert _tags(engine) == [(T1, "duty", "40001", 500000 - (600000 - 150000 - 30000)), (T1, "gst", None, 250000), (T2, "gst", None, 20000)]
