"""The file pipeline on a real database (SQLite and PostgreSQL): control numbers,
replays, duplicates across files, and what is sent back — which must itself be valid X12."""

from __future__ import annotations

import io
import threading
from datetime import datetime

import pytest
from sqlalchemy import update

from core.clock import EASTERN
from edi.pipeline import acknowledge_file
from store.edi import SqlEdiStore
from store.schema import control_sequence

from .conftest import FIXTURES
from .edi_helpers import base_file, edit, pyx12_verdict

WHEN = datetime(2026, 11, 21, 8, 15, tzinfo=EASTERN)
SAMPLES = sorted((FIXTURES / "820").glob("*.x12"))


def ingest(engine, data: bytes, name: str = "in.x12", at: datetime = WHEN):
    with engine.begin() as conn:
        return acknowledge_file(io.BytesIO(data), name, store=SqlEdiStore(conn), at=at)


def test_control_numbers_are_per_partner_per_kind_and_persistent(engine):
    with engine.begin() as conn:
        numbers = SqlEdiStore(conn)
        assert [numbers.next_control_number("ZZ:BANKA", "ISA") for _ in range(3)] == [1, 2, 3]
        assert numbers.next_control_number("ZZ:BANKA", "GS") == 1
        assert numbers.next_control_number("ZZ:BANKB", "ISA") == 1
    with engine.begin() as conn:  # a new transaction, as a new run would be
        assert SqlEdiStore(conn).next_control_number("ZZ:BANKA", "ISA") == 4


def test_control_numbers_wrap_after_nine_digits(engine):
    with engine.begin() as conn:
        numbers = SqlEdiStore(conn)
        numbers.next_control_number("ZZ:BANKA", "ISA")
        conn.execute(update(control_sequence).values(last_value=999_999_999))
        assert numbers.next_control_number("ZZ:BANKA", "ISA") == 1


def test_concurrent_workers_never_share_a_control_number(pg_engine):
    """Eight connections draw 25 numbers each from the same partner sequence on PostgreSQL."""
    drawn: list[int] = []
    lock = threading.Lock()

    def worker():
        for _ in range(25):
            with pg_engine.begin() as conn:
                n = SqlEdiStore(conn).next_control_number("ZZ:BANKA", "ISA")
            with lock:
                drawn.append(n)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(drawn) == list(range(1, 201))


def test_outbound_envelopes_swap_sender_and_receiver_and_use_the_partner_sequence(engine):
    outcome = ingest(engine, base_file(ack_requested=True))
    ta1 = outcome.documents["ta1"][1].decode().splitlines()
    fa = outcome.documents["997"][1].decode().splitlines()
    ag = outcome.documents["824"][1].decode().splitlines()
    # TA1 first (ISA13 1), then the 997 (ISA13 2, GS06 1), then the 824 (ISA13 3, GS06 2)
    assert ta1 == [
        "ISA*00*          *00*          *ZZ*CBSACARM       *ZZ*BANKOFTEST     *261121*0815*U*00401*000000001*0*P*:~",
        "TA1*000000001*261120*0930*A*000~",
        "IEA*0*000000001~",
    ]
    assert fa[0] == "ISA*00*          *00*          *ZZ*CBSACARM       *ZZ*BANKOFTEST     *261121*0815*U*00401*000000002*0*P*:~"
    assert fa[1] == "GS*FA*CBSACARM*BANKOFTEST*20261121*0815*1*X*004010~"
    assert fa[-2:] == ["GE*1*1~", "IEA*1*000000002~"]
    assert ag[1] == "GS*AG*CBSACARM*BANKOFTEST*20261121*0815*2*X*004010~"
    assert ag[-1] == "IEA*1*000000003~"


def test_the_same_bytes_twice_get_the_same_answers_and_nothing_new(engine):
    first = ingest(engine, base_file())
    later = datetime(2026, 11, 22, 9, 0, tzinfo=EASTERN)
    second = ingest(engine, base_file(), name="in.x12", at=later)
    assert not first.replayed and second.replayed
    assert second.documents == first.documents
    with engine.begin() as conn:  # no control number was spent on the replay
        assert SqlEdiStore(conn).next_control_number("ZZ:BANKOFTEST", "ISA") == 3


def test_another_file_reusing_an_interchange_control_number_is_ta1_025(engine):
    ingest(engine, base_file())
    other = edit(base_file(), "TRACE0001", "TRACE0002")
    outcome = ingest(engine, other, name="other.x12")
    (ic,) = outcome.result.interchanges
    assert (ic.ta1_ack, ic.ta1_code) == ("R", "025")
    assert set(outcome.documents) == {"ta1"}  # no 997, no 824: nothing in it is processed
    assert outcome.exit_code == 2


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_document_the_engine_sends_is_valid_x12(sqlite_engine, sample):
    """997s against pyx12's 997 map, 824s against ours, TA1 interchanges against the control map."""
    outcome = ingest(sqlite_engine, sample.read_bytes(), name=sample.name)
    assert outcome.documents
    for kind, (_, content) in outcome.documents.items():
        ok, detail = pyx12_verdict(content)
        assert ok, (kind, detail)


def test_824_for_a_payment_with_a_line_set_aside(sqlite_engine):
    """Fixture 02: the broker's advance has one RM15 whose BN9 fails its check digit (824 TE)."""
    sample = FIXTURES / "820" / "02-broker-advance-and-interim.x12"
    outcome = ingest(sqlite_engine, sample.read_bytes(), name=sample.name)
    body = outcome.documents["824"][1].decode().splitlines()[2:-2]
    assert body == [
        "ST*824*0001~",
        "BGN*11*000000102-102-0001*20261121*0815~",
        "OTI*TE*TN*NBK20261120000002*BANKOFTEST*CBSACARM*20261120*0930*102*0001*820*004010~",
        "AMT*2*7810.25~",
        "OTI*IR*11*200000009RM0001~",
        "AMT*2*310.25~",
        "TED*011*program account 200000009RM0001 - business number fails its*RMR*12*2*127*200000009RM0001~",
        "SE*8*0001~",
        "ST*824*0002~",
        "BGN*11*000000102-102-0002*20261121*0815~",
        "OTI*TA*TN*NBK20261120000003*BANKOFTEST*CBSACARM*20261120*0930*102*0002*820*004010~",
        "AMT*2*2000.00~",
        "SE*5*0002~",
    ]
    advance = outcome.sets[0].verdict
    # of 7,810.25, one line (7,500.00) applied; 310.25 held in suspense against the payer and trace
    assert (advance.summary["total"], advance.summary["applied"], advance.summary["set_aside"]) == ("7810.25", 1, 1)
    assert advance.suspense_cents == 31025


def test_824_for_a_refused_payment(sqlite_engine):
    """The 824 answers a refused set too (TR), the same refusal as the 997's, in words."""
    sample = FIXTURES / "820" / "03-refused-wire-transfer.x12"
    outcome = ingest(sqlite_engine, sample.read_bytes(), name=sample.name)
    body = outcome.documents["824"][1].decode().splitlines()[3:-3]
    assert body == [
        "BGN*11*000000103-103-0001*20261121*0815~",
        "OTI*TR*TN*NBK20261120000004*BANKOFTEST*CBSACARM*20261120*0930*103*0001*820*004010~",
        "AMT*2*99.00~",
        "TED*012*payment method FWT is not accepted*BPR*2*4*591*FWT~",
    ]
    assert outcome.sets[0].result.ack_code == "R"  # D17-R27: refused before the 997, so no proof of payment
    assert outcome.sets[0].verdict.suspense_cents == 0  # and nothing held: the FI returns the funds or resends


def test_a_file_carrying_another_partners_sender_id_is_ta1_006(engine):
    """An FI may only send interchanges under its own ISA05/ISA06: the SFTP account it came from decides."""
    with engine.begin() as conn:
        outcome = acknowledge_file(io.BytesIO(base_file()), "in.x12", store=SqlEdiStore(conn), at=WHEN, sender="ZZ:CAISSETEST")
    (ic,) = outcome.result.interchanges
    assert (ic.ta1_code, ic.ta1_message) == ("006", "ISA05/ISA06 'ZZ:BANKOFTEST' is not ZZ:CAISSETEST, the partner this file came from")
    assert set(outcome.documents) == {"ta1"}
