"""What the client portal keeps and reads (G-R1…G-R5): users, sessions, the enrolment of a
business by proof questions and its lock, notices read, documents uploaded — and the
ledger facts the proof questions are answered from.

Every statement takes the connection of the caller's transaction; counters are incremented in
the database (`x = x + 1`), so two browsers failing at once both count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.calendar import period_named
from ledger.credits import apply_credit as credit_entry
from ledger.policy import Policy
from store.journal import balance, lock_accounts, open_items, post
from store.schema import (
    account_period,
    business,
    declaration,
    journal_entry,
    payment,
    payment_line,
    portal_enrolment,
    portal_notice_read,
    portal_session,
    portal_upload,
    portal_user,
    program_account,
)

__all__ = [
    "User", "ProofFacts", "create_user", "user_named", "user_by_id", "signin_failed", "signin_succeeded",
    "open_session", "session_of", "end_session", "business_role", "enrolment", "choose_transaction",
    "enrolment_failed", "unlock_enrolment", "enrol", "proof_facts", "mark_read", "read_notices",
    "set_preferences", "record_upload", "uploads_of", "business_accounts", "CreditApplied", "apply_credit",
    "users_of", "revoke",
]


@dataclass(frozen=True, slots=True)
class User:
    """A portal user: `bn9` is the business it enrolled (None before), `role` manager or user."""

    id: int
    username: str
    password_hash: str
    bn9: str | None
    role: str
    language: str
    email: str | None
    email_notices: bool
    failed_signins: int
    locked_until: datetime | None


def _user(row) -> User | None:
    if row is None:
        return None
    return User(int(row.id), row.username, row.password_hash, row.bn9, row.role, row.language, row.email, bool(row.email_notices),
                int(row.failed_signins), row.locked_until)


def create_user(conn: Connection, username: str, password_hash: str, at: datetime) -> int | None:
    """A new user; None when the user name is taken (compared without case)."""
    if conn.execute(select(portal_user.c.id).where(func.lower(portal_user.c.username) == username.lower())).first():
        return None
    try:
        with conn.begin_nested():
            return int(conn.execute(
                insert(portal_user).values(username=username, password_hash=password_hash, created_at=at).returning(portal_user.c.id)
            ).scalar_one())
    except IntegrityError:
        return None


def user_named(conn: Connection, username: str) -> User | None:
    return _user(conn.execute(select(portal_user).where(func.lower(portal_user.c.username) == username.lower())).first())


def user_by_id(conn: Connection, user_id: int) -> User | None:
    return _user(conn.execute(select(portal_user).where(portal_user.c.id == user_id)).first())


def signin_failed(conn: Connection, user_id: int) -> int:
    """Count one more failed sign-in; the count in a row."""
    conn.execute(update(portal_user).where(portal_user.c.id == user_id).values(failed_signins=portal_user.c.failed_signins + 1))
    return int(conn.execute(select(portal_user.c.failed_signins).where(portal_user.c.id == user_id)).scalar_one())


def lock_user(conn: Connection, user_id: int, until: datetime | None) -> None:
    conn.execute(update(portal_user).where(portal_user.c.id == user_id).values(locked_until=until))


def signin_succeeded(conn: Connection, user_id: int, password_hash: str | None = None) -> None:
    """Clear the failures (and store a rehashed password when the KDF's parameters changed)."""
    values: dict = {"failed_signins": 0, "locked_until": None}
    if password_hash:
        values["password_hash"] = password_hash
    conn.execute(update(portal_user).where(portal_user.c.id == user_id).values(**values))


def unlock_user(conn: Connection, username: str) -> bool:
    done = conn.execute(update(portal_user).where(func.lower(portal_user.c.username) == username.lower())
                        .values(failed_signins=0, locked_until=None))
    return done.rowcount > 0


# ------------------------------------------------------------------ sessions
def open_session(conn: Connection, digest: str, user_id: int, csrf: str, expires_at: datetime) -> None:
    conn.execute(insert(portal_session).values(digest=digest, user_id=user_id, csrf=csrf, expires_at=expires_at))


def session_of(conn: Connection, digest: str, now: datetime, expires_at: datetime) -> tuple[User, str] | None:
    """The user and CSRF token of a live session, its expiry moved to `expires_at`; None when
    there is no such session or it expired (an expired one is deleted)."""
    row = conn.execute(select(portal_session).where(portal_session.c.digest == digest)).first()
    if row is None:
        return None
    if row.expires_at.replace(tzinfo=row.expires_at.tzinfo or now.tzinfo) <= now:
        end_session(conn, digest)
        return None
    conn.execute(update(portal_session).where(portal_session.c.digest == digest).values(expires_at=expires_at))
    user = user_by_id(conn, int(row.user_id))
    return None if user is None else (user, row.csrf)


def end_session(conn: Connection, digest: str) -> None:
    conn.execute(delete(portal_session).where(portal_session.c.digest == digest))


# ------------------------------------------------------------------ enrolment (G-R2)
def business_role(conn: Connection, bn9: str) -> str | None:
    """The business's role (importer, broker, consultant), None when there is no such business."""
    return conn.execute(select(business.c.role).where(business.c.bn9 == bn9)).scalar_one_or_none()


def enrolment(conn: Connection, bn9: str):
    """The enrolment row of a business (created, unlocked, on first use)."""
    row = conn.execute(select(portal_enrolment).where(portal_enrolment.c.bn9 == bn9)).first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(portal_enrolment).values(bn9=bn9))
        except IntegrityError:
            pass  # another browser created it first
        row = conn.execute(select(portal_enrolment).where(portal_enrolment.c.bn9 == bn9)).first()
    return row


def choose_transaction(conn: Connection, bn9: str, transaction_number: str) -> None:
    """Keep the transaction asked about until the enrolment succeeds or is unlocked, so that
    asking again never shows a different one to guess."""
    conn.execute(update(portal_enrolment).where(portal_enrolment.c.bn9 == bn9).values(transaction_number=transaction_number))


def enrolment_failed(conn: Connection, bn9: str, limit: int, at: datetime) -> tuple[int, bool]:
    """Count a wrong set of answers; (failures since the last unlock, locked now)."""
    conn.execute(update(portal_enrolment).where(portal_enrolment.c.bn9 == bn9)
                 .values(failed_attempts=portal_enrolment.c.failed_attempts + 1))
    conn.execute(update(portal_enrolment)
                 .where(portal_enrolment.c.bn9 == bn9, portal_enrolment.c.failed_attempts >= limit, portal_enrolment.c.locked_at.is_(None))
                 .values(locked_at=at))
    row = conn.execute(select(portal_enrolment).where(portal_enrolment.c.bn9 == bn9)).one()
    return int(row.failed_attempts), row.locked_at is not None


def unlock_enrolment(conn: Connection, bn9: str) -> tuple[int, bool] | None:
    """Unlock a business's enrolment (an operator's act): (failures cleared, was locked); None when
    the business never tried to enrol."""
    row = conn.execute(select(portal_enrolment).where(portal_enrolment.c.bn9 == bn9)).first()
    if row is None:
        return None
    conn.execute(update(portal_enrolment).where(portal_enrolment.c.bn9 == bn9)
                 .values(failed_attempts=0, locked_at=None, transaction_number=None))
    return int(row.failed_attempts), row.locked_at is not None


def enrol(conn: Connection, user_id: int, bn9: str) -> str:
    """Attach the user to the business; the first user of a business is its account manager."""
    others = conn.execute(select(func.count()).select_from(portal_user)
                          .where(portal_user.c.bn9 == bn9, portal_user.c.id != user_id)).scalar_one()
    role = "user" if others else "manager"
    conn.execute(update(portal_user).where(portal_user.c.id == user_id).values(bn9=bn9, role=role))
    conn.execute(update(portal_enrolment).where(portal_enrolment.c.bn9 == bn9).values(failed_attempts=0, transaction_number=None))
    return role


@dataclass(frozen=True, slots=True)
class ProofFacts:
    """What the proof questions are answered from (G-R2), all from the ledger.

    Attributes:
        transactions: (transaction number, total duties and taxes) of the business's five most
            recent declarations, newest first.
        last_payment_cents: the business's part of the last posted payment applied to its
            accounts (what its Daily Notice shows), None when it never paid.
        last_statement_cents: its accounts' balance at the end of the last billing period closed
            for them — the statement's total payable (box I) — None before the first close.
    """

    transactions: tuple[tuple[str, int], ...]
    last_payment_cents: int | None
    last_statement_cents: int | None


def business_accounts(conn: Connection, bn9: str) -> list[str]:
    return list(conn.execute(select(program_account.c.rm15).where(program_account.c.bn9 == bn9).order_by(program_account.c.rm15)).scalars())


def proof_facts(conn: Connection, bn9: str, policy: Policy) -> ProofFacts:
    accounts = business_accounts(conn, bn9)
    total = (declaration.c.duty_cents + declaration.c.sima_cents + declaration.c.excise_duty_cents
             + declaration.c.excise_tax_cents + declaration.c.gst_cents)
    transactions = tuple(
        (r.transaction_number, int(r.total)) for r in conn.execute(
            select(declaration.c.transaction_number, total.label("total"))
            .where(declaration.c.rm15.in_(accounts))
            .order_by(declaration.c.accounting_date.desc(), declaration.c.release_date.desc(), declaration.c.transaction_number.desc())
            .limit(5))
    )
    last = conn.execute(
        select(payment.c.id).join(payment_line, payment_line.c.payment_id == payment.c.id)
        .where(payment.c.status == "posted", payment_line.c.applied.is_(True), payment_line.c.rm15.in_(accounts))
        .order_by(payment.c.received_at.desc(), payment.c.id.desc()).limit(1)
    ).scalar_one_or_none()
    paid = None if last is None else int(conn.execute(
        select(func.sum(payment_line.c.amount_cents))
        .where(payment_line.c.payment_id == last, payment_line.c.applied.is_(True), payment_line.c.rm15.in_(accounts))
    ).scalar_one())
    period = conn.execute(select(func.max(account_period.c.period)).where(account_period.c.rm15.in_(accounts))).scalar_one_or_none()
    statement = None
    if period is not None:  # as the statement states it: the journal at the period's end, not the close's snapshot
        monthly = dict(conn.execute(select(program_account.c.rm15, program_account.c.calendar_month)
                                    .where(program_account.c.rm15.in_(accounts))).all())
        statement = sum(balance(conn, rm15, period_named(period, policy, bool(monthly[rm15]) or rm15 in policy.calendar_month_accounts).end)
                        for rm15 in accounts)
    return ProofFacts(transactions, paid, statement)


def users_of(conn: Connection, bn9: str) -> list[User]:
    return [_user(r) for r in conn.execute(select(portal_user).where(portal_user.c.bn9 == bn9).order_by(portal_user.c.id))]


def revoke(conn: Connection, user_id: int, bn9: str) -> bool:
    """Take the user's access to `bn9` away, and end its sessions; False when it is not a user of `bn9`."""
    done = conn.execute(update(portal_user).where(portal_user.c.id == user_id, portal_user.c.bn9 == bn9)
                        .values(bn9=None, role="user"))
    if done.rowcount:
        conn.execute(delete(portal_session).where(portal_session.c.user_id == user_id))
    return bool(done.rowcount)


# ------------------------------------------------------------------ notices, preferences, uploads
def mark_read(conn: Connection, user_id: int, notice_id: int, at: datetime) -> None:
    """Idempotent: a notice read twice keeps its first reading."""
    if conn.execute(select(portal_notice_read.c.notice_id)
                    .where(portal_notice_read.c.user_id == user_id, portal_notice_read.c.notice_id == notice_id)).first():
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(portal_notice_read).values(user_id=user_id, notice_id=notice_id, read_at=at))
    except IntegrityError:
        pass


def read_notices(conn: Connection, user_id: int, notice_ids: list[int]) -> set[int]:
    if not notice_ids:
        return set()
    return set(conn.execute(select(portal_notice_read.c.notice_id)
                            .where(portal_notice_read.c.user_id == user_id, portal_notice_read.c.notice_id.in_(notice_ids))).scalars())


def set_preferences(conn: Connection, user_id: int, language: str, email_notices: bool, email: str | None) -> None:
    conn.execute(update(portal_user).where(portal_user.c.id == user_id)
                 .values(language=language, email_notices=email_notices, email=email))


def record_upload(conn: Connection, **values) -> int:
    return int(conn.execute(insert(portal_upload).values(**values).returning(portal_upload.c.id)).scalar_one())


def uploads_of(conn: Connection, bn9: str) -> list:
    return conn.execute(select(portal_upload).where(portal_upload.c.bn9 == bn9).order_by(portal_upload.c.id.desc())).all()


# ------------------------------------------------------------------ applying a credit (G-R4)
@dataclass(frozen=True, slots=True)
class CreditApplied:
    """What `apply_credit` did: the entry posted (None when nothing was), the cents applied, and
    whether the request had already been carried out (a form sent twice)."""

    entry_id: int | None
    applied_cents: int
    replay: bool = False


def apply_credit(conn: Connection, rm15: str, credit_id: int, debt_ids: Sequence[int], *, key: str, day: date, at: datetime,
                 description: str) -> CreditApplied:
    """Apply the open credit `credit_id` of `rm15` to its open debts `debt_ids`, in that order, as
    one OFFSET entry keyed `key`. The same key again changes nothing; items of another account are
    ignored (the caller checked the user may act on `rm15`)."""
    if conn.execute(select(journal_entry.c.id).where(journal_entry.c.key == key)).first():
        return CreditApplied(None, 0, replay=True)
    lock_accounts(conn, [rm15])
    items = {it.id: it for it in open_items(conn, [rm15])}
    credit = items.get(credit_id)
    if credit is None or credit.balance_cents >= 0:
        return CreditApplied(None, 0)
    debts = [items[i] for i in dict.fromkeys(debt_ids) if i in items and items[i].balance_cents > 0]
    entry = credit_entry(credit, debts, key=key, day=day, description=description)
    if entry is None:
        return CreditApplied(None, 0)
    return CreditApplied(post(conn, entry, at), sum(line.debit_cents for line in entry.lines))
