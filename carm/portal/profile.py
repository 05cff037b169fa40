"""A user's own settings (G-R1: e-mail subscription, preferred language, address) and document
upload (G-R3: ≤ 10 files of ≤ 15 MB of the listed types, each refusal with its reason; files kept
under their SHA-256, never served back)."""

from __future__ import annotations

import hashlib
import re

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from core.files import atomic_write
from store import portal as db

from .text import word
from .web import Portal, portal_of

__all__ = ["router", "CATEGORIES"]

router = APIRouter()

CATEGORIES = ("appeal", "refund", "payment", "other")
_REFERENCE = re.compile(r"[A-Za-z0-9]{1,10}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


@router.get("/settings")
def settings_form(request: Request):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
    if who.user is None:
        return p.redirect("/signin", who)
    return p.page("settings.html", who, message=None)


@router.post("/settings")
async def settings(request: Request):
    p = portal_of(request)
    form = await request.form()
    with p.engine.begin() as conn:
        who = p.visitor(request, conn)
        if who.user is None:
            return p.redirect("/signin", who)
        if not p.csrf_ok(request, form, who):
            return p.refused(who)
        language = form.get("language") if form.get("language") in ("en", "fr") else who.user.language
        email = str(form.get("email", "")).strip() or None
        if email is not None and not _EMAIL.fullmatch(email):
            return p.page("settings.html", who, 400, message=None, error=word("email_invalid", who.language))
        db.set_preferences(conn, who.user.id, language, form.get("email_notices") == "yes", email)
        who.user = db.user_by_id(conn, who.user.id)
    return p.page("settings.html", who, message=word("saved", who.language))


@router.get("/upload")
def upload_form(request: Request):
    p = portal_of(request)
    with p.engine.begin() as conn:
        who, away = p.signed_in(request, conn)
        if away:
            return away
        done = db.uploads_of(conn, who.user.bn9)
    return p.page("upload.html", who, categories=CATEGORIES, errors=[], uploads=done)


def _problems(p: Portal, form, files: list[UploadFile], lang: str) -> list[str]:
    """What is wrong with an upload before its files are read: category, reference, count, types,
    the sizes the browser declared."""
    policy, errors = p.policy, []
    if form.get("category") not in CATEGORIES:
        errors.append(word("upload_category", lang))
    if not _REFERENCE.fullmatch(str(form.get("reference", ""))):
        errors.append(word("upload_reference", lang))
    if not files:
        errors.append(word("upload_none", lang))
    if len(files) > policy.portal_upload_max_files:
        errors.append(word("upload_count", lang, limit=policy.portal_upload_max_files))
    for f in files:
        if "." not in f.filename or f.filename.rsplit(".", 1)[-1].lower() not in policy.portal_upload_types:
            errors.append(word("upload_type", lang, name=f.filename))
        elif f.size is not None and f.size > policy.portal_upload_max_bytes:
            errors.append(word("upload_size", lang, name=f.filename))
    return errors


async def _contents(p: Portal, files: list[UploadFile], lang: str, errors: list[str]) -> list[tuple[str, bytes]]:
    """Each file's bytes, read to one byte past the limit at most; an empty or too large one is an error."""
    out = []
    for f in files:
        data = await f.read(p.policy.portal_upload_max_bytes + 1)
        if len(data) > p.policy.portal_upload_max_bytes:
            errors.append(word("upload_size", lang, name=f.filename))
        elif not data:
            errors.append(word("upload_empty", lang, name=f.filename))
        out.append((f.filename, data))
    return out


@router.post("/upload")
async def upload(request: Request):
    p = portal_of(request)
    form = await request.form(max_files=p.policy.portal_upload_max_files + 1, max_fields=20)
    with p.engine.begin() as conn:
        who, away = p.signed_in(request, conn)
        if away:
            return away
        if not p.csrf_ok(request, form, who):
            return p.refused(who)
        lang = who.language
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        errors = _problems(p, form, files, lang)
        contents = [] if errors else await _contents(p, files, lang, errors)
        for name, data in contents if not errors else ():
            digest = hashlib.sha256(data).hexdigest()
            target = p.config.uploads_dir / digest  # a name of its content, in no served folder
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(target, data)
            db.record_upload(conn, user_id=who.user.id, bn9=who.user.bn9, category=str(form["category"]),
                             reference=str(form["reference"]), file_name=name[:255], size=len(data), digest=digest,
                             uploaded_at=p.config.now())
        done = db.uploads_of(conn, who.user.bn9)
    message = None if errors else word("upload_done", lang, count=len(contents))
    return p.page("upload.html", who, 400 if errors else 200, categories=CATEGORIES, errors=errors, uploads=done, message=message)
