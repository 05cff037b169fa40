"""Issue 11: a file is judged and posted set by set as it is read, yet answered and posted as if
judged whole — what a later segment rejects is rolled back (decision E26) — and the same bytes
again are answered and reported from the store without being validated (decision E27).
On SQLite and PostgreSQL (the `engine` fixture)."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import func, select

import edi.pipeline
from carm.intake import ingest
from core.clock import EASTERN
from edi.samples import file_820
from edi.validate import FileChanged, file_digest, validate_stream
from store.journal import check_books
from store.schema import journal_entry, payment

from .ledger_helpers import IMPORTER, POLICY, PaymentSpec, setup_world
from .ledger_helpers import LineSpec as PayLine

A1 = f"{IMPORTER}RM0001"
ON_TIME = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)


@pytest.fixture
def world(engine):
    setup_world(engine)
    return engine


def _file(trace: str, control: int, cents: int = 100_00) -> bytes:
    return file_820([PaymentSpec(trace, IMPORTER, [PayLine(A1, cents)])], control_number=control, group_control=control)


def _ingest(world, data: bytes, name: str = "in.x12"):
    return ingest(world, data, name, received_at=ON_TIME, policy=POLICY)


def _payments(world) -> list[tuple[str, str, str]]:
    with world.begin() as conn:
        assert check_books(conn) == []
        return [tuple(r) for r in conn.execute(select(payment.c.interchange, payment.c.trace, payment.c.status).order_by(payment.c.id))]


def test_a_group_rejected_at_its_trailer_is_not_posted_and_does_not_take_its_trace(world):
    """GE01 says 2 sets, the group holds 1: AK9 R, so its set — posted as it closed — is rolled back
    at the GE; the same trace in the next interchange is then no duplicate (decision L10) and posted."""
    rejected = _file("T1", 1).replace(b"GE*1*1~", b"GE*2*1~")
    assert rejected != _file("T1", 1)
    done = _ingest(world, rejected + _file("T1", 2))
    rows = [(s.summary()["ak9"], s.summary()["ak5"], s.verdict is not None) for s in done.outcome.sets]
    assert rows == [("R", "A", False), ("A", "A", True)]
    assert [(p.trace, p.status, p.applied_cents + p.credit_cents) for p in done.posted] == [("T1", "posted", 100_00)]
    assert _payments(world) == [("000000002", "T1", "posted")]
    assert "824" in done.outcome.documents and done.outcome.documents["824"][1].count(b"ST*824*") == 1


def test_a_segment_after_the_iea_rejects_the_interchange_and_undoes_its_postings(world):
    """Its set closed and was posted before the IEA; the stray segment after the IEA makes the
    interchange TA1 R 022 (X12: not acknowledged by 997, nothing posted), so the posting is undone."""
    done = _ingest(world, _file("S1", 1) + b"ZZZ*1~\n" + _file("S2", 2))
    assert [s.interchange.ta1_code for s in done.outcome.sets] == ["022", "000"]
    assert [p.trace for p in done.posted] == ["S2"]
    assert _payments(world) == [("000000002", "S2", "posted")]


def test_a_file_cut_short_posts_nothing(world):
    """No IEA (TA1 023): the interchange is rejected at the end of the file, after its set was posted."""
    data = _file("C1", 1)
    cut = data[: data.rindex(b"IEA")]
    done = _ingest(world, cut)
    assert (done.outcome.exit_code, done.posted) == (2, [])
    assert [s.interchange.ta1_code for s in done.outcome.sets] == ["023"]
    assert _payments(world) == []
    with world.begin() as conn:
        assert conn.execute(select(func.count()).select_from(journal_entry).where(journal_entry.c.reason == "PAYMENT")).scalar() == 0


def test_an_interchange_another_file_brought_is_ta1_025_and_posts_nothing(world):
    """The second file reuses ISA13 1 with other bytes: TA1 025, its set rolled back; the first stands."""
    first = _ingest(world, _file("D1", 1), "first.x12")
    second = _ingest(world, _file("D2", 1), "second.x12")
    assert [p.trace for p in first.posted] == ["D1"] and second.posted == []
    assert [s.interchange.ta1_code for s in second.outcome.sets] == ["025"]
    assert _payments(world) == [("000000001", "D1", "posted")]


def test_a_payment_is_let_go_once_judged(world):
    """What the outcome keeps of a set is its 997 result and its judgement, not its payment."""
    done = _ingest(world, file_820([PaymentSpec("L1", IMPORTER, [PayLine(A1, 1_00), PayLine(A1, 2_00)]),
                                    PaymentSpec("L2", IMPORTER, [PayLine(A1, 3_00)])]))
    assert [s.result.payload for s in done.outcome.sets] == [None, None]
    assert [(s.verdict.code, s.verdict.summary["lines"], s.verdict.summary["total"]) for s in done.outcome.sets] == [
        ("TA", 2, "3.00"), ("TA", 1, "3.00")]
    assert [p.trace for p in done.posted] == ["L1", "L2"]


def test_the_same_bytes_again_are_answered_and_reported_without_being_validated(world, monkeypatch):
    """A replay: the first receipt's answers byte for byte and its report, nothing posted — and the
    validator is never called (it would fail the test if it were)."""
    data = _file("R1", 1) + _file("R1", 2)  # the second set a duplicate: exit code 1, a rejection reported
    first = _ingest(world, data)
    assert first.outcome.exit_code == 1 and [p.status for p in first.posted] == ["posted", "duplicate"]

    def no_validation(*args, **kwargs):
        raise AssertionError("a replay must not validate")

    monkeypatch.setattr(edi.pipeline, "validate_stream", no_validation)
    again = _ingest(world, data, "again.x12")
    assert again.outcome.replayed and again.posted == []
    assert {k: c for k, (_, c) in again.outcome.documents.items()} == {k: c for k, (_, c) in first.outcome.documents.items()}
    assert again.outcome.report == first.outcome.report
    assert (again.outcome.exit_code, again.outcome.envelope_lines()) == (1, [])
    assert again.outcome.report.lines(accepted=False) == [first.outcome.sets[1].summary_line()]
    assert again.outcome.result.digest == first.outcome.result.digest and again.outcome.sets == ()
    assert _payments(world) == [("000000001", "R1", "posted"), ("000000002", "R1", "duplicate")]


def test_bytes_other_than_those_hashed_are_never_taken_for_them():
    """The digest is taken before the stream is validated: if the bytes read then differ (the file
    changed in between), the sets handed on were another file's — validation raises (ingest retries)."""
    data = _file("H1", 1)
    hashed = file_digest(io.BytesIO(data))
    assert (hashed.size, validate_stream(io.BytesIO(data), digest=hashed.digest).digest) == (len(data), hashed.digest)
    with pytest.raises(FileChanged):
        validate_stream(io.BytesIO(data.replace(b"H1", b"H2")), digest=hashed.digest)
