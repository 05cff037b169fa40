"""The full stack as operators and FIs use it: `bash scripts/stack`, the real `sftp` client, the
Airflow UI in headless Chromium (Debian's `chromium` and `chromium-driver`), `bash scripts/stack stop`.

The stack is started with its state in the temporary folder — a place sshd refuses for a chroot,
so the script must put the SFTP state elsewhere by itself — on ports and PostgreSQL databases of
its own. As BANKOFTEST, with the key the script generated and printed, a good 820, a refused wire
and a file that is no X12 are uploaded with OpenSSH's `sftp`; an intake run is triggered (the
schedule would take up to five minutes); the FI then finds its 997s in its outbox. The run is
red, failed by `needs_attention` alone, and the UI — logged in as the printed admin — shows the
run failed and the task's log with the quarantined file and the rejected set (screenshots under
`CARM_SCREENSHOTS`, default the test's folder). Stopping leaves no process behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from .conftest import FIXTURES, PG_URL, ROOT

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Stack:
    def __init__(self, folder: Path, name: str):
        self.folder, self.name = folder, name
        self.sftp_port, self.ui_port, self.portal_port = _free_port(), _free_port(), _free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CARM_", "AIRFLOW"))}
        self.env.update(CARM_STACK_DIR=str(folder), CARM_STACK_NAME=name, CARM_SFTP_PORT=str(self.sftp_port),
                        CARM_UI_PORT=str(self.ui_port), CARM_PORTAL_PORT=str(self.portal_port), CARM_SETTLE_SECONDS="0",
                        CARM_INCOMPLETE_WAIT="0")  # the junk file has no IEA: judged at once, not awaited
        self.output = ""

    def run(self, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(ROOT / "scripts" / "stack"), *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    def airflow(self, *args: str) -> subprocess.CompletedProcess:
        """An `airflow` command in the stack's environment (its stack.env)."""
        script = f"source {self.folder / 'stack.env'} && airflow {' '.join(args)}"
        return subprocess.run(["bash", "-c", script], env=self.env, capture_output=True, text=True, timeout=300)

    def token(self, password: str) -> str:
        request = urllib.request.Request(f"{self.url}/auth/token", data=json.dumps({"username": "admin", "password": password}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["access_token"]

    def api(self, token: str, path: str) -> dict:
        request = urllib.request.Request(f"{self.url}/api/v2/{path}", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


@pytest.fixture
def stack(tmp_path):
    name = f"carmst_{uuid.uuid4().hex[:8]}"
    stack = Stack(tmp_path / "stack", name)
    try:
        yield stack
    finally:
        stack.run("stop", timeout=300)
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for database in (name, f"{name}_airflow"):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        sftp_state = next((line.split(" ", 2)[2] for line in (stack.folder / "stack.env").read_text().splitlines()
                           if line.startswith("# sftp-state ")), None) if (stack.folder / "stack.env").exists() else None
        if sftp_state and sftp_state.startswith("/var/lib/carm-stack/"):
            shutil.rmtree(sftp_state, ignore_errors=True)


def _json_rows(output: str) -> list[dict]:
    """The JSON table an `airflow … -o json` command printed (after its warnings)."""
    return json.loads(next(line for line in reversed(output.splitlines()) if line.startswith("[")))


def _sftp(command: str, sftp_line: str) -> str:
    """Run OpenSSH's `sftp` in batch mode with the command line the stack printed for the partner."""
    *options, destination = sftp_line.split()
    argv = [*options, "-b", "-", "-o", "BatchMode=yes", destination]
    done = subprocess.run(argv, input=command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _browser(screenshots: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1600,1000"):
        options.add_argument(argument)
    # the browser of an operator in Eastern time: Airflow 3's UI shows times in the browser's zone
    return webdriver.Chrome(service=Service(CHROMEDRIVER, env={**os.environ, "TZ": "America/Toronto"}), options=options)


def _wait_text(driver, needle: str, timeout: float = 60) -> str:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline:
        body = driver.find_element(By.TAG_NAME, "body").text
        if needle in body:
            return body
        time.sleep(0.5)
    raise AssertionError(f"{needle!r} not on {driver.current_url}:\n{body[-3000:]}")


def test_the_stack_serves_an_fi_over_sftp_and_shows_a_run_that_needs_attention(stack, tmp_path):
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), "Debian's chromium and chromium-driver are needed (scripts/test installs them)"
    started = stack.run("start")
    assert started.returncode == 0, started.stdout[-4000:] + started.stderr[-4000:]
    out = started.stdout
    # what the operator is told: the UI on loopback with its password, a key and a command per partner
    assert f"http://127.0.0.1:{stack.ui_port}" in out
    assert f"client portal   http://localhost:{stack.portal_port}" in out
    password = re.search(r"user admin, password (\S+)", out).group(1)
    bank = re.search(r"BANKOFTEST\s+fi\s+(sftp .*)", out).group(1)
    assert f"-P {stack.sftp_port}" in bank and str(stack.folder / "keys" / "bankoftest") in bank
    sftp_state = next(line.split(" ", 2)[2] for line in (stack.folder / "stack.env").read_text().splitlines() if line.startswith("# sftp-state "))
    assert sftp_state.startswith("/var/lib/carm-stack/")  # /tmp cannot hold a chroot: the script chose a place that can
    # every listener of the stack on loopback only
    listeners = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True).stdout
    for port in (stack.ui_port, stack.sftp_port, stack.portal_port):
        assert re.search(rf"\s127\.0\.0\.1:{port}\s", listeners) and not re.search(rf"\s(0\.0\.0\.0|\*|\[::\]):{port}\s", listeners)
    # the client portal answers beside Airflow, over the stack's ledger
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.portal_port}/signin", timeout=30) as response:
        assert response.status == 200 and "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    # the DAGs are unpaused, the pool and the connection exist
    listed = stack.airflow("dags", "list", "-o", "json").stdout
    dags = {d["dag_id"]: d for d in _json_rows(listed)}
    assert {d: dags[d]["is_paused"] for d in dags if d.startswith("carm_")} == dict.fromkeys(
        ["carm_calendar_month_close", "carm_calendar_month_statements", "carm_collections", "carm_daily_notices",
         "carm_payment_intake", "carm_period_close", "carm_statements"], "False")
    assert "carm_db" in stack.airflow("pools", "list").stdout
    assert "carm_sftp" in stack.airflow("connections", "list").stdout

    # BANKOFTEST, with the printed key and OpenSSH's sftp client
    junk = tmp_path / "junk.x12"
    junk.write_bytes(b"this is not X12")
    # intake paused while the FI uploads, so that one run takes the three files (a scheduled run
    # could list the inbox between two uploads); then a run now rather than at the next five minutes
    assert stack.airflow("dags", "pause", "carm_payment_intake").returncode == 0
    _sftp(f"put {FIXTURES / '820' / '01-importer-soa-payment.x12'} inbox/pay.x12\n"
          f"put {FIXTURES / '820' / '03-refused-wire-transfer.x12'} inbox/wire.x12\n"
          f"put {junk} inbox/junk.x12\n", bank)
    token = stack.token(password)
    before = {r["dag_run_id"] for r in stack.api(token, "dags/carm_payment_intake/dagRuns?limit=100")["dag_runs"]}
    assert stack.airflow("dags", "unpause", "carm_payment_intake").returncode == 0
    triggered = stack.airflow("dags", "trigger", "carm_payment_intake", "-o", "json")
    assert triggered.returncode == 0, triggered.stdout + triggered.stderr
    deadline = time.monotonic() + 400
    runs: list[dict] = []
    while time.monotonic() < deadline:  # until every run since the upload has ended
        runs = [r for r in stack.api(token, "dags/carm_payment_intake/dagRuns?limit=100")["dag_runs"] if r["dag_run_id"] not in before]
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            break
        time.sleep(2)
    failed = [r["dag_run_id"] for r in runs if r["state"] == "failed"]
    assert len(failed) == 1, runs  # red: the run that took the files needs a person; any other run had nothing
    run_id = failed[0]
    tasks = {t["task_id"]: t["state"] for t in stack.api(token, f"dags/carm_payment_intake/dagRuns/{run_id}/taskInstances")["task_instances"]}
    assert tasks == {"find_files": "success", "process_batch": "success", "report": "success", "needs_attention": "failed"}
    summary = stack.api(token, f"dags/carm_payment_intake/dagRuns/{run_id}/taskInstances/report/xcomEntries/return_value")["value"]
    summary = json.loads(summary) if isinstance(summary, str) else summary
    assert (summary["files"], summary["sets_accepted"], summary["sets_rejected"]) == (3, 1, 1)

    # the FI sees its answers
    listing = _sftp("ls outbox\n", bank)
    assert re.search(r"pay\.x12\.[0-9a-f]{8}\.997\.x12", listing) and re.search(r"wire\.x12\.[0-9a-f]{8}\.997\.x12", listing)
    assert "junk.x12.rejected.txt" in listing

    # the operator sees it in the UI
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    screenshots = Path(os.environ.get("CARM_SCREENSHOTS") or tmp_path / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)
    driver = _browser(screenshots)
    try:
        driver.set_page_load_timeout(60)
        driver.get(stack.url + "/")
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.NAME, "username"))
        driver.find_element(By.NAME, "username").send_keys("admin")
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(driver, 60).until(lambda d: "/auth/login" not in d.current_url)
        driver.get(f"{stack.url}/dags/carm_payment_intake/runs/{run_id}")
        body = _wait_text(driver, "needs_attention")
        assert "failed" in body.lower()
        driver.save_screenshot(str(screenshots / "intake-run.png"))
        driver.get(f"{stack.url}/dags/carm_payment_intake/runs/{run_id}/tasks/needs_attention")
        body = _wait_text(driver, "things need attention", timeout=90)
        assert "quarantined bankoftest/junk.x12" in body and "rejected in bankoftest/wire.x12" in body
        assert "payment method FWT is not accepted" in body
        driver.save_screenshot(str(screenshots / "needs-attention-log.png"))
    finally:
        driver.quit()
    # the operators' notice was written by the failure callback
    notices = list((stack.folder / "home" / "operators").glob("*needs_attention.txt"))
    assert len(notices) == 1 and "quarantined bankoftest/junk.x12" in notices[0].read_text()

    sessions = [int(p.read_text()) for p in (stack.folder / "run").glob("*.pid")]
    assert len(sessions) == 5  # Airflow's four processes and the client portal
    stopped = stack.run("stop", timeout=300)
    assert stopped.returncode == 0, stopped.stderr
    left = subprocess.run(["ps", "-eo", "pid=,sid=,args="], capture_output=True, text=True).stdout.splitlines()
    assert [line for line in left if int(line.split()[1]) in sessions] == []  # nothing of any Airflow process
    assert [line for line in left if str(stack.folder) in line or sftp_state in line] == []  # nor sshd
    assert not _listening(stack.ui_port) and not _listening(stack.sftp_port) and not _listening(stack.portal_port)
