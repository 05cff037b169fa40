"""Standing: when an account's overdue debt brings the measures of D17-R38, and when they end.

Memo §36: « Les comptes de douane sur lesquels figure une dette en souffrance ne seront pas
réputés être en règle » — shown from the first overdue day (`ledger.accounts.in_good_standing`).
§37: after the due date the agency « peut émettre un avis d'arriérés […] et des mesures de
recouvrement peuvent être prises »; §38: « Lorsqu'un compte de douane n'est pas en règle :
a) L'ASFC peut réclamer un montant sur la garantie déposée; b) […] empêcher toute autre
mainlevée des marchandises […]; c) L'importateur peut être tenu de s'acquitter des droits et des
taxes […] au moment de la mainlevée ».

The daily collections run judges each account on its day (`judge_standing`, decision L19):

* **measures start** when a debt has been overdue `standing_measures_days` (30, the day the
  arrears notice goes out): a dated record, from that day, of (b) the release hold and (c)
  payment at release for goods released from then on (`pay_at_release`), and (a) one claim per
  security account the overdue debts are secured by — the overdue amount it secures, capped by
  the security posted; an urgent notice tells the holder;
* **measures end** on the first run that finds no overdue debt (the account brought current):
  the record is ended with that day and the claims withdrawn, the history kept; a notice says so.

Re-running a day changes nothing; a run for a day before the latest record changes nothing either
(history is not rewritten backwards).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from .model import DEBT_KINDS, Item, Notice, NoticeKind
from .policy import Policy

__all__ = ["SecurityClaim", "Standing", "StandingChange", "judge_standing", "in_force", "pay_at_release"]


@dataclass(frozen=True, slots=True)
class SecurityClaim:
    """A claim against a security account (D17-R38 a).

    Attributes:
        asec: the security account.
        overdue_cents: the overdue debts of the account it secures.
        security_cents: the security posted, on the day.
        claim_cents: the lesser of the two.
    """

    asec: str
    overdue_cents: int
    security_cents: int
    claim_cents: int


@dataclass(frozen=True, slots=True)
class Standing:
    """The measures of D17-R38 on an account, from `since` to `ended_on` (the day it was found
    brought current; None while in force).

    Attributes:
        rm15: the program account.
        since / ended_on: the days the measures took effect and ended.
        reason: why, in the ledger's words.
        oldest_due_date / overdue_cents: the oldest overdue due date and the overdue amount then.
        claims: the claims against security accounts made that day.
    """

    rm15: str
    since: date
    ended_on: date | None
    reason: str
    oldest_due_date: date
    overdue_cents: int
    claims: tuple[SecurityClaim, ...] = ()

    def in_force(self, day: date) -> bool:
        return self.since <= day and (self.ended_on is None or day < self.ended_on)

    def as_dict(self) -> dict:
        return {
            "since": str(self.since), "ended_on": str(self.ended_on) if self.ended_on else None, "reason": self.reason,
            "oldest_due_date": str(self.oldest_due_date), "overdue_cents": self.overdue_cents,
            "release_hold": True, "pay_at_release": True,
            "claims": [{"asec": c.asec, "claim_cents": c.claim_cents, "overdue_cents": c.overdue_cents,
                        "security_cents": c.security_cents} for c in self.claims],
        }


@dataclass
class StandingChange:
    """What a day's judgement does: start measures, end the current ones, or nothing."""

    start: Standing | None = None
    end: date | None = None
    notices: list[Notice] = field(default_factory=list)


def in_force(standings: Sequence[Standing], day: date) -> Standing | None:
    """The record of measures in force on `day`, if any."""
    return next((s for s in standings if s.in_force(day)), None)


def pay_at_release(standings: Sequence[Standing], release: date) -> bool:
    """D17-R38 c: goods released while measures are in force are paid for at release."""
    return in_force(standings, release) is not None


def _overdue(items: Sequence[Item], day: date) -> list[Item]:
    return [i for i in items if i.balance_cents > 0 and i.kind in DEBT_KINDS and not i.under_review
            and i.due_date is not None and i.due_date < day]


def judge_standing(rm15: str, bn9: str, items: Sequence[Item], latest: Standing | None, securities: Mapping[str, tuple[str, int]],
                   day: date, policy: Policy) -> StandingChange:
    """The change of standing of `rm15` on `day`, from its items as of the end of `day`, its latest
    record of measures (in force or not) and, per security account, its holder and the security posted.
    A claim against a security account someone else holds (a broker's, D17-R4) is also told to its holder."""
    change = StandingChange()
    if latest is not None and day < (latest.ended_on or latest.since):
        return change  # an earlier day than the history already written: left as it is
    overdue = _overdue(items, day)
    current = latest if latest is not None and latest.ended_on is None else None
    if current is not None:
        if not overdue:
            change.end = day
            change.notices.append(Notice(f"{NoticeKind.STANDING_RESTORED}:{rm15}:{current.since}", day, bn9, rm15,
                                         NoticeKind.STANDING_RESTORED, {**current.as_dict(), "ended_on": str(day)}))
        return change
    if not overdue:
        return change
    oldest = min(i.due_date for i in overdue)
    if (day - oldest).days < policy.standing_measures_days:
        return change
    secured: dict[str, int] = defaultdict(int)
    for i in overdue:
        if i.asec is not None and i.asec in securities:
            secured[i.asec] += i.balance_cents
    claims = tuple(SecurityClaim(asec, cents, securities[asec][1], min(cents, securities[asec][1]))
                   for asec, cents in sorted(secured.items()) if min(cents, securities[asec][1]) > 0)
    total = sum(i.balance_cents for i in overdue)
    change.start = Standing(rm15, day, None, f"balance due {oldest} overdue {(day - oldest).days} days", oldest, total, claims)
    facts = {**change.start.as_dict(), "due_date": str(oldest)}
    change.notices.append(Notice(f"{NoticeKind.STANDING_MEASURES}:{rm15}:{day}", day, bn9, rm15, NoticeKind.STANDING_MEASURES, facts))
    for claim in claims:
        holder = securities[claim.asec][0]
        if holder != bn9:
            change.notices.append(Notice(f"{NoticeKind.STANDING_MEASURES}:{rm15}:{day}:{claim.asec}", day, holder, rm15,
                                         NoticeKind.STANDING_MEASURES, {**facts, "claims": [c for c in facts["claims"] if c["asec"] == claim.asec]}))
    return change
