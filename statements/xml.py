"""Documents as XML under the project's XSDs (D17-R16: delivered as XML with an XSD).

`to_xml(document)` builds the XML and validates it against
`mappings/daily-notice.xsd` or `mappings/statement-of-account.xsd`; a document
that fails is a bug in this package and raises `InvalidDocument` — it is never
returned, so it can never be written.  Output is canonical for a given
document: UTF-8, fixed element order, two-space indentation, no timestamps —
lxml's own `pretty_print` layout, byte for byte.

Statements and notices are written straight as text, one template per element
that repeats (a line, a section, a day of the summary, an account): an element at
a time through a tree cost twice as much, and a run writes 100,000 of them. The
text is then parsed back and validated, so what is checked is exactly what is
written. The balance overview, one document at a time, keeps a small tree builder
(`_Builder`) written out in the same layout.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

from core.money import format_cents

from .errors import InvalidDocument
from .i18n import describe
from .model import DailyNotice, Document, DocumentLine, Party, Statement, StatementAccount

__all__ = ["to_xml", "validated_bytes", "schema_for", "document_id", "DN_NS", "SOA_NS", "MAPPINGS"]

MAPPINGS = Path(__file__).resolve().parent.parent / "mappings"
DN_NS = "urn:carm:daily-notice:1"
SOA_NS = "urn:carm:statement-of-account:1"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_SCHEMAS = {"DN": (DN_NS, "daily-notice.xsd"), "SOA": (SOA_NS, "statement-of-account.xsd")}
_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"


@lru_cache(maxsize=2)
def schema_for(doc_type: str) -> etree.XMLSchema:
    """The compiled XSD of `DN` or `SOA`."""
    return etree.XMLSchema(etree.parse(str(MAPPINGS / _SCHEMAS[doc_type][1])))


def document_id(doc: Document) -> str:
    """`<recipient BN9>-<DN|SOA>-<YYYYMMDD>-<sequence>`: also the file name stem."""
    day = doc.doc_date.isoformat().replace("-", "")  # YYYYMMDD, without strftime's cost
    return f"{doc.recipient.bn9}-{doc.doc_type}-{day}-{doc.sequence:04d}"


def _escape(text: str) -> str:
    """Text as lxml writes it: `&`, `<`, `>` and carriage returns as references."""
    for char, reference in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        if char in text:
            text = text.replace(char, reference)
    return text


def _text(tag: str, text: str | None, indent: str) -> str:
    """A leaf element as `pretty_print` writes it: `<tag/>` when it holds nothing."""
    if text is None:
        return f"{indent}<{tag}/>\n"
    return f"{indent}<{tag}>{_escape(text)}</{tag}>\n"


def _line(out: list[str], line: DocumentLine, language: str, indent: str) -> None:
    """One `Line` of a section (the DN's and the SOA's are the same element)."""
    i = indent + "  "
    # in the recipient's language: the ledger's own (English) words for an English document, the
    # words of the French renderings for a French one (decision S10)
    text = line.description if language == "en" else describe(line, language)
    out.append(f"{indent}<Line>\n{i}<Date>{line.date.isoformat()}</Date>\n{i}<Type>{_escape(line.type)}</Type>\n")
    if line.transaction_number:
        out.append(f"{i}<TransactionNumber>{_escape(line.transaction_number)}</TransactionNumber>\n")
    if line.component:
        out.append(f"{i}<Component>{_escape(line.component)}</Component>\n")
    if line.asec:
        out.append(f"{i}<SecurityAccount>{_escape(line.asec)}</SecurityAccount>\n")
    if line.reference:
        out.append(f"{i}<Reference>{_escape(line.reference[:300])}</Reference>\n")
    out.append(f"{i}<Description>{_escape(text[:300])}</Description>\n")
    if line.due_date:
        out.append(f"{i}<DueDate>{line.due_date.isoformat()}</DueDate>\n")
    if line.status:
        out.append(f"{i}<Status>{_escape(line.status)}</Status>\n")
    out.append(f"{i}<Amount>{format_cents(line.amount_cents)}</Amount>\n{indent}</Line>\n")


def _section(out: list[str], tag: str, lines: tuple[DocumentLine, ...], language: str, indent: str) -> int:
    """A section of lines and its total, which it returns; an empty one (most of a statement's) holds its zero total alone."""
    if not lines:
        out.append(f"{indent}<{tag}>\n{indent}  <Total>0.00</Total>\n{indent}</{tag}>\n")
        return 0
    i = indent + "  "
    out.append(f"{indent}<{tag}>\n")
    total = 0
    for line in lines:
        _line(out, line, language, i)
        total += line.amount_cents
    out.append(f"{i}<Total>{format_cents(total)}</Total>\n{indent}</{tag}>\n")
    return total


def _party(out: list[str], tag: str, party: Party, indent: str) -> None:
    i = indent + "  "
    out.append(f"{indent}<{tag}>\n{_text('BN9', party.bn9, i)}{_text('Name', party.name[:200], i)}"
               f"{_text('Language', party.language, i)}{indent}</{tag}>\n")


def _daily(doc: DailyNotice, doc_id: str) -> str:
    language = doc.recipient.language
    out = [f'{_DECLARATION}<DailyNotice xmlns="{DN_NS}" version="1">\n'
           f"  <DocumentId>{_escape(doc_id)}</DocumentId>\n  <IssueDate>{doc.issue_date.isoformat()}</IssueDate>\n"
           f"  <ActivityDate>{doc.activity_date.isoformat()}</ActivityDate>\n"
           f"  <ActivityFrom>{doc.activity_from.isoformat()}</ActivityFrom>\n"]
    _party(out, "Recipient", doc.recipient, "  ")
    holder = doc.holder
    if holder.kind == "importer":
        out.append(f"  <Holder>\n    <Importer>\n{_text('RM15', holder.rm15, '      ')}"
                   f"{_text('Name', holder.name[:200], '      ')}    </Importer>\n  </Holder>\n")
    else:
        out.append(f"  <Holder>\n    <Broker>\n{_text('BN9', holder.bn9, '      ')}{_text('SecurityAccount', holder.asec, '      ')}"
                   f"{_text('Name', holder.name[:200], '      ')}    </Broker>\n  </Holder>\n")
    for account in doc.accounts:
        out.append(f"  <Account>\n{_text('RM15', account.rm15, '    ')}{_text('Name', account.name[:200], '    ')}")
        _section(out, "Transactions", account.transactions, language, "    ")
        _section(out, "OtherTransactions", account.other, language, "    ")
        _section(out, "UnderReview", account.under_review, language, "    ")
        out.append(f"    <NetChange>{format_cents(account.net_change_cents)}</NetChange>\n"
                   f"    <ClosingBalance>{format_cents(account.closing_balance_cents)}</ClosingBalance>\n  </Account>\n")
    out.append(f"  <NetChange>{format_cents(doc.net_change_cents)}</NetChange>\n"
               f"  <ClosingBalance>{format_cents(doc.closing_balance_cents)}</ClosingBalance>\n</DailyNotice>\n")
    return "".join(out)


def _statement(doc: Statement, doc_id: str) -> str:
    language, holder = doc.recipient.language, doc.holder
    due = doc.due_date.isoformat()
    out = [f'{_DECLARATION}<StatementOfAccount xmlns="{SOA_NS}" version="1">\n'
           f"  <DocumentId>{_escape(doc_id)}</DocumentId>\n  <StatementDate>{doc.statement_date.isoformat()}</StatementDate>\n"
           f"  <BillingPeriod>\n{_text('Name', doc.period, '    ')}    <Start>{doc.period_start.isoformat()}</Start>\n"
           f"    <End>{doc.period_end.isoformat()}</End>\n  </BillingPeriod>\n  <PaymentDueDate>{due}</PaymentDueDate>\n"]
    _party(out, "Recipient", doc.recipient, "  ")
    if holder.kind == "importer":
        (account,) = doc.accounts
        out.append(f"  <ImporterStatement>\n    <Importer>\n{_text('RM15', holder.rm15, '      ')}"
                   f"{_text('Name', holder.name[:200], '      ')}    </Importer>\n")
        total = _statement_account(out, "Account", account, due, language)
        brokers = sum(bt.amount_cents for bt in account.broker_totals)
        out.append(f"      <ImporterTotal>{format_cents(total - brokers)}</ImporterTotal>\n")  # importer_total_cents
        for bt in account.broker_totals:
            out.append(f"      <BrokerTotal>\n{_text('BN9', bt.bn9, '        ')}{_text('SecurityAccount', bt.asec, '        ')}"
                       f"        <Amount>{format_cents(bt.amount_cents)}</Amount>\n      </BrokerTotal>\n")
        out.append("    </Account>\n  </ImporterStatement>\n</StatementOfAccount>\n")
    else:
        out.append(f"  <BrokerStatement>\n    <Broker>\n{_text('BN9', holder.bn9, '      ')}"
                   f"{_text('SecurityAccount', holder.asec, '      ')}{_text('Name', holder.name[:200], '      ')}    </Broker>\n")
        grand_total = 0  # grand_total_cents
        for account in doc.accounts:
            grand_total += _statement_account(out, "ClientAccount", account, due, language)
            out.append("    </ClientAccount>\n")
        out.append(f"    <GrandTotal>{format_cents(grand_total)}</GrandTotal>\n  </BrokerStatement>\n</StatementOfAccount>\n")
    return "".join(out)


def _statement_account(out: list[str], tag: str, account: StatementAccount, due: str, language: str) -> int:
    """An account's part of a statement, up to (not including) its closing tag: an importer's
    account goes on with its totals by broker. Its total payable (box I), which it returns, is
    added up from the totals it writes: `total_payable_cents`, without adding every line again."""
    out.append(f"    <{tag}>\n{_text('RM15', account.rm15, '      ')}{_text('Name', account.name[:200], '      ')}"
               f'      <OpeningBalance box="D">{format_cents(account.opening_cents)}</OpeningBalance>\n'
               f"      <DailySummary>\n        <DueDate>{due}</DueDate>\n")
    daily_total = 0
    for day in account.daily:
        out.append(f"        <Day>\n          <Date>{day.date.isoformat()}</Date>\n          <Count>{day.declaration_count}</Count>\n")
        day_total = 0
        for number, asec, cents in day.transactions:
            security = f"            <SecurityAccount>{_escape(asec)}</SecurityAccount>\n" if asec else ""
            out.append(f"          <Transaction>\n{_text('TransactionNumber', number, '            ')}{security}"
                       f"            <Amount>{format_cents(cents)}</Amount>\n          </Transaction>\n")
            day_total += cents
        out.append(f"          <Total>{format_cents(day_total)}</Total>\n        </Day>\n")
        daily_total += day_total
    out.append(f"        <Total>{format_cents(daily_total)}</Total>\n      </DailySummary>\n")
    total = account.opening_cents + daily_total
    for section, lines in (("OtherItems", account.other), ("UnderReview", account.under_review),
                           ("PaymentsCreditsOffsets", account.payments), ("Interest", account.interest),
                           ("Penalties", account.penalties), ("Fees", account.fees)):
        total += _section(out, section, lines, language, "      ")
    out.append(f'      <TotalPayable box="I">{format_cents(total)}</TotalPayable>\n')
    measures = account.measures
    if measures is not None:  # D17-R38
        out.append(f"      <NotInGoodStanding>\n        <Since>{measures.since.isoformat()}</Since>\n"
                   f"        <OldestDueDate>{measures.oldest_due_date.isoformat()}</OldestDueDate>\n"
                   f"        <ReleaseHold>true</ReleaseHold>\n        <PaymentAtRelease>true</PaymentAtRelease>\n")
        for claim in measures.claims:
            out.append(f"        <SecurityClaim>\n{_text('SecurityAccount', claim.asec, '          ')}"
                       f"          <Amount>{format_cents(claim.claim_cents)}</Amount>\n        </SecurityClaim>\n")
        out.append("      </NotInGoodStanding>\n")
    return total


def to_xml(doc: Document) -> bytes:
    """The document as XML bytes, validated against its XSD (InvalidDocument when it fails)."""
    doc_id = document_id(doc)
    text = _daily(doc, doc_id) if isinstance(doc, DailyNotice) else _statement(doc, doc_id)
    return _validated(text.encode("utf-8"), schema_for(doc.doc_type), doc_id)


def _validated(data: bytes, schema: etree.XMLSchema, doc_id: str) -> bytes:
    """`data` when it parses and `schema` accepts it, so what is checked is exactly what is written."""
    try:
        valid = schema.validate(etree.fromstring(data, _PARSER))
    except etree.XMLSyntaxError as exc:  # a character XML cannot hold, in a name or a reference
        raise InvalidDocument(f"{doc_id} is not well-formed XML: {exc}") from exc
    if not valid:
        errors = "; ".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        raise InvalidDocument(f"{doc_id} does not validate against its XSD: {errors}")
    return data


# ------------------------------------------------------------------ the balance overview's builder
#: An element: tag, its attributes as written (` name="value"`…), its text escaped, its children.
_Node = tuple[str, str, str | None, list]


class _Builder:
    """Builds a document as light nodes `(tag, attributes, text, children)`, written out as lxml's
    `pretty_print` would, byte for byte (`validated_bytes`): the balance overview's builder. The
    documents of the monthly and daily runs are written straight as text instead (`_statement`,
    `_daily`), in the same layout."""

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


def validated_bytes(root: _Node, schema: etree.XMLSchema, doc_id: str) -> bytes:
    """The document built from `root`, as bytes that `schema` accepts (InvalidDocument naming `doc_id` when not)."""
    out = [_DECLARATION]
    _write(root, out)
    return _validated("".join(out).encode("utf-8"), schema, doc_id)
