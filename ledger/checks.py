"""The checks of a payment that need account data (820 guide "What the engine answers").

Given the `PaymentFacts` the store reads for a file's payments, `account_check` returns
the `edi.advice.Check` that judges each of them:

* a trace number the same FI already posted, or that an earlier set of the same file
  carries → refused, TED 006, not held (decision L10);
* an unknown payer → refused, TED 011; a broker paying without its security account
  number → refused, TED 007; a payer security account that is not the payer's → TED 011;
* per line, set aside (`OTI*IR`, TED 011): an unknown or inactive RM15, an unknown or
  inactive security account, a payer paying an account that is not its own without a
  relationship whose scope covers it on the day the file was received (D17-R3, L6), a
  transaction number (REF*TN) that is not a declaration of the line's account (L23).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date

from core.text import is_digits
from edi.advice import Check, Finding
from edi.payments import Payment

__all__ = ["PaymentFacts", "Relationship", "SetKey", "account_check", "covers", "set_key"]

#: A transaction set, as the `payment` table knows it: (file digest, ISA13, GS06, ST02).
SetKey = tuple[str, str, str, str]


def set_key(payment: Payment) -> SetKey:
    src = payment.source
    return (src.file_digest, src.interchange, src.group, src.set_control)


@dataclass(frozen=True, slots=True)
class Relationship:
    """A provider's authority to act for a client (D17-R3)."""

    client_bn9: str
    provider_bn9: str
    scope: str  # business | program
    start_date: date
    end_date: date | None
    accounts: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What the ledger knows that a file's payments are judged against.

    Attributes:
        businesses: BN9 → role, of the payers named.
        active_brokers: payers that are licensed brokers with an active licence.
        security_accounts: ASEC → (holder BN9, status), of the ASECs named.
        program_accounts: RM15 → status, of the accounts named.
        relationships: those where a payer is the provider.
        posted_traces: (FI, trace) → the set posted under it (refused and duplicate sets take no trace).
        transactions: transaction number → the RM15 it was accounted to, of the numbers the lines name (REF*TN).
    """

    businesses: dict[str, str] = field(default_factory=dict)
    active_brokers: frozenset[str] = frozenset()
    security_accounts: dict[str, tuple[str, str]] = field(default_factory=dict)
    program_accounts: dict[str, str] = field(default_factory=dict)
    relationships: tuple[Relationship, ...] = ()
    posted_traces: dict[tuple[str, str], SetKey] = field(default_factory=dict)
    transactions: dict[str, str] = field(default_factory=dict)


def covers(relationships: Sequence[Relationship], provider: str, rm15: str, on: date) -> bool:
    """Is there a relationship letting `provider` act for the account `rm15` on `on` (D17-R3)?
    Business scope covers every program account of the client, including ones added later."""
    for rel in relationships:
        if rel.provider_bn9 != provider or rel.client_bn9 != rm15[:9]:
            continue
        if rel.start_date > on or (rel.end_date is not None and rel.end_date < on):
            continue
        if rel.scope == "business" or rm15 in rel.accounts:
            return True
    return False


def _duplicates(facts: PaymentFacts, payments: Sequence[Payment], earlier: Collection[tuple[str, str]]) -> frozenset[int]:
    """Which payments (by the file index of their ST) repeat a trace: one the FI already posted
    with another set, or one an earlier production set of this file carries (decision L10) —
    among `payments` or, for a file judged set by set, `earlier`: the (sender, trace) of the
    production sets judged before them that were not duplicates."""
    seen: set[tuple[str, str]] = set(earlier)
    duplicates = set()
    for p in payments:
        key = (p.source.sender, p.trace)
        earlier = facts.posted_traces.get(key)
        if (earlier is not None and earlier != set_key(p)) or key in seen:
            duplicates.add(p.source.file_index)
        elif not p.source.test:
            seen.add(key)
    return frozenset(duplicates)


def _payer_refusals(p: Payment, facts: PaymentFacts) -> list[Finding]:
    if p.payer_bn9 not in facts.businesses:
        return [Finding("011", f"unknown payer {p.payer_bn9}", "N1", p.position_of("PAYER"), 4, "67", p.payer_bn9, "820 guide N1*PR")]
    refusals = []
    if p.payer_bn9 in facts.active_brokers and not p.payer_asec:
        # the REF*ZZ that should follow the payer's N1 is missing (AK3 code 3 at its place)
        payer = p.position_of("PAYER")
        refusals.append(Finding("007", "a broker payment needs the broker's security account", "REF", payer + 1 if payer else None, None, "",
                                "", "D17 Annex F, 820 guide 8"))
    if p.payer_asec:
        holder = facts.security_accounts.get(p.payer_asec)
        if holder is None or holder[1] != "active" or holder[0] != p.payer_bn9:
            refusals.append(Finding("011", f"security account {p.payer_asec} is not the payer's", "REF", p.position_of("PAYER_ASEC"), 2,
                                    "127", p.payer_asec, "D17 Annex F"))
    return refusals


def _line_findings(p: Payment, facts: PaymentFacts, on: date) -> dict[int, list[Finding]]:
    per_line: dict[int, list[Finding]] = {}
    # the payer's relationships by client, looked up once per line (a scan per line was lines × relationships)
    by_client: dict[str, list[Relationship]] = {}
    for rel in facts.relationships:
        if rel.provider_bn9 == p.payer_bn9:
            by_client.setdefault(rel.client_bn9, []).append(rel)
    for line in p.lines:
        found: list[Finding] = []
        status = facts.program_accounts.get(line.rm15)
        if status is None:
            found.append(Finding("011", f"unknown program account {line.rm15}", "RMR", line.position, 2, "127", line.rm15, "820 guide 9.1"))
        elif status != "active":
            found.append(Finding("011", f"program account {line.rm15} is not active", "RMR", line.position, 2, "127", line.rm15, "820 guide 9.1"))
        elif line.rm15[:9] != p.payer_bn9 and not covers(by_client.get(line.rm15[:9], ()), p.payer_bn9, line.rm15, on):
            found.append(Finding("011", f"no relationship lets {p.payer_bn9} pay {line.rm15}", "RMR", line.position, 2, "127", line.rm15, "D17-R3"))
        if line.asec is not None:
            security = facts.security_accounts.get(line.asec)
            if security is None or security[1] != "active":
                found.append(Finding("011", f"unknown security account {line.asec}", "REF", line.asec_position or line.position + 1, 2, "127",
                                     line.asec, "820 guide 9.2"))
        number = line.transaction_number
        aim_well_formed = number is not None and p.kind == "ADV" and is_digits(number, 14, 14)  # else edi.advice says why
        if aim_well_formed and status is not None and facts.transactions.get(number) != line.rm15:
            # decision L23: the debt named is another account's; paying this one by the usual order would not be what was asked
            found.append(Finding("011", f"transaction {number} is not on account {line.rm15}", "REF", line.transaction_position, 2, "127",
                                 number, "D17-R22, 820 guide 9.3"))
        if found:
            per_line[line.number] = found
    return per_line


def account_check(
    facts: PaymentFacts, payments: Sequence[Payment], received_on: date | None, earlier: Collection[tuple[str, str]] = ()
) -> Check:
    """The check of every payment of `payments` (the file's, in order) against `facts`;
    relationships are judged as of `received_on` (else the payment's effective date);
    `earlier`, see `_duplicates`."""
    duplicates = _duplicates(facts, payments, earlier)

    def check(p: Payment) -> tuple[list[Finding], dict[int, list[Finding]]]:
        if p.source.file_index in duplicates:
            trn = p.position_of("TRN")
            return [Finding("006", f"trace number {p.trace} was already received", "TRN", trn, 2, "127", p.trace, "820 guide TRN02")], {}
        refusals = _payer_refusals(p, facts)
        if refusals:
            return refusals, {}
        return [], _line_findings(p, facts, received_on or p.effective_date or date.min)

    return check
