"""The `carm` command as an operator runs it: files, exit codes, messages.

Most cases call the command's `main` in this process (the environment, standard output
and standard error as a process would have them); `test_the_installed_command_runs_as_a_process`
runs the installed entry point as a real process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from carm.cli import main
from carm.runtime import open_runtime

from .conftest import FIXTURES, ROOT
from .golden_scenario import environment

SAMPLES = FIXTURES / "820"


@pytest.fixture(autouse=True)
def database(tmp_path):
    """Every test's CARM_HOME holds a database created the way an operator creates it, with the
    sample world's reference data and declarations (`fixtures/`)."""
    done = carm("db", "upgrade", home=tmp_path)
    assert done.returncode == 0 and "is up to date" in done.stdout, done.stderr
    assert carm("reference", "load", str(FIXTURES / "reference.json"), home=tmp_path).returncode == 0
    assert carm("declarations", "load", str(FIXTURES / "declarations.csv"), home=tmp_path).returncode == 0


def carm(*args: str, home: Path, database_url: str | None = None, **env_extra: str | None) -> subprocess.CompletedProcess:
    """`carm ARGS` with CARM_HOME=`home` (and the database at `database_url`, CARM_* `env_extra`),
    run through `carm.cli.main` in this process."""
    out, err = io.StringIO(), io.StringIO()
    env = {"CARM_HOME": str(home), "CARM_LOG_FORMAT": "json", "CARM_DATABASE_URL": database_url, "CARM_POLICY": None, **env_extra}
    with environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(["carm", *args], code, out.getvalue(), err.getvalue())


@pytest.mark.parametrize(
    ("sample", "code", "documents"),
    [
        ("01-importer-soa-payment.x12", 0, {"997", "824"}),
        ("02-broker-advance-and-interim.x12", 1, {"ta1", "997", "824"}),  # a line set aside: 824 TE
        ("03-refused-wire-transfer.x12", 1, {"997", "824"}),  # 997 R (no proof of payment) and 824 TR saying why
        ("04-syntax-error-amount.x12", 1, {"997"}),  # 997 R: no 824
        ("05-broken-envelope.x12", 2, {"ta1"}),  # envelope rejected: nothing else can be answered
        ("06-two-interchanges-one-test.x12", 0, {"997", "824"}),
    ],
)
def test_validate_writes_the_answers_and_exits_by_the_verdict(tmp_path, sample, code, documents):
    out = tmp_path / "out"
    run = carm("edi", "validate", str(SAMPLES / sample), "--out", str(out), home=tmp_path)
    assert run.returncode == code, run.stderr
    assert {p.name.split(".")[-2] for p in out.iterdir()} == documents
    events = [json.loads(line) for line in run.stderr.splitlines()]
    assert events[0] == {**events[0], "event": "carm.database", "url": f"sqlite:///{tmp_path / 'carm.db'}"}
    assert events[1:] and all(event["file"] == sample for event in events[1:])


@pytest.mark.parametrize("sample", ["03-refused-wire-transfer.x12", "04-syntax-error-amount.x12"])
def test_either_engine_gives_the_same_answers(tmp_path, sample):
    """`--engine pyx12` (pyx12's walker) and the default compiled engine write the same files (decision E22)."""
    written = {}
    for engine in ("compiled", "pyx12"):
        out = tmp_path / engine
        run = carm("edi", "validate", str(SAMPLES / sample), "--out", str(out), "--engine", engine, home=tmp_path)
        assert run.returncode == 1, run.stderr
        written[engine] = {p.name: p.read_bytes() for p in out.iterdir()}
    assert written["compiled"] == written["pyx12"] and len(written["compiled"]) >= 1


def test_one_summary_line_per_set(tmp_path):
    run = carm("edi", "validate", str(SAMPLES / "02-broker-advance-and-interim.x12"), "--out", str(tmp_path), home=tmp_path)
    lines = [line for line in run.stdout.splitlines() if line.startswith("ISA ")]
    assert lines == [
        "ISA 000000102 | GS 102 | ST 820 0001 | 997 A | 824 TE | trace NBK20261120000002 ADV 7810.25 CAD, "
        "1/2 lines to apply | to suspense 310.25 | line 2: 011 program account 200000009RM0001 - business number fails its check digit",
        "ISA 000000102 | GS 102 | ST 820 0002 | 997 A | 824 TA | trace NBK20261120000003 INT 2000.00 CAD, 1/1 lines to apply",
    ]
    assert run.stdout.splitlines()[-1] == "dry run: the answers an ingest would send now; nothing was posted or kept"


def test_a_refused_payment_gets_a_negative_997_pointing_at_the_element(tmp_path):
    """Memo D17-5-1 §30: a positive 997 is the proof of payment, so a wire transfer (D17-R27) is
    rejected in the 997 itself (BPR04, an invalid code value) and the 824 says why."""
    run = carm("edi", "validate", str(SAMPLES / "03-refused-wire-transfer.x12"), "--out", str(tmp_path / "out"), home=tmp_path)
    answers = {p.name.split(".")[-2]: p.read_text() for p in (tmp_path / "out").iterdir()}
    assert "AK2*820*0001~\nAK3*BPR*2**8~\nAK4*4*591*7*FWT~\nAK5*R*5~\nAK9*R*1*1*0~" in answers["997"]
    assert "OTI*TR*TN*NBK20261120000004*" in answers["824"] and "TED*012*payment method FWT is not accepted*BPR*2*4*591*FWT~" in answers["824"]
    assert run.returncode == 1


def test_validating_a_file_first_changes_nothing_for_its_ingest(tmp_path):
    """`carm edi validate` is a dry run: the same file ingested afterwards is judged and posted
    as if never seen (51,234.56 applied), and gets the first control numbers (ISA13 1)."""
    sample = str(SAMPLES / "01-importer-soa-payment.x12")
    assert carm("edi", "validate", sample, "--out", str(tmp_path / "dry"), home=tmp_path).returncode == 0
    again = carm("edi", "validate", sample, "--out", str(tmp_path / "dry2"), home=tmp_path)
    assert "returned again" not in again.stdout
    run = carm("payments", "ingest", sample, "--out", str(tmp_path / "acks"), "--received-at", "2026-11-20T10:15:00-05:00", home=tmp_path)
    assert run.returncode == 0 and "posted NBK20261120000001: posted, applied 51234.56" in run.stdout, run.stdout
    ack = next(p for p in (tmp_path / "acks").iterdir() if p.name.endswith(".997.x12")).read_text()
    assert "*000000001*0*P*:~" in ack.splitlines()[0]
    assert carm("ledger", "check", home=tmp_path).returncode == 0


def test_json_gives_one_object_per_set(tmp_path):
    run = carm(
        "edi", "validate", str(SAMPLES / "04-syntax-error-amount.x12"), "--out", str(tmp_path), "--json", home=tmp_path
    )
    (row,) = [json.loads(line) for line in run.stdout.splitlines()]
    assert row["ak5"] == "R" and row["ak5_codes"] == ["5"] and row["ak9"] == "R"
    assert row["advice"] is None and row["interchange"] == "000000104" and row["set"] == "0001"
    assert row["first_error"].startswith("BPR at 2:")


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02\xff" * 64, b"hello, this is not X12\n"],
    ids=["empty", "binary", "text"],
)
def test_an_unusable_file_exits_2_with_the_reason(tmp_path, content):
    bad = tmp_path / "bad.x12"
    bad.write_bytes(content)
    run = carm("edi", "validate", str(bad), "--out", str(tmp_path / "out"), home=tmp_path)
    assert run.returncode == 2
    assert run.stdout.startswith("file: ") and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_missing_file_and_bad_arguments_get_a_message_not_a_traceback(tmp_path):
    run = carm("edi", "validate", str(tmp_path / "nope.x12"), "--out", str(tmp_path), home=tmp_path)
    assert run.returncode == 2 and "nope.x12: no such file" in run.stderr and "Traceback" not in run.stderr
    run = carm("edi", "validate", str(tmp_path), "--out", str(tmp_path), home=tmp_path)
    assert run.returncode == 2 and "is a folder" in run.stderr
    run = carm("edi", "validate", home=tmp_path)
    assert run.returncode == 2 and "the following arguments are required" in run.stderr
    run = carm("edi", "frobnicate", home=tmp_path)
    assert run.returncode == 2 and "invalid choice" in run.stderr


def test_ingesting_the_same_file_again_returns_the_same_bytes_and_posts_nothing(tmp_path):
    sample = str(SAMPLES / "01-importer-soa-payment.x12")
    received = ("--received-at", "2026-11-20T10:15:00-05:00")
    first = carm("payments", "ingest", sample, "--out", str(tmp_path / "a"), *received, home=tmp_path)
    run = carm("payments", "ingest", sample, "--out", str(tmp_path / "b"), *received, home=tmp_path)
    assert "returned again" in run.stdout and "posted NBK" in first.stdout and "posted NBK" not in run.stdout
    for answer in (tmp_path / "a").iterdir():
        assert (tmp_path / "b" / answer.name).read_bytes() == answer.read_bytes()
    dry = carm("edi", "validate", sample, "--out", str(tmp_path / "c"), home=tmp_path)
    assert "returned again" in dry.stdout  # what the FI was sent, not a new judgement
    for answer in (tmp_path / "a").iterdir():
        assert (tmp_path / "c" / answer.name).read_bytes() == answer.read_bytes()


def test_the_partner_registry_loads_like_reference_data_and_the_jobs_use_it(tmp_path):
    """`carm partners load` upserts the registry; loading it twice changes nothing."""
    first = carm("partners", "load", str(FIXTURES / "partners.csv"), home=tmp_path)
    again = carm("partners", "load", str(FIXTURES / "partners.csv"), home=tmp_path)
    assert first.returncode == again.returncode == 0
    assert first.stdout == again.stdout == "trading partners: 5 loaded\n"
    with environment({"CARM_HOME": str(tmp_path), "CARM_PARTNERS_FILE": "/nonexistent.csv", "CARM_DATABASE_URL": None}), open_runtime() as runtime:
        registry = runtime.registry()
    assert (len(registry), registry.by_isa_sender("ZZ", "BANKOFTEST").sftp_user) == (5, "bankoftest")


def test_a_command_without_a_database_says_so_in_one_line(tmp_path):
    """Only `carm db upgrade` creates the database; any other command names it and stops (exit 2)."""
    run = carm("ledger", "check", home=tmp_path / "elsewhere")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == f"carm: no database at {tmp_path / 'elsewhere' / 'carm.db'}: create it with `carm db upgrade` (or set CARM_HOME / CARM_DATABASE_URL)"
    assert not (tmp_path / "elsewhere").exists()


def test_every_command_that_reads_the_database_says_which_one_first(tmp_path):
    """Issue 14: without CARM_HOME or CARM_DATABASE_URL the embedded ./var/carm.db answers — so the
    user is told, on stderr (stdout stays the answer), where the answer comes from."""
    out, err = io.StringIO(), io.StringIO()
    with environment({"CARM_HOME": str(tmp_path), "CARM_LOG_FORMAT": "console", "CARM_DATABASE_URL": None}), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["account", "show", "123456782RM0001"]) == 0
    assert out.getvalue().startswith("123456782RM0001  NORTHERN IMPORTS LTD")
    assert err.getvalue().splitlines()[0] == f"carm: database sqlite:///{tmp_path / 'carm.db'}"
    run = carm("account", "show", "123456782RM0001", home=tmp_path)  # JSON events: the note is one of them
    assert json.loads(run.stderr.splitlines()[0])["url"] == f"sqlite:///{tmp_path / 'carm.db'}"


def test_a_database_that_cannot_be_reached_is_a_sentence_without_the_password(tmp_path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    with environment({"CARM_DATABASE_URL": f"postgresql+psycopg://carm:s3cret@127.0.0.1:{port}/carm"}):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["ledger", "check"])
    assert code == 2 and "Traceback" not in err.getvalue() and "s3cret" not in err.getvalue() + out.getvalue()
    last = err.getvalue().strip().splitlines()[-1]
    assert last.startswith(f"carm: cannot use the database postgresql+psycopg://carm:***@127.0.0.1:{port}/carm: connection failed")
    assert "Connection refused" in last


@pytest.mark.slow
def test_the_installed_command_runs_as_a_process(tmp_path):
    """The `carm` entry point, as a shell runs it: exit status and output of a real process."""
    env = {**os.environ, "CARM_HOME": str(tmp_path), "CARM_LOG_FORMAT": "json"}
    env.pop("CARM_DATABASE_URL", None)
    carm_bin = str(Path(sys.executable).with_name("carm"))
    out = tmp_path / "out"
    run = subprocess.run([carm_bin, "edi", "validate", str(SAMPLES / "01-importer-soa-payment.x12"), "--out", str(out)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert {p.name.split(".")[-2] for p in out.iterdir()} == {"997", "824"}
    run = subprocess.run([carm_bin, "ledger", "check"], capture_output=True, text=True, env={**env, "CARM_HOME": str(tmp_path / "none")}, timeout=120)
    assert run.returncode == 2 and run.stderr.splitlines()[-1].startswith("carm: no database at") and "Traceback" not in run.stderr


def test_an_operator_lists_and_applies_money_held_in_suspense(tmp_path):
    """The broker's advance (02) paid 310.25 to 200000009RM0001, a typo for its client's
    200000008RM0001: the line is held; the operator applies it, once, under the broker's security."""
    sample = str(SAMPLES / "02-broker-advance-and-interim.x12")
    assert carm("payments", "ingest", sample, "--out", str(tmp_path / "acks"), "--received-at", "2026-11-20T10:15:00-05:00",
                home=tmp_path).returncode == 1  # 824 TE: a line set aside
    held = carm("suspense", "list", "--as-of", "2026-11-24", home=tmp_path)
    assert held.stdout.splitlines()[0] == "held in suspense on 2026-11-24: 1 lines, 310.25"
    assert "ZZ:BANKOFTEST/NBK20261120000002/2" in held.stdout and "(4 days)" in held.stdout
    assert held.stdout.splitlines()[-1] == "age (days held): 0-30: 1 lines 310.25 · 31-60: 0 lines 0.00 · 61-90: 0 lines 0.00 · 91+: 0 lines 0.00"
    line = "ZZ:BANKOFTEST/NBK20261120000002/2"
    done = carm("suspense", "apply", line, "--to", "200000008RM0001", "--asec", "40001", "--note", "RM15 typo", "--by", "ops1", home=tmp_path)
    assert (done.returncode, done.stdout) == (0, f"applied {line} (310.25) to 200000008RM0001\n")
    again = carm("suspense", "return", line, "--reason", "late", "--by", "ops2", home=tmp_path)
    assert again.returncode == 1 and again.stderr.strip().endswith(f"line {line} was already applied on {again_day()}")
    assert carm("suspense", "list", home=tmp_path).stdout.startswith("held in suspense on ")
    assert '"resolution": "SUSPENSE_APPLIED"' in carm("suspense", "list", "--all", "--json", home=tmp_path).stdout
    assert carm("ledger", "check", home=tmp_path).returncode == 0


def again_day() -> str:
    from core import clock

    return str(clock.now().date())


@pytest.mark.parametrize("command", [("edi", "validate"), ("payments", "ingest")])
def test_a_file_over_the_size_limit_is_not_read(tmp_path, monkeypatch, command):
    """E21: over CARM_MAX_FILE_BYTES the command says so and exits 2, having read nothing."""
    sample = SAMPLES / "01-importer-soa-payment.x12"
    monkeypatch.setenv("CARM_MAX_FILE_BYTES", str(sample.stat().st_size - 1))
    out = tmp_path / "out"
    run = carm(*command, str(sample), "--out", str(out), home=tmp_path)
    assert run.returncode == 2
    assert f"{sample.stat().st_size:,} bytes, more than the {sample.stat().st_size - 1:,}" in run.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_a_document_run_says_which_files_it_wrote_and_which_were_already_there(tmp_path):
    """Issue 14: an unchanged file is listed as unchanged, not as written again."""
    sample = str(SAMPLES / "01-importer-soa-payment.x12")
    carm("payments", "ingest", sample, "--out", str(tmp_path / "acks"), "--received-at", "2026-11-20T10:15:00-05:00", home=tmp_path)
    args = ("notices", "daily", "--date", "2026-11-21", "--out", str(tmp_path / "docs"), "--formats", "xml")
    first, second = carm(*args, home=tmp_path), carm(*args, home=tmp_path)
    listed = [line for line in first.stdout.splitlines() if line.startswith(("wrote", "unchanged"))]
    assert listed and all(line.startswith("wrote ") for line in listed)
    assert [line.replace("wrote ", "unchanged ", 1) for line in listed] == [
        line for line in second.stdout.splitlines() if line.startswith(("wrote", "unchanged"))]
    assert ", 0 files written," in second.stdout


def test_what_was_not_loaded_goes_to_stderr_and_page_0_is_refused(tmp_path):
    bad = tmp_path / "reference.json"
    bad.write_text('{"businesses": [{"bn9": "123456789", "name": "CHECK DIGIT WRONG"}]}')
    run = carm("reference", "load", str(bad), home=tmp_path)
    assert run.returncode == 1 and "not loaded:" in run.stderr and "not loaded:" not in run.stdout
    page = carm("notices", "list", "--page", "0", home=tmp_path)
    assert page.returncode == 2 and "'0' is not a page number" in page.stderr


def test_the_help_names_every_environment_variable_and_the_exit_codes(capsys):
    import re

    import core.settings

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    read = set(re.findall(r'get\("(CARM_[A-Z_]+)"\)', Path(core.settings.__file__).read_text()))
    assert read and {name for name in read if name not in text} == set()
    assert "exit codes: 0 done" in text


@pytest.mark.slow  # seconds of work: the full suite runs it, the fast tier does not
def test_a_long_file_shows_progress_on_a_terminal_and_nothing_elsewhere(tmp_path):
    """Issue 14: a big file validated on a terminal shows a bar on stderr (rich); piped, stderr has
    only the log lines. The bar follows the bytes read."""
    import pty

    from edi.samples import LineSpec, PaymentSpec, file_820
    from edi.validate import validate_stream

    big = tmp_path / "big.x12"
    big.write_bytes(file_820([PaymentSpec("TRACE0001", "123456782", [LineSpec("123456782RM0001", 100)] * 9000)]))
    seen: list[int] = []
    validate_stream(big.open("rb"), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == big.stat().st_size and len(seen) > 1

    env = {**os.environ, "CARM_HOME": str(tmp_path), "CARM_LOG_FORMAT": "json", "COLUMNS": "100"}
    command = [sys.executable, "-m", "carm.cli", "edi", "validate", str(big), "--out", str(tmp_path / "out")]
    leader, follower = pty.openpty()
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=follower, cwd=ROOT) as process:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    assert process.returncode == 0 and b"validating" in shown
    piped = subprocess.run(command, env=env, capture_output=True, cwd=ROOT, check=False)
    assert piped.returncode == 0 and b"validating" not in piped.stderr


def test_carm_log_file_collects_every_event(tmp_path, monkeypatch):
    """Issue 14: the demo's engine.log was empty. With CARM_LOG_FILE, every event of the command
    line (and of each Airflow task, through the runtime) is appended to the file as well."""
    log_file = tmp_path / "logs" / "engine.log"
    monkeypatch.setenv("CARM_LOG_FILE", str(log_file))
    run = carm("edi", "validate", str(SAMPLES / "01-importer-soa-payment.x12"), "--out", str(tmp_path / "out"), home=tmp_path)
    events = [json.loads(line)["event"] for line in log_file.read_text().splitlines()]
    assert run.returncode == 0 and "interchange.acknowledged" in events and "set.judged" in events
    assert len(events) == len(run.stderr.splitlines())


def test_the_due_date_calendar_of_a_year(tmp_path):
    """D17-R31 (issue 10, item 12): the periods of 2027 with their close, statement and due dates —
    the due date the 10th weekday after the 17th (holidays counted), moved to the next business day
    when it falls on a holiday — as a table, JSON and iCalendar, from the policy alone."""
    run = carm("calendar", "2027", home=tmp_path / "no-database-needed")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["period", "start", "end", "close", "statement", "due"]
    # 2027-01: 2026-12-18 … 2027-01-17 (a Sunday); 10 weekdays later is Friday 01-29
    assert lines[1].split() == ["2027-01", "2026-12-18", "2027-01-17", "2027-01-18", "2027-01-25", "2027-01-29"]
    # 2027-06: ends Thursday 06-17; the 10th weekday after is Thursday 07-01, Canada Day: Friday 07-02
    assert lines[6].split() == ["2027-06", "2027-05-18", "2027-06-17", "2027-06-18", "2027-06-25", "2027-07-02"]
    assert len(lines) == 13
    rows = json.loads(carm("calendar", "2027", "--format", "json", home=tmp_path).stdout)
    assert [r["period"] for r in rows] == [f"2027-{m:02d}" for m in range(1, 13)] and rows[5]["due"] == "2027-07-02"
    french = carm("calendar", "2027", "--lang", "fr", "--calendar-month", home=tmp_path).stdout.splitlines()
    assert french[0].split() == ["période", "début", "fin", "fermeture", "relevé", "échéance"]
    assert french[2].split()[:3] == ["2027-02", "2027-02-01", "2027-02-28"]  # calendar-month accounts: the month itself
    assert carm("calendar", "27", home=tmp_path).returncode == 2


def test_the_calendar_as_icalendar_is_stable_and_readable(tmp_path):
    from icalendar import Calendar

    first = carm("calendar", "2027", "--format", "ics", "--lang", "fr", home=tmp_path)
    again = carm("calendar", "2027", "--format", "ics", "--lang", "fr", home=tmp_path)
    assert first.returncode == again.returncode == 0
    assert first.stdout == again.stdout  # published again, the same events (UIDs, stamps): subscribers see no copies
    assert first.stdout.startswith("BEGIN:VCALENDAR\r\n")
    events = Calendar.from_ical(first.stdout.encode("utf-8")).walk("VEVENT")
    assert len(events) == 36 and len({str(e["UID"]) for e in events}) == 36
    due = {str(e["SUMMARY"]): e.decoded("DTSTART") for e in events}
    assert due["Date d'échéance du paiement, période 2027-06"] == date(2027, 7, 2)
