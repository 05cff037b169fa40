"""Readable renderings of documents, HTML and PDF, in the recipient's language.

A document is first turned into a `View` — title, header facts, and blocks
(headings, tables, summaries) already worded and formatted in the language —
and the view is then laid out as HTML (Jinja2, `templates/document.html.j2`)
or PDF (fpdf2, core Helvetica).  Both renderings therefore say exactly the
same thing.  Output is deterministic: no clock is read (the PDF's creation
date is the document's own date), so the same document gives the same bytes.

The PDF uses the standard PDF fonts, which cover Latin-1: French is complete;
a character outside Latin-1 in a business name (a curly quote, `œ`) is written
as its nearest Latin-1 form (`statements.render.pdf_text`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path

import lxml.html
from fpdf import FPDF
from fpdf.util import escape_parens
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .i18n import describe, label, long_date, money, type_label
from .model import DailyNotice, Document, DocumentLine, Statement, StatementAccount
from .xml import document_id

__all__ = ["View", "Table", "view_of", "view_of_html", "render_html", "render_pdf", "pdf_of_html", "pdf_of_view", "pdf_text"]

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass
class Table:
    """A titled table; the last `amounts` columns are amounts (right-aligned). `total` is a label,
    then one value per amount column."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    total: tuple[str, ...] | None = None
    # date, type, reference ("trace / transaction number" whole: 17 + 3 + 14 characters), description,
    # due date, status, amount — 190 mm, the text width of A4 and (with room to spare) of Letter
    widths: tuple[int, ...] = (17, 24, 50, 41, 17, 11, 30)
    empty: str = ""
    amounts: int = 1


@dataclass
class View:
    language: str
    title: str
    meta: list[tuple[str, str]]
    blocks: list[tuple[str, object]] = field(default_factory=list)  # ("heading", str) | ("table", Table) | ("summary", rows)
    note: str = ""


#: The daily summary's columns: date, count, transaction, amount.
DAILY_WIDTHS = (30, 30, 90, 40)


def _ref(line: DocumentLine) -> str:
    """A declaration by its transaction number; anything else by its own reference (a payment's
    trace, an adjustment's reference) then the transaction it touched."""
    if line.type == "DECLARATION":
        return line.transaction_number or ""
    return " / ".join(part for part in (line.reference, line.transaction_number) if part)


def _line_rows(lines: tuple[DocumentLine, ...], lang: str) -> list[list[str]]:
    return [
        [
            line.date.isoformat(), type_label(line.type, lang), _ref(line), describe(line, lang),
            line.due_date.isoformat() if line.due_date else "", line.status or "", money(line.amount_cents, lang),
        ]
        for line in lines
    ]


def _lines_table(title: str, lines: tuple[DocumentLine, ...], lang: str) -> Table:
    columns = [label(k, lang) for k in ("col_date", "col_type", "col_ref", "col_desc", "col_due", "col_status", "col_amount")]
    return Table(title, columns, _line_rows(lines, lang), (label("total", lang), money(sum(l.amount_cents for l in lines), lang)),
                 empty=label("none", lang))


def _holder_meta(doc: Document, lang: str) -> list[tuple[str, str]]:
    meta = [(label("document", lang), document_id(doc)),
            (label("recipient", lang), f"{doc.recipient.name} ({doc.recipient.bn9})")]
    if doc.holder.kind == "importer":
        meta.append((label("importer", lang), f"{doc.holder.name} — {doc.holder.rm15}"))
    else:
        meta.append((label("broker", lang), f"{doc.holder.name} — {doc.holder.bn9} / {doc.holder.asec}"))
    return meta


def _daily_view(doc: DailyNotice, lang: str) -> View:
    meta = _holder_meta(doc, lang) + [
        (label("issue_date", lang), long_date(doc.issue_date, lang)),
        (label("activity_date", lang), long_date(doc.activity_date, lang)),
    ]
    if doc.activity_from != doc.activity_date:
        meta.append((label("activity_from", lang), long_date(doc.activity_from, lang)))
    view = View(lang, label("DN", lang), meta, note=label("status_note", lang))
    for account in doc.accounts:
        view.blocks.append(("heading", f"{label('account', lang)} {account.rm15} — {account.name}"))
        view.blocks.append(("table", _lines_table(label("transactions", lang), account.transactions, lang)))
        view.blocks.append(("table", _lines_table(label("other_transactions", lang), account.other, lang)))
        view.blocks.append(("table", _lines_table(label("under_review", lang), account.under_review, lang)))
        view.blocks.append(("summary", [
            (label("net_change", lang), money(account.net_change_cents, lang), False),
            (label("closing_balance", lang), money(account.closing_balance_cents, lang), True),
        ]))
    if len(doc.accounts) > 1:
        view.blocks.append(("summary", [
            (label("net_change", lang), money(doc.net_change_cents, lang), False),
            (label("closing_balance", lang), money(doc.closing_balance_cents, lang), True),
        ]))
    return view


def _daily_summary(account: StatementAccount, doc: Statement, lang: str) -> Table:
    rows: list[list[str]] = []
    for day in account.daily:
        rows.append([day.date.isoformat(), str(day.declaration_count), "", money(day.total_cents, lang)])
        rows.extend(["", "", f"{number}" + (f" ({asec})" if asec else ""), money(cents, lang)] for number, asec, cents in day.transactions)
    return Table(
        label("daily_summary", lang, date=long_date(doc.due_date, lang)),
        [label("col_date", lang), label("count", lang), label("col_ref", lang), label("col_amount", lang)],
        rows, (label("total", lang), money(account.daily_total_cents, lang)), widths=DAILY_WIDTHS, empty=label("none", lang),
    )


def _statement_view(doc: Statement, lang: str) -> View:
    meta = _holder_meta(doc, lang) + [
        (label("statement_date", lang), long_date(doc.statement_date, lang)),
        (label("billing_period", lang), label("period_range", lang, start=long_date(doc.period_start, lang), end=long_date(doc.period_end, lang))),
        (label("payment_due_date", lang), long_date(doc.due_date, lang)),
    ]
    view = View(lang, label("SOA", lang), meta, note=label("status_note", lang))
    for account in doc.accounts:
        view.blocks.append(("heading", f"{label('account', lang)} {account.rm15} — {account.name}"))
        view.blocks.append(("summary", [(label("opening_balance", lang), money(account.opening_cents, lang), True)]))
        view.blocks.append(("table", _daily_summary(account, doc, lang)))
        for key, lines in (("other_items", account.other), ("under_review", account.under_review), ("payments", account.payments),
                           ("interest", account.interest), ("penalties", account.penalties), ("fees", account.fees)):
            view.blocks.append(("table", _lines_table(label(key, lang), lines, lang)))
        rows = [(label("total_payable", lang), money(account.total_payable_cents, lang), True)]
        if doc.holder.kind == "importer":
            rows.append((label("importer_total", lang), money(account.importer_total_cents, lang), False))
            for bt in account.broker_totals:
                rows.append((label("broker_total", lang, name=bt.name, asec=bt.asec), money(bt.amount_cents, lang), False))
        rows.append((label("payment_due_date", lang), long_date(doc.due_date, lang), False))
        view.blocks.append(("summary", rows))
        if account.measures is not None:  # D17-R38
            m = account.measures
            measures = [(label("not_in_good_standing", lang, date=long_date(m.since, lang)), "", True),
                        (label("release_hold", lang), "", False), (label("pay_at_release", lang), "", False)]
            measures += [(label("security_claim", lang, asec=c.asec), money(c.claim_cents, lang), False) for c in m.claims]
            view.blocks.append(("summary", measures))
    if doc.holder.kind == "broker":
        view.blocks.append(("summary", [(label("grand_total", lang), money(doc.grand_total_cents, lang), True)]))
    return view


def view_of(doc: Document, language: str | None = None) -> View:
    lang = language or doc.recipient.language
    return _daily_view(doc, lang) if isinstance(doc, DailyNotice) else _statement_view(doc, lang)


# ------------------------------------------------------------------ HTML
@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env


def render_html(doc: Document, language: str | None = None, *, view: View | None = None) -> bytes:
    view = view or view_of(doc, language)
    return _environment().get_template("document.html.j2").render(view=view).encode("utf-8")


def view_of_html(html: bytes) -> View:
    """The view a document's HTML (`render_html`) was rendered from — the template read backwards —
    so that its PDF, drawn when asked for after the run, is the one the run would have drawn (decision S12)."""
    root = lxml.html.document_fromstring(html.decode("utf-8"))
    body = root.body
    meta = body.find("dl")
    view = View(root.get("lang"), _text(body.find("h1")),
                [(_text(key), _text(value)) for key, value in zip(meta.findall("dt"), meta.findall("dd"), strict=True)])
    for node in body.iterchildren():
        if node.tag == "h2":
            view.blocks.append(("heading", _text(node)))
        elif node.tag == "table":
            view.blocks.append(("summary", [(_text(tr[0]), _text(tr[1]), tr.get("class") == "strong") for tr in node.iter("tr")]))
        elif node.tag == "section":
            view.blocks.append(("table", _table_of_html(node)))
        elif node.tag == "p" and node.get("class") == "note":
            view.note = _text(node)
    return view


def _text(node) -> str:
    return node.text_content()


def _table_of_html(section) -> Table:
    title, table = _text(section.find("h3")), section.find("table")
    if table is None:
        return Table(title, [], [], empty=_text(section.find("p")))
    columns = [_text(th) for th in table.find("thead").iter("th")]
    rows = [[_text(td) for td in tr.iter("td")] for tr in table.find("tbody").iter("tr")]
    foot = table.find("tfoot")
    total = tuple(_text(td) for td in foot.iter("td")) if foot is not None else None
    widths = DAILY_WIDTHS if len(columns) == len(DAILY_WIDTHS) else Table.widths  # the two kinds of document tables
    return Table(title, columns, rows, total, widths=widths)


# ------------------------------------------------------------------ PDF
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
