"""The CARM Client Portal: server-rendered pages (Jinja2) with a JSON API beside them, over the
ledger (G-R1…G-R5).

    /signup /signin /signout      G-R5 credentials (argon2id), sessions, slowed then locked sign-in
    /enrol                        G-R2 proof questions from the ledger; the 10th failure locks it
    /                             G-R4 each program account visible: balance and overdue amount
    /accounts/{rm15}              open items, credits applied to chosen debts; /history (25 a page, CSV); overview (D17-R17)
    /invoices                     G-R4 CBSA invoices: penalties, interest and fees charged
    /documents                    the Statements of Account and Daily Notices issued to the business (PDF, XML)
    /notices                      G-R1 notices, 10 a page, newest first, date range; read / unread
    /settings                     e-mail subscription and language, per user
    /users                        the business account manager: the business's users, access revoked
    /upload                       G-R3 documents: size, type and count limits
    /api/accounts /api/notices    the same facts as JSON

Who sees what: a user sees its business's own program accounts and those its relationships
cover today (D17-R3, `statements.query.Coverage`, as the statements do); documents and notices
addressed to its business. Anything else answers 404, as if it did not exist.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Connection, Engine
from starlette.datastructures import UploadFile

from core import clock
from core.files import atomic_write
from ledger.policy import Policy
from statements.i18n import describe, long_date, money, type_label
from statements.notices import list_notices, notice_detail
from statements.overview import balance_overview
from statements.overview_render import overview_pdf
from statements.query import Coverage, accounts, balances_before, lines_between
from store import portal as db
from store.journal import items_as_of
from store.ledger import account_view

from .security import SECURITY_HEADERS, Passwords, new_token, parse_answer, password_problems, token_digest, username_problems
from .text import word

__all__ = ["create_app", "PortalConfig"]

SESSION_COOKIE, CSRF_COOKIE, LANG_COOKIE = "carm_session", "carm_csrf", "carm_lang"
HISTORY_PAGE = 25  # G-R4 transaction history
RECENT_DAYS, RECENT_COUNT = 60, 10  # the home page's recent transactions (G-R4)
NOTICES_PAGE = 10  # G-R1
CATEGORIES = ("appeal", "refund", "payment", "other")
_DOCUMENT = re.compile(r"(?P<bn9>[0-9]{9})-(?P<type>DN|SOA)-(?P<day>[0-9]{8})-(?P<seq>[0-9]{4})\.(?P<ext>pdf|xml)")
_RM15 = re.compile(r"[0-9]{9}RM[0-9]{4}")
_REFERENCE = re.compile(r"[A-Za-z0-9]{1,10}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


@dataclass
class PortalConfig:
    """What the portal works with: the documents issued (`$CARM_HOME/documents`), where uploads are
    kept, the policy's limits, whether cookies are `Secure` (not on plain-HTTP loopback tests),
    the clock, and the password hasher."""

    documents_dir: Path
    uploads_dir: Path
    policy: Policy = field(default_factory=Policy)
    secure_cookies: bool = True
    now: Callable[[], datetime] = clock.now
    passwords: Passwords = field(default_factory=Passwords)


@dataclass
class Visitor:
    user: db.User | None
    csrf: str
    language: str
    session_digest: str | None = None
    new_csrf_cookie: str | None = None
    path: str = "/"


def _aware(instant: datetime | None, like: datetime) -> datetime | None:
    """SQLite gives back naive instants of what was stored aware: read them in the clock's zone."""
    if instant is None or instant.tzinfo is not None:
        return instant
    return instant.replace(tzinfo=like.tzinfo)


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never `//elsewhere` or `https://elsewhere`."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def create_app(engine: Engine, config: PortalConfig) -> FastAPI:
    app = FastAPI(title="CARM Client Portal", docs_url=None, redoc_url=None, openapi_url=None)
    env = Environment(loader=PackageLoader("carm.portal", "templates"), autoescape=select_autoescape(default=True))
    policy = config.policy

    def today() -> date:
        return config.now().astimezone(clock.EASTERN).date()

    # ------------------------------------------------------------------ who is asking
    def visitor(request: Request, conn: Connection) -> Visitor:
        now = config.now()
        token = request.cookies.get(SESSION_COOKIE)
        found = None
        digest = None
        if token:
            digest = token_digest(token)
            found = db.session_of(conn, digest, now, now + timedelta(minutes=policy.portal_session_minutes))
        lang = request.cookies.get(LANG_COOKIE)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if found:
            user, csrf = found
            return Visitor(user, csrf, lang if lang in ("en", "fr") else user.language, digest, path=here)
        csrf = request.cookies.get(CSRF_COOKIE) or ""
        fresh = None
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", csrf):
            csrf = fresh = new_token()
        return Visitor(None, csrf, lang if lang in ("en", "fr") else "en", None, fresh, here)

    def csrf_ok(request: Request, form, who: Visitor) -> bool:
        """Every form carries the visitor's token (the session's, or the anonymous cookie's), and
        a browser's Origin, when it sends one, is this site."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host"):
            return False
        sent = form.get("csrf") if form is not None else None
        return isinstance(sent, str) and bool(who.csrf) and secrets.compare_digest(sent, who.csrf)

    def page(name: str, who: Visitor, status: int = 200, **values) -> HTMLResponse:
        lang = who.language
        html = env.get_template(name).render(
            w=lambda key, **v: word(key, lang, **v), lang=lang, other="fr" if lang == "en" else "en", user=who.user,
            csrf=who.csrf, here=quote(who.path, safe=""), describe=lambda item: describe(item, lang),
            money=lambda cents: money(int(cents), lang), day=lambda d: long_date(d, lang) if d else "",
            **values,
        )
        response = HTMLResponse(html, status_code=status)
        return finish(response, who)

    def finish(response: Response, who: Visitor) -> Response:
        if who.new_csrf_cookie:
            response.set_cookie(CSRF_COOKIE, who.new_csrf_cookie, httponly=True, secure=config.secure_cookies, samesite="strict")
        return response

    def redirect(target: str, who: Visitor | None = None) -> Response:
        response = RedirectResponse(target, status_code=303)
        return finish(response, who) if who else response

    def not_found(who: Visitor) -> HTMLResponse:
        return page("message.html", who, 404, message=word("not_found", who.language))

    def refused(who: Visitor) -> HTMLResponse:
        return page("message.html", who, 403, message=word("forbidden", who.language))

    def visible(conn: Connection, bn9: str) -> list[str]:
        """The program accounts a business sees today: its own, and those its relationships cover (D17-R3)."""
        coverage = Coverage(conn, today())
        return [a.rm15 for a in accounts(conn) if coverage.covers(bn9, a.rm15)]

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if config.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.get("/portal.css")
    def stylesheet():
        return Response(env.loader.get_source(env, "portal.css")[0], media_type="text/css")

    # ------------------------------------------------------------------ language
    @app.get("/language/{lang}")
    def language(lang: str, next: str = "/"):
        response = RedirectResponse(_safe_next(next), status_code=303)
        if lang in ("en", "fr"):
            response.set_cookie(LANG_COOKIE, lang, httponly=True, secure=config.secure_cookies, samesite="lax", max_age=31536000)
        return response

    # ------------------------------------------------------------------ register, sign in, sign out (G-R5)
    @app.get("/signup")
    def signup_form(request: Request):
        with engine.begin() as conn:
            who = visitor(request, conn)
        return page("signup.html", who, errors=[], username="")

    @app.post("/signup")
    async def signup(request: Request):
        form = await request.form()
        with engine.begin() as conn:
            who = visitor(request, conn)
            if not csrf_ok(request, form, who):
                return refused(who)
            username, password = str(form.get("username", "")), str(form.get("password", ""))
            errors = username_problems(username) + password_problems(password, username)
            if password != str(form.get("confirm", "")):
                errors.append("password_confirm")
            if not errors and db.create_user(conn, username, config.passwords.hash(password), config.now()) is None:
                errors.append("username_taken")
        if errors:
            return page("signup.html", who, 400, errors=[word(e, who.language) for e in errors], username=username)
        return page("signin.html", who, message=word("registered", who.language), username=username)

    @app.get("/signin")
    def signin_form(request: Request, next: str = "/"):
        with engine.begin() as conn:
            who = visitor(request, conn)
        return page("signin.html", who, username="", next=_safe_next(next))

    @app.post("/signin")
    async def signin(request: Request):
        form = await request.form()
        now = config.now()
        with engine.begin() as conn:
            who = visitor(request, conn)
            if not csrf_ok(request, form, who):
                return refused(who)
            username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:128]
            user = db.user_named(conn, username)
            locked_until = _aware(user.locked_until, now) if user else None
            if user and locked_until and locked_until > now:
                key = "signin_locked" if user.failed_signins >= policy.portal_signin_lock_after else "signin_slowed"
                return page("signin.html", who, 429, error=word(key, who.language), username=username)
            if not config.passwords.verify(user.password_hash if user else None, password) or user is None:
                if user is not None:
                    failures = db.signin_failed(conn, user.id)
                    if failures >= policy.portal_signin_lock_after:
                        db.lock_user(conn, user.id, now + timedelta(minutes=policy.portal_signin_lock_minutes))
                    else:  # slowed: 1, 2, 4… seconds before the next attempt is heard
                        db.lock_user(conn, user.id, now + timedelta(seconds=policy.portal_signin_slow_seconds * 2 ** (failures - 1)))
                return page("signin.html", who, 401, error=word("signin_failed", who.language), username=username)
            rehash = config.passwords.hash(password) if config.passwords.needs_rehash(user.password_hash) else None
            db.signin_succeeded(conn, user.id, rehash)
            if who.session_digest:
                db.end_session(conn, who.session_digest)
            token = new_token()
            db.open_session(conn, token_digest(token), user.id, new_token(), now + timedelta(minutes=policy.portal_session_minutes))
        response = RedirectResponse(_safe_next(str(form.get("next", "/"))) if user.bn9 else "/enrol", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, secure=config.secure_cookies, samesite="strict")
        return response

    @app.post("/signout")
    async def signout(request: Request):
        form = await request.form()
        with engine.begin() as conn:
            who = visitor(request, conn)
            if not csrf_ok(request, form, who):
                return refused(who)
            if who.session_digest:
                db.end_session(conn, who.session_digest)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # ------------------------------------------------------------------ enrolment (G-R2)
    def questions(conn: Connection, bn9: str) -> tuple[list[tuple[str, str, int]], object] | None:
        """(field, question, expected cents) of the questions the ledger can answer for `bn9`, and
        its enrolment row; None when the business cannot be enrolled online."""
        if db.business_role(conn, bn9) is None:
            return None
        facts = db.proof_facts(conn, bn9, policy)
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

    def enrol_page(who: Visitor, status: int, bn9: str = "", asked=(), error: str | None = None) -> HTMLResponse:
        lang = who.language
        shown = [(name, word("q_" + name, lang, txn=txn)) for name, txn, _ in asked]
        return page("enrol.html", who, status, bn9=bn9, asked=shown, error=error)

    @app.get("/enrol")
    def enrol_form(request: Request):
        with engine.begin() as conn:
            who = visitor(request, conn)
        if who.user is None:
            return redirect("/signin", who)
        return enrol_page(who, 200)

    @app.post("/enrol")
    async def enrol(request: Request):
        form = await request.form()
        limit = policy.portal_enrolment_attempts
        with engine.begin() as conn:
            who = visitor(request, conn)
            if who.user is None:
                return redirect("/signin", who)
            if not csrf_ok(request, form, who):
                return refused(who)
            lang = who.language
            bn9 = str(form.get("bn9", "")).strip()
            found = questions(conn, bn9) if re.fullmatch(r"[0-9]{9}", bn9) else None
            if found is None:
                return enrol_page(who, 404, error=word("enrol_unknown", lang))
            asked, row = found
            if row.locked_at is not None:
                return enrol_page(who, 423, bn9=bn9, error=word("enrol_locked", lang, limit=limit))
            if not any(f"answer_{name}" in form for name, _, _ in asked):
                return enrol_page(who, 200, bn9=bn9, asked=asked)  # step 2: the questions
            answers = {name: parse_answer(str(form.get(f"answer_{name}", ""))) for name, _, _ in asked}
            if any(value is None for value in answers.values()):
                return enrol_page(who, 400, bn9=bn9, asked=asked, error=word("enrol_format", lang))
            if all(answers[name] == expected for name, _, expected in asked):
                role = db.enrol(conn, who.user.id, bn9)
                return page("message.html", who, message=word("enrolled", lang, role=word(role, lang)), link="/")
            failed, locked = db.enrolment_failed(conn, bn9, limit, config.now())
        if locked:
            return enrol_page(who, 423, bn9=bn9, error=word("enrol_locked", lang, limit=limit))
        return enrol_page(who, 400, bn9=bn9, asked=asked, error=word("enrol_wrong", lang, failed=failed, limit=limit))

    # ------------------------------------------------------------------ financial information (G-R4)
    def signed_in(request: Request, conn: Connection) -> tuple[Visitor, Response | None]:
        who = visitor(request, conn)
        if who.user is None:
            return who, redirect("/signin?next=" + quote(request.url.path), who)
        if who.user.bn9 is None:
            return who, redirect("/enrol", who)
        return who, None

    def summaries(conn: Connection, bn9: str) -> list[dict]:
        out = []
        for rm15 in visible(conn, bn9):
            view = account_view(conn, rm15, today())
            out.append({"rm15": rm15, "name": view.name, "status": view.status, "balance_cents": view.balance_cents,
                        "overdue_cents": view.overdue_cents, "credit_cents": -sum(c.balance_cents for c in view.credits)})
        return out

    def movements(conn: Connection, rm15s: list[str], first: date, kinds: tuple[str, ...] | None = None) -> list[dict]:
        """The journal's movements on the accounts since `first`, newest first, each with what is still
        open of its item today: "unapplied credit", "outstanding" or "settled" (G-R4)."""
        out = []
        for rm15 in rm15s:
            open_now = {it.id: it.balance_cents for it in items_as_of(conn, rm15, today())}
            for line in lines_between(conn, rm15, rm15, first, today()).get(rm15, []):
                if kinds is not None and (line.kind not in kinds or line.amount_cents <= 0):
                    continue
                left = open_now.get(line.item_id, 0)
                if left < 0:
                    status = "status_credit"  # money on the account not yet applied to a debt
                elif line.amount_cents < 0:
                    status = "status_applied"  # a payment or credit that went to a debt
                else:
                    status = "status_outstanding" if left > 0 else "status_settled"
                out.append({"rm15": rm15, "line": line, "open_cents": left, "status": status})
        return sorted(out, key=lambda m: (m["line"].date, m["line"].entry_id), reverse=True)

    @app.get("/")
    def home(request: Request):
        with engine.begin() as conn:
            who, away = signed_in(request, conn)
            if away:
                return away
            rows = summaries(conn, who.user.bn9)
            recent = movements(conn, [r["rm15"] for r in rows], today() - timedelta(days=RECENT_DAYS))[:RECENT_COUNT]
        return page("home.html", who, accounts=rows, as_of=today(), recent=recent,
                    type_label=lambda code: type_label(code, who.language))

    @app.get("/invoices")
    def invoices(request: Request):
        """G-R4 « factures de l'ASFC »: the penalties, interest and fees charged in the last year."""
        with engine.begin() as conn:
            who, away = signed_in(request, conn)
            if away:
                return away
            charged = movements(conn, visible(conn, who.user.bn9), today() - timedelta(days=365), kinds=("penalty", "interest", "fee"))
        return page("invoices.html", who, charges=charged, type_label=lambda code: type_label(code, who.language))

    @app.get("/api/accounts")
    def api_accounts(request: Request):
        with engine.begin() as conn:
            who = visitor(request, conn)
            if who.user is None or who.user.bn9 is None:
                return JSONResponse({"error": "sign in"}, status_code=401)
            return JSONResponse({"as_of": str(today()), "accounts": summaries(conn, who.user.bn9)})

    def account_of(request: Request, conn: Connection, rm15: str) -> tuple[Visitor, Response | None]:
        who, away = signed_in(request, conn)
        if away:
            return who, away
        if not _RM15.fullmatch(rm15) or not Coverage(conn, today()).covers(who.user.bn9, rm15):
            return who, not_found(who)
        return who, None

    @app.get("/accounts/{rm15}")
    def account(request: Request, rm15: str):
        with engine.begin() as conn:
            who, away = account_of(request, conn, rm15)
            if away:
                return away
            view = account_view(conn, rm15, today())
        if view is None:
            return not_found(who)
        own = rm15[:9] == who.user.bn9  # a provider sees its client's account; only the holder moves its credits
        return page("account.html", who, view=view, own=own, nonce=new_token(), message=None,
                    type_label=lambda code: type_label(code, who.language))

    @app.post("/accounts/{rm15}/apply-credit")
    async def apply_credit(request: Request, rm15: str):
        """G-R4: one unapplied credit of the holder's own account to the debts it ticked, in their order."""
        form = await request.form()
        with engine.begin() as conn:
            who, away = account_of(request, conn, rm15)
            if away:
                return away
            if not csrf_ok(request, form, who):
                return refused(who)
            if rm15[:9] != who.user.bn9:
                return not_found(who)
            nonce = str(form.get("nonce", ""))
            try:
                credit_id, debt_ids = int(str(form.get("credit", ""))), [int(str(d)) for d in form.getlist("debt")]
            except ValueError:
                credit_id, debt_ids = 0, []
            if not re.fullmatch(r"[A-Za-z0-9_-]{43}", nonce) or not debt_ids:
                done = db.CreditApplied(None, 0)
            else:
                done = db.apply_credit(conn, rm15, credit_id, debt_ids, key=f"portal:credit:{rm15}:{nonce}", day=today(),
                                       at=config.now(), description=f"credit applied to chosen debts by portal user {who.user.username}")
            view = account_view(conn, rm15, today())
        lang = who.language
        message = (word("credit_replay", lang) if done.replay else word("credit_applied", lang, amount=money(done.applied_cents, lang))
                   if done.applied_cents else word("credit_nothing", lang))
        return page("account.html", who, 200 if done.applied_cents or done.replay else 400, view=view, own=True, nonce=new_token(),
                    message=message, type_label=lambda code: type_label(code, lang))

    @app.get("/api/accounts/{rm15}")
    def api_account(request: Request, rm15: str):
        with engine.begin() as conn:
            who = visitor(request, conn)
            if who.user is None or who.user.bn9 is None:
                return JSONResponse({"error": "sign in"}, status_code=401)
            if not _RM15.fullmatch(rm15) or not Coverage(conn, today()).covers(who.user.bn9, rm15):
                return JSONResponse({"error": "not found"}, status_code=404)
            view = account_view(conn, rm15, today())
        return JSONResponse(view.as_dict()) if view else JSONResponse({"error": "not found"}, status_code=404)

    @app.get("/accounts/{rm15}/overview.pdf")
    def overview(request: Request, rm15: str):
        with engine.begin() as conn:
            who, away = account_of(request, conn, rm15)
            if away:
                return away
            data = overview_pdf(balance_overview(conn, rm15, today()), who.language, paper=policy.paper)
        return Response(data, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{rm15}-overview-{today()}.pdf"'})

    def _day(text: str | None) -> date | None:
        try:
            return date.fromisoformat(text) if text else None
        except ValueError:
            return None

    @app.get("/accounts/{rm15}/history")
    def history(request: Request, rm15: str, start: str | None = None, end: str | None = None, kind: str = "",
                page_no: int = 1, format: str = "html"):
        with engine.begin() as conn:
            who, away = account_of(request, conn, rm15)
            if away:
                return away
            last = _day(end) or today()
            first = _day(start) or last - timedelta(days=365)
            lines = lines_between(conn, rm15, rm15, first, last).get(rm15, [])
            opening = sum(balances_before(conn, [rm15], None, first).get(rm15, {}).values())
        running, rows = opening, []
        for line in lines:
            running += line.amount_cents
            rows.append((line, running))
        kinds = sorted({line.type for line in lines})
        if kind:
            rows = [r for r in rows if r[0].type == kind]
        lang = who.language
        if format == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(["date", "type", "transaction_number", "reference", "description", "amount_cents", "balance_after_cents"])
            for line, after in rows:
                writer.writerow([line.date.isoformat(), line.type, line.transaction_number or "", line.reference or "",
                                 line.description, line.amount_cents, after])
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{rm15}-{first}-{last}.csv"'})
        pages = max(1, -(-len(rows) // HISTORY_PAGE))
        page_no = min(max(1, page_no), pages)
        shown = rows[(page_no - 1) * HISTORY_PAGE: page_no * HISTORY_PAGE]
        query = f"start={first}&end={last}&kind={quote(kind)}"
        return page("history.html", who, rm15=rm15, rows=shown, first=first, last=last, kind=kind, kinds=kinds,
                    page_no=page_no, pages=pages, query=query, type_label=lambda code: type_label(code, lang))

    # ------------------------------------------------------------------ documents issued (D17-R14, R15)
    def documents_of(bn9: str) -> dict[str, Path]:
        """The stored DN and SOA files addressed to `bn9`, by file name (the names the statements
        layer gave them: `<recipient BN9>-<DN|SOA>-<YYYYMMDD>-<NNNN>.<ext>`)."""
        found: dict[str, Path] = {}
        for doc_type in ("DN", "SOA"):
            folder = config.documents_dir / doc_type
            if folder.is_dir():
                for path in folder.glob(f"*/{bn9}-{doc_type}-*"):
                    if _DOCUMENT.fullmatch(path.name):
                        found[path.name] = path
        return found

    @app.get("/documents")
    def documents(request: Request):
        with engine.begin() as conn:
            who, away = signed_in(request, conn)
        if away:
            return away
        grouped: dict[str, dict] = {}
        for name in documents_of(who.user.bn9):
            m = _DOCUMENT.fullmatch(name)
            stem = name.rsplit(".", 1)[0]
            entry = grouped.setdefault(stem, {"type": m["type"], "day": date(int(m["day"][:4]), int(m["day"][4:6]), int(m["day"][6:])),
                                              "stem": stem, "formats": []})
            entry["formats"].append(m["ext"])
        rows = sorted(grouped.values(), key=lambda e: (e["day"], e["stem"]), reverse=True)
        return page("documents.html", who, documents=rows)

    @app.get("/documents/{name}")
    def document(request: Request, name: str):
        with engine.begin() as conn:
            who, away = signed_in(request, conn)
        if away:
            return away
        path = documents_of(who.user.bn9).get(name) if _DOCUMENT.fullmatch(name) else None
        if path is None:
            return not_found(who)
        media = "application/pdf" if name.endswith(".pdf") else "application/xml"
        return Response(path.read_bytes(), media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    # ------------------------------------------------------------------ notices (G-R1)
    @app.get("/notices")
    def notices(request: Request, start: str | None = None, end: str | None = None, page_no: int = 1):
        with engine.begin() as conn:
            who, away = signed_in(request, conn)
            if away:
                return away
            listing = list_notices(conn, date_from=_day(start), date_to=_day(end), bn9=who.user.bn9, page=page_no,
                                   per_page=NOTICES_PAGE, language=who.language)
            read = db.read_notices(conn, who.user.id, [e.id for e in listing.entries])
        query = f"start={start or ''}&end={end or ''}"
        return page("notices.html", who, listing=listing, read=read, start=start or "", end=end or "", query=query)

    @app.get("/api/notices")
    def api_notices(request: Request, start: str | None = None, end: str | None = None, page_no: int = 1):
        with engine.begin() as conn:
            who = visitor(request, conn)
            if who.user is None or who.user.bn9 is None:
                return JSONResponse({"error": "sign in"}, status_code=401)
            listing = list_notices(conn, date_from=_day(start), date_to=_day(end), bn9=who.user.bn9, page=page_no,
                                   per_page=NOTICES_PAGE, language=who.language)
            read = db.read_notices(conn, who.user.id, [e.id for e in listing.entries])
        return JSONResponse({
            "page": listing.page, "pages": listing.pages, "total": listing.total,
            "notices": [{"id": e.id, "date": str(e.date), "account": e.account, "kind": e.kind, "type": e.type, "urgent": e.urgent,
                         "subject": e.subject, "read": e.id in read} for e in listing.entries],
        })

    @app.get("/notices/{notice_id}")
    def notice(request: Request, notice_id: int):
        with engine.begin() as conn:
            who, away = signed_in(request, conn)
            if away:
                return away
            entry = notice_detail(conn, notice_id, language=who.language)
            if entry is None or entry.bn9 != who.user.bn9:
                return not_found(who)
            db.mark_read(conn, who.user.id, notice_id, config.now())
        return page("notice.html", who, entry=entry)

    # ------------------------------------------------------------------ the business's users (its account manager)
    def manager(request: Request, conn: Connection) -> tuple[Visitor, Response | None]:
        who, away = signed_in(request, conn)
        if away is None and who.user.role != "manager":
            away = not_found(who)
        return who, away

    @app.get("/users")
    def users(request: Request):
        with engine.begin() as conn:
            who, away = manager(request, conn)
            if away:
                return away
            members = db.users_of(conn, who.user.bn9)
        return page("users.html", who, members=members, message=None)

    @app.post("/users/{user_id}/revoke")
    async def revoke(request: Request, user_id: int):
        """The business account manager takes a user's access to the business away (the user keeps
        its credentials and may enrol again, with the proof questions)."""
        form = await request.form()
        with engine.begin() as conn:
            who, away = manager(request, conn)
            if away:
                return away
            if not csrf_ok(request, form, who):
                return refused(who)
            done = user_id != who.user.id and db.revoke(conn, user_id, who.user.bn9)
            members = db.users_of(conn, who.user.bn9)
        if not done:
            return not_found(who)
        return page("users.html", who, members=members, message=word("revoked", who.language))

    # ------------------------------------------------------------------ settings, per user (G-R1)
    @app.get("/settings")
    def settings_form(request: Request):
        with engine.begin() as conn:
            who = visitor(request, conn)
        if who.user is None:
            return redirect("/signin", who)
        return page("settings.html", who, message=None)

    @app.post("/settings")
    async def settings(request: Request):
        form = await request.form()
        with engine.begin() as conn:
            who = visitor(request, conn)
            if who.user is None:
                return redirect("/signin", who)
            if not csrf_ok(request, form, who):
                return refused(who)
            language = form.get("language") if form.get("language") in ("en", "fr") else who.user.language
            email = str(form.get("email", "")).strip() or None
            if email is not None and not _EMAIL.fullmatch(email):
                return page("settings.html", who, 400, message=None, error=word("email_invalid", who.language))
            db.set_preferences(conn, who.user.id, language, form.get("email_notices") == "yes", email)
            who.user = db.user_by_id(conn, who.user.id)
        return page("settings.html", who, message=word("saved", who.language))

    # ------------------------------------------------------------------ document upload (G-R3)
    @app.get("/upload")
    def upload_form(request: Request):
        with engine.begin() as conn:
            who, away = signed_in(request, conn)
            if away:
                return away
            done = db.uploads_of(conn, who.user.bn9)
        return page("upload.html", who, categories=CATEGORIES, errors=[], uploads=done)

    @app.post("/upload")
    async def upload(request: Request):
        form = await request.form(max_files=policy.portal_upload_max_files + 1, max_fields=20)
        with engine.begin() as conn:
            who, away = signed_in(request, conn)
            if away:
                return away
            if not csrf_ok(request, form, who):
                return refused(who)
            lang = who.language
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
            errors = upload_problems(form, files, lang)
            contents = []
            for f in files if not errors else ():
                data = await f.read(policy.portal_upload_max_bytes + 1)
                if len(data) > policy.portal_upload_max_bytes:
                    errors.append(word("upload_size", lang, name=f.filename))
                elif not data:
                    errors.append(word("upload_empty", lang, name=f.filename))
                contents.append((f.filename, data))
            if not errors:
                for name, data in contents:
                    digest = hashlib.sha256(data).hexdigest()
                    target = config.uploads_dir / digest
                    if not target.exists():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        atomic_write(target, data)
                    db.record_upload(conn, user_id=who.user.id, bn9=who.user.bn9, category=str(form["category"]),
                                     reference=str(form["reference"]), file_name=name[:255], size=len(data), digest=digest,
                                     uploaded_at=config.now())
            done = db.uploads_of(conn, who.user.bn9)
        message = None if errors else word("upload_done", lang, count=len(contents))
        return page("upload.html", who, 400 if errors else 200, categories=CATEGORIES, errors=errors, uploads=done, message=message)

    def upload_problems(form, files: list[UploadFile], lang: str) -> list[str]:
        errors = []
        if form.get("category") not in CATEGORIES:
            errors.append(word("upload_category", lang))
        if not _REFERENCE.fullmatch(str(form.get("reference", ""))):
            errors.append(word("upload_reference", lang))
        if not files:
            errors.append(word("upload_none", lang))
        if len(files) > policy.portal_upload_max_files:
            errors.append(word("upload_count", lang, limit=policy.portal_upload_max_files))
        for f in files:
            if f.filename.rsplit(".", 1)[-1].lower() not in policy.portal_upload_types or "." not in f.filename:
                errors.append(word("upload_type", lang, name=f.filename))
            elif f.size is not None and f.size > policy.portal_upload_max_bytes:
                errors.append(word("upload_size", lang, name=f.filename))
        return errors

    return app
