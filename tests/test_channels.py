"""A cheque mailed to headquarters (D17-R26), entered by an operator with `carm payments cheque`:
judged by the 820's checks plus the cheque rules, posted by the 820's posting — and the one path
where the administrative fee of a partial non-electronic payment arises (D17-R34, decision L24).

The world (tests/ledger_helpers.py): NORTHERN IMPORTS (secured, ASEC 12001) owes 600.00 of
duty on A1, accounted 2026-11-02: billing period 2026-11 (10-18 → 11-17), statement 2026-11-25,
due 2026-12-01 (the 10th weekday after 11-17). PRAIRIE TRADING holds no security account.
"""

from __future__ import annotations

import contextlib
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from carm.cli import main
from core.clock import EASTERN
from edi.samples import LineSpec, PaymentSpec
from store.ledger import close_period
from store.schema import payment

from .golden_scenario import environment
from .ledger_helpers import AT, IMPORTER, OTHER, POLICY, assert_books_sound, balances, declare, items, notices, pay, setup_world, txn

A1 = f"{IMPORTER}RM0001"
A2 = f"{IMPORTER}RM0002"
P1 = f"{OTHER}RM0001"
DUTY = "declaration:duty:{}"


def carm(engine, tmp_path: Path, *args: str) -> tuple[int, str]:
    """`carm ARGS` in this process, against `engine`'s database."""
    out = io.StringIO()
    env = {"CARM_HOME": str(tmp_path), "CARM_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "CARM_LOG_FORMAT": "json", "CARM_POLICY": None}
    with environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue()


@pytest.fixture
def world(engine):
    setup_world(engine)
    declare(engine,
            dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01",
                 accounting_date="2026-11-02", duty="600.00"),
            dict(transaction_number=txn("00000", 2), rm15=P1, release_date="2026-11-03", accounting_date="2026-11-03",
                 duty="9000.00"))
    return engine



def test_a_partial_cheque_on_a_statement_bears_the_administrative_fee_once(world, tmp_path):
    """400.00 of the 600.00 billed by the 2026-11 statement, received 2026-11-26 (after the
    statement, before the due date): 200.00 left of the duty, and a 25.00 fee (policy
    admin_fee_cents) due with the next statement, 2026-12-31 (the 10th weekday after 12-17,
    Christmas counted as a weekday, D17-R31)."""
    code, out = carm(world, tmp_path, "payments", "cheque", "000123", "--payer", IMPORTER, "--line", f"{A1}=400.00",
                     "--received-at", "2026-11-26T10:00")
    assert code == 0, out
    assert out == (f"cheque {IMPORTER}-000123: posted, applied 400.00, left as credit 0.00, in suspense 0.00, "
                   "administrative fee 25.00\n")
    assert balances(world, A1) == {DUTY.format(txn("12001", 1)): 200_00,
                                   f"fee:administrative fee: partial non-electronic payment {IMPORTER}-000123": 25_00}
    (fee,) = [it for it in items(world, A1) if it.kind == "fee"]
    assert (fee.posted_on, fee.due_date) == (date(2026, 11, 26), date(2026, 12, 31))
    with world.begin() as conn:
        row = conn.execute(select(payment.c.fi, payment.c.method, payment.c.status, payment.c.payment_day)).one()
    assert tuple(row) == ("HQ-CHEQUE", "CHK", "posted", date(2026, 11, 26))
    assert [n.kind for n in notices(world)] == ["payment_applied"]
    # the same cheque entered again: nothing more
    code, out = carm(world, tmp_path, "payments", "cheque", "000123", "--payer", IMPORTER, "--line", f"{A1}=400.00",
                     "--received-at", "2026-11-26T15:00")
    assert (code, out) == (0, f"cheque {IMPORTER}-000123 was entered before (posted): nothing done\n")
    assert balances(world, A1)[DUTY.format(txn("12001", 1))] == 200_00
    assert sum(balances(world, A1).values()) == 225_00
    assert_books_sound(world)


@pytest.mark.parametrize(("amount", "received", "fee", "left"), [
    ("600.00", "2026-11-26T10:00", 0, 0),  # the whole statement balance: no fee
    ("650.00", "2026-11-26T10:00", 0, -50_00),  # more than the balance: the rest is a credit, no fee
    ("100.00", "2026-11-20T10:00", 0, 500_00),  # before the 2026-11 statement is issued (11-25): nothing billed yet
    ("599.99", "2026-12-07T10:00", 25_00, 1),  # late and one cent short
])
def test_the_fee_is_for_a_statement_balance_left_unpaid(world, tmp_path, amount, received, fee, left):
    code, out = carm(world, tmp_path, "payments", "cheque", "7", "--payer", IMPORTER, "--line", f"{A1}={amount}",
                     "--received-at", received)
    assert code == 0, out
    assert out.endswith(f"administrative fee {fee // 100}.{fee % 100:02d}\n")
    owed = balances(world, A1)
    assert sum(v for k, v in owed.items() if k.startswith("fee:")) == fee
    assert sum(v for k, v in owed.items() if not k.startswith("fee:")) == left
    assert_books_sound(world)


def test_an_electronic_payment_of_part_of_the_balance_bears_no_fee(world):
    """D17-R34 « Ces frais peuvent être annulés si le paiement est reçu par voie électronique »."""
    pay(world, PaymentSpec("E1", IMPORTER, [LineSpec(A1, 400_00)]), received_at=datetime(2026, 11, 26, 10, 0, tzinfo=EASTERN))
    assert balances(world, A1) == {DUTY.format(txn("12001", 1)): 200_00}


def test_a_cheque_above_5000_from_a_payer_without_security_must_be_certified(world, tmp_path):
    """D17-R26 b « les chèques supérieurs à 5 000 $ doivent être certifiés » — above, not at."""
    code, out = carm(world, tmp_path, "payments", "cheque", "55", "--payer", OTHER, "--line", f"{P1}=5000.01",
                     "--received-at", "2026-11-26T10:00")
    assert code == 1
    assert out == (f"cheque {OTHER}-55 refused (refused), return it to the payer:\n"
                   "  a cheque above $5000.00 from a payer without a security account must be certified (D17-R26)\n")
    assert balances(world, P1) == {DUTY.format(txn("00000", 2)): 9000_00}
    code, out = carm(world, tmp_path, "payments", "cheque", "56", "--payer", OTHER, "--line", f"{P1}=5000.00",
                     "--received-at", "2026-11-26T10:00")
    assert code == 0, out
    code, out = carm(world, tmp_path, "payments", "cheque", "57", "--payer", OTHER, "--line", f"{P1}=4000.00", "--certified",
                     "--received-at", "2026-11-26T10:00")
    assert code == 0, out
    # the 5000.00 cheque left 4000.00 of the 9000.00 billed: a 25.00 fee (D17-R34), due 2026-12-31; the
    # certified 4000.00 then paid the rest of the billed balance (the fee came after the statement): no second fee
    assert balances(world, P1) == {f"fee:administrative fee: partial non-electronic payment {OTHER}-56": 25_00}
    # a secured payer's large cheque needs no certification
    code, out = carm(world, tmp_path, "payments", "cheque", "58", "--payer", IMPORTER, "--line", f"{A1}=6000.00",
                     "--received-at", "2026-11-26T10:00")
    assert code == 0, out
    assert_books_sound(world)


def test_an_account_owing_over_50000_a_month_must_pay_electronically(world, tmp_path):
    """D17-R24: A2 closes period 2026-11 owing 50,000.01; its cheque is refused with the reason,
    while A1 (600.00) may still pay by cheque."""
    declare(world, dict(transaction_number=txn("12001", 3), rm15=A2, asec="12001", release_date="2026-11-05",
                        accounting_date="2026-11-05", duty="50000.01"))
    with world.begin() as conn:
        close_period(conn, "2026-11", policy=POLICY, at=AT)
    code, out = carm(world, tmp_path, "payments", "cheque", "90", "--payer", IMPORTER, "--line", f"{A2}=50000.01",
                     "--received-at", "2026-11-26T10:00")
    assert code == 1
    assert out == (f"cheque {IMPORTER}-90 refused (refused), return it to the payer:\n"
                   f"  {A2} owes $50000.01 a month: it must pay electronically (D17-R24)\n")
    code, out = carm(world, tmp_path, "payments", "cheque", "91", "--payer", IMPORTER, "--line", f"{A1}=600.00",
                     "--received-at", "2026-11-26T10:00")
    assert code == 0, out
    assert_books_sound(world)


def test_a_cheque_line_for_an_unknown_account_is_held_in_suspense(world, tmp_path):
    code, out = carm(world, tmp_path, "payments", "cheque", "12", "--payer", IMPORTER, "--line", f"{A1}=600.00",
                     "--line", "999999998RM0001=40.00", "--received-at", "2026-11-26T10:00")
    assert code == 1
    assert out.splitlines()[0] == (f"cheque {IMPORTER}-12: posted, applied 600.00, left as credit 0.00, in suspense 40.00, "
                                   "administrative fee 0.00")
    assert out.splitlines()[1].startswith("  line 2 (999999998RM0001) held in suspense: ")
    assert_books_sound(world)


@pytest.mark.parametrize("args", [
    ["1", "--payer", IMPORTER, "--line", f"{A1}=12.345"],  # not whole cents
    ["1", "--payer", IMPORTER, "--line", "=5.00"],
    ["1", "--payer", IMPORTER, "--line", A1],
    ["1", "--payer", IMPORTER, "--line", f"{A1}=abc"],
    ["1", "--payer", IMPORTER, "--line", f"{IMPORTER}RM00011=5.00"],  # not an RM15
    ["1", "--payer", IMPORTER, "--line", f"{A1}=5.00:1200"],  # not a 5-character ASEC
    ["1", "--payer", "123456789", "--line", f"{A1}=5.00"],  # BN9 check digit
    ["1" * 21, "--payer", IMPORTER, "--line", f"{A1}=5.00"],  # no cheque serial is 21 digits
    ["12A", "--payer", IMPORTER, "--line", f"{A1}=5.00"],
])
def test_a_malformed_entry_is_refused_before_anything_is_read(world, tmp_path, args):
    code, out = carm(world, tmp_path, "payments", "cheque", *args)
    assert (code, out) == (2, "")
    with world.begin() as conn:
        assert conn.execute(select(payment.c.id)).all() == []


def test_an_account_billed_by_calendar_month_is_charged_on_its_own_statement(world, tmp_path):
    """A2 is billed by calendar month (decision L17): November's statement is dated 12-08, so a
    cheque of 12-09 pays part of what it billed — the 900.00 accounted 11-20, which the 18th→17th
    cycle would bill only on 12-25 — and bears the fee, due with December's statement: the 10th
    weekday after 12-31 is 2027-01-14 (New Year's Day counted as a weekday, D17-R31)."""
    setup_world(world, {"program_accounts": [{"rm15": A2, "client_type": "RPP", "calendar_month": True}]})
    declare(world, dict(transaction_number=txn("12001", 4), rm15=A2, asec="12001", release_date="2026-11-20",
                        accounting_date="2026-11-20", duty="900.00"))
    code, out = carm(world, tmp_path, "payments", "cheque", "31", "--payer", IMPORTER, "--line", f"{A2}=500.00",
                     "--received-at", "2026-12-09T10:00")
    assert code == 0, out
    assert out.endswith("administrative fee 25.00\n")
    (fee,) = [it for it in items(world, A2) if it.kind == "fee"]
    assert (fee.posted_on, fee.due_date, fee.balance_cents) == (date(2026, 12, 9), date(2027, 1, 14), 25_00)
    # the same cheque on A1 (18th→17th): the 2026-11 statement billed 600.00, paid in full — no fee
    code, out = carm(world, tmp_path, "payments", "cheque", "32", "--payer", IMPORTER, "--line", f"{A1}=600.00",
                     "--received-at", "2026-12-09T10:00")
    assert code == 0 and out.endswith("administrative fee 0.00\n"), out
    assert_books_sound(world)
