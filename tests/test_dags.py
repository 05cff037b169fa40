"""The Airflow DAGs: integrity at parse time, and the payment intake run by Airflow
(`airflow dags test`) against the real OpenSSH server on loopback.

The FI (partner A of the test server, ISA sender ZZ:CARMTESTA) uploads with
paramiko as itself; the engine reaches the folders as its own SFTP account.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from carm.db import upgrade
from carm.documents import KEPT_FORMATS
from carm.intake import ingest
from core.clock import EASTERN
from core.db import make_engine
from edi.samples import LineSpec, PaymentSpec, file_820
from statements import run_statements
from store.schema import inbound_file, payment, period_close
from transport.sftp import SftpFolders

from .conftest import ROOT
from .ledger_helpers import IMPORTER, POLICY, balances, declare, setup_world, txn
from .portal_helpers import build_world
from .sftp_server import PARTNER_A, clean_partner, put

pytestmark = pytest.mark.slow  # Airflow itself, in child processes

DAGS = ROOT / "dags"
A1 = f"{IMPORTER}RM0001"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def fresh_carm_home(tmp_path):
    """A CARM home under `tmp_path` with an empty, migrated SQLite ledger: (home, database URL, engine)."""
    carm_home = tmp_path / "carm"
    carm_home.mkdir()
    url = f"sqlite:///{carm_home / 'carm.db'}"
    engine = make_engine(url)
    upgrade(engine)
    return carm_home, url, engine


def _airflow_env(home: Path, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CARM_"))}
    env.update(
        AIRFLOW_HOME=str(home / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow' / 'airflow.db'}",
        CARM_LOG_FORMAT="json",
        CARM_TASK_RETRIES="0",
    )
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow")
    (home / "airflow").mkdir()
    done = subprocess.run([AIRFLOW, "db", "migrate"], env=_airflow_env(home), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    done = subprocess.run([AIRFLOW, "pools", "set", "carm_db", "4", "CARM: tasks holding database connections"],
                          env=_airflow_env(home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return home


# ------------------------------------------------------------------ integrity
PARSE = textwrap.dedent(
    """
    import json, socket
    def refuse(*args, **kwargs):
        raise RuntimeError("network used at parse time")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    from airflow.dag_processing.dagbag import BundleDagBag
    from pathlib import Path
    bag = BundleDagBag(dag_folder={folder!r}, bundle_path=Path({folder!r}))  # as the DAG processor parses a bundle
    out = {{"errors": {{k: str(v)[-500:] for k, v in bag.import_errors.items()}}, "dags": {{}}}}
    for dag_id, dag in bag.dags.items():
        out["dags"][dag_id] = {{
            "tags": sorted(dag.tags), "doc": bool(dag.doc_md), "schedule": str(getattr(dag.timetable, "description", "")),
            "params": sorted(dag.params.keys()),
            "tasks": {{t.task_id: {{"doc": bool(t.doc_md), "retries": t.retries, "pool": t.pool,
                                  "timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None}} for t in dag.tasks}},
        }}
    print("RESULT" + json.dumps(out))
    """
)


def test_every_dag_imports_cleanly_without_touching_the_network_or_a_database(tmp_path):
    """No connection, database or network work at parse time; tags, docs, retries and an
    execution timeout everywhere."""
    env = _airflow_env(tmp_path, {
        "CARM_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nothing",  # would fail if touched
        "CARM_TRANSPORT": "sftp",
        "CARM_SFTP_URL": "sftp://nobody@127.0.0.1:1",
    })
    env.pop("CARM_TASK_RETRIES")  # as the scheduler sees the DAGs: with their retries
    (tmp_path / "airflow").mkdir()
    done = subprocess.run([sys.executable, "-c", PARSE.format(folder=str(DAGS))], env=env, capture_output=True, text=True, timeout=300)
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT")), None)
    assert line, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(line[len("RESULT"):])
    assert result["errors"] == {}
    expected = {"carm_payment_intake", "carm_collections", "carm_period_close", "carm_daily_notices", "carm_statements"}
    assert expected <= set(result["dags"])
    for dag_id, dag in result["dags"].items():
        assert "carm" in dag["tags"] and len(dag["tags"]) >= 2, dag_id
        assert dag["doc"], f"{dag_id} has no doc_md"
        for task_id, task in dag["tasks"].items():
            assert task["doc"], f"{dag_id}.{task_id} has no doc_md"
            if task_id != "needs_attention":  # it re-runs nothing: failing is its whole job
                assert task["retries"] >= 1, f"{dag_id}.{task_id} has no retries"
            assert task["timeout"] == 3600, f"{dag_id}.{task_id} has no execution_timeout"
            assert task["pool"] == "carm_db", f"{dag_id}.{task_id} is not in the database pool"
    # what an operator may trigger by hand for another day or period
    assert {dag_id: dag["params"] for dag_id, dag in result["dags"].items() if dag["params"]} == {
        "carm_period_close": ["period"], "carm_statements": ["period"], "carm_daily_notices": ["issue_date"],
        "carm_calendar_month_close": ["period"], "carm_calendar_month_statements": ["period"]}


def test_an_operator_closes_another_period_by_hand_and_a_bad_period_is_refused(airflow_home, tmp_path):
    """`Trigger with config` on carm_period_close: {"period": "2026-10"} closes 2026-10, not the
    run's month; a period that is no YYYY-MM fails the run before any task touches the ledger."""
    carm_home, url, engine = fresh_carm_home(tmp_path)
    env = _airflow_env(airflow_home, {"CARM_HOME": str(carm_home), "CARM_DATABASE_URL": url, "CARM_TRANSPORT": "local"})
    command = [AIRFLOW, "dags", "test", "carm_period_close", "2026-12-18T06:00:00+00:00"]
    bad = subprocess.run([*command, "-c", '{"period": "2026-13"}'], env=env, capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "2026-13" in bad.stdout + bad.stderr
    done = subprocess.run([*command, "-c", '{"period": "2026-10"}'], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with engine.begin() as conn:
        assert conn.execute(select(period_close.c.period)).scalars().all() == ["2026-10"]
    engine.dispose()


def test_the_calendar_month_close_closes_the_month_before_its_run_and_only_that_cycle(airflow_home, tmp_path):
    """carm_calendar_month_close runs on the 1st (decision L17): the run of 2027-06-01 closes the
    calendar month 2027-05 — the calendar-month cycle only, the 18th → 17th period untouched."""
    carm_home, url, engine = fresh_carm_home(tmp_path)
    env = _airflow_env(airflow_home, {"CARM_HOME": str(carm_home), "CARM_DATABASE_URL": url, "CARM_TRANSPORT": "local"})
    done = subprocess.run([AIRFLOW, "dags", "test", "carm_calendar_month_close", "2027-06-01T05:00:00+00:00"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with engine.begin() as conn:
        assert [tuple(r) for r in conn.execute(select(period_close.c.period, period_close.c.calendar_month))] == [("2027-05", True)]
    engine.dispose()


def test_the_statements_task_splits_its_run_across_two_processes_and_writes_what_one_process_writes(airflow_home, tmp_path):
    """Decision S11: carm_statements of 2026-11-25 with CARM_STATEMENT_WORKERS=2 spawns its workers from
    inside the Airflow task and keeps, byte for byte, the XML and HTML files one process writes (S12)."""
    carm_home, url, engine = fresh_carm_home(tmp_path)
    build_world(engine)
    env = _airflow_env(airflow_home, {"CARM_HOME": str(carm_home), "CARM_DATABASE_URL": url, "CARM_TRANSPORT": "local",
                                      "CARM_STATEMENT_WORKERS": "2", "CARM_STATEMENT_SPLIT_FROM": "1"})
    done = subprocess.run([AIRFLOW, "dags", "test", "carm_statements", "2026-11-25T11:00:00+00:00"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with engine.begin() as conn:
        one = run_statements(conn, "2026-11", tmp_path / "one", policy=POLICY, formats=KEPT_FORMATS)
    issued = carm_home / "documents" / "SOA" / "2026-11"
    assert "workers=2" in next(line for line in (done.stdout + done.stderr).splitlines() if "statements.split" in line)
    assert len(one.files) == 4 and {p.name: p.read_bytes() for p in issued.iterdir()} == {p.name: p.read_bytes() for p in one.files}
    engine.dispose()


# ------------------------------------------------------------------ end to end over SFTP
@pytest.fixture(params=["environment", "airflow-connection"])
def intake(request, sftp, airflow_home, tmp_path):
    """A fresh ledger (SQLite) with A1 owing 500.00, and a function running the intake DAG with Airflow."""
    clean_partner(sftp, PARTNER_A)
    carm_home, url, engine = fresh_carm_home(tmp_path)
    setup_world(engine)
    declare(engine, dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01",
                         accounting_date="2026-11-02", duty="500.00"))
    extra = {"CARM_HOME": str(carm_home), "CARM_DATABASE_URL": url, "CARM_TRANSPORT": "sftp", "CARM_PARTNERS_FILE": str(sftp.registry),
             "CARM_SETTLE_SECONDS": "0", "CARM_INCOMPLETE_WAIT": "0"}  # whole files uploaded, then intake at once
    if request.param == "environment":
        extra.update(CARM_SFTP_URL=sftp.url, CARM_SFTP_KEY=str(sftp.engine_key), CARM_SFTP_KNOWN_HOSTS=str(sftp.known_hosts))
    else:  # the SFTP server as an Airflow connection, as operators configure it in the UI or a secrets backend
        extra["AIRFLOW_CONN_CARM_SFTP"] = json.dumps({
            "conn_type": "sftp", "host": "127.0.0.1", "port": sftp.port, "login": sftp.engine_user,
            "extra": {"key_file": str(sftp.engine_key), "known_hosts": str(sftp.known_hosts)},
        })
    env = _airflow_env(airflow_home, extra)

    def run(day: str = "2026-11-20", *, attention: bool = False) -> subprocess.CompletedProcess:
        """One intake run; `attention`: something in it needs a person, so the run must end failed
        by its `needs_attention` task (and by nothing else), with the reasons in the log."""
        done = subprocess.run([AIRFLOW, "dags", "test", "carm_payment_intake", day], env=env, capture_output=True, text=True, timeout=600)
        out = done.stdout + done.stderr
        if attention:
            assert done.returncode != 0 and re.search(r"\d+ things? needs? attention:", out), out[-3000:]
            assert out.count("new_state=failed") == 1  # needs_attention, and no other task
            assert "intake.run_summary" in out
        else:
            assert done.returncode == 0 and "state=success" in out, out[-3000:]
        return done

    run.engine = engine
    yield run
    engine.dispose()


def _payment_file(trace: str = "SFTP1", cents: int = 300_00) -> bytes:
    return file_820([PaymentSpec(trace, IMPORTER, [LineSpec(A1, cents)])], sender_id="CARMTESTA", control_number=7)


def _digest(data: bytes) -> str:
    """The first 8 hex digits of the SHA-256 the answers' names carry (decision O2)."""
    import hashlib

    return hashlib.sha256(data).hexdigest()[:8]


def _as_partner(sftp):
    client = sftp.connect(PARTNER_A, sftp.partner_keys[PARTNER_A])
    return client, client.open_sftp()


def _posted(engine) -> int:
    with engine.begin() as conn:
        return conn.execute(select(func.count()).select_from(payment)).scalar()


RECEIVED = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN).timestamp()


def test_an_fi_file_dropped_over_sftp_is_acknowledged_in_its_outbox_and_posted(sftp, intake):
    client, partner = _as_partner(sftp)
    try:
        put(partner, "inbox/pay1.x12", _payment_file(), mtime=RECEIVED)
        intake()
        d = _digest(_payment_file())
        outbox = sorted(partner.listdir("outbox"))
        assert outbox == [f"pay1.x12.{d}.824.x12", f"pay1.x12.{d}.997.x12"]
        with partner.open(f"outbox/pay1.x12.{d}.997.x12") as f:
            ack = f.read().decode()
        assert "AK1*RA*1~\nAK2*820*0001~\nAK5*A~\nAK9*A*1*1*1~" in ack
        with partner.open(f"outbox/pay1.x12.{d}.824.x12") as f:
            assert "OTI*TA*TN*SFTP1*" in f.read().decode()
        assert [n for n in partner.listdir("inbox") if not n.startswith(".")] == []
    finally:
        client.close()
    assert (sftp.partners_root / PARTNER_A / "processed" / "pay1.x12").exists()
    assert balances(intake.engine, A1) == {f"declaration:duty:{txn('12001', 1)}": 200_00}  # 500.00 - 300.00


def test_a_file_dropped_twice_is_posted_once_and_answered_the_same(sftp, intake):
    client, partner = _as_partner(sftp)
    try:
        put(partner, "inbox/pay2.x12", _payment_file("SFTP2"), mtime=RECEIVED)
        intake()
        d = _digest(_payment_file("SFTP2"))
        with partner.open(f"outbox/pay2.x12.{d}.997.x12") as f:
            first = f.read()
        put(partner, "inbox/pay2-again.x12", _payment_file("SFTP2"), mtime=RECEIVED)
        intake()
        with partner.open(f"outbox/pay2-again.x12.{d}.997.x12") as f:
            again = f.read()
    finally:
        client.close()
    assert again == first  # the same bytes: the stored answers are returned
    assert _posted(intake.engine) == 1
    assert balances(intake.engine, A1) == {f"declaration:duty:{txn('12001', 1)}": 200_00}


def _engine_folders(sftp) -> SftpFolders:
    return SftpFolders("127.0.0.1", sftp.port, sftp.engine_user, key_filename=sftp.engine_key, known_hosts=sftp.known_hosts)


def test_a_run_killed_after_claiming_resumes_and_loses_nothing(sftp, intake):
    client, partner = _as_partner(sftp)
    try:
        put(partner, "inbox/pay3.x12", _payment_file("SFTP3"), mtime=RECEIVED)
    finally:
        client.close()
    with _engine_folders(sftp) as folders:
        (waiting,) = folders.inbox(PARTNER_A)
        assert folders.claim(waiting) is not None  # the worker died right here
    intake()
    assert (sftp.partners_root / PARTNER_A / "processed" / "pay3.x12").exists()
    assert _posted(intake.engine) == 1


def test_a_run_killed_after_posting_delivers_on_the_rerun_and_posts_nothing_twice(sftp, intake):
    data = _payment_file("SFTP4")
    client, partner = _as_partner(sftp)
    try:
        put(partner, "inbox/pay4.x12", data, mtime=RECEIVED)
    finally:
        client.close()
    with _engine_folders(sftp) as folders:
        (waiting,) = folders.inbox(PARTNER_A)
        folders.claim(waiting)
    # the worker posted, then died before delivering the answers or moving the file
    ingest(intake.engine, data, "pay4.x12", received_at=datetime.fromtimestamp(RECEIVED, EASTERN), policy=POLICY, sender="ZZ:CARMTESTA")
    assert _posted(intake.engine) == 1
    intake()
    assert _posted(intake.engine) == 1
    assert balances(intake.engine, A1) == {f"declaration:duty:{txn('12001', 1)}": 200_00}
    client, partner = _as_partner(sftp)
    try:
        d = _digest(data)
        assert sorted(partner.listdir("outbox")) == [f"pay4.x12.{d}.824.x12", f"pay4.x12.{d}.997.x12"]
    finally:
        client.close()


def test_an_unreadable_file_is_quarantined_with_its_reason(sftp, intake):
    client, partner = _as_partner(sftp)
    try:
        put(partner, "inbox/junk.x12", b"\x00\x01 this is not X12", mtime=RECEIVED)
        intake(attention=True)
        # no ISA, so no TA1 can be addressed: the FI reads why in its outbox, over SFTP (O11)
        assert partner.listdir("outbox") == ["junk.x12.rejected.txt"]
        with partner.open("outbox/junk.x12.rejected.txt") as report:
            assert "no ISA segment" in report.read().decode()
    finally:
        client.close()
    assert (sftp.partners_root / PARTNER_A / "quarantine" / "junk.x12").exists()
    with intake.engine.begin() as conn:
        (row,) = conn.execute(select(inbound_file.c.status, inbound_file.c.reason)).all()
    assert row.status == "quarantined" and "no ISA segment" in row.reason


def test_an_upload_the_engine_cannot_read_is_quarantined_with_a_report_not_retried_for_ever(sftp, intake):
    """An upload is rw-r----- when the client asks for no mode (internal-sftp -u 0027); a partner
    that chmods its file 0600 shuts the engine out: the file waits claimed for two more runs, then
    goes to quarantine with a report in the FI's outbox — and the other file of the first run was
    processed meanwhile (decision O7)."""
    client, partner = _as_partner(sftp)
    try:
        put(partner, "inbox/mode.x12", _payment_file("MODE1"), mtime=RECEIVED)
        assert stat.S_IMODE(partner.stat("inbox/mode.x12").st_mode) == 0o640  # -u 0027 on a client asking for no mode
        partner.chmod("inbox/mode.x12", 0o600)
        put(partner, "inbox/other.x12", _payment_file("MODE2"), mtime=RECEIVED)
        intake(attention=True)  # a file the engine cannot read needs a person from the first run
        assert sorted(n for n in partner.listdir("outbox") if "other.x12" in n) == [
            f"other.x12.{_digest(_payment_file('MODE2'))}.824.x12", f"other.x12.{_digest(_payment_file('MODE2'))}.997.x12"]
        intake(attention=True)
        assert not any("mode.x12" in n for n in partner.listdir("outbox"))
        intake(attention=True)
        assert "mode.x12.unreadable.txt" in partner.listdir("outbox")
        with partner.open("outbox/mode.x12.unreadable.txt") as f:
            assert "could not read 'mode.x12'" in f.read().decode()
    finally:
        client.close()
    assert (sftp.partners_root / PARTNER_A / "quarantine" / "mode.x12").exists()
    with intake.engine.begin() as conn:
        rows = {r.name: (r.status, r.reason) for r in conn.execute(select(inbound_file.c.name, inbound_file.c.status, inbound_file.c.reason))}
    assert rows["mode.x12"][0] == "quarantined" and "Permission denied" in rows["mode.x12"][1]
    assert rows["other.x12"] == ("processed", None)
