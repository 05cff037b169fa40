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


# ------------------------------------------------------------------ the monitoring report (Annex D)
pyrage = pytest.importorskip("pyrage")  # a dependency of the engine: never skipped in practice


def _only_an_fi(tmp_path):
    """A partner registry with no importer: nobody's Daily Notices or Statements go out by EDI."""
    path = tmp_path / "partners.csv"
    path.write_text("partner_id,role,isa_qualifier,isa_sender_id,gs_sender_code,business_number,security_account,sftp_user,"
                    "public_key,language,name\nBANKOFTEST,fi,ZZ,BANKOFTEST,BANKOFTEST,,,bankoftest,,en,Bank of Test\n")
    return path


@pytest.fixture
def monitored(overview_world, tmp_path):
    """The overview's world, and three recipients of A1's monitoring report: `northern-mon` (English) and
    `comptable-qc` (French) with age keys generated here — the private keys never leave the test —
    and `no-key`, registered without one."""
    from store.ledger import load_reference

    keys = {"northern-mon": pyrage.x25519.Identity.generate(), "comptable-qc": pyrage.x25519.Identity.generate()}
    with overview_world.begin() as conn:
        report = load_reference(conn, {"monitoring_recipients": [
            {"name": "northern-mon", "rm15": A1, "language": "en", "age_recipient": str(keys["northern-mon"].to_public())},
            {"name": "comptable-qc", "rm15": A1, "language": "fr", "age_recipient": str(keys["comptable-qc"].to_public())},
            {"name": "no-key", "rm15": A1, "language": "en"},
        ]})
    assert report.problems == [] and report.loaded["monitoring_recipients"] == 3
    home = tmp_path / "home"
    env = {"database_url": overview_world.url.render_as_string(hide_password=False), "CARM_TRANSPORT": "local",
           "CARM_PARTNERS_FILE": str(_only_an_fi(tmp_path)), "CARM_CLOCK": "2026-11-25T09:00:00-05:00"}
    return home, env, keys


#: Period 2026-11 of A1 (10-18 → 11-17, due 12-01), worked out from `_three_declarations`: P's 315.00
#: is open at the start; P paid on 10-20 (−300.00 duty, −15.00 GST); Q accounted on 11-05 (1,000.00 +
#: 50.00); 400.00 on Q's duty on 11-10.  End: 315.00 − 315.00 + 1,050.00 − 400.00 = 650.00, all of it Q's,
#: due 12-01, partly paid, nothing overdue on 11-17.  R (11-19) belongs to the next period.
ENGLISH = f"""Monitoring report
Account: {A1} — NORTHERN IMPORTS LTD
Period: 2026-11 (October 18, 2026 to November 17, 2026)
Payment due date: December 1, 2026

Balance at the start of the period: $315.00
Activity of the period:
  2026-10-20  Payment  TP / {P}  Duty  ($300.00)
  2026-10-20  Payment  TP / {P}  GST  ($15.00)
  2026-11-05  Declaration  {Q}  Duty  $1,000.00
  2026-11-05  Declaration  {Q}  GST  $50.00
  2026-11-10  Payment  TQ / {Q}  Duty  ($400.00)
Balance at the end of the period: $650.00

Open declarations at the end of the period:
  {Q}  Due date 2026-12-01  Partly paid  $650.00
Overdue: $0.00
The account is in good standing.
"""

FRENCH = f"""Rapport de surveillance
Compte : {A1} — NORTHERN IMPORTS LTD
Période : 2026-11 (du 18 octobre 2026 au 17 novembre 2026)
Date d'échéance du paiement : 1er décembre 2026

Solde au début de la période : 315,00\xa0$
Activité de la période :
  2026-10-20  Paiement  TP / {P}  Droits de douane  (300,00\xa0$)
  2026-10-20  Paiement  TP / {P}  TPS  (15,00\xa0$)
  2026-11-05  Déclaration  {Q}  Droits de douane  1\xa0000,00\xa0$
  2026-11-05  Déclaration  {Q}  TPS  50,00\xa0$
  2026-11-10  Paiement  TQ / {Q}  Droits de douane  (400,00\xa0$)
Solde à la fin de la période : 650,00\xa0$

Déclarations ouvertes à la fin de la période :
  {Q}  Échéance 2026-12-01  Partiellement payée  650,00\xa0$
En souffrance : 0,00\xa0$
Le compte est en règle.
"""


def test_the_monitoring_report_is_delivered_only_encrypted_to_the_recipients_key(monitored):
    """Annex D: « Les Rapports transmis par courriel seront chiffrés. »  Each recipient's outbox holds
    `<RM15>-MON-2026-11.txt.age`; its own identity decrypts the exact report, in its language; another
    identity cannot (pyrage.DecryptError); the recipient with no key is refused with the reason."""
    home, env, keys = monitored
    done = carm("reports", "monitoring", "--period", "2026-11", home=home, **env)
    assert done.returncode == 1, done.stderr  # something refused
    name = f"{A1}-MON-2026-11.txt.age"
    assert done.stdout.splitlines() == [
        f"sent comptable-qc: comptable-qc/outbox/{name} (encrypted)",
        f"sent northern-mon: northern-mon/outbox/{name} (encrypted)",
        "refused no-key: no age public key registered: a monitoring report is only ever sent encrypted (Annex D)",
        "monitoring reports 2026-11: 2 sent, 0 unchanged, 1 refused",
    ]
    english = (home / "partners" / "northern-mon" / "outbox" / name).read_bytes()
    french = (home / "partners" / "comptable-qc" / "outbox" / name).read_bytes()
    assert english.startswith(b"age-encryption.org/v1\n")
    assert pyrage.decrypt(english, [keys["northern-mon"]]).decode("utf-8") == ENGLISH
    assert pyrage.decrypt(french, [keys["comptable-qc"]]).decode("utf-8") == FRENCH
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(english, [keys["comptable-qc"]])
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(english, [pyrage.x25519.Identity.generate()])
    assert not (home / "partners" / "no-key").exists()


def test_no_clear_text_anywhere_and_a_re_run_sends_nothing(monitored):
    """The report is never written in clear: no file under the CARM home, and neither standard output
    nor the log (stderr) holds a line or a figure of it.  A second run finds the same report already
    delivered and leaves the outbox's bytes as they were."""
    home, env, _ = monitored
    first = carm("reports", "monitoring", "--period", "2026-11", "--recipient", "northern-mon", home=home, **env)
    assert first.returncode == 0, first.stderr
    outbox = home / "partners" / "northern-mon" / "outbox"
    (sealed,) = outbox.iterdir()
    before = sealed.read_bytes()
    clear_lines = [line.strip() for line in ENGLISH.splitlines() if line.strip()]
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(line.encode("utf-8") in data for line in clear_lines), path
    for stream in (first.stdout, first.stderr):
        assert "$650.00" not in stream and "Balance at the end" not in stream and "Partly paid" not in stream
    again = carm("reports", "monitoring", "--period", "2026-11", "--recipient", "northern-mon", home=home, **env)
    assert again.returncode == 0
    assert again.stdout.splitlines()[0] == f"unchanged northern-mon: northern-mon/outbox/{A1}-MON-2026-11.txt.age was already delivered"
    assert [p.name for p in outbox.iterdir()] == [sealed.name] and sealed.read_bytes() == before


def test_an_account_whose_documents_go_by_edi_gets_no_monitoring_report(monitored):
    """Annex D: « Les Rapports ne seront pas envoyés aux titulaires de comptes de douane ayant accès à l'EDI ».
    With the sample registry, NORTHERNIMP (BN9 123456782) is a trading partner: A1's Daily Notices and
    Statements reach its outbox, so no monitoring report is sent for A1.  An unknown recipient: exit 2."""
    home, env, _ = monitored
    from .conftest import FIXTURES

    env = {**env, "CARM_PARTNERS_FILE": str(FIXTURES / "partners.csv")}
    done = carm("reports", "monitoring", "--period", "2026-11", "--recipient", "northern-mon", home=home, **env)
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        f"refused northern-mon: the Daily Notices and Statements of Account of {A1} already go to 123456782 by EDI: "
        "no monitoring report (Annex D)")
    assert not (home / "partners" / "northern-mon").exists()
    unknown = carm("reports", "monitoring", "--period", "2026-11", "--recipient", "nobody", home=home, **env)
    assert unknown.returncode == 2 and unknown.stderr.splitlines()[-1] == "carm: nobody: no monitoring report recipient of that name"


def test_a_recipient_key_that_is_not_an_age_key_is_not_registered(engine):
    """The registration checks the key's shape (age1 + 58 bech32 characters); a bad one is a problem, not loaded."""
    from store.ledger import load_reference

    setup_world(engine)
    with engine.begin() as conn:
        report = load_reference(conn, {"monitoring_recipients": [
            {"name": "bad-key", "rm15": A1, "age_recipient": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"},
            {"name": "Bad Name", "rm15": A1},
            {"name": "elsewhere", "rm15": "999999998RM0001"},
        ]})
    assert [(p.where, p.message) for p in report.problems] == [
        ("monitoring_recipients[0]", "age_recipient is not an age public key (age1…, 62 characters)"),
        ("monitoring_recipients[1]", "name 'Bad Name' is not a folder name (^[a-z][a-z0-9_-]{0,31}$)"),
        ("monitoring_recipients[2]", "program account 999999998RM0001 is not known"),
    ]
