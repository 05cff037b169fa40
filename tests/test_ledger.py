"""The ledger, rule by rule, with worked examples whose numbers are computed here by hand.

Every test runs on SQLite and on PostgreSQL (the `engine` fixture).  Dates:
billing period 2026-11 runs 2026-10-18 → 2026-11-17 and is due Tuesday
2026-12-01 (the 10th weekday after the 17th, D17-R31); 2026-12 is due 2026-12-31.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from core.clock import EASTERN
from core.db import make_engine
from core.errors import ConfigError
from ledger.errors import IdempotencyConflict, UnbalancedEntry
from ledger.model import Entry, JournalLine
from ledger.policy import load_policy
from store.journal import check_books, post
from store.ledger import account_view, close_period, load_reference, run_collections
from store.schema import account_balance, journal_entry, payment, program_account

from .ledger_helpers import (
    AT,
    BROKER,
    CLIENT,
    IMPORTER,
    OTHER,
    POLICY,
    PaymentSpec,
    balances,
    declare,
    notices,
    pay,
    setup_world,
    txn,
)
from .ledger_helpers import (
    LineSpec as PayLine,
)

A1, A2 = f"{IMPORTER}RM0001", f"{IMPORTER}RM0002"
C1, C2 = f"{CLIENT}RM0001", f"{CLIENT}RM0002"
ON_TIME = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)


@pytest.fixture
def world(engine):
    setup_world(engine)
    return engine


def ok(engine) -> None:
    with engine.begin() as conn:
        assert check_books(conn) == []


def collections(engine, day: date):
    with engine.begin() as conn:
        return run_collections(conn, day, policy=POLICY, at=AT)


def close(engine, period: str):
    with engine.begin() as conn:
        return close_period(conn, period, policy=POLICY, at=AT)


# ------------------------------------------------------------------ declarations
def test_a_declaration_is_one_debt_per_component_due_on_the_period_due_date(world):
    """D17-R8, R31: accounted 2026-11-05 under security 40001 → due 2026-12-01."""
    number = txn("40001", 1)
    report = declare(world, dict(transaction_number=number, rm15=C1, asec="40001", broker_bn9=BROKER,
                                 release_date="2026-11-04", accounting_date="2026-11-05", duty="5000.00", gst="2500.00"))
    assert (report.posted, report.problems) == (1, [])
    assert balances(world, C1) == {f"declaration:duty:{number}": 500000, f"declaration:gst:{number}": 250000}
    assert {it.due_date for it in __import__("tests.ledger_helpers", fromlist=["items"]).items(world, C1)} == {date(2026, 12, 1)}
    ok(world)


def test_an_unsecured_declaration_is_due_at_release(world):
    """D17-R21: no security account → payable at release."""
    number = txn("50505", 1)
    declare(world, dict(transaction_number=number, rm15=C2, release_date="2026-11-06", accounting_date="2026-11-06", duty="410.00", gst="90.00"))
    from .ledger_helpers import items

    assert {it.due_date for it in items(world, C2)} == {date(2026, 11, 6)}


def test_loading_declarations_twice_changes_nothing_and_conflicts_are_reported(world):
    row = dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01",
               accounting_date="2026-11-02", duty="100.00")
    assert declare(world, row).posted == 1
    second = declare(world, row)
    assert (second.posted, second.already, second.problems) == (0, 1, [])
    conflict = declare(world, {**row, "duty": "999.00"})
    assert conflict.posted == 0 and "already posted with other amounts" in conflict.problems[0].message
    assert balances(world, A1) == {f"declaration:duty:{row['transaction_number']}": 10000}
    ok(world)


def test_malformed_declaration_rows_are_reported_and_the_rest_posted(world):
    good = dict(transaction_number=txn("12001", 2), rm15=A1, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02", duty="1.00")
    short = {**good, "transaction_number": good["transaction_number"][:-1]}
    report = declare(
        world,
        short,
        {**good, "transaction_number": txn("12001", 3), "rm15": "999999998RM0001"},
        {**good, "transaction_number": txn("12001", 4), "duty": "-5.00"},
        {**good, "transaction_number": txn("40001", 5)},  # does not start with its security account
        good,
    )
    assert report.posted == 1
    assert [p.message for p in report.problems] == [
        f"transaction number {short['transaction_number']!r} is not 14 digits",
        "program account '999999998RM0001' is not known",
        "duty '-5.00' is not an amount in dollars and cents",
        f"transaction number {txn('40001', 5)} does not start with security account 12001",
    ]


def test_a_transaction_number_is_checked_for_its_format_and_a_check_digit_only_by_policy(world):
    """Issue 10, item 2 (DOMAIN §1, decision L2): the one transaction number in the seeds, 13409539086039
    (the portal guide's enrolment question), fails the Luhn rule the engine used to impose; by
    default only the format is checked — 14 ASCII digits, the first five the security account when
    there is one — and a check-digit rule is a policy option (`transaction_check_digit = "luhn"`)."""
    row = dict(transaction_number="13409539086039", rm15=A1, release_date="2026-11-01", accounting_date="2026-11-02", duty="12.34")
    strict = replace(POLICY, transaction_check_digit="luhn")
    refused = declare(world, row, policy=strict)
    assert [p.message for p in refused.problems] == ["transaction number 13409539086039 fails its check digit (luhn)"]
    assert declare(world, row).posted == 1
    odd = declare(world, {**row, "transaction_number": "1340953908603\u0661"}, {**row, "transaction_number": "13409539086039", "asec": "12001"})
    assert [p.message for p in odd.problems] == [
        "transaction number '1340953908603\u0661' is not 14 digits",
        "transaction number 13409539086039 does not start with security account 12001",
    ]
    assert balances(world, A1) == {"declaration:duty:13409539086039": 12_34}


def test_a_policy_file_names_a_known_check_digit_rule(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('transaction_check_digit = "luhn"\n')
    assert load_policy(path).transaction_check_digit == "luhn"
    path.write_text('transaction_check_digit = "mod11"\n')
    with pytest.raises(ConfigError, match="transaction_check_digit must be none or luhn"):
        load_policy(path)


def test_a_refund_is_a_credit_on_the_account_associated_with_the_agent(world):
    """D17-R9, R11."""
    number = txn("40001", 1)
    declare(
        world,
        dict(transaction_number=number, rm15=C1, asec="40001", broker_bn9=BROKER, release_date="2026-11-04",
             accounting_date="2026-11-05", duty="5000.00"),
        dict(record="refund", transaction_number=number, accounting_date="2026-11-10", reference="RF-1",
             component="duty", amount="100.00", agent_bn9=BROKER),
    )
    from .ledger_helpers import items

    credit = [it for it in items(world, C1) if it.balance_cents < 0]
    assert [(c.balance_cents, c.agent_bn9) for c in credit] == [(-10000, BROKER)]
    with world.begin() as conn:
        assert account_view(conn, C1, date(2026, 11, 10)).balance_cents == 500000 - 10000
    ok(world)


# ------------------------------------------------------------------ payments
def _two_declarations(engine):
    """A1 owes 600.00 due 2026-12-01 (period 2026-11) and 400.00 due 2026-12-31 (period 2026-12)."""
    first, second = txn("12001", 11), txn("12001", 12)
    declare(
        engine,
        dict(transaction_number=first, rm15=A1, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02", duty="500.00", gst="100.00"),
        dict(transaction_number=second, rm15=A1, asec="12001", release_date="2026-11-19", accounting_date="2026-11-20", duty="400.00"),
    )
    return first, second


def test_a_payment_pays_the_oldest_due_first(world):
    """Decision L3: 700.00 pays the 600.00 due 12-01 (duty then GST) and 100.00 of the 400.00 due 12-31."""
    first, second = _two_declarations(world)
    done = pay(world, PaymentSpec("T1", IMPORTER, [PayLine(A1, 700_00)]), received_at=ON_TIME)
    assert [(p.status, p.applied_cents, p.credit_cents, p.suspense_cents) for p in done.posted] == [("posted", 70000, 0, 0)]
    assert balances(world, A1) == {f"declaration:duty:{second}": 40000 - 10000}
    ok(world)


def test_an_overpayment_stays_on_the_account_as_an_unapplied_credit(world):
    _two_declarations(world)
    pay(world, PaymentSpec("T1", IMPORTER, [PayLine(A1, 1_250_00)]), received_at=ON_TIME)
    assert balances(world, A1) == {"payment:unapplied payment T1 line 1": -25000}  # 1,250 - 600 - 400
    ok(world)


def test_a_broker_payment_reaches_only_the_debts_under_its_security(world):
    """D17-R4, Annex F: the broker pays with ASEC 40001; the client's own debt is not touched."""
    broker_decl, own_decl = txn("40001", 1), txn("50505", 2)
    declare(
        world,
        dict(transaction_number=broker_decl, rm15=C1, asec="40001", broker_bn9=BROKER, release_date="2026-11-04", accounting_date="2026-11-05", duty="300.00"),
        dict(transaction_number=own_decl, rm15=C1, release_date="2026-11-01", accounting_date="2026-11-01", duty="200.00"),
    )
    pay(world, PaymentSpec("B1", BROKER, [PayLine(C1, 350_00)], kind="ADV", payer_asec="40001"), received_at=ON_TIME)
    assert balances(world, C1) == {f"declaration:duty:{own_decl}": 20000, "payment:unapplied payment B1 line 1": -5000}
    ok(world)


def test_an_interim_payment_waits_as_a_credit_tagged_with_its_security(world):
    """D17-R22: applied at the next period close; meanwhile it lowers the security's utilization."""
    number = txn("40001", 1)
    declare(world, dict(transaction_number=number, rm15=C1, asec="40001", broker_bn9=BROKER, release_date="2026-11-04",
                        accounting_date="2026-11-05", duty="8500.00"))
    collections(world, date(2026, 11, 20))
    assert [n.kind for n in notices(world, "security_exceeded")] == ["security_exceeded"]  # 8,500 > 8,000
    pay(world, PaymentSpec("I1", CLIENT, [PayLine(C1, 1_000_00, "40001")], kind="INT"), received_at=ON_TIME)
    assert balances(world, C1) == {f"declaration:duty:{number}": 850000, "payment:interim payment I1 line 1": -100000}
    collections(world, date(2026, 11, 21))
    assert len(notices(world, "security_exceeded")) == 1  # 8,500 - 1,000 = 7,500 ≤ 8,000: no new alert
    close(world, "2026-11")  # received 11-20, after this period's end: it waits for the next
    assert balances(world, C1)[f"declaration:duty:{number}"] == 850000
    close(world, "2026-12")
    assert balances(world, C1) == {f"declaration:duty:{number}": 750000}
    ok(world)


def test_lines_that_cannot_be_applied_are_held_in_suspense(world):
    """820 guide: unknown RM15, inactive RM15, no relationship → line set aside (TE), money in suspense."""
    _two_declarations(world)
    done = pay(
        world,
        PaymentSpec("M1", IMPORTER, [
            PayLine(A1, 600_00),
            PayLine("999999998RM0001", 10_00),  # valid check digit, no such account
            PayLine(f"{OTHER}RM0009", 20_00),  # inactive
            PayLine(f"{OTHER}RM0001", 30_00),  # someone else's account, no relationship (D17-R3)
        ]),
        received_at=ON_TIME,
    )
    (s,) = done.outcome.sets
    assert s.verdict.code == "TE"
    assert s.verdict.summary["findings"] == [  # line 1 applied
        "line 2: 011 unknown program account 999999998RM0001",
        f"line 3: 011 program account {OTHER}RM0009 is not active",
        f"line 4: 011 no relationship lets {IMPORTER} pay {OTHER}RM0001",
    ]
    assert [(p.applied_cents, p.suspense_cents) for p in done.posted] == [(60000, 6000)]
    with world.begin() as conn:
        assert account_view(conn, A1, date(2026, 11, 20)).suspense_cents == {"M1": 6000}
    ok(world)


def test_relationship_scope_decides_what_a_broker_may_pay(world):
    """D17-R3: program scope covers the listed account only; business scope every account, later ones too."""
    spec = PaymentSpec("S1", BROKER, [PayLine(C1, 1_00), PayLine(C2, 2_00)], payer_asec="40001")
    (s,) = pay(world, spec, received_at=ON_TIME).outcome.sets
    assert (s.verdict.summary["applied"], s.verdict.summary["findings"]) == (1, [f"line 2: 011 no relationship lets {BROKER} pay {C2}"])
    with world.begin() as conn:
        load_reference(conn, {
            "relationships": [{"client_bn9": CLIENT, "provider_bn9": BROKER, "scope": "business", "start_date": "2024-01-01"}],
            "program_accounts": [{"rm15": f"{CLIENT}RM0003", "client_type": "BRK"}],  # added later
        })
    spec = PaymentSpec("S2", BROKER, [PayLine(C2, 2_00), PayLine(f"{CLIENT}RM0003", 3_00)], payer_asec="40001")
    (s,) = pay(world, spec, received_at=ON_TIME, control=2).outcome.sets
    assert (s.verdict.summary["applied"], s.verdict.summary["set_aside"]) == (2, 0)


def test_a_payment_from_an_unknown_payer_is_refused_neither_posted_nor_held(world):
    """820 guide: a refused set gets a negative 997 (no proof of payment) and its money never
    enters the books — the FI corrects and resends it, or returns the funds to its client."""
    done = pay(world, PaymentSpec("U1", "500000005", [PayLine(A1, 75_00)]), received_at=ON_TIME)
    (s,) = done.outcome.sets
    assert (s.verdict.code, [f.code for f in s.verdict.refusals], s.result.ack_code) == ("TR", ["011"], "R")
    assert [(p.status, p.applied_cents, p.suspense_cents) for p in done.posted] == [("refused", 0, 0)]
    assert balances(world, A1) == {}
    with world.begin() as conn:
        assert conn.execute(select(journal_entry.c.key).where(journal_entry.c.key.like("pay:%U1"))).all() == []
    ok(world)


def test_a_refused_payment_resent_corrected_under_the_same_trace_is_posted(world):
    """Nothing of a refused payment was taken: the FI corrects it (a wire resent as ACH) and may
    keep its trace number; the corrected payment pays 100.00 of A1's 600.00 due 2026-12-01."""
    _two_declarations(world)
    refused = pay(world, PaymentSpec("R1", IMPORTER, [PayLine(A1, 100_00)], method="FWT"), received_at=ON_TIME)
    resent = pay(world, PaymentSpec("R1", IMPORTER, [PayLine(A1, 100_00)]), received_at=ON_TIME, control=2)
    assert [p.status for p in refused.posted + resent.posted] == ["refused", "posted"]
    assert resent.posted[0].applied_cents == 100_00 and resent.outcome.sets[0].result.ack_code == "A"
    assert sum(balances(world, A1).values()) == 600_00 + 400_00 - 100_00
    ok(world)


def test_a_broker_must_name_its_security_account(world):
    (s,) = pay(world, PaymentSpec("N1", BROKER, [PayLine(C1, 1_00)]), received_at=ON_TIME).outcome.sets
    assert [(f.code, f.message) for f in s.verdict.refusals] == [("007", "a broker payment needs the broker's security account")]


def test_a_duplicate_trace_is_refused_and_not_held(world):
    """820 guide: TED 006, not posted, not in suspense, shown as a duplicate."""
    _two_declarations(world)
    pay(world, PaymentSpec("D1", IMPORTER, [PayLine(A1, 100_00)]), received_at=ON_TIME)
    again = pay(world, PaymentSpec("D1", IMPORTER, [PayLine(A1, 100_00)]), received_at=ON_TIME, control=2)
    (s,) = again.outcome.sets
    assert [(f.code, f.message) for f in s.verdict.refusals] == [("006", "trace number D1 was already received")]
    assert s.verdict.suspense_cents == 0
    assert [(p.status, p.applied_cents, p.credit_cents, p.suspense_cents) for p in again.posted] == [("duplicate", 0, 0, 0)]
    with world.begin() as conn:
        assert conn.execute(select(payment.c.status).order_by(payment.c.id)).scalars().all() == ["posted", "duplicate"]
    assert sum(balances(world, A1).values()) == 100000 - 10000
    ok(world)


def test_the_same_file_twice_is_posted_once(world):
    _two_declarations(world)
    spec = PaymentSpec("F1", IMPORTER, [PayLine(A1, 100_00)])
    first = pay(world, spec, received_at=ON_TIME)
    second = pay(world, spec, received_at=ON_TIME)
    assert second.outcome.replayed and second.posted == []
    assert second.outcome.documents == first.outcome.documents
    assert sum(balances(world, A1).values()) == 100000 - 10000
    ok(world)


def test_a_test_interchange_is_acknowledged_but_never_posted(world):
    _two_declarations(world)
    done = pay(world, PaymentSpec("X1", IMPORTER, [PayLine(A1, 100_00)]), received_at=ON_TIME, usage="T")
    assert done.outcome.sets[0].verdict.code == "TA" and done.posted == []
    assert sum(balances(world, A1).values()) == 100000


# ------------------------------------------------------------------ timeliness, penalty, interest
def _owes_ten_thousand(engine) -> str:
    number = txn("12001", 21)
    declare(engine, dict(transaction_number=number, rm15=A1, asec="12001", release_date="2026-11-09", accounting_date="2026-11-10", duty="10000.00"))
    return number


@pytest.mark.parametrize(("received", "penalties"), [((15, 59), 0), ((16, 1), 1)])
def test_a_payment_counts_for_its_day_only_by_the_cut_off(world, received, penalties):
    """D17-R32 (memo 16:00 ET): paid in full on the due date before or after the cut-off."""
    _owes_ten_thousand(world)
    when = datetime(2026, 12, 1, *received, tzinfo=EASTERN)
    pay(world, PaymentSpec("C1", IMPORTER, [PayLine(A1, 10_000_00)]), received_at=when)
    report = collections(world, date(2026, 12, 2))
    assert report.penalties == penalties
    assert report.penalty_cents == 200_00 * penalties


def test_the_late_payment_penalty_is_charged_once_per_due_date(world):
    """D17-R33: $200 flat, once, however often collections run."""
    _owes_ten_thousand(world)
    assert collections(world, date(2026, 12, 2)).penalty_cents == 20000
    assert collections(world, date(2026, 12, 3)).penalties == 0
    assert collections(world, date(2026, 12, 3)).penalties == 0
    assert balances(world, A1)["penalty:late-payment penalty: balance due 2026-12-01 unpaid"] == 20000
    ok(world)


def _compound(cents: int, annual: str, days: int) -> int:
    """Daily compounding, the closed form: cents × ((1 + r/365)^days − 1), rounded half-even."""
    factor = (Decimal(1) + Decimal(annual) / Decimal(365)) ** days - 1
    return int((Decimal(cents) * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def test_interest_runs_from_the_day_after_the_due_date_compounded_daily(world):
    """D17-R33: 10,000.00 due 12-01, specified rate 2% + 6 points = 8%.
    Collections on 12-11: days 12-02 … 12-11 = 10 days → 10,000.00 × ((1 + 0.08/365)^10 − 1) = 21.94.
    On 12-12 one more day on 10,000.00 + 21.94 (the interest compounds; the 200.00 penalty does not bear it)."""
    _owes_ten_thousand(world)
    assert _compound(1_000_000, "0.08", 10) == 2194
    report = collections(world, date(2026, 12, 11))
    assert report.interest_cents == 2194
    report = collections(world, date(2026, 12, 12))
    assert report.interest_cents == 220  # 1,002,194 × 0.08 / 365 = 219.66
    assert collections(world, date(2026, 12, 12)).interest_cents == 0  # the same day again: nothing
    ok(world)


def test_paying_late_and_running_collections_late_give_the_same_interest(world):
    """Paid in full Friday 12-04 at 10:00: interest on 10,000.00 for 12-02, 12-03 and 12-04 (the day
    of payment) = 6.5778…; unpaid, that interest bears interest itself from 12-05 to 12-11 (7 days):
    6.5778… × (1 + 0.08/365)^7 = 6.5869… → 6.59, although collections only run on 12-11 — the same
    as daily runs would charge (decision L7)."""
    _owes_ten_thousand(world)
    pay(world, PaymentSpec("L1", IMPORTER, [PayLine(A1, 10_000_00)]), received_at=datetime(2026, 12, 4, 10, 0, tzinfo=EASTERN))
    report = collections(world, date(2026, 12, 11))
    rate = Decimal("0.08") / 365
    exact = Decimal(1_000_000) * ((1 + rate) ** 3 - 1) * (1 + rate) ** 7
    assert report.interest_cents == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) == 659


@pytest.mark.parametrize("runs", [(date(2026, 12, 11),), (date(2026, 12, 2), date(2026, 12, 11)),
                                  tuple(date(2026, 12, d) for d in range(2, 12))])
def test_interest_does_not_depend_on_how_often_collections_runs(world, runs):
    """D17-R33, decision L7 (issue 10, item 1): 160.00 due 12-01, paid in full 12-11 at 10:00, at
    8 %: 160.00 × ((1 + 0.08/365)^10 − 1) = 0.3511… → 0.35, whether collections runs once on 12-11,
    on 12-02 and 12-11, or every day. (Rounding each run's interest and compounding on the rounded
    figure made it 0.04 + 0.32 = 0.36 with two runs.)"""
    declare(world, dict(transaction_number=txn("12001", 61), rm15=A1, asec="12001", release_date="2026-11-09",
                        accounting_date="2026-11-10", duty="160.00"))
    pay(world, PaymentSpec("R1", IMPORTER, [PayLine(A1, 160_00)]), received_at=datetime(2026, 12, 11, 10, 0, tzinfo=EASTERN))
    charged = sum(collections(world, day).interest_cents for day in runs)
    rate = Decimal("0.08") / 365
    assert _compound(16_000, "0.08", 10) == int((16_000 * ((1 + rate) ** 10 - 1)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) == 35
    assert charged == 35
    ok(world)


_DECEMBER = [date(2026, 12, d) for d in range(2, 31)]


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=st.sets(st.sampled_from(_DECEMBER), max_size=12),
       payments=st.lists(st.tuples(st.sampled_from(_DECEMBER[:20]), st.integers(1, 2_000_00)), max_size=4))
def test_any_schedule_of_collections_charges_the_interest_of_one_run_at_the_end(_migrated_sqlite, tmp_path_factory, runs, payments):
    """Issue 10, item 1 (D17-R33, decision L7): the same history — 10,000.00 due 12-01, partial
    payments during December (together less than the debt, so that they pay it whatever else is
    open) — with collections run on any set of days and once more on 12-31, posts, to the cent,
    the interest of a single run on 12-31."""
    charged = []
    for schedule in (sorted(runs) + [date(2026, 12, 31)], [date(2026, 12, 31)]):
        folder = tmp_path_factory.mktemp("schedule")
        shutil.copyfile(_migrated_sqlite, folder / "carm.db")
        engine = make_engine(f"sqlite:///{folder / 'carm.db'}")
        setup_world(engine)
        _owes_ten_thousand(engine)
        events = sorted([(day, 1, cents) for day, cents in payments] + [(day, 2, 0) for day in schedule])
        total = 0
        for n, (day, kind, cents) in enumerate(events):
            if kind == 1:  # a payment received at 10:00 that day
                pay(engine, PaymentSpec(f"P{n}", IMPORTER, [PayLine(A1, cents)]), received_at=datetime(day.year, day.month, day.day, 10, tzinfo=EASTERN), control=n + 1)
            else:
                total += collections(engine, day).interest_cents
        ok(engine)
        engine.dispose()
        charged.append(total)
    assert charged[0] == charged[1]


def test_running_collections_again_on_a_day_changes_nothing_even_when_the_rates_changed(world):
    """Re-running a day changes nothing: a higher rate loaded afterwards for past days does not post
    a second interest item under the day's key (it would conflict with the first); the next day's
    run charges the difference, because the total is worked out again over the whole history.
    10,000.00 due 12-01: 12-02 … 12-11 at 8 % = 21.94; with 11 % from 12-06 instead, 12-02 … 12-12
    = 10,000.00 × ((1 + 0.08/365)^4 × (1 + 0.11/365)^7 − 1) = 29.90, so 12-12 posts 29.90 − 21.94."""
    _owes_ten_thousand(world)
    assert collections(world, date(2026, 12, 11)).interest_cents == 2194
    with world.begin() as conn:
        load_reference(conn, {"interest_rates": [{"effective_from": "2026-12-06", "prescribed_rate": "5.00"}]})
    again = collections(world, date(2026, 12, 11))
    assert (again.interest_items, again.interest_cents) == (0, 0)
    exact = Decimal(1_000_000) * ((1 + Decimal("0.08") / 365) ** 4 * (1 + Decimal("0.11") / 365) ** 7 - 1)
    total = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert total == 2990
    assert collections(world, date(2026, 12, 12)).interest_cents == total - 2194
    ok(world)


def test_a_payment_received_on_a_weekend_counts_for_the_next_business_day(world):
    """D17-R32: received Sunday 12-06 → counts for Monday 12-07: 6 days of interest on the principal
    (12-02 … 12-07), 13.16…, which then bears interest itself 12-08 … 12-11: 13.1641… → 13.17."""
    _owes_ten_thousand(world)
    pay(world, PaymentSpec("W1", IMPORTER, [PayLine(A1, 10_000_00)]), received_at=datetime(2026, 12, 6, 10, 0, tzinfo=EASTERN))
    rate = Decimal("0.08") / 365
    exact = Decimal(1_000_000) * ((1 + rate) ** 6 - 1) * (1 + rate) ** 4
    assert collections(world, date(2026, 12, 11)).interest_cents == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)) == 1317


def test_a_rate_change_applies_from_its_effective_day(world):
    """Prescribed 2% to 12-05, 5% from 12-06: 4 days at 8% then 6 days at 11%, compounding throughout."""
    with world.begin() as conn:
        load_reference(conn, {"interest_rates": [{"effective_from": "2026-12-06", "prescribed_rate": "5.00"}]})
    _owes_ten_thousand(world)
    after_four = Decimal(1_000_000) * (1 + Decimal("0.08") / 365) ** 4
    after_ten = after_four * (1 + Decimal("0.11") / 365) ** 6
    expected = int((after_ten - 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert expected == 2688
    assert collections(world, date(2026, 12, 11)).interest_cents == expected


def test_an_interim_payment_made_before_the_due_date_settles_it_no_penalty(world):
    """D17-R22, decision L4: 1,000.00 due 12-01 (period 2026-11); an interim payment of 1,200.00 arrives
    11-20, after the period end: on the due date it pays the 1,000.00; 200.00 stays as a credit."""
    number = txn("12001", 41)
    declare(world, dict(transaction_number=number, rm15=A1, asec="12001", release_date="2026-11-09", accounting_date="2026-11-10", duty="1000.00"))
    close(world, "2026-11")  # period end 11-17: nothing to offset yet
    pay(world, PaymentSpec("I9", IMPORTER, [PayLine(A1, 1_200_00, "12001")], kind="INT"), received_at=ON_TIME)
    report = collections(world, date(2026, 12, 2))
    assert (report.settlements, report.penalties, report.interest_cents) == (1, 0, 0)
    assert balances(world, A1) == {"payment:interim payment I9 line 1": -20000}
    ok(world)


def test_standing_and_the_arrears_notice_thirty_days_after_the_due_date(world):
    """D17-R36, R37: on 12-31 the 10,000.00 due 12-01 is 30 days overdue: notice with
    overdue amount, the 200.00 penalty and 30 days of interest (12-02 … 12-31)."""
    _owes_ten_thousand(world)
    with world.begin() as conn:
        assert account_view(conn, A1, date(2026, 12, 1)).good_standing
        assert not account_view(conn, A1, date(2026, 12, 2)).good_standing
    collections(world, date(2026, 12, 30))
    assert notices(world, "arrears") == []
    collections(world, date(2026, 12, 31))
    (notice,) = notices(world, "arrears")
    import json

    # runs on 12-30 and 12-31 charge, together, the interest of 30 days worked out at once (decision L7)
    interest = _compound(1_000_000, "0.08", 30)
    assert interest == 6596
    assert json.loads(notice.data) == {
        "as_of": "2026-12-31", "due_date": "2026-12-01", "overdue_cents": 1_000_000, "penalties_cents": 20000,
        "interest_cents": interest, "total_cents": 1_000_000 + 20000 + interest,
    }
    assert notice.urgent


# ------------------------------------------------------------------ period close
def test_close_offsets_an_agents_credit_against_that_agents_debts_first(world):
    """D17-R10, R11: the broker's 200.00 refund pays the broker's 500.00 debt, not the older 300.00 one."""
    own, brokered = txn("50505", 3), txn("40001", 2)
    declare(
        world,
        dict(transaction_number=own, rm15=C1, release_date="2026-10-20", accounting_date="2026-10-20", duty="300.00"),
        dict(transaction_number=brokered, rm15=C1, asec="40001", broker_bn9=BROKER, release_date="2026-11-04", accounting_date="2026-11-05", duty="500.00"),
        dict(record="refund", transaction_number=brokered, accounting_date="2026-11-10", reference="RF-9", component="duty", amount="200.00", agent_bn9=BROKER),
    )
    report = close(world, "2026-11")
    assert (report.offsets, report.offset_cents) == (1, 20000)
    assert balances(world, C1) == {f"declaration:duty:{own}": 30000, f"declaration:duty:{brokered}": 30000}
    assert close(world, "2026-11").already_closed
    ok(world)


def test_a_credit_above_the_threshold_is_disbursed_at_close(world):
    """D17-R13: 2,000.00 paid, 1,500.00 refunded → no debt, credit 1,500.00 > 1,000.00 → paid out."""
    number = txn("12001", 31)
    declare(
        world,
        dict(transaction_number=number, rm15=A1, asec="12001", release_date="2026-10-20", accounting_date="2026-10-21", duty="2000.00"),
    )
    pay(world, PaymentSpec("P1", IMPORTER, [PayLine(A1, 2_000_00)]), received_at=ON_TIME)
    declare(world, dict(record="refund", transaction_number=number, accounting_date="2026-11-12", reference="RF-2", component="duty", amount="1500.00"))
    report = close(world, "2026-11")
    assert (report.disbursements, report.disbursed_cents) == (1, 150000)
    assert balances(world, A1) == {}
    assert [n.kind for n in notices(world, "disbursement")] == ["disbursement"]
    ok(world)


def test_a_small_credit_is_disbursed_after_two_consecutive_months_in_credit(world):
    """D17-R13: 500.00 ≤ 1,000.00 → kept at the 2026-11 close, paid out at the 2026-12 close."""
    number = txn("12001", 32)
    declare(world, dict(transaction_number=number, rm15=A2, asec="12001", release_date="2026-10-20", accounting_date="2026-10-21", duty="500.00"))
    pay(world, PaymentSpec("P2", IMPORTER, [PayLine(A2, 500_00)]), received_at=ON_TIME)
    declare(world, dict(record="refund", transaction_number=number, accounting_date="2026-11-12", reference="RF-3", component="duty", amount="500.00"))
    assert close(world, "2026-11").disbursements == 0
    assert close(world, "2026-12").disbursed_cents == 50000


def test_no_disbursement_while_any_debt_stands_and_never_to_a_broker(world):
    """D17-R12: a debt accounted after the period end blocks it; D17-R13: brokers never."""
    with world.begin() as conn:
        load_reference(conn, {"program_accounts": [{"rm15": f"{BROKER}RM0001", "client_type": "BRKS"}]})
    number, later, brokers = txn("12001", 33), txn("12001", 34), txn("40001", 35)
    declare(
        world,
        dict(transaction_number=number, rm15=A1, asec="12001", release_date="2026-10-20", accounting_date="2026-10-21", duty="3000.00"),
        dict(transaction_number=brokers, rm15=f"{BROKER}RM0001", asec="40001", release_date="2026-10-20", accounting_date="2026-10-21", duty="3000.00"),
    )
    pay(world, PaymentSpec("P3", IMPORTER, [PayLine(A1, 3_000_00)]), received_at=ON_TIME)
    pay(world, PaymentSpec("P4", BROKER, [PayLine(f"{BROKER}RM0001", 3_000_00)], payer_asec="40001"), received_at=ON_TIME, control=2)
    declare(
        world,
        dict(record="refund", transaction_number=number, accounting_date="2026-11-12", reference="RF-4", component="duty", amount="2500.00"),
        dict(record="refund", transaction_number=brokers, accounting_date="2026-11-12", reference="RF-5", component="duty", amount="2500.00"),
        dict(transaction_number=later, rm15=A1, asec="12001", release_date="2026-11-18", accounting_date="2026-11-18", duty="10.00"),
    )
    assert close(world, "2026-11").disbursements == 0
    assert sum(balances(world, A1).values()) == -250000 + 1000


# ------------------------------------------------------------------ the books
def test_the_journal_refuses_unbalanced_or_negative_entries(world):
    with world.begin() as conn:
        with pytest.raises(UnbalancedEntry):
            post(conn, Entry("x:1", date(2026, 11, 1), "CORRECTION", "bad", (JournalLine("BANK", debit_cents=100), JournalLine("REVENUE", credit_cents=99))), AT)
        with pytest.raises(UnbalancedEntry):
            post(conn, Entry("x:2", date(2026, 11, 1), "CORRECTION", "bad", (JournalLine("BANK", debit_cents=-1), JournalLine("REVENUE", credit_cents=-1))), AT)
        with pytest.raises(UnbalancedEntry):
            post(conn, Entry("x:3", date(2026, 11, 1), "CORRECTION", "bad", (JournalLine("BANK", debit_cents=1.5), JournalLine("REVENUE", credit_cents=1.5))), AT)  # type: ignore[arg-type]


def test_the_same_key_with_other_content_is_a_conflict_not_a_replay(world):
    entry = Entry("c:1", date(2026, 11, 1), "CORRECTION", "move", (JournalLine("BANK", debit_cents=100), JournalLine("REVENUE", credit_cents=100)))
    with world.begin() as conn:
        first = post(conn, entry, AT)
        assert first is not None and post(conn, entry, AT) is None
        with pytest.raises(IdempotencyConflict):
            post(conn, Entry("c:1", date(2026, 11, 1), "CORRECTION", "move", (JournalLine("BANK", debit_cents=5), JournalLine("REVENUE", credit_cents=5))), AT)
        assert conn.execute(select(journal_entry.c.id)).scalars().all() == [first]


def test_ledger_check_catches_a_cache_that_drifted_from_the_journal(world):
    _two_declarations(world)
    ok(world)
    with world.begin() as conn:
        conn.execute(update(account_balance).where(account_balance.c.rm15 == A1).values(balance_cents=1))
        assert [str(p) for p in check_books(conn)] == [f"account {A1}: cache 1 != journal 100000"]


def test_direct_gst_and_direct_security_are_mutually_exclusive(world):
    """D17-R5."""
    with world.begin() as conn:
        report = load_reference(conn, {"program_accounts": [{"rm15": f"{OTHER}RM0002", "client_type": "DIR", "direct_gst": True, "direct_security": True}]})
        assert [p.message for p in report.problems] == ["direct GST and direct security options are mutually exclusive (D17-R5)"]
        assert conn.execute(select(program_account.c.rm15).where(program_account.c.rm15 == f"{OTHER}RM0002")).first() is None


@pytest.mark.parametrize(
    ("method", "kind", "paid", "due", "fee"),
    [
        ("CHK", "SOA", 400_00, 1_000_00, 25_00),  # partial, non-electronic: the fee
        ("CHK", "SOA", 1_000_00, 1_000_00, 0),  # paid in full
        ("ACH", "SOA", 400_00, 1_000_00, 0),  # electronic: waived
        ("CHK", "ADV", 400_00, 1_000_00, 0),  # not a statement payment
    ],
)
def test_the_administrative_fee_for_a_partial_non_electronic_payment(method, kind, paid, due, fee):
    """D17-R34 (policy admin_fee_cents, 25.00 by default)."""
    from ledger.posting import administrative_fee_cents

    assert administrative_fee_cents(method, kind, paid, due, POLICY) == fee


def test_each_arrears_notice_states_its_own_due_dates_penalty_and_interest(world):
    """D17-R37 (issue 10, item 8): 10,000.00 due 12-01 and 1,000.00 due 12-31, both unpaid. The
    notice for 12-31, sent 30 days after it (2027-01-30), states 1,000.00, the 200.00 penalty of
    that due date — not the 400.00 of both — and the interest its own debt bore from 01-01 to
    01-30: 1,000.00 × ((1 + 0.08/365)^30 − 1) = 6.5963 → 6.60, not the whole account's interest."""
    _owes_ten_thousand(world)
    declare(world, dict(transaction_number=txn("12001", 71), rm15=A1, asec="12001", release_date="2026-11-30",
                        accounting_date="2026-12-01", duty="1000.00"))
    for day in (date(2026, 12, 31), date(2027, 1, 30)):
        collections(world, day)
    by_due = {json.loads(n.data)["due_date"]: json.loads(n.data) for n in notices(world, "arrears")}
    assert by_due["2026-12-01"] == {"as_of": "2026-12-31", "due_date": "2026-12-01", "overdue_cents": 1_000_000, "penalties_cents": 20000,
                                    "interest_cents": _compound(1_000_000, "0.08", 30), "total_cents": 1_000_000 + 20000 + 6596}
    own = _compound(100_000, "0.08", 30)
    assert own == 660
    assert by_due["2026-12-31"] == {"as_of": "2027-01-30", "due_date": "2026-12-31", "overdue_cents": 100_000, "penalties_cents": 20000,
                                    "interest_cents": own, "total_cents": 100_000 + 20000 + own}
    ok(world)


def test_interest_and_penalty_on_a_brokers_debt_carry_the_brokers_security_account(world):
    """D17-R4, R35: the broker is liable for debts under its security; their interest and penalty
    are tagged with its ASEC, so its statement shows them. 1,000.00 due 12-01 at 8%: 1 day = 0.22."""
    number = txn("40001", 51)
    declare(world, dict(transaction_number=number, rm15=C1, asec="40001", broker_bn9=BROKER, release_date="2026-11-04",
                        accounting_date="2026-11-05", duty="1000.00"))
    report = collections(world, date(2026, 12, 2))
    assert (report.penalty_cents, report.interest_cents) == (20000, _compound(100_000, "0.08", 1)) == (20000, 22)
    from .ledger_helpers import items

    charged = {(it.kind, it.asec, it.agent_bn9) for it in items(world, C1) if it.kind in ("interest", "penalty")}
    assert charged == {("interest", "40001", BROKER), ("penalty", "40001", BROKER)}
