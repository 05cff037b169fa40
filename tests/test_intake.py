"""Intake as the DAG runs it (`carm.jobs`), on local partner folders, SQLite and PostgreSQL:
nothing an FI uploads can stall intake, be taken half-written, escape its receipt time, or
vanish without an answer.

The sample world (`fixtures/`) and its FI BANKOFTEST (`bankoftest`, ZZ:BANKOFTEST); the engine's
clock is pinned for each run (`CARM_CLOCK`) so the listing times are known.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from carm import intake, jobs
from carm.intake import receipt_time
from carm.runtime import open_runtime
from core.clock import EASTERN
from edi.samples import LineSpec, PaymentSpec, file_820
from store.intake import Sighting
from store.ledger import load_declarations, load_reference
from store.partners import save_registry
from store.schema import inbound_file, payment
from transport.folders import LocalFolders, TransportError
from transport.partners import PartnerRegistry, load_partners

from .conftest import FIXTURES
from .ledger_helpers import AT, POLICY

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)
A1 = "123456782RM0001"


@pytest.fixture
def home(engine, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CARM_HOME", str(tmp_path))
    monkeypatch.setenv("CARM_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CARM_TRANSPORT", "local")
    monkeypatch.setenv("CARM_PARTNERS_DIR", str(tmp_path / "partners"))
    monkeypatch.setenv("CARM_PARTNERS_FILE", str(FIXTURES / "partners.csv"))
    monkeypatch.delenv("CARM_SETTLE_SECONDS", raising=False)
    with engine.begin() as conn:
        assert load_reference(conn, FIXTURES / "reference.json").problems == []
        assert load_declarations(conn, FIXTURES / "declarations.csv", policy=POLICY, at=AT).problems == []
    return tmp_path


def _payment(trace: str = "IN1", cents: int = 100_00) -> bytes:
    return file_820([PaymentSpec(trace, "123456782", [LineSpec(A1, cents)])], control_number=int.from_bytes(trace.encode()[-2:], "big"))


def _drop(home: Path, name: str, data: bytes, mtime: datetime, partner: str = "bankoftest") -> Path:
    inbox = home / "partners" / partner / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(data)
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def _run(at: datetime, monkeypatch) -> list[dict]:
    """One intake run at `at`: list, then process every batch."""
    monkeypatch.setenv("CARM_CLOCK", at.isoformat())
    done = []
    for batch in jobs.batches(jobs.pending_files()):
        done += jobs.process_batch(batch)["done"]
    return done


def _folder(home: Path, partner: str, folder: str) -> list[str]:
    path = home / "partners" / partner / folder
    return sorted(os.fsdecode(p) for p in os.listdir(path)) if path.exists() else []


def _received(engine) -> dict[str, datetime]:
    """Receipt times by file name (kept in UTC; SQLite gives them back without their zone)."""
    with engine.begin() as conn:
        rows = conn.execute(select(inbound_file.c.name, inbound_file.c.received_at)).all()
    return {r.name: r.received_at if r.received_at.tzinfo else r.received_at.replace(tzinfo=UTC) for r in rows}


# ------------------------------------------------------------------ when a file is taken
def test_a_file_is_taken_once_its_size_has_rested_and_it_ends_with_its_iea(home, monkeypatch):
    """Decision O5: seen at 10:00, taken at 10:01 (60 s at rest); a file cut short (no IEA at its
    end: the client stalled) waits, and after an hour is taken and answered — TA1 023."""
    _drop(home, "whole.x12", _payment("W1"), T0)
    cut = _payment("C1")
    _drop(home, "cut.x12", cut[: cut.index(b"GE*")], T0)
    assert _run(T0, monkeypatch) == []
    assert [d["name"] for d in _run(T0 + timedelta(seconds=61), monkeypatch)] == ["whole.x12"]
    assert _run(T0 + timedelta(minutes=30), monkeypatch) == []
    (done,) = _run(T0 + timedelta(minutes=61), monkeypatch)
    assert (done["name"], done["status"], done["exit_code"]) == ("cut.x12", "quarantine", 2)
    assert "TA1 R 023" in done["reason"] and any(n.endswith(".ta1.x12") for n in _folder(home, "bankoftest", "outbox"))


def test_a_run_waits_out_the_settle_time_of_a_file_it_has_just_seen(home, monkeypatch):
    """Decision O17: on the real clock, a file whose upload ended just before the run is taken by
    that run — it waits what is left of the settle time and lists again — not five minutes later;
    a file still growing during that wait is left for the next run."""
    monkeypatch.delenv("CARM_CLOCK", raising=False)
    monkeypatch.setenv("CARM_SETTLE_SECONDS", "2")
    now = datetime.now(UTC)
    _drop(home, "whole.x12", _payment("S1"), now)
    growing = _drop(home, "growing.x12", _payment("S2")[:100], now)
    grower = threading.Timer(1.0, lambda: growing.write_bytes(_payment("S2")))  # the upload goes on during the wait
    grower.start()
    started = time.monotonic()
    try:
        taken = jobs.pending_files()
    finally:
        grower.join()
    assert [f["name"] for f in taken] == ["whole.x12"]
    assert 2.0 <= time.monotonic() - started < 10


def test_a_file_whose_size_still_moves_waits(home, monkeypatch):
    path = _drop(home, "growing.x12", _payment("G1")[:100], T0)
    assert _run(T0, monkeypatch) == []
    path.write_bytes(_payment("G1"))  # the upload went on
    assert _run(T0 + timedelta(seconds=61), monkeypatch) == []  # its size changed: rest starts again
    assert [d["name"] for d in _run(T0 + timedelta(seconds=122), monkeypatch)] == ["growing.x12"]


# ------------------------------------------------------------------ receipt time
def test_the_receipt_time_is_when_the_engine_saw_the_file_not_the_client_set_mtime(home, engine, monkeypatch):
    """Decision O6. The inbox was listed at 16:10 without the file; at 16:15 it is there, stamped
    09:00 by the client: it was received at 16:10 at the earliest — after the 16:00 cut-off
    (D17-R32), so it counts for the next business day. A year-2100 stamp is taken too, received
    when first seen, instead of waiting for ever."""
    due = datetime(2026, 12, 1, 16, 10, tzinfo=EASTERN)
    assert _run(due, monkeypatch) == []  # the listing before the upload
    _drop(home, "backdated.x12", _payment("B1"), due.replace(hour=9, minute=0))
    _drop(home, "future.x12", _payment("F1"), datetime(2100, 1, 1, tzinfo=EASTERN))
    seen = due + timedelta(minutes=5)
    assert _run(seen, monkeypatch) == []
    assert sorted(d["name"] for d in _run(seen + timedelta(minutes=5), monkeypatch)) == ["backdated.x12", "future.x12"]
    received = _received(engine)
    assert (received["backdated.x12"], received["future.x12"]) == (due, seen)
    with engine.begin() as conn:
        days = dict(conn.execute(select(payment.c.trace, payment.c.payment_day)).all())
    assert days == {"B1": date(2026, 12, 2), "F1": date(2026, 12, 2)}


def test_receipt_time_within_the_listing_window():
    """The client's stamp is believed only inside the window between two listings."""
    seen, before = datetime(2026, 12, 1, 16, 5, tzinfo=EASTERN), datetime(2026, 12, 1, 15, 58, tzinfo=EASTERN)

    def sighting(window, modified):
        return Sighting("bankoftest", "f", "file", seen, window, 1, seen, modified, 0, None, None)

    inside = datetime(2026, 12, 1, 15, 59, tzinfo=EASTERN)
    assert receipt_time(sighting(before, inside), seen) == inside
    assert receipt_time(sighting(before, before - timedelta(days=3)), seen) == before
    assert receipt_time(sighting(before, seen + timedelta(days=3)), seen) == seen
    assert receipt_time(sighting(None, inside), seen) == seen  # no listing before: when first seen
    assert receipt_time(None, seen) == seen


# ------------------------------------------------------------------ strays and odd names
def test_strays_are_reported_to_the_partner_once_and_never_taken(home, monkeypatch):
    """A hidden file, an upload left as .part, a folder, a name that is not UTF-8 in an FI's inbox,
    and a file in a broker's inbox (brokers do not send payments): reported after an hour, once."""
    _drop(home, ".hidden.x12", _payment("H1"), T0)
    _drop(home, "stalled.x12.part", b"ISA*00", T0)
    (home / "partners" / "bankoftest" / "inbox" / "sub").mkdir()
    raw = os.fsencode(home / "partners" / "bankoftest" / "inbox") + b"/bad\xffname.x12"
    with open(raw, "wb") as handle:
        handle.write(_payment("U1"))
    _drop(home, "pay.x12", _payment("K1"), T0, partner="swiftbrk")
    assert _run(T0, monkeypatch) == []
    assert _folder(home, "bankoftest", "outbox") == []
    assert _run(T0 + timedelta(minutes=61), monkeypatch) == []
    assert _folder(home, "bankoftest", "outbox") == [
        ".hidden.x12.not-taken.txt", "bad\\xffname.x12.not-taken.txt", "stalled.x12.part.not-taken.txt", "sub.not-taken.txt",
    ]
    assert _folder(home, "swiftbrk", "outbox") == ["pay.x12.not-taken.txt"]
    text = (home / "partners" / "bankoftest" / "outbox" / "stalled.x12.part.not-taken.txt").read_text()
    assert "an upload still in progress" in text and "since 2026-11-20 10:00 (Eastern)" in text
    for report in (home / "partners" / "bankoftest" / "outbox").iterdir():
        report.unlink()
    _run(T0 + timedelta(hours=3), monkeypatch)
    assert _folder(home, "bankoftest", "outbox") == []  # once
    assert "stalled.x12.part" in _folder(home, "bankoftest", "inbox")


def test_a_name_of_224_bytes_or_more_is_answered(home, monkeypatch):
    """Answers carry the first 200 bytes of the name, then the digest, within the 255 a file system allows."""
    name = "é" * 115 + ".x12"  # 234 bytes
    _drop(home, name, _payment("L1"), T0)
    assert _run(T0, monkeypatch) == []
    (done,) = _run(T0 + timedelta(seconds=61), monkeypatch)
    assert done["status"] == "processed" and done["exit_code"] == 0
    answers = _folder(home, "bankoftest", "outbox")
    assert len(answers) == 2 and all(len(a.encode()) <= 255 and a.startswith("é" * 100 + ".") for a in answers)


# ------------------------------------------------------------------ files that cannot be read
class _Unreadable(LocalFolders):
    """The local folders, except that one claimed file cannot be read (its permissions shut the
    engine out, as a client's chmod 0600 does on the SFTP server: tests/test_dags.py shows that one)."""

    def __init__(self, root, name: str) -> None:
        super().__init__(root)
        self.name = name

    def copy_claimed(self, file, out):
        if file.name == self.name:
            raise TransportError(f"read {file.name}: [Errno 13] Permission denied") from PermissionError(13, "Permission denied")
        return super().copy_claimed(file, out)


def test_an_unreadable_file_is_quarantined_after_three_runs_and_never_holds_the_others_back(home, engine, monkeypatch):
    _drop(home, "locked.x12", _payment("X1"), T0)
    _drop(home, "fine.x12", _payment("X2"), T0 + timedelta(seconds=1))
    monkeypatch.setenv("CARM_SETTLE_SECONDS", "0")
    folders = _Unreadable(home / "partners", "locked.x12")
    for run in range(3):
        monkeypatch.setenv("CARM_CLOCK", (T0 + timedelta(minutes=5 * run)).isoformat())
        with open_runtime(folders=folders) as runtime:
            result = intake.process_batch(runtime, intake.pending_files(runtime))
        if run < 2:
            assert [d["name"] for d in result["done"]] == (["fine.x12"] if run == 0 else [])
            assert result["failed"] == [] and len(result["unread"]) == 1 and "Permission denied" in result["unread"][0]
            assert _folder(home, "bankoftest", "inbox/.claimed") == ["locked.x12"]
    (done,) = result["done"]
    assert (done["name"], done["status"]) == ("locked.x12", "quarantine") and "Permission denied" in done["reason"]
    assert _folder(home, "bankoftest", "quarantine") == ["locked.x12"]
    report = (home / "partners" / "bankoftest" / "outbox" / "locked.x12.unreadable.txt").read_text()
    assert "could not read 'locked.x12'" in report and "0640" in report
    with engine.begin() as conn:
        rows = conn.execute(select(inbound_file.c.name, inbound_file.c.status)).all()
    assert sorted(tuple(r) for r in rows) == [("fine.x12", "processed"), ("locked.x12", "quarantined")]


# ------------------------------------------------------------------ who sent it
def test_the_same_bytes_from_another_partner_do_not_take_the_answers_of_the_genuine_file(home, engine, monkeypatch):
    """CAISSETEST uploads BANKOFTEST's exact bytes first: it gets TA1 006 (not its sender ID); the
    genuine file, from BANKOFTEST, is then judged for BANKOFTEST and posted."""
    data = _payment("D1")
    monkeypatch.setenv("CARM_SETTLE_SECONDS", "0")
    _drop(home, "copy.x12", data, T0, partner="caissetest")
    (copy,) = _run(T0, monkeypatch)
    assert (copy["status"], copy["exit_code"]) == ("quarantine", 2) and "TA1 R 006" in copy["reason"]
    _drop(home, "genuine.x12", data, T0 + timedelta(minutes=5))
    (genuine,) = _run(T0 + timedelta(minutes=5), monkeypatch)
    assert (genuine["status"], genuine["exit_code"], genuine["replayed"]) == ("processed", 0, False)
    assert [(p["trace"], p["status"]) for p in genuine["posted"]] == [("D1", "posted")]


def test_a_quarantined_file_replayed_after_its_cause_is_fixed_is_judged_afresh_and_posted(home, engine, monkeypatch):
    """The registry named BANKOFTEST's sender ID wrong: its file got TA1 006 and went to quarantine.
    Fixed, the operator's replay sends it through again: 997 A, posted — once."""
    registry, problems = load_partners(FIXTURES / "partners.csv")
    assert problems == []
    wrong = [replace(p, isa_sender_id="BANKOFTST") if p.partner_id == "BANKOFTEST" else p for p in registry]
    with engine.begin() as conn:
        save_registry(conn, PartnerRegistry(wrong))
    monkeypatch.setenv("CARM_SETTLE_SECONDS", "0")
    _drop(home, "pay.x12", _payment("Q1"), T0)
    (first,) = _run(T0, monkeypatch)
    assert first["status"] == "quarantine" and "TA1 R 006" in first["reason"]
    with engine.begin() as conn:
        save_registry(conn, registry)
    with open_runtime() as runtime:
        assert intake.replay(runtime, "bankoftest", "pay.x12")["answers_forgotten"] == 1
    (again,) = _run(T0 + timedelta(minutes=5), monkeypatch)
    assert (again["status"], again["exit_code"]) == ("processed", 0)
    assert [(p["trace"], p["status"]) for p in again["posted"]] == [("Q1", "posted")]
    with engine.begin() as conn:
        assert conn.execute(select(payment.c.trace, payment.c.status)).all() == [("Q1", "posted")]
