"""The CARM Client Portal: server-rendered pages (Jinja2) with a JSON API beside them, over the
ledger (G-R1…G-R5; `docs/portal.md`).

    /signup /signin /signout      G-R5 credentials (argon2id), sessions, slowed then locked sign-in   (auth)
    /enrol                        G-R2 proof questions from the ledger; the 10th failure locks it     (auth)
    /users                        the business account manager: the business's users, access revoked (auth)
    /                             G-R4 each program account visible: balance, overdue, credits; recent transactions (finance)
    /accounts/{rm15}              open items, credits applied to chosen debts; /history (25 a page, CSV);
                                  /overview.pdf (D17-R17)                                             (finance)
    /invoices                     G-R4 CBSA invoices: penalties, interest and fees charged            (finance)
    /documents                    the Statements of Account and Daily Notices issued to the business  (papers)
    /notices                      G-R1 notices, 10 a page, newest first, date range; read / unread    (papers)
    /settings /upload             G-R1 per-user e-mail and language; G-R3 document upload             (profile)
    /api/accounts /api/notices    the same facts as JSON

Who sees what (decision O20): a user sees its business's own program accounts and those its
relationships cover today (D17-R3, `statements.query.Coverage`, as the statements do); documents
and notices addressed to its business. Anything else answers 404, as if it did not exist.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from . import auth, finance, papers, profile
from .security import SECURITY_HEADERS
from .web import LANG_COOKIE, Portal, PortalConfig, portal_of, safe_next

__all__ = ["create_app", "PortalConfig"]


async def _headers(request: Request, call_next):
    """Every answer — pages, files, errors, redirects — carries the security headers."""
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if portal_of(request).config.secure_cookies:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _stylesheet(request: Request) -> Response:
    env = portal_of(request).env
    return Response(env.loader.get_source(env, "portal.css")[0], media_type="text/css")


def _language(request: Request, lang: str, next: str = "/") -> Response:
    """The switch on every page: the same page again, in the other language."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in ("en", "fr"):
        portal_of(request).cookie(response, LANG_COOKIE, lang, samesite="lax", max_age=31536000)
    return response


def create_app(engine: Engine, config: PortalConfig) -> FastAPI:
    app = FastAPI(title="CARM Client Portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.portal = Portal(engine, config)
    app.middleware("http")(_headers)
    app.add_api_route("/portal.css", _stylesheet, methods=["GET"])
    app.add_api_route("/language/{lang}", _language, methods=["GET"])
    for module in (auth, finance, papers, profile):
        app.include_router(module.router)
    return app
