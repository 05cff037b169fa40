"""What was issued to the business: its Statements of Account and Daily Notices (D17-R14, R15),
served as the stored files — a PDF drawn from the stored HTML when first asked for, then kept
(decision S12) —, and its notices (G-R1: 10 a page, newest first, a date range, read
or unread per user)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from statements.notices import list_notices, notice_detail
from statements.ondemand import PdfCache
from store import portal as db

from .web import Portal, day_of, portal_of

__all__ = ["router"]

router = APIRouter()

NOTICES_PAGE = 10  # G-R1
_DOCUMENT = re.compile(r"(?P<bn9>[0-9]{9})-(?P<type>DN|SOA)-(?P<day>[0-9]{8})-(?P<seq>[0-9]{4})\.(?P<ext>pdf|xml)")


def _documents_of(p: Portal, bn9: str) -> dict[str, Path]:
    """The DN and SOA files addressed to `bn9`, by file name (the names the statements layer gave
    them: `<recipient BN9>-<DN|SOA>-<YYYYMMDD>-<NNNN>.<ext>`, D17-R16): each stored XML and PDF,
    and the PDF of each stored HTML (its path the HTML's) when no PDF was stored."""
    found: dict[str, Path] = {}
    for doc_type in ("DN", "SOA"):
        folder = p.config.documents_dir / doc_type
        if folder.is_dir():
            for path in sorted(folder.glob(f"*/{bn9}-{doc_type}-*")):
                name = path.with_suffix(".pdf").name if path.suffix == ".html" else path.name
                if _DOCUMENT.fullmatch(name) and (name not in found or path.suffix == ".pdf"):
                    found[name] = path
    return found


@router.get("/documents")
def documents(request: Request):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = p.signed_in(request, conn)
    if away:
        return away
    grouped: dict[str, dict] = {}
    for name in _documents_of(p, who.user.bn9):
        m = _DOCUMENT.fullmatch(name)
        stem = name.rsplit(".", 1)[0]
        day = date(int(m["day"][:4]), int(m["day"][4:6]), int(m["day"][6:]))
        grouped.setdefault(stem, {"type": m["type"], "day": day, "stem": stem, "formats": []})["formats"].append(m["ext"])
    rows = sorted(grouped.values(), key=lambda e: (e["day"], e["stem"]), reverse=True)
    return p.page("documents.html", who, documents=rows)


@router.get("/documents/{name}")
def document(request: Request, name: str):
    """The stored file itself, byte for byte (what the recipient's folder received)."""
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = p.signed_in(request, conn)
    if away:
        return away
    path = _documents_of(p, who.user.bn9).get(name) if _DOCUMENT.fullmatch(name) else None
    if path is None:
        return p.not_found(who)
    media = "application/pdf" if name.endswith(".pdf") else "application/xml"
    data = PdfCache(p.config.documents_dir / ".pdf-cache", p.policy.paper).pdf_of(path) if path.suffix == ".html" else path.read_bytes()
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/notices")
def notices(request: Request, start: str | None = None, end: str | None = None, page_no: int = 1):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = p.signed_in(request, conn)
        if away:
            return away
        listing = list_notices(conn, date_from=day_of(start), date_to=day_of(end), bn9=who.user.bn9, page=page_no,
                               per_page=NOTICES_PAGE, language=who.language)
        read = db.read_notices(conn, who.user.id, [e.id for e in listing.entries])
    query = f"start={start or ''}&end={end or ''}"
    return p.page("notices.html", who, listing=listing, read=read, start=start or "", end=end or "", query=query)


@router.get("/api/notices")
def api_notices(request: Request, start: str | None = None, end: str | None = None, page_no: int = 1):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
        if who.user is None or who.user.bn9 is None:
            return JSONResponse({"error": "sign in"}, status_code=401)
        listing = list_notices(conn, date_from=day_of(start), date_to=day_of(end), bn9=who.user.bn9, page=page_no,
                               per_page=NOTICES_PAGE, language=who.language)
        read = db.read_notices(conn, who.user.id, [e.id for e in listing.entries])
    return JSONResponse({
        "page": listing.page, "pages": listing.pages, "total": listing.total,
        "notices": [{"id": e.id, "date": str(e.date), "account": e.account, "kind": e.kind, "type": e.type, "urgent": e.urgent,
                     "subject": e.subject, "read": e.id in read} for e in listing.entries],
    })


@router.get("/notices/{notice_id}")
def notice(request: Request, notice_id: int):
    """One notice of the business, in the page's language; opening it marks it read for this user."""
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = p.signed_in(request, conn)
        if away:
            return away
        entry = notice_detail(conn, notice_id, language=who.language)
        if entry is None or entry.bn9 != who.user.bn9:
            return p.not_found(who)
        db.mark_read(conn, who.user.id, notice_id, p.config.now())
    return p.page("notice.html", who, entry=entry)
