"""Documents as PDF, laid out from their `View` (`statements.render`) with fpdf2 and the core
Helvetica font.

The PDF says what the HTML says: both are drawn from one view. Output is deterministic: no clock
is read (the PDF's creation date is the document's own date), so the same document gives the same
bytes. The standard PDF fonts cover Latin-1: French is complete; a character outside Latin-1 in a
business name (a curly quote, `œ`) is written as its nearest Latin-1 form (`pdf_text`).

A module of its own: fpdf2, with fontTools under it, is a third of the package's import time, and
the runs the engine schedules draw no PDF (decision S12) — they never import this (decision S14).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, time

from fpdf import FPDF
from fpdf.util import escape_parens

from .i18n import label
from .model import Document
from .render import Table, View, view_of, view_of_html
from .xml import document_id

__all__ = ["render_pdf", "pdf_of_html", "pdf_of_view", "pdf_text"]


_PDF_REPLACEMENTS = str.maketrans({"\u202f": "\xa0", "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                                   "\u2013": "-", "\u2014": "-", "\u0153": "oe", "\u0152": "OE", "\u2026": "..."})


def pdf_text(text: str) -> str:
    """`text` within Latin-1, the standard PDF fonts' range: typographic marks to their plain forms,
    other letters without their accents, anything left as `?`."""
    text = text.translate(_PDF_REPLACEMENTS)
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        out = []
        for char in text:
            if ord(char) < 256:
                out.append(char)
                continue
            base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
            out.append(base or "?")
        return "".join(out)


class _Pdf(FPDF):
    def __init__(self, view: View, paper: str = "letter") -> None:
        super().__init__(orientation="P", unit="mm", format={"letter": "Letter", "a4": "A4"}[paper])
        self.view = view
        self.set_margins(10, 12, 10)
        self.set_auto_page_break(True, margin=15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=7)
        page = f"{label('page', self.view.language)} {self.page_no()}/{{nb}}"
        self.cell(0, 5, pdf_text(f"{self.view.title} — {self.view.meta[0][1]} — {page}"), align="C")


def _width(pdf: FPDF, text: str) -> float:
    """`pdf.get_string_width(text)` of a Latin-1 text in a standard font — the same sum, in the same
    order — without laying the text out in fragments first (a third of a PDF's time)."""
    return sum(pdf.current_font.cw[c] for c in text) * pdf.font_size_pt * 0.001 / pdf.k


def _fit(pdf: FPDF, text: str, width: float) -> str:
    if _width(pdf, text) <= width - 1.5:
        return text
    while text and _width(pdf, text + "...") > width - 1.5:
        text = text[:-1]
    return text + "..."


def render_pdf(doc: Document, language: str | None = None, *, view: View | None = None, paper: str = "letter") -> bytes:
    """The document as a PDF, on Letter paper (`paper="a4"` by option)."""
    view = view or view_of(doc, language)
    return pdf_of_view(view, document_id(doc), doc.doc_date, paper=paper)


def pdf_of_html(html: bytes, *, paper: str = "letter") -> bytes:
    """The PDF of a document from its HTML, as `render_pdf` draws it from the document (decision S12)."""
    view = view_of_html(html)
    doc_id = view.meta[0][1]  # the document's id comes first; its date is the id's YYYYMMDD (S6)
    return pdf_of_view(view, doc_id, datetime.strptime(doc_id.split("-")[2], "%Y%m%d").date(), paper=paper)


def pdf_of_view(view: View, doc_id: str, day: date, *, paper: str = "letter") -> bytes:
    """A view as a PDF titled `doc_id`, dated `day` (no clock is read): documents and reports alike."""
    pdf = _Pdf(view, paper)
    pdf.set_title(pdf_text(f"{view.title} {doc_id}"))
    pdf.set_producer("CARM payments engine")
    pdf.set_creator("statements")
    pdf.set_creation_date(datetime.combine(day, time(0, 0), tzinfo=UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    _cell(pdf, 0, 9, pdf_text(view.title), next_line=True)
    pdf.set_font("Helvetica", size=9)
    for key, value in view.meta:
        pdf.set_font("Helvetica", "B", 9)
        _cell(pdf, 55, 5, pdf_text(key))
        pdf.set_font("Helvetica", size=9)
        _cell(pdf, 0, 5, pdf_text(value), next_line=True)
    for kind, block in view.blocks:
        if kind == "heading":
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", 11)
            _cell(pdf, 0, 7, pdf_text(block), border="B", next_line=True)
        elif kind == "summary":
            for text, value, strong in block:
                pdf.set_font("Helvetica", "B" if strong else "", 9)
                _cell(pdf, 150, 5, pdf_text(text), align="R")
                _cell(pdf, 40, 5, pdf_text(value), align="R", next_line=True)
        else:
            _pdf_table(pdf, block)
    pdf.ln(3)
    pdf.set_font("Helvetica", "I", 7)
    _cell(pdf, 0, 4, pdf_text(view.note), next_line=True)
    return bytes(pdf.output())


ROW_HEIGHT = 4.5


def _cell(pdf: FPDF, w: float, h: float, text: str, *, align: str = "L", fill: bool = False, border: str = "",
          next_line: bool = False) -> None:
    """`pdf.cell(w, h, text, border=border, align=align, fill=fill)` — then to the next line when
    `next_line` — for a Latin-1 text in a standard font, left or right: the operators fpdf2 writes,
    at the places it writes them, byte for byte (tested against `cell`), without laying the text out
    in styled fragments first: `cell` took ~50 µs, nine tenths of a PDF's time (decision S12)."""
    k = pdf.k
    if w == 0:
        w = pdf.w - pdf.r_margin - pdf.x
    pdf._perform_page_break_if_need_be(h)
    left, right = pdf.x * k, (pdf.x + w) * k
    top, bottom = (pdf.h - pdf.y) * k, (pdf.h - (pdf.y + h)) * k
    ops = [f"{left:.2f} {top:.2f} {right - left:.2f} {bottom - top:.2f} re f"] if fill else []
    if "T" in border:
        ops.append(f"{left:.2f} {top:.2f} m {right:.2f} {top:.2f} l S")
    if "B" in border:
        ops.append(f"{left:.2f} {bottom:.2f} m {right:.2f} {bottom:.2f} l S")
    recoloured = bool(text) and pdf.text_color != pdf.fill_color
    if text:
        if not pdf.current_font_is_set_on_page:  # after a page break, as fpdf2 does: before the line
            pdf._out(pdf._set_font_for_page(pdf.current_font, pdf.font_size_pt))
        dx = w - pdf.c_margin - _width(pdf, text) if align == "R" else pdf.c_margin
        ops.append(f"BT {(pdf.x + dx) * k:.2f} {(pdf.h - pdf.y - 0.5 * h - 0.3 * pdf.font_size) * k:.2f} Td")
        if recoloured:
            ops.append(pdf.text_color.serialize().lower())
        ops.append(f"({escape_parens(text)}) Tj ET")
    if ops:
        pdf._out(f"q {' '.join(ops)} Q" if recoloured else " ".join(ops))
    pdf._lasth = h
    if next_line:
        pdf.x, pdf.y = pdf.l_margin, pdf.y + h
    else:
        pdf.x += w


def _pdf_rows(pdf: FPDF, rows: list[list[str]], widths: tuple[int, ...], first_amount: int) -> None:
    """A table's rows, each value in a borderless cell of its column (amounts on the right)."""
    for row in rows:
        for i, (value, w) in enumerate(zip(row, widths, strict=False)):
            _cell(pdf, w, ROW_HEIGHT, _fit(pdf, pdf_text(value), w), align="R" if i >= first_amount else "L")
        pdf.ln()


def _pdf_table(pdf: FPDF, table: Table) -> None:
    pdf.ln(1.5)
    pdf.set_font("Helvetica", "B", 9)
    _cell(pdf, 0, 6, pdf_text(table.title), next_line=True)
    if not table.rows:
        pdf.set_font("Helvetica", "I", 7)
        _cell(pdf, 0, 4.5, pdf_text(table.empty), next_line=True)
        return
    widths = table.widths
    first_amount = len(widths) - table.amounts
    pdf.set_font("Helvetica", "B", 7)
    pdf.set_fill_color(230, 230, 230)
    for i, (col, w) in enumerate(zip(table.columns, widths, strict=False)):
        _cell(pdf, w, 5, _fit(pdf, pdf_text(col), w), fill=True, align="R" if i >= first_amount else "L")
    pdf.ln()
    pdf.set_font("Helvetica", size=7)
    _pdf_rows(pdf, table.rows, widths, first_amount)
    if table.total:
        label_width = sum(widths[:len(widths) - len(table.total) + 1])
        pdf.set_font("Helvetica", "B", 7)
        _cell(pdf, label_width, 5, pdf_text(table.total[0]), border="T", align="R")
        values = table.total[1:]
        for i, (value, w) in enumerate(zip(values, widths[len(widths) - len(values):], strict=True)):
            _cell(pdf, w, 5, pdf_text(value), border="T", align="R", next_line=i == len(values) - 1)
