"""PDFs drawn on demand (decision S12): latency per document, p50 / p95 / max, against drawing
them from the document in the run as before.

    .venv/bin/python bench/pdf_latency.py [--documents 1000] [--seed 11] [--baseline /tmp/before]

Builds `--documents` Statements of Account of varied size — seven in ten with 1–10 lines,
a quarter 11–100, one in twenty 101–600 (a large importer's month); English and French;
one in ten a broker's, with 2–40 client accounts — writes their XML and HTML with the
run's own code (`statements.output.write_documents`), then, in a fresh child process (nothing
warm: fonts, templates and the parser are loaded inside the first timed call), times for
each document in turn:

* `on demand`: `PdfCache.pdf_of(html)` with an empty cache — the first download: the HTML
  read back into its view and drawn (`statements.pdf.pdf_of_html`), the PDF kept;
  (`on demand, CPU`: the CPU time of that call, what its latency would be on an idle core);
* `cached`: the same call again — every later download: the kept PDF read back;
* `from the document`: `render_pdf(document)`, what a run asked for PDFs does;
* `before`, with `--baseline`: `render_pdf(document)` of that checkout's `statements/pdf.py` (`render.py` before it)
  (what the run did for every document before).

Each on-demand PDF is checked to be byte for byte the one drawn from the document, and the
baseline's.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pickle
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from statements.model import DaySummary, DocumentLine, Holder, Party, Statement, StatementAccount  # noqa: E402
from statements.output import RunReport, write_documents  # noqa: E402

START, END, ISSUED, DUE = date(2026, 10, 18), date(2026, 11, 17), date(2026, 11, 25), date(2026, 12, 1)
TYPES = [("PAYMENT", "declaration", "duty"), ("INTEREST", "interest", None), ("PENALTY", "penalty", None), ("FEE", "fee", None),
         ("DECLARATION", "declaration", "gst"), ("REASSESSMENT", "adjustment", "duty"), ("OFFSET", "declaration", "duty")]


def _line(rng: random.Random, n: int) -> DocumentLine:
    kind, item_kind, component = rng.choice(TYPES)
    cents = rng.randint(100, 5_000_000) * (-1 if kind in ("PAYMENT", "OFFSET") else 1)
    return DocumentLine(
        date=START + timedelta(days=rng.randint(0, 30)), type=kind, amount_cents=cents, description=f"{component or item_kind} item {n}",
        kind=item_kind, component=component, transaction_number=f"12001{n:08d}0"[:14], asec="12001", due_date=DUE,
        under_review=False, reference=f"TRACE{n:012d}" if kind == "PAYMENT" else None, status="O" if kind == "OFFSET" else None,
        entry_id=n, item_id=n)


def _account(rng: random.Random, rm15: str, lines: int) -> StatementAccount:
    items = [_line(rng, k) for k in range(lines)]
    days = tuple(DaySummary(START + timedelta(days=d), ((f"12001{d:08d}1"[:14], None, rng.randint(100, 900_000)),)) for d in range(min(5, lines)))
    pick = lambda t: tuple(l for l in items if l.type == t)
    return StatementAccount(rm15, f"IMPORTER {rm15[:9]} LIMITÉE", rng.randint(0, 10_000_000), days,
                            pick("REASSESSMENT") + pick("DECLARATION"), (), pick("PAYMENT") + pick("OFFSET"),
                            pick("INTEREST"), pick("PENALTY"), pick("FEE"))


def documents(count: int, seed: int) -> list[Statement]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        language = "fr" if n % 3 == 0 else "en"
        bn9 = f"{100_000_000 + n:09d}"
        roll = rng.random()
        lines = rng.randint(1, 10) if roll < 0.7 else rng.randint(11, 100) if roll < 0.95 else rng.randint(101, 600)
        if n % 10 == 9:  # a broker's statement
            accounts = tuple(_account(rng, f"{200_000_000 + n * 50 + k:09d}RM0001", rng.randint(1, 8)) for k in range(rng.randint(2, 40)))
            holder = Holder("broker", bn9, f"BROKER {n}", asec="40001")
        else:
            accounts = (_account(rng, f"{bn9}RM0001", lines),)
            holder = Holder("importer", bn9, f"IMPORTER {n}", rm15=f"{bn9}RM0001")
        out.append(Statement("2026-11", START, END, ISSUED, DUE, Party(bn9, f"BUSINESS {n} ÉTÉ", language), holder, accounts))
    return out


def _baseline_renderer(checkout: Path):
    """`render_pdf` of the checkout's `statements/pdf.py` (or `render.py`, where it was before), on this
    package's model and wording."""
    source = checkout / "statements" / "pdf.py"
    if not source.exists():
        source = source.with_name("render.py")
    spec = importlib.util.spec_from_file_location("statements.render_before", source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.render_pdf


def measure(folder: Path, baseline: Path | None) -> dict:
    from statements.ondemand import PdfCache
    from statements.pdf import render_pdf

    docs = pickle.loads((folder / "documents.pickle").read_bytes())
    cache = PdfCache(folder / "cache")
    times: dict[str, list[float]] = {"on demand": [], "on demand, CPU": [], "cached": [], "from the document": []}
    before_pdf = _baseline_renderer(baseline) if baseline else None
    if before_pdf:
        times["before"] = []
    pages = []
    for doc in docs:
        html = folder / "out" / f"{doc.recipient.bn9}-SOA-20261125-0001.html"
        c0, t0 = time.process_time(), time.perf_counter()
        drawn = cache.pdf_of(html)
        t1, c1 = time.perf_counter(), time.process_time()
        again = cache.pdf_of(html)
        t2 = time.perf_counter()
        before = render_pdf(doc)
        t3 = time.perf_counter()
        assert drawn == again == before, html.name
        times["on demand"].append(t1 - t0)
        times["on demand, CPU"].append(c1 - c0)
        times["cached"].append(t2 - t1)
        times["from the document"].append(t3 - t2)
        if before_pdf:
            t4 = time.perf_counter()
            assert before_pdf(doc) == drawn, html.name
            times["before"].append(time.perf_counter() - t4)
        pages.append(drawn.count(b"/Type /Page\n"))
    return {"times": times, "pages": pages}


def _ms(values: list[float], q: float) -> float:
    return round(sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--baseline", type=Path, help="a checkout of the code before: its render_pdf is timed too")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.baseline)))
        return 0
    with tempfile.TemporaryDirectory(prefix="carm-pdf-") as tmp:
        folder = Path(tmp)
        docs = [d._replace(sequence=1) for d in documents(args.documents, args.seed)]
        write_documents(docs, folder / "out", RunReport("SOA", "2026-11"), ("xml", "html"))
        (folder / "documents.pickle").write_bytes(pickle.dumps(docs))
        baseline = ["--baseline", str(args.baseline)] if args.baseline else []
        child = subprocess.run([sys.executable, __file__, *baseline, "--measure", str(folder)], check=True, capture_output=True, text=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
    pages = result["pages"]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    print(f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f} at the end")
    print(f"{len(pages)} statements; pages per PDF: median {statistics.median(pages)}, p95 {sorted(pages)[int(0.95 * len(pages))]}, max {max(pages)}")
    print("| path | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for path, values in result["times"].items():
        print(f"| {path} | {_ms(values, 0.5)} | {_ms(values, 0.95)} | {_ms(values, 0.99)} | {_ms(values, 1.0)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
