"""Notices (avis): wording in the preferred language, the 10-per-page list with a date range,
e-mail to subscribers and urgent notices always, relationship changes (G-R1, decision L12)."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import update

from ledger.model import Notice
from statements import list_notices, notice_detail, record_relationship_notices, render_notice, send_day_notices, send_notices
from store.journal import record_notices
from store.ledger import load_reference
from store.schema import business

from .ledger_helpers import LineSpec as PayLine
from .ledger_helpers import PaymentSpec, declare, pay, txn
from .statements_helpers import A1, BROKER, C1, CLIENT, IMPORTER, OTHER, at, setup_statements_world


@pytest.fixture
def world(engine):
    setup_statements_world(engine)
    with engine.begin() as conn:
        conn.execute(update(business).where(business.c.bn9 == IMPORTER).values(email="ap@northern.example", email_notices=False))
        conn.execute(update(business).where(business.c.bn9 == CLIENT).values(email="compta@epicerie.example", email_notices=True))
    return engine


def test_a_payment_notice_is_worded_in_the_payers_language():
    """G-R1: subject and body in English or French, amounts formatted for the language."""
    data = {"trace": "T9", "total_cents": 123456, "applied_cents": 100000, "credit_cents": 23456, "suspense_cents": 0, "findings": []}
    subject, body = render_notice("payment_applied", data, notice_date=date(2026, 11, 5), account=CLIENT, language="fr")
    assert subject == "Votre paiement T9 a été appliqué"
    assert "1\xa0234,56\xa0$" in body and "Laissé au compte comme crédit : 234,56\xa0$" in body and "5 novembre 2026" in body
    subject, body = render_notice("payment_applied", data, notice_date=date(2026, 11, 5), account=IMPORTER, language="en")
    assert subject == "Your payment T9 was applied" and "$1,234.56" in body and "November 5, 2026" in body


def test_the_list_shows_ten_per_page_newest_first_within_a_date_range(world):
    """G-R1: date, account, type, subject; 10 per page; date-range search."""
    with world.begin() as conn:
        for n in range(23):
            record_notices(conn, [Notice(f"t:{n}", date(2026, 11, 1 + n), CLIENT, C1, "disbursement",
                          {"amount_cents": 100 * (n + 1), "period": "2026-11", "why": "above threshold"})])
        page1 = list_notices(conn, bn9=CLIENT)
        assert (page1.total, page1.pages, len(page1.entries)) == (23, 3, 10)
        assert [e.date for e in page1.entries][:2] == [date(2026, 11, 23), date(2026, 11, 22)]
        first = page1.entries[0]
        assert (first.account, first.type, first.subject) == (C1, "Décaissement", f"Décaissement de 23,00\xa0$ du compte {C1}")
        assert len(list_notices(conn, bn9=CLIENT, page=3).entries) == 3
        ranged = list_notices(conn, date_from=date(2026, 11, 5), date_to=date(2026, 11, 9))
        assert ranged.total == 5 and {e.date for e in ranged.entries} == {date(2026, 11, d) for d in range(5, 10)}
        assert notice_detail(conn, first.id).body.startswith("Un solde créditeur de 23,00\xa0$")


def test_e_mail_goes_to_subscribers_and_urgent_notices_always(world, tmp_path):
    """G-R1: IMPORTER is not subscribed: its applied payment is not e-mailed, its refused payment
    (urgent) is; CLIENT is subscribed: its notice is e-mailed in French; OTHER has no address: its
    urgent notice is a problem to look at.  A second run writes nothing new."""
    number = txn("12001", 1)
    declare(world, dict(transaction_number=number, rm15=A1, asec="12001", release_date="2026-11-04", accounting_date="2026-11-05", duty="100.00"))
    pay(world, PaymentSpec("OK1", IMPORTER, [PayLine(A1, 100_00)]), received_at=at(date(2026, 11, 5)))
    pay(world, PaymentSpec("NO1", "500000005", [PayLine(A1, 5_00)]), received_at=at(date(2026, 11, 5)), control=2)  # unknown payer
    with world.begin() as conn:
        record_notices(conn, [Notice("arrears:x", date(2026, 11, 5), IMPORTER, A1, "arrears",
                      {"due_date": "2026-10-01", "overdue_cents": 10000, "penalties_cents": 20000, "interest_cents": 55,
                       "total_cents": 30055, "as_of": "2026-11-05"})])
        record_notices(conn, [Notice("disb:c", date(2026, 11, 5), CLIENT, C1, "disbursement", {"amount_cents": 150000, "period": "2026-11", "why": "above threshold"})])
        record_notices(conn, [Notice("sec:o", date(2026, 11, 5), OTHER, None, "security_exceeded",
                      {"asec": "40001", "security_cents": 1, "utilization_cents": 2, "as_of": "2026-11-05"})])
    with world.begin() as conn:
        report = send_notices(conn, tmp_path, date_from=date(2026, 11, 5))
    sent = {p.name: message_from_bytes(p.read_bytes(), policy=default) for p in report.files}
    kinds = sorted(m["X-CARM-Notice"].split(";")[0] for m in sent.values())
    assert kinds == ["arrears", "disbursement"]  # payment_applied: not subscribed; payment_refused went to the unknown payer
    assert report.not_subscribed == 1
    assert [p.code for p in report.problems] == ["no-email", "no-email"]  # OTHER's security notice, the unknown payer's refusal
    arrears = next(m for m in sent.values() if m["X-CARM-Notice"].startswith("arrears"))
    assert arrears["To"] == "NORTHERN IMPORTS LTD <ap@northern.example>" and arrears["Subject"] == f"[URGENT] Arrears notice for account {A1}"
    assert "Total: $300.55" in arrears.get_content()
    french = next(m for m in sent.values() if m["X-CARM-Notice"].startswith("disbursement"))
    assert french["Subject"] == f"Décaissement de 1\xa0500,00\xa0$ du compte {C1}" and french["Content-Language"] == "fr-CA"
    assert all(name.split("-")[1] == "NOTICE" and "-20261105-" in name for name in sent)
    with world.begin() as conn:
        again = send_notices(conn, tmp_path, date_from=date(2026, 11, 5))
    assert (again.written, again.unchanged) == (0, 2)


def test_relationship_changes_raise_notices_to_client_and_provider_once(world, tmp_path):
    """Decision L12: a new relationship, a change of scope and an end each raise one notice to each
    side, in each side's language; the same state raises nothing."""
    with world.begin() as conn:
        first = record_relationship_notices(conn, date(2026, 11, 2))
        assert first >= 2  # the world's relationships, seen for the first time
        assert record_relationship_notices(conn, date(2026, 11, 3)) == 0
        load_reference(conn, {"relationships": [{"client_bn9": CLIENT, "provider_bn9": BROKER, "scope": "business", "start_date": "2024-01-01"}]})
        assert record_relationship_notices(conn, date(2026, 11, 4)) == 1
        load_reference(conn, {"relationships": [{"client_bn9": CLIENT, "provider_bn9": BROKER, "scope": "business", "start_date": "2024-01-01",
                                                 "end_date": "2026-11-30"}]})
    with world.begin() as conn:
        report = send_day_notices(conn, date(2026, 11, 5), tmp_path)  # records the end, then e-mails the day's notices
        page = list_notices(conn, date_from=date(2026, 11, 4), date_to=date(2026, 11, 5))
    got = sorted((e.date.day, e.bn9, e.kind) for e in page.entries)
    assert got == [(4, CLIENT, "relationship_changed"), (4, BROKER, "relationship_changed"),
                   (5, CLIENT, "relationship_ended"), (5, BROKER, "relationship_ended")]
    ended_fr = next(e for e in page.entries if e.bn9 == CLIENT and e.kind == "relationship_ended")
    assert ended_fr.subject == "Relation avec SWIFT CUSTOMS BROKERS INC terminée"
    assert "gestion d'entreprise" in ended_fr.body and "30 novembre 2026" in ended_fr.body
    assert len(report.files) == 1  # CLIENT is subscribed; the broker is not and the notice is not urgent
