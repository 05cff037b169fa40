"""Pre-authorized debit agreements (D17-R23 « Débit préautorisé (DPA) »): on a statement's due date,
collections first debits what that statement still owes, once, by the 820's posting (method PAD,
electronic), so the debited account draws no penalty (decision L28).

The world (tests/ledger_helpers.py): NORTHERN IMPORTS owes 600.00 of duty on A1 and 300.00 on A2,
both accounted in billing period 2026-11 (10-18 → 11-17), statement 11-25, due 2026-12-01; period
2026-12 (11-18 → 12-17) is due 2026-12-31.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from store.journal import check_books
from store.schema import payment

from .ledger_helpers import IMPORTER, balances, declare, setup_world, txn
from .test_channels import carm

A1 = f"{IMPORTER}RM0001"
A2 = f"{IMPORTER}RM0002"
FEE = f"fee:administrative fee: partial non-electronic payment {IMPORTER}-7"


@pytest.fixture
def world(engine):
    setup_world(engine)
    declare(engine,
            dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02",
                 duty="600.00"),
            dict(transaction_number=txn("12001", 2), rm15=A2, asec="12001", release_date="2026-11-05", accounting_date="2026-11-05",
                 duty="300.00"))
    return engine


def _collections(engine, tmp_path, day: str) -> list[str]:
    code, out = carm(engine, tmp_path, "collections", "run", "--date", day)
    assert code == 0, out
    return [line for line in out.splitlines() if line.startswith("pre-authorized debit")]


def test_a_pad_agreement_debits_what_the_statement_still_owes_on_its_due_date_once(world, tmp_path):
    """A1 enrolled from 11-20. A 100.00 cheque on 11-26 leaves 500.00 of the 600.00 billed and brings
    the 25.00 administrative fee (D17-R34), posted 11-26 — after the period's end, so not on the
    2026-11 statement. On 12-01 the debit takes 500.00, no more; A2, without an agreement, draws the
    200.00 penalty on 12-02 and A1 none."""
    code, out = carm(world, tmp_path, "pad", "enrol", A1, "--payer", IMPORTER, "--bank", "BANK-001", "--from", "2026-11-20")
    assert (code, out) == (0, f"{A1} enrolled: its statements debited from {IMPORTER}'s account BANK-001 on their due dates "
                              "from 2026-11-20\n")
    code, out = carm(world, tmp_path, "pad", "enrol", A1, "--payer", IMPORTER, "--bank", "BANK-002", "--from", "2026-11-21")
    assert (code, out) == (1, f"{A1} not enrolled: {A1} has a pre-authorized debit agreement from 2026-11-20 (BANK-001): cancel it "
                              "first\n")
    code, out = carm(world, tmp_path, "payments", "cheque", "7", "--payer", IMPORTER, "--line", f"{A1}=100.00",
                     "--received-at", "2026-11-26T10:00")
    assert code == 0, out
    assert balances(world, A1) == {f"declaration:duty:{txn('12001', 1)}": 500_00, FEE: 25_00}

    assert _collections(world, tmp_path, "2026-11-30") == []  # not a due date
    assert _collections(world, tmp_path, "2026-12-01") == [f"pre-authorized debit {A1} (statement 2026-11): 500.00 debited"]
    assert balances(world, A1) == {FEE: 25_00}
    assert _collections(world, tmp_path, "2026-12-01") == []  # once
    with world.begin() as conn:
        row = conn.execute(select(payment.c.fi, payment.c.trace, payment.c.method, payment.c.kind, payment.c.total_cents,
                                  payment.c.payment_day).where(payment.c.fi == "PAD")).one()
    assert tuple(row) == ("PAD", f"PAD-{A1}-2026-11", "PAD", "SOA", 500_00, date(2026, 12, 1))

    assert _collections(world, tmp_path, "2026-12-02") == []
    assert balances(world, A1) == {FEE: 25_00}  # no penalty: the statement was paid on its due date
    assert balances(world, A2)["penalty:late-payment penalty: balance due 2026-12-01 unpaid"] == 200_00

    code, out = carm(world, tmp_path, "pad", "list")
    assert (code, out) == (0, f"{A1}  {IMPORTER}  BANK-001  2026-11-20 → open\n")
    code, out = carm(world, tmp_path, "pad", "cancel", A1, "--on", "2026-12-15")
    assert (code, out) == (0, f"{A1}: pre-authorized debits end after 2026-12-15\n")
    # the 2026-12 statement billed the 25.00 fee, due 12-31: the agreement has ended, nothing is debited
    assert _collections(world, tmp_path, "2026-12-31") == []
    assert balances(world, A1) == {FEE: 25_00}
    code, out = carm(world, tmp_path, "pad", "cancel", A1)
    assert (code, out) == (1, f"{A1} not cancelled: {A1} has no open pre-authorized debit agreement\n")
    with world.begin() as conn:
        assert check_books(conn) == []


def test_an_agreement_starting_after_the_due_date_debits_nothing(world, tmp_path):
    code, _ = carm(world, tmp_path, "pad", "enrol", A1, "--payer", IMPORTER, "--bank", "BANK-001", "--from", "2026-12-02")
    assert code == 0
    assert _collections(world, tmp_path, "2026-12-01") == []
    assert balances(world, A1) == {f"declaration:duty:{txn('12001', 1)}": 600_00}
