"""Registering, signing in and out (G-R5, decision O19), enrolling a business by its proof
questions (G-R2, decision O18), and the business account manager's list of users."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from store import portal as db

from .security import new_token, parse_answer, password_problems, token_digest, username_problems
from .text import word
from .web import SESSION_COOKIE, Portal, Visitor, aware, portal_of, safe_next

__all__ = ["router"]

router = APIRouter()


@router.get("/signup")
def signup_form(request: Request):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
    return p.page("signup.html", who, errors=[], username="")


@router.post("/signup")
async def signup(request: Request):
    p = portal_of(request)
    form = await request.form()
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
        if not p.csrf_ok(request, form, who):
            return p.refused(who)
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        errors = username_problems(username) + password_problems(password, username)
        if password != str(form.get("confirm", "")):
            errors.append("password_confirm")
        if not errors and db.create_user(conn, username, p.config.passwords.hash(password), p.config.now()) is None:
            errors.append("username_taken")
    if errors:
        return p.page("signup.html", who, 400, errors=[word(e, who.language) for e in errors], username=username)
    return p.page("signin.html", who, message=word("registered", who.language), username=username)


@router.get("/signin")
def signin_form(request: Request, next: str = "/"):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
    return p.page("signin.html", who, username="", next=safe_next(next))


def _failed(p: Portal, conn: Connection, user: db.User, now: datetime) -> None:
    """Slowed — 1, 2, 4… seconds before the next attempt is heard — then locked (O19)."""
    failures = db.signin_failed(conn, user.id)
    if failures >= p.policy.portal_signin_lock_after:
        db.lock_user(conn, user.id, now + timedelta(minutes=p.policy.portal_signin_lock_minutes))
    else:
        db.lock_user(conn, user.id, now + timedelta(seconds=p.policy.portal_signin_slow_seconds * 2 ** (failures - 1)))


@router.post("/signin")
async def signin(request: Request):
    p = portal_of(request)
    form = await request.form()
    now = p.config.now()
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
        if not p.csrf_ok(request, form, who):
            return p.refused(who)
        username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:128]
        user = db.user_named(conn, username)
        locked_until = aware(user.locked_until, now) if user else None
        if user and locked_until and locked_until > now:  # refused unheard: waiting cannot be skipped
            key = "signin_locked" if user.failed_signins >= p.policy.portal_signin_lock_after else "signin_slowed"
            return p.page("signin.html", who, 429, error=word(key, who.language), username=username)
        if not p.config.passwords.verify(user.password_hash if user else None, password) or user is None:
            if user is not None:
                _failed(p, conn, user, now)
            return p.page("signin.html", who, 401, error=word("signin_failed", who.language), username=username)
        rehash = p.config.passwords.hash(password) if p.config.passwords.needs_rehash(user.password_hash) else None
        db.signin_succeeded(conn, user.id, rehash)
        if who.session_digest:
            db.end_session(conn, who.session_digest)
        token = new_token()
        db.open_session(conn, token_digest(token), user.id, new_token(), now + timedelta(minutes=p.policy.portal_session_minutes))
    response = RedirectResponse(safe_next(str(form.get("next", "/"))) if user.bn9 else "/enrol", status_code=303)
    p.cookie(response, SESSION_COOKIE, token)
    return response


@router.post("/signout")
async def signout(request: Request):
    p = portal_of(request)
    form = await request.form()
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
        if not p.csrf_ok(request, form, who):
            return p.refused(who)
        if who.session_digest:
            db.end_session(conn, who.session_digest)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# ------------------------------------------------------------------ enrolment (G-R2)
def _questions(p: Portal, conn: Connection, bn9: str) -> tuple[list[tuple[str, str, int]], object] | None:
    """(field, transaction asked about, expected cents) of the questions the ledger can answer for
    `bn9`, and its enrolment row; None when the business cannot be enrolled online."""
    if db.business_role(conn, bn9) is None:
        return None
    facts = db.proof_facts(conn, bn9, p.policy)
    row = db.enrolment(conn, bn9)
    asked = []
    if facts.transactions:
        numbers = dict(facts.transactions)
        txn = row.transaction_number if row.transaction_number in numbers else secrets.choice(list(numbers))
        if txn != row.transaction_number:
            db.choose_transaction(conn, bn9, txn)
        asked.append(("transaction", txn, numbers[txn]))
    if facts.last_payment_cents is not None:
        asked.append(("payment", "", facts.last_payment_cents))
    if facts.last_statement_cents is not None:
        asked.append(("statement", "", facts.last_statement_cents))
    return (asked, row) if len(asked) >= 2 else None  # « deux ou trois questions »


def _enrol_page(p: Portal, who: Visitor, status: int, bn9: str = "", asked=(), error: str | None = None) -> HTMLResponse:
    shown = [(name, word("q_" + name, who.language, txn=txn)) for name, txn, _ in asked]
    return p.page("enrol.html", who, status, bn9=bn9, asked=shown, error=error)


@router.get("/enrol")
def enrol_form(request: Request):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
    if who.user is None:
        return p.redirect("/signin", who)
    return _enrol_page(p, who, 200)


@router.post("/enrol")
async def enrol(request: Request):
    """Step 1 takes the business number and asks the questions; step 2 judges the answers: all
    right enrols, a wrong one counts, the tenth locks (O18)."""
    p = portal_of(request)
    form = await request.form()
    limit = p.policy.portal_enrolment_attempts
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
        if who.user is None:
            return p.redirect("/signin", who)
        if not p.csrf_ok(request, form, who):
            return p.refused(who)
        lang = who.language
        bn9 = str(form.get("bn9", "")).strip()
        found = _questions(p, conn, bn9) if re.fullmatch(r"[0-9]{9}", bn9) else None
        if found is None:
            return _enrol_page(p, who, 404, error=word("enrol_unknown", lang))
        asked, row = found
        if row.locked_at is not None:
            return _enrol_page(p, who, 423, bn9=bn9, error=word("enrol_locked", lang, limit=limit))
        if not any(f"answer_{name}" in form for name, _, _ in asked):
            return _enrol_page(p, who, 200, bn9=bn9, asked=asked)
        answers = {name: parse_answer(str(form.get(f"answer_{name}", ""))) for name, _, _ in asked}
        if any(value is None for value in answers.values()):
            return _enrol_page(p, who, 400, bn9=bn9, asked=asked, error=word("enrol_format", lang))
        if all(answers[name] == expected for name, _, expected in asked):
            role = db.enrol(conn, who.user.id, bn9)
            return p.page("message.html", who, message=word("enrolled", lang, role=word(role, lang)), link="/")
        failed, locked = db.enrolment_failed(conn, bn9, limit, p.config.now())
    if locked:
        return _enrol_page(p, who, 423, bn9=bn9, error=word("enrol_locked", lang, limit=limit))
    return _enrol_page(p, who, 400, bn9=bn9, asked=asked, error=word("enrol_wrong", lang, failed=failed, limit=limit))


# ------------------------------------------------------------------ the business's users (its account manager)
def _manager(p: Portal, request: Request, conn: Connection) -> tuple[Visitor, Response | None]:
    who, away = p.signed_in(request, conn)
    if away is None and who.user.role != "manager":
        away = p.not_found(who)
    return who, away


@router.get("/users")
def users(request: Request):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = _manager(p, request, conn)
        if away:
            return away
        members = db.users_of(conn, who.user.bn9)
    return p.page("users.html", who, members=members, message=None)


@router.post("/users/{user_id}/revoke")
async def revoke(request: Request, user_id: int):
    """The business account manager takes a user's access to the business away (the user keeps
    its credentials and may enrol again, with the proof questions)."""
    p = portal_of(request)
    form = await request.form()
    with p.engine.begin() as conn:
        who, away = _manager(p, request, conn)
        if away:
            return away
        if not p.csrf_ok(request, form, who):
            return p.refused(who)
        done = user_id != who.user.id and db.revoke(conn, user_id, who.user.bn9)
        members = db.users_of(conn, who.user.bn9)
    if not done:
        return p.not_found(who)
    return p.page("users.html", who, members=members, message=word("revoked", who.language))
