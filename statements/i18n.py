"""Words and numbers in the recipient's language (G-R1: English or French).

Amounts use Babel's Canadian locales in accounting format: `$1,234.56` and
`($1,234.56)` in English, `1 234,56 $` and `(1 234,56 $)` in French (the
spaces are no-break spaces, U+00A0, as the fr_CA locale writes them) — a
credit is shown in brackets (D17-R15 box I).  Money never passes through a
float: cents become a `Decimal` with two places.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date

__all__ = ["money", "long_date", "label", "LABELS", "LOCALES", "component_label", "type_label", "describe",
           "REPORT_LABELS", "report_label"]

LOCALES = {"en": "en_CA", "fr": "fr_CA"}


@lru_cache(maxsize=4)
def _currency_format(language: str):
    locale = Locale.parse(LOCALES[language])
    return locale, locale.currency_formats["accounting"]


@lru_cache(maxsize=65536)  # statements repeat the same amounts (0.00 above all); Babel is the hot spot
def money(cents: int, language: str) -> str:
    """Integer cents as the language writes Canadian dollars, credits in brackets."""
    locale, pattern = _currency_format(language)
    return pattern.apply(Decimal(cents).scaleb(-2), locale, currency="CAD", currency_digits=True)


def long_date(day: date, language: str) -> str:
    """`December 1, 2026` / `1er décembre 2026` (French writes the first of a month as an ordinal)."""
    text = format_date(day, "long", locale=LOCALES[language])
    if language == "fr" and day.day == 1 and text.startswith("1 "):
        text = "1er" + text[1:]
    return text


LABELS: dict[str, dict[str, str]] = {
    "en": {
        "DN": "Daily notice",
        "SOA": "Statement of account",
        "document": "Document",
        "recipient": "Recipient",
        "importer": "Importer",
        "broker": "Broker",
        "program_account": "Program account",
        "security_account": "Security account",
        "issue_date": "Issue date",
        "activity_date": "Activity of",
        "activity_from": "Postings dated from",
        "statement_date": "Statement date",
        "billing_period": "Billing period",
        "payment_due_date": "Payment due date",
        "account": "Account",
        "transactions": "Transactions",
        "other_transactions": "Other transactions",
        "under_review": "Under review",
        "net_change": "Net change",
        "closing_balance": "Balance at the end of the day",
        "opening_balance": "Opening balance (D)",
        "daily_summary": "Daily summary of declarations due {date}",
        "other_items": "Other items with their own due dates",
        "payments": "Payments, credits and offsets",
        "interest": "Interest",
        "penalties": "Penalties",
        "fees": "Fees",
        "total_payable": "Total payable (I)",
        "importer_total": "Importer total payable",
        "broker_total": "Broker total payable — {name} ({asec})",
        "not_in_good_standing": "Account not in good standing since {date} (D17-R38)",
        "release_hold": "Further release of goods may be refused (Customs Act, s. 97.25)",
        "pay_at_release": "Duties and taxes on goods released are due at release",
        "security_claim": "Claimed against security account {asec}",
        "grand_total": "Grand total",
        "total": "Total",
        "none": "Nothing to report.",
        "count": "Declarations",
        "col_date": "Date",
        "col_type": "Type",
        "col_ref": "Transaction / reference",
        "col_desc": "Description",
        "col_due": "Due date",
        "col_status": "Status",
        "col_amount": "Amount",
        "status_O": "O",
        "status_note": "Status O: offset. Amounts in brackets are credits.",
        "period_range": "{start} to {end}",
        "page": "Page",
    },
    "fr": {
        "DN": "Avis quotidien",
        "SOA": "Relevé de compte",
        "document": "Document",
        "recipient": "Destinataire",
        "importer": "Importateur",
        "broker": "Courtier",
        "program_account": "Compte de programme",
        "security_account": "Compte de garantie",
        "issue_date": "Date d'émission",
        "activity_date": "Activité du",
        "activity_from": "Inscriptions datées à partir du",
        "statement_date": "Date du relevé",
        "billing_period": "Période de facturation",
        "payment_due_date": "Date d'échéance du paiement",
        "account": "Compte",
        "transactions": "Transactions",
        "other_transactions": "Autres transactions",
        "under_review": "En cours d'examen",
        "net_change": "Variation nette",
        "closing_balance": "Solde à la fin de la journée",
        "opening_balance": "Solde d'ouverture (D)",
        "daily_summary": "Sommaire quotidien des déclarations exigibles le {date}",
        "other_items": "Autres éléments et leurs propres dates d'échéance",
        "payments": "Paiements, crédits et compensations",
        "interest": "Intérêts",
        "penalties": "Sanctions",
        "fees": "Frais",
        "total_payable": "Total à payer (I)",
        "importer_total": "Total à payer par l'importateur",
        "broker_total": "Total à payer par le courtier — {name} ({asec})",
        "not_in_good_standing": "Compte non en règle depuis le {date} (D17-R38)",
        "release_hold": "Toute autre mainlevée des marchandises peut être refusée (Loi sur les douanes, par. 97.25)",
        "pay_at_release": "Les droits et taxes sont exigibles au moment de la mainlevée",
        "security_claim": "Réclamé sur la garantie du compte de garantie {asec}",
        "grand_total": "Total général",
        "total": "Total",
        "none": "Rien à signaler.",
        "count": "Déclarations",
        "col_date": "Date",
        "col_type": "Type",
        "col_ref": "Transaction / référence",
        "col_desc": "Description",
        "col_due": "Échéance",
        "col_status": "État",
        "col_amount": "Montant",
        "status_O": "O",
        "status_note": "État O : compensation. Les montants entre parenthèses sont des crédits.",
        "period_range": "du {start} au {end}",
        "page": "Page",
    },
}

_TYPES = {
    "en": {
        "DECLARATION": "Declaration", "REASSESSMENT": "Reassessment (B2)", "PAYMENT": "Payment",
        "CREDIT": "Credit (refund)", "OFFSET": "Offset", "DISBURSEMENT": "Disbursement",
        "INTEREST": "Interest", "PENALTY": "Penalty", "FEE": "Fee", "CORRECTION": "Correction",
    },
    "fr": {
        "DECLARATION": "Déclaration", "REASSESSMENT": "Réévaluation (B2)", "PAYMENT": "Paiement",
        "CREDIT": "Crédit (remboursement)", "OFFSET": "Compensation", "DISBURSEMENT": "Décaissement",
        "INTEREST": "Intérêts", "PENALTY": "Sanction", "FEE": "Frais", "CORRECTION": "Correction",
    },
}
_COMPONENTS = {
    "en": {"duty": "Duty", "sima": "SIMA duty", "excise_duty": "Excise duty", "excise_tax": "Excise tax", "gst": "GST"},
    "fr": {"duty": "Droits de douane", "sima": "Droits LMSI", "excise_duty": "Droits d'accise", "excise_tax": "Taxe d'accise", "gst": "TPS"},
}
_KINDS = {
    "en": {"payment": "unapplied payment", "interim": "interim payment", "credit": "refund", "interest": "interest",
           "penalty": "late-payment penalty", "fee": "administrative fee", "adjustment": "B2 reassessment"},
    "fr": {"payment": "paiement non appliqué", "interim": "paiement provisoire", "credit": "remboursement", "interest": "intérêts",
           "penalty": "sanction pour paiement en retard", "fee": "frais administratifs", "adjustment": "réévaluation B2"},
}


def label(key: str, language: str, **values: str) -> str:
    text = LABELS[language][key]
    return text.format(**values) if values else text


def type_label(code: str, language: str) -> str:
    return _TYPES[language].get(code, code)


def component_label(code: str | None, language: str) -> str:
    return _COMPONENTS[language].get(code or "", code or "")


def describe(line, language: str) -> str:
    """What a line is about, in the language: built from its codes, not the ledger's English text."""
    if line.kind in ("declaration", "adjustment", "credit") and line.component:
        what = component_label(line.component, language)
        if line.kind != "declaration":
            what = f"{_KINDS[language][line.kind]} — {what}"
        return what
    if line.kind == "payment":
        return _KINDS[language]["interim" if "interim" in line.description else "payment"]
    if line.kind in _KINDS[language]:
        text = _KINDS[language][line.kind]
        return text[0].upper() + text[1:]
    return line.description


#: Words of the reports an account holder asks for (D17-R17): the balance overview and the monitoring report.
REPORT_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "BAO": "Importer account balance overview",
        "MON": "Monitoring report",
        "as_of": "As of the end of",
        "declarations": "Declarations",
        "other_open_items": "Other open items",
        "col_transaction": "Transaction / component",
        "col_accounted": "Accounted",
        "col_charged": "Charged",
        "col_paid": "Paid",
        "col_open": "Open",
        "declarations_open": "Open on declarations",
        "others_open": "Other open items",
        "balance": "Account balance",
        "overdue": "Overdue",
        "good_standing": "The account is in good standing.",
        "not_good_standing": "The account is not in good standing: a debt is overdue.",
        "paid_note": "Paid: payments, credits and offsets taken off the declaration. Amounts in brackets are credits.",
        "period": "Period",
        "opening": "Balance at the start of the period",
        "activity": "Activity of the period",
        "closing": "Balance at the end of the period",
        "open_at_end": "Open declarations at the end of the period",
        "no_activity": "No activity.",
        "status_PAID": "Paid",
        "status_PARTLY_PAID": "Partly paid",
        "status_NOT_YET_DUE": "Not yet due",
        "status_OVERDUE": "Overdue",
        "status_UNDER_REVIEW": "Under review",
        "status_CREDIT": "Credit",
    },
    "fr": {
        "BAO": "Aperçu du solde du compte de l'importateur",
        "MON": "Rapport de surveillance",
        "as_of": "À la fin du",
        "declarations": "Déclarations en détail",
        "other_open_items": "Autres éléments ouverts",
        "col_transaction": "Transaction / élément",
        "col_accounted": "Déclarée le",
        "col_charged": "Exigé",
        "col_paid": "Payé",
        "col_open": "Solde",
        "declarations_open": "Solde des déclarations",
        "others_open": "Autres éléments ouverts",
        "balance": "Solde du compte",
        "overdue": "En souffrance",
        "good_standing": "Le compte est en règle.",
        "not_good_standing": "Le compte n'est pas en règle : une dette est en souffrance.",
        "paid_note": "Payé : paiements, crédits et compensations portés à la déclaration. Les montants entre parenthèses sont des crédits.",
        "period": "Période",
        "opening": "Solde au début de la période",
        "activity": "Activité de la période",
        "closing": "Solde à la fin de la période",
        "open_at_end": "Déclarations ouvertes à la fin de la période",
        "no_activity": "Aucune activité.",
        "status_PAID": "Payée",
        "status_PARTLY_PAID": "Partiellement payée",
        "status_NOT_YET_DUE": "Pas encore exigible",
        "status_OVERDUE": "En souffrance",
        "status_UNDER_REVIEW": "En cours d'examen",
        "status_CREDIT": "Crédit",
    },
}


def report_label(key: str, language: str, **values: str) -> str:
    """A word of the holder's reports (`REPORT_LABELS`); the documents' own words (`LABELS`) otherwise."""
    text = REPORT_LABELS[language].get(key) or LABELS[language][key]
    return text.format(**values) if values else text
