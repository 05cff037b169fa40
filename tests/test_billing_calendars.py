"""Calendars of one account: its province's holidays for its Daily Notices (D17-R14, decision L16),
and its billing cycle — the calendar month for accounts billed so (D17-R15, R31, decision L17).

Every test runs on SQLite and PostgreSQL; the dates and amounts are worked out in each test.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from core.errors import ConfigError
from ledger.calendar import is_business_day, period_of
from ledger.policy import PROVINCES, Policy, load_policy
from statements import issue_daily_notices, run_statements
from store.ledger import close_period, load_reference
from store.schema import account_period, period_close, program_account

from .ledger_helpers import AT, declare, items, txn
from .statements_helpers import (
    A1,
    A2,
    BROKER,
    C1,
    C2,
    O1,
    POLICY,
    accounts,
    cents,
    setup_statements_world,
    text,
    xml_docs,
)
from .test_cli import carm

SAINT_JEAN = date(2027, 6, 24)  # a Thursday: la Fête nationale du Québec, a holiday in Quebec only


@pytest.fixture
def world(engine):
    setup_statements_world(engine)
    return engine


def _provinces(engine, **by_rm15: str) -> None:
    """Give accounts a province, as `carm reference load` would (a reloaded record replaces the old, L12)."""
    types = {A1: "RPP", A2: "RPP", C1: "BRK", C2: "DIR", O1: "DIR"}
    with engine.begin() as conn:
        report = load_reference(conn, {"program_accounts": [
            {"rm15": rm15, "client_type": types[rm15], "province": province} for rm15, province in by_rm15.items()
        ]})
    assert report.problems == []


def _daily(engine, issue: date, out, policy: Policy = POLICY):
    with engine.begin() as conn:
        return issue_daily_notices(conn, issue, out / issue.isoformat(), policy=policy, formats=("xml",))


def _declaration_totals(dn) -> dict[str, int]:
    """Per RM15 on a notice: the total of its Transactions section."""
    return {rm15: cents(account, "Transactions/Total") for rm15, account in accounts(dn).items()}


# ------------------------------------------------------------------ D17-R14: provincial holidays
def test_the_day_after_saint_jean_baptiste_quebec_accounts_get_no_daily_notice_and_the_next_one_reports_both_days(world, tmp_path):
    """D17-R14, « à moins que le jour précédent fût un jour férié (jour férié provincial ou jour
    férié) »: 2027-06-24 is a holiday in Quebec only.  A1 is in Ontario, C2 and C1 in Quebec, O1
    names no province (the policy's default, Ontario).  Declarations accounted Wed 06-23, Thu 06-24
    and Fri 06-25:

    * issued Thu 06-24 (for 06-23): everyone;
    * issued Fri 06-25 (for 06-24): A1 and O1 only — Quebec's day before was a holiday;
    * issued Sat 06-26 (for 06-25): A1 and O1 with 06-25 alone; C2 and C1 with 06-24 and 06-25
      (ActivityFrom 06-24), and the broker securing C1 likewise.

    Each posting is on exactly one notice: C2's 10.00 + 20.00 + 40.00 = 70.00 over the three days."""
    _provinces(world, **{A1: "ON", C2: "QC", C1: "QC"})
    assert not is_business_day(SAINT_JEAN, POLICY, "QC") and is_business_day(SAINT_JEAN, POLICY, "ON")
    assert is_business_day(SAINT_JEAN, POLICY)  # not a federal holiday: the day itself issues notices
    amounts = {A1: (100_00, 200_00, 400_00), C2: (10_00, 20_00, 40_00), O1: (1_00, 2_00, 4_00)}
    rows, sequence = [], 0
    for rm15, per_day in amounts.items():
        for day, cents_ in zip((23, 24, 25), per_day, strict=True):
            sequence += 1
            rows.append(dict(transaction_number=txn("12001", sequence), rm15=rm15, release_date=f"2027-06-{day}",
                             accounting_date=f"2027-06-{day}", duty=f"{cents_ // 100}.{cents_ % 100:02d}"))
    # C1, in Quebec, has one declaration on the holiday itself, under the broker's security
    rows.append(dict(transaction_number=txn("40001", 1), rm15=C1, asec="40001", broker_bn9=BROKER, release_date="2027-06-24",
                     accounting_date="2027-06-24", duty="30.00"))
    assert declare(world, *rows).problems == []

    thursday = xml_docs(_daily(world, date(2027, 6, 24), tmp_path))
    friday = _daily(world, date(2027, 6, 25), tmp_path)
    saturday = xml_docs(_daily(world, date(2027, 6, 26), tmp_path))

    assert friday.problems == []  # 06-24 is a federal business day: a notice day, just not for Quebec
    friday = xml_docs(friday)
    assert set(thursday) == {A1, C2, O1}
    assert {rm15: _declaration_totals(dn)[rm15] for rm15, dn in thursday.items()} == {A1: 100_00, C2: 10_00, O1: 1_00}
    assert set(friday) == {A1, O1}
    assert {rm15: _declaration_totals(dn)[rm15] for rm15, dn in friday.items()} == {A1: 200_00, O1: 2_00}
    broker_key = BROKER + "40001"
    assert set(saturday) == {A1, C2, O1, C1, broker_key}
    assert {rm15: _declaration_totals(saturday[rm15])[rm15] for rm15 in (A1, C2, O1, C1)} == {
        A1: 400_00, C2: 20_00 + 40_00, O1: 4_00, C1: 30_00}
    windows = {key: (text(dn, "ActivityFrom"), text(dn, "ActivityDate")) for key, dn in saturday.items()}
    assert windows == {A1: ("2027-06-25", "2027-06-25"), O1: ("2027-06-25", "2027-06-25"),
                       C2: ("2027-06-24", "2027-06-25"), C1: ("2027-06-24", "2027-06-25"),
                       broker_key: ("2027-06-24", "2027-06-25")}
    assert _declaration_totals(saturday[broker_key]) == {C1: 30_00}
    # nothing lost, nothing twice: every account's postings of 06-23…06-25, summed over its notices
    for rm15, per_day in amounts.items():
        shown = sum(_declaration_totals(docs[rm15])[rm15] for docs in (thursday, friday, saturday) if rm15 in docs)
        assert shown == sum(per_day), rm15
    # C2's balance on the Saturday notice is what the journal holds at the end of 06-25: 70.00
    assert cents(accounts(saturday[C2])[C2], "ClosingBalance") == 70_00


def test_an_account_without_a_province_follows_the_policys_default(world, tmp_path):
    """Decision L16: an account whose reference data names no province is in the policy's
    `default_province` (Ontario unless configured).  With Quebec as the default, O1 — no province —
    gets no notice on 06-25 and its 06-24 declaration shows on 06-26; A1, given Ontario, is unmoved."""
    _provinces(world, **{A1: "ON"})
    assert declare(world,
                   dict(transaction_number=txn("12001", 1), rm15=O1, release_date="2027-06-24", accounting_date="2027-06-24", duty="5.00"),
                   dict(transaction_number=txn("12001", 2), rm15=A1, release_date="2027-06-24", accounting_date="2027-06-24", duty="7.00"),
                   ).problems == []
    with world.begin() as conn:
        assert conn.execute(select(program_account.c.province).where(program_account.c.rm15 == O1)).scalar_one() is None
    quebec = Policy(default_province="QC")
    friday = xml_docs(_daily(world, date(2027, 6, 25), tmp_path / "qc", quebec))
    saturday = xml_docs(_daily(world, date(2027, 6, 26), tmp_path / "qc", quebec))
    assert set(friday) == {A1} and _declaration_totals(friday[A1]) == {A1: 7_00}
    assert set(saturday) == {O1} and _declaration_totals(saturday[O1]) == {O1: 5_00}
    assert text(saturday[O1], "ActivityFrom") == "2027-06-24"
    # by default (Ontario) O1 is reported on 06-25 like A1
    assert set(xml_docs(_daily(world, date(2027, 6, 25), tmp_path / "on"))) == {A1, O1}


def test_a_province_must_be_one_of_the_thirteen(world):
    """Decision L16: the province is a code of the 13 provinces and territories, as `holidays`
    names them; any other value — lower case, a country, a full name — is refused with the reason,
    and the account's earlier data is kept."""
    assert PROVINCES == ("AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT")
    _provinces(world, **{A1: "NU"})
    with world.begin() as conn:
        report = load_reference(conn, {"program_accounts": [
            {"rm15": A1, "client_type": "RPP", "province": "qc"},
            {"rm15": A2, "client_type": "RPP", "province": "Quebec"},
            {"rm15": C2, "client_type": "DIR", "province": "US"},
        ]})
        assert [(p.where, p.message) for p in report.problems] == [
            ("program_accounts[0]", f"province 'qc' is not one of {', '.join(PROVINCES)}"),
            ("program_accounts[1]", f"province 'Quebec' is not one of {', '.join(PROVINCES)}"),
            ("program_accounts[2]", f"province 'US' is not one of {', '.join(PROVINCES)}"),
        ]
        assert conn.execute(select(program_account.c.province).where(program_account.c.rm15 == A1)).scalar_one() == "NU"


def test_the_default_province_is_checked_when_the_policy_is_read(tmp_path):
    """Decision L16: `default_province` in the policy file is one of the 13 codes, else the policy is refused."""
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text('default_province = "QC"\n')
    bad.write_text('default_province = "Quebec"\n')
    assert Policy().default_province == "ON"
    assert load_policy(good).default_province == "QC"
    with pytest.raises(ConfigError, match="default_province must be one of AB, BC"):
        load_policy(bad)


# ------------------------------------------------------------------ calendar-month accounts
def _close(engine, period: str, calendar_month: bool = False):
    with engine.begin() as conn:
        return close_period(conn, period, policy=POLICY, at=AT, calendar_month=calendar_month)


def _statements(engine, period: str, out, calendar_month: bool = False):
    with engine.begin() as conn:
        report = run_statements(conn, period, out / f"{period}-{calendar_month}", policy=POLICY, formats=("xml",),
                                calendar_month=calendar_month)
    assert report.problems == []
    return xml_docs(report)


def _daily_summary(soa, rm15: str) -> list[tuple[str, int]]:
    """(accounting day, day total) of each day of an account's daily summary."""
    summary = accounts(soa)[rm15].find("{*}DailySummary")
    return [(text(day, "Date"), cents(day, "Total")) for day in summary.findall("{*}Day")]


def test_a_calendar_month_account_is_closed_and_stated_for_the_whole_month_and_an_18th_to_17th_account_is_not(world, tmp_path):
    """D17-R15 ([public] courier LVS / CSA bill by calendar month), decision L17.  A2 is billed by
    calendar month, A1 from the 18th to the 17th; each has declarations under its security 12001
    accounted on 2027-05-20, 05-26 and 05-31 (a Monday):

    * A2's period 2027-05 is 05-01 → 05-31, closed on 06-01, stated on 06-08 (8 days after the end,
      as the 25th is after the 17th); due the 10th weekday after 05-31: 06-01, 02, 03, 04, 07, 08,
      09, 10, 11, 14 → **2027-06-14**.  Its statement holds all three days: 100.00 + 200.00 +
      400.00 = 700.00; its 2027-06 statement opens at 700.00 and repeats none of them.
    * A1's three days fall in its period 2027-06 (05-18 → 06-17), due the 10th weekday after 06-17:
      06-18, 21, 22, 23, 24, 25, 28, 29, 30, 07-01 — Canada Day — so **2027-07-02** (L5); its
      statement of 06-25 holds 1.00 + 2.00 + 4.00 = 7.00.
    * The 18th's close and the 25th's statements leave A2 alone; the 1st's and the 8th's leave A1."""
    with world.begin() as conn:
        assert load_reference(conn, {"program_accounts": [{"rm15": A2, "client_type": "RPP", "calendar_month": True}]}).problems == []
    sequence = 0

    def accounted(day: str, *per_account: tuple[str, str]) -> None:
        nonlocal sequence
        rows = []
        for rm15, duty in per_account:
            sequence += 1
            rows.append(dict(transaction_number=txn("12001", sequence), rm15=rm15, asec="12001", release_date=day,
                             accounting_date=day, duty=duty))
        assert declare(world, *rows).problems == []

    # the standard period 2027-05 (04-18 → 05-17) closes on 05-18 and is stated on 05-25, before
    # any of the postings: neither account has anything on it
    assert _close(world, "2027-05").accounts == 11 - 1  # the world's eleven accounts but A2
    accounted("2027-05-20", (A2, "100.00"), (A1, "1.00"))
    assert not {A1, A2} & set(_statements(world, "2027-05", tmp_path))
    accounted("2027-05-26", (A2, "200.00"), (A1, "2.00"))
    accounted("2027-05-31", (A2, "400.00"), (A1, "4.00"))

    # the declarations' due dates are their periods' (D17-R31)
    assert period_of(date(2027, 5, 31), POLICY, calendar_month=True).due_date == date(2027, 6, 14)
    assert period_of(date(2027, 5, 31), POLICY).due_date == date(2027, 7, 2)

    # 06-01: the calendar month closes, on A2 only
    closed = _close(world, "2027-05", calendar_month=True)
    assert (closed.accounts, closed.already_closed) == (1, False)
    assert _close(world, "2027-05", calendar_month=True).already_closed  # once
    with world.begin() as conn:
        assert conn.execute(select(account_period.c.closing_balance_cents)
                            .where(account_period.c.rm15 == A2)).scalars().all() == [700_00]

    # 06-08: A2's statement of May, all three days, due 06-14
    may = _statements(world, "2027-05", tmp_path, calendar_month=True)
    assert set(may) == {A2}
    soa = may[A2]
    assert (text(soa, "StatementDate"), text(soa, "BillingPeriod/Name"), text(soa, "BillingPeriod/Start"),
            text(soa, "BillingPeriod/End"), text(soa, "PaymentDueDate")) == (
        "2027-06-08", "2027-05", "2027-05-01", "2027-05-31", "2027-06-14")
    assert _daily_summary(soa, A2) == [("2027-05-20", 100_00), ("2027-05-26", 200_00), ("2027-05-31", 400_00)]
    assert cents(accounts(soa)[A2], "TotalPayable") == 700_00

    # 06-18 and 06-25: the 18th → 17th period 2027-06 closes and is stated, A1 alone of the two
    assert _close(world, "2027-06").accounts == 10
    june = _statements(world, "2027-06", tmp_path)
    assert A2 not in june
    soa = june[A1]
    assert (text(soa, "StatementDate"), text(soa, "BillingPeriod/Start"), text(soa, "BillingPeriod/End"),
            text(soa, "PaymentDueDate")) == ("2027-06-25", "2027-05-18", "2027-06-17", "2027-07-02")
    assert _daily_summary(soa, A1) == [("2027-05-20", 1_00), ("2027-05-26", 2_00), ("2027-05-31", 4_00)]
    assert cents(accounts(soa)[A1], "TotalPayable") == 7_00

    # 07-01 and 07-08: A2's June opens at 700.00 and shows none of May's postings again
    _close(world, "2027-06", calendar_month=True)
    soa = _statements(world, "2027-06", tmp_path, calendar_month=True)[A2]
    assert cents(accounts(soa)[A2], "OpeningBalance") == 700_00
    assert _daily_summary(soa, A2) == [] and cents(accounts(soa)[A2], "TotalPayable") == 700_00
    with world.begin() as conn:
        assert conn.execute(select(period_close.c.period, period_close.c.calendar_month)
                            .order_by(period_close.c.period, period_close.c.calendar_month)).all() == [
            ("2027-05", False), ("2027-05", True), ("2027-06", False), ("2027-06", True)]


def test_a_calendar_month_statement_before_its_close_is_flagged(world, tmp_path):
    """D17-R10: the calendar month's statements are flagged until that cycle is closed — the
    18th → 17th close of the same name does not count for it."""
    _close(world, "2027-05")
    with world.begin() as conn:
        report = run_statements(conn, "2027-05", tmp_path, policy=POLICY, formats=("xml",), calendar_month=True)
    assert [(p.code, p.message) for p in report.problems] == [
        ("period-not-closed", "period 2027-05 (calendar month) is not closed: credits are not yet offset (D17-R10)")]


def test_the_published_calendar_of_calendar_month_accounts_is_the_one_close_and_statements_use(tmp_path):
    """D17-R31, decisions L15 and L17: `carm calendar 2027 --calendar-month` gives, for May 2027,
    05-01 → 05-31, closed 06-01 (the day `carm_calendar_month_close` runs, the 1st), stated 06-08
    (`carm_calendar_month_statements`, the 8th), due 06-14 — the dates of the statement above; and
    February, 28 days: closed 03-01, stated 03-08, due the 10th weekday after 02-28 (a Sunday): 03-12.
    Its iCalendar events have UIDs of their own (L17)."""
    run = carm("calendar", "2027", "--calendar-month", "--format", "json", home=tmp_path)
    assert run.returncode == 0, run.stderr
    rows = {row["period"]: row for row in json.loads(run.stdout)}
    assert rows["2027-05"] == {"period": "2027-05", "start": "2027-05-01", "end": "2027-05-31", "close": "2027-06-01",
                               "statement": "2027-06-08", "due": "2027-06-14"}
    assert rows["2027-02"] == {"period": "2027-02", "start": "2027-02-01", "end": "2027-02-28", "close": "2027-03-01",
                               "statement": "2027-03-08", "due": "2027-03-12"}
    assert all(date.fromisoformat(r["close"]).day == 1 and date.fromisoformat(r["statement"]).day == 8 for r in rows.values())
    # subscribed to both calendars, a client keeps both: the calendar-month events have UIDs of their own
    standard = carm("calendar", "2027", "--format", "ics", home=tmp_path).stdout
    monthly = carm("calendar", "2027", "--calendar-month", "--format", "ics", home=tmp_path).stdout
    assert "UID:carm-2027-05-due-en@cbsa-asfc.gc.ca" in standard
    assert "UID:carm-2027-05-calendar-month-due-en@cbsa-asfc.gc.ca" in monthly
    uids = [set(re.findall(r"^UID:(\S+)", ics, re.M)) for ics in (standard, monthly)]
    assert len(uids[0]) == len(uids[1]) == 36 and not uids[0] & uids[1]


def test_an_operator_closes_a_calendar_month_by_hand(tmp_path):
    """`carm period close 2027-05 --calendar-month` closes the calendar-month cycle of the sample
    world, whose accounts are all billed 18th → 17th (no account: nothing offset); again, nothing changes."""
    assert carm("db", "upgrade", home=tmp_path).returncode == 0
    first = carm("period", "close", "2027-05", "--calendar-month", home=tmp_path)
    again = carm("period", "close", "2027-05", "--calendar-month", home=tmp_path)
    assert first.stdout.strip() == "period 2027-05 (calendar month) closed: 0 accounts, 0 offsets (0.00), 0 disbursements (0.00)"
    assert again.stdout.strip() == "period 2027-05 (calendar month) was already closed: nothing changed"


def test_an_account_the_policy_lists_is_billed_by_calendar_month_everywhere(world):
    """Decision L17: `calendar_month_accounts` in the policy bills A2 by calendar month exactly as its
    reference data would — its declaration accounted 2027-05-26 is due 2027-06-14 (the 10th weekday
    after 05-31), not 2027-07-02 (after 06-17), and only the calendar-month close takes it."""
    policy = Policy(calendar_month_accounts=frozenset({A2}))
    assert declare(world, dict(transaction_number=txn("12001", 1), rm15=A2, asec="12001", release_date="2027-05-26",
                               accounting_date="2027-05-26", duty="50.00"), policy=policy).problems == []
    assert [(i.kind, i.due_date, i.balance_cents) for i in items(world, A2)] == [("declaration", date(2027, 6, 14), 50_00)]
    with world.begin() as conn:
        assert close_period(conn, "2027-05", policy=policy, at=AT).accounts == 10
        assert close_period(conn, "2027-05", policy=policy, at=AT, calendar_month=True).accounts == 1
