"""Throughput and peak memory of the engine's EDI path against bare pyx12, same run, same file.

    python bench/validate_throughput.py                       # 1,000 / 10,000 / 100,000 lines, best of 3
    python bench/validate_throughput.py --sizes 10000 --repeat 5
    python bench/validate_throughput.py --file some.x12       # a file you already have
    python bench/validate_throughput.py --profile validate --sizes 100000   # cProfile once, top functions
    python bench/validate_throughput.py --baseline /tmp/before   # also the engine of another checkout

These paths are measured on each file:

``validate``  `edi.validate.validate_path` — reader, envelope checks, each set's
              body checked by the compiled engine (`edi.compiled`: tables generated
              from the map, pyx12 only for what they cannot vouch for), typed
              payment building.
``pipeline``  `edi.pipeline.acknowledge_file` on a fresh SQLite database — the
              above plus business judging, 997 (and TA1) and 824 writing, archive
              and control numbers, in one transaction (as `carm edi validate`).
``validate-pyx12`` / ``pipeline-pyx12``  the same with `Limits(engine="pyx12")`: the
              body checked by pyx12's map walker and element validation per segment.
``pyx12``     bare `pyx12.x12n_document.x12n_document(params(), path, fd_997, None,
              map_path=MAP_DIR)` writing its 997 to a temporary file.

How it measures: every measurement runs in a fresh child process (this script
with `--child`), so nothing is warm and peak RSS belongs to that measurement
alone.  The child imports what the path needs (and, for `pipeline`, creates
and migrates the SQLite database), reads its RSS (`VmRSS`), resets the
kernel's peak-RSS mark (`echo 5 > /proc/self/clear_refs`), times the one call
with `time.perf_counter`, and reads the peak (`VmHWM`): the table gives the
peak RSS of the process during the call and its growth over the RSS before
it.  `resource.getrusage(RUSAGE_SELF).ru_maxrss` is recorded too (JSON
output) but is not the table's figure: on Linux it is never reset, so it keeps
import-time peaks and even the parent's RSS at fork (it survives `exec`); it
is the fallback where /proc is missing.  Map loading is inside the timed call for
all three (pyx12 loads its map on every call; the engine caches it per process,
so a cold child loads it once) — about 0.1 s.  `tracemalloc` is not used for the
timed runs: with 3-frame tracebacks it made the 100,000-line validation ~18×
slower (166 s against 9 s), and it ignores non-Python memory.

`--baseline DIR` adds `validate@NAME` and `pipeline@NAME` rows measured with the
engine code of another checkout (e.g. `git worktree add /tmp/before <commit>`),
same file, same run — for before/after figures.

Repeats are interleaved (validate, pipeline, pyx12, validate, …) so drift in the
machine hits all three alike.  Wall-clock time is the measure (`best` = least
disturbed by other load, also the base of the ratio to pyx12); the child's CPU
time over the call (`getrusage` user + system) is shown beside it, as a check
when the machine is shared — the load average at start and end is printed.  Each child checks the file was accepted (every set
AK5 `A`, every payment built, pyx12 returned True): a throughput measured on a
file that failed would mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KINDS = ("validate", "pipeline", "validate-pyx12", "pipeline-pyx12", "pyx12")
DEFAULT_SIZES = (1_000, 10_000, 100_000)


# ------------------------------------------------------------------------ child side
def _maxrss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _status_kb(field: str) -> int | None:
    """`VmRSS` / `VmHWM` of this process from /proc/self/status, in KiB (None off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _child(kind: str, path: str, profile: str | None, root: str | None = None) -> dict:
    """Run one measurement in this (fresh) process; return the figures."""
    sys.path.insert(0, root or str(ROOT))
    check: dict = {}
    kind, _, engine = kind.partition("-")
    options: dict = {}
    if engine:
        from edi.limits import Limits

        options["limits"] = Limits(engine=engine)
    if kind == "validate":
        from edi.validate import validate_path

        def run() -> None:
            result = validate_path(path, **options)
            sets = [s for _, _, s in result.sets()]
            check["sets"] = len(sets)
            check["accepted"] = all(s.accepted and s.payload is not None for s in sets) and not result.problems
            check["lines"] = sum(len(s.payload.lines) for s in sets if s.payload is not None)

    elif kind == "pipeline":
        from datetime import datetime

        from carm.db import upgrade
        from carm.logs import configure
        from core.db import make_engine
        from core.settings import Settings
        from edi.pipeline import acknowledge_file
        from store.edi import SqlEdiStore

        configure(Settings(log_format="json"), open(os.devnull, "w"))  # noqa: SIM115 - structlog JSON lines, as in production, to nowhere
        tmp = tempfile.mkdtemp(prefix="carm-bench-")
        engine = make_engine(f"sqlite:///{tmp}/carm.db")
        upgrade(engine)

        def run() -> None:
            with open(path, "rb") as stream, engine.begin() as conn:
                outcome = acknowledge_file(
                    stream, Path(path).name, store=SqlEdiStore(conn), at=datetime(2026, 11, 21, 8, 15, tzinfo=UTC), **options
                )
            check["sets"] = len(outcome.sets)
            check["accepted"] = outcome.exit_code == 0 and "997" in outcome.documents and "824" in outcome.documents
            check["lines"] = sum(_lines_judged(s) for s in outcome.sets)
            check["documents"] = {k: len(v[1]) for k, v in outcome.documents.items()}

    elif kind == "pyx12":
        import pyx12.params
        import pyx12.x12n_document

        from mappings import MAP_DIR

        out_997 = tempfile.NamedTemporaryFile("w", suffix=".997", delete=False)  # noqa: SIM115
        out_997.close()

        def run() -> None:
            with open(out_997.name, "w") as fd_997:
                ok = pyx12.x12n_document.x12n_document(
                    pyx12.params.params(), path, fd_997, None, map_path=str(MAP_DIR)
                )
            check["accepted"] = bool(ok)
            check["documents"] = {"997": os.path.getsize(out_997.name)}
            os.unlink(out_997.name)

    else:  # pragma: no cover - argparse restricts it
        raise ValueError(kind)

    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.runcall(run)
        seconds = time.perf_counter() - start
        profiler.dump_stats(profile)
        stats = pstats.Stats(profile, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        return {"kind": kind, "seconds": seconds, "profile": profile, **check}

    rusage_before = _maxrss_kb()
    baseline = _status_kb("VmRSS")
    hwm = _reset_peak() and baseline is not None
    cpu = _cpu_seconds()
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    rusage_after = _maxrss_kb()
    if hwm:
        peak, method = _status_kb("VmHWM"), "VmHWM"
    else:  # no /proc: getrusage, which also holds import-time peaks
        baseline, peak, method = rusage_before, rusage_after, "ru_maxrss"
    import edi

    return {
        "kind": kind,
        "code": str(Path(edi.__file__).parent.parent) if kind != "pyx12" else None,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "baseline_kb": baseline,
        "peak_kb": peak,
        "rss_method": method,
        "ru_maxrss_before_kb": rusage_before,
        "ru_maxrss_after_kb": rusage_after,
        **check,
    }


def _lines_judged(s) -> int:
    """Remittance lines of a judged set: its summary's (the payment is let go once judged, issue 11),
    or its payment's in the code before that (`--baseline`)."""
    payment = getattr(s, "payment", None)
    if payment is not None:
        return len(payment.lines)
    return s.verdict.summary["lines"] if s.verdict is not None else 0


# ----------------------------------------------------------------------- parent side
def _measure(kind: str, path: Path, profile: str | None = None, root: Path | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(path)]
    if profile:
        cmd += ["--profile-out", profile]
    if root is not None:
        cmd += ["--root", str(root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root or ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} on {path} failed:\n{proc.stderr}")
    if profile:
        sys.stderr.write(proc.stderr)
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    if not figures.get("accepted"):
        raise RuntimeError(f"{kind} did not accept {path}: {figures}")
    expected = str((root or ROOT).resolve())
    if figures.get("code") not in (None, expected):
        raise RuntimeError(f"{kind} ran the engine in {figures['code']}, not {expected}")
    return figures


def _count_segments(path: Path) -> tuple[int, int]:
    sys.path.insert(0, str(ROOT))
    from edi.reader import X12Reader

    with open(path, "rb") as stream:
        reader = X12Reader(stream)
        count = sum(1 for _ in reader)
    return count, path.stat().st_size


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _machine() -> dict:
    import importlib.metadata as md

    logical = os.cpu_count()
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = logical
    try:
        mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration):
        mem_kb = 0
    return {
        "python": platform.python_version() + f" ({platform.python_implementation()}, {sys.executable})",
        "pyx12": md.version("pyx12"),
        "sqlalchemy": md.version("SQLAlchemy"),
        "cpu": _cpu_model(),
        "cores": f"{logical} logical, {affinity} usable by this process",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB" if mem_kb else "unknown",
        "os": platform.platform(),
    }


def _fmt_int(n: float) -> str:
    return f"{n:,.0f}"


def _table(rows: list[dict]) -> str:
    head = (
        "| ENT lines | segments | path | best s | median s | best CPU s | best seg/s | median seg/s "
        "| peak RSS MiB | RSS growth MiB | best time vs pyx12 |"
    )
    sep = "|" + "---|" * 11
    out = [head, sep]
    for r in rows:
        out.append(
            f"| {_fmt_int(r['lines'])} | {_fmt_int(r['segments'])} | {r['kind']} | {r['best']:.2f} | {r['median']:.2f} | {r['best_cpu']:.2f} "
            f"| {_fmt_int(r['segments'] / r['best'])} | {_fmt_int(r['segments'] / r['median'])} "
            f"| {r['peak_mib']:.1f} | {r['growth_mib']:.1f} | {r['ratio']:.2f}× |"
        )
    return "\n".join(out)


def _summarise(kind: str, runs: list[dict], lines: int, segments: int) -> dict:
    times = [r["seconds"] for r in runs]
    return {
        "kind": kind,
        "lines": lines,
        "segments": segments,
        "runs": times,
        "best": min(times),
        "median": statistics.median(times),
        "best_cpu": min(r["cpu_seconds"] for r in runs),
        "peak_mib": statistics.median(r["peak_kb"] for r in runs) / 1024,
        "growth_mib": statistics.median(r["peak_kb"] - r["baseline_kb"] for r in runs) / 1024,
        "documents": runs[-1].get("documents"),
        "rss_method": runs[-1].get("rss_method"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES), help="ENT lines per generated file, comma separated")
    parser.add_argument("--sets", type=int, default=10, help="transaction sets per generated file (default 10)")
    parser.add_argument("--file", type=Path, help="measure this file instead of generating")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per path and file (default 3)")
    parser.add_argument("--paths", default=",".join(KINDS), help=f"which of {','.join(KINDS)} to measure")
    parser.add_argument("--workdir", type=Path, help="where generated files go (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--profile", choices=KINDS, help="instead of timing: cProfile one run of this path (largest size) and print the top")
    parser.add_argument("--baseline", type=Path, help="also measure validate and pipeline with the engine code of this checkout")
    parser.add_argument("--child", nargs=2, metavar=("PATH_KIND", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1], args.profile_out, args.root)))
        return 0

    kinds = [k for k in args.paths.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown path(s): {', '.join(sorted(unknown))}")
    # (row label, path kind, code root or None for this checkout)
    measured: list[tuple[str, str, Path | None]] = [(k, k, None) for k in kinds]
    if args.baseline:
        base = args.baseline.resolve()
        if not (base / "edi" / "validate.py").exists():
            parser.error(f"{base} is not a checkout of this project")
        for k in kinds:
            if k in ("validate", "pipeline"):
                measured.append((f"{k}@{base.name}", k, base))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench820-"))
    workdir.mkdir(parents=True, exist_ok=True)

    files: list[tuple[int, Path]] = []
    if args.file:
        files.append((0, args.file))
    else:
        sys.path.insert(0, str(HERE))
        from gen820 import generate

        for size in (int(s) for s in args.sizes.split(",") if s):
            target = workdir / f"820-{size}-lines-{args.sets}-sets.x12"
            start = time.perf_counter()
            stats = generate(target, size, min(args.sets, size))
            print(
                f"generated {target}: {stats.lines:,} lines, {stats.sets} sets, {stats.segments:,} segments, "
                f"{stats.bytes:,} bytes in {time.perf_counter() - start:.1f} s",
                file=sys.stderr,
            )
            files.append((size, target))

    if args.profile:
        lines, path = files[-1]
        out = str(workdir / f"{args.profile}.prof")
        figures = _measure(args.profile, path, profile=out)
        print(f"profiled {args.profile} on {path}: {figures['seconds']:.2f} s under cProfile; stats in {out}")
        return 0

    command = "python " + " ".join(shlex.quote(a) for a in ([os.path.relpath(__file__, ROOT)] + (argv if argv is not None else sys.argv[1:])))
    machine = _machine()
    machine["load average at start"] = _loadavg()
    rows: list[dict] = []
    for lines, path in files:
        segments, size = _count_segments(path)
        runs: dict[str, list[dict]] = {label: [] for label, _, _ in measured}
        for i in range(args.repeat):
            for kind, path_kind, root in measured:
                figures = _measure(path_kind, path, root=root)
                runs[kind].append(figures)
                if not lines and "lines" in figures:
                    lines = figures["lines"]
                print(
                    f"  {path.name} {kind} run {i + 1}/{args.repeat}: {figures['seconds']:.2f} s, "
                    f"peak RSS {figures['peak_kb'] / 1024:.1f} MiB",
                    file=sys.stderr,
                )
        summary = [_summarise(label, runs[label], lines, segments) for label, _, _ in measured]
        reference = next((s for s in summary if s["kind"] == "pyx12"), None)
        for s in summary:
            s["ratio"] = s["best"] / reference["best"] if reference else float("nan")
            s["file"] = str(path)
            s["bytes"] = size
        rows += summary

    machine["load average at end"] = _loadavg()
    print(f"command: {command}")
    for key, value in machine.items():
        print(f"{key}: {value}")
    print(f"repeats: {args.repeat} per path and file, interleaved; a fresh child process per measurement")
    methods = sorted({r.get("rss_method", "?") for r in rows})
    print(f"peak RSS: child's {'/'.join(methods)} over the timed call (reset just before it); growth = peak - RSS before the call")
    print()
    print(_table(rows))
    if args.json:
        args.json.write_text(json.dumps({"command": command, "machine": machine, "repeat": args.repeat, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
