"""Advance payments aimed at one debt (D17-R22, decision L23): a remittance line may name, in a
REF*TN after its RMR, the transaction it pays; the payment then settles that transaction first and
the rest by the usual order (L3).  A name that cannot be followed sets the line aside (824 TE,
money held in suspense, never dropped); the 997 stays positive — the proof of payment.

Every ledger test runs on SQLite and on PostgreSQL (the `engine` fixture).  The importer
NORTHERN (123456782, own security 12001) has on account A1 two declarations of billing period
2026-11, both due Tuesday 12-01:

    OLD  accounted 10-22: duty   800.00 + GST 434.56 = 1,234.56
    NEW  accounted 11-03: duty   300.00 + GST 200.00 =   500.00

and on A2 one more (ELSEWHERE, duty 50.00).  Usual order (L3): same due date, so the older
declaration first, each settled whole, duty before GST.
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import select

from carm.intake import ingest
from core.clock import EASTERN
from edi.pipeline import acknowledge_file
from edi.samples import LineSpec, PaymentSpec, file_820
from edi.store import MemoryEdiStore
from store.schema import payment_line

from .edi_helpers import edit
from .ledger_helpers import IMPORTER, POLICY, balances, declare, setup_world, txn

A1, A2 = f"{IMPORTER}RM0001", f"{IMPORTER}RM0002"
OLD, NEW, ELSEWHERE = txn("12001", 11), txn("12001", 12), txn("12001", 13)
RECEIVED = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)
ANSWERED = datetime(2026, 11, 20, 10, 5, tzinfo=EASTERN)


@pytest.fixture
def world(engine):
    setup_world(engine)
    report = declare(
        engine,
        {"transaction_number": OLD, "rm15": A1, "asec": "12001", "release_date": "2026-10-21", "accounting_date": "2026-10-22",
         "duty": "800.00", "gst": "434.56"},
        {"transaction_number": NEW, "rm15": A1, "asec": "12001", "release_date": "2026-11-02", "accounting_date": "2026-11-03",
         "duty": "300.00", "gst": "200.00"},
        {"transaction_number": ELSEWHERE, "rm15": A2, "asec": "12001", "release_date": "2026-11-02", "accounting_date": "2026-11-03",
         "duty": "50.00"},
    )
    assert (report.posted, report.problems) == (3, [])
    return engine


def _advance(trace: str, cents: int, aim: str | None, kind: str = "ADV") -> bytes:
    spec = PaymentSpec(trace, IMPORTER, [LineSpec(A1, cents, transaction_number=aim)], kind=kind, payer_name="NORTHERN IMPORTS LTD")
    return file_820([spec], control_number=int(trace[-1]), group_control=int(trace[-1]))


def _send(engine, data: bytes, name: str):
    return ingest(engine, data, name, received_at=RECEIVED, policy=POLICY, acknowledged_at=ANSWERED)


def _body(outcome, kind: str) -> list[str]:
    """The document's segments between the GS and the GE (ST … SE)."""
    return outcome.documents[kind][1].decode().splitlines()[2:-2]


@pytest.mark.parametrize(
    ("aim", "left"),
    [
        # no aim: 600.00 reach OLD's duty (800.00 → 200.00); NEW untouched
        (None, {f"declaration:duty:{OLD}": 800_00 - 600_00, f"declaration:gst:{OLD}": 434_56,
                f"declaration:duty:{NEW}": 300_00, f"declaration:gst:{NEW}": 200_00}),
        # aimed at NEW: its 300.00 + 200.00 first, the other 100.00 by the usual order to OLD's duty (800.00 → 700.00)
        (NEW, {f"declaration:duty:{OLD}": 800_00 - (600_00 - 300_00 - 200_00), f"declaration:gst:{OLD}": 434_56}),
    ],
    ids=["usual-order", "aimed-at-NEW"],
)
def test_an_advance_payment_naming_a_transaction_pays_it_first(world, aim, left):
    """D17-R22: « un paiement effectué avant l'émission du relevé de compte afin de rembourser un compte
    de douane ou une dette en particulier » — 600.00 in advance on A1, with and without REF*TN."""
    done = _send(world, _advance("ADV0001", 600_00, aim), "adv1.x12")
    assert [(p.status, p.applied_cents, p.credit_cents, p.suspense_cents) for p in done.posted] == [("posted", 600_00, 0, 0)]
    assert balances(world, A1) == left
    assert balances(world, A2) == {f"declaration:duty:{ELSEWHERE}": 50_00}  # another account's debt is never reached
    with world.begin() as conn:  # the payer's instruction is kept with the line, as received
        assert conn.execute(select(payment_line.c.line_no, payment_line.c.transaction_number)).all() == [(1, aim)]


def test_the_997_and_824_of_an_aimed_advance_payment(world):
    """The new segment is accepted by the map (997 AK5 A) and the money applied whole (824 TA)."""
    done = _send(world, _advance("ADV0001", 600_00, NEW), "adv1.x12")
    assert _body(done.outcome, "997") == ["ST*997*0001~", "AK1*RA*1~", "AK2*820*0001~", "AK5*A~", "AK9*A*1*1*1~", "SE*6*0001~"]
    assert _body(done.outcome, "824") == [
        "ST*824*0001~",
        "BGN*11*000000001-1-0001*20261120*1005~",
        "OTI*TA*TN*ADV0001*BANKOFTEST*CBSACARM*20261120*0930*1*0001*820*004010~",
        "AMT*2*600.00~",
        "SE*5*0001~",
    ]


@pytest.mark.parametrize(
    ("aim", "kind", "ted"),
    [
        # ELSEWHERE is a debt of A2, not of the account the line pays
        (ELSEWHERE, "ADV", f"TED*011*transaction {ELSEWHERE} is not on account {A1}*REF*10*2*127*{ELSEWHERE}~"),
        # a well-formed number no declaration carries
        (txn("12001", 99), "ADV", f"TED*011*transaction {txn('12001', 99)} is not on account {A1}*REF*10*2*127*{txn('12001', 99)}~"),
        ("12001", "ADV", "TED*011*transaction number 12001 is not 14 digits*REF*10*2*127*12001~"),
        (NEW, "SOA", f"TED*012*only an advance payment names a transaction - kind SOA*REF*10*2*127*{NEW}~"),
    ],
    ids=["another-accounts-debt", "unknown-transaction", "malformed", "not-an-advance"],
)
def test_an_aim_that_cannot_be_followed_sets_the_line_aside(world, aim, kind, ted):
    """L23: the payer's instruction cannot be followed, so its 600.00 is held in suspense against payer and
    trace (824 TE with the line's OTI*IR and TED) and no debt moves; the 997 is positive all the same."""
    done = _send(world, _advance("ADV0001", 600_00, aim, kind=kind), "adv1.x12")
    assert _body(done.outcome, "997")[3] == "AK5*A~"
    assert _body(done.outcome, "824") == [
        "ST*824*0001~",
        "BGN*11*000000001-1-0001*20261120*1005~",
        "OTI*TE*TN*ADV0001*BANKOFTEST*CBSACARM*20261120*0930*1*0001*820*004010~",
        "AMT*2*600.00~",
        f"OTI*IR*11*{A1}~",
        "AMT*2*600.00~",
        ted,
        "SE*8*0001~",
    ]
    assert [(p.applied_cents, p.credit_cents, p.suspense_cents) for p in done.posted] == [(0, 0, 600_00)]
    assert balances(world, A1) == {f"declaration:duty:{OLD}": 800_00, f"declaration:gst:{OLD}": 434_56,
                                   f"declaration:duty:{NEW}": 300_00, f"declaration:gst:{NEW}": 200_00}


def test_an_aim_at_a_debt_already_paid_is_applied_by_the_usual_order(world):
    """L23: NEW is on the account but settled by a first advance of 500.00; a second one of 100.00 still
    naming NEW goes by the usual order — OLD's duty, 800.00 → 700.00 — and the 824 says TA."""
    _send(world, _advance("ADV0001", 500_00, NEW), "adv1.x12")
    done = _send(world, _advance("ADV0002", 100_00, NEW), "adv2.x12")
    assert _body(done.outcome, "824")[2].startswith("OTI*TA*TN*ADV0002*")
    assert balances(world, A1) == {f"declaration:duty:{OLD}": 700_00, f"declaration:gst:{OLD}": 434_56}


def test_the_same_aimed_file_twice_changes_nothing(world):
    """Idempotent: the same bytes again post nothing new and get the same answers."""
    data = _advance("ADV0001", 600_00, NEW)
    first = _send(world, data, "adv1.x12")
    again = _send(world, data, "adv1.x12")
    assert again.posted == []
    assert _body(again.outcome, "824") == _body(first.outcome, "824")
    assert balances(world, A1) == {f"declaration:duty:{OLD}": 700_00, f"declaration:gst:{OLD}": 434_56}


# ------------------------------------------------------------------ syntax: the map and the driver, no ledger
def _acks(data: bytes) -> list[str]:
    outcome = acknowledge_file(io.BytesIO(data), "case.x12", store=MemoryEdiStore(), at=datetime(2026, 11, 21, 8, 15))
    return outcome.documents["997"][1].decode().splitlines()[2:-2]


ASEC_AND_AIM = file_820([PaymentSpec("ADV0001", IMPORTER, [LineSpec(A1, 600_00, "12001", NEW)], kind="ADV", payer_name="N")])


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        # REF*ZZ then REF*TN (positions 10 and 11): both accepted
        (ASEC_AND_AIM, ["AK5*A~"]),
        # either order: the X12 REF of the remittance loop is one position
        (edit(ASEC_AND_AIM, f"REF*ZZ*12001~\nREF*TN*{NEW}~", f"REF*TN*{NEW}~\nREF*ZZ*12001~"), ["AK5*A~"]),
        # a transaction named twice in one line: the second REF exceeds its use (AK3 code 5), the set is rejected
        (edit(ASEC_AND_AIM, f"REF*TN*{NEW}~", f"REF*TN*{NEW}~\nREF*TN*{OLD}~"), ["AK3*REF*12**5~", "AK5*R*5~"]),
        # an unknown qualifier is still the element's fault (AK4 code 7), as before
        (edit(ASEC_AND_AIM, "REF*TN*", "REF*XX*"), ["AK3*REF*11**8~", "AK4*1*128*7*XX~", "AK5*R*5~"]),
        # a REF02 longer than element 127's 30 characters (AK4 code 5)
        (edit(ASEC_AND_AIM, f"REF*TN*{NEW}", "REF*TN*" + "1" * 31), ["AK3*REF*11**8~", "AK4*2*127*5*" + "1" * 31 + "~", "AK5*R*5~"]),
    ],
    ids=["asec-then-aim", "aim-then-asec", "aim-twice", "unknown-qualifier", "too-long"],
)
def test_the_997_for_a_line_naming_a_transaction(data, answer):
    """The map takes REF*TN after the RMR (decision L23); what breaks the syntax is answered by the 997."""
    segments = _acks(data)
    assert segments[:3] == ["ST*997*0001~", "AK1*RA*1~", "AK2*820*0001~"]
    assert segments[3:-2] == answer
    assert segments[-2] == ("AK9*A*1*1*1~" if answer == ["AK5*A~"] else "AK9*R*1*1*0~")


def test_a_file_without_the_new_segment_is_judged_as_before():
    """No REF*TN, no aim: the typed line carries none, and two REF*ZZ in one line are still AK3 code 5."""
    plain = file_820([PaymentSpec("ADV0001", IMPORTER, [LineSpec(A1, 600_00, "12001")], kind="ADV", payer_name="N")])
    assert _acks(plain)[3:-2] == ["AK5*A~"]
    assert _acks(edit(plain, "REF*ZZ*12001~", "REF*ZZ*12001~\nREF*ZZ*12001~"))[3:-2] == ["AK3*REF*11**5~", "AK5*R*5~"]
