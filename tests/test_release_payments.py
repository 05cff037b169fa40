"""Payment at release (D17-R21 b « Au moment où les marchandises font l'objet d'une mainlevée en
ce qui a trait aux comptes de douane pour lesquels aucun dépôt de sécurité n'a été versé »): an
unsecured declaration is due at release; `carm payments release` posts exactly what it owes, by
the 820's posting, so it draws no penalty or interest.

PRAIRIE TRADING (no security account) has P1; its declarations are due on their release date.
Prescribed rate 2.00 %: interest at 8 % a year (D17-R33: prescribed + 6 points), daily.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from store.journal import check_books
from store.schema import payment

from .ledger_helpers import IMPORTER, OTHER, balances, declare, items, setup_world, txn
from .test_channels import carm

P1 = f"{OTHER}RM0001"
A1 = f"{IMPORTER}RM0001"
T2, T3, T1 = txn("00000", 2), txn("00000", 3), txn("12001", 1)


@pytest.fixture
def world(engine):
    setup_world(engine)
    declare(engine,
            dict(transaction_number=T2, rm15=P1, release_date="2026-11-03", accounting_date="2026-11-03", duty="1000.00", gst="50.00"),
            dict(transaction_number=T3, rm15=P1, release_date="2026-11-04", accounting_date="2026-11-04", duty="1000.00"),
            dict(transaction_number=T1, rm15=A1, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02",
                 duty="600.00"))
    return engine


def test_an_unsecured_declaration_paid_at_release_draws_no_penalty(world, tmp_path):
    """T2 (1,050.00, released 11-03) is paid at release by Interac on 11-03; T3 (1,000.00, released
    11-04) is not. Collections of 11-05: T3's due date 11-04 passed unpaid — the 200.00 penalty,
    and one day's interest (11-05) on 1,000.00: 1000.00 × 0.08 / 365 = 0.219… → 0.22; T2 nothing."""
    code, out = carm(world, tmp_path, "payments", "release", T2, "--method", "INTERAC", "--received-at", "2026-11-03T11:00")
    assert (code, out) == (0, f"declaration {T2} paid at release by INTERAC: 1050.00 (trace REL-{T2})\n")
    assert {k: v for k, v in balances(world, P1).items() if T2 in k} == {}
    with world.begin() as conn:
        row = conn.execute(select(payment.c.fi, payment.c.method, payment.c.kind, payment.c.total_cents, payment.c.payment_day)).one()
    assert tuple(row) == ("RELEASE", "INTERAC", "ADV", 1050_00, date(2026, 11, 3))
    code, out = carm(world, tmp_path, "collections", "run", "--date", "2026-11-05")
    assert code == 0, out
    assert balances(world, P1) == {f"declaration:duty:{T3}": 1000_00, "penalty:late-payment penalty: balance due 2026-11-04 unpaid": 200_00,
                                   # labelled from the day after the account's first due date (T2's 11-03), which bore nothing
                                   "interest:interest 2026-11-04 to 2026-11-05": 22}
    assert [it.kind for it in items(world, P1) if it.transaction_number == T2] == []
    # again: it owes nothing, nothing is taken
    code, out = carm(world, tmp_path, "payments", "release", T2, "--method", "CARD", "--received-at", "2026-11-05T11:00")
    assert (code, out) == (1, f"declaration {T2} not paid at release: declaration {T2} owes nothing: it is paid\n")
    with world.begin() as conn:
        assert check_books(conn) == []


def test_a_secured_declaration_is_not_paid_at_release(world, tmp_path):
    code, out = carm(world, tmp_path, "payments", "release", T1, "--method", "CARD")
    assert (code, out) == (1, f"declaration {T1} not paid at release: declaration {T1} is secured by security account 12001: it is "
                              "paid by the due date of its statement (D17-R21), not at release\n")
    code, out = carm(world, tmp_path, "payments", "release", "00000000000000", "--method", "CARD")
    assert (code, out) == (1, "declaration 00000000000000 not paid at release: no declaration 00000000000000 was accounted\n")
    assert balances(world, A1) == {f"declaration:duty:{T1}": 600_00}


def test_a_card_at_release_counts_toward_the_card_limit(world, tmp_path):
    """D17-R23: 4,000.00 by card on P1 in period 2026-11 (10-18 → 11-17), then T3's 1,000.00 by card
    at release would bring 5,000.00: refused; by Interac it is taken."""
    code, out = carm(world, tmp_path, "payments", "card", P1, "4000.00", "--payer", OTHER, "--token", "tok_visa",
                     "--reference", "C1", "--received-at", "2026-11-04T09:00")
    assert code == 0, out
    assert balances(world, P1) == {"payment:unapplied payment C1 line 1": -1950_00}  # T2 1,050.00 and T3 1,000.00 paid first
    declare(world, dict(transaction_number=txn("00000", 4), rm15=P1, release_date="2026-11-05", accounting_date="2026-11-05",
                        duty="1000.00"))
    code, out = carm(world, tmp_path, "payments", "release", txn("00000", 4), "--method", "CARD", "--received-at", "2026-11-05T10:00")
    assert (code, out) == (1, f"declaration {txn('00000', 4)} not paid at release: {P1} has had $4000.00 by card in billing period "
                              "2026-11: $1000.00 more would exceed $4999.99 (D17-R23)\n")
