"""Bad standing has consequences (D17-R36…R38): after a debt is 30 days overdue, the daily
collections run records, from that day, a release hold, payment at release for goods released
from then on, and a claim against each security account of the overdue debts (capped by the
security posted); all of it ends, dated, when the account is brought current — history kept.

The world (interest set to zero, so every figure is a whole penalty or duty):
NORTHERN IMPORTS owes 600.00 of duty on A1 (security 12001, 75,000.00 posted) and 600.00 on A2
(security 12002, only 500.00 posted), both accounted 2026-11-02, so due 2026-12-01.  Nothing
is paid: the run of 12-02 charges each account the $200 penalty (due 12-02).  On 12-30 the duty
is 29 days overdue — no measures; on 12-31, 30 days — measures on both, since 2026-12-31:
overdue 600.00 + 200.00 = 800.00 each; A1's claim 800.00 (under 75,000.00), A2's capped at 500.00.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import select

from core.clock import EASTERN
from statements.notices import render_notice
from statements.render import render_html
from statements.soa import iter_statements
from store.journal import check_books
from store.ledger import account_view, run_collections
from store.schema import account_standing, ar_item, security_claim

from .golden_scenario import carm, environment
from .ledger_helpers import AT, BROKER, CLIENT, IMPORTER, POLICY, LineSpec, PaymentSpec, declare, notices, pay, setup_world, txn
from .statements_helpers import close, parse, statements

A1, A2 = f"{IMPORTER}RM0001", f"{IMPORTER}RM0002"
NO_INTEREST = replace(POLICY, interest_markup_bp=0)
EXTRA = {
    "security_accounts": [{"asec": "12002", "holder_bn9": IMPORTER, "holder_kind": "importer", "security": "500.00"}],
    "interest_rates": [{"effective_from": "2026-11-01", "prescribed_rate": "0.00"}],
}
SINCE = date(2026, 12, 31)
BROUGHT_CURRENT = date(2027, 1, 5)


def _collect(engine, day: date):
    with engine.begin() as conn:
        return run_collections(conn, day, policy=NO_INTEREST, at=AT)


def _view(engine, rm15: str, day: date):
    with engine.begin() as conn:
        return account_view(conn, rm15, day)


def _records(engine) -> list[tuple]:
    with engine.begin() as conn:
        return [tuple(r) for r in conn.execute(
            select(account_standing.c.rm15, account_standing.c.since, account_standing.c.ended_on, account_standing.c.oldest_due_date,
                   account_standing.c.overdue_cents).order_by(account_standing.c.rm15, account_standing.c.since))]


def _claims(engine) -> list[tuple]:
    with engine.begin() as conn:
        return [tuple(r) for r in conn.execute(
            select(account_standing.c.rm15, security_claim.c.asec, security_claim.c.claimed_on, security_claim.c.overdue_cents,
                   security_claim.c.security_cents, security_claim.c.claim_cents, security_claim.c.withdrawn_on)
            .join(account_standing, account_standing.c.id == security_claim.c.standing_id).order_by(account_standing.c.rm15))]


def _due(engine, number: str) -> date:
    with engine.begin() as conn:
        return conn.execute(select(ar_item.c.due_date).where(ar_item.c.key == f"decl:{number}:duty")).scalar_one()


@pytest.fixture
def world(engine):
    setup_world(engine, EXTRA)
    declare(engine,
            dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02", duty="600.00"),
            dict(transaction_number=txn("12002", 1), rm15=A2, asec="12002", release_date="2026-11-01", accounting_date="2026-11-02", duty="600.00"),
            policy=NO_INTEREST)
    assert _collect(engine, date(2026, 12, 2)).penalty_cents == 2 * 200_00
    return engine


def test_measures_start_on_the_30th_day_overdue_with_claims_capped_by_the_security(world):
    assert _collect(world, date(2026, 12, 30)).measures_started == 0  # 29 days: not yet
    assert _view(world, A1, date(2026, 12, 30)).good_standing is False  # but not in good standing since 12-02 (§36)
    report = _collect(world, SINCE)
    assert (report.measures_started, report.measures_ended) == (2, 0)
    assert _records(world) == [(A1, SINCE, None, date(2026, 12, 1), 800_00), (A2, SINCE, None, date(2026, 12, 1), 800_00)]
    assert _claims(world) == [(A1, "12001", SINCE, 800_00, 75_000_00, 800_00, None), (A2, "12002", SINCE, 800_00, 500_00, 500_00, None)]
    again = _collect(world, SINCE)
    assert (again.measures_started, again.measures_ended) == (0, 0)  # re-running the day changes nothing
    assert len(_records(world)) == 2 and len(notices(world, "standing_measures")) == 2

    before, on = _view(world, A1, date(2026, 12, 30)), _view(world, A1, SINCE)
    assert before.measures is None
    assert on.measures.as_dict() == {"since": "2026-12-31", "ended_on": None, "reason": "balance due 2026-12-01 overdue 30 days",
                                     "oldest_due_date": "2026-12-01", "overdue_cents": 800_00, "release_hold": True, "pay_at_release": True,
                                     "claims": [{"asec": "12001", "claim_cents": 800_00, "overdue_cents": 800_00, "security_cents": 75_000_00}]}
    told = {n.rm15: n for n in notices(world, "standing_measures")}
    assert (told[A2].bn9, told[A2].notice_date, told[A2].urgent) == (IMPORTER, SINCE, True)
    subject, body = render_notice("standing_measures", json.loads(told[A2].data), notice_date=SINCE, account=A2, language="fr")
    assert subject == f"Le compte {A2} n'est pas en règle : la mainlevée des marchandises peut être refusée"
    assert "500,00" in body and "12002" in body and "au moment de la mainlevée" in body
    subject, body = render_notice("standing_measures", json.loads(told[A2].data), notice_date=SINCE, account=A2, language="en")
    assert "- further release of goods may be refused (Customs Act, s. 97.25);\n" in body
    assert "- $500.00 is claimed against security account 12002.\n" in body


def test_goods_released_under_the_measures_are_due_at_release(world):
    """D17-R38 c: released 2027-01-05 while A1 is under measures → due 2027-01-05; released
    2026-12-20, before them, and accounted the same day → due on the period's due date: the
    period ends 2027-01-17 (a Sunday), ten weekdays later is 2027-01-29."""
    _collect(world, SINCE)
    under, before = txn("12001", 2), txn("12001", 3)
    declare(world,
            dict(transaction_number=under, rm15=A1, asec="12001", release_date="2027-01-05", accounting_date="2027-01-05", duty="100.00"),
            dict(transaction_number=before, rm15=A1, asec="12001", release_date="2026-12-20", accounting_date="2027-01-05", duty="50.00"),
            policy=NO_INTEREST)
    assert _due(world, under) == date(2027, 1, 5)
    assert _due(world, before) == date(2027, 1, 29)


def test_brought_current_the_measures_end_dated_and_history_is_kept(world, tmp_path):
    """A1 pays 900.00 on 2027-01-05 by the cut-off: the 600.00 duty, the 200.00 penalty and the
    100.00 released under the measures (due that day).  The run of 01-05 finds nothing overdue:
    the record ends 2027-01-05, the claim is withdrawn, the holder told.  A2, unpaid, stays under
    measures: its statement for period 2027-01 (to 01-17) shows them; A1's does not."""
    _collect(world, SINCE)
    declare(world, dict(transaction_number=txn("12001", 2), rm15=A1, asec="12001", release_date="2027-01-05",
                        accounting_date="2027-01-05", duty="100.00"), policy=NO_INTEREST)
    pay(world, PaymentSpec("P1", IMPORTER, [LineSpec(A1, 900_00)]), received_at=datetime(2027, 1, 5, 10, 0, tzinfo=EASTERN), policy=NO_INTEREST)
    report = _collect(world, BROUGHT_CURRENT)
    assert (report.measures_started, report.measures_ended, report.penalties) == (0, 1, 0)
    assert _records(world) == [(A1, SINCE, BROUGHT_CURRENT, date(2026, 12, 1), 800_00), (A2, SINCE, None, date(2026, 12, 1), 800_00)]
    assert [c[-1] for c in _claims(world)] == [BROUGHT_CURRENT, None]
    assert _collect(world, BROUGHT_CURRENT).measures_ended == 0
    assert _view(world, A1, date(2027, 1, 4)).measures.since == SINCE
    assert _view(world, A1, BROUGHT_CURRENT).measures is None and _view(world, A1, BROUGHT_CURRENT).good_standing
    (restored,) = notices(world, "standing_restored")
    assert (restored.rm15, restored.notice_date) == (A1, BROUGHT_CURRENT)
    with world.begin() as conn:
        assert check_books(conn) == []

    close(world, "2026-12")
    close(world, "2027-01")
    statements(world, "2027-01", tmp_path, formats=("xml", "html", "pdf"))
    docs = {doc.find(".//{*}Importer/{*}RM15").text: doc for doc in map(parse, tmp_path.rglob("*.xml"))}
    html = {p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.html")}
    assert sum("Account not in good standing since December 31, 2026 (D17-R38)" in h for h in html) == 1  # A2's, not A1's
    assert sum("Claimed against security account 12002" in h for h in html) == 1
    with world.begin() as conn:
        (soa,) = [d for d in iter_statements(conn, "2027-01", policy=NO_INTEREST) if d.holder.rm15 == A2]
    french = render_html(soa, "fr").decode("utf-8")
    assert "Compte non en règle depuis le 31 décembre 2026 (D17-R38)" in french
    assert "Réclamé sur la garantie du compte de garantie 12002" in french
    soa_a1, soa_a2 = docs[A1], docs[A2]
    measures = soa_a2.find(".//{*}NotInGoodStanding")
    assert [(e.tag.split("}")[1], e.text) for e in measures.iter() if e.text and e.text.strip()] == [
        ("Since", "2026-12-31"), ("OldestDueDate", "2026-12-01"), ("ReleaseHold", "true"), ("PaymentAtRelease", "true"),
        ("SecurityAccount", "12002"), ("Amount", "500.00")]
    assert soa_a1.find(".//{*}NotInGoodStanding") is None


def test_account_show_tells_the_release_hold(world):
    _collect(world, SINCE)
    url = world.url.render_as_string(hide_password=False)
    with environment({"CARM_DATABASE_URL": url, "CARM_LOG_FORMAT": "json", "CARM_LOG_LEVEL": "ERROR", "CARM_POLICY": None}):
        code, shown = carm("account", "show", A2, "--as-of", "2027-01-04")
        _, earlier = carm("account", "show", A2, "--as-of", "2026-12-30")
    assert code == 0
    assert shown.splitlines()[2] == ("RELEASE HOLD since 2026-12-31 (D17-R38): further release may be refused, duties and taxes due "
                                     "at release; 500.00 claimed against security 12002")
    assert "RELEASE HOLD" not in earlier


def test_a_claim_on_a_brokers_security_is_told_to_the_broker_too(world):
    """D17-R4: the broker is liable for what its security secures. The French client's C1 owes 600.00
    accounted under the broker's security 40001 (8,000.00), due 2026-12-01; on 12-31 its penalty
    (charged for 12-02, tagged 40001 like the debt) and the duty make 800.00 overdue: 800.00 is claimed
    against 40001, and both the client and the broker are told."""
    c1 = f"{CLIENT}RM0001"
    declare(world, dict(transaction_number=txn("40001", 1), rm15=c1, asec="40001", broker_bn9=BROKER, release_date="2026-11-01",
                        accounting_date="2026-11-02", duty="600.00"), policy=NO_INTEREST)
    _collect(world, SINCE)
    assert [c for c in _claims(world) if c[0] == c1] == [(c1, "40001", SINCE, 800_00, 8_000_00, 800_00, None)]
    told = sorted((n.bn9, n.key) for n in notices(world, "standing_measures") if n.rm15 == c1)
    assert told == [(CLIENT, f"standing_measures:{c1}:2026-12-31"), (BROKER, f"standing_measures:{c1}:2026-12-31:40001")]


def _collect_in_a_process(url: str, barrier, results) -> None:
    from core.db import make_engine

    engine = make_engine(url)
    barrier.wait()
    with engine.begin() as conn:
        report = run_collections(conn, SINCE, policy=NO_INTEREST, at=AT)
    results.put(report.measures_started)
    engine.dispose()


def test_two_collections_runs_of_the_same_day_at_once_record_the_measures_once(pg_engine):
    import multiprocessing as mp

    setup_world(pg_engine, EXTRA)
    declare(pg_engine, dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01",
                            accounting_date="2026-11-02", duty="600.00"), policy=NO_INTEREST)
    _collect(pg_engine, date(2026, 12, 2))
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    url = pg_engine.url.render_as_string(hide_password=False)
    workers = [ctx.Process(target=_collect_in_a_process, args=(url, barrier, results)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert _records(pg_engine) == [(A1, SINCE, None, date(2026, 12, 1), 800_00)]
    assert _claims(pg_engine) == [(A1, "12001", SINCE, 800_00, 75_000_00, 800_00, None)]
    assert len(notices(pg_engine, "standing_measures")) == 1
