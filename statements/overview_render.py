"""The importer account balance overview (D17-R17) as XML under its XSD, CSV, and PDF in English or French.

The three say the same thing: every declaration with its components (charged, paid, open),
due date and status, the other open items, the balance and what is overdue.

* XML: `mappings/balance-overview.xsd`, built with the documents' own builder
  (`statements.xml`) and validated before it is returned (`InvalidDocument` otherwise).
* CSV: one row per declaration (`record` = `declaration`), one per component (`component`),
  one per other open item (`item`), and the account's `total`; amounts in dollars and cents
  (`-12.34`), RFC 4180 line ends.
* PDF: the statements' layout (`statements.pdf.pdf_of_view`), Letter paper by default.

Output is deterministic: the same overview gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache

from lxml import etree

from core.money import format_cents

from .i18n import component_label, describe, long_date, money, report_label, type_label
from .overview import BalanceOverview, DeclarationBalance, OpenItem
from .pdf import pdf_of_view
from .render import Table, View
from .xml import MAPPINGS, _Builder, validated_bytes

__all__ = ["BAO_NS", "overview_id", "overview_xml", "overview_csv", "overview_pdf", "overview_view", "CSV_COLUMNS", "ITEM_TYPES"]

BAO_NS = "urn:carm:balance-overview:1"

#: Item kinds → the type the overview shows (the XSD enumerates these).
ITEM_TYPES = {"adjustment": "REASSESSMENT", "interest": "INTEREST", "penalty": "PENALTY", "fee": "FEE",
              "credit": "CREDIT", "payment": "PAYMENT"}

CSV_COLUMNS = ("rm15", "as_of", "record", "transaction_number", "component", "accounted_on", "security_account",
               "due_date", "status", "description", "charged", "paid", "open")


def overview_id(overview: BalanceOverview) -> str:
    """`<RM15>-BAO-<YYYYMMDD>`: also a file name stem."""
    return f"{overview.holder.rm15}-BAO-{overview.as_of:%Y%m%d}"


def _language(overview: BalanceOverview, language: str | None) -> str:
    return language or overview.recipient.language


# ------------------------------------------------------------------ XML
@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(MAPPINGS / "balance-overview.xsd")))


def _amounts(b: _Builder, node, charged: int, paid: int, open_: int) -> None:
    b.amount(node, "Charged", charged)
    b.amount(node, "Paid", paid)
    b.amount(node, "Open", open_)


def _declaration(b: _Builder, parent, d: DeclarationBalance, lang: str) -> None:
    node = b.el(parent, "Declaration")
    b.el(node, "TransactionNumber", d.transaction_number)
    b.el(node, "AccountedOn", d.accounted_on.isoformat())
    if d.asec:
        b.el(node, "SecurityAccount", d.asec)
    if d.due_date:
        b.el(node, "DueDate", d.due_date.isoformat())
    b.el(node, "UnderReview", "true" if d.under_review else "false")
    b.el(node, "Status", d.status.value)
    for c in d.components:
        comp = b.el(node, "Component")
        b.el(comp, "Code", c.component)
        b.el(comp, "Description", component_label(c.component, lang))
        _amounts(b, comp, c.charged_cents, c.paid_cents, c.open_cents)
    _amounts(b, node, d.charged_cents, d.paid_cents, d.open_cents)


def _item(b: _Builder, parent, o: OpenItem, lang: str) -> None:
    node = b.el(parent, "Item")
    b.el(node, "Type", ITEM_TYPES.get(o.kind, o.kind))  # an unknown kind fails the XSD: loud, as it should
    b.el(node, "PostedOn", o.posted_on.isoformat())
    if o.transaction_number:
        b.el(node, "TransactionNumber", o.transaction_number)
    if o.component:
        b.el(node, "Component", o.component)
    if o.asec:
        b.el(node, "SecurityAccount", o.asec)
    b.el(node, "Description", (o.description if lang == "en" else describe(o, lang))[:300])
    if o.due_date:
        b.el(node, "DueDate", o.due_date.isoformat())
    b.el(node, "UnderReview", "true" if o.under_review else "false")
    b.el(node, "Status", o.status.value)
    b.amount(node, "Open", o.open_cents)


def overview_xml(overview: BalanceOverview, language: str | None = None) -> bytes:
    """The overview as XML bytes, validated against `balance-overview.xsd` (InvalidDocument when it fails)."""
    lang = _language(overview, language)
    b = _Builder(BAO_NS, lang)
    root = b.el(None, "BalanceOverview", version="1")
    b.el(root, "DocumentId", overview_id(overview))
    b.el(root, "AsOf", overview.as_of.isoformat())
    b.party(root, "Recipient", overview.recipient)
    importer = b.el(root, "Importer")
    b.el(importer, "RM15", overview.holder.rm15)
    b.el(importer, "Name", overview.holder.name[:200])
    decls = b.el(root, "Declarations")
    for d in overview.declarations:
        _declaration(b, decls, d, lang)
    _amounts(b, b.el(decls, "Total"), overview.charged_cents, overview.paid_cents, overview.declarations_open_cents)
    others = b.el(root, "OtherItems")
    for o in overview.others:
        _item(b, others, o, lang)
    b.amount(others, "Total", overview.others_open_cents)
    b.amount(root, "Balance", overview.balance_cents)
    b.amount(root, "Overdue", overview.overdue_cents)
    return validated_bytes(root, _schema(), overview_id(overview))


# ------------------------------------------------------------------ CSV
def overview_csv(overview: BalanceOverview, language: str | None = None) -> bytes:
    """The overview as CSV (UTF-8, header first; see the module docstring)."""
    lang = _language(overview, language)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    head = (overview.holder.rm15, overview.as_of.isoformat())

    def day(value) -> str:
        return value.isoformat() if value else ""

    for d in overview.declarations:
        writer.writerow((*head, "declaration", d.transaction_number, "", day(d.accounted_on), d.asec or "", day(d.due_date),
                         d.status.value, "", format_cents(d.charged_cents), format_cents(d.paid_cents), format_cents(d.open_cents)))
        for c in d.components:
            writer.writerow((*head, "component", d.transaction_number, c.component, day(d.accounted_on), d.asec or "",
                             day(d.due_date), d.status.value, component_label(c.component, lang),
                             format_cents(c.charged_cents), format_cents(c.paid_cents), format_cents(c.open_cents)))
    for o in overview.others:
        writer.writerow((*head, "item", o.transaction_number or "", o.component or "", day(o.posted_on), o.asec or "",
                         day(o.due_date), o.status.value, o.description if lang == "en" else describe(o, lang),
                         "", "", format_cents(o.open_cents)))
    writer.writerow((*head, "total", "", "", "", "", "", "", report_label("balance", lang),
                     format_cents(overview.charged_cents), format_cents(overview.paid_cents), format_cents(overview.balance_cents)))
    return out.getvalue().encode("utf-8")


# ------------------------------------------------------------------ PDF
def _status(status, lang: str) -> str:
    return report_label(f"status_{status.value}", lang)


def overview_view(overview: BalanceOverview, language: str | None = None) -> View:
    """The overview worded and formatted in the language, ready to lay out."""
    lang = _language(overview, language)
    meta = [
        (report_label("document", lang), overview_id(overview)),
        (report_label("importer", lang), f"{overview.holder.name} — {overview.holder.rm15}"),
        (report_label("as_of", lang), long_date(overview.as_of, lang)),
    ]
    view = View(lang, report_label("BAO", lang), meta, note=report_label("paid_note", lang))
    rows: list[list[str]] = []
    for d in overview.declarations:
        rows.append([d.transaction_number + (f" ({d.asec})" if d.asec else ""), d.accounted_on.isoformat(),
                     d.due_date.isoformat() if d.due_date else "", _status(d.status, lang),
                     money(d.charged_cents, lang), money(d.paid_cents, lang), money(d.open_cents, lang)])
        rows.extend(["    " + component_label(c.component, lang), "", "", "", money(c.charged_cents, lang),
                     money(c.paid_cents, lang), money(c.open_cents, lang)] for c in d.components)
    columns = [report_label(k, lang) for k in ("col_transaction", "col_accounted", "col_due", "col_status", "col_charged",
                                                "col_paid", "col_open")]
    view.blocks.append(("table", Table(
        report_label("declarations", lang), columns, rows,
        (report_label("total", lang), money(overview.charged_cents, lang), money(overview.paid_cents, lang),
         money(overview.declarations_open_cents, lang)),
        widths=(46, 22, 22, 34, 22, 22, 22), empty=report_label("none", lang), amounts=3,
    )))
    others = [[o.posted_on.isoformat(), type_label(ITEM_TYPES.get(o.kind, o.kind), lang), o.transaction_number or "",
               describe(o, lang), o.due_date.isoformat() if o.due_date else "", _status(o.status, lang), money(o.open_cents, lang)]
              for o in overview.others]
    columns = [report_label(k, lang) for k in ("col_date", "col_type", "col_ref", "col_desc", "col_due", "col_status", "col_open")]
    view.blocks.append(("table", Table(
        report_label("other_open_items", lang), columns, others, (report_label("total", lang), money(overview.others_open_cents, lang)),
        widths=(17, 24, 30, 45, 17, 30, 27), empty=report_label("none", lang),
    )))
    standing = "good_standing" if overview.overdue_cents == 0 else "not_good_standing"
    view.blocks.append(("summary", [
        (report_label("declarations_open", lang), money(overview.declarations_open_cents, lang), False),
        (report_label("others_open", lang), money(overview.others_open_cents, lang), False),
        (report_label("balance", lang), money(overview.balance_cents, lang), True),
        (report_label("overdue", lang), money(overview.overdue_cents, lang), False),
        (report_label(standing, lang), "", False),
    ]))
    return view


def overview_pdf(overview: BalanceOverview, language: str | None = None, *, paper: str = "letter") -> bytes:
    """The overview as a PDF in the language (the holder's by default), on `paper`."""
    return pdf_of_view(overview_view(overview, language), overview_id(overview), overview.as_of, paper=paper)
