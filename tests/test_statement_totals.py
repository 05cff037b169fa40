"""The totals a Statement of Account's XML writes are the document model's, to the cent, whatever
its lines and its language: `statements.xml` adds them up as it writes them (decision S14), and the PDF and HTML
take them from the model (`StatementAccount.total_payable_cents` and its kin), so the two ways must
never part — box I on the XML and box I on the PDF are the same number (D17-R15)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from statements.model import LINE_TYPES, BrokerTotal, DaySummary, DocumentLine, Holder, Party, Statement, StatementAccount
from statements.xml import to_xml

from .statements_helpers import cents

START = date(2026, 10, 18)
CENTS = st.integers(-10**11, 10**11)
TRANSACTION = st.from_regex(r"[0-9]{14}", fullmatch=True)
ASEC = st.one_of(st.none(), st.from_regex(r"[A-Z0-9]{5}", fullmatch=True))
DAY = st.integers(0, 30).map(lambda n: START + timedelta(days=n))

LINES = st.lists(st.builds(
    DocumentLine, date=DAY, type=st.sampled_from(sorted(set(LINE_TYPES.values()))), amount_cents=CENTS,
    description=st.just("a movement"), kind=st.just("declaration"), component=st.sampled_from([None, "duty", "gst"]),
    transaction_number=st.one_of(st.none(), TRANSACTION), asec=ASEC, due_date=st.none(), under_review=st.just(False),
    reference=st.none(), status=st.sampled_from([None, "O"]), entry_id=st.just(1), item_id=st.just(1),
), max_size=4).map(tuple)
DAYS = st.lists(st.builds(DaySummary, date=DAY, transactions=st.lists(st.tuples(TRANSACTION, ASEC, CENTS), min_size=1, max_size=3)
                          .map(tuple)), max_size=3).map(tuple)


def accounts(n: int, brokers: bool):
    return st.builds(
        StatementAccount, rm15=st.just(f"123456782RM{n:04d}"), name=st.just(f"Account {n}"), opening_cents=CENTS, daily=DAYS,
        other=LINES, under_review=LINES, payments=LINES, interest=LINES, penalties=LINES, fees=LINES,
        measures=st.none(), broker_totals=st.lists(st.builds(BrokerTotal, bn9=st.from_regex(r"[0-9]{9}", fullmatch=True),
                                         asec=st.from_regex(r"[A-Z0-9]{5}", fullmatch=True), amount_cents=CENTS),
                               max_size=2).map(tuple) if brokers else st.just(()),
    )


def statement(holder: Holder, accounts_of, language: str) -> Statement:
    return Statement("2026-11", START, START + timedelta(days=30), date(2026, 11, 25), date(2026, 12, 31),
                     Party("123456782", "Northern Imports", language), holder, accounts_of, sequence=1)


LANGUAGE = st.sampled_from(["en", "fr"])
IMPORTER = st.tuples(accounts(1, brokers=True), LANGUAGE).map(
    lambda a: statement(Holder("importer", "123456782", "Northern Imports", rm15=a[0].rm15), (a[0],), a[1]))
BROKER = st.tuples(st.lists(st.integers(1, 50), min_size=1, max_size=3, unique=True).flatmap(
    lambda ns: st.tuples(*(accounts(n, brokers=False) for n in ns))), LANGUAGE,
).map(lambda a: statement(Holder("broker", "300000007", "Swift Brokers", asec="BRK01"), a[0], a[1]))


def account_totals(node, account: StatementAccount) -> None:
    assert cents(node, "OpeningBalance") == account.opening_cents
    assert cents(node, "DailySummary/Total") == account.daily_total_cents
    for tag, (_, lines) in zip(("OtherItems", "UnderReview", "PaymentsCreditsOffsets", "Interest", "Penalties", "Fees"),
                               account.sections, strict=True):
        assert cents(node, f"{tag}/Total") == sum(line.amount_cents for line in lines)
    assert cents(node, "TotalPayable") == account.total_payable_cents


@settings(max_examples=150, deadline=None)
@given(doc=IMPORTER)
def test_an_importers_statement_writes_the_models_totals(doc):
    root = etree.fromstring(to_xml(doc))  # validated against the XSD on the way
    (node,) = root.findall("{*}ImporterStatement/{*}Account")
    (account,) = doc.accounts
    account_totals(node, account)
    assert cents(node, "ImporterTotal") == account.importer_total_cents
    assert [cents(b, "Amount") for b in node.findall("{*}BrokerTotal")] == [b.amount_cents for b in account.broker_totals]


@settings(max_examples=100, deadline=None)
@given(doc=BROKER)
def test_a_brokers_statement_writes_the_models_totals_and_grand_total(doc):
    root = etree.fromstring(to_xml(doc))
    nodes = root.findall("{*}BrokerStatement/{*}ClientAccount")
    assert len(nodes) == len(doc.accounts)
    for node, account in zip(nodes, doc.accounts, strict=True):
        account_totals(node, account)
    assert cents(root, "BrokerStatement/GrandTotal") == doc.grand_total_cents
