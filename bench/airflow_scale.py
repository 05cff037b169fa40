"""Benchmark: the payment intake DAG under a real Airflow scheduler, against the CLI loop.

    python bench/airflow_scale.py [--files 1000] [--modes cli,local,celery] [--batch 20] [--pool-slots 4]

Drops the same files — mixed sizes (1–2,000 remittance lines), a few bad ones: broken
envelopes, a set whose total is wrong, an exact re-upload, a reused trace number, a file
that is not X12 — into four FI inboxes (local partner folders) and takes them in through:

  cli     `carm.jobs.pending_files`, `batches`, `process_batch` looped in one child process —
          the functions the DAG's tasks call, without Airflow;
  local   Airflow 3: API server (the tasks' execution API), scheduler, DAG processor, with
          `AIRFLOW__CORE__EXECUTOR=LocalExecutor`, metadata in PostgreSQL; one triggered run
          of `carm_payment_intake` (cron schedules off);
  celery  the same with the CeleryExecutor: a `redis-server` of its own on a free port and
          two `airflow celery worker`s of concurrency 1, each reporting its own host name.

Each mode gets a fresh PostgreSQL ledger with the same world (`ledger_throughput.setup`) and
fresh folders. Printed per mode: wall time (the CLI child's whole life; the DAG run from
trigger to its end), files processed and quarantined, answers, payments posted, the most
ledger connections seen at once (pg_stat_activity, sampled), and for Airflow which task —
on which host — processed how many files. The run stops with the reason if any file is not
processed exactly once, lacks an answer, or the books differ between modes. Every process
it starts (Airflow components, workers, redis) is stopped when it ends, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ledger_throughput import setup  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from carm.db import upgrade  # noqa: E402
from core.db import make_engine  # noqa: E402
from edi.samples import LineSpec, PaymentSpec, file_820  # noqa: E402
from store.partners import save_registry  # noqa: E402
from store.schema import inbound_file, payment  # noqa: E402
from transport.partners import load_partners  # noqa: E402

PG_ADMIN = os.environ.get("CARM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAG_ID = "carm_payment_intake"
FIS = ("fi01", "fi02", "fi03", "fi04")
#: The world the files pay: businesses × accounts × open items (ledger_throughput.setup).
BUSINESSES, ACCOUNTS, ITEMS = 40, 50, 2
#: (share of files, fewest lines, most lines): mostly small files, a few large ones.
SIZES = ((0.70, 1, 20), (0.20, 21, 300), (0.08, 301, 1000), (0.02, 1001, 2000))
#: Each intake process's PostgreSQL pool (CARM_DB_POOL_SIZE, CARM_DB_MAX_OVERFLOW), as docs/operations.md advises.
DB_POOL_SIZE, DB_MAX_OVERFLOW = 1, 1
#: The bad files dropped among the good ones, by kind, and how many of each.
BAD = {"broken-envelope": 3, "bad-set": 3, "same-bytes": 2, "same-trace": 2, "not-x12": 1}
#: What each kind of file must come to: where it is filed, and how it was answered.
OUTCOME = {"good": "processed", "bad-set": "processed sets-rejected", "broken-envelope": "quarantine sets-rejected",
           "same-bytes": "processed replayed", "same-trace": "processed sets-rejected", "not-x12": "quarantine"}


@dataclass(frozen=True, slots=True)
class Drop:
    """One file dropped into an FI's inbox. `kind`: `good` or one of `BAD`; `original`: the earlier
    file a `same-bytes` or `same-trace` file repeats — whichever of the two is taken first is the
    original for the engine (parallel tasks race), so the pair is judged together."""

    partner: str
    name: str
    data: bytes
    kind: str
    lines: int
    original: str = ""


# ------------------------------------------------------------------ the files
def registry_csv() -> str:
    header = "partner_id,role,isa_qualifier,isa_sender_id,gs_sender_code,business_number,security_account,sftp_user,public_key,language,name\n"
    return header + "".join(f"{fi.upper()},fi,ZZ,BANK{fi.upper()},BANK{fi.upper()},,,{fi},,en,Bench bank {fi}\n" for fi in FIS)


def _lines(rng: random.Random) -> int:
    roll, floor = rng.random(), 0.0
    for share, low, high in SIZES:
        floor += share
        if roll < floor:
            return rng.randint(low, high)
    return SIZES[-1][2]


def _payment_file(fi: str, number: int, pays: list[tuple[str, int]], payer: str, *, trace: str, wrong_total: bool = False) -> bytes:
    """One interchange of one set: `pays` (rm15, cents) paid by `payer` under `trace`."""
    lines = [LineSpec(rm15, cents) for rm15, cents in pays]
    total = sum(line.cents for line in lines) + (1 if wrong_total else 0)
    spec = PaymentSpec(trace, payer, lines, total_cents=total)
    return file_820([spec], sender_id=f"BANK{fi.upper()}", control_number=number, group_control=number)


def make_drops(plan: list[tuple[str, list[tuple[str, int]]]], count: int, seed: int = 11) -> list[Drop]:
    """`count` files, deterministic: each pays the next lines of one business's open items (its
    own accounts, so nothing goes to suspense); the bad ones replace good ones at fixed places.
    A `same-trace` file resends its original's payment in a new interchange (as an FI that
    sends a payment twice), so whichever of the two is posted first, the books are the same."""
    rng = random.Random(seed)
    cursors = [0] * len(plan)
    drops: list[Drop] = []
    payments: dict[str, tuple[str, list[tuple[str, int]]]] = {}
    bad = [kind for kind, n in BAD.items() for _ in range(n)]
    bad_at = dict(zip(rng.sample(range(count // 2, count), len(bad)), bad, strict=True))  # after the files they copy
    for number in range(1, count + 1):
        fi = FIS[number % len(FIS)]
        kind = bad_at.get(number, "good")
        business = number % len(plan)
        payer, items = plan[business]
        n = _lines(rng)
        pays = [items[(cursors[business] + i) % len(items)] for i in range(n)]
        cursors[business] += n
        name = f"pay{number:05d}.x12"
        if kind == "same-bytes":
            first = _unrepeated(drops, fi)
            drops.append(Drop(fi, name, first.data, kind, first.lines, first.name))
            continue
        trace, original = f"SC{number:06d}", ""
        if kind == "same-trace":
            original = _unrepeated(drops, fi).name
            trace, (payer, pays) = f"SC{int(original[3:8]):06d}", payments[original]
        payments[name] = (payer, pays)
        data = _payment_file(fi, number, pays, payer, trace=trace, wrong_total=kind == "bad-set")
        if kind == "broken-envelope":  # the IEA names another interchange than its ISA
            data = data.replace(f"IEA*1*{number:09d}".encode(), f"IEA*1*{number + 1:09d}".encode())
        if kind == "not-x12":
            data, pays = b"PAYMENT FILE EXPORT FAILED\nIEA~\n", []
        drops.append(Drop(fi, name, data, kind, len(pays), original))
    return drops


def _unrepeated(drops: list[Drop], fi: str) -> Drop:
    """The first good file of `fi` no other file repeats yet: each repeat has an original of its own."""
    repeated = {d.original for d in drops if d.partner == fi}
    return next(d for d in drops if d.partner == fi and d.kind == "good" and d.name not in repeated)


def place(drops: list[Drop], partners_dir: Path) -> None:
    """Every file in its FI's inbox, as a finished upload (an mtime ten minutes ago)."""
    when = time.time() - 600
    for drop in drops:
        inbox = partners_dir / drop.partner / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        path = inbox / drop.name
        path.write_bytes(drop.data)
        os.utime(path, (when, when))


# ------------------------------------------------------------------ databases
def create_database(admin, name: str) -> str:
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin.url.set(database=name).render_as_string(hide_password=False)


def drop_database(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def fresh_ledger(url: str, registry: Path) -> list[tuple[str, list[tuple[str, int]]]]:
    """The schema, the four FIs and the world the files pay; the plan of what each business owes."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        partners, problems = load_partners(registry)
        assert not problems, problems
        with engine.begin() as conn:
            save_registry(conn, partners)
        return setup(engine, BUSINESSES, ACCOUNTS, ITEMS)
    finally:
        engine.dispose()


class ConnectionWatch:
    """The most connections to each database seen at once, sampled every 0.2 s from pg_stat_activity."""

    def __init__(self, admin, databases: list[str]) -> None:
        self.admin, self.peaks = admin, dict.fromkeys(databases, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        query = text("SELECT datname, count(*) FROM pg_stat_activity WHERE datname = ANY(:d) GROUP BY datname")
        with self.admin.connect() as conn:
            while not self._stop.wait(0.2):
                for database, seen in conn.execute(query, {"d": list(self.peaks)}):
                    self.peaks[database] = max(self.peaks[database], seen)

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# ------------------------------------------------------------------ processes
class Processes:
    """Every long-running process the benchmark starts, each in its own session, stopped whole
    (SIGTERM, then SIGKILL after 20 s) by `stop_all` — called on every way out."""

    def __init__(self, logs: Path) -> None:
        self.logs, self.running = logs, {}

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, cwd=ROOT)
        self.running[name] = (process, log)
        return process

    def check(self) -> None:
        for name, (process, _) in self.running.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited ({process.returncode}):\n{tail}")

    def stop_all(self) -> None:
        for process, _ in self.running.values():
            _signal_session(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process, log in self.running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_session(process, signal.SIGKILL)  # whatever of its session is left (task children)
            process.wait()
            log.close()
        self.running.clear()


def _signal_session(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the modes
def carm_env(home: Path, ledger_url: str, registry: Path, batch: int) -> dict:
    """What every intake process — the CLI child, a scheduler's or a worker's task — is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CARM_"))}
    env.update(CARM_HOME=str(home), CARM_DATABASE_URL=ledger_url, CARM_TRANSPORT="local", CARM_PARTNERS_DIR=str(home / "partners"),
               CARM_PARTNERS_FILE=str(registry), CARM_SETTLE_SECONDS="0", CARM_INCOMPLETE_WAIT="0", CARM_LOG_FORMAT="json",
               CARM_INTAKE_BATCH=str(batch), CARM_TASK_RETRIES="0", PYTHONPATH=str(ROOT),
               # decision O22: one connection held at a time, one more allowed: a task holds at most 2
               CARM_DB_POOL_SIZE=str(DB_POOL_SIZE), CARM_DB_MAX_OVERFLOW=str(DB_MAX_OVERFLOW))
    return env


CLI_LOOP = """
import json, sys, time
from carm import jobs
started = time.perf_counter()
results = [jobs.process_batch(batch) for batch in jobs.batches(jobs.pending_files())]
print("RESULT" + json.dumps({"seconds": time.perf_counter() - started, "batches": results}))
"""


def run_cli(env: dict, logs: Path) -> dict:
    """The CLI loop in a child process: wall time of the child's whole life, its batches' results."""
    started = time.perf_counter()
    with open(logs / "cli.log", "wb") as log:
        done = subprocess.run([sys.executable, "-c", CLI_LOOP], env=env, stdout=subprocess.PIPE, stderr=log, cwd=ROOT, check=True)
    wall = time.perf_counter() - started
    line = next(line for line in done.stdout.decode().splitlines() if line.startswith("RESULT"))
    result = json.loads(line[len("RESULT"):])
    return {"wall": wall, "inner": result["seconds"], "tasks": [("cli", index, batch) for index, batch in enumerate(result["batches"])]}


def airflow_env(base: dict, home: Path, meta_url: str, api_port: int, executor: str) -> dict:
    env = dict(base)
    env.update(
        AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR=executor, AIRFLOW__CORE__DEFAULT_TIMEZONE="America/Toronto",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=meta_url, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=meta_url,
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",  # only the triggered run: no */5 run joins in
        AIRFLOW__API__HOST="127.0.0.1", AIRFLOW__API__PORT=str(api_port), AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{api_port}",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__HOSTNAME_CALLABLE="bench_hostname.hostname",  # a worker's own name (below)
        PYTHONPATH=f"{ROOT}{os.pathsep}{home}",
    )
    return env


HOSTNAME_MODULE = '''"""The host name a task instance records: CARM_BENCH_HOST when set (two workers on one machine
stand for two hosts), else the machine's."""
import os, socket


def hostname() -> str:
    return os.environ.get("CARM_BENCH_HOST") or socket.getfqdn()
'''


def airflow(env: dict, *args: str, timeout: int = 600) -> str:
    done = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def wait_for(what: str, probe, processes: Processes, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check()
        if probe():
            return
        time.sleep(1)
    raise RuntimeError(f"{what}: not after {timeout:.0f} s")


def _dag_parsed(meta) -> bool:
    with meta.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM dag WHERE dag_id = :d"), {"d": DAG_ID}).scalar())


def _health_ok(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5) as answer:
            health = json.load(answer)
    except OSError:
        return False
    return all(health.get(k, {}).get("status") == "healthy" for k in ("metadatabase", "scheduler", "dag_processor"))


def _run_state(meta, run_id: str) -> str | None:
    with meta.connect() as conn:
        return conn.execute(text("SELECT state FROM dag_run WHERE dag_id = :d AND run_id = :r"), {"d": DAG_ID, "r": run_id}).scalar()


def start_airflow(env: dict, processes: Processes, workers: int, redis_port: int | None) -> None:
    """API server, scheduler, DAG processor — and for Celery its redis and `workers` workers."""
    port = int(env["AIRFLOW__API__PORT"])
    if redis_port is not None:
        processes.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--dir", env["AIRFLOW_HOME"]], env)
    processes.start("api-server", [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port)], env)
    processes.start("scheduler", [AIRFLOW, "scheduler", "--skip-serve-logs"], env)
    processes.start("dag-processor", [AIRFLOW, "dag-processor"], env)
    for n in range(1, workers + 1):
        processes.start(f"worker-{n}", [AIRFLOW, "celery", "worker", "--concurrency", "1", "--skip-serve-logs",
                                        "--celery-hostname", f"worker-{n}@%h"], {**env, "CARM_BENCH_HOST": f"worker-{n}"})
    wait_for("Airflow healthy", lambda: _health_ok(port), processes)


def run_dag(env: dict, meta, processes: Processes, run_id: str) -> dict:
    """One triggered intake run: from the trigger to the run's end (metadata DB), its tasks' results."""
    wait_for(f"{DAG_ID} parsed", lambda: _dag_parsed(meta), processes)
    airflow(env, "dags", "unpause", DAG_ID)
    started = datetime.now(UTC)
    airflow(env, "dags", "trigger", DAG_ID, "--run-id", run_id)
    wait_for(f"run {run_id} finished", lambda: _run_state(meta, run_id) in ("success", "failed"), processes, timeout=3600)
    airflow(env, "dags", "pause", DAG_ID)
    with meta.connect() as conn:
        ended, state = conn.execute(text("SELECT end_date, state FROM dag_run WHERE dag_id = :d AND run_id = :r"),
                                    {"d": DAG_ID, "r": run_id}).one()
        tasks = conn.execute(text(
            "SELECT ti.task_id, ti.map_index, ti.state, ti.hostname, ti.start_date, ti.end_date, x.value FROM task_instance ti "
            "LEFT JOIN xcom x ON x.dag_id = ti.dag_id AND x.run_id = ti.run_id AND x.task_id = ti.task_id "
            "AND x.map_index = ti.map_index AND x.key = 'return_value' WHERE ti.dag_id = :d AND ti.run_id = :r"),
            {"d": DAG_ID, "r": run_id}).all()
    batches = [t for t in tasks if t.task_id == "process_batch"]
    return {
        "wall": (ended - started).total_seconds(), "state": state,
        "states": dict(Counter(f"{t.task_id}:{t.state}" for t in tasks)),
        "tasks": [(t.hostname, t.map_index, _xcom(t.value)) for t in sorted(batches, key=lambda t: t.map_index)],
        "task_seconds": sorted((t.end_date - t.start_date).total_seconds() for t in batches if t.end_date and t.start_date),
    }


def _xcom(value):
    """An XCom as stored (JSON, possibly as text) into its Python value; None for a task that returned nothing."""
    while isinstance(value, (str, bytes)):
        value = json.loads(value)
    return value


# ------------------------------------------------------------------ the checks
def check(mode: str, drops: list[Drop], tasks: list, home: Path, ledger_url: str) -> dict:
    """Every file processed exactly once, each with an answer in its FI's outbox, inboxes empty;
    the outcomes by kind of file; what the ledger holds. Raises with the reason otherwise."""
    problems = []
    done = [(host, index, d) for host, index, batch in tasks for d in (batch or {}).get("done", ())]
    seen = Counter((d["partner"], d["name"]) for _, _, d in done)
    expected = {(d.partner, d.name) for d in drops}
    problems += [f"processed {n} times: {key}" for key, n in seen.items() if n != 1]
    problems += [f"never processed: {key}" for key in sorted(expected - set(seen))]
    problems += [f"{mode}: a batch left work: {b}" for _, _, b in tasks if not b or b["failed"] or b["unread"] or b["deferred"]]
    problems += [f"taken by another worker: {d['partner']}/{d['name']}" for _, _, d in done if d["status"] == "taken"]
    outcomes = {(d["partner"], d["name"]): _outcome(d) for _, _, d in done}
    problems += _judge(drops, outcomes)
    by_kind = {}
    for drop in drops:
        by_kind.setdefault(drop.kind, Counter())[outcomes.get((drop.partner, drop.name))] += 1
    partners = home / "partners"
    for fi in FIS:
        left = [name for name in _names(partners / fi / "inbox") if name != ".claimed"] + _names(partners / fi / "inbox" / ".claimed")
        problems += [f"left in {fi}'s inbox: {name}" for name in left]
    answered = {(fi, name.split(".x12.")[0] + ".x12") for fi in FIS for name in _names(partners / fi / "outbox")}
    problems += [f"no answer: {key}" for key in sorted(expected - answered)]
    filed = Counter((fi, name) for fi in FIS for folder in ("processed", "quarantine") for name in _names(partners / fi / folder))
    problems += [f"filed {n} times: {key}" for key, n in filed.items() if n != 1]
    engine = make_engine(ledger_url)
    with engine.connect() as conn:
        records = dict(Counter(r.status for r in conn.execute(select(inbound_file.c.status))))
        posted = conn.execute(select(func.count(), func.coalesce(func.sum(payment.c.total_cents), 0))
                              .where(payment.c.status == "posted")).one()
    engine.dispose()
    distinct = len({(d.partner, d.data) for d in drops if d.kind != "not-x12"}) + sum(1 for d in drops if d.kind == "not-x12")
    if sum(records.values()) != distinct:
        problems.append(f"{sum(records.values())} inbound_file records for {distinct} distinct files")
    if problems:
        raise RuntimeError(f"{mode}: " + "\n".join(problems[:40]))
    hosts = Counter(host for host, _, _ in done)
    with open(home / "files.csv", "w", encoding="utf-8") as out:  # which task, on which host, processed which file
        out.write("partner,file,host,map_index,status\n")
        out.writelines(f"{d['partner']},{d['name']},{host},{index},{_outcome(d)}\n" for host, index, d in sorted(done, key=lambda t: t[1]))
    by_host = {}
    for host, index, _ in tasks:
        by_host.setdefault(host, []).append(index)
    return {"files": len(done), "answered": len(answered & expected), "records": records, "kinds": by_kind,
            "payments": posted[0], "cents": int(posted[1]), "hosts": dict(hosts),
            "tasks_by_host": by_host, "files_csv": home / "files.csv"}


def _outcome(summary: dict) -> str:
    """Where a file was filed and how it was answered, in words (`OUTCOME`)."""
    return (summary["status"] + (" replayed" if summary.get("replayed") else "")
            + (" sets-rejected" if summary.get("sets_rejected") else ""))


def _judge(drops: list[Drop], outcomes: dict) -> list[str]:
    """Each file's outcome against `OUTCOME`; a repeat and its original together, in either order."""
    problems = []
    originals = {(d.partner, d.original): d for d in drops if d.original}
    for drop in drops:
        got = outcomes.get((drop.partner, drop.name))
        if drop.original:
            pair = sorted([outcomes.get((drop.partner, drop.original)), got])
            if pair != sorted([OUTCOME["good"], OUTCOME[drop.kind]]):
                problems.append(f"{drop.partner}/{drop.original} and its {drop.kind} {drop.name}: {pair}")
        elif (drop.partner, drop.name) not in originals and got != OUTCOME[drop.kind]:
            problems.append(f"{drop.partner}/{drop.name} ({drop.kind}): {got}, not {OUTCOME[drop.kind]}")
    return problems


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------ one mode, start to end
@dataclass
class Bench:
    args: argparse.Namespace
    admin: object
    tmp: Path
    registry: Path
    meta_url: str
    meta_db: str

    def measure(self, mode: str, batch: int) -> dict:
        """A fresh ledger and folders, the files dropped, `mode` run with `batch` files a task, and checked."""
        home = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=self.tmp))
        (home / "logs").mkdir()
        name = f"carm_scale_{mode}_{uuid.uuid4().hex[:6]}"
        ledger_url = create_database(self.admin, name)
        try:
            plan = fresh_ledger(ledger_url, self.registry)
            drops = make_drops(plan, self.args.files)
            place(drops, home / "partners")
            env = carm_env(home, ledger_url, self.registry, batch)
            with ConnectionWatch(self.admin, [name, self.meta_db]) as watch:
                result = run_cli(env, home / "logs") if mode == "cli" else self._airflow(mode, env, home)
            result.update(check(mode, drops, result["tasks"], home, ledger_url), ledger_connections=watch.peaks[name],
                          airflow_connections=watch.peaks[self.meta_db], lines=sum(d.lines for d in drops))
            return result
        finally:
            drop_database(self.admin, name)

    def _airflow(self, mode: str, env: dict, home: Path) -> dict:
        executor = "CeleryExecutor" if mode == "celery" else "LocalExecutor"
        airflow_home = self.tmp / "airflow"
        env = airflow_env(env, airflow_home, self.meta_url, free_port(), executor)
        if mode == "celery":
            redis_port = free_port()
            env.update(AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
                       AIRFLOW__CELERY__RESULT_BACKEND="db+" + self.meta_url)
        airflow(env, "pools", "set", "carm_db", str(self.args.pool_slots), "CARM: tasks holding database connections")
        processes = Processes(home / "logs")
        try:
            start_airflow(env, processes, self.args.workers if mode == "celery" else 0, redis_port if mode == "celery" else None)
            meta = create_engine(self.meta_url)
            try:
                return run_dag(env, meta, processes, f"scale-{mode}-{uuid.uuid4().hex[:6]}")
            finally:
                meta.dispose()
        finally:
            processes.stop_all()


def prepare_airflow(tmp: Path, meta_url: str) -> None:
    home = tmp / "airflow"
    home.mkdir()
    (home / "bench_hostname.py").write_text(HOSTNAME_MODULE)
    env = airflow_env(dict(os.environ), home, meta_url, 0, "LocalExecutor")
    airflow(env, "db", "migrate", timeout=900)


# ------------------------------------------------------------------ report
def report(results: list[tuple[str, dict]], args) -> None:
    """One row per measurement, its wall time against the fastest CLI loop of the same run."""
    cli = [r["wall"] for label, r in results if label.startswith("cli")]
    base = min(cli) if cli else None
    bound = args.pool_slots * (DB_POOL_SIZE + DB_MAX_OVERFLOW)
    print(f"\nmode:batch = files a task (CARM_INTAKE_BATCH); pool carm_db {args.pool_slots} slots; each process's PostgreSQL pool "
          f"{DB_POOL_SIZE} + {DB_MAX_OVERFLOW} overflow: ledger connections bound {bound} (O22)")
    print(f"{'mode':<9} {'wall s':>7} {'vs CLI':>7} {'files':>6} {'answered':>8} {'payments':>8} {'received $':>14} "
          f"{'ledger conns':>12} {'airflow conns':>13}  run")
    for label, r in results:
        ratio = f"{r['wall'] / base:.2f}×" if base else "-"
        print(f"{label:<9} {r['wall']:>7.1f} {ratio:>7} {r['files']:>6} {r['answered']:>8} {r['payments']:>8} "
              f"{r['cents'] / 100:>14,.2f} {r['ledger_connections']:>12} {r['airflow_connections'] if 'state' in r else '-':>13}  "
              f"{r.get('state', '')}")
    for label, r in results:
        print(f"\n{label}: inbound_file records {r['records']}; {r['lines']} remittance lines")
        for kind, outcomes in sorted(r["kinds"].items()):
            print(f"  {kind:<16} {dict(outcomes)}")
        if "inner" in r:
            print(f"  the loop alone, imports excluded: {r['inner']:.1f} s")
        if "state" in r:
            seconds = r["task_seconds"]
            print(f"  tasks: {r['states']}")
            print(f"  process_batch task seconds: min {seconds[0]:.1f}, median {seconds[len(seconds) // 2]:.1f}, max {seconds[-1]:.1f}")
            print(f"  files by host: {r['hosts']}; tasks (map indexes) by host: {r['tasks_by_host']}")
            print(f"  each file's host and task: {r['files_csv']} (with --keep)")
    books = {(r["payments"], r["cents"]) for _, r in results}
    print(f"\nthe same books in every run: {'yes' if len(books) == 1 else 'NO: ' + str(books)}")


def _mode(spec: str, batch: int) -> tuple[str, int]:
    mode, _, size = spec.strip().partition(":")
    if mode not in ("cli", "local", "celery"):
        raise ValueError(spec)
    return mode, int(size) if size else batch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--modes", default="cli,local,celery,cli",
                        help="comma-separated, in order, repeats allowed: cli, local, celery, each with :BATCH to give it its own "
                             "--batch (local:20); the ratio is against the fastest cli")
    parser.add_argument("--batch", type=int, default=20, help="CARM_INTAKE_BATCH: files per mapped task (the engine's 20)")
    parser.add_argument("--pool-slots", type=int, default=4, help="slots of the Airflow pool carm_db")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (concurrency 1 each)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, folders) and say where")
    args = parser.parse_args()
    try:
        runs = [_mode(spec, args.batch) for spec in args.modes.split(",") if spec.strip()]
    except ValueError:
        parser.error(f"--modes {args.modes!r}: cli, local or celery, each with an optional :BATCH")
    modes = {mode for mode, _ in runs}
    if "celery" in modes and shutil.which("redis-server") is None:
        parser.error("celery needs redis-server (Debian: apt-get install redis-server)")
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.processor())
    print(f"command: python bench/airflow_scale.py {' '.join(sys.argv[1:])}")
    print(f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    tmp = Path(tempfile.mkdtemp(prefix="carm-airflow-scale-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # finally-blocks stop what was started
    meta_db = f"airflow_scale_{uuid.uuid4().hex[:6]}"
    meta_url = create_database(admin, meta_db)
    try:
        registry = tmp / "partners.csv"
        registry.write_text(registry_csv())
        if set(modes) - {"cli"}:
            prepare_airflow(tmp, meta_url)
        bench = Bench(args, admin, tmp, registry, meta_url, meta_db)
        results = []
        for mode, batch in runs:
            results.append((f"{mode}:{batch}", bench.measure(mode, batch)))
            print(f"{results[-1][0]}: {results[-1][1]['wall']:.1f} s", flush=True)
        report(results, args)
    finally:
        drop_database(admin, meta_db)
        if args.keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
