"""The intake job's choice of files, on the local twin of the partner folders."""

from __future__ import annotations

import os

import pytest

from carm import jobs

from .conftest import FIXTURES


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setenv("CARM_HOME", str(tmp_path))
    monkeypatch.setenv("CARM_TRANSPORT", "local")
    monkeypatch.setenv("CARM_PARTNERS_DIR", str(tmp_path / "partners"))
    monkeypatch.setenv("CARM_PARTNERS_FILE", str(FIXTURES / "partners.csv"))
    monkeypatch.delenv("CARM_DATABASE_URL", raising=False)
    inbox = tmp_path / "partners" / "bankoftest" / "inbox"
    inbox.mkdir(parents=True)
    return inbox


def _drop(inbox, name: str, mtime: float) -> None:
    path = inbox / name
    path.write_bytes(b"ISA")
    os.utime(path, (mtime, mtime))


def test_a_file_still_being_uploaded_waits_for_the_next_run(folders):
    """Settle time (decision O5): a file touched less than 60 s ago is not taken; partial names never."""
    now = 1_800_000_000.0
    _drop(folders, "old.x12", now - 61)
    _drop(folders, "fresh.x12", now - 5)
    _drop(folders, "upload.x12.part", now - 600)
    assert [f["name"] for f in jobs.pending_files(now=now)] == ["old.x12"]


def test_only_financial_institutions_inboxes_are_read(folders, tmp_path):
    broker_inbox = tmp_path / "partners" / "swiftbrk" / "inbox"
    broker_inbox.mkdir(parents=True)
    _drop(broker_inbox, "not-a-payment.x12", 0)
    _drop(folders, "pay.x12", 0)
    assert [(f["partner"], f["name"]) for f in jobs.pending_files(now=1_000.0)] == [("bankoftest", "pay.x12")]
