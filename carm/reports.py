"""Monitoring reports (Annex D), delivered only encrypted to each recipient's registered key.

    send_monitoring_reports   carm reports monitoring --period YYYY-MM [--recipient NAME]

Annex D: « Les Rapports transmis par courriel seront chiffrés. » — the engine never sends
one in clear.  Each registered recipient (`store.monitoring`) names the program account it
asked about and its age X25519 public key; its report (`statements.monitoring`) is built in
memory, encrypted to that key with age (`pyrage`), and only the ciphertext is written, into
the recipient's outbox as `<RM15>-MON-<period>.txt.age`.  Neither the clear text nor any
figure of it is written to disk or to a log.  Only the recipient's private key opens it:
no password travels (the memo's « mot de passe exigé pour déchiffrer le fichier »), and the
engine never holds a private key.

A recipient is refused, with the reason, when it has no registered key, when its key is
not a valid age recipient, or when the account's Daily Notices and Statements of Account
already reach their recipient by EDI (« Les Rapports ne seront pas envoyés aux titulaires de
comptes de douane ayant accès à l'échange de données informatisé (EDI), étant donné qu'ils
reçoivent déjà les AQ et les RC »): in this engine, when that recipient (the holder or its
designated agent, D17-R16) is a trading partner, whose outbox receives them.

Re-running sends nothing new: a delivery is recorded with the SHA-256 of the report before
encryption, and the same report is not encrypted and sent again (age encryption is
randomised: the same report would otherwise land as different bytes each time).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pyrage
import structlog

from ledger.calendar import period_named
from statements.errors import UnknownRecipient
from statements.monitoring import monitoring_report, monitoring_text
from statements.query import Directory
from store.monitoring import MonitoringRecipient, delivered_digest, monitoring_recipients, record_delivery

from .runtime import Runtime

__all__ = ["MonitoringRun", "send_monitoring_reports", "report_file_name"]

log = structlog.get_logger("carm.reports")


@dataclass
class MonitoringRun:
    """What a run did, per recipient: sent (name → file), unchanged (name → file), refused (name → reason)."""

    period: str
    sent: dict[str, str] = field(default_factory=dict)
    unchanged: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"sent {name}: {path} (encrypted)" for name, path in self.sent.items()]
        out += [f"unchanged {name}: {path} was already delivered" for name, path in self.unchanged.items()]
        out += [f"refused {name}: {reason}" for name, reason in self.refused.items()]
        out.append(f"monitoring reports {self.period}: {len(self.sent)} sent, {len(self.unchanged)} unchanged, "
                   f"{len(self.refused)} refused")
        return out


def report_file_name(rm15: str, period: str) -> str:
    return f"{rm15}-MON-{period}.txt.age"


def _refusal(recipient: MonitoringRecipient, directory: Directory, edi_bn9s: set[str]) -> str | pyrage.x25519.Recipient:
    """The recipient's age key, or why nothing may be sent to it."""
    documents_to = directory.recipient_for(recipient.rm15)
    if documents_to.bn9 in edi_bn9s:
        return (f"the Daily Notices and Statements of Account of {recipient.rm15} already go to {documents_to.bn9} by EDI: "
                "no monitoring report (Annex D)")
    if not recipient.age_recipient:
        return "no age public key registered: a monitoring report is only ever sent encrypted (Annex D)"
    try:
        return pyrage.x25519.Recipient.from_str(recipient.age_recipient)
    except pyrage.RecipientError as exc:
        return f"the registered age public key is not valid ({exc})"


def send_monitoring_reports(runtime: Runtime, period: str, *, recipient: str | None = None) -> MonitoringRun:
    """Encrypt and deliver the monitoring report of billing period `period` to every registered recipient
    (or only `recipient`: UnknownRecipient when nobody registered that name)."""
    period_named(period, runtime.policy)  # ValueError for a name that is not a month
    edi_bn9s = {p.business_number for p in runtime.registry() if p.business_number}
    run = MonitoringRun(period)
    with runtime.engine.begin() as conn:
        recipients = monitoring_recipients(conn, recipient)
        if recipient is not None and not recipients:
            raise UnknownRecipient(f"{recipient}: no monitoring report recipient of that name")
        directory = Directory(conn, period_named(period, runtime.policy).end)
        for who in recipients:
            key = _refusal(who, directory, edi_bn9s)
            if isinstance(key, str):
                run.refused[who.name] = key
                log.warning("reports.monitoring_refused", recipient=who.name, rm15=who.rm15, period=period, reason=key)
                continue
            clear = monitoring_text(monitoring_report(conn, who.rm15, period, policy=runtime.policy), who.language).encode("utf-8")
            digest = hashlib.sha256(clear).hexdigest()
            name = report_file_name(who.rm15, period)
            if delivered_digest(conn, who.name, period) == digest:
                run.unchanged[who.name] = f"{who.name}/outbox/{name}"
                continue
            sealed = pyrage.encrypt(clear, [key])
            del clear  # only the ciphertext leaves this function
            runtime.folders.deliver(who.name, name, sealed)
            record_delivery(conn, who.name, period, name, digest, runtime.now())
            run.sent[who.name] = f"{who.name}/outbox/{name}"
            log.info("reports.monitoring_sent", recipient=who.name, rm15=who.rm15, period=period, file=name, bytes=len(sealed))
    return run
