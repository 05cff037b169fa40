"""The monitoring report (rapport de surveillance) of Annex D — D17-R17.

A holder without EDI asks for it for its program account (« Svp de s'assurer d'inclure
votre numéro d'entreprise avec identificateur de compte RM (NE 15) »), to do what §14 asks
of every holder: « surveiller le solde de leur compte de douane » and « surveiller
l'activité de leur compte de douane ».  One report per account and billing period (the
account's, as its Statement of Account has it) says:

* the balance at the start of the period;
* every movement of the period (date, type, reference, description, amount);
* the balance at the end of the period (start + movements);
* the declarations still open at the end of the period, with due date and status, what is
  overdue then, and whether the account is in good standing (D17-R36).

It is plain UTF-8 text in the recipient's language.  This module only builds the text, in
memory: it is never written anywhere in clear (the application encrypts it, `carm.reports`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from ledger.calendar import Period, period_named
from ledger.policy import Policy
from store.schema import program_account

from .errors import UnknownAccount
from .i18n import describe, long_date, money, report_label, type_label
from .model import DocumentLine
from .overview import BalanceOverview, balance_overview
from .query import balances_before, lines_between
from .render import _ref

__all__ = ["MonitoringReport", "monitoring_report", "monitoring_text"]


@dataclass(frozen=True, slots=True)
class MonitoringReport:
    """One program account's monitoring report for one billing period.

    Attributes:
        period: the account's billing period.
        opening_cents: the balance at the start of the period.
        activity: every movement dated in the period, in journal order.
        overview: the balance overview at the end of the period (its open declarations, what is overdue).
    """

    period: Period
    opening_cents: int
    activity: tuple[DocumentLine, ...]
    overview: BalanceOverview

    @property
    def rm15(self) -> str:
        return self.overview.holder.rm15 or ""

    @property
    def closing_cents(self) -> int:
        return self.opening_cents + sum(line.amount_cents for line in self.activity)


def monitoring_report(conn: Connection, rm15: str, period_name: str, *, policy: Policy) -> MonitoringReport:
    """The monitoring report of `rm15` for billing period `period_name` (`YYYY-MM`), from the journal."""
    row = conn.execute(select(program_account.c.calendar_month).where(program_account.c.rm15 == rm15)).first()
    if row is None:
        raise UnknownAccount(f"{rm15}: no such program account")
    period = period_named(period_name, policy, bool(row.calendar_month) or rm15 in policy.calendar_month_accounts)
    opening = sum(balances_before(conn, [rm15], None, period.start).get(rm15, {}).values())
    activity = lines_between(conn, rm15, rm15, period.start, period.end).get(rm15, [])
    return MonitoringReport(period, opening, tuple(activity), balance_overview(conn, rm15, period.end))


def monitoring_text(report: MonitoringReport, language: str) -> str:
    """The report as the recipient reads it, in `language` (`en` or `fr`)."""
    lang = language
    ov, period = report.overview, report.period
    colon = " :" if lang == "fr" else ":"  # French puts a space before the colon
    range_ = report_label("period_range", lang, start=long_date(period.start, lang), end=long_date(period.end, lang))
    lines = [
        report_label("MON", lang),
        f"{report_label('account', lang)}{colon} {report.rm15} — {ov.holder.name}",
        f"{report_label('period', lang)}{colon} {period.name} ({range_})",
        f"{report_label('payment_due_date', lang)}{colon} {long_date(period.due_date, lang)}",
        "",
        f"{report_label('opening', lang)}{colon} {money(report.opening_cents, lang)}",
        f"{report_label('activity', lang)}{colon}",
    ]
    for line in report.activity:
        fields = (line.date.isoformat(), type_label(line.type, lang), _ref(line), describe(line, lang), money(line.amount_cents, lang))
        lines.append("  " + "  ".join(f for f in fields if f))
    if not report.activity:
        lines.append("  " + report_label("no_activity", lang))
    lines += [f"{report_label('closing', lang)}{colon} {money(report.closing_cents, lang)}", "",
              f"{report_label('open_at_end', lang)}{colon}"]
    open_declarations = [d for d in ov.declarations if d.open_cents]
    for d in open_declarations:
        due = f"{report_label('col_due', lang)} {d.due_date.isoformat()}" if d.due_date else ""
        fields = (d.transaction_number, due, report_label(f"status_{d.status.value}", lang), money(d.open_cents, lang))
        lines.append("  " + "  ".join(f for f in fields if f))
    if not open_declarations:
        lines.append("  " + report_label("none", lang))
    lines += [
        f"{report_label('overdue', lang)}{colon} {money(ov.overdue_cents, lang)}",
        report_label("good_standing" if ov.overdue_cents == 0 else "not_good_standing", lang),
    ]
    return "\n".join(lines) + "\n"
