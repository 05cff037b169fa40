"""Partner folders over SFTP (paramiko): the production `transport.folders.PartnerFolders`.

The engine logs in to the partner SFTP server (`sftp_inbox/`) as its service
account (`carm-engine`), chrooted at the partners root, so it sees the same
layout as `transport.folders.LocalFolders`::

    /<partner>/inbox/             what the partner uploads
    /<partner>/inbox/.claimed/    taken by a worker, not finished yet
    /<partner>/outbox/            what we send the partner
    /<partner>/processed/         finished files
    /<partner>/quarantine/        files set aside

Semantics (same as `LocalFolders`):

* `claim` is one SFTP ``posix-rename@openssh.com`` (``rename(2)`` on the server):
  atomic, so exactly one worker wins; a rename that fails because the file is
  gone means another worker won and returns None.
* `deliver` writes ``.<name>.<random>.part`` in the outbox, checks its size,
  then renames it over ``<name>``; the same bytes delivered again are left alone.
* `finish` of a file already finished does nothing.
* Inbox listings take regular files only, oldest first; dot files, partial uploads
  (``*.part``, ``*.tmp``, ``*.filepart``), folders, links and names that are not UTF-8
  are returned as strays (`scan`), never taken and never a reason for a listing to fail.

Every infrastructure failure (network, authentication, host key, permissions,
missing folders) raises `transport.folders.TransportError` chained to the paramiko
or socket error.  The connection is opened on first use and reopened
transparently after the server or the network dropped it; one `SftpFolders`
may be shared by threads (calls are serialised).

The application builds it from its settings (`SftpFolders.from_url`, `core.settings`:
`CARM_SFTP_URL`, `CARM_SFTP_KEY`, `CARM_SFTP_KNOWN_HOSTS`, `CARM_SFTP_STRICT_HOST_KEY`,
`CARM_SFTP_TIMEOUT`) or from an Airflow connection.  `sftp_inbox/start.sh` writes a ready
known_hosts file at ``<state>/known_hosts``.  This module has no Airflow imports.
"""

from __future__ import annotations

import os
import posixpath
import secrets
import socket
import stat
import threading
from collections.abc import Callable
from typing import BinaryIO, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, SFTPError
from paramiko.sftp_attr import SFTPAttributes

from core.errors import ConfigError

from .folders import CLAIMED, InboxFile, InboxScan, Stray, TransportError, printable, stray_kind

__all__ = ["SftpFolders"]

T = TypeVar("T")

_YES = {"1", "yes", "true", "on"}
_NO = {"0", "no", "false", "off"}


def _flag(value: str, what: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise ConfigError(f"{what} must be yes or no, not {value!r}")


def _simple_name(value: str, what: str) -> str:
    """A single path component: no separator, not `.`/`..`, no NUL (names come from listings or our code)."""
    if not value or value in (".", "..") or "/" in value or "\0" in value:
        raise ValueError(f"{what} {value!r} is not a plain file name")
    return value


class SftpFolders:
    """`PartnerFolders` on an SFTP server, as the engine's service account."""

    def __init__(
        self,
        host: str,
        port: int = 22,
        username: str = "carm-engine",
        *,
        key_filename: str | os.PathLike[str] | None = None,
        pkey: paramiko.PKey | None = None,
        passphrase: str | None = None,
        known_hosts: str | os.PathLike[str] | None = None,
        strict_host_key: bool = True,
        root: str = "/",
        timeout: float = 15.0,
    ) -> None:
        """
        Args:
            host, port, username: the server and the engine's account.
            key_filename / pkey: the engine's private key (a file, or a loaded paramiko key); one is required.
                Passwords are not supported: the server accepts keys only.
            passphrase: of an encrypted key file.
            known_hosts: OpenSSH known_hosts file holding the server's host key; None = the user's
                (~/.ssh/known_hosts) and the system's.
            strict_host_key: True (default) refuses a server whose key is not in known_hosts; False accepts
                an unknown key (first use). A key that differs from the one known is refused either way.
            root: where the partner folders are on the server (the engine's chroot makes it `/`).
            timeout: seconds for connecting, authenticating and each request.
        """
        if key_filename is None and pkey is None:
            raise ConfigError("SftpFolders needs the engine's private key (key_filename or pkey)")
        self.host = host
        self.port = int(port)
        self.username = username
        self.root = posixpath.normpath("/" + root.strip("/")) if root else "/"
        self._key_filename = os.fspath(key_filename) if key_filename is not None else None
        self._pkey = pkey
        self._passphrase = passphrase
        self._known_hosts = os.fspath(known_hosts) if known_hosts is not None else None
        self._strict = strict_host_key
        self._timeout = timeout
        self._lock = threading.RLock()
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    # --- construction from configuration -------------------------------------------------------

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        key_filename: str | os.PathLike[str] | None = None,
        pkey: paramiko.PKey | None = None,
        known_hosts: str | os.PathLike[str] | None = None,
        strict_host_key: bool | None = None,
        timeout: float = 15.0,
    ) -> SftpFolders:
        """`sftp://user@host[:port][/root][?key=PATH&known_hosts=PATH&strict_host_key=yes|no]`.

        Keyword arguments win over the query string. A password in the URL is refused (ConfigError).
        """
        parts = urlsplit(url)
        if parts.scheme != "sftp":
            raise ConfigError(f"not an sftp:// URL: {url!r}")
        if parts.password is not None:
            raise ConfigError("passwords are not accepted: the SFTP server takes keys only")
        if not parts.hostname or not parts.username:
            raise ConfigError(f"the URL needs a user and a host: sftp://user@host:port, got {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"key", "known_hosts", "strict_host_key"}
        if unknown:
            raise ConfigError(f"unknown URL parameter(s): {', '.join(sorted(unknown))}")
        if key_filename is None and pkey is None:
            key_filename = query.get("key")
        if known_hosts is None:
            known_hosts = query.get("known_hosts")
        if strict_host_key is None:
            strict_host_key = _flag(query["strict_host_key"], "strict_host_key") if "strict_host_key" in query else True
        return cls(
            parts.hostname,
            parts.port or 22,
            unquote(parts.username),
            key_filename=key_filename,
            pkey=pkey,
            known_hosts=known_hosts,
            strict_host_key=strict_host_key,
            root=unquote(parts.path) or "/",
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"SftpFolders(sftp://{self.username}@{self.host}:{self.port}{self.root})"

    # --- connection -------------------------------------------------------------------------------

    def _connect(self) -> paramiko.SFTPClient:
        client = paramiko.SSHClient()
        try:
            if self._known_hosts is not None:
                if os.path.exists(self._known_hosts):
                    client.load_host_keys(self._known_hosts)
                elif self._strict:
                    raise TransportError(f"known_hosts file {self._known_hosts} does not exist (strict host key checking)")
            else:
                client.load_system_host_keys()
            client.set_missing_host_key_policy(paramiko.RejectPolicy() if self._strict else paramiko.AutoAddPolicy())
            client.connect(
                self.host,
                self.port,
                self.username,
                pkey=self._pkey,
                key_filename=self._key_filename,
                passphrase=self._passphrase,
                timeout=self._timeout,
                banner_timeout=self._timeout,
                auth_timeout=self._timeout,
                channel_timeout=self._timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            sftp = client.open_sftp()
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(self._timeout)
        except TransportError:
            client.close()
            raise
        except (paramiko.SSHException, OSError, EOFError, ValueError) as exc:
            client.close()
            raise TransportError(f"cannot open SFTP to {self.username}@{self.host}:{self.port}: {exc}") from exc
        self._client = client
        self._sftp = sftp
        return sftp

    def _session(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._client is not None:
            transport = self._client.get_transport()
            if transport is not None and transport.is_active():
                return self._sftp
            self.close()
        return self._connect()

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        with self._lock:
            sftp, client = self._sftp, self._client
            self._sftp = self._client = None
            for thing in (sftp, client):
                if thing is not None:
                    try:
                        thing.close()
                    except Exception:
                        pass

    def __enter__(self) -> SftpFolders:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, what: str, operation: Callable[[paramiko.SFTPClient], T]) -> T:
        """Run `operation` on a live session; any paramiko/socket error becomes a TransportError."""
        with self._lock:
            sftp = self._session()
            try:
                return operation(sftp)
            except TransportError:
                raise
            except (paramiko.SSHException, OSError, EOFError) as exc:
                transport = self._client.get_transport() if self._client is not None else None
                if transport is None or not transport.is_active() or isinstance(exc, (EOFError, socket.timeout)):
                    self.close()  # the connection is gone or stuck: start afresh next time
                raise TransportError(f"{what}: {exc}") from exc

    # --- paths ------------------------------------------------------------------------------------

    def _path(self, partner: str, *parts: str) -> str:
        if partner.startswith("."):
            raise ValueError(f"partner {partner!r} is not a partner folder")
        return posixpath.join(self.root, _simple_name(partner, "partner"), *parts)

    @staticmethod
    def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
        try:
            sftp.lstat(path)
        except FileNotFoundError:
            return False
        return True

    @staticmethod
    def _listdir(sftp: paramiko.SFTPClient, folder: str) -> list[SFTPAttributes]:
        """`SFTPClient.listdir_attr`, except that a name that is not UTF-8 is decoded with
        surrogateescape instead of failing the whole listing (paramiko decodes names strictly)."""
        t, msg = sftp._request(CMD_OPENDIR, folder)  # paramiko's own request path, as listdir_attr uses it (pinned <6)
        if t != CMD_HANDLE:
            raise SFTPError("Expected handle")
        handle = msg.get_binary()
        entries = []
        while True:
            try:
                t, msg = sftp._request(CMD_READDIR, handle)
            except EOFError:
                break
            if t != CMD_NAME:
                raise SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                filename = msg.get_binary().decode("utf-8", "surrogateescape")
                longname = msg.get_binary().decode("utf-8", "replace")
                attr = SFTPAttributes._from_msg(msg, filename, longname)
                if filename not in (".", ".."):
                    entries.append(attr)
        sftp._request(CMD_CLOSE, handle)
        return entries

    def _scan(self, sftp: paramiko.SFTPClient, partner: str, folder: str) -> InboxScan:
        files, strays = [], []
        for entry in self._listdir(sftp, folder):
            name, mode = entry.filename, entry.st_mode or 0
            kind = stray_kind(name, stat.S_ISREG(mode), stat.S_ISDIR(mode), stat.S_ISLNK(mode))
            if kind is None:
                files.append(InboxFile(partner, name, entry.st_size or 0, float(entry.st_mtime or 0)))
            elif not (kind == "folder" and name == CLAIMED):
                strays.append(Stray(partner, printable(name), kind, entry.st_size or 0, float(entry.st_mtime or 0)))
        return InboxScan(tuple(sorted(files, key=lambda f: (f.mtime, f.name))), tuple(sorted(strays, key=lambda s: s.name)))

    # --- PartnerFolders ---------------------------------------------------------------------------

    def partners(self) -> list[str]:
        def run(sftp: paramiko.SFTPClient) -> list[str]:
            return sorted(
                e.filename
                for e in sftp.listdir_attr(self.root)
                if not e.filename.startswith(".") and e.st_mode is not None and stat.S_ISDIR(e.st_mode)
            )

        return self._call(f"list partners in {self.root}", run)

    def scan(self, partner: str) -> InboxScan:
        folder = self._path(partner, "inbox")
        return self._call(f"list {folder}", lambda sftp: self._scan(sftp, partner, folder))

    def inbox(self, partner: str) -> list[InboxFile]:
        return list(self.scan(partner).files)

    def claimed(self, partner: str) -> list[InboxFile]:
        folder = self._path(partner, "inbox", CLAIMED)

        def run(sftp: paramiko.SFTPClient) -> list[InboxFile]:
            try:
                return list(self._scan(sftp, partner, folder).files)
            except FileNotFoundError:
                return []  # nothing was ever claimed (the folder is made on first claim)

        return self._call(f"list {folder}", run)

    def tail(self, file: InboxFile, size: int) -> bytes:
        path = self._path(file.partner, "inbox", _simple_name(file.name, "file"))

        def run(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(path, "rb") as handle:
                length = handle.stat().st_size or 0
                handle.seek(max(0, length - size))
                return handle.read(size)

        return self._call(f"read the end of {path}", run)

    def claim(self, file: InboxFile) -> InboxFile | None:
        name = _simple_name(file.name, "file")
        source = self._path(file.partner, "inbox", name)
        claimed_dir = self._path(file.partner, "inbox", CLAIMED)
        target = posixpath.join(claimed_dir, name)

        def run(sftp: paramiko.SFTPClient) -> InboxFile | None:
            if self._exists(sftp, target):
                return None  # an unfinished file of the same name is claimed: this one waits its turn
            for attempt in (1, 2):
                try:
                    sftp.posix_rename(source, target)  # rename(2) on the server: atomic, one winner
                    return file
                except FileNotFoundError:
                    if attempt == 1 and not self._exists(sftp, claimed_dir):
                        try:
                            sftp.mkdir(claimed_dir, 0o700)
                        except OSError:
                            if not self._exists(sftp, claimed_dir):
                                raise
                        continue
                    return None  # the file is gone: another worker claimed it (or the partner withdrew it)
            return None

        return self._call(f"claim {source}", run)

    def read_claimed(self, file: InboxFile) -> bytes:
        path = self._path(file.partner, "inbox", CLAIMED, _simple_name(file.name, "file"))

        def run(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(path, "rb") as handle:
                handle.prefetch()
                return handle.read()

        return self._call(f"read {path}", run)

    def copy_claimed(self, file: InboxFile, out: BinaryIO) -> None:
        path = self._path(file.partner, "inbox", CLAIMED, _simple_name(file.name, "file"))

        def run(sftp: paramiko.SFTPClient) -> None:
            sftp.getfo(path, out)  # in chunks, prefetched

        self._call(f"read {path}", run)

    def finish(self, file: InboxFile, folder: str) -> None:
        name = _simple_name(file.name, "file")
        source = self._path(file.partner, "inbox", CLAIMED, name)
        target = self._path(file.partner, _simple_name(folder, "folder"), name)

        def run(sftp: paramiko.SFTPClient) -> None:
            try:
                sftp.posix_rename(source, target)
            except FileNotFoundError:
                if self._exists(sftp, source):
                    raise  # the source is there: the target folder is missing
                # already finished (or never claimed): nothing to do

        self._call(f"move {source} to {target}", run)

    def read_finished(self, partner: str, folder: str, name: str) -> bytes:
        path = self._path(partner, _simple_name(folder, "folder"), _simple_name(name, "file"))

        def run(sftp: paramiko.SFTPClient) -> bytes:
            with sftp.open(path, "rb") as handle:
                handle.prefetch()
                return handle.read()

        return self._call(f"read {path}", run)

    def restore(self, partner: str, folder: str, name: str) -> None:
        source = self._path(partner, _simple_name(folder, "folder"), _simple_name(name, "file"))
        target = self._path(partner, "inbox", name)

        def run(sftp: paramiko.SFTPClient) -> None:
            if self._exists(sftp, target):
                raise TransportError(f"{target} exists: the partner uploaded a file of the same name; move it aside first")
            sftp.posix_rename(source, target)

        self._call(f"move {source} back to {target}", run)

    def deliver(self, partner: str, name: str, data: bytes) -> None:
        outbox = self._path(partner, "outbox")
        target = posixpath.join(outbox, _simple_name(name, "file"))

        def run(sftp: paramiko.SFTPClient) -> None:
            try:
                existing = sftp.stat(target)
            except FileNotFoundError:
                existing = None
            if existing is not None and existing.st_size == len(data):
                with sftp.open(target, "rb") as handle:
                    handle.prefetch()
                    if handle.read() == data:
                        return  # delivered already
            temp = posixpath.join(outbox, f".{name}.{secrets.token_hex(4)}.part")
            try:
                with sftp.open(temp, "wb") as handle:
                    handle.set_pipelined(True)
                    handle.write(data)
                size = sftp.stat(temp).st_size
                if size != len(data):
                    raise OSError(f"{temp} holds {size} bytes after writing {len(data)}")
                sftp.posix_rename(temp, target)
            except BaseException:
                try:
                    sftp.remove(temp)
                except Exception:
                    pass
                raise

        self._call(f"deliver {target}", run)

    def outbox(self, partner: str) -> list[str]:
        folder = self._path(partner, "outbox")
        return self._call(f"list {folder}", lambda sftp: sorted(n for n in sftp.listdir(folder) if not n.startswith(".")))
