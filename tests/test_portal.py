"""The client portal over HTTP (starlette's TestClient), on SQLite and PostgreSQL: credentials
(G-R5), enrolment by proof questions and its lock (G-R2), what a business sees (G-R4, D17-R3),
notices (G-R1), uploads (G-R3), and the security around them.

The world and its hand-worked numbers are in tests/portal_helpers.py.
"""

from __future__ import annotations

import csv
import email
import email.policy
import hashlib
import io
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from carm.portal.security import parse_answer, password_problems, username_problems
from core.clock import EASTERN
from ledger.model import Notice
from statements import run_statements
from store import portal as db
from store.journal import record_notices
from store.schema import business, notice, portal_enrolment, portal_upload, portal_user

from .ledger_helpers import BROKER, CLIENT, IMPORTER, OTHER, POLICY
from .portal_helpers import (
    A1,
    A2,
    FAST,
    P1,
    PASSWORD,
    TXN1,
    TXN2,
    TXN_B,
    Clock,
    asked,
    build_world,
    csrf_of,
    enrol,
    portal,
    post,
    register,
    right_answers,
    sign_in,
    user_of,
)
from .test_channels import carm


def test_credentials_follow_the_gckey_rules():
    """G-R5: 8–16 letters or digits with at most 7 digits; passwords 8–16 with upper, lower and
    digit, sharing no 3 consecutive characters with the user name (the guide's own example: Lihu1234)."""
    assert username_problems("Lihu1234") == []
    assert username_problems("short1") == ["username_shape"]
    assert username_problems("name@corp") == ["username_shape"]
    assert username_problems("ab12345678") == ["username_digits"]  # 8 digits
    assert password_problems("Maple2026Leaf", "Lihu1234") == []
    assert password_problems("maple2026leaf", "Lihu1234") == ["password_classes"]
    assert password_problems("Xlihu99Zq", "Lihu1234") == ["password_shares"]  # "lih" of the name, in any case
    assert password_problems("Ab1", "Lihu1234") == ["password_shape"]


def test_proof_answers_are_digits_and_a_decimal_point_only():
    """G-R2: « uniquement à l'aide de chiffres et de décimales »: $ and , are refused, not guessed."""
    assert parse_answer("705.00") == 70500
    assert parse_answer("705") == 70500
    assert parse_answer("705.5") == 70550
    assert parse_answer("-12.34") == -1234
    assert parse_answer("$705.00") is None
    assert parse_answer("1,705.00") is None
    assert parse_answer("705.001") is None


def test_register_sign_in_enrol_and_see_the_home_page(engine, tmp_path):
    """The first person to enrol NORTHERN IMPORTS answers the three questions from its ledger and
    becomes its business account manager; its home page shows A1 owing 705.00 − 400.00 = 305.00,
    all of it overdue on 2026-12-10 (due 2026-12-01), and A2 at zero — and nothing of PRAIRIE TRADING."""
    build_world(engine)
    client = portal(engine, tmp_path)
    assert register(client, "northern01").status_code == 200
    signed = sign_in(client, "northern01")
    assert signed.status_code == 303 and signed.headers["location"] == "/enrol"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie

    questions = asked(post(client, "/enrol", {"bn9": IMPORTER}).text)
    assert set(questions) == {"transaction", "payment", "statement"}
    assert questions["transaction"] in (TXN1, TXN2)  # one of its five most recent transactions
    done = enrol(client, IMPORTER)
    assert done.status_code == 200 and "business account manager" in done.text

    home = client.get("/")
    assert home.status_code == 200
    rows = re.findall(r'<a href="/accounts/(\w+)">.*?</tr>', home.text, re.S)
    assert rows == [A1, A2]
    a1 = re.search(rf"{A1}</a></td><td>[^<]*</td>\s*<td class=\"amount\">([^<]*)</td><td class=\"amount\">([^<]*)</td>", home.text)
    assert a1.groups() == ("$305.00", "$305.00")
    assert P1 not in home.text
    api = client.get("/api/accounts").json()
    assert [(a["rm15"], a["balance_cents"], a["overdue_cents"]) for a in api["accounts"]] == [(A1, 30500, 30500), (A2, 0, 0)]

    second = portal(engine, tmp_path)
    register(second, "northern02")
    sign_in(second, "northern02")
    assert "you are its user" in enrol(second, IMPORTER).text
    with engine.begin() as conn:
        assert db.user_named(conn, "NORTHERN01").role == "manager"  # user names compare without case
        assert db.user_named(conn, "northern02").role == "user"


def _wrong(client, bn9: str):
    answers = right_answers(client, bn9)
    answers["answer_statement"] = "1.00"
    return post(client, "/enrol", {"bn9": bn9, **answers})


def test_ten_wrong_answers_lock_the_enrolment_until_an_operator_unlocks_it(engine, tmp_path):
    """G-R2 « votre compte sera verrouillé après 10 tentatives échouées »: nine wrong sets of answers
    leave it open, the tenth locks it; then even the right answers are refused, by a new portal
    process too (the lock is in the database); answers with `$` are refused without counting;
    `carm portal unlock` opens it again and the right answers enrol."""
    build_world(engine)
    client = portal(engine, tmp_path)
    register(client, "northern01")
    sign_in(client, "northern01")
    for attempt in range(1, 10):
        wrong = _wrong(client, IMPORTER)
        assert wrong.status_code == 400 and f"({attempt} of 10 failed attempts)" in wrong.text
    dollars = post(client, "/enrol", {"bn9": IMPORTER, **{k: "$" + v for k, v in right_answers(client, IMPORTER).items()}})
    assert dollars.status_code == 400 and "nothing was counted" in dollars.text
    assert _wrong(client, IMPORTER).status_code == 423
    again = portal(engine, tmp_path)
    sign_in(again, "northern01")
    refused = post(again, "/enrol", {"bn9": IMPORTER, "answer_payment": "400.00", "answer_statement": "705.00",
                                     "answer_transaction": "600.00"})
    assert refused.status_code == 423 and "locked after 10 failed attempts" in refused.text
    with engine.begin() as conn:
        row = conn.execute(select(portal_enrolment).where(portal_enrolment.c.bn9 == IMPORTER)).one()
        assert row.failed_attempts == 10 and row.locked_at is not None
        assert db.user_named(conn, "northern01").bn9 is None

    code, out = carm(engine, tmp_path, "portal", "unlock", IMPORTER)
    assert code == 0 and out.strip() == f"unlocked the enrolment of {IMPORTER} (was locked, 10 failed attempts cleared)"
    assert enrol(again, IMPORTER).status_code == 200
    with engine.begin() as conn:
        assert db.user_named(conn, "northern01").bn9 == IMPORTER
    assert carm(engine, tmp_path, "portal", "unlock", BROKER)[0] == 1  # never tried to enrol


def test_sign_in_is_slowed_then_locked(engine, tmp_path):
    """Brute force: after a failure the next attempt waits 1 s, then 2, 4, 8 s (even with the right
    password); the fifth failure in a row locks the user for 30 minutes; an unknown user gets the
    same answer as a wrong password; `carm portal unlock-user` clears it."""
    build_world(engine)
    clock = Clock(datetime(2026, 12, 10, 12, 0, tzinfo=EASTERN))
    client = portal(engine, tmp_path, clock)
    register(client, "northern01")
    assert sign_in(client, "northern01", "Wrong2026Pass").status_code == 401
    assert sign_in(client, "northern01").status_code == 429  # within the 1 s wait: not even heard
    for failures, wait in ((2, 1), (3, 2), (4, 4), (5, 8)):
        clock.at += timedelta(seconds=wait)
        assert sign_in(client, "northern01", "Wrong2026Pass").status_code == 401, failures
    clock.at += timedelta(minutes=29)
    locked = sign_in(client, "northern01")
    assert locked.status_code == 429 and "locked" in locked.text
    clock.at += timedelta(minutes=1, seconds=1)
    assert sign_in(client, "northern01").status_code == 303
    unknown = sign_in(client, "nobody2026")
    assert unknown.status_code == 401 and "The user name or password is not right." in unknown.text

    for _ in range(5):
        sign_in(client, "northern01", "Wrong2026Pass")
        clock.at += timedelta(seconds=9)
    assert sign_in(client, "northern01").status_code == 429
    code, out = carm(engine, tmp_path, "portal", "unlock-user", "northern01")
    assert code == 0 and out.strip() == "unlocked the portal user northern01"
    assert sign_in(client, "northern01").status_code == 303


def test_a_user_of_one_business_never_reaches_another_s(engine, tmp_path):
    """Isolation: NORTHERN IMPORTS' user asking for PRAIRIE TRADING's account, its history, CSV,
    overview, statement PDF/XML, notice — by guessed URLs and IDs — gets 404 each time, exactly as for
    something that does not exist; a broker sees only the account its program-scope relationship
    covers (EPICERIE's RM0001, not RM0002, D17-R3)."""
    build_world(engine, tmp_path / "documents")
    with engine.begin() as conn:
        record_notices(conn, [Notice("test:b", date(2026, 11, 22), OTHER, P1, "arrears", {"overdue_cents": 900000})])
        b_notice = conn.execute(select(func.max(notice.c.id))).scalar_one()
    client = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)
    for path in (f"/accounts/{P1}", f"/accounts/{P1}/history", f"/accounts/{P1}/history?format=csv", f"/accounts/{P1}/overview.pdf",
                 f"/documents/{OTHER}-SOA-20261125-0001.pdf", f"/documents/{OTHER}-SOA-20261125-0001.xml",
                 f"/notices/{b_notice}", "/accounts/999999999RM0001", "/documents/..%2Fcarm.db", f"/api/accounts/{P1}"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert b"9,000.00" not in answer.content and b"PRAIRIE" not in answer.content, path
    own = client.get(f"/documents/{IMPORTER}-SOA-20261125-0001.pdf")  # drawn from the stored HTML (decision S12)
    with engine.begin() as conn:  # the PDF the run would have written
        run_statements(conn, "2026-11", tmp_path / "pdf", policy=POLICY, formats=("pdf",))
    assert own.status_code == 200 and own.content == (tmp_path / "pdf" / f"{IMPORTER}-SOA-20261125-0001.pdf").read_bytes()
    assert client.get(f"/documents/{IMPORTER}-SOA-20261125-0001.pdf").content == own.content
    assert [p.suffix for p in (tmp_path / "documents" / ".pdf-cache").iterdir()] == [".pdf"]  # kept, read back the next time
    daily = client.get(f"/documents/{IMPORTER}-DN-20261121-0001.xml")
    assert daily.content == (tmp_path / "documents" / "DN" / "2026-11-21" / f"{IMPORTER}-DN-20261121-0001.xml").read_bytes()
    assert b"<Reference>E1</Reference>" in daily.content and b"<ClosingBalance>305.00</ClosingBalance>" in daily.content
    assert f"{OTHER}-SOA" not in client.get("/documents").text
    overview = client.get(f"/accounts/{A1}/overview.pdf")  # D17-R17, rendered as `carm reports balance` does
    assert overview.status_code == 200 and overview.content.startswith(b"%PDF-")
    assert "arrears" not in client.get("/api/notices").text.lower()

    broker = portal(engine, tmp_path)
    with engine.begin() as conn:
        user_id = db.create_user(conn, "swiftbrok1", FAST.hash(PASSWORD), datetime(2026, 12, 1, tzinfo=EASTERN))
        assert db.enrol(conn, user_id, BROKER) == "manager"
    sign_in(broker, "swiftbrok1")
    assert [a["rm15"] for a in broker.get("/api/accounts").json()["accounts"]] == [f"{CLIENT}RM0001"]
    assert broker.get(f"/accounts/{CLIENT}RM0001").status_code == 200
    assert broker.get(f"/accounts/{CLIENT}RM0002").status_code == 404
    assert broker.get(f"/accounts/{A1}").status_code == 404


def test_every_form_wants_its_token_and_every_page_its_headers(engine, tmp_path):
    """CSRF: a form posted without the visitor's token, with another visitor's token, or from
    another origin changes nothing (403); every answer carries the security headers."""
    build_world(engine)
    client = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)
    stranger = portal(engine, tmp_path)
    foreign = csrf_of(stranger, "/signup")
    forms = {"/signup": {"username": "intruder01", "password": PASSWORD, "confirm": PASSWORD},
             "/signin": {"username": "northern01", "password": PASSWORD},
             "/enrol": {"bn9": OTHER}, "/settings": {"language": "fr", "email_notices": "yes"},
             "/upload": {"category": "other", "reference": "X1"}, "/users/999/revoke": {},
             f"/accounts/{A1}/apply-credit": {"credit": "1", "debt": "2", "nonce": "n" * 43}, "/signout": {}}
    for path, data in forms.items():
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf": foreign}).status_code == 403, path
        token = csrf_of(client, "/settings")
        assert client.post(path, data={**data, "csrf": token}, headers={"Origin": "https://evil.example"}).status_code == 403, path
    with engine.begin() as conn:
        assert db.user_named(conn, "intruder01") is None
        assert db.user_named(conn, "northern01").language == "en" and not db.user_named(conn, "northern01").email_notices
    assert client.get("/").status_code == 200  # still signed in: the sign-out was refused too

    for path in ("/", "/signin", "/notices", f"/accounts/{A1}", "/documents", "/nowhere", "/portal.css"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "no-referrer" and headers["cache-control"] == "no-store", path
        assert headers["strict-transport-security"].startswith("max-age="), path


def test_notices_ten_a_page_newest_first_read_and_unread(engine, tmp_path):
    """G-R1: NORTHERN IMPORTS has its payment notice (2026-11-20) and twelve more dated 11-01…11-12:
    page 1 holds the ten newest (11-20, then 11-12 down to 11-04), page 2 the other three; a date range
    narrows it; opening one marks it read for that user only; in French the subjects are French."""
    build_world(engine)
    with engine.begin() as conn:
        record_notices(conn, [Notice(f"test:{n}", date(2026, 11, n), IMPORTER, A1, "disbursement",
                                     {"amount_cents": n * 100}) for n in range(1, 13)])
    client = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)
    first = client.get("/api/notices").json()
    assert (first["total"], first["pages"]) == (13, 2)
    assert [n["date"] for n in first["notices"]] == ["2026-11-20"] + [f"2026-11-{d:02d}" for d in range(12, 3, -1)]
    second = client.get("/api/notices?page_no=2").json()
    assert [n["date"] for n in second["notices"]] == ["2026-11-03", "2026-11-02", "2026-11-01"]
    ranged = client.get("/api/notices?start=2026-11-05&end=2026-11-07").json()
    assert [n["date"] for n in ranged["notices"]] == ["2026-11-07", "2026-11-06", "2026-11-05"]

    opened = ranged["notices"][0]
    detail = client.get(f"/notices/{opened['id']}")
    assert detail.status_code == 200 and "$7.00" in detail.text  # the 11-07 disbursement: 7 × 100 cents
    reread = client.get("/api/notices?start=2026-11-05&end=2026-11-07").json()["notices"]
    assert [n["read"] for n in reread] == [True, False, False]
    other = user_of(engine, portal(engine, tmp_path), "northern02", IMPORTER)
    assert [n["read"] for n in other.get("/api/notices?start=2026-11-05&end=2026-11-07").json()["notices"]] == [False, False, False]

    client.get("/language/fr?next=/notices")
    french = client.get("/notices?start=2026-11-07&end=2026-11-07")
    assert "Avis" in french.text and "Décaissement de 7,00" in french.text.replace("\xa0", " ")


def test_history_shows_each_movement_with_the_balance_after_it_and_exports_csv(engine, tmp_path):
    """G-R4: A1's November: 600.00 (11-02), 100.00 duty and 5.00 GST (11-03), the 400.00 payment
    (11-20); balances after: 600.00, 700.00, 705.00, 305.00. The CSV says the same in cents; a kind
    filter keeps the payment only."""
    build_world(engine)
    client = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)
    exported = client.get(f"/accounts/{A1}/history?start=2026-11-01&end=2026-11-30&format=csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["date"], r["type"], r["amount_cents"], r["balance_after_cents"]) for r in rows] == [
        ("2026-11-02", "DECLARATION", "60000", "60000"),
        ("2026-11-03", "DECLARATION", "10000", "70000"),
        ("2026-11-03", "DECLARATION", "500", "70500"),
        ("2026-11-20", "PAYMENT", "-40000", "30500"),
    ]
    payments = client.get(f"/accounts/{A1}/history?start=2026-11-01&end=2026-11-30&kind=PAYMENT")
    assert payments.text.count("<td>2026-11-") == 1 and "E1" in payments.text


def test_uploads_keep_the_guide_s_limits_and_are_never_served(engine, tmp_path):
    """G-R3: ≤ 10 files, ≤ 15 MB each, the listed types, a reference of ≤ 10 characters — each refusal
    says why and stores nothing; an accepted file is kept under its SHA-256 and no URL serves it."""
    build_world(engine)
    client = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)

    def upload(files, reference="CASE123"):
        return client.post("/upload", data={"csrf": csrf_of(client, "/upload"), "category": "refund", "reference": reference},
                           files=[("files", f) for f in files])

    eleven = upload([(f"f{n}.pdf", b"%PDF-1.4 x", "application/pdf") for n in range(11)])
    assert eleven.status_code == 400 and "At most 10 files per upload." in eleven.text
    script = upload([("run.exe", b"MZ", "application/octet-stream")])
    assert script.status_code == 400 and "run.exe: this file type is not accepted." in script.text
    big = upload([("big.pdf", b"0" * (15 * 1024 * 1024 + 1), "application/pdf")])
    assert big.status_code == 400 and "big.pdf: larger than the 15 MB" in big.text
    assert upload([("a.pdf", b"%PDF", "application/pdf")], reference="ELEVENCHARS").status_code == 400
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(portal_upload)).scalar_one() == 0

    body = b"%PDF-1.4 proof of payment"
    done = upload([("proof.PDF", body, "application/pdf"), ("note.txt", b"see attached", "text/plain")])
    assert done.status_code == 200 and "2 file(s) received." in done.text
    digest = hashlib.sha256(body).hexdigest()
    assert (tmp_path / "uploads" / digest).read_bytes() == body
    with engine.begin() as conn:
        rows = conn.execute(select(portal_upload).order_by(portal_upload.c.id)).all()
    assert [(r.file_name, r.size, r.digest, r.bn9, r.reference) for r in rows] == [
        ("proof.PDF", len(body), digest, IMPORTER, "CASE123"),
        ("note.txt", 12, hashlib.sha256(b"see attached").hexdigest(), IMPORTER, "CASE123"),
    ]
    for path in (f"/uploads/{digest}", f"/upload/{digest}", f"/documents/{digest}"):
        assert client.get(path).status_code == 404


def test_language_switch_and_settings_are_per_user(engine, tmp_path):
    """Every page links to the other language; the switch keeps the page and never leaves the site;
    the e-mail subscription and preferred language are the user's own (G-R1)."""
    build_world(engine)
    client = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)
    for path in ("/", "/notices", "/documents", "/settings", "/upload", f"/accounts/{A1}"):
        assert f'href="/language/fr?next={path.replace("/", "%2F")}"' in client.get(path).text, path
    switched = client.get("/language/fr?next=/documents")
    assert switched.status_code == 303 and switched.headers["location"] == "/documents"
    assert "Relevés et avis quotidiens" in client.get("/documents").text
    assert client.get("/language/en?next=//evil.example/").headers["location"] == "/"

    saved = post(client, "/settings", {"language": "fr", "email_notices": "yes"})
    assert saved.status_code == 200
    with engine.begin() as conn:
        me, business_language = db.user_named(conn, "northern01"), conn.execute(
            select(business.c.language).where(business.c.bn9 == IMPORTER)).scalar_one()
    assert (me.language, me.email_notices, business_language) == ("fr", True, "en")


@pytest.mark.parametrize("bn9", [OTHER])
def test_a_business_with_two_questions_enrols_with_two(engine, tmp_path, bn9):
    """« deux ou trois questions, selon le type de votre compte »: PRAIRIE TRADING never paid, so it
    is asked its transaction (9,000.00) and its last statement (9,000.00) only."""
    build_world(engine)
    client = portal(engine, tmp_path)
    register(client, "prairie001")
    sign_in(client, "prairie001")
    questions = asked(post(client, "/enrol", {"bn9": bn9}).text)
    assert questions == {"transaction": TXN_B, "statement": None}
    assert enrol(client, bn9).status_code == 200
    assert [a["rm15"] for a in client.get("/api/accounts").json()["accounts"]] == [P1, f"{OTHER}RM0009"]
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(portal_user).where(portal_user.c.bn9 == bn9)).scalar_one() == 1


def test_each_user_gets_notices_by_e_mail_as_it_chose(engine, tmp_path):
    """G-R1, per user: one user subscribed in French gets the 2026-11-20 payment notice and the
    2026-11-22 arrears notice, in French; another, unsubscribed, gets only the arrears notice (urgent:
    « les avis urgents vous seront envoyés quel que soit l'option d'avis sélectionnée »), in English.
    The business itself has no address: its urgent notice is reported, its other one not subscribed."""
    from statements.notices import send_notices

    build_world(engine)
    with engine.begin() as conn:
        record_notices(conn, [Notice("test:arrears", date(2026, 11, 22), IMPORTER, A1, "arrears",
                                     {"overdue_cents": 30500, "due_date": "2026-10-31"})])
    first = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)
    bad = post(first, "/settings", {"language": "fr", "email_notices": "yes", "email": "not an address"})
    assert bad.status_code == 400
    assert post(first, "/settings", {"language": "fr", "email_notices": "yes", "email": "marie@northern.example"}).status_code == 200
    second = user_of(engine, portal(engine, tmp_path), "northern02", IMPORTER)
    assert post(second, "/settings", {"language": "en", "email_notices": "no", "email": "joe@northern.example"}).status_code == 200
    with engine.begin() as conn:
        ids = {u: db.user_named(conn, u).id for u in ("northern01", "northern02")}
        report = send_notices(conn, tmp_path / "mail", date_from=date(2026, 11, 20), date_to=date(2026, 11, 22))
    names = sorted(p.name for p in report.files)
    payment_id, arrears_id = (n for n in sorted({int(name.split("-")[3]) for name in names}))
    assert names == sorted([
        f"{IMPORTER}-NOTICE-20261120-{payment_id:06d}-U{ids['northern01']}.eml",
        f"{IMPORTER}-NOTICE-20261122-{arrears_id:06d}-U{ids['northern01']}.eml",
        f"{IMPORTER}-NOTICE-20261122-{arrears_id:06d}-U{ids['northern02']}.eml",
    ])
    def mail(user: str):
        path = tmp_path / "mail" / f"{IMPORTER}-NOTICE-20261122-{arrears_id:06d}-U{ids[user]}.eml"
        return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)

    french, english = mail("northern01"), mail("northern02")
    assert (french["To"], french["Subject"]) == ("northern01 <marie@northern.example>", f"[URGENT] Avis d'arriérés pour le compte {A1}")
    assert (english["To"], english["Subject"]) == ("northern02 <joe@northern.example>", f"[URGENT] Arrears notice for account {A1}")
    assert (report.written, report.not_subscribed, [p.code for p in report.problems]) == (3, 1, ["no-email"])
    again = send_notices(engine.connect(), tmp_path / "mail", date_from=date(2026, 11, 20), date_to=date(2026, 11, 22))
    assert (again.written, again.unchanged) == (0, 3)  # re-running sends nothing twice


def test_an_operator_adds_an_enrolled_user_from_the_command_line(engine, tmp_path):
    """`carm portal add-user` registers a user acting for a business without proof questions (an
    operator's act): a generated password that keeps the G-R5 rules, printed once, that signs in;
    a taken or malformed name, or an unknown business, is refused with exit status 1."""
    build_world(engine)
    code, out = carm(engine, tmp_path, "portal", "add-user", "prairie001", "--business", OTHER)
    assert code == 0
    found = re.fullmatch(rf"portal user prairie001 \(manager of {OTHER}\), password (\S+)\n", out)
    assert found and password_problems(found.group(1), "prairie001") == []
    client = portal(engine, tmp_path)
    assert sign_in(client, "prairie001", found.group(1)).headers["location"] == "/"
    assert [a["rm15"] for a in client.get("/api/accounts").json()["accounts"]] == [P1, f"{OTHER}RM0009"]
    assert carm(engine, tmp_path, "portal", "add-user", "prairie001", "--business", OTHER)[0] == 1
    assert carm(engine, tmp_path, "portal", "add-user", "bad", "--business", OTHER)[0] == 1
    assert carm(engine, tmp_path, "portal", "add-user", "someone01", "--business", "100000009")[0] == 1


def test_the_holder_applies_an_unapplied_credit_to_the_debts_it_chooses(engine, tmp_path):
    """G-R4: NORTHERN IMPORTS pays 400.00 more on 2026-11-23, of which 305.00 settles A1 and 95.00
    stays as a credit; then transactions 3 (60.00) and 4 (50.00) are declared. Applying the credit
    to transaction 4 alone settles it (50.00) and leaves a 45.00 credit; the same form sent again
    changes nothing; the 45.00 then goes to transaction 3, leaving 15.00 of it. The balance stays
    60.00 + 50.00 − 95.00 = 15.00 throughout (AR to AR). Another business, and a broker seeing the
    account, cannot do it (404)."""
    from store.journal import check_books

    from .ledger_helpers import LineSpec, PaymentSpec, declare, pay, txn

    build_world(engine)
    client = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)  # enrolled first: the questions know the world
    pay(engine, PaymentSpec("E2", IMPORTER, [LineSpec(A1, 400_00)], effective=date(2026, 11, 23)),
        received_at=datetime(2026, 11, 23, 10, 0, tzinfo=EASTERN), control=2)
    txn3, txn4 = txn("12001", 3), txn("12001", 4)
    declare(engine,
            dict(transaction_number=txn3, rm15=A1, asec="12001", release_date="2026-11-24", accounting_date="2026-11-24", duty="60.00"),
            dict(transaction_number=txn4, rm15=A1, asec="12001", release_date="2026-11-25", accounting_date="2026-11-25", duty="50.00"))

    def state():
        view = client.get(f"/api/accounts/{A1}").json()
        return (view["balance_cents"], [(d["transaction_number"], d["balance_cents"]) for d in view["debts"]],
                [c["balance_cents"] for c in view["credits"]])

    assert state() == (1500, [(txn3, 6000), (txn4, 5000)], [-9500])
    page = client.get(f"/accounts/{A1}").text
    form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1),
            "nonce": re.search(r'name="nonce" value="([^"]+)"', page).group(1),
            "credit": re.search(r'name="credit" value="(\d+)"', page).group(1)}
    debt_ids = dict(zip((txn3, txn4), re.findall(r'name="debt" value="(\d+)"', page), strict=True))
    first = client.post(f"/accounts/{A1}/apply-credit", data={**form, "debt": [debt_ids[txn4]]})
    assert first.status_code == 200 and "$50.00 of the credit applied." in first.text
    assert state() == (1500, [(txn3, 6000)], [-4500])
    replay = client.post(f"/accounts/{A1}/apply-credit", data={**form, "debt": [debt_ids[txn3], debt_ids[txn4]]})
    assert replay.status_code == 200 and "already carried out" in replay.text
    assert state() == (1500, [(txn3, 6000)], [-4500])

    page = client.get(f"/accounts/{A1}").text
    second = client.post(f"/accounts/{A1}/apply-credit", data={
        **form, "nonce": re.search(r'name="nonce" value="([^"]+)"', page).group(1), "debt": [debt_ids[txn3]]})
    assert "$45.00 of the credit applied." in second.text
    assert state() == (1500, [(txn3, 1500)], [])
    with engine.begin() as conn:
        assert check_books(conn) == []

    other = user_of(engine, portal(engine, tmp_path), "prairie001", OTHER)
    token = csrf_of(other, "/settings")
    stolen = other.post(f"/accounts/{A1}/apply-credit", data={"csrf": token, "nonce": "x" * 43, "credit": form["credit"],
                                                              "debt": [debt_ids[txn3]]})
    assert stolen.status_code == 404
    assert state() == (1500, [(txn3, 1500)], [])


def test_home_shows_recent_transactions_and_invoices_show_the_charges(engine, tmp_path):
    """G-R4: after collections on 2026-12-02 — A1's 305.00 unpaid on its 2026-12-01 due date bears
    the 200.00 late-payment penalty (D17-R33) and one day of interest at 2 % + 6 points:
    30500 × 8 % / 365 = 6.68 cents → 0.07 — the invoices page lists those two, still owed, and none
    of PRAIRIE TRADING's; the home page lists the movements newest first with their status."""
    from store.ledger import run_collections

    build_world(engine)
    client = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)
    with engine.begin() as conn:
        run_collections(conn, date(2026, 12, 2), policy=POLICY, at=datetime(2026, 12, 2, 7, 0, tzinfo=EASTERN))
    page = client.get("/invoices").text
    rows = re.findall(r"<tr><td>(2026-[\d-]+)</td><td>(\w+)</td><td>(\w+)</td>.*?<td class=\"amount\">([^<]+)</td>"
                      r"<td class=\"amount\">([^<]+)</td></tr>", page, re.S)
    assert sorted(rows) == [("2026-12-02", A1, "Interest", "$0.07", "$0.07"), ("2026-12-02", A1, "Penalty", "$200.00", "$200.00")]
    assert P1 not in page
    home = client.get("/").text
    recent = re.findall(r"<tr><td>(2026-[\d-]+)</td><td>\w+</td><td>([^<]+)</td>\s*<td class=\"amount\">([^<]+)</td><td>([^<]+)</td>",
                        home)
    assert [(d, what.split()[0], amount, status) for d, what, amount, status in recent] == [
        ("2026-12-02", "Interest", "$0.07", "Outstanding"), ("2026-12-02", "Penalty", "$200.00", "Outstanding"),
        ("2026-11-20", "Payment", "($400.00)", "Applied"), ("2026-11-03", "Declaration", "$100.00", "Outstanding"),
        ("2026-11-03", "Declaration", "$5.00", "Outstanding"), ("2026-11-02", "Declaration", "$600.00", "Outstanding"),
    ]


def test_the_business_account_manager_sees_its_users_and_revokes_one(engine, tmp_path):
    """Roles (G-R2): the first user of NORTHERN IMPORTS is its manager and lists its users; a plain
    user cannot (404); the manager revokes the other user, whose session ends at once and who must
    enrol again; nobody of another business can be revoked, nor the manager itself."""
    build_world(engine)
    boss = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)
    clerk = user_of(engine, portal(engine, tmp_path), "northern02", IMPORTER)
    stranger = user_of(engine, portal(engine, tmp_path), "prairie001", OTHER)
    with engine.begin() as conn:
        ids = {u: db.user_named(conn, u).id for u in ("northern01", "northern02", "prairie001")}
    listing = boss.get("/users").text
    assert re.findall(r"<tr><td>(\w+)</td><td>([^<]+)</td>", listing) == [
        ("northern01", "business account manager"), ("northern02", "user")]
    assert clerk.get("/users").status_code == 404
    token = csrf_of(boss, "/users")
    assert boss.post(f"/users/{ids['prairie001']}/revoke", data={"csrf": token}).status_code == 404
    assert boss.post(f"/users/{ids['northern01']}/revoke", data={"csrf": token}).status_code == 404
    assert clerk.post(f"/users/{ids['northern01']}/revoke", data={"csrf": csrf_of(clerk, "/settings")}).status_code == 404
    done = boss.post(f"/users/{ids['northern02']}/revoke", data={"csrf": token})
    assert done.status_code == 200 and "Access revoked." in done.text
    assert clerk.get("/").headers["location"].startswith("/signin")  # its session ended
    sign_in(clerk, "northern02")
    assert clerk.get("/").headers["location"] == "/enrol"
    assert stranger.get("/api/accounts").json()["accounts"][0]["rm15"] == P1  # untouched


def test_sign_in_returns_to_the_page_asked_for_and_never_elsewhere(engine, tmp_path):
    build_world(engine)
    client = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)
    post(client, "/signout", {}, form_page="/settings")
    asked_for = client.get(f"/accounts/{A1}")
    assert asked_for.status_code == 303 and asked_for.headers["location"] == f"/signin?next=/accounts/{A1}"
    back = post(client, "/signin", {"username": "northern01", "password": PASSWORD, "next": f"/accounts/{A1}"},
                form_page=asked_for.headers["location"])
    assert back.headers["location"] == f"/accounts/{A1}"
    post(client, "/signout", {}, form_page="/settings")
    away = post(client, "/signin", {"username": "northern01", "password": PASSWORD, "next": "//evil.example/x"})
    assert away.headers["location"] == "/"


def test_a_session_ends_after_thirty_minutes_unused(engine, tmp_path):
    """A session lives `portal_session_minutes` (30) past its last use: used at 29 minutes it lives
    on; left 31 minutes, it is gone (and its row deleted), so the next page asks to sign in."""
    from store.schema import portal_session

    build_world(engine)
    clock = Clock(datetime(2026, 12, 10, 12, 0, tzinfo=EASTERN))
    client = user_of(engine, portal(engine, tmp_path, clock), "northern01", IMPORTER)
    clock.at += timedelta(minutes=29)
    assert client.get("/").status_code == 200
    clock.at += timedelta(minutes=29)
    assert client.get("/").status_code == 200
    clock.at += timedelta(minutes=31)
    assert client.get("/").headers["location"] == "/signin?next=/"
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(portal_session)).scalar_one() == 0


def test_a_business_the_ledger_cannot_ask_about_is_not_enrolled_online(engine, tmp_path):
    """« deux ou trois questions »: SWIFT CUSTOMS BROKERS has no declaration, payment or statement of
    its own, and 999999998 is no business: neither can be enrolled online, and nothing is counted."""
    build_world(engine)
    client = portal(engine, tmp_path)
    register(client, "swiftbrok1")
    sign_in(client, "swiftbrok1")
    for bn9 in (BROKER, "999999998", "12345"):
        refused = post(client, "/enrol", {"bn9": bn9})
        assert refused.status_code == 404 and "cannot be enrolled online" in refused.text, bn9
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(portal_enrolment).where(portal_enrolment.c.failed_attempts > 0)).scalar_one() == 0


def test_the_holder_pays_by_card_up_to_the_limit_of_the_billing_cycle(engine, tmp_path):
    """D17-R23 « Carte de crédit (jusqu'à 4 999,99 dollars canadiens) » per program account and billing
    cycle (decision L27), from the account page (O21). On 2026-12-10 (cycle 2026-12: 11-18 → 12-17)
    A1 owes 305.00: 300.00 by card leaves 5.00; 4,700.00 more would bring the cycle to 5,000.00 and
    is refused before the card is charged; 4,699.99 brings it to exactly 4,999.99 (A1 then holds a
    4,694.99 credit); one cent more is refused; on 12-18, a new cycle, the cent is taken. A declined
    card posts nothing; the same form sent twice charges once; another business gets a 404."""
    clock = Clock(datetime(2026, 12, 10, 12, 0, tzinfo=EASTERN))
    build_world(engine)
    client = user_of(engine, portal(engine, tmp_path, clock), "northern01", IMPORTER)
    processor = client.app.state.portal.config.cards

    def pay(amount: str, token: str = "tok_visa", nonce: str | None = None):
        got = client.get(f"/accounts/{A1}")
        assert got.status_code == 200, (got.status_code, got.headers.get("location"), got.text[:500])
        page = got.text
        form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1),
                "nonce": nonce or re.search(r'id="pay-card">\s*<input[^>]*>\s*<input type="hidden" name="nonce" value="([^"]+)"', page).group(1),
                "amount": amount, "token": token}
        return form, client.post(f"/accounts/{A1}/pay-card", data=form)

    def balance() -> int:
        return client.get(f"/api/accounts/{A1}").json()["balance_cents"]

    assert balance() == 305_00
    form, done = pay("300.00")
    assert done.status_code == 200 and "Payment of $300.00 authorised (AUTH-" in done.text
    assert balance() == 5_00
    again = client.post(f"/accounts/{A1}/pay-card", data=form)
    assert "already made" in again.text and len(processor.calls) == 1 and balance() == 5_00
    _, refused = pay("4700.00")
    assert refused.status_code == 400 and "Payment refused, the card was not charged" in refused.text
    assert "4999.99" in refused.text and len(processor.calls) == 1 and balance() == 5_00
    _, declined = pay("10.00", token="tok_declined")
    assert declined.status_code == 400 and "card declined by the issuer" in declined.text and balance() == 5_00
    _, done = pay("4699.99")
    assert done.status_code == 200 and balance() == 5_00 - 4699_99
    _, cent = pay("0.01")
    assert cent.status_code == 400 and balance() == -4694_99
    _, bad = pay("12.345")
    assert bad.status_code == 400 and "nothing was charged" in bad.text
    clock.at = datetime(2026, 12, 18, 9, 0, tzinfo=EASTERN)
    sign_in(client, "northern01")  # a week later: a new session
    _, cent = pay("0.01")
    assert cent.status_code == 200 and balance() == -4695_00

    other = user_of(engine, portal(engine, tmp_path, clock), "prairie001", OTHER)
    token = csrf_of(other, "/settings")
    stolen = other.post(f"/accounts/{A1}/pay-card", data={"csrf": token, "nonce": "y" * 43, "amount": "1.00", "token": "tok_visa"})
    assert stolen.status_code == 404 and balance() == -4695_00
    from store.journal import check_books
    with engine.begin() as conn:
        assert check_books(conn) == []


def test_an_account_owing_over_50000_a_month_is_told_it_must_pay_electronically(engine, tmp_path):
    """D17-R24: A2 closes period 2026-12 owing 60,000.00; its page says cheques are not accepted, with
    the reason, while A1 (705.00 at its close of 2026-11) is told how to pay by cheque (D17-R26)."""
    from store.ledger import close_period

    from .ledger_helpers import AT, declare, txn

    build_world(engine)
    client = user_of(engine, portal(engine, tmp_path), "northern01", IMPORTER)  # enrolled first: the questions know the world
    declare(engine, dict(transaction_number=txn("12001", 9), rm15=A2, asec="12001", release_date="2026-11-25",
                         accounting_date="2026-11-25", duty="60000.00"))
    with engine.begin() as conn:
        close_period(conn, "2026-12", policy=POLICY, at=AT)
    a2 = client.get(f"/accounts/{A2}").text
    assert "Cheques are not accepted for this account:" in a2 and "owes $60000.00 a month: it must pay electronically (D17-R24)" in a2
    a1 = client.get(f"/accounts/{A1}").text
    assert "By cheque, payable to the Receiver General for Canada" in a1 and "not accepted" not in a1
