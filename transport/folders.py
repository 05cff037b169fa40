"""Partner folders behind one narrow interface: SFTP in production, local folders embedded.

Every trading partner (FI, broker, importer) has an `inbox/` (what it sends
us) and an `outbox/` (what we send it).  The engine only ever:

* lists the partner's inbox,
* claims a file atomically (a rename into `inbox/.claimed/`, so two workers
  never take the same file and a crash leaves it visible, not lost),
* reads the claimed bytes,
* writes a document into the partner's outbox atomically (a `.part` file,
  then a rename, so the partner never reads half a file),
* moves a claimed file to `processed/` or `quarantine/` when done.

`LocalFolders` is the embedded twin (the same layout on a local disk); the
SFTP implementation (`transport.sftp.SftpFolders`) speaks to a real OpenSSH server.
Both satisfy `PartnerFolders`; the application sees only that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.errors import CarmError
from core.files import atomic_write

__all__ = ["PartnerFolders", "InboxFile", "LocalFolders", "TransportError", "CLAIMED", "PROCESSED", "QUARANTINE"]

CLAIMED = ".claimed"
PROCESSED = "processed"
QUARANTINE = "quarantine"


class TransportError(CarmError):
    """The folders cannot be reached or changed (network, permissions): infrastructure, retryable."""


@dataclass(frozen=True, slots=True)
class InboxFile:
    """A file waiting in (or claimed from) a partner's inbox.

    Attributes:
        partner: the partner's folder name (its SFTP user).
        name: the file name as the partner wrote it.
        size: bytes.
        mtime: modification time, seconds since the epoch (the receipt time).
    """

    partner: str
    name: str
    size: int
    mtime: float


class PartnerFolders(Protocol):
    def partners(self) -> list[str]:
        """Every partner folder there is."""

    def inbox(self, partner: str) -> list[InboxFile]:
        """Files waiting in the partner's inbox (not yet claimed), oldest first; partial uploads excluded."""

    def claimed(self, partner: str) -> list[InboxFile]:
        """Files claimed but not yet finished (a run that stopped half-way): to be resumed."""

    def claim(self, file: InboxFile) -> InboxFile | None:
        """Take the file atomically; None when another worker took it first, or when a file of the
        same name is still claimed and unfinished (it is never overwritten: the new one waits)."""

    def read_claimed(self, file: InboxFile) -> bytes:
        """The bytes of a claimed file."""

    def finish(self, file: InboxFile, folder: str) -> None:
        """Move a claimed file to `processed/` or `quarantine/` (idempotent)."""

    def deliver(self, partner: str, name: str, data: bytes) -> None:
        """Write `data` to the partner's outbox as `name`, atomically (idempotent for the same bytes)."""

    def outbox(self, partner: str) -> list[str]:
        """Names of the files in the partner's outbox."""


#: Uploads in progress by well-behaved clients use these suffixes; they are not claimed.
PARTIAL_SUFFIXES = (".part", ".tmp", ".filepart")


class LocalFolders:
    """Partner folders on the local disk: `<root>/<partner>/{inbox,outbox,processed,quarantine}`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _dir(self, partner: str, *parts: str) -> Path:
        path = self.root.joinpath(partner, *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def partners(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _list(self, partner: str, folder: Path) -> list[InboxFile]:
        files = []
        for entry in folder.iterdir():
            if entry.is_file() and not entry.name.startswith(".") and not entry.name.endswith(PARTIAL_SUFFIXES):
                stat = entry.stat()
                files.append(InboxFile(partner, entry.name, stat.st_size, stat.st_mtime))
        return sorted(files, key=lambda f: (f.mtime, f.name))

    def inbox(self, partner: str) -> list[InboxFile]:
        return self._list(partner, self._dir(partner, "inbox"))

    def claimed(self, partner: str) -> list[InboxFile]:
        return self._list(partner, self._dir(partner, "inbox", CLAIMED))

    def claim(self, file: InboxFile) -> InboxFile | None:
        source = self._dir(file.partner, "inbox") / file.name
        target = self._dir(file.partner, "inbox", CLAIMED) / file.name
        if target.exists():
            return None  # an unfinished file of the same name is claimed: this one waits its turn
        try:
            os.rename(source, target)  # atomic on one file system; fails if another worker won
        except FileNotFoundError:
            return None
        return file

    def read_claimed(self, file: InboxFile) -> bytes:
        return (self._dir(file.partner, "inbox", CLAIMED) / file.name).read_bytes()

    def finish(self, file: InboxFile, folder: str) -> None:
        source = self._dir(file.partner, "inbox", CLAIMED) / file.name
        target = self._dir(file.partner, folder) / file.name
        if source.exists():
            os.replace(source, target)

    def deliver(self, partner: str, name: str, data: bytes) -> None:
        outbox = self._dir(partner, "outbox")
        target = outbox / name
        if target.exists() and target.read_bytes() == data:
            return
        atomic_write(target, data)

    def outbox(self, partner: str) -> list[str]:
        return sorted(p.name for p in self._dir(partner, "outbox").iterdir() if not p.name.startswith("."))
