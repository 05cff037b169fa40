"""The jobs the DAGs call, run directly on the local twin of the partner folders, on SQLite and PostgreSQL.

The sample world (`fixtures/`): BANKOFTEST (SFTP `bankoftest`) pays; NORTHERN IMPORTS
(123456782, `northernimp`) receives its own documents; EPICERIE FINE (200000008,
`epicerieqc`) has designated the broker SWIFT (300000007, `swiftbrk`) for 200000008RM0001,
so that account's documents go to the broker, not to the importer (Annex B, D17-R16).
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from carm import jobs
from carm.runtime import open_runtime
from core.clock import EASTERN
from core.errors import SchemaError
from statements.pdf import pdf_of_html
from store.ledger import account_view, load_declarations, load_reference
from store.schema import inbound_file

from .conftest import FIXTURES, SHARED
from .ledger_helpers import AT, POLICY

RECEIVED = datetime(2026, 11, 20, 10, 15, tzinfo=EASTERN)


@pytest.fixture
def home(engine, tmp_path, monkeypatch) -> Path:
    """CARM_* pointing at `engine` and local partner folders, the sample world loaded, the 2026-11
    period closed; files are taken as soon as they are seen whole (no settle time)."""
    monkeypatch.setenv("CARM_HOME", str(tmp_path))
    monkeypatch.setenv("CARM_SETTLE_SECONDS", "0")
    monkeypatch.setenv("CARM_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CARM_TRANSPORT", "local")
    monkeypatch.setenv("CARM_PARTNERS_DIR", str(tmp_path / "partners"))
    monkeypatch.setenv("CARM_PARTNERS_FILE", str(FIXTURES / "partners.csv"))
    monkeypatch.delenv("CARM_POLICY", raising=False)
    with engine.begin() as conn:
        assert load_reference(conn, FIXTURES / "reference.json").problems == []
        assert load_declarations(conn, FIXTURES / "declarations.csv", policy=POLICY, at=AT).problems == []
    assert jobs.close_period("2026-11")["already_closed"] is False
    return tmp_path


def _drop(home: Path, partner: str, name: str, data: bytes, mtime: datetime = RECEIVED) -> Path:
    inbox = home / "partners" / partner / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(data)
    os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def _intake(at: datetime = RECEIVED) -> list[dict]:
    """One intake run, as the DAG makes it, with the engine's clock at `at`."""
    os.environ["CARM_CLOCK"] = at.isoformat()
    try:
        done = []
        for batch in jobs.batches(jobs.pending_files()):
            done += jobs.process_batch(batch)["done"]
        return done
    finally:
        del os.environ["CARM_CLOCK"]


def _outbox(home: Path, partner: str) -> list[str]:
    folder = home / "partners" / partner / "outbox"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------ intake
def test_an_fi_file_is_answered_in_its_outbox_posted_and_filed_away_once(home, engine):
    """01-importer-soa-payment pays 1,234.56 to 123456782RM0001 and 50,000.00 to RM0002: both debts due
    2026-12-01 settled; RM0001 still owes 287.50 accounted on 11-20 (period 2026-12)."""
    data = (FIXTURES / "820" / "01-importer-soa-payment.x12").read_bytes()
    _drop(home, "bankoftest", "pay.x12", data)
    (done,) = _intake()
    assert (done["status"], done["exit_code"], done["replayed"]) == ("processed", 0, False)
    assert [(p["status"], p["applied_cents"]) for p in done["posted"]] == [("posted", 123456 + 5000000)]
    digest = done["digest"][:8]
    assert _outbox(home, "bankoftest") == [f"pay.x12.{digest}.824.x12", f"pay.x12.{digest}.997.x12"]
    assert (home / "partners" / "bankoftest" / "processed" / "pay.x12").read_bytes() == data
    with engine.begin() as conn:
        assert account_view(conn, "123456782RM0001", date(2026, 11, 20)).balance_cents == 250_00 + 37_50
        assert account_view(conn, "123456782RM0002", date(2026, 11, 20)).balance_cents == 0
        (row,) = conn.execute(select(inbound_file.c.status, inbound_file.c.exit_code, inbound_file.c.archive_path)).all()
    assert (row.status, row.exit_code) == ("processed", 0) and Path(row.archive_path).read_bytes() == data
    assert _intake() == []  # nothing left: the next run finds no file


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # SQLite's pool is not configured (a file, no server)
def test_an_intake_task_needs_one_database_connection_at_a_time(home, engine, monkeypatch):
    """Decision O22: the pool `carm_db`'s slots bound PostgreSQL's connections only if each task
    holds a known number. With CARM_DB_POOL_SIZE=1 and no overflow, a run with a payment, the same
    bytes again (a replay) and a file with no ISA (quarantined) finishes every file: a second
    connection wanted while one is held would wait for it, time out, and leave the file failed."""
    monkeypatch.setenv("CARM_DB_POOL_SIZE", "1")
    monkeypatch.setenv("CARM_DB_MAX_OVERFLOW", "0")
    monkeypatch.setenv("CARM_INCOMPLETE_WAIT", "0")  # the file with no IEA is taken at once
    with open_runtime() as runtime:
        assert (runtime.engine.pool.size(), runtime.engine.pool._max_overflow) == (1, 0)
    data = (FIXTURES / "820" / "01-importer-soa-payment.x12").read_bytes()
    _drop(home, "bankoftest", "pay1.x12", data)
    _drop(home, "bankoftest", "pay2.x12", data)
    _drop(home, "bankoftest", "junk.x12", b"not X12 at all")
    (batch,) = jobs.batches(jobs.pending_files())
    result = jobs.process_batch(batch)
    assert (result["failed"], result["unread"], result["deferred"]) == ([], [], [])
    assert {d["name"]: (d["status"], d["replayed"]) for d in result["done"]} == {
        "pay1.x12": ("processed", False), "pay2.x12": ("processed", True), "junk.x12": ("quarantine", False)}


def test_a_file_nothing_in_which_can_be_read_is_quarantined_with_its_reason(home, engine):
    """Bytes that do not end with an IEA wait an hour (an upload may still be stalled), then are taken."""
    _drop(home, "bankoftest", "junk.x12", b"\x00\x01 this is not X12")
    assert _intake() == []
    (done,) = _intake(RECEIVED + timedelta(hours=1))
    assert (done["status"], done["exit_code"]) == ("quarantine", 2) and "no ISA segment" in done["reason"]
    assert (home / "partners" / "bankoftest" / "quarantine" / "junk.x12").exists()
    # no ISA, so no TA1 can be addressed: the FI is told in words
    assert _outbox(home, "bankoftest") == ["junk.x12.rejected.txt"]
    report = (home / "partners" / "bankoftest" / "outbox" / "junk.x12.rejected.txt").read_text()
    assert "no ISA segment" in report and "no payment in it was received" in report
    with engine.begin() as conn:
        (row,) = conn.execute(select(inbound_file.c.status, inbound_file.c.reason)).all()
    assert row.status == "quarantined" and "no ISA segment" in row.reason


def test_a_file_over_the_size_limit_is_refused_unread_and_the_fi_told(home, engine, monkeypatch):
    """E21/O11: over CARM_MAX_FILE_BYTES the file is not read: quarantined, recorded with its reason,
    and `<name>.too-large.txt` in the FI's outbox; a smaller file beside it is processed as usual."""
    sample = (FIXTURES / "820" / "01-importer-soa-payment.x12").read_bytes()
    monkeypatch.setenv("CARM_MAX_FILE_BYTES", str(len(sample)))
    _drop(home, "bankoftest", "big.x12", sample + b"\n" * 10)
    _drop(home, "bankoftest", "ok.x12", sample)
    done = {d["name"]: d for d in _intake()}
    assert (done["big.x12"]["status"], done["big.x12"]["exit_code"]) == ("quarantine", 2)
    assert done["ok.x12"]["exit_code"] == 0
    assert (home / "partners" / "bankoftest" / "quarantine" / "big.x12").exists()
    report = (home / "partners" / "bankoftest" / "outbox" / "big.x12.too-large.txt").read_text()
    assert f"{len(sample) + 10:,} bytes, more than the {len(sample):,} bytes one file may hold" in report
    assert not any(name.startswith("big.x12.") and name.endswith(".x12") for name in _outbox(home, "bankoftest"))
    with engine.begin() as conn:
        rows = {r.name: r for r in conn.execute(select(inbound_file.c.name, inbound_file.c.status, inbound_file.c.reason))}
    assert rows["big.x12"].status == "quarantined" and "more than the" in rows["big.x12"].reason


def test_a_nul_in_the_sender_is_answered_and_recorded_escaped(home, engine):
    """Found in review: the quarantine reason quoted ISA06 raw, and PostgreSQL refused its NUL after
    the TA1 was sent, leaving the file claimed and answered again on every run. Now the file is
    answered once, quarantined, and its reason recorded with the NUL escaped."""
    _drop(home, "bankoftest", "nul.x12", (SHARED / "robustness" / "C8-isa06-nul-postgresql.x12").read_bytes())
    (done,) = _intake()
    assert (done["status"], done["exit_code"]) == ("quarantine", 2)
    assert [n for n in _outbox(home, "bankoftest") if n.endswith(".ta1.x12")]
    assert _intake(RECEIVED + timedelta(minutes=5)) == []
    with engine.begin() as conn:
        (row,) = conn.execute(select(inbound_file.c.status, inbound_file.c.reason)).all()
    assert row.status == "quarantined" and "BANKOF\\x00TEST" in row.reason and "\x00" not in row.reason


def test_a_run_summary_says_what_came_in_and_what_needs_a_person(home, engine):
    """Issue 14: the intake run at a glance. The six samples: one broken envelope (quarantined), a
    wire (refused), an amount with three decimals (rejected by the 997), a line to suspense."""
    for sample in sorted((FIXTURES / "820").glob("*.x12")):
        _drop(home, "bankoftest", sample.name, sample.read_bytes())
    os.environ["CARM_CLOCK"] = RECEIVED.isoformat()
    try:
        results = [jobs.process_batch(batch) for batch in jobs.batches(jobs.pending_files())]
        summary = jobs.intake_report(results + [None])  # and one batch task that failed
    finally:
        del os.environ["CARM_CLOCK"]
    assert (summary["files"], summary["processed"]) == (6, 5)
    assert [q["file"] for q in summary["quarantined"]] == ["bankoftest/05-broken-envelope.x12"]
    assert (summary["sets_accepted"], summary["sets_rejected"]) == (5, 3)
    assert summary["suspense_cents"] == 310_25 and summary["batches_failed"] == 1
    assert summary["received_cents"] == summary["applied_cents"] + summary["credit_cents"] + summary["suspense_cents"]
    attention = "\n".join(summary["attention"])
    assert "quarantined bankoftest/05-broken-envelope.x12" in attention
    assert "03-refused-wire-transfer.x12" in attention and "04-syntax-error-amount.x12" in attention
    assert "held in suspense: 310.25" in attention and "1 batch task(s) failed" in attention
    assert "01-importer-soa-payment.x12" not in attention


def test_the_operators_notice_is_a_file_and_an_event(home):
    path = jobs.notify_operators(dag_id="carm_payment_intake", task_id="needs_attention", run_id="scheduled__2026-11-20T15:00",
                                 reason="3 things need attention")
    assert path.parent == home / "operators" and "3 things need attention" in path.read_text()


# ------------------------------------------------------------------ documents
def test_daily_notices_reach_each_recipients_outbox_and_a_rerun_changes_nothing(home):
    """D17-R14, R16, Annex B: the notices of 2026-11-21 (activity of Friday 11-20) go to NORTHERN
    IMPORTS for its two accounts, and to the broker for its client's account and its own
    security account; the client that designated the broker receives none."""
    for sample in ("01-importer-soa-payment.x12", "02-broker-advance-and-interim.x12"):
        _drop(home, "bankoftest", sample, (FIXTURES / "820" / sample).read_bytes())
    _intake()
    first = jobs.daily_notices(date(2026, 11, 21))
    expected_northern = [f"123456782-DN-20261121-000{n}.{fmt}" for n in (1, 2) for fmt in ("pdf", "xml")]
    expected_broker = [f"300000007-DN-20261121-000{n}.{fmt}" for n in (1, 2) for fmt in ("pdf", "xml")]
    assert _outbox(home, "northernimp") == expected_northern
    assert _outbox(home, "swiftbrk") == expected_broker
    assert _outbox(home, "epicerieqc") == []
    assert sorted(first["delivered"]) == sorted([f"northernimp/{n}" for n in expected_northern] + [f"swiftbrk/{n}" for n in expected_broker])
    before = {p: p.read_bytes() for p in (home / "partners").rglob("outbox/*")}
    again = jobs.daily_notices(date(2026, 11, 21))
    assert sorted(again["delivered"]) == sorted(first["delivered"])
    assert {p: p.read_bytes() for p in (home / "partners").rglob("outbox/*")} == before


def test_statements_of_account_go_to_the_holder_or_its_agent(home):
    """D17-R15, R16: the 2026-11 statements (issued 11-25) — NORTHERN IMPORTS its own two; EPICERIE
    FINE the one of 200000008RM0002, which has no agent; the broker its client's 200000008RM0001 (it
    is the designated agent) and its own broker statement; the XML and HTML kept for the portal, each
    delivered PDF the one the run would have drawn."""
    result = jobs.statements_of_account("2026-11")
    assert _outbox(home, "northernimp") == [f"123456782-SOA-20261125-000{n}.{fmt}" for n in (1, 2) for fmt in ("pdf", "xml")]
    assert _outbox(home, "swiftbrk") == [f"300000007-SOA-20261125-000{n}.{fmt}" for n in (1, 2) for fmt in ("pdf", "xml")]
    assert _outbox(home, "epicerieqc") == ["200000008-SOA-20261125-0001.pdf", "200000008-SOA-20261125-0001.xml"]
    kept = sorted(p.name for p in (home / "documents" / "SOA" / "2026-11").iterdir())
    assert kept == sorted(f"{bn9}-SOA-20261125-000{n}.{fmt}" for bn9, n in [("123456782", 1), ("123456782", 2), ("200000008", 1),
                                                                              ("300000007", 1), ("300000007", 2)]
                          for fmt in ("html", "xml"))  # the PDF is drawn from the HTML when delivered (decision S12)
    assert result["kept_for_portal"] == []  # every recipient here has an SFTP account
    delivered = (home / "partners" / "epicerieqc" / "outbox" / "200000008-SOA-20261125-0001.pdf").read_bytes()
    assert delivered == pdf_of_html((home / "documents" / "SOA" / "2026-11" / "200000008-SOA-20261125-0001.html").read_bytes())


# ------------------------------------------------------------------ ledger jobs
def test_close_and_collections_are_idempotent(home):
    assert jobs.close_period("2026-11")["already_closed"] is True
    first = jobs.run_collections(date(2026, 12, 2))
    # D17-R33: nothing paid; four accounts owe past a due date (three 2026-12-01, 200000008RM0002 at release 11-06)
    assert (first["penalties"], first["penalty_cents"]) == (4, 4 * 200_00)
    again = jobs.run_collections(date(2026, 12, 2))
    assert (again["penalties"], again["interest_cents"], again["arrears_notices"]) == (0, 0, 0)


def test_a_job_refuses_a_database_behind_its_schema(home, monkeypatch, tmp_path):
    """Migrations are a deploy step: a job checks the schema revision, never migrates."""
    monkeypatch.setenv("CARM_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    (tmp_path / "empty.db").touch()
    with pytest.raises(SchemaError, match="run `carm db upgrade`"):
        jobs.close_period("2026-11")
