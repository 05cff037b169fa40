"""Partner folders behind one narrow interface: SFTP in production, local folders embedded.

Every trading partner (FI, broker, importer) has an `inbox/` (what it sends
us) and an `outbox/` (what we send it).  The engine only ever:

* lists the partner's inbox (`scan`: the files it may take, and the strays it will not —
  dot files, partial uploads, folders, links, names that are not UTF-8 — so they can be
  reported rather than silently ignored), and reads the tail of a file to see whether its
  upload is complete,
* claims a file atomically (a rename into `inbox/.claimed/`, so two workers
  never take the same file and a crash leaves it visible, not lost),
* reads the claimed bytes (whole, or copied in chunks into a file of the engine's),
* writes a document into the partner's outbox atomically (a `.part` file,
  then a rename, so the partner never reads half a file),
* moves a claimed file to `processed/` or `quarantine/` when done.

`LocalFolders` is the embedded twin (the same layout on a local disk); the
SFTP implementation (`transport.sftp.SftpFolders`) speaks to a real OpenSSH server.
Both satisfy `PartnerFolders`; the application sees only that.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from core.errors import CarmError
from core.files import atomic_write

__all__ = [
    "PartnerFolders", "InboxFile", "Stray", "InboxScan", "LocalFolders", "TransportError",
    "CLAIMED", "PROCESSED", "QUARANTINE", "PARTIAL_SUFFIXES", "stray_kind",
]

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
        mtime: modification time, seconds since the epoch, as the partner's client set it.
    """

    partner: str
    name: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class Stray:
    """Something in an inbox the engine does not take.

    Attributes:
        partner: the partner's folder.
        name: its name (a name that is not UTF-8 is shown with its undecodable bytes escaped).
        kind: `dot-file`, `partial-upload`, `folder`, `link`, `not-utf8`, `special`.
        size / mtime: as listed.
    """

    partner: str
    name: str
    kind: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class InboxScan:
    files: tuple[InboxFile, ...]
    strays: tuple[Stray, ...]


#: Uploads in progress by well-behaved clients use these suffixes; they are not taken.
PARTIAL_SUFFIXES = (".part", ".tmp", ".filepart")


def stray_kind(name: str, is_file: bool, is_dir: bool, is_link: bool) -> str | None:
    """Why an inbox entry is not taken, or None when it is a file to take."""
    if is_link:
        return "link"
    if is_dir:
        return "folder"
    if not is_file:
        return "special"
    if _surrogates(name):  # decoded with surrogateescape: its bytes are not UTF-8
        return "not-utf8"
    if name.startswith("."):
        return "dot-file"
    if name.endswith(PARTIAL_SUFFIXES):
        return "partial-upload"
    return None


def printable(name: str) -> str:
    """A name as people and logs can read it (bytes that are not UTF-8, and control characters, escaped)."""
    out = []
    for char in name:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as surrogateescape keeps it
            out.append(f"\\x{code - 0xDC00:02x}")
        elif not char.isprintable():
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


def _surrogates(name: str) -> bool:
    return any(0xDC80 <= ord(c) <= 0xDCFF for c in name)


class PartnerFolders(Protocol):
    def partners(self) -> list[str]:
        """Every partner folder there is."""

    def scan(self, partner: str) -> InboxScan:
        """The partner's inbox: files to take (not yet claimed), oldest first, and the strays."""

    def inbox(self, partner: str) -> list[InboxFile]:
        """Files waiting in the partner's inbox (not yet claimed), oldest first: `scan(partner).files`."""

    def tail(self, file: InboxFile, size: int) -> bytes:
        """The last `size` bytes of a file waiting in the inbox (to see whether its upload is complete)."""

    def claimed(self, partner: str) -> list[InboxFile]:
        """Files claimed but not yet finished (a run that stopped half-way): to be resumed."""

    def claim(self, file: InboxFile) -> InboxFile | None:
        """Take the file atomically; None when another worker took it first, or when a file of the
        same name is still claimed and unfinished (it is never overwritten: the new one waits)."""

    def read_claimed(self, file: InboxFile) -> bytes:
        """The bytes of a claimed file."""

    def copy_claimed(self, file: InboxFile, out: BinaryIO) -> None:
        """Write the bytes of a claimed file to `out` in chunks (a large file is never held whole)."""

    def finish(self, file: InboxFile, folder: str) -> None:
        """Move a claimed file to `processed/` or `quarantine/` (idempotent)."""

    def read_finished(self, partner: str, folder: str, name: str) -> bytes:
        """The bytes of a file filed away in `processed/` or `quarantine/`."""

    def restore(self, partner: str, folder: str, name: str) -> None:
        """Move a file filed away back into the partner's inbox (an operator's replay)."""

    def deliver(self, partner: str, name: str, data: bytes) -> None:
        """Write `data` to the partner's outbox as `name`, atomically (idempotent for the same bytes)."""

    def outbox(self, partner: str) -> list[str]:
        """Names of the files in the partner's outbox."""


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

    def _scan(self, partner: str, folder: Path) -> InboxScan:
        files, strays = [], []
        with os.scandir(os.fsencode(folder)) as entries:  # bytes: a name that is not UTF-8 stays listable
            for entry in entries:
                name = os.fsdecode(entry.name)
                info = entry.stat(follow_symlinks=False)
                kind = stray_kind(name, entry.is_file(follow_symlinks=False), entry.is_dir(follow_symlinks=False), entry.is_symlink())
                if kind is None:
                    files.append(InboxFile(partner, name, info.st_size, info.st_mtime))
                elif not (kind == "folder" and name == CLAIMED):
                    strays.append(Stray(partner, printable(name), kind, info.st_size, info.st_mtime))
        return InboxScan(tuple(sorted(files, key=lambda f: (f.mtime, f.name))), tuple(sorted(strays, key=lambda s: s.name)))

    def scan(self, partner: str) -> InboxScan:
        return self._scan(partner, self._dir(partner, "inbox"))

    def inbox(self, partner: str) -> list[InboxFile]:
        return list(self.scan(partner).files)

    def claimed(self, partner: str) -> list[InboxFile]:
        return list(self._scan(partner, self._dir(partner, "inbox", CLAIMED)).files)

    def tail(self, file: InboxFile, size: int) -> bytes:
        path = self._dir(file.partner, "inbox") / file.name
        try:
            with path.open("rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - size))
                return handle.read(size)
        except OSError as exc:
            raise TransportError(f"read the end of {path}: {exc}") from exc

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
        path = self._dir(file.partner, "inbox", CLAIMED) / file.name
        try:
            return path.read_bytes()
        except OSError as exc:  # e.g. an upload whose permissions shut the engine out
            raise TransportError(f"read {path}: {exc}") from exc

    def copy_claimed(self, file: InboxFile, out: BinaryIO) -> None:
        path = self._dir(file.partner, "inbox", CLAIMED) / file.name
        try:
            with path.open("rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)
        except OSError as exc:  # e.g. an upload whose permissions shut the engine out
            raise TransportError(f"read {path}: {exc}") from exc

    def finish(self, file: InboxFile, folder: str) -> None:
        source = self._dir(file.partner, "inbox", CLAIMED) / file.name
        target = self._dir(file.partner, folder) / file.name
        if source.exists():
            os.replace(source, target)

    def read_finished(self, partner: str, folder: str, name: str) -> bytes:
        path = self._dir(partner, folder) / name
        try:
            return path.read_bytes()
        except OSError as exc:
            raise TransportError(f"read {path}: {exc}") from exc

    def restore(self, partner: str, folder: str, name: str) -> None:
        source, target = self._dir(partner, folder) / name, self._dir(partner, "inbox") / name
        if target.exists():
            raise TransportError(f"{target} exists: the partner uploaded a file of the same name; move it aside first")
        os.replace(source, target)

    def deliver(self, partner: str, name: str, data: bytes) -> None:
        outbox = self._dir(partner, "outbox")
        target = outbox / name
        if target.exists() and target.read_bytes() == data:
            return
        atomic_write(target, data)

    def outbox(self, partner: str) -> list[str]:
        return sorted(p.name for p in self._dir(partner, "outbox").iterdir() if not p.name.startswith("."))
