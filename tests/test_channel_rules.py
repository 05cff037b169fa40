"""Which ways to pay an account may use (decision L28): one function, `store.channels.channel_allowed`,
that the portal asks and every non-electronic channel applies — D17-R24 « Les titulaires d'un
compte de douane dont les soldes mensuels au compte s'élèvent à plus de 50 000 $ doivent soumettre
leurs paiements par voie électronique », D17-R27 « L'ASFC n'accepte pas les espèces, les chèques de
voyage ou les virements électroniques ».

PRAIRIE TRADING (P1, unsecured) closes period 2026-11 owing 50,000.01: above $50,000, not at it.
"""

from __future__ import annotations

import pytest

from store.channels import ChannelAllowance, channel_allowed
from store.ledger import close_period

from .ledger_helpers import AT, IMPORTER, OTHER, POLICY, balances, declare, setup_world, txn
from .test_channels import carm

P1 = f"{OTHER}RM0001"
A1 = f"{IMPORTER}RM0001"
T5 = txn("00000", 5)


@pytest.fixture
def world(engine):
    setup_world(engine)
    declare(engine,
            dict(transaction_number=txn("00000", 2), rm15=P1, release_date="2026-11-03", accounting_date="2026-11-03", duty="50000.01"),
            dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01", accounting_date="2026-11-02",
                 duty="50000.00"))
    with engine.begin() as conn:
        close_period(conn, "2026-11", policy=POLICY, at=AT)
    declare(engine, dict(transaction_number=T5, rm15=P1, release_date="2026-11-20", accounting_date="2026-11-20", duty="80.00"))
    return engine


@pytest.mark.parametrize(("rm15", "method", "reason"), [
    (P1, "CHK", f"{P1} owes $50000.01 a month: it must pay electronically (D17-R24)"),
    (P1, "CARD", None), (P1, "PAD", None), (P1, "INTERAC", None), (P1, "ACH", None),
    (A1, "CHK", None),  # 50,000.00: not above
    (A1, "CASH", "CASH is not a way to pay the agency: pay electronically or by cheque (D17-R27)"),
    (A1, "WIRE", "WIRE is not a way to pay the agency: pay electronically or by cheque (D17-R27)"),
])
def test_whether_an_account_may_pay_by_a_method_and_why_not(world, rm15, method, reason):
    with world.begin() as conn:
        assert channel_allowed(conn, rm15, method, policy=POLICY) == ChannelAllowance(rm15, method, reason is None, reason)


def test_an_account_that_must_pay_electronically_pays_at_release_electronically(world, tmp_path):
    """T5 (80.00, unsecured, released 11-20) on P1: a cheque at release is refused with the reason,
    Interac is taken."""
    code, out = carm(world, tmp_path, "payments", "release", T5, "--method", "CHK", "--received-at", "2026-11-20T10:00")
    assert (code, out) == (1, f"declaration {T5} not paid at release: {P1} owes $50000.01 a month: it must pay electronically "
                              "(D17-R24)\n")
    assert balances(world, P1)[f"declaration:duty:{T5}"] == 80_00
    code, out = carm(world, tmp_path, "payments", "release", T5, "--method", "INTERAC", "--received-at", "2026-11-20T10:00")
    assert (code, out) == (0, f"declaration {T5} paid at release by INTERAC: 80.00 (trace REL-{T5})\n")
    assert f"declaration:duty:{T5}" not in balances(world, P1)
