"""PDFs drawn when asked for, not in the run (decision S12).

A run writes each document's XML (the delivered document, under its XSD) and HTML; the PDF a
person opens in the portal, or a partner receives in its outbox, is drawn from the stored HTML
when first asked for (`pdf.pdf_of_html`: the same bytes the run would have drawn) and kept
under the digest of the HTML and the paper size, so each later download is the same file read
back — and a re-issued document whose HTML changed gets a new PDF, never a stale one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.files import atomic_write

from .pdf import pdf_of_html

__all__ = ["PdfCache"]


class PdfCache:
    """PDFs of documents' HTML files, drawn once and kept in `folder`."""

    def __init__(self, folder: Path, paper: str = "letter") -> None:
        self.folder = folder
        self.paper = paper

    def pdf_of(self, html_path: Path) -> bytes:
        """The PDF of the document whose HTML is at `html_path`."""
        html = html_path.read_bytes()
        digest = hashlib.sha256(self.paper.encode() + b"\0" + html).hexdigest()
        kept = self.folder / f"{digest}.pdf"
        try:
            return kept.read_bytes()
        except FileNotFoundError:
            pass
        data = pdf_of_html(html, paper=self.paper)
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            atomic_write(kept, data)
        except FileNotFoundError:  # another process drew the same PDF and renamed it first: the same bytes are there
            pass
        return data
