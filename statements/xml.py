"""Documents as XML under the project's XSDs (D17-R16: delivered as XML with an XSD).

`to_xml(document)` builds the XML and validates it against
`mappings/daily-notice.xsd` or `mappings/statement-of-account.xsd`; a document
that fails is a bug in this package and raises `InvalidDocument` — it is never
returned, so it can never be written.  Output is canonical for a given
document: UTF-8, fixed element order, two-space indentation, no timestamps.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

from core.money import format_cents

from .errors import InvalidDocument
from .i18n import describe
from .model import DailyAccount, DailyNotice, Document, DocumentLine, Party, Statement, StatementAccount

__all__ = ["to_xml", "validated_bytes", "schema_for", "document_id", "DN_NS", "SOA_NS", "MAPPINGS"]

MAPPINGS = Path(__file__).resolve().parent.parent / "mappings"
DN_NS = "urn:carm:daily-notice:1"
SOA_NS = "urn:carm:statement-of-account:1"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_SCHEMAS = {"DN": (DN_NS, "daily-notice.xsd"), "SOA": (SOA_NS, "statement-of-account.xsd")}


@lru_cache(maxsize=2)
def schema_for(doc_type: str) -> etree.XMLSchema:
    """The compiled XSD of `DN` or `SOA`."""
    return etree.XMLSchema(etree.parse(str(MAPPINGS / _SCHEMAS[doc_type][1])))


def document_id(doc: Document) -> str:
    """`<recipient BN9>-<DN|SOA>-<YYYYMMDD>-<sequence>`: also the file name stem."""
    return f"{doc.recipient.bn9}-{doc.doc_type}-{doc.doc_date:%Y%m%d}-{doc.sequence:04d}"


#: An element: tag, its attributes as written (` name="value"`…), its text escaped, its children.
_Node = tuple[str, str, str | None, list]


def _escape(text: str) -> str:
    """Text as lxml writes it: `&`, `<`, `>` and carriage returns as references."""
    for char, reference in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        if char in text:
            text = text.replace(char, reference)
    return text


class _Builder:
    """Builds a document as light nodes `(tag, attributes, text, children)`, written out as lxml's
    `pretty_print` would, byte for byte: a third faster than an lxml tree of the ~75 elements of a
    statement, the run's largest cost. `validated_bytes` parses the bytes back to validate them
    against the XSD, so what is checked is exactly what is written."""

    def __init__(self, ns: str, language: str = "en") -> None:
        self.ns = ns
        self.language = language

    def el(self, parent, tag: str, text: object | None = None, **attrs):
        attributes = "".join(f' {name}="{value}"' for name, value in attrs.items()) if attrs else ""  # box="D", version="1"
        if parent is None:
            attributes = f' xmlns="{self.ns}"' + attributes
        node = (tag, attributes, None if text is None else _escape(str(text)), [])
        if parent is not None:
            parent[3].append(node)
        return node

    def amount(self, parent, tag: str, cents: int, **attrs):
        if attrs:
            return self.el(parent, tag, format_cents(cents), **attrs)
        parent[3].append((tag, "", format_cents(cents), []))  # digits, a sign, a point: nothing to escape
        return None

    def party(self, parent, tag: str, party: Party) -> None:
        node = self.el(parent, tag)
        self.el(node, "BN9", party.bn9)
        self.el(node, "Name", party.name[:200])
        self.el(node, "Language", party.language)

    def line(self, parent, line: DocumentLine) -> None:
        node = self.el(parent, "Line")
        self.el(node, "Date", line.date.isoformat())
        self.el(node, "Type", line.type)
        if line.transaction_number:
            self.el(node, "TransactionNumber", line.transaction_number)
        if line.component:
            self.el(node, "Component", line.component)
        if line.asec:
            self.el(node, "SecurityAccount", line.asec)
        if line.reference:
            self.el(node, "Reference", line.reference[:300])
        # in the recipient's language: the ledger's own (English) words for an English document, the
        # words of the French renderings for a French one (decision S10)
        text = line.description if self.language == "en" else describe(line, self.language)
        self.el(node, "Description", text[:300])
        if line.due_date:
            self.el(node, "DueDate", line.due_date.isoformat())
        if line.status:
            self.el(node, "Status", line.status)
        self.amount(node, "Amount", line.amount_cents)

    def section(self, parent, tag: str, lines: tuple[DocumentLine, ...]) -> None:
        node = self.el(parent, tag)
        for line in lines:
            self.line(node, line)
        self.amount(node, "Total", sum(l.amount_cents for l in lines))


def _daily(doc: DailyNotice) -> _Node:
    b = _Builder(DN_NS, doc.recipient.language)
    root = b.el(None, "DailyNotice", version="1")
    b.el(root, "DocumentId", document_id(doc))
    b.el(root, "IssueDate", doc.issue_date.isoformat())
    b.el(root, "ActivityDate", doc.activity_date.isoformat())
    b.el(root, "ActivityFrom", doc.activity_from.isoformat())
    b.party(root, "Recipient", doc.recipient)
    holder = b.el(root, "Holder")
    if doc.holder.kind == "importer":
        node = b.el(holder, "Importer")
        b.el(node, "RM15", doc.holder.rm15)
        b.el(node, "Name", doc.holder.name[:200])
    else:
        node = b.el(holder, "Broker")
        b.el(node, "BN9", doc.holder.bn9)
        b.el(node, "SecurityAccount", doc.holder.asec)
        b.el(node, "Name", doc.holder.name[:200])
    for account in doc.accounts:
        _daily_account(b, root, account)
    b.amount(root, "NetChange", doc.net_change_cents)
    b.amount(root, "ClosingBalance", doc.closing_balance_cents)
    return root


def _daily_account(b: _Builder, root, account: DailyAccount) -> None:
    node = b.el(root, "Account")
    b.el(node, "RM15", account.rm15)
    b.el(node, "Name", account.name[:200])
    b.section(node, "Transactions", account.transactions)
    b.section(node, "OtherTransactions", account.other)
    b.section(node, "UnderReview", account.under_review)
    b.amount(node, "NetChange", account.net_change_cents)
    b.amount(node, "ClosingBalance", account.closing_balance_cents)


def _statement(doc: Statement) -> _Node:
    b = _Builder(SOA_NS, doc.recipient.language)
    root = b.el(None, "StatementOfAccount", version="1")
    b.el(root, "DocumentId", document_id(doc))
    b.el(root, "StatementDate", doc.statement_date.isoformat())
    period = b.el(root, "BillingPeriod")
    b.el(period, "Name", doc.period)
    b.el(period, "Start", doc.period_start.isoformat())
    b.el(period, "End", doc.period_end.isoformat())
    b.el(root, "PaymentDueDate", doc.due_date.isoformat())
    b.party(root, "Recipient", doc.recipient)
    if doc.holder.kind == "importer":
        body = b.el(root, "ImporterStatement")
        importer = b.el(body, "Importer")
        b.el(importer, "RM15", doc.holder.rm15)
        b.el(importer, "Name", doc.holder.name[:200])
        (account,) = doc.accounts
        node = _statement_account(b, body, "Account", account, doc)
        b.amount(node, "ImporterTotal", account.importer_total_cents)
        for bt in account.broker_totals:
            total = b.el(node, "BrokerTotal")
            b.el(total, "BN9", bt.bn9)
            b.el(total, "SecurityAccount", bt.asec)
            b.amount(total, "Amount", bt.amount_cents)
    else:
        body = b.el(root, "BrokerStatement")
        broker = b.el(body, "Broker")
        b.el(broker, "BN9", doc.holder.bn9)
        b.el(broker, "SecurityAccount", doc.holder.asec)
        b.el(broker, "Name", doc.holder.name[:200])
        for account in doc.accounts:
            _statement_account(b, body, "ClientAccount", account, doc)
        b.amount(body, "GrandTotal", doc.grand_total_cents)
    return root


def _statement_account(b: _Builder, parent, tag: str, account: StatementAccount, doc: Statement):
    node = b.el(parent, tag)
    b.el(node, "RM15", account.rm15)
    b.el(node, "Name", account.name[:200])
    b.amount(node, "OpeningBalance", account.opening_cents, box="D")
    summary = b.el(node, "DailySummary")
    b.el(summary, "DueDate", doc.due_date.isoformat())
    for day in account.daily:
        d = b.el(summary, "Day")
        b.el(d, "Date", day.date.isoformat())
        b.el(d, "Count", day.declaration_count)
        for number, asec, cents in day.transactions:
            t = b.el(d, "Transaction")
            b.el(t, "TransactionNumber", number)
            if asec:
                b.el(t, "SecurityAccount", asec)
            b.amount(t, "Amount", cents)
        b.amount(d, "Total", day.total_cents)
    b.amount(summary, "Total", account.daily_total_cents)
    b.section(node, "OtherItems", account.other)
    b.section(node, "UnderReview", account.under_review)
    b.section(node, "PaymentsCreditsOffsets", account.payments)
    b.section(node, "Interest", account.interest)
    b.section(node, "Penalties", account.penalties)
    b.section(node, "Fees", account.fees)
    b.amount(node, "TotalPayable", account.total_payable_cents, box="I")
    if account.measures is not None:  # D17-R38
        measures = b.el(node, "NotInGoodStanding")
        b.el(measures, "Since", account.measures.since.isoformat())
        b.el(measures, "OldestDueDate", account.measures.oldest_due_date.isoformat())
        b.el(measures, "ReleaseHold", "true")
        b.el(measures, "PaymentAtRelease", "true")
        for claim in account.measures.claims:
            c = b.el(measures, "SecurityClaim")
            b.el(c, "SecurityAccount", claim.asec)
            b.amount(c, "Amount", claim.claim_cents)
    return node


def _write(node: _Node, out: list[str], indent: str = "") -> None:
    """`node` (which has children) and its descendants as lxml's `pretty_print` lays them out."""
    tag, attributes, _, children = node
    out.append(f"{indent}<{tag}{attributes}>\n")
    inner = indent + "  "
    for child in children:
        if child[3]:
            _write(child, out, inner)
        elif child[2] is None:
            out.append(f"{inner}<{child[0]}{child[1]}/>\n")
        else:
            out.append(f"{inner}<{child[0]}{child[1]}>{child[2]}</{child[0]}>\n")
    out.append(f"{indent}</{tag}>\n")


def to_xml(doc: Document) -> bytes:
    """The document as XML bytes, validated against its XSD (InvalidDocument when it fails)."""
    root = _daily(doc) if isinstance(doc, DailyNotice) else _statement(doc)
    return validated_bytes(root, schema_for(doc.doc_type), document_id(doc))


def validated_bytes(root: _Node, schema: etree.XMLSchema, doc_id: str) -> bytes:
    """The document built from `root`, as bytes that `schema` accepts (InvalidDocument naming `doc_id` when not)."""
    out = ["<?xml version='1.0' encoding='UTF-8'?>\n"]
    _write(root, out)
    data = "".join(out).encode("utf-8")
    try:
        valid = schema.validate(etree.fromstring(data, _PARSER))
    except etree.XMLSyntaxError as exc:  # a character XML cannot hold, in a name or a reference
        raise InvalidDocument(f"{doc_id} is not well-formed XML: {exc}") from exc
    if not valid:
        errors = "; ".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        raise InvalidDocument(f"{doc_id} does not validate against its XSD: {errors}")
    return data
