"""Notices (avis): worded in the holder's language, listed 10 per page, sent by e-mail (G-R1).

The ledger records each notice once, with the facts it states as JSON
(`ledger.model.Notice`, written by `store.journal`): payment applied, set aside or refused,
arrears, disbursement, security exceeded.  This module adds the notices of
relationship changes (decision L12: reference data is state, so a change is
found by comparing each relationship with what its last notice stated), and:

* `render_notice` — subject and body in the business's preferred language;
* `list_notices` — the portal list: date, account, type, subject, newest
  first, filtered by a date range and optionally a business, 10 per page;
* `send_notices` — one `.eml` per notice into an outbox folder, for
  businesses subscribed to e-mail notices, and for urgent notices always
  (G-R1).  Given an SMTP URL (`CARM_SMTP_URL`) the message is also handed to that
  server — once: a notice whose `.eml` is already in the outbox with the same
  bytes counts as sent.  Daily notices and statements never go by e-mail
  (D17-R16).
"""

from __future__ import annotations

import hashlib
import json
import smtplib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import structlog
from sqlalchemy import Connection, func, select

from core.clock import EASTERN
from core.files import write_if_changed
from core.problems import Problem
from ledger.model import Notice, NoticeKind
from store.journal import record_notices
from store.schema import business, notice, portal_user, relationship, relationship_account

from .errors import DeliveryError
from .i18n import long_date, money

__all__ = [
    "NoticeEntry", "NoticePage", "SendReport", "render_notice", "list_notices", "notice_detail",
    "record_relationship_notices", "send_notices", "PAGE_SIZE", "RELATIONSHIP_KINDS",
]

log = structlog.get_logger("statements.notices")

PAGE_SIZE = 10  # G-R1
RELATIONSHIP_KINDS = (NoticeKind.RELATIONSHIP_GRANTED, NoticeKind.RELATIONSHIP_CHANGED, NoticeKind.RELATIONSHIP_ENDED)
DEFAULT_SENDER = "avis-notices@carm.invalid"

_TYPES = {
    "en": {
        "payment_applied": "Payment applied", "payment_set_aside": "Payment set aside", "payment_refused": "Payment refused",
        "arrears": "Arrears", "disbursement": "Disbursement", "security_exceeded": "Security exceeded",
        "relationship_granted": "Relationship granted", "relationship_changed": "Relationship changed",
        "relationship_ended": "Relationship ended", "suspense_applied": "Payment applied from suspense",
        "suspense_returned": "Payment returned",
        "correction_approved": "Correction made", "correction_rejected": "Correction refused",
        "standing_measures": "Account not in good standing", "standing_restored": "Account in good standing",
        "cheque_returned": "Cheque returned",
    },
    "fr": {
        "payment_applied": "Paiement appliqué", "payment_set_aside": "Paiement mis de côté", "payment_refused": "Paiement refusé",
        "arrears": "Arriérés", "disbursement": "Décaissement", "security_exceeded": "Garantie dépassée",
        "relationship_granted": "Relation accordée", "relationship_changed": "Relation modifiée",
        "relationship_ended": "Relation terminée", "suspense_applied": "Paiement appliqué après mise de côté",
        "suspense_returned": "Paiement retourné",
        "correction_approved": "Correction apportée", "correction_rejected": "Correction refusée",
        "standing_measures": "Compte non en règle", "standing_restored": "Compte en règle",
        "cheque_returned": "Chèque retourné",
    },
}

_SUBJECTS = {
    "en": {
        "payment_applied": "Your payment {trace} was applied",
        "payment_set_aside": "Part of your payment {trace} was set aside",
        "payment_refused": "Your payment {trace} was refused",
        "arrears": "Arrears notice for account {account}",
        "disbursement": "Disbursement of {amount} from account {account}",
        "security_exceeded": "Security account {asec}: security exceeded",
        "relationship_granted": "Relationship with {other} granted",
        "relationship_changed": "Relationship with {other} changed",
        "relationship_ended": "Relationship with {other} ended",
        "suspense_applied": "Your payment {trace}, line {line}, was applied to account {target}",
        "suspense_returned": "Your payment {trace}, line {line}, was returned to your financial institution",
        "correction_approved": "Your correction request {request} was accepted",
        "correction_rejected": "Your correction request {request} was refused",
        "standing_measures": "Account {account} is not in good standing: release of goods may be refused",
        "standing_restored": "Account {account} is back in good standing",
        "cheque_returned": "Your cheque {trace} was returned by your bank",
    },
    "fr": {
        "payment_applied": "Votre paiement {trace} a été appliqué",
        "payment_set_aside": "Une partie de votre paiement {trace} a été mise de côté",
        "payment_refused": "Votre paiement {trace} a été refusé",
        "arrears": "Avis d'arriérés pour le compte {account}",
        "disbursement": "Décaissement de {amount} du compte {account}",
        "security_exceeded": "Compte de garantie {asec} : garantie dépassée",
        "relationship_granted": "Relation avec {other} accordée",
        "relationship_changed": "Relation avec {other} modifiée",
        "relationship_ended": "Relation avec {other} terminée",
        "suspense_applied": "Votre paiement {trace}, ligne {line}, a été appliqué au compte {target}",
        "suspense_returned": "Votre paiement {trace}, ligne {line}, a été retourné à votre institution financière",
        "correction_approved": "Votre demande de correction {request} a été acceptée",
        "correction_rejected": "Votre demande de correction {request} a été refusée",
        "standing_measures": "Le compte {account} n'est pas en règle : la mainlevée des marchandises peut être refusée",
        "standing_restored": "Le compte {account} est de nouveau en règle",
        "cheque_returned": "Votre chèque {trace} a été retourné par votre banque",
    },
}

_BODIES = {
    "en": {
        "payment_applied": "Your payment {trace} of {total}, received for {date}, was accepted.\n"
                           "Applied to amounts owing: {applied}\nLeft on the account as a credit: {credit}\n",
        "payment_set_aside": "Your payment {trace} of {total}, received for {date}, was accepted in part.\n"
                             "Applied to amounts owing: {applied}\nLeft on the account as a credit: {credit}\n"
                             "Set aside (held until resolved): {suspense}\nReasons:\n{findings}",
        "payment_refused": "Your payment {trace} of {total}, received for {date}, was refused: none of it was taken.\n"
                           "Your financial institution returns the funds, or sends the payment again once corrected.\n"
                           "Reasons:\n{findings}",
        "suspense_applied": "The amount of {amount} your payment {trace} (line {line}, received for {payment_day}) carried, held until "
                            "its account was known, was applied to account {target} on {date}.\n"
                            "Applied to amounts owing: {applied}\nLeft on the account as a credit: {credit}\n",
        "suspense_returned": "The amount of {amount} your payment {trace} (line {line}, received for {payment_day}) carried for "
                             "account {target} could not be applied and was returned to your financial institution on {date}.\n"
                             "Reason: {reason}\n",
        "cheque_returned": "Your cheque {trace} of {amount}, received for {payment_day}, was returned by your bank on {date}: "
                           "the amounts it paid are owed again.\nReason: {reason}\nReturned cheque fee: {fee}\n",
        "arrears": "Account {account} is in arrears: the balance due {due_date} is still unpaid.\n"
                   "Overdue amount: {overdue}\nPenalties: {penalties}\nInterest to {as_of}: {interest}\nTotal: {total}\n"
                   "Pay the total now to avoid further interest and collection action.\n",
        "disbursement": "A credit balance of {amount} on account {account} was paid out at the close of period {period} ({why}).\n",
        "security_exceeded": "On {as_of} the amounts secured by security account {asec} ({utilization}) exceeded the security "
                             "posted ({security}). Make an interim payment or increase the security.\n",
        "relationship": "{provider} ({provider_bn9}) {verb} to act for {client} ({client_bn9}).\n"
                        "Scope: {scope}\nFrom {start}{until}.\n",
        "correction_approved": "Your request {request} to correct the {what} charged by {entry} was accepted on {date}.\n"
                               "Corrected: {amount}\nTaken off the amount owing: {still_open}\nCredited to the account (already paid): {credit}\n"
                               "Reason given: {reason}\n",
        "correction_rejected": "Your request {request} to correct {amount} of the {what} charged by {entry} was refused on {date}.\n"
                               "Reason: {reason}\nThe balance of your statement of account remains due on its due date.\n",
        "standing_measures": "Since {since}, account {account} is not in good standing: the balance due {due_date} is still unpaid "
                             "({overdue} overdue on the account).\nUntil the account is brought current:\n"
                             "- further release of goods may be refused (Customs Act, s. 97.25);\n"
                             "- duties and taxes on goods released are due at release;\n{claims}"
                             "Pay the overdue amount to bring the account current.\n",
        "standing_claim": "- {amount} is claimed against security account {asec}.\n",
        "standing_restored": "Account {account} was found brought current on {ended_on}: the measures taken since {since} are lifted. "
                             "Goods are released as before, and new declarations are due on the statement's due date.\n{claims}",
        "standing_withdrawn": "- the claim against security account {asec} is withdrawn.\n",
    },
    "fr": {
        "payment_applied": "Votre paiement {trace} de {total}, reçu pour le {date}, a été accepté.\n"
                           "Appliqué aux montants dus : {applied}\nLaissé au compte comme crédit : {credit}\n",
        "payment_set_aside": "Votre paiement {trace} de {total}, reçu pour le {date}, a été accepté en partie.\n"
                             "Appliqué aux montants dus : {applied}\nLaissé au compte comme crédit : {credit}\n"
                             "Mis de côté (retenu jusqu'à résolution) : {suspense}\nMotifs :\n{findings}",
        "payment_refused": "Votre paiement {trace} de {total}, reçu pour le {date}, a été refusé : aucun montant n'a été prélevé.\n"
                           "Votre institution financière retourne les fonds, ou envoie de nouveau le paiement une fois corrigé.\n"
                           "Motifs :\n{findings}",
        "suspense_applied": "Le montant de {amount} que portait votre paiement {trace} (ligne {line}, reçu pour le {payment_day}), retenu "
                            "en attendant que son compte soit connu, a été appliqué au compte {target} le {date}.\n"
                            "Appliqué aux montants dus : {applied}\nLaissé au compte comme crédit : {credit}\n",
        "suspense_returned": "Le montant de {amount} que portait votre paiement {trace} (ligne {line}, reçu pour le {payment_day}) pour "
                             "le compte {target} n'a pu être appliqué et a été retourné à votre institution financière le {date}.\n"
                             "Motif : {reason}\n",
        "cheque_returned": "Votre chèque {trace} de {amount}, reçu pour le {payment_day}, a été retourné par votre banque le {date} : "
                           "les montants qu'il a payés sont de nouveau dus.\nMotif : {reason}\nFrais de chèque retourné : {fee}\n",
        "arrears": "Le compte {account} est en souffrance : le solde exigible le {due_date} n'est toujours pas payé.\n"
                   "Montant en souffrance : {overdue}\nSanctions pour paiement en retard : {penalties}\n"
                   "Intérêts au {as_of} : {interest}\nTotal : {total}\n"
                   "Payez le total dès maintenant pour éviter d'autres intérêts et des mesures de recouvrement.\n",
        "disbursement": "Un solde créditeur de {amount} au compte {account} a été décaissé à la clôture de la période {period} ({why}).\n",
        "security_exceeded": "Le {as_of}, les montants garantis par le compte de garantie {asec} ({utilization}) dépassaient la "
                             "garantie déposée ({security}). Faites un paiement provisoire ou augmentez la garantie.\n",
        "relationship": "{provider} ({provider_bn9}) {verb} à agir pour {client} ({client_bn9}).\n"
                        "Portée : {scope}\nDu {start}{until}.\n",
        "correction_approved": "Votre demande {request} de correction ({what}, écriture {entry}) a été acceptée le {date}.\n"
                               "Montant corrigé : {amount}\nRetiré des montants dus : {still_open}\n"
                               "Porté au crédit du compte (déjà payé) : {credit}\nJustification : {reason}\n",
        "correction_rejected": "Votre demande {request} de correction de {amount} ({what}, écriture {entry}) a été refusée le {date}.\n"
                               "Motif : {reason}\nLe solde de votre relevé de compte demeure exigible à la date d'échéance.\n",
        "standing_measures": "Depuis le {since}, le compte {account} n'est pas en règle : le solde exigible le {due_date} n'est toujours "
                             "pas payé ({overdue} en souffrance au compte).\nJusqu'à ce que le compte soit régularisé :\n"
                             "- toute autre mainlevée des marchandises peut être refusée (Loi sur les douanes, par. 97.25);\n"
                             "- les droits et taxes des marchandises sont exigibles au moment de la mainlevée;\n{claims}"
                             "Payez le montant en souffrance pour régulariser le compte.\n",
        "standing_claim": "- un montant de {amount} est réclamé sur la garantie du compte de garantie {asec}.\n",
        "standing_restored": "Le compte {account} a été trouvé régularisé le {ended_on} : les mesures prises depuis le {since} sont levées. "
                             "La mainlevée reprend comme avant et les nouvelles déclarations sont exigibles à la date d'échéance du relevé.\n"
                             "{claims}",
        "standing_withdrawn": "- la réclamation sur la garantie du compte de garantie {asec} est retirée.\n",
    },
}
_WORDS = {
    "en": {"granted": "is authorized", "changed": "is authorized, with changes,", "ended": "is no longer authorized",
           "business": "business management (all program accounts)", "program": "program management: {accounts}",
           "until": " to {end}", "open": ", with no end date", "none": "(none)", "removed": "removed",
           "above threshold": "above the threshold", "two consecutive months in credit": "two consecutive months in credit",
           "penalty": "late-payment penalty", "interest": "interest", "fee": "administrative fee"},
    "fr": {"granted": "est autorisé", "changed": "est autorisé, avec des changements,", "ended": "n'est plus autorisé",
           "business": "gestion d'entreprise (tous les comptes de programme)", "program": "gestion de programme : {accounts}",
           "until": " au {end}", "open": ", sans date de fin", "none": "(aucun)", "removed": "supprimée",
           "above threshold": "au-dessus du seuil", "two consecutive months in credit": "deux mois consécutifs en crédit",
           "penalty": "sanctions pour paiement en retard", "interest": "intérêts", "fee": "frais administratifs"},
}


@dataclass(frozen=True, slots=True)
class NoticeEntry:
    """One notice as a business sees it (G-R1).

    Attributes:
        id / key: the ledger's notice.
        date / bn9 / account: when, whose, about which account (RM15, security account or BN9).
        kind / type / urgent: the kind, its name in the language, always sent or not.
        language / subject / body: the wording.
    """

    id: int
    key: str
    date: date
    bn9: str
    account: str
    kind: str
    type: str
    urgent: bool
    language: str
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class NoticePage:
    entries: tuple[NoticeEntry, ...]
    page: int
    pages: int
    total: int


def _findings(items: list[str], lang: str) -> str:
    return "".join(f"  - {f}\n" for f in items) or f"  {_WORDS[lang]['none']}\n"


def _claims(claims: list[dict], lang: str, template: str) -> str:
    """The claims against security accounts a standing notice states, one line each (D17-R38 a)."""
    return "".join(_BODIES[lang][template].format(amount=money(int(c["claim_cents"]), lang), asec=c["asec"]) for c in claims)


def render_notice(kind: str, data: dict, *, notice_date: date, account: str, language: str) -> tuple[str, str]:
    """(subject, body) of a notice in `language`; an unknown kind is stated plainly, never dropped."""
    lang = language if language in _SUBJECTS else "en"
    m = lambda key: money(int(data.get(key, 0) or 0), lang)
    d = lambda key: long_date(date.fromisoformat(data[key]), lang) if data.get(key) else ""
    values = {
        "trace": data.get("trace", ""), "total": m("total_cents"), "applied": m("applied_cents"), "credit": m("credit_cents"),
        "suspense": m("suspense_cents"), "date": long_date(notice_date, lang), "findings": _findings(data.get("findings", []), lang),
        "account": account, "due_date": d("due_date"), "overdue": m("overdue_cents"), "penalties": m("penalties_cents"),
        "interest": m("interest_cents"), "as_of": d("as_of"), "amount": m("amount_cents"), "period": data.get("period", ""),
        "why": _WORDS[lang].get(data.get("why", ""), data.get("why", "")), "asec": data.get("asec", ""),
        "utilization": m("utilization_cents"), "security": m("security_cents"),
        "line": data.get("line", ""), "target": data.get("account", ""), "payment_day": d("payment_day"), "reason": data.get("reason", ""),
        "request": data.get("request", ""), "entry": data.get("entry", ""), "what": _WORDS[lang].get(data.get("what", ""), data.get("what", "")),
        "still_open": m("still_open_cents"), "since": d("since"), "ended_on": d("ended_on"),
        "claims": _claims(data.get("claims", []), lang, "standing_withdrawn" if kind == NoticeKind.STANDING_RESTORED else "standing_claim"),
        "fee": m("fee_cents"),
    }
    if kind in RELATIONSHIP_KINDS:
        state = data.get("state") or {}
        words = _WORDS[lang]
        scope = state.get("scope")
        values.update(
            other=data.get("other_name", ""), provider=data.get("provider_name", ""), provider_bn9=state.get("provider_bn9", ""),
            client=data.get("client_name", ""), client_bn9=state.get("client_bn9", ""),
            verb=words[kind.split("_", 1)[1]],
            scope=words["removed"] if data.get("removed") else (
                words["business"] if scope == "business"
                else words["program"].format(accounts=", ".join(state.get("accounts", [])) or words["none"])),
            start=long_date(date.fromisoformat(state["start_date"]), lang) if state.get("start_date") else "",
            until=words["until"].format(end=long_date(date.fromisoformat(state["end_date"]), lang)) if state.get("end_date") else words["open"],
        )
        return _SUBJECTS[lang][kind].format(**values), _BODIES[lang]["relationship"].format(**values)
    if kind not in _SUBJECTS[lang]:
        return kind, json.dumps(data, sort_keys=True, indent=2) + "\n"
    return _SUBJECTS[lang][kind].format(**values), _BODIES[lang][kind].format(**values)


def _account_of(row, data: dict) -> str:
    return row.rm15 or data.get("asec") or row.bn9


def _entry(row, language: str) -> NoticeEntry:
    data = json.loads(row.data)
    account = _account_of(row, data)
    subject, body = render_notice(row.kind, data, notice_date=row.notice_date, account=account, language=language)
    lang = language if language in _TYPES else "en"
    return NoticeEntry(
        id=int(row.id), key=row.key, date=row.notice_date, bn9=row.bn9, account=account, kind=row.kind,
        type=_TYPES[lang].get(row.kind, row.kind), urgent=bool(row.urgent), language=lang, subject=subject, body=body,
    )


def _filtered(query, date_from: date | None, date_to: date | None, bn9: str | None):
    if date_from is not None:
        query = query.where(notice.c.notice_date >= date_from)
    if date_to is not None:
        query = query.where(notice.c.notice_date <= date_to)
    if bn9 is not None:
        query = query.where(notice.c.bn9 == bn9)
    return query


def list_notices(
    conn: Connection, *, date_from: date | None = None, date_to: date | None = None, bn9: str | None = None,
    page: int = 1, per_page: int = PAGE_SIZE, language: str | None = None,
) -> NoticePage:
    """One page of notices, newest first, each in its business's language or in `language` when
    given (a portal user's own, G-R1: 10 per page, date-range search)."""
    total = int(conn.execute(_filtered(select(func.count()).select_from(notice), date_from, date_to, bn9)).scalar_one())
    pages = max(1, -(-total // per_page))
    page = max(1, page)
    rows = conn.execute(
        _filtered(
            select(notice, business.c.language).join(business, business.c.bn9 == notice.c.bn9, isouter=True),
            date_from, date_to, bn9,
        )
        .order_by(notice.c.notice_date.desc(), notice.c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return NoticePage(tuple(_entry(r, language or r.language or "en") for r in rows), page, pages, total)


def notice_detail(conn: Connection, notice_id: int, language: str | None = None) -> NoticeEntry | None:
    row = conn.execute(
        select(notice, business.c.language).join(business, business.c.bn9 == notice.c.bn9, isouter=True).where(notice.c.id == notice_id)
    ).first()
    return None if row is None else _entry(row, language or row.language or "en")


# ------------------------------------------------------------------ relationship changes
def _relationship_states(conn: Connection) -> dict[str, dict]:
    accounts: dict[str, list[str]] = {}
    for rid, rm15 in conn.execute(select(relationship_account.c.relationship_id, relationship_account.c.rm15)):
        accounts.setdefault(rid, []).append(rm15)
    return {
        r.id: {
            "client_bn9": r.client_bn9, "provider_bn9": r.provider_bn9, "scope": r.scope,
            "start_date": r.start_date.isoformat(), "end_date": r.end_date.isoformat() if r.end_date else None,
            "accounts": sorted(accounts.get(r.id, [])),
        }
        for r in conn.execute(select(relationship))
    }


def record_relationship_notices(conn: Connection, day: date) -> int:
    """Record, dated `day`, a notice to the client and to the provider of every relationship that
    is new, changed or ended since its last notice (decision L12); the number of changes found.
    Idempotent: the same state gives no new notice."""
    names = dict(conn.execute(select(business.c.bn9, business.c.name)).all())
    last: dict[str, tuple[int, dict]] = {}
    for row in conn.execute(
        select(notice.c.data).where(notice.c.kind.in_(RELATIONSHIP_KINDS)).order_by(notice.c.id)
    ):
        data = json.loads(row.data)
        last[data["relationship_id"]] = (int(data["change"]), data)  # in id order: the newest wins
    current = _relationship_states(conn)
    changes = 0
    for rid in sorted(set(current) | set(last)):
        state = current.get(rid)
        previous = last.get(rid)
        if previous is not None and previous[1].get("state") == state:
            continue
        if state is None:
            if previous is None or previous[1].get("removed"):
                continue
            kind, state, removed = "relationship_ended", previous[1]["state"], True
        else:
            removed = False
            if previous is None:
                kind = "relationship_ended" if state["end_date"] and state["end_date"] < day.isoformat() else "relationship_granted"
            elif state["end_date"] and state["end_date"] != (previous[1].get("state") or {}).get("end_date"):
                kind = "relationship_ended"
            else:
                kind = "relationship_changed"
        change = (previous[0] if previous else 0) + 1
        client, provider = state["client_bn9"], state["provider_bn9"]
        for bn9, other in ((client, provider), (provider, client)):
            record_notices(conn, [Notice(
                f"relationship:{rid}:{change}:{bn9}", day, bn9, None, kind,
                {"relationship_id": rid, "change": change, "state": state, "removed": removed,
                 "client_name": names.get(client, client), "provider_name": names.get(provider, provider),
                 "other_name": names.get(other, other)},
            )])
        changes += 1
    return changes


# ------------------------------------------------------------------ sending
@dataclass
class SendReport:
    """What `send_notices` did.

    Attributes:
        written / unchanged: `.eml` files new or changed / already in the outbox with the same bytes.
        sent: messages handed to the SMTP server.
        not_subscribed: notices kept off e-mail (not urgent, business not subscribed).
        files: the outbox files of the run.
        problems: notices that should have gone and could not (no e-mail address).
    """

    written: int = 0
    unchanged: int = 0
    sent: int = 0
    not_subscribed: int = 0
    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def summary_line(self) -> str:
        return (f"notices: {self.written} e-mails written, {self.unchanged} unchanged, {self.sent} sent by SMTP, "
                f"{self.not_subscribed} not subscribed, {len(self.problems)} problems")


def _message(entry: NoticeEntry, to: str, name: str, sender: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = f"{name} <{to}>" if name else to
    msg["Subject"] = ("[URGENT] " if entry.urgent else "") + entry.subject
    msg["Date"] = format_datetime(datetime.combine(entry.date, time(0, 0), tzinfo=EASTERN))
    digest = hashlib.sha256(entry.key.encode()).hexdigest()[:20]
    msg["Message-ID"] = f"<notice-{digest}@{sender.rsplit('@', 1)[-1]}>"
    msg["X-CARM-Notice"] = f"{entry.kind}; account={entry.account}; urgent={'yes' if entry.urgent else 'no'}"
    if entry.urgent:
        msg["Importance"] = "high"
    account_word = "Compte" if entry.language == "fr" else "Account"
    msg.set_content(f"{entry.type} — {long_date(entry.date, entry.language)}\n{account_word}: {entry.account}\n\n{entry.body}", charset="utf-8")
    msg["Content-Language"] = "fr-CA" if entry.language == "fr" else "en-CA"  # after set_content, which clears Content-*
    return bytes(msg)


def _smtp_send(url: str, sender: str, to: str, data: bytes) -> None:
    parts = urlsplit(url)
    try:
        cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
        with cls(parts.hostname or "localhost", parts.port or (465 if parts.scheme == "smtps" else 25), timeout=30) as server:
            if parts.scheme == "smtp+starttls":
                server.starttls()
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.sendmail(sender, [to], data)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP server {parts.hostname} did not take the notice for {to}: {exc}") from exc


def _portal_subscribers(conn: Connection, bn9s: set[str]) -> dict[str, list]:
    """The portal users of each business who gave an e-mail address: their own subscription and language (G-R1)."""
    out: dict[str, list] = {}
    if bn9s:
        for u in conn.execute(select(portal_user.c.id, portal_user.c.bn9, portal_user.c.username, portal_user.c.email,
                                     portal_user.c.email_notices, portal_user.c.language)
                              .where(portal_user.c.bn9.in_(sorted(bn9s)), portal_user.c.email.is_not(None))
                              .order_by(portal_user.c.id)):
            out.setdefault(u.bn9, []).append(u)
    return out


def _send_to_users(row, users, outbox: Path, report: SendReport, *, smtp_url: str | None, sender: str) -> None:
    """Each portal user of the notice's business gets it in its own language when subscribed, and
    always when it is urgent (« les avis urgents vous seront envoyés quel que soit l'option d'avis
    sélectionnée »); the file name says which user (`…-U<user id>.eml`)."""
    for user in users:
        if not (row.urgent or user.email_notices):
            continue
        data = _message(_entry(row, user.language), user.email, user.username, sender)
        path = outbox / f"{row.bn9}-NOTICE-{row.notice_date:%Y%m%d}-{int(row.id):06d}-U{int(user.id)}.eml"
        report.files.append(path)
        if path.exists() and path.read_bytes() == data:
            report.unchanged += 1
            continue
        if smtp_url:
            _smtp_send(smtp_url, sender, user.email, data)
            report.sent += 1
        write_if_changed(path, data)
        report.written += 1
        log.info("notice.emailed", key=row.key, bn9=row.bn9, user=int(user.id), kind=row.kind, urgent=bool(row.urgent), smtp=bool(smtp_url))


def send_notices(
    conn: Connection, outbox: Path, *, date_from: date, date_to: date | None = None,
    smtp_url: str | None = None, sender: str | None = None,
) -> SendReport:
    """Write one `.eml` per notice dated `date_from`…`date_to` that must go by e-mail (subscribed or
    urgent, G-R1) into `outbox`, named `<BN9>-NOTICE-<YYYYMMDD>-<notice id>.eml`; hand the new ones to
    the SMTP server when `smtp_url` is given."""
    date_to = date_to or date_from
    sender = sender or DEFAULT_SENDER
    outbox.mkdir(parents=True, exist_ok=True)
    report = SendReport()
    rows = conn.execute(
        select(notice, business.c.language, business.c.email, business.c.email_notices, business.c.name.label("business_name"))
        .join(business, business.c.bn9 == notice.c.bn9, isouter=True)
        .where(notice.c.notice_date >= date_from, notice.c.notice_date <= date_to)
        .order_by(notice.c.notice_date, notice.c.id)
    ).all()
    users = _portal_subscribers(conn, {row.bn9 for row in rows})
    for row in rows:
        _send_to_users(row, users.get(row.bn9, ()), outbox, report, smtp_url=smtp_url, sender=sender)
        if not (row.urgent or row.email_notices):
            report.not_subscribed += 1
            continue
        entry = _entry(row, row.language or "en")
        if not row.email:
            report.problems.append(Problem("no-email", f"{'urgent ' if row.urgent else ''}notice {row.key} cannot be e-mailed: "
                                                       f"business {row.bn9} has no e-mail address", row.bn9))
            continue
        data = _message(entry, row.email, row.business_name or "", sender)
        path = outbox / f"{row.bn9}-NOTICE-{row.notice_date:%Y%m%d}-{int(row.id):06d}.eml"
        report.files.append(path)
        if path.exists() and path.read_bytes() == data:
            report.unchanged += 1  # already in the outbox: already sent
            continue
        if smtp_url:  # the server first: a file in the outbox means the notice went
            _smtp_send(smtp_url, sender, row.email, data)
            report.sent += 1
        write_if_changed(path, data)
        report.written += 1
        log.info("notice.emailed", key=row.key, bn9=row.bn9, kind=row.kind, urgent=bool(row.urgent), smtp=bool(smtp_url))
    return report
