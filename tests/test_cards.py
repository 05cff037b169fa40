"""Card payments (D17-R23 « Carte de crédit (jusqu'à 4 999,99 dollars canadiens) »): judged like an
820 payment plus the limit per program account and billing cycle (decision L27), authorised by
the processor (a fake here), posted by the 820's posting with method CARD.

The world (tests/ledger_helpers.py): NORTHERN IMPORTS owes 600.00 of duty on A1 (accounted
2026-11-02, billing period 2026-11, due 2026-12-01). A1 is billed 18th → 17th: period 2026-12
runs 2026-11-18 → 2026-12-17, period 2027-01 from 2026-12-18.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from carm.cards import FakeCardProcessor, pay_by_card
from core.clock import EASTERN
from store.schema import card_payment, payment

from .ledger_helpers import IMPORTER, OTHER, POLICY, assert_books_sound, balances, declare, notices, setup_world, txn
from .test_channels import carm

A1 = f"{IMPORTER}RM0001"
A2 = f"{IMPORTER}RM0002"
DUTY = f"declaration:duty:{txn('12001', 1)}"


@pytest.fixture
def world(engine):
    setup_world(engine)
    declare(engine, dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01",
                         accounting_date="2026-11-02", duty="600.00"))
    return engine



def _card(engine, rm15: str, cents: int, reference: str, at: datetime, processor: FakeCardProcessor, payer: str = IMPORTER,
          token: str = "tok_visa"):
    with engine.begin() as conn:
        return pay_by_card(conn, rm15, cents, payer_bn9=payer, token=token, reference=reference, received_at=at, processor=processor,
                           policy=POLICY)


def test_the_card_limit_is_per_account_and_billing_cycle(world, tmp_path):
    """4,999.99 on 11-20 (period 2026-12) is accepted: 600.00 pays the duty, 4,399.99 stays as a
    credit. One cent more on 12-17, still period 2026-12, is refused before any card is charged;
    the same cent on 12-18 (period 2027-01) is accepted."""
    code, out = carm(world, tmp_path, "payments", "card", A1, "4999.99", "--payer", IMPORTER, "--token", "tok_visa",
                     "--reference", "R1", "--received-at", "2026-11-20T10:00")
    assert code == 0, out
    with world.begin() as conn:
        (request,) = conn.execute(select(card_payment)).all()
        row = conn.execute(select(payment.c.fi, payment.c.trace, payment.c.method, payment.c.status, payment.c.total_cents)).one()
    assert out == f"card payment R1: authorised {request.authorisation}, 4999.99 posted to {A1}\n"
    assert request.authorisation.startswith("AUTH-") and len(request.authorisation) == 15
    assert (request.status, request.amount_cents, request.rm15, request.payer_bn9) == ("authorised", 4999_99, A1, IMPORTER)
    assert tuple(row) == ("CARD", "R1", "CARD", "posted", 4999_99)
    assert balances(world, A1) == {"payment:unapplied payment R1 line 1": -4399_99}  # no administrative fee: electronic (D17-R34)
    assert [n.kind for n in notices(world)] == ["payment_applied"]

    code, out = carm(world, tmp_path, "payments", "card", A1, "0.01", "--payer", IMPORTER, "--token", "tok_visa",
                     "--reference", "R2", "--received-at", "2026-12-17T10:00")
    assert (code, out) == (1, "card payment R2 refused, no card charged:\n"
                              f"  {A1} has had $4999.99 by card in billing period 2026-12: $0.01 more would exceed $4999.99 "
                              "(D17-R23)\n")
    processor = FakeCardProcessor()
    assert _card(world, A1, 1, "R3", datetime(2026, 12, 17, 11, tzinfo=EASTERN), processor).request.status == "refused"
    assert processor.calls == []  # refused before authorising

    code, out = carm(world, tmp_path, "payments", "card", A1, "0.01", "--payer", IMPORTER, "--token", "tok_visa",
                     "--reference", "R4", "--received-at", "2026-12-18T10:00")
    assert code == 0, out
    assert sum(balances(world, A1).values()) == -4400_00
    assert_books_sound(world)


def test_an_account_billed_by_calendar_month_counts_its_calendar_month(world, tmp_path):
    """A2 billed by calendar month (decision L17): 4,999.99 on 12-01 and 0.01 on 12-18 fall in the
    same cycle (December), so the cent is refused — the 18th → 17th cycle would have taken it."""
    setup_world(world, {"program_accounts": [{"rm15": A2, "client_type": "RPP", "calendar_month": True}]})
    processor = FakeCardProcessor()
    assert _card(world, A2, 4999_99, "M1", datetime(2026, 12, 1, 10, tzinfo=EASTERN), processor).request.status == "authorised"
    done = _card(world, A2, 1, "M2", datetime(2026, 12, 18, 10, tzinfo=EASTERN), processor)
    assert (done.request.status, done.reasons) == ("refused", (
        f"{A2} has had $4999.99 by card in billing period 2026-12: $0.01 more would exceed $4999.99 (D17-R23)",))
    assert _card(world, A2, 1, "M3", datetime(2027, 1, 1, 10, tzinfo=EASTERN), processor).request.status == "authorised"
    assert len(processor.calls) == 2
    assert sum(balances(world, A2).values()) == -5000_00
    assert_books_sound(world)


def test_a_declined_card_posts_nothing_and_a_request_runs_once(world):
    processor = FakeCardProcessor()
    done = _card(world, A1, 600_00, "D1", datetime(2026, 11, 26, 10, tzinfo=EASTERN), processor, token="tok_declined")
    assert (done.request.status, done.request.authorisation, done.reasons) == ("declined", None, ("card declined by the issuer",))
    assert balances(world, A1) == {DUTY: 600_00}
    with world.begin() as conn:
        assert conn.execute(select(payment.c.id)).all() == []
    again = _card(world, A1, 600_00, "D1", datetime(2026, 11, 26, 11, tzinfo=EASTERN), processor, token="tok_visa")
    assert (again.new, again.request.status) == (False, "declined")
    # an authorised request asked again: charged once, posted once
    first = _card(world, A1, 600_00, "P1", datetime(2026, 11, 26, 10, tzinfo=EASTERN), processor)
    second = _card(world, A1, 600_00, "P1", datetime(2026, 11, 26, 10, tzinfo=EASTERN), processor)
    assert (second.new, second.request.authorisation) == (False, first.request.authorisation)
    assert [reference for _, reference, _ in processor.calls] == ["D1", "P1"]
    assert balances(world, A1) == {}
    assert_books_sound(world)


def test_a_card_for_an_account_the_payer_may_not_pay_is_refused_before_charging(world):
    """PRAIRIE TRADING has no relationship with NORTHERN IMPORTS: an 820 line would be set aside;
    a card is not charged at all."""
    processor = FakeCardProcessor()
    done = _card(world, A1, 100_00, "X1", datetime(2026, 11, 26, 10, tzinfo=EASTERN), processor, payer=OTHER)
    assert (done.request.status, done.reasons) == ("refused", (f"no relationship lets {OTHER} pay {A1} (D17-R3)",))
    assert processor.calls == []
    assert balances(world, A1) == {DUTY: 600_00}
