"""Reading the ledger for documents: bulk, by ranges of program accounts.

Statements for 100,000 accounts cannot afford queries per account, so every
read here takes a contiguous range of RM15s (`chunks`) and answers for all of
them at once, from the journal itself (never the caches: a document states
what the books say on its day).

Also here: who may see what on a day — relationship coverage (D17-R3),
designated agents (Annex B), brokers' security accounts (D17-R4).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, and_, func, or_, select

from core.db import chunks as lists_of
from store.schema import (
    ar_item,
    business,
    designated_agent,
    journal_entry,
    journal_line,
    payment,
    program_account,
    relationship,
    relationship_account,
    security_account,
)

from .model import LINE_TYPES, DocumentLine, Party

__all__ = ["AccountRow", "Span", "NO_ACCOUNTS", "accounts", "chunks", "lines_between", "balances_before", "provinces", "Directory",
           "Coverage"]

#: The first and last RM15 of a range of accounts (in RM15 order) that reference data is read for.
Span = tuple[str, str]
#: No account at all: what a reader of brokers' names alone asks for.
NO_ACCOUNTS: Span = ("", "")


@dataclass(frozen=True, slots=True)
class AccountRow:
    rm15: str
    bn9: str
    client_type: str
    calendar_month: bool


def accounts(conn: Connection) -> list[AccountRow]:
    """Every program account, in RM15 order."""
    rows = conn.execute(
        select(program_account.c.rm15, program_account.c.bn9, program_account.c.client_type, program_account.c.calendar_month)
        .order_by(program_account.c.rm15)
    )
    return [AccountRow(r.rm15, r.bn9, r.client_type, bool(r.calendar_month)) for r in rows]


def chunks(items: Sequence[AccountRow], size: int) -> Iterator[Sequence[AccountRow]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


#: Charges the ledger may post inside another entry (the D17-R34 fee rides on its PAYMENT entry):
#: a debit to such an item is shown as the charge it is, whatever the entry's reason.
_CHARGE_KINDS = {"fee": "FEE", "interest": "INTEREST", "penalty": "PENALTY"}


def _line_type(reason: str, kind: str, amount: int) -> str:
    if amount > 0 and kind in _CHARGE_KINDS and reason not in ("OFFSET", "DISBURSEMENT", "CORRECTION", "CHEQUE_RETURNED"):
        return _CHARGE_KINDS[kind]
    return LINE_TYPES.get(reason, reason)  # an unknown reason fails the XSD: loud, as it should


def _reference(reason: str, entry_key: str, trace: str | None) -> str | None:
    if trace:
        return trace
    if reason in ("REASSESSMENT", "REFUND") and entry_key.startswith("adj:"):
        return entry_key[4:]
    if reason == "CORRECTION" and entry_key.startswith("correction:"):  # the correction request's number (D17-R18)
        return entry_key.replace("correction:", "correction ", 1)
    if reason == "SUSPENSE_APPLIED":  # suspense:<FI>:<trace>:<line>, the FI itself holding a colon
        return entry_key.rsplit(":", 2)[1]
    if reason == "CHEQUE_RETURNED":  # returned:<channel>:<trace>
        return entry_key.rsplit(":", 1)[1]
    return None


_new = tuple.__new__  # a named tuple from its values in field order, without the generated `__new__`


def lines_between(conn: Connection, lo: str | None, hi: str | None, first: date, last: date) -> dict[str, list[DocumentLine]]:
    """The AR movements of accounts `lo`…`hi` (every account when None) with an entry date in
    [first, last], per RM15, one `DocumentLine` per (entry, item), in entry order.

    A statements run reads every account's lines through here (~4 lines an account, 400,000
    for a run of 100,000): rows are unpacked as tuples, and the lines made as tuples are, in C."""
    query = (
        select(
            journal_line.c.rm15, journal_line.c.debit_cents, journal_line.c.credit_cents,
            journal_entry.c.id.label("entry_id"), journal_entry.c.entry_date, journal_entry.c.reason,
            journal_entry.c.key.label("entry_key"),
            ar_item.c.id.label("item_id"), ar_item.c.kind, ar_item.c.component, ar_item.c.transaction_number,
            ar_item.c.asec, ar_item.c.due_date, ar_item.c.under_review, ar_item.c.description,
            payment.c.trace,
        )
        .select_from(
            journal_line.join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
            .join(ar_item, ar_item.c.id == journal_line.c.item_id)
            .outerjoin(payment, payment.c.entry_id == journal_entry.c.id)
        )
        .where(
            journal_line.c.account == "AR",
            journal_entry.c.entry_date >= first, journal_entry.c.entry_date <= last,
        )
        .order_by(journal_line.c.rm15, journal_entry.c.entry_date, journal_entry.c.id, ar_item.c.id)
    )
    if lo is not None and hi is not None:
        query = query.where(journal_line.c.rm15 >= lo, journal_line.c.rm15 <= hi)
    out: dict[str, list[DocumentLine]] = defaultdict(list)
    for (rm15, debit, credit, entry_id, entry_date, reason, entry_key, item_id, kind, component, number, asec, due_date,
         under_review, description, trace) in conn.execute(query).all():
        amount = debit - credit
        lines = out[rm15]
        if lines and lines[-1].entry_id == entry_id and lines[-1].item_id == item_id:
            prev = lines[-1]
            lines[-1] = prev._replace(amount_cents=prev.amount_cents + amount)
            continue
        lines.append(_new(DocumentLine, (
            entry_date, _line_type(reason, kind, amount), amount, description, kind, component, number, asec, due_date,
            bool(under_review), _reference(reason, entry_key, trace), "O" if reason == "OFFSET" else None, entry_id, item_id,
        )))
    for rm15, lines in out.items():
        if any(line.amount_cents == 0 for line in lines):
            out[rm15] = [line for line in lines if line.amount_cents != 0]
    return out


def balances_before(conn: Connection, lo: str | Sequence[str], hi: str | None, day: date) -> dict[str, dict[str | None, int]]:
    """Balance of accounts `lo`…`hi` (or of the RM15s listed in `lo`) at the start of `day`
    (entries dated before it), per RM15 and per the security account its items are tagged with."""
    total = journal_line.c.debit_cents - journal_line.c.credit_cents
    query = (
        select(journal_line.c.rm15, ar_item.c.asec, func.sum(total))
        .select_from(
            journal_line.join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
            .join(ar_item, ar_item.c.id == journal_line.c.item_id)
        )
        .where(journal_line.c.account == "AR", journal_entry.c.entry_date < day)
        .group_by(journal_line.c.rm15, ar_item.c.asec)
    )
    if isinstance(lo, str):
        query = query.where(journal_line.c.rm15 >= lo, journal_line.c.rm15 <= hi)
    else:
        query = query.where(journal_line.c.rm15.in_(list(lo)))
    out: dict[str, dict[str | None, int]] = defaultdict(dict)
    for rm15, asec, cents in conn.execute(query).all():
        if int(cents):
            out[rm15][asec] = int(cents)
    return out


def provinces(conn: Connection, rm15s: Sequence[str], default: str, chunk_size: int = 500) -> dict[str, str]:
    """The province of each program account listed, `default` for one whose reference data names none."""
    out: dict[str, str] = {}
    for start in range(0, len(rm15s), chunk_size):
        chunk = list(rm15s[start:start + chunk_size])
        for rm15, province in conn.execute(
            select(program_account.c.rm15, program_account.c.province).where(program_account.c.rm15.in_(chunk))
        ):
            out[rm15] = province or default
    return out


class Directory:
    """Businesses, designated agents and brokers' security accounts, as of one day.

    With `span`, only what the documents of accounts `span` need is read — their holders, their
    agents, the brokers — for a worker of a split run, which states a range of accounts (S14):
    a business outside them is then unknown (`name` answers its BN9)."""

    def __init__(self, conn: Connection, on: date, span: Span | None = None) -> None:
        self.on = on
        #: security account → the broker holding it (D17-R4); importers' own securities are not brokers'.
        self.broker_asecs: dict[str, str] = {
            r.asec: r.holder_bn9
            for r in conn.execute(
                select(security_account.c.asec, security_account.c.holder_bn9).where(security_account.c.holder_kind == "broker")
            )
        }
        agents = select(designated_agent.c.rm15, designated_agent.c.agent_bn9).where(designated_agent.c.effective_from <= on)
        businesses = select(business.c.bn9, business.c.name, business.c.language, business.c.role)
        if span is None:
            self._agent = {rm15: agent for rm15, agent in conn.execute(agents)}
            self._business = {bn9: (name, language, role) for bn9, name, language, role in conn.execute(businesses)}
            return
        lo, hi = span
        self._agent = {rm15: agent for rm15, agent in conn.execute(agents.where(designated_agent.c.rm15.between(lo, hi)))}
        # the holders of accounts lo…hi are the BNs lo[:9]…hi[:9] (an RM15 begins with its holder's BN)
        self._business = {bn9: (name, language, role) for bn9, name, language, role
                          in conn.execute(businesses.where(business.c.bn9.between(lo[:9], hi[:9])))}
        others = sorted({*self._agent.values(), *self.broker_asecs.values()} - self._business.keys())
        for part in lists_of(others):
            self._business.update((bn9, (name, language, role)) for bn9, name, language, role
                                  in conn.execute(businesses.where(business.c.bn9.in_(list(part)))))

    def name(self, bn9: str) -> str:
        found = self._business.get(bn9)
        return found[0] if found else bn9

    def party(self, bn9: str) -> Party:
        name, language, _ = self._business.get(bn9, (bn9, "en", "importer"))
        return Party(bn9, name, language)

    def recipient_for(self, rm15: str) -> Party:
        """Annex B / D17-R16: the one designated agent when there is one, else the holder."""
        return self.party(self._agent.get(rm15, rm15[:9]))

    def brokers(self) -> list[tuple[str, str]]:
        """(broker BN9, ASEC) of every broker security account, in order."""
        return sorted((bn9, asec) for asec, bn9 in self.broker_asecs.items())


class Coverage:
    """Which program accounts a provider may see on a day (D17-R3).

    Business-management scope covers all the client's accounts, including ones
    opened later; program-management scope only the listed accounts.  A
    relationship counts on days from its start date to its end date inclusive.
    A business always sees its own accounts. With `span`, only the relationships that may cover
    accounts `span` are read (and only those accounts may be asked about).
    """

    def __init__(self, conn: Connection, on: date, span: Span | None = None) -> None:
        active = and_(relationship.c.start_date <= on, or_(relationship.c.end_date.is_(None), relationship.c.end_date >= on))
        self._clients: dict[str, set[str]] = defaultdict(set)
        self._accounts: dict[str, set[str]] = defaultdict(set)
        clients = select(relationship.c.provider_bn9, relationship.c.client_bn9).where(active, relationship.c.scope == "business")
        listed = (select(relationship.c.provider_bn9, relationship_account.c.rm15)
                  .join(relationship_account, relationship_account.c.relationship_id == relationship.c.id)
                  .where(active, relationship.c.scope == "program"))
        if span is not None:
            lo, hi = span
            clients = clients.where(relationship.c.client_bn9.between(lo[:9], hi[:9]))
            listed = listed.where(relationship_account.c.rm15.between(lo, hi))
        for provider, client in conn.execute(clients):
            self._clients[provider].add(client)
        for provider, rm15 in conn.execute(listed):
            self._accounts[provider].add(rm15)

    def covers(self, provider: str, rm15: str) -> bool:
        client = rm15[:9]
        return client == provider or client in self._clients.get(provider, ()) or rm15 in self._accounts.get(provider, ())
