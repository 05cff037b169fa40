"""Financial information (G-R4): the home page, an account, its history, the CBSA invoices, the
D17-R17 balance overview, applying a credit to chosen debts (decision O20), paying by card
(D17-R23, decision O21) — pages and JSON."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Connection

from carm.cards import pay_by_card
from core.money import parse_amount
from ledger.channels import CHEQUE
from statements.i18n import money, type_label
from statements.overview import balance_overview
from statements.overview_render import overview_pdf
from statements.query import balances_before, lines_between
from store import portal as db
from store.channels import channel_allowed
from store.journal import items_as_of
from store.ledger import account_view

from .security import new_token
from .text import word
from .web import Portal, day_of, portal_of

__all__ = ["router"]

router = APIRouter()

HISTORY_PAGE = 25  # G-R4 transaction history
RECENT_DAYS, RECENT_COUNT = 60, 10  # the home page's recent transactions (G-R4)
CHARGES = ("penalty", "interest", "fee")  # what a CBSA invoice bills


def _summaries(p: Portal, conn: Connection, bn9: str) -> list[dict]:
    out = []
    for rm15 in p.visible(conn, bn9):
        view = account_view(conn, rm15, p.today())
        out.append({"rm15": rm15, "name": view.name, "status": view.status, "balance_cents": view.balance_cents,
                    "overdue_cents": view.overdue_cents, "credit_cents": -sum(c.balance_cents for c in view.credits)})
    return out


def _status(left: int, amount: int) -> str:
    if left < 0:
        return "status_credit"  # money on the account not yet applied to a debt
    if amount < 0:
        return "status_applied"  # a payment or credit that went to a debt
    return "status_outstanding" if left > 0 else "status_settled"


def _movements(p: Portal, conn: Connection, rm15s: list[str], first: date, kinds: tuple[str, ...] | None = None) -> list[dict]:
    """The journal's movements on the accounts since `first`, newest first, each with what is still
    open of its item today and a status: unapplied credit, applied, outstanding, settled (G-R4);
    with `kinds`, only the charges of those item kinds."""
    out = []
    for rm15 in rm15s:
        open_now = {it.id: it.balance_cents for it in items_as_of(conn, rm15, p.today())}
        for line in lines_between(conn, rm15, rm15, first, p.today()).get(rm15, []):
            if kinds is not None and (line.kind not in kinds or line.amount_cents <= 0):
                continue
            left = open_now.get(line.item_id, 0)
            out.append({"rm15": rm15, "line": line, "open_cents": left, "status": _status(left, line.amount_cents)})
    return sorted(out, key=lambda m: (m["line"].date, m["line"].entry_id), reverse=True)


@router.get("/")
def home(request: Request):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = p.signed_in(request, conn)
        if away:
            return away
        rows = _summaries(p, conn, who.user.bn9)
        recent = _movements(p, conn, [r["rm15"] for r in rows], p.today() - timedelta(days=RECENT_DAYS))[:RECENT_COUNT]
    return p.page("home.html", who, accounts=rows, as_of=p.today(), recent=recent,
                  type_label=lambda code: type_label(code, who.language))


@router.get("/api/accounts")
def api_accounts(request: Request):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
        if who.user is None or who.user.bn9 is None:
            return JSONResponse({"error": "sign in"}, status_code=401)
        return JSONResponse({"as_of": str(p.today()), "accounts": _summaries(p, conn, who.user.bn9)})


@router.get("/invoices")
def invoices(request: Request):
    """G-R4 « factures de l'ASFC »: the penalties, interest and fees charged in the last year."""
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = p.signed_in(request, conn)
        if away:
            return away
        charged = _movements(p, conn, p.visible(conn, who.user.bn9), p.today() - timedelta(days=365), kinds=CHARGES)
    return p.page("invoices.html", who, charges=charged, type_label=lambda code: type_label(code, who.language))


@router.get("/accounts/{rm15}")
def account(request: Request, rm15: str):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = p.account_of(request, conn, rm15)
        if away:
            return away
        view = account_view(conn, rm15, p.today())
        cheque = channel_allowed(conn, rm15, CHEQUE, policy=p.policy)
    if view is None:
        return p.not_found(who)
    own = rm15[:9] == who.user.bn9  # a provider sees its client's account; only the holder moves its credits
    return p.page("account.html", who, view=view, own=own, nonce=new_token(), message=None, cheque=cheque,
                  type_label=lambda code: type_label(code, who.language))


@router.get("/api/accounts/{rm15}")
def api_account(request: Request, rm15: str):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
        if who.user is None or who.user.bn9 is None:
            return JSONResponse({"error": "sign in"}, status_code=401)
        view = account_view(conn, rm15, p.today()) if p.sees(conn, who.user.bn9, rm15) else None
    return JSONResponse(view.as_dict()) if view else JSONResponse({"error": "not found"}, status_code=404)


def _credit_request(form) -> tuple[str, int, list[int]] | None:
    """(form nonce, credit item, debt items in order), None when the form does not name them."""
    nonce = str(form.get("nonce", ""))
    try:
        credit_id, debt_ids = int(str(form.get("credit", ""))), [int(str(d)) for d in form.getlist("debt")]
    except ValueError:
        return None
    return (nonce, credit_id, debt_ids) if re.fullmatch(r"[A-Za-z0-9_-]{43}", nonce) and debt_ids else None


@router.post("/accounts/{rm15}/apply-credit")
async def apply_credit(request: Request, rm15: str):
    """G-R4: one unapplied credit of the holder's own account to the debts it ticked, in their
    order, keyed by the form (sent twice, applied once)."""
    p = portal_of(request)
    form = await request.form()
    with p.engine.begin() as conn:
        who, away = p.account_of(request, conn, rm15)
        if away:
            return away
        if not p.csrf_ok(request, form, who):
            return p.refused(who)
        if rm15[:9] != who.user.bn9:
            return p.not_found(who)
        asked = _credit_request(form)
        done = db.CreditApplied(None, 0) if asked is None else db.apply_credit(
            conn, rm15, asked[1], asked[2], key=f"portal:credit:{rm15}:{asked[0]}", day=p.today(), at=p.config.now(),
            description=f"credit applied to chosen debts by portal user {who.user.username}")
        view = account_view(conn, rm15, p.today())
        cheque = channel_allowed(conn, rm15, CHEQUE, policy=p.policy)
    lang = who.language
    if done.replay:
        message = word("credit_replay", lang)
    elif done.applied_cents:
        message = word("credit_applied", lang, amount=money(done.applied_cents, lang))
    else:
        message = word("credit_nothing", lang)
    return p.page("account.html", who, 200 if done.applied_cents or done.replay else 400, view=view, own=True, nonce=new_token(),
                  message=message, cheque=cheque, type_label=lambda code: type_label(code, lang))


@router.post("/accounts/{rm15}/pay-card")
async def pay_card(request: Request, rm15: str):
    """D17-R23: a card payment for an account the visitor sees (its own, or a client's its
    relationship covers), posted by the 820's posting; at most the policy's limit an account a
    billing cycle, refused with the reason before the card is charged. Keyed by the form: sent
    twice, charged once (decision O21)."""
    p = portal_of(request)
    form = await request.form()
    with p.engine.begin() as conn:
        who, away = p.account_of(request, conn, rm15)
        if away:
            return away
        if not p.csrf_ok(request, form, who):
            return p.refused(who)
        nonce, token = str(form.get("nonce", "")), str(form.get("token", "")).strip()
        cents = parse_amount(str(form.get("amount", "")).strip())
        lang = who.language
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", nonce) or cents is None or cents <= 0 or not re.fullmatch(r"[A-Za-z0-9_]{1,40}", token):
            message, status = word("card_invalid", lang), 400
        else:
            done = pay_by_card(conn, rm15, cents, payer_bn9=who.user.bn9, token=token,
                               reference="WEB" + hashlib.sha256(nonce.encode()).hexdigest()[:24], received_at=p.config.now(),
                               processor=p.config.cards, policy=p.policy)
            if not done.new:
                message, status = word("card_replay", lang), 200
            elif done.reasons:
                message, status = word("card_refused", lang, reasons="; ".join(done.reasons)), 400
            else:
                message, status = word("card_paid", lang, amount=money(cents, lang), authorisation=done.request.authorisation), 200
        view = account_view(conn, rm15, p.today())
        cheque = channel_allowed(conn, rm15, CHEQUE, policy=p.policy)
    return p.page("account.html", who, status, view=view, own=rm15[:9] == who.user.bn9, nonce=new_token(), message=message,
                  cheque=cheque, type_label=lambda code: type_label(code, lang))


@router.get("/accounts/{rm15}/overview.pdf")
def overview(request: Request, rm15: str):
    """D17-R17: the balance overview, as `carm reports balance` renders it, in the page's language."""
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = p.account_of(request, conn, rm15)
        if away:
            return away
        data = overview_pdf(balance_overview(conn, rm15, p.today()), who.language, paper=p.policy.paper)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{rm15}-overview-{p.today()}.pdf"'})


def _history_csv(rows: list, name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["date", "type", "transaction_number", "reference", "description", "amount_cents", "balance_after_cents"])
    for line, after in rows:
        writer.writerow([line.date.isoformat(), line.type, line.transaction_number or "", line.reference or "",
                         line.description, line.amount_cents, after])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/accounts/{rm15}/history")
def history(request: Request, rm15: str, start: str | None = None, end: str | None = None, kind: str = "",
            page_no: int = 1, format: str = "html"):
    """G-R4: every movement of a date range (a year to today by default) with the balance after it,
    a kind filter, 25 a page, or all of it as CSV."""
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = p.account_of(request, conn, rm15)
        if away:
            return away
        last = day_of(end) or p.today()
        first = day_of(start) or last - timedelta(days=365)
        lines = lines_between(conn, rm15, rm15, first, last).get(rm15, [])
        running = sum(balances_before(conn, [rm15], None, first).get(rm15, {}).values())
    rows = []
    for line in lines:
        running += line.amount_cents
        rows.append((line, running))
    kinds = sorted({line.type for line in lines})
    rows = [r for r in rows if r[0].type == kind] if kind else rows
    if format == "csv":
        return _history_csv(rows, f"{rm15}-{first}-{last}.csv")
    pages = max(1, -(-len(rows) // HISTORY_PAGE))
    page_no = min(max(1, page_no), pages)
    return p.page("history.html", who, rm15=rm15, rows=rows[(page_no - 1) * HISTORY_PAGE: page_no * HISTORY_PAGE], first=first,
                  last=last, kind=kind, kinds=kinds, page_no=page_no, pages=pages, query=f"start={first}&end={last}&kind={quote(kind)}",
                  type_label=lambda code: type_label(code, who.language))
