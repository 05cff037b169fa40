"""A month and a half of the sample world through the `carm` command, written to a folder.

The scenario the demo runs, and a little beyond it, driven in-process through the
command line (`carm.cli.main`) with the clock frozen, so that everything it writes is
reproducible byte for byte:

* `acks/` — the 997, TA1 and 824 answering each sample 820 ingested;
* `validate/` — the answers `carm edi validate` (a dry run) gives for each sample just before
  it is ingested: nothing kept, so `acks/` is what it would be without them;
* `documents/` — the Daily Notices and Statements of Account (XML under the XSDs);
* `ledger/*.jsonl` — the books at the end: journal entries and lines, items, balances,
  payments, notices, period closes (by their keys, not their row ids);
* `accounts/` — `carm account show --json` of every program account on several days.

`python -m tests.golden_scenario DIR` writes it; `tests/test_golden.py` compares a fresh
run with the copy kept in `tests/golden/`.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
EASTERN_OFFSET = "-05:00"
#: The engine's clock during the scenario (acknowledgement envelopes, posting times).
FROZEN = "2026-11-20T10:30:00-05:00"
RECEIVED = "2026-11-20T10:15:00-05:00"
ACCOUNTS = ("123456782RM0001", "123456782RM0002", "200000008RM0001", "200000008RM0002", "400000006RM0001")


@contextlib.contextmanager
def frozen_clock(at: str = FROZEN):
    """Every `clock.now()` of the engine returns `at` (the module is wherever the code keeps it)."""
    fixed = datetime.fromisoformat(at)
    saved = []
    for name in ("core.clock", "carm.clock"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        saved.append((module, module.now))
        module.now = lambda fixed=fixed, zone=module.EASTERN: fixed.astimezone(zone)
    try:
        yield
    finally:
        for module, now in saved:
            module.now = now


def carm(*args: str) -> tuple[int, str]:
    """Run `carm ARGS` in-process; (exit status, standard output)."""
    from carm.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue()


def _env(home: Path, database_url: str | None) -> dict[str, str | None]:
    return {
        "CARM_HOME": str(home),
        "CARM_DATABASE_URL": database_url,
        "CARM_LOG_FORMAT": "json",
        "CARM_LOG_LEVEL": "ERROR",
        "CARM_POLICY": None,
        "CARM_SMTP_URL": None,
    }


@contextlib.contextmanager
def environment(values: dict[str, str | None]):
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(out: Path, database_url: str | None = None) -> None:
    """The scenario into `out` (created), on SQLite in `out/state` or on `database_url`."""
    out.mkdir(parents=True, exist_ok=True)
    samples = sorted((FIXTURES / "820").glob("*.x12"))
    with frozen_clock(), environment(_env(out / "state", database_url)):
        steps = [
            ("db", "upgrade"),
            ("reference", "load", str(FIXTURES / "reference.json")),
            ("declarations", "load", str(FIXTURES / "declarations.csv")),
            ("period", "close", "2026-11"),
            *[("edi", "validate", str(s), "--out", str(out / "validate")) for s in samples],
            *[("payments", "ingest", str(s), "--out", str(out / "acks"), "--received-at", RECEIVED) for s in samples],
            ("notices", "daily", "--date", "2026-11-21", "--out", str(out / "documents"), "--formats", "xml"),
            ("statements", "run", "--period", "2026-11", "--out", str(out / "documents"), "--formats", "xml"),
            ("collections", "run", "--date", "2026-12-02"),
            ("notices", "daily", "--date", "2026-12-03", "--out", str(out / "documents"), "--formats", "xml"),
            ("collections", "run", "--date", "2026-12-10"),
            ("period", "close", "2026-12"),
            ("statements", "run", "--period", "2026-12", "--out", str(out / "documents"), "--formats", "xml"),
            ("collections", "run", "--date", "2027-01-04"),
        ]
        for step in steps:
            carm(*step)
        accounts = out / "accounts"
        accounts.mkdir(exist_ok=True)
        for rm15 in ACCOUNTS:
            for day in ("2026-11-20", "2026-12-02", "2027-01-04"):
                code, shown = carm("account", "show", rm15, "--as-of", day, "--json")
                view = json.loads(shown) if code == 0 else {"exit": code}
                (accounts / f"{rm15}-{day}.json").write_text(json.dumps(_without_ids(view), indent=1, sort_keys=True) + "\n")
        url = database_url or f"sqlite:///{out / 'state' / 'carm.db'}"
        dump_ledger(url, out / "ledger")


def _without_ids(value):
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


#: Each table of the books as rows keyed by what they are about, never by row ids.
QUERIES = {
    "journal_entry": """
        SELECT e.key, e.entry_date, e.reason, e.description, e.source, r.key AS reverses
        FROM journal_entry e LEFT JOIN journal_entry r ON r.id = e.reverses ORDER BY e.key""",
    "journal_line": """
        SELECT e.key AS entry, l.account, l.rm15, i.key AS item, l.party, l.trace, l.debit_cents, l.credit_cents
        FROM journal_line l JOIN journal_entry e ON e.id = l.entry_id LEFT JOIN ar_item i ON i.id = l.item_id
        ORDER BY e.key, l.account, l.rm15, i.key, l.party, l.trace, l.debit_cents, l.credit_cents""",
    "ar_item": """
        SELECT key, rm15, asec, agent_bn9, kind, component, transaction_number, posted_on, due_date, under_review, description
        FROM ar_item ORDER BY key""",
    "item_balance": """
        SELECT i.key, b.rm15, b.balance_cents FROM item_balance b JOIN ar_item i ON i.id = b.item_id ORDER BY i.key""",
    "account_balance": "SELECT rm15, balance_cents FROM account_balance ORDER BY rm15",
    "payment": """
        SELECT p.fi, p.trace, p.file_digest, p.interchange, p.group_control, p.set_control, p.kind, p.method,
               p.total_cents, p.payer_bn9, p.payer_asec, p.payment_day, p.verdict, p.status, p.suspense_cents, e.key AS entry
        FROM payment p LEFT JOIN journal_entry e ON e.id = p.entry_id
        ORDER BY p.file_digest, p.interchange, p.group_control, p.set_control""",
    "payment_line": """
        SELECT p.fi, p.trace, p.set_control, l.line_no, l.rm15, l.asec, l.amount_cents, l.applied, l.reason
        FROM payment_line l JOIN payment p ON p.id = l.payment_id ORDER BY p.file_digest, p.set_control, l.line_no""",
    "notice": "SELECT key, notice_date, bn9, rm15, kind, urgent, data FROM notice ORDER BY key",
    "account_period": "SELECT rm15, period, closing_balance_cents FROM account_period ORDER BY rm15, period",
    "period_close": "SELECT period FROM period_close ORDER BY period",
    "account_standing": "SELECT rm15, since, ended_on, reason, oldest_due_date, overdue_cents FROM account_standing ORDER BY rm15, since",
}


def _plain(value):
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, (int, str)):
        return value
    return str(value)


def dump_ledger(url: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for name, query in QUERIES.items():
                rows = conn.execute(text(query)).mappings().all()
                lines = [json.dumps({k: _plain(v) for k, v in row.items()}, sort_keys=True) for row in rows]
                (folder / f"{name}.jsonl").write_text("".join(line + "\n" for line in lines))
    finally:
        engine.dispose()


def files(folder: Path) -> dict[str, bytes]:
    """Every file the scenario keeps (state folders aside), by path relative to `folder`."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.relative_to(folder).parts[0].endswith("state")
    }


if __name__ == "__main__":  # pragma: no cover - the capture command
    run(Path(sys.argv[1]))
