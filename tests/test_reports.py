"""Reports an account holder asks for (D17-R17): the importer account balance overview and the
monitoring report of Annex D, with figures worked out here by hand.

Every test runs on SQLite and on PostgreSQL (the `engine` fixture).  Dates: billing period
2026-10 runs 09-18 → 10-17 and is due Friday 10-30; 2026-11 runs 10-18 → 11-17, due Tuesday
12-01; 2026-12 runs 11-18 → 12-17, due Thursday 12-31 (the 10th weekday after 12-17:
18, 21, 22, 23, 24, 25, 28, 29, 30, 31 — D17-R31).
"""

from __future__ import annotations

from datetime import date

import pytest
from lxml import etree

from statements.overview import DeclarationStatus, balance_overview
from statements.overview_render import overview_xml
from store.journal import balance
from store.ledger import account_view

from .ledger_helpers import IMPORTER, PaymentSpec, declare, pay, setup_world, txn
from .ledger_helpers import LineSpec as PayLine
from .statements_helpers import A1, at, cents, pdf_text, text
from .test_cli import carm

# ------------------------------------------------------------------ the balance overview (D17-R17)
P, Q, R = txn("12001", 301), txn("12001", 302), txn("12001", 303)


def _three_declarations(engine) -> None:
    """A1 (NORTHERN IMPORTS LTD, English, own security 12001):
    * P accounted 10-10: duty 300.00 + GST 15.00 = 315.00, due 10-30; paid 315.00 on 10-20 → paid in full;
    * Q accounted 11-05: duty 1,000.00 + GST 50.00 = 1,050.00, due 12-01; 400.00 paid on 11-10, which
      settles duty first (decision L3) → duty 600.00 and GST 50.00 left, 650.00 open;
    * R accounted 11-19: duty 200.00, due 12-31 → not yet due."""
    setup_world(engine)
    declare(engine, dict(transaction_number=P, rm15=A1, asec="12001", release_date="2026-10-09", accounting_date="2026-10-10",
                         duty="300.00", gst="15.00"))
    pay(engine, PaymentSpec("TP", IMPORTER, [PayLine(A1, 315_00)]), received_at=at(date(2026, 10, 20)), control=1)
    declare(engine, dict(transaction_number=Q, rm15=A1, asec="12001", release_date="2026-11-04", accounting_date="2026-11-05",
                         duty="1000.00", gst="50.00"))
    pay(engine, PaymentSpec("TQ", IMPORTER, [PayLine(A1, 400_00)]), received_at=at(date(2026, 11, 10)), control=2)
    declare(engine, dict(transaction_number=R, rm15=A1, asec="12001", release_date="2026-11-18", accounting_date="2026-11-19",
                         duty="200.00"))


def _declarations(root) -> dict[str, tuple]:
    """(status, due date, charged, paid, open, {component: (charged, paid, open)}) per transaction number."""
    out = {}
    for d in root.iter("{*}Declaration"):
        parts = {text(c, "Code"): (cents(c, "Charged"), cents(c, "Paid"), cents(c, "Open")) for c in d.findall("{*}Component")}
        out[text(d, "TransactionNumber")] = (text(d, "Status"), text(d, "DueDate"), cents(d, "Charged"), cents(d, "Paid"),
                                             cents(d, "Open"), parts)
    return out


def _overview_root(engine, day: date) -> etree._Element:
    with engine.connect() as conn:
        data = overview_xml(balance_overview(conn, A1, day))
    root = etree.fromstring(data)
    schema = etree.XMLSchema(etree.parse("mappings/balance-overview.xsd"))
    assert schema.validate(root), schema.error_log  # checked again from the bytes, not only when built
    return root


@pytest.fixture
def overview_world(engine):
    _three_declarations(engine)
    return engine


def test_the_balance_overview_lists_every_declaration_with_what_was_paid_as_of_the_day(overview_world):
    """D17-R17 on 11-20: P paid in full (315.00 charged, 315.00 paid, 0.00 open); Q partly paid (1,050.00
    charged, 400.00 paid — all of it on duty — 650.00 open); R not yet due (200.00 open).  Charged
    315.00 + 1,050.00 + 200.00 = 1,565.00; paid 315.00 + 400.00 = 715.00; balance 1,565.00 − 715.00 =
    850.00, equal to the journal's; nothing overdue."""
    root = _overview_root(overview_world, date(2026, 11, 20))
    assert (text(root, "DocumentId"), text(root, "AsOf"), text(root, "Importer/RM15")) == (
        f"{A1}-BAO-20261120", "2026-11-20", A1)
    assert _declarations(root) == {
        P: ("PAID", "2026-10-30", 315_00, 315_00, 0, {"duty": (300_00, 300_00, 0), "gst": (15_00, 15_00, 0)}),
        Q: ("PARTLY_PAID", "2026-12-01", 1_050_00, 400_00, 650_00, {"duty": (1_000_00, 400_00, 600_00), "gst": (50_00, 0, 50_00)}),
        R: ("NOT_YET_DUE", "2026-12-31", 200_00, 0, 200_00, {"duty": (200_00, 0, 200_00)}),
    }
    assert [text(d, "TransactionNumber") for d in root.iter("{*}Declaration")] == [P, Q, R]  # oldest accounted first
    total = root.find("{*}Declarations/{*}Total")
    assert (cents(total, "Charged"), cents(total, "Paid"), cents(total, "Open")) == (1_565_00, 715_00, 850_00)
    assert root.findall("{*}OtherItems/{*}Item") == [] and cents(root, "OtherItems/Total") == 0
    assert (cents(root, "Balance"), cents(root, "Overdue")) == (850_00, 0)
    with overview_world.connect() as conn:
        assert balance(conn, A1, date(2026, 11, 20)) == 850_00


def test_an_overview_of_an_earlier_day_counts_only_what_was_posted_by_then(overview_world):
    """As of 11-06, asked after everything was posted: Q's payment (11-10) and R (11-19) do not count.
    P paid 315.00; Q nothing paid, 1,050.00 open, not yet due; balance 1,050.00.  As of 12-02, the day
    after Q's due date: Q overdue with its 650.00, the account not in good standing (D17-R36)."""
    root = _overview_root(overview_world, date(2026, 11, 6))
    assert _declarations(root) == {
        P: ("PAID", "2026-10-30", 315_00, 315_00, 0, {"duty": (300_00, 300_00, 0), "gst": (15_00, 15_00, 0)}),
        Q: ("NOT_YET_DUE", "2026-12-01", 1_050_00, 0, 1_050_00, {"duty": (1_000_00, 0, 1_000_00), "gst": (50_00, 0, 50_00)}),
    }
    assert (cents(root, "Declarations/Total/Paid"), cents(root, "Balance"), cents(root, "Overdue")) == (315_00, 1_050_00, 0)
    later = _overview_root(overview_world, date(2026, 12, 2))
    assert {n: v[0] for n, v in _declarations(later).items()} == {P: "PAID", Q: "OVERDUE", R: "NOT_YET_DUE"}
    assert (cents(later, "Balance"), cents(later, "Overdue")) == (850_00, 650_00)
    with overview_world.connect() as conn:
        view = account_view(conn, A1, date(2026, 12, 2))
        again = balance_overview(conn, A1, date(2026, 11, 6))
    assert (view.overdue_cents, view.good_standing) == (650_00, False)  # the ledger's own reading agrees
    assert again.declarations[1].status is DeclarationStatus.NOT_YET_DUE and again.balance_cents == 1_050_00


def test_other_open_items_complete_the_balance(overview_world):
    """Collections on 12-02 charge the 200.00 penalty of due date 12-01 (dated 12-02) and one day of
    interest on the 650.00 overdue (12-02, at 2 % + 6 points: 650.00 × 0.08 / 365 = 0.1425 → 0.14).
    The overview of 12-02 lists them as other open items, overdue only from the day after 12-02."""
    from store.ledger import run_collections

    from .ledger_helpers import AT, POLICY

    with overview_world.begin() as conn:
        run_collections(conn, date(2026, 12, 2), policy=POLICY, at=AT)
        overview = balance_overview(conn, A1, date(2026, 12, 2))
        journal = balance(conn, A1, date(2026, 12, 2))
    assert [(o.kind, o.open_cents, o.status) for o in overview.others] == [
        ("interest", 14, DeclarationStatus.NOT_YET_DUE), ("penalty", 200_00, DeclarationStatus.NOT_YET_DUE)]
    assert overview.balance_cents == 850_00 + 200_00 + 14 == journal


def test_carm_reports_balance_writes_csv_and_a_french_pdf(overview_world, tmp_path):
    """`carm reports balance` on the 11-20 world: the CSV's rows (the figures of the XML test), and the
    PDF in French (« Aperçu du solde du compte de l'importateur », amounts as French writes them)."""
    url = overview_world.url.render_as_string(hide_password=False)
    done = carm("reports", "balance", A1, "--as-of", "2026-11-20", "--format", "csv", home=tmp_path, database_url=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "rm15,as_of,record,transaction_number,component,accounted_on,security_account,due_date,status,description,charged,paid,open",
        f"{A1},2026-11-20,declaration,{P},,2026-10-10,12001,2026-10-30,PAID,,315.00,315.00,0.00",
        f"{A1},2026-11-20,component,{P},duty,2026-10-10,12001,2026-10-30,PAID,Duty,300.00,300.00,0.00",
        f"{A1},2026-11-20,component,{P},gst,2026-10-10,12001,2026-10-30,PAID,GST,15.00,15.00,0.00",
        f"{A1},2026-11-20,declaration,{Q},,2026-11-05,12001,2026-12-01,PARTLY_PAID,,1050.00,400.00,650.00",
        f"{A1},2026-11-20,component,{Q},duty,2026-11-05,12001,2026-12-01,PARTLY_PAID,Duty,1000.00,400.00,600.00",
        f"{A1},2026-11-20,component,{Q},gst,2026-11-05,12001,2026-12-01,PARTLY_PAID,GST,50.00,0.00,50.00",
        f"{A1},2026-11-20,declaration,{R},,2026-11-19,12001,2026-12-31,NOT_YET_DUE,,200.00,0.00,200.00",
        f"{A1},2026-11-20,component,{R},duty,2026-11-19,12001,2026-12-31,NOT_YET_DUE,Duty,200.00,0.00,200.00",
        f"{A1},2026-11-20,total,,,,,,,Account balance,1565.00,715.00,850.00",
    ]
    out = tmp_path / "apercu.pdf"
    done = carm("reports", "balance", A1, "--as-of", "2026-11-20", "--format", "pdf", "--lang", "fr", "--output", str(out),
                home=tmp_path, database_url=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out}: 3 declarations, balance 850.00, overdue 0.00 as of 2026-11-20"
    data = out.read_bytes()
    assert b"/MediaBox [0 0 612.00 792.00]" in data  # Letter (Policy.paper)
    drawn = pdf_text(data)
    for expected in ("Aper\xe7u du solde du compte de l'importateur", "D\xe9clarations en d\xe9tail", "Partiellement pay\xe9e",
                     "Pas encore exigible", "Pay\xe9e", "Droits de douane", "TPS", "1\xa0050,00\xa0$", "400,00\xa0$",
                     "650,00\xa0$", "Solde du compte", "850,00\xa0$", "20 novembre 2026", "Le compte est en r\xe8gle."):
        assert expected in drawn, expected
    assert "Balance" not in drawn
    xml = carm("reports", "balance", A1, "--as-of", "2026-11-20", home=tmp_path, database_url=url)
    assert xml.returncode == 0 and "<Balance>850.00</Balance>" in xml.stdout


def test_an_unknown_account_is_one_line_and_exit_2(overview_world, tmp_path):
    """An RM15 with no program account: one line on stderr, exit 2, nothing on stdout."""
    url = overview_world.url.render_as_string(hide_password=False)
    done = carm("reports", "balance", "999999998RM0001", "--as-of", "2026-11-20", home=tmp_path, database_url=url)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1] == "carm: 999999998RM0001: no such program account"
    assert carm("reports", "balance", A1, "--format", "pdf", home=tmp_path, database_url=url).returncode == 2  # a PDF needs --output
