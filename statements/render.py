"""Readable renderings of documents, HTML and PDF, in the recipient's language.

A document is first turned into a `View` — title, header facts, and blocks
(headings, tables, summaries) already worded and formatted in the language —
and the view is then laid out as HTML (Jinja2, `templates/document.html.j2`,
here) or PDF (fpdf2, core Helvetica: `statements.pdf`).  Both renderings
therefore say exactly the same thing.  Output is deterministic: no clock is
read, so the same document gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import lxml.html
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .i18n import describe, label, long_date, money, type_label
from .model import DailyNotice, Document, DocumentLine, Statement, StatementAccount
from .xml import document_id

__all__ = ["View", "Table", "view_of", "view_of_html", "render_html"]

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
