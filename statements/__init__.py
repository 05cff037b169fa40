"""What account holders and their agents receive: Daily Notices, Statements of
Account, and notices (avis) — D17-R14…R17, R35, G-R1.

Each `carm` command is one call:

    issue_daily_notices(conn, date, out)       carm notices daily --date DATE --out DIR
    run_statements(conn, "YYYY-MM", out)      carm statements run --period YYYY-MM --out DIR
    list_notices(conn, date_from=…, page=…)    carm notices list [--from] [--to] [--page N] [--bn9]
    send_day_notices(conn, date, outbox)       carm notices send --date DATE --outbox DIR
    balance_overview(conn, rm15, as_of)        carm reports balance RM15 --as-of DATE   (statements.overview, D17-R17)
    monitoring_report(conn, rm15, period)      carm reports monitoring --period YYYY-MM (statements.monitoring, Annex D)

Documents are built from the journal (`iter_daily_notices`, `iter_statements`),
written as XML validated against `mappings/*.xsd` (`to_xml`), and rendered
as HTML and PDF in the recipient's language (`render_html`; `pdf.render_pdf`, a module of
its own, decision S14; a PDF drawn from the stored HTML when asked for: `ondemand.PdfCache`,
decision S12). A statements run may be split across worker processes (`workers=`, `parallel`,
decision S11).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Connection

from core.gcpause import collector_for
from core.problems import Problem
from ledger.calendar import period_named
from ledger.policy import Policy

from .daily import activity_window, iter_daily_notices
from .errors import DeliveryError, InvalidDocument, StatementsError
from .model import DailyNotice, Statement
from .notices import (
    NoticeEntry,
    NoticePage,
    SendReport,
    list_notices,
    notice_detail,
    record_relationship_notices,
    render_notice,
    send_notices,
)
from .output import FORMATS, RunReport, emit, log_report
from .parallel import run_split
from .render import render_html
from .soa import iter_statements, run_accounts, statement_problems
from .xml import to_xml

__all__ = [
    "issue_daily_notices", "run_statements", "send_day_notices", "list_notices", "notice_detail",
    "iter_daily_notices", "iter_statements", "to_xml", "render_html", "render_notice",
    "record_relationship_notices", "send_notices",
    "DailyNotice", "Statement", "RunReport", "SendReport", "NoticeEntry", "NoticePage",
    "StatementsError", "InvalidDocument", "DeliveryError", "FORMATS",
]


def issue_daily_notices(
    conn: Connection, issue_date: date, out: Path, *, policy: Policy, formats: tuple[str, ...] = FORMATS
) -> RunReport:
    """Write the Daily Notices issued on `issue_date` (reporting the business day before) into `out`."""
    report = RunReport("DN", issue_date.isoformat())
    if activity_window(issue_date, policy) is None:
        message = f"no daily notice on {issue_date}: the day before is not a business day (D17-R14)"
        report.problems.append(Problem("no-notice-day", message, str(issue_date), "D17-R14"))
        return report
    return emit(iter_daily_notices(conn, issue_date, policy=policy), Path(out), report, formats, paper=policy.paper)


def run_statements(
    conn: Connection, period: str, out: Path, *, policy: Policy, formats: tuple[str, ...] = FORMATS, calendar_month: bool = False,
    workers: int = 1, split_from: int = 1,
) -> RunReport:
    """Write every Statement of Account of billing period `period` (`YYYY-MM`) into `out` — of the
    accounts billed by calendar month with `calendar_month`, else of those billed 18th → 17th — with
    `workers` processes over ranges of accounts (the same files as one process, decision S11) when
    the run has at least `split_from` accounts.

    The garbage collector is paused for the run, as for a posting (decision L30): its records hold
    no reference cycles, and its passes over the documents held for numbering took a fifth of the
    CPU (S14) — unless the run draws PDFs, whose cycles it must collect (`collector_for`)."""
    period_named(period, policy)  # ValueError for a name that is not a month
    label = f"{period} calendar month" if calendar_month else period
    report = RunReport("SOA", label, problems=statement_problems(conn, period, calendar_month))
    accounts = run_accounts(conn, policy, calendar_month) if workers > 1 else ()
    with collector_for(cycles="pdf" in formats):  # fpdf2 leaves cycles
        if len(accounts) >= max(2, split_from):
            run_split(conn, period, Path(out), report, accounts, policy=policy, formats=formats, paper=policy.paper,
                      calendar_month=calendar_month, workers=workers)
            log_report(report)
            return report
        documents = iter_statements(conn, period, policy=policy, calendar_month=calendar_month)
        return emit(documents, Path(out), report, formats, paper=policy.paper)


def send_day_notices(
    conn: Connection, day: date, outbox: Path, *, smtp_url: str | None = None, sender: str | None = None
) -> SendReport:
    """Record the day's relationship-change notices, then e-mail the day's notices into `outbox`
    (and to the SMTP server at `smtp_url` when given)."""
    record_relationship_notices(conn, day)
    return send_notices(conn, Path(outbox), date_from=day, smtp_url=smtp_url, sender=sender)
