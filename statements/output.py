"""Writing documents to a folder: names, sequences, idempotent bytes.

Each document becomes `<recipient BN9>-<DN|SOA>-<YYYYMMDD>-<NNNN>.<xml|html|pdf>`:
who receives it, what it is, its date (issue date of a DN, statement date of
an SOA) and the recipient's sequence number for that type and date, given in
the order the documents are produced (importers by RM15, then brokers by BN9
and ASEC).  A file whose bytes are already on disk is left untouched; others
are written to a temporary name and renamed, so a reader never sees half a
file.  Re-running on the same ledger state therefore rewrites nothing.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from core.files import write_if_changed
from core.problems import Problem

from .model import Document
from .render import render_html, view_of
from .xml import document_id, to_xml

__all__ = ["Output", "RunReport", "emit", "write_documents", "log_report", "FORMATS"]

log = structlog.get_logger("statements")

FORMATS = ("xml", "html", "pdf")
_RENDER = {"xml": lambda doc, view, paper: to_xml(doc), "html": lambda doc, view, paper: render_html(doc, view=view),
           "pdf": lambda doc, view, paper: _pdf(doc, view, paper)}


def _pdf(doc: Document, view, paper: str) -> bytes:
    # fpdf2 imported with the first PDF, not with the package: a third of the package's import
    # time, which the scheduled runs (XML and HTML, decision S12) and their workers never use (S14)
    from .pdf import render_pdf

    return render_pdf(doc, view=view, paper=paper)


@dataclass(frozen=True, slots=True)
class Output:
    """One file a run produced, and whom it is for (the document's recipient, D17-R16)."""

    path: Path
    recipient_bn9: str
    format: str
    written: bool = True  # False: the file was already there with these bytes


@dataclass
class RunReport:
    """What a run produced.

    Attributes:
        doc_type: `DN` or `SOA`; label: the issue date or the period.
        documents: how many documents; importer / broker: of which for each kind of holder.
        written / unchanged: files whose bytes changed (or were new) / were already there.
        outputs: every file of the run, in order, with its recipient.
        problems: what a person should look at; none stops the run.
    """

    doc_type: str
    label: str
    documents: int = 0
    importer: int = 0
    broker: int = 0
    written: int = 0
    unchanged: int = 0
    outputs: list[Output] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        return [o.path for o in self.outputs]

    def add(self, other: RunReport) -> None:
        """Count in what `other` — a part of the same run — produced, after what this one holds."""
        for name in ("documents", "importer", "broker", "written", "unchanged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outputs.extend(other.outputs)
        self.problems.extend(other.problems)

    def summary_line(self) -> str:
        return (f"{self.doc_type} {self.label}: {self.documents} documents ({self.importer} importer, {self.broker} broker), "
                f"{self.written} files written, {self.unchanged} unchanged")


def emit(documents: Iterable[Document], out: Path, report: RunReport, formats: tuple[str, ...] = FORMATS, *,
         paper: str = "letter") -> RunReport:
    """Number, render and write every document of `documents` into `out` (PDFs on `paper`)."""
    write_documents(documents, out, report, formats, paper=paper)
    log_report(report)
    return report


def write_documents(documents: Iterable[Document], out: Path, report: RunReport, formats: tuple[str, ...] = FORMATS, *,
                    paper: str = "letter", numbered: Counter | None = None) -> Counter:
    """Render and write `documents` into `out`, adding to `report`, and number each one after the
    documents of its recipient and date counted in `numbered` (the ones written before, elsewhere
    when a run is split); the counts including these documents.

    Each file is written as soon as its document is rendered, in this thread: writer threads
    beside it cost more CPU than they saved (the GIL handed to and fro around every file and
    every parse; 0.27 against 0.15 ms a statement here), and a split run has no core to spare."""
    out.mkdir(parents=True, exist_ok=True)
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}; choose among {FORMATS}")
    sequence = Counter(numbered or {})
    folder = os.fspath(out)
    outputs = report.outputs
    for doc in documents:
        counter = (doc.recipient.bn9, doc.doc_date.isoformat())
        sequence[counter] += 1
        doc = doc._replace(sequence=sequence[counter])
        stem = document_id(doc)
        view = view_of(doc) if {"html", "pdf"} & set(formats) else None  # one wording for both renderings
        for fmt in formats:
            name = f"{stem}.{fmt}"
            written = write_if_changed(os.path.join(folder, name), _RENDER[fmt](doc, view, paper))  # text: a Path's costs more
            if written:
                report.written += 1
            else:
                report.unchanged += 1
            outputs.append(Output(out / name, doc.recipient.bn9, fmt, written))
        report.documents += 1
        if doc.holder.kind == "importer":
            report.importer += 1
        else:
            report.broker += 1
    return sequence


def log_report(report: RunReport) -> None:
    """The run's one log event."""
    log.info("statements.emitted", doc_type=report.doc_type, label=report.label, documents=report.documents,
             written=report.written, unchanged=report.unchanged, problems=[p.message for p in report.problems])
