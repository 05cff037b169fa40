"""What every page of the portal shares: its configuration, who is asking (`Visitor`), the CSRF
check, rendering in the visitor's language, and who may see which account.

`Portal` is built once by `create_app` and kept in `app.state`; a route reaches it with
`portal_of(request)`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Connection, Engine

from carm.cards import CardProcessor, FakeCardProcessor
from core import clock
from ledger.policy import Policy
from statements.i18n import describe, long_date, money
from statements.query import Coverage, accounts
from store import portal as db

from .security import Passwords, new_token, token_digest
from .text import word

__all__ = ["PortalConfig", "Portal", "Visitor", "portal_of", "safe_next", "day_of", "aware",
           "SESSION_COOKIE", "CSRF_COOKIE", "LANG_COOKIE"]

SESSION_COOKIE, CSRF_COOKIE, LANG_COOKIE = "carm_session", "carm_csrf", "carm_lang"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_RM15 = re.compile(r"[0-9]{9}RM[0-9]{4}")


@dataclass
class PortalConfig:
    """What the portal works with: the documents issued (`$CARM_HOME/documents`), where uploads are
    kept, the policy's limits, whether cookies are `Secure` (a browser keeps them over HTTPS and
    on `localhost`), the clock, the password hasher, and the card processor (outside the engine:
    the deterministic `FakeCardProcessor` unless a real one is given, decision O21)."""

    documents_dir: Path
    uploads_dir: Path
    policy: Policy = field(default_factory=Policy)
    secure_cookies: bool = True
    now: Callable[[], datetime] = clock.now
    passwords: Passwords = field(default_factory=Passwords)
    cards: CardProcessor = field(default_factory=FakeCardProcessor)


@dataclass
class Visitor:
    """Who is asking: the signed-in user (None before), the CSRF token its forms must carry, the
    language of the page, its session, a CSRF cookie to set, and the page asked for."""

    user: db.User | None
    csrf: str
    language: str
    session_digest: str | None = None
    new_csrf_cookie: str | None = None
    path: str = "/"


def aware(instant: datetime | None, like: datetime) -> datetime | None:
    """SQLite gives back naive instants of what was stored aware: read them in the clock's zone."""
    if instant is None or instant.tzinfo is not None:
        return instant
    return instant.replace(tzinfo=like.tzinfo)


def safe_next(target: str | None) -> str:
    """Only a path of this site: never `//elsewhere` or `https://elsewhere`."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def day_of(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def portal_of(request: Request) -> Portal:
    return request.app.state.portal


class Portal:
    def __init__(self, engine: Engine, config: PortalConfig) -> None:
        self.engine = engine
        self.config = config
        self.policy = config.policy
        self.env = Environment(loader=PackageLoader("carm.portal", "templates"), autoescape=select_autoescape(default=True))

    def today(self) -> date:
        return self.config.now().astimezone(clock.EASTERN).date()

    def cookie(self, response: Response, name: str, value: str, *, samesite: str = "strict", max_age: int | None = None) -> None:
        response.set_cookie(name, value, httponly=True, secure=self.config.secure_cookies, samesite=samesite, max_age=max_age)

    # ------------------------------------------------------------------ who is asking
    def visitor(self, request: Request, conn: Connection) -> Visitor:
        now = self.config.now()
        token = request.cookies.get(SESSION_COOKIE)
        digest = token_digest(token) if token else None
        found = digest and db.session_of(conn, digest, now, now + timedelta(minutes=self.policy.portal_session_minutes))
        lang = request.cookies.get(LANG_COOKIE)
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if found:
            user, csrf = found
            return Visitor(user, csrf, lang if lang in ("en", "fr") else user.language, digest, path=here)
        csrf = request.cookies.get(CSRF_COOKIE) or ""
        fresh = None
        if not _TOKEN.fullmatch(csrf):
            csrf = fresh = new_token()
        return Visitor(None, csrf, lang if lang in ("en", "fr") else "en", None, fresh, here)

    def csrf_ok(self, request: Request, form, who: Visitor) -> bool:
        """Every form carries the visitor's token (the session's, or the anonymous cookie's), and
        a browser's Origin, when it sends one, is this site."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host"):
            return False
        sent = form.get("csrf") if form is not None else None
        return isinstance(sent, str) and bool(who.csrf) and secrets.compare_digest(sent, who.csrf)

    def signed_in(self, request: Request, conn: Connection) -> tuple[Visitor, Response | None]:
        """The visitor, or where it must go first: sign in, or enrol a business."""
        who = self.visitor(request, conn)
        if who.user is None:
            return who, self.redirect("/signin?next=" + quote(request.url.path), who)
        if who.user.bn9 is None:
            return who, self.redirect("/enrol", who)
        return who, None

    def visible(self, conn: Connection, bn9: str) -> list[str]:
        """The program accounts a business sees today: its own, and those its relationships cover (D17-R3)."""
        coverage = Coverage(conn, self.today())
        return [a.rm15 for a in accounts(conn) if coverage.covers(bn9, a.rm15)]

    def sees(self, conn: Connection, bn9: str, rm15: str) -> bool:
        return bool(_RM15.fullmatch(rm15)) and Coverage(conn, self.today()).covers(bn9, rm15)

    def account_of(self, request: Request, conn: Connection, rm15: str) -> tuple[Visitor, Response | None]:
        """The signed-in visitor when it may see `rm15`; otherwise a 404, as for an account that does not exist."""
        who, away = self.signed_in(request, conn)
        if away:
            return who, away
        return who, None if self.sees(conn, who.user.bn9, rm15) else self.not_found(who)

    # ------------------------------------------------------------------ answers
    def page(self, name: str, who: Visitor, status: int = 200, **values) -> HTMLResponse:
        lang = who.language
        html = self.env.get_template(name).render(
            w=lambda key, **v: word(key, lang, **v), lang=lang, other="fr" if lang == "en" else "en", user=who.user,
            csrf=who.csrf, here=quote(who.path, safe=""), describe=lambda item: describe(item, lang),
            money=lambda cents: money(int(cents), lang), day=lambda d: long_date(d, lang) if d else "",
            card_limit=self.policy.card_limit_per_cycle_cents, **values,
        )
        return self.finish(HTMLResponse(html, status_code=status), who)

    def finish(self, response: Response, who: Visitor) -> Response:
        if who.new_csrf_cookie:
            self.cookie(response, CSRF_COOKIE, who.new_csrf_cookie)
        return response

    def redirect(self, target: str, who: Visitor | None = None) -> Response:
        response = RedirectResponse(target, status_code=303)
        return self.finish(response, who) if who else response

    def not_found(self, who: Visitor) -> HTMLResponse:
        return self.page("message.html", who, 404, message=word("not_found", who.language))

    def refused(self, who: Visitor) -> HTMLResponse:
        return self.page("message.html", who, 403, message=word("forbidden", who.language))
