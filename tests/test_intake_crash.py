"""kill -9 at any point of intake, again and again, loses nothing and doubles nothing.

The sample 820 files and a junk file go into BANKOFTEST's inbox (local folders). Intake runs
in a child process, as an Airflow task would, and is killed with SIGKILL again and again: while
it starts, and then at moments its own work announces — a file claimed, an answer delivered, a
file filed away — each after a spread of short delays, so the kills land before, during and after
claiming, validating, posting, delivering and filing away whatever the speed of the machine;
then one run finishes. Every file must then be answered and filed away, the
books sound, and the books exactly those a single uninterrupted run gives (compared by
keys), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from carm.db import upgrade
from core.db import make_engine
from store.journal import check_books
from store.ledger import load_declarations, load_reference

from . import golden_scenario
from .conftest import FIXTURES, PG_URL, ROOT
from .ledger_helpers import AT, POLICY

pytestmark = pytest.mark.slow  # child processes, a dozen of them, killed

SAMPLES = ["01-importer-soa-payment.x12", "02-broker-advance-and-interim.x12", "03-refused-wire-transfer.x12",
           "04-syntax-error-amount.x12", "06-two-interchanges-one-test.x12"]
RUN = "from carm import jobs\nfor batch in jobs.batches(jobs.pending_files()):\n    jobs.process_batch(batch)\n"
#: When the child is killed: (what it has just done, seconds after that). "started" is the child's
#: start (it is still importing); the others are the first sign, after the child starts, of a
#: file claimed, an answer delivered, a file filed away. Kills follow the child's progress, not
#: the clock, so a fast or a loaded machine is interrupted mid-work alike (a clock-only schedule
#: once found the work over after four kills).
KILL_AT = [("started", 0.3), *[(sign, delay) for delay in (0.0, 0.01, 0.03, 0.06) for sign in ("claimed", "answered", "filed")]]


def _more_files() -> dict[str, bytes]:
    """Ten more files of three payments each: applied, set aside (an account nobody has), refused (a wire)."""
    from edi.samples import LineSpec, PaymentSpec, file_820

    files = {}
    for n in range(10):
        specs = [
            PaymentSpec(f"K{n}A", "123456782", [LineSpec("123456782RM0001", 10_00 + n), LineSpec("123456782RM0002", 5_00)]),
            PaymentSpec(f"K{n}B", "123456782", [LineSpec("999999998RM0001", 7_00), LineSpec("123456782RM0001", 3_00)]),
            PaymentSpec(f"K{n}C", "123456782", [LineSpec("123456782RM0002", 1_00)], method="FWT"),
        ]
        files[f"more-{n}.x12"] = file_820(specs, control_number=500 + n, group_control=500 + n)
    return files


def _world(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        assert load_reference(conn, FIXTURES / "reference.json").problems == []
        assert load_declarations(conn, FIXTURES / "declarations.csv", policy=POLICY, at=AT).problems == []
    engine.dispose()


def _home(root: Path, url: str) -> dict[str, str]:
    inbox = root / "partners" / "bankoftest" / "inbox"
    inbox.mkdir(parents=True)
    for sample in SAMPLES:
        shutil.copy(FIXTURES / "820" / sample, inbox / sample)
    for name, data in _more_files().items():
        (inbox / name).write_bytes(data)
    (inbox / "junk.x12").write_bytes(b"\x00\x01 not X12 at all")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARM_")}
    env.update(CARM_HOME=str(root), CARM_DATABASE_URL=url, CARM_TRANSPORT="local", CARM_PARTNERS_DIR=str(root / "partners"),
               CARM_PARTNERS_FILE=str(FIXTURES / "partners.csv"), CARM_SETTLE_SECONDS="0", CARM_INCOMPLETE_WAIT="0",
               CARM_CLOCK="2026-11-20T10:20:00-05:00", CARM_LOG_LEVEL="ERROR")
    return env


def _progress(root: Path) -> dict[str, int]:
    """What intake has done so far, as the partner's folders show it."""
    bank = root / "partners" / "bankoftest"

    def count(folder: Path, pattern: str = "*") -> int:
        return sum(1 for _ in folder.glob(pattern)) if folder.is_dir() else 0

    return {"claimed": count(bank / "inbox" / ".claimed"), "answered": count(bank / "outbox"),
            "filed": count(bank / "processed") + count(bank / "quarantine")}


def _intake(env: dict[str, str], kill_at: tuple[str, float] | None = None) -> int | None:
    """Run intake in a child; killed with SIGKILL at `kill_at` (see KILL_AT). Its exit code."""
    root = Path(env["CARM_HOME"])
    before = _progress(root)
    child = subprocess.Popen([sys.executable, "-c", RUN], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_at is None:
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err.decode()[-3000:]
        return 0
    sign, delay = kill_at
    deadline = time.monotonic() + 120
    while sign != "started" and child.poll() is None and time.monotonic() < deadline:
        now = _progress(root)
        if now[sign] > before[sign] or (sign == "claimed" and now["claimed"] and now != before):
            break
        time.sleep(0.002)
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    return child.returncode


def _unfinished(root: Path) -> bool:
    """Whether files are still waiting or claimed (a run was killed before the end of its work)."""
    inbox = root / "partners" / "bankoftest" / "inbox"
    return any(p.is_file() for p in inbox.iterdir()) or any((inbox / ".claimed").glob("*"))


def _books(url: str, folder: Path) -> dict[str, bytes]:
    golden_scenario.dump_ledger(url, folder)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _answers(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "partners" / "bankoftest" / "outbox").iterdir())}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """Two fresh databases of the kind: one for the run that gets killed, one for the reference run."""
    if request.param == "sqlite":
        yield [f"sqlite:///{tmp_path / name}.db" for name in ("killed", "clean")]
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    names = [f"carm_crash_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield [admin.url.set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_intake_killed_at_any_moment_answers_every_file_once_and_posts_every_cent_once(database, tmp_path):
    killed_url, clean_url = database
    for url in database:
        _world(url)
    killed_env, clean_env = _home(tmp_path / "killed", killed_url), _home(tmp_path / "clean", clean_url)

    interrupted = 0
    for moment in KILL_AT:
        if _intake(killed_env, kill_at=moment) == -signal.SIGKILL and _unfinished(tmp_path / "killed"):
            interrupted += 1
    print(f"interrupted mid-work: {interrupted} of {len(KILL_AT)}")
    assert interrupted >= 5  # the campaign did kill runs in the middle of their work, not only idle ones
    _intake(killed_env)  # the run that finishes
    _intake(clean_env)  # the reference: one run, never interrupted

    killed_root, clean_root = tmp_path / "killed", tmp_path / "clean"
    for root in (killed_root, clean_root):
        bank = root / "partners" / "bankoftest"
        assert sorted(os.listdir(bank / "inbox")) in ([], [".claimed"]) and not list((bank / "inbox" / ".claimed").glob("*"))
        assert sorted(os.listdir(bank / "processed")) == sorted([*SAMPLES, *_more_files()])
        assert os.listdir(bank / "quarantine") == ["junk.x12"]
    engine = make_engine(killed_url)
    with engine.begin() as conn:
        assert check_books(conn) == []
    engine.dispose()
    assert _books(killed_url, tmp_path / "books-killed") == _books(clean_url, tmp_path / "books-clean")
    killed_answers, clean_answers = _answers(killed_root), _answers(clean_root)
    assert sorted(killed_answers) == sorted(clean_answers)  # every file answered, under the same names, once
    for name in killed_answers:  # the same segments; envelope times and control numbers may differ between the runs
        assert _segments(killed_answers[name]) == _segments(clean_answers[name]), name


def _segments(data: bytes) -> list[str]:
    import io

    from edi.reader import X12Reader

    masked = {"ISA": (9, 10, 13), "IEA": (2,), "GS": (4, 5, 6), "GE": (2,), "BGN": (2, 3, 4)}
    out = []
    for seg in X12Reader(io.BytesIO(data)):
        elements = list(seg.elements)
        for position in masked.get(seg.id, ()):
            if position < len(elements):
                elements[position] = "#"
        out.append("*".join(elements))
    return out
