"""Corrections (D17-R18, Annex E): a holder's request to correct a penalty, interest or a fee is
reviewed by another officer and, approved, posted once as an adjusting entry that names the entry
it corrects — the charge itself never touched.

The world: NORTHERN IMPORTS (A1) owes 600.00 of duty, accounted 2026-11-02 under its security
12001, so due 2026-12-01 (billing period to 11-17, ten weekdays after).  Nothing is paid; the
collections run of 2026-12-02 charges the $200 late-payment penalty (D17-R33) and one day of
interest: 600.00 × (2 % prescribed + 6 points) / 365 = 0.1315… → 0.13.  A1 owes 800.13.
"""

from __future__ import annotations

import multiprocessing as mp
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from core.clock import EASTERN
from core.db import make_engine
from core.problems import Problem
from ledger.corrections import CorrectionRequest
from statements.render import render_html
from statements.soa import iter_statements
from store import corrections
from store.journal import balance
from store.ledger import run_collections
from store.schema import ar_item, journal_entry, journal_line

from .golden_scenario import carm, environment
from .ledger_helpers import AT, IMPORTER, POLICY, LineSpec, PaymentSpec, assert_books_sound, balances, declare, notices, pay, setup_world, txn
from .statements_helpers import accounts, close, daily, lines, parse, statements, xml_docs

A1 = f"{IMPORTER}RM0001"
DUTY = f"declaration:duty:{txn('12001', 1)}"
PENALTY_ENTRY = f"penalty:{A1}:2026-12-01"
INTEREST_ENTRY = f"interest:{A1}:12001:2026-12-02"
REVIEWED = date(2026, 12, 3)
ASKED_AT = datetime(2026, 12, 2, 15, 0, tzinfo=EASTERN)
REVIEWED_AT = datetime(2026, 12, 3, 21, 30, tzinfo=EASTERN)  # 02:30 UTC on 12-04: the message says the Eastern day


@pytest.fixture
def world(engine):
    setup_world(engine)
    declare(engine, dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01",
                         accounting_date="2026-11-02", duty="600.00"))
    with engine.begin() as conn:
        report = run_collections(conn, date(2026, 12, 2), policy=POLICY, at=AT)
    assert (report.penalty_cents, report.interest_cents) == (200_00, 13)
    assert _balance(engine) == 600_00 + 200_00 + 13
    return engine


def _balance(engine) -> int:
    with engine.begin() as conn:
        return balance(conn, A1)



def _ask(engine, entry: str, amount: int | None = None, by: str = "clerk1", reason: str = "paid on time, posted late by our bank"):
    with engine.begin() as conn:
        return corrections.request(conn, A1, entry, amount, reason=reason, by=by, at=ASKED_AT)


def _approve(engine, request_id: int, by: str = "officer1"):
    with engine.begin() as conn:
        return corrections.approve(conn, request_id, by=by, day=REVIEWED, at=REVIEWED_AT)


def _lines_of(engine, key: str) -> list[tuple]:
    with engine.begin() as conn:
        return [tuple(r) for r in conn.execute(
            select(journal_line.c.account, ar_item.c.key, journal_line.c.debit_cents, journal_line.c.credit_cents)
            .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
            .outerjoin(ar_item, ar_item.c.id == journal_line.c.item_id)
            .where(journal_entry.c.key == key).order_by(journal_line.c.id))]


def _corrections_posted(engine) -> int:
    with engine.begin() as conn:
        return conn.execute(select(func.count()).select_from(journal_entry).where(journal_entry.c.reason == "CORRECTION")).scalar_one()


def test_a_wrongly_charged_penalty_is_reversed_once_by_an_entry_naming_it(world, tmp_path):
    """Request + approval take exactly 200.00 off A1 (800.13 → 600.13); the adjusting entry debits
    PENALTY and credits the penalty item and names the penalty entry; the penalty entry's own lines are
    what they were; a second approval, a second request for the same penalty and the next collections
    run post nothing more; the next Daily Notice shows the correction."""
    penalty_lines = _lines_of(world, PENALTY_ENTRY)
    assert penalty_lines == [("AR", f"penalty:{A1}:2026-12-01", 200_00, 0), ("PENALTY", None, 0, 200_00)]
    asked = _ask(world, PENALTY_ENTRY)
    assert isinstance(asked, CorrectionRequest), asked
    assert (asked.kind, asked.amount_cents, asked.status) == ("penalty", 200_00, "requested")
    assert _balance(world) == 800_13  # until processed, the whole balance is still due (memo §19)

    done = _approve(world, asked.id)
    assert isinstance(done, CorrectionRequest), done
    assert (done.status, done.reviewed_by, done.adjusting_entry_key) == ("approved", "officer1", f"correction:{asked.id}")
    assert _balance(world) == 800_13 - 200_00
    assert balances(world, A1) == {DUTY: 600_00, "interest:interest 2026-12-02 to 2026-12-02": 13}
    assert _lines_of(world, f"correction:{asked.id}") == [("PENALTY", None, 200_00, 0), ("AR", f"penalty:{A1}:2026-12-01", 0, 200_00)]
    assert _lines_of(world, PENALTY_ENTRY) == penalty_lines  # never updated in place
    with world.begin() as conn:
        penalty_id = conn.execute(select(journal_entry.c.id).where(journal_entry.c.key == PENALTY_ENTRY)).scalar_one()
        reverses, day = conn.execute(select(journal_entry.c.reverses, journal_entry.c.entry_date)
                                     .where(journal_entry.c.key == f"correction:{asked.id}")).one()
    assert (reverses, day) == (penalty_id, REVIEWED)

    again = _approve(world, asked.id, by="officer2")
    twice = _ask(world, PENALTY_ENTRY, 1)
    assert (again.code, again.message) == ("already-reviewed", f"correction {asked.id} was already approved by officer1 on 2026-12-03")
    assert (twice.code, twice.message) == ("exceeds", f"1 cents is more than the 0 cents entry {PENALTY_ENTRY} still carries "
                                                      "(charged 20000, corrected 20000)")
    with world.begin() as conn:
        rerun = run_collections(conn, REVIEWED, policy=POLICY, at=AT)
    assert rerun.penalties == 0  # the penalty item exists: the correction is not undone by the next run
    assert _corrections_posted(world) == 1
    assert_books_sound(world)

    (told,) = notices(world, "correction_approved")
    assert (told.bn9, told.rm15, told.notice_date, told.urgent) == (IMPORTER, A1, REVIEWED, False)
    dn = xml_docs(daily(world, date(2026, 12, 4), tmp_path))[A1]  # issued 12-04 for what was recorded on 12-03
    other = accounts(dn)[A1].find("{*}OtherTransactions")
    assert ("CORRECTION", -200_00) in lines(other)
    assert [r.text for r in other.iter("{*}Reference")] == [f"correction {asked.id}"]

    # the statement of period 2026-12 (to 12-17) shows it among the other items, in English and in French
    close(world, "2026-12")
    statements(world, "2026-12", tmp_path / "soa")
    (soa,) = [parse(p) for p in (tmp_path / "soa").rglob("*.xml") if parse(p).find(".//{*}Importer/{*}RM15").text == A1]
    (line,) = soa.find(".//{*}OtherItems").iter("{*}Line")
    assert [(e.tag.split("}")[1], e.text) for e in line] == [
        ("Date", "2026-12-03"), ("Type", "CORRECTION"), ("SecurityAccount", "12001"), ("Reference", f"correction {asked.id}"),
        ("Description", "late-payment penalty: balance due 2026-12-01 unpaid"), ("DueDate", "2026-12-02"), ("Amount", "-200.00")]
    with world.begin() as conn:
        (statement,) = [d for d in iter_statements(conn, "2026-12", policy=POLICY) if d.holder.rm15 == A1]
    french = render_html(statement, "fr").decode("utf-8")
    assert "<td>Correction</td>" in french and "Sanction pour paiement en retard" in french


def test_the_requester_cannot_approve_their_own_request(world):
    asked = _ask(world, PENALTY_ENTRY, by="clerk1")
    refused = _approve(world, asked.id, by="clerk1")
    assert (refused.code, refused.message) == ("four-eyes", f"clerk1 recorded correction {asked.id}: another officer must review it")
    assert _balance(world) == 800_13 and _corrections_posted(world) == 0
    with world.begin() as conn:
        (still,) = corrections.requests(conn, rm15=A1)
    assert still.status == "requested"


def test_interest_wrongly_charged_is_reversed_the_same_way(world):
    asked = _ask(world, INTEREST_ENTRY, reason="the rate applied was not in force")
    assert (asked.kind, asked.amount_cents) == ("interest", 13)
    done = _approve(world, asked.id)
    assert done.status == "approved"
    assert _balance(world) == 800_13 - 13
    assert _lines_of(world, f"correction:{asked.id}") == [("INTEREST", None, 13, 0), ("AR", INTEREST_ENTRY, 0, 13)]
    assert_books_sound(world)


def test_a_penalty_already_paid_becomes_a_credit_when_corrected(world):
    """§19: « en cas de trop perçu, un crédit sera appliqué au compte de douane ». A1 pays the 800.13
    on 12-02; the penalty corrected afterwards has nothing open to take off: the 200.00 is a credit."""
    pay(world, PaymentSpec("P1", IMPORTER, [LineSpec(A1, 800_13)]), received_at=datetime(2026, 12, 2, 11, 0, tzinfo=EASTERN))
    assert balances(world, A1) == {}
    asked = _ask(world, PENALTY_ENTRY)
    done = _approve(world, asked.id)
    assert done.status == "approved"
    assert balances(world, A1) == {"credit:overpaid penalty credited by correction 1": -200_00}
    assert _lines_of(world, "correction:1") == [("PENALTY", None, 200_00, 0), ("AR", "correction:1", 0, 200_00)]
    (told,) = notices(world, "correction_approved")
    assert '"credit_cents": 20000' in told.data and '"still_open_cents": 0' in told.data
    assert_books_sound(world)


def test_a_partial_correction_leaves_the_rest_to_a_later_one_and_no_more(world):
    first = _ask(world, PENALTY_ENTRY, 150_00)
    _approve(world, first.id)
    second = _ask(world, PENALTY_ENTRY, 60_00)
    assert second.code == "exceeds"  # 200.00 − 150.00 = 50.00 left
    third = _ask(world, PENALTY_ENTRY, 50_00)
    assert _approve(world, third.id).status == "approved"
    assert _balance(world) == 800_13 - 200_00
    assert_books_sound(world)


def test_a_request_that_cannot_be_recorded_says_why(world):
    assert _ask(world, "penalty:nothing").code == "not-found"
    assert _ask(world, f"decl:{txn('12001', 1)}").code == "not-correctable"  # a declaration is corrected by a B2, not here (memo §20)
    assert _ask(world, PENALTY_ENTRY, reason=" ").code == "not-requested"
    with world.begin() as conn:
        assert corrections.requests(conn) == []


def test_a_rejected_request_posts_nothing_and_tells_the_holder_why(world):
    asked = _ask(world, PENALTY_ENTRY)
    with world.begin() as conn:
        own = corrections.reject(conn, asked.id, by="clerk1", day=REVIEWED, at=REVIEWED_AT, note="no")
        done = corrections.reject(conn, asked.id, by="officer1", day=REVIEWED, at=REVIEWED_AT, note="the payment reached us after the due date")
        late = corrections.approve(conn, asked.id, by="officer2", day=REVIEWED, at=REVIEWED_AT)
    assert own.code == "four-eyes"
    assert (done.status, done.review_note, done.adjusting_entry_key) == ("rejected", "the payment reached us after the due date", None)
    assert late.code == "already-reviewed"
    assert _balance(world) == 800_13 and _corrections_posted(world) == 0
    (told,) = notices(world, "correction_rejected")
    assert (told.bn9, told.notice_date) == (IMPORTER, REVIEWED)


def test_the_cli_requests_lists_and_approves(world):
    url = world.url.render_as_string(hide_password=False)
    with environment({"CARM_DATABASE_URL": url, "CARM_LOG_FORMAT": "json", "CARM_LOG_LEVEL": "ERROR", "CARM_POLICY": None}):
        asked = carm("corrections", "request", A1, "--entry", PENALTY_ENTRY, "--reason", "bank delay", "--by", "clerk1")
        own = carm("corrections", "approve", "1", "--by", "clerk1")
        done = carm("corrections", "approve", "1", "--by", "officer1")
        again = carm("corrections", "approve", "1", "--by", "officer2")
        listed = carm("corrections", "list", "--rm15", A1)
    assert asked == (0, f"correction 1 requested: 200.00 of the penalty charged by {PENALTY_ENTRY}, awaiting another officer's review\n")
    assert own == (1, "") and again == (1, "")
    assert done[0] == 0 and done[1] == f"correction 1 approved: 200.00 taken back from {PENALTY_ENTRY} by correction:1\n"
    assert listed[1].splitlines()[-1] == "1 correction requests"
    assert "approved by officer1" in listed[1] and "(bank delay)" in listed[1]
    assert _balance(world) == 600_13


def _approve_in_a_process(url: str, barrier, results) -> None:
    engine = make_engine(url)
    barrier.wait()
    with engine.begin() as conn:
        done = corrections.approve(conn, 1, by=mp.current_process().name, day=REVIEWED, at=REVIEWED_AT)
    results.put("approved" if not isinstance(done, Problem) else done.code)
    engine.dispose()


def test_four_officers_approving_at_once_post_one_correction(pg_engine):
    setup_world(pg_engine)
    declare(pg_engine, dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01",
                            accounting_date="2026-11-02", duty="600.00"))
    with pg_engine.begin() as conn:
        run_collections(conn, date(2026, 12, 2), policy=POLICY, at=AT)
    assert _ask(pg_engine, PENALTY_ENTRY).id == 1
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    url = pg_engine.url.render_as_string(hide_password=False)
    workers = [ctx.Process(target=_approve_in_a_process, args=(url, barrier, results)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert sorted(results.get(timeout=5) for _ in workers) == ["already-reviewed"] * 3 + ["approved"]
    assert _corrections_posted(pg_engine) == 1 and _balance(pg_engine) == 600_13
    assert_books_sound(pg_engine)


def test_an_administrative_fee_is_corrected_against_the_fee_account():
    """D17-R34's fee rides on its payment entry; corrected, its 25.00 leaves FEE and the fee item
    (the rule alone: the 820 carries only electronic payments, which never bear the fee)."""
    from ledger.corrections import Charge, plan_correction
    from ledger.model import Item

    fee = Item(7, "fee:ZZ:BANK:T1", A1, None, None, "fee", None, None, date(2026, 12, 2), date(2026, 12, 2), False, "administrative fee", 25_00)
    charge = Charge(41, "pay:ZZ:BANK:T1", date(2026, 12, 2), fee, 25_00, 0)
    request = CorrectionRequest(3, A1, charge.entry_key, fee.key, "fee", 25_00, "paid in full by cheque", "clerk1", ASKED_AT, "requested")
    plan = plan_correction(request, charge, day=REVIEWED)
    (entry,) = plan.entries
    assert (entry.key, entry.reason, entry.reverses, entry.day) == ("correction:3", "CORRECTION", 41, REVIEWED)
    assert [(line.account, line.item_key, line.debit_cents, line.credit_cents) for line in entry.lines] == [
        ("FEE", None, 25_00, 0), ("AR", "fee:ZZ:BANK:T1", 0, 25_00)]
    assert plan.items == []
