"""Collections, run each day after due dates: settlement, penalties, interest, arrears, security
(D17-R33…R38).

`plan_collections(history, bn9, day, rates, policy)` decides for one program account, in
this order, each step seeing the entries of the ones before:

* **Settlement on the due date**: unapplied and interim payments standing on the
  account by a due date pay the debts due then (D17-R22, decision L4).
* **Late-payment penalty** (D17-R33): one instance per account and due date when, at the
  end of the due date, debts due that day were still unpaid (payments count for the day
  they arrived by the cut-off, D17-R32): a flat `late_payment_penalty_cents` ($200)
  penalty item, due at once, tagged with the security account of the unpaid debts when
  they share one.
* **Interest** (D17-R33), per security account of the debts (a broker's debts bear the
  broker's interest, shown on its statement, D17-R35), from the day after the due date,
  compounded daily (`ledger.interest`) on the unpaid overdue balance of declarations,
  adjustments and earlier interest — not penalties, not items under review — as the
  journal shows it at the start of each day, so paying late and running collections late
  give the same interest.  The total is worked out at full precision over the whole history
  and only it is rounded; each run posts it less what is already charged, as one item due at
  once — any schedule of runs charges what one run at the end would (decision L7).
* **Arrears notice** (D17-R37) once per account and due date, `arrears_notice_days` (30)
  after it: overdue amount, penalties and interest to the notice date.

`security_notices` judges every security account's utilization (the debts secured by it,
less the interim payments that protect it): above the security amount → an urgent notice.
Standing (D17-R36) is derived (`ledger.accounts.in_good_standing`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from core.problems import Problem

from .history import AccountHistory
from .interest import Rate, interest_to_date
from .model import (
    DEBT_KINDS,
    INTEREST_BEARING,
    Account,
    Entry,
    ItemKind,
    JournalLine,
    NewItem,
    Notice,
    NoticeKind,
    Plan,
    Reason,
)
from .offsetting import offset_lines
from .policy import Policy

__all__ = ["AccountCollections", "Security", "plan_collections", "security_notices"]

_DUE_KINDS = (ItemKind.DECLARATION, ItemKind.ADJUSTMENT)


@dataclass
class AccountCollections:
    """What collections decided for one account."""

    plan: Plan = field(default_factory=Plan)
    settlements: int = 0
    penalty_cents: list[int] = field(default_factory=list)
    interest_cents: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add(self, history: AccountHistory, items: Sequence[NewItem] = (), entries: Sequence[Entry] = ()) -> None:
        self.plan.items += items
        self.plan.entries += entries
        history.apply(items, entries)


def plan_collections(history: AccountHistory, bn9: str, day: date, rates: Sequence[Rate], policy: Policy) -> AccountCollections:
    result = AccountCollections()
    _settle_due_dates(history, day, policy, result)
    _penalties(history, day, policy, result)
    _interest(history, day, rates, policy, result)
    result.plan.notices += _arrears(history, bn9, day, rates, policy)
    return result


def _settle_due_dates(history: AccountHistory, day: date, policy: Policy, result: AccountCollections) -> None:
    """On each past due date, money the holder already paid — unapplied and interim payments
    standing on the account by then (D17-R22: applied to the next statement) — settles the
    debts due, before any penalty or interest is judged (decision L4)."""
    rm15 = history.rm15
    items = history.items_as_of()
    due_dates = sorted({i.due_date for i in items if i.balance_cents > 0 and i.due_date is not None and i.due_date < day})
    for due in due_dates:
        key = f"settle:{rm15}:{due}"
        if history.has_entry(key):
            continue
        eligible = [
            i for i in history.items_as_of()
            if (i.balance_cents < 0 and i.kind == ItemKind.PAYMENT and i.posted_on <= due)
            or (i.balance_cents > 0 and i.due_date is not None and i.due_date <= due and i.kind in DEBT_KINDS)
        ]
        lines = offset_lines(eligible, policy)
        if lines:
            result.add(history, entries=[Entry(key, due, Reason.OFFSET, f"payments on {rm15} settle what is due {due}", tuple(lines))])
            result.settlements += 1


def _penalty_key(rm15: str, due: date) -> str:
    """The late-payment penalty of an account's due date: one item, and the key of its entry."""
    return f"penalty:{rm15}:{due}"


def _penalties(history: AccountHistory, day: date, policy: Policy, result: AccountCollections) -> None:
    rm15 = history.rm15
    due_dates = sorted({
        i.due_date for i in history.items_as_of(open_only=False)
        if i.kind in _DUE_KINDS and i.due_date is not None and i.due_date < day and not i.under_review
    })
    for due in due_dates:
        key = _penalty_key(rm15, due)
        if history.has_item(key):
            continue
        unpaid_items = [i for i in history.items_as_of(due) if i.due_date == due and i.kind in _DUE_KINDS and i.balance_cents > 0]
        if sum(i.balance_cents for i in unpaid_items if not i.under_review) <= 0:
            continue
        charged_on = due + timedelta(days=1)
        asecs = {i.asec for i in unpaid_items}
        agents = {i.agent_bn9 for i in unpaid_items}
        penalty = NewItem(key=key, rm15=rm15, kind=ItemKind.PENALTY, posted_on=charged_on, due_date=charged_on,
                          asec=asecs.pop() if len(asecs) == 1 else None, agent_bn9=agents.pop() if len(agents) == 1 else None,
                          description=f"late-payment penalty: balance due {due} unpaid")
        amount = policy.late_payment_penalty_cents
        entry = Entry(key, charged_on, Reason.PENALTY, f"late payment of the balance due {due} on {rm15}",
                      (JournalLine(Account.AR, debit_cents=amount, rm15=rm15, item_key=key),
                       JournalLine(Account.PENALTY, credit_cents=amount, rm15=rm15)))
        result.add(history, [penalty], [entry])
        result.penalty_cents.append(amount)


def _interest(history: AccountHistory, day: date, rates: Sequence[Rate], policy: Policy, result: AccountCollections) -> None:
    """Interest per security account of the debts (D17-R4, R35: a broker's debts bring the
    broker's interest, which its statement shows), then per account for unsecured debts."""
    meta = {it.key: it for it in history.all_items()}
    bearing = {k for k, it in meta.items() if it.kind in INTEREST_BEARING and it.due_date is not None and not it.under_review}
    if not bearing:
        return
    movements = history.movements(upto=day)
    for asec in sorted({meta[k].asec for k in bearing}, key=lambda a: a or ""):
        group = {k for k in bearing if meta[k].asec == asec}
        agents = {meta[k].agent_bn9 for k in group if meta[k].kind != ItemKind.INTEREST}
        _interest_for_group(history, meta, group, movements, asec, agents.pop() if len(agents) == 1 else None, day, rates, policy, result)


def _interest_for_group(history, meta, group, movements, asec, agent, day: date, rates, policy: Policy, result: AccountCollections) -> None:
    """The interest owed on `group` to the end of `day`, worked out from the day after the first due
    date over the journal's history (`interest_to_date`), less what is already charged: any
    schedule of runs posts the same total as one run at the end (D17-R33, decision L7)."""
    rm15 = history.rm15
    principal = {k for k in group if meta[k].kind != ItemKind.INTEREST}
    charges = {k for k in group if meta[k].kind == ItemKind.INTEREST}
    if not principal:
        return
    start = min(meta[k].due_date for k in principal) + timedelta(days=1)
    if start > day:
        return
    charged = sum(m.cents for m in movements if m.item_key in charges and m.entry_key == m.item_key)
    # at the start of day d count every line up to d - 1: the principal of items overdue on d, and
    # what was paid (or reversed) of the interest charged — as changes from the day each starts to count
    principal_from: dict[date, int] = defaultdict(int)
    paid_from: dict[date, int] = defaultdict(int)
    for m in movements:
        if m.item_key in principal:
            principal_from[max(m.day, meta[m.item_key].due_date) + timedelta(days=1)] += m.cents
        elif m.item_key in charges and m.entry_key != m.item_key:
            paid_from[m.day + timedelta(days=1)] -= m.cents
    owed, missing = interest_to_date(_day_bases(start, day, principal_from, paid_from), rates, policy)
    if missing:
        result.problems.append(Problem("no-rate", f"no prescribed rate for {missing[0]}…{missing[-1]}", rm15, "D17-R33"))
    cents = owed - charged
    key = f"interest:{rm15}:{asec or '-'}:{day}"
    if cents <= 0 or history.has_entry(key):  # the day was charged already: a change since waits for the next day's run
        return
    since = max([start, *(meta[k].posted_on + timedelta(days=1) for k in charges)])
    charge = NewItem(key=key, rm15=rm15, kind=ItemKind.INTEREST, posted_on=day, due_date=day, asec=asec, agent_bn9=agent,
                     description=f"interest {since} to {day}")
    entry = Entry(key, day, Reason.INTEREST, f"interest {since}..{day} on {rm15}",
                  (JournalLine(Account.AR, debit_cents=cents, rm15=rm15, item_key=key), JournalLine(Account.INTEREST, credit_cents=cents, rm15=rm15)))
    result.add(history, [charge], [entry])
    result.interest_cents.append(cents)


def _arrears(history: AccountHistory, bn9: str, day: date, rates: Sequence[Rate], policy: Policy) -> list[Notice]:
    """D17-R37: one notice per due date overdue `arrears_notice_days`, stating that due date's own
    overdue amount, its own late-payment penalty and the interest its debts bore to the notice date
    — not every penalty and interest of the account repeated on each notice."""
    items = history.items_as_of(day)
    overdue_by_due: dict[date, int] = defaultdict(int)
    for i in items:
        overdue = i.kind in _DUE_KINDS and i.balance_cents > 0 and i.due_date and not i.under_review
        if overdue and (day - i.due_date).days >= policy.arrears_notice_days:
            overdue_by_due[i.due_date] += i.balance_cents
    if not overdue_by_due:
        return []
    open_balance = {i.key: i.balance_cents for i in items}
    # the account's unpaid interest, shared among its due dates newest first, each up to what its own
    # debts bore: payments reach the oldest due dates first, their interest included (decision L3)
    unpaid_interest = sum(b for i in items if i.kind == ItemKind.INTEREST and (b := i.balance_cents) > 0)
    notices = []
    oldest = min(overdue_by_due)  # older due dates come after it newest first: they change no notice
    dues = {i.due_date for i in history.all_items() if i.kind in _DUE_KINDS and i.due_date and oldest <= i.due_date < day}
    for due in sorted(dues, reverse=True):
        borne = _interest_borne(history, due, day, rates, policy)
        interest = min(borne, unpaid_interest)
        unpaid_interest -= interest
        if due not in overdue_by_due:
            continue
        amount = overdue_by_due[due]
        penalty = max(open_balance.get(_penalty_key(history.rm15, due), 0), 0)
        notices.append(Notice(f"arrears:{history.rm15}:{due}", day, bn9, history.rm15, NoticeKind.ARREARS,
                              {"due_date": str(due), "overdue_cents": amount, "penalties_cents": penalty, "interest_cents": interest,
                               "total_cents": amount + penalty + interest, "as_of": str(day)}))
    return sorted(notices, key=lambda n: n.key)


def _interest_borne(history: AccountHistory, due: date, day: date, rates: Sequence[Rate], policy: Policy) -> int:
    """The interest the debts due on `due` bore from the day after it to the end of `day`, at full
    precision, rounded once (their share of what `_interest` charges: compounding is linear)."""
    keys = {i.key for i in history.all_items() if i.kind in _DUE_KINDS and i.due_date == due and not i.under_review}
    changes: dict[date, int] = defaultdict(int)
    for m in history.movements(upto=day):
        if m.item_key in keys:
            changes[max(m.day, due) + timedelta(days=1)] += m.cents
    return interest_to_date(_day_bases(due + timedelta(days=1), day, changes, {}), rates, policy)[0]


def _day_bases(start: date, end: date, principal_from: dict[date, int], paid_from: dict[date, int]) -> list[tuple[date, int, int]]:
    """(day, overdue principal, interest paid) at the start of each day from `start` to `end`, from
    the changes dated by the day they start to count."""
    base = sum(c for d, c in principal_from.items() if d <= start)
    paid = sum(c for d, c in paid_from.items() if d <= start)
    days = [(start, base, paid)]
    d = start + timedelta(days=1)
    while d <= end:
        base += principal_from.get(d, 0)
        paid += paid_from.get(d, 0)
        days.append((d, base, paid))
        d += timedelta(days=1)
    return days


@dataclass(frozen=True, slots=True)
class Security:
    """A security account and the balances of the items tagged with it on a day (every account)."""

    asec: str
    holder_bn9: str
    security_cents: int
    item_balances: tuple[tuple[str, int], ...]  # (item kind, balance cents)


def security_notices(securities: Sequence[Security], day: date) -> list[Notice]:
    """An urgent notice for each security account whose utilization exceeds its security."""
    notices = []
    for sec in securities:
        secured = sum(b for kind, b in sec.item_balances if kind in DEBT_KINDS and b > 0)
        protected = -sum(b for kind, b in sec.item_balances if kind == ItemKind.PAYMENT and b < 0)
        utilization = secured - protected
        if utilization > sec.security_cents:
            notices.append(Notice(f"security:{sec.asec}:{day}", day, sec.holder_bn9, None, NoticeKind.SECURITY_EXCEEDED,
                                  {"asec": sec.asec, "security_cents": sec.security_cents, "utilization_cents": utilization, "as_of": str(day)}))
    return notices
