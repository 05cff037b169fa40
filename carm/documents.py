"""Documents for account holders: issued into `$CARM_HOME/documents`, delivered to the partners.

    daily_notices          D17-R14: the Daily Notices issued on a day, then the day's notices e-mailed (G-R1)
    statements_of_account  D17-R15: a period's Statements of Account (the period closed first, idempotently),
                           of the 18th → 17th cycle or of the calendar month (decision L17)

Each document's recipient (the holder or its designated agent, D17-R16) comes with the
document from the statements layer; a recipient that is a trading partner with an SFTP
account gets the XML (under the XSD) and its PDF in its outbox.  The run keeps the XML and
the HTML in `$CARM_HOME/documents/` for the portal; a PDF is drawn from the HTML when it is
delivered or downloaded, and kept in `documents/.pdf-cache/` (decision S12).  Re-running
rewrites nothing and delivers the same bytes (delivery is idempotent).
"""

from __future__ import annotations

from datetime import date

import structlog

from core import clock
from statements import issue_daily_notices, run_statements, send_day_notices
from statements.ondemand import PdfCache
from statements.output import RunReport
from store.ledger import close_period

from .runtime import Runtime

__all__ = ["daily_notices", "statements_of_account", "pdf_cache", "KEPT_FORMATS"]

log = structlog.get_logger("carm.documents")

#: Formats a run writes and keeps; a partner's outbox gets the XML (under the XSD, D17-R16) and the
#: PDF, drawn from the HTML when delivered (decision S12).
KEPT_FORMATS = ("xml", "html")


def pdf_cache(runtime: Runtime) -> PdfCache:
    """Where the PDFs drawn on demand are kept, shared by delivery and the portal."""
    return PdfCache(runtime.settings.documents_dir / ".pdf-cache", runtime.policy.paper)


def _deliver(runtime: Runtime, report: RunReport) -> dict:
    """Put each document into its recipient's outbox when the recipient has an SFTP account: its XML,
    and its PDF drawn from its HTML."""
    by_bn9 = {p.business_number: p for p in runtime.registry() if p.business_number}
    pdfs = pdf_cache(runtime)
    delivered, kept = [], []
    for output in report.outputs:
        if output.format not in KEPT_FORMATS:
            continue
        name = output.path.with_suffix(".pdf").name if output.format == "html" else output.path.name
        partner = by_bn9.get(output.recipient_bn9)
        if partner is None:
            kept.append(name)  # no SFTP account: the portal shows it
            continue
        data = pdfs.pdf_of(output.path) if output.format == "html" else output.path.read_bytes()
        runtime.folders.deliver(partner.sftp_user, name, data)
        delivered.append(f"{partner.sftp_user}/{name}")
    log.info("documents.delivered", doc_type=report.doc_type, label=report.label, delivered=len(delivered), kept_for_portal=len(kept))
    return {"delivered": delivered, "kept_for_portal": kept}


def daily_notices(runtime: Runtime, issue_date: date) -> dict:
    """The Daily Notices issued on `issue_date` (for the business day before), delivered; then the
    day's notices (avis) e-mailed to subscribers, and urgent ones to everyone (G-R1)."""
    settings = runtime.settings
    out = settings.documents_dir / "DN" / issue_date.isoformat()
    with runtime.engine.begin() as conn:
        report = issue_daily_notices(conn, issue_date, out, policy=runtime.policy, formats=KEPT_FORMATS)
        sent = send_day_notices(conn, issue_date, settings.email_outbox, smtp_url=settings.smtp_url, sender=settings.notice_from)
    result = {"summary": report.summary_line(), "problems": [p.message for p in report.problems],
              "notices_emailed": sent.written + sent.unchanged, "notices_not_subscribed": sent.not_subscribed,
              "notice_problems": [str(p) for p in sent.problems]}
    result.update(_deliver(runtime, report))
    return result


def statements_of_account(runtime: Runtime, period: str, calendar_month: bool = False) -> dict:
    """The period's Statements of Account (the period closed first, idempotently), delivered: of the
    accounts billed by calendar month with `calendar_month`, else of those billed 18th → 17th."""
    with runtime.engine.begin() as conn:
        close_period(conn, period, policy=runtime.policy, at=clock.now(), calendar_month=calendar_month)
    out = runtime.settings.documents_dir / "SOA" / period  # the two cycles' statements differ by their date
    with runtime.engine.begin() as conn:
        report = run_statements(conn, period, out, policy=runtime.policy, formats=KEPT_FORMATS, calendar_month=calendar_month,
                                workers=runtime.settings.statement_workers, split_from=runtime.settings.statement_split_from)
    result = {"summary": report.summary_line(), "problems": [p.message for p in report.problems]}
    result.update(_deliver(runtime, report))
    return result
