"""The shape of the code: layers that point one way, a clean lint, thin DAG files.

The import contracts live in `setup.cfg` (`[importlinter:contract:*]`, explained in
`docs/architecture.md`); the lint rules in `pyproject.toml` (`[tool.ruff]`).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_every_import_respects_the_layers():
    """import-linter: carm > statements > store > ledger > edi | transport > core | mappings, and
    no database, network or scheduler library below the store."""
    done = _run(str(BIN / "lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_code_is_clean_under_ruff():
    done = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_dag_files_only_call_the_jobs():
    """Thin DAG files: a task imports `carm.jobs` (inside the task, not at parse time) and nothing
    of the engine's packages; the module level imports Airflow and the shared DAG settings only."""
    engine_packages = {"core", "edi", "ledger", "store", "transport", "statements", "carm", "mappings"}
    for path in sorted((ROOT / "dags").glob("carm_*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any((n or "").split(".")[0] in engine_packages for n in names), f"{path.name}: {names} at parse time"
        lazy = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n not in tree.body]
        assert all(n.module == "carm" and [a.name for a in n.names] == ["jobs"] for n in lazy), path.name
