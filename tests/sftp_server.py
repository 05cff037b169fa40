"""A real OpenSSH SFTP server for the tests: `sftp_inbox/start.sh` on a free loopback port.

`start_server()` generates throw-away Ed25519 keys (engine + two partners) in a
temporary directory, writes a registry naming the two partners with those keys,
runs `sftp_inbox/start.sh` with a fresh state dir and returns an `SftpServer`
describing it; `SftpServer.stop()` runs `stop.sh --remove-users` and deletes the
state dir.  Needs root (accounts, chroot) and Debian's `openssh-server`; when
either is missing, `ServerError` says so — the tests then fail, they never skip.

The state dir cannot live under /tmp: sshd refuses a ChrootDirectory with a
component writable by others.  It goes under the repository's `var/` when that
path is root-owned and not group/world-writable, else under /var/lib/carm-sftp-test.
"""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
START = ROOT / "sftp_inbox" / "start.sh"
STOP = ROOT / "sftp_inbox" / "stop.sh"
SSHD = Path("/usr/sbin/sshd")

#: Test accounts (fixed names, so that a crashed run's leftovers are reused, not accumulated).
#: Test sessions on one machine take turns (LOCK), since they share these accounts.
ENGINE_USER = "carmtest-engine"
PARTNER_A = "carmtest-a"
PARTNER_B = "carmtest-b"

LOCK = Path("/run/lock/carm-sftp-tests.lock") if Path("/run/lock").is_dir() else ROOT / "var" / ".sftp-tests.lock"
LOCK_WAIT = 600.0

REGISTRY_HEADER = (
    "partner_id,role,isa_qualifier,isa_sender_id,gs_sender_code,business_number,security_account,"
    "sftp_user,public_key,language,name\n"
)


class ServerError(RuntimeError):
    """The test SFTP server could not be started (the reason is the message)."""


@dataclass
class SftpServer:
    state: Path
    port: int
    keys: Path
    engine_user: str = ENGINE_USER
    partner_keys: dict[str, Path] = field(default_factory=dict)
    registry: Path | None = None
    start_output: str = ""
    lock_fd: int | None = None

    @property
    def engine_key(self) -> Path:
        return self.keys / "engine"

    @property
    def known_hosts(self) -> Path:
        return self.state / "known_hosts"

    @property
    def partners_root(self) -> Path:
        return self.state / "partners"

    @property
    def url(self) -> str:
        return f"sftp://{self.engine_user}@127.0.0.1:{self.port}"

    def start(self) -> str:
        """Run start.sh (again: it is idempotent); the combined output, or ServerError."""
        return run_start(self.state, self.port, self.registry, self.engine_key.with_suffix(".pub"), self.engine_user)

    def connect(self, user: str, key: Path) -> paramiko.SSHClient:
        """An SSH client logged in as `user` with `key`, host key checked against the server's known_hosts."""
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            "127.0.0.1",
            self.port,
            user,
            key_filename=str(key),
            allow_agent=False,
            look_for_keys=False,
            timeout=10,
            banner_timeout=10,
            auth_timeout=10,
        )
        return client

    def stop(self) -> None:
        try:
            subprocess.run(["bash", str(STOP), "--remove-users", str(self.state)], capture_output=True, text=True, timeout=60)
            shutil.rmtree(self.state, ignore_errors=True)
            shutil.rmtree(self.keys, ignore_errors=True)
        finally:
            if self.lock_fd is not None:
                os.close(self.lock_fd)  # releases the lock
                self.lock_fd = None


def take_turn() -> int:
    """Wait (up to LOCK_WAIT seconds) until no other test session runs its SFTP server; the lock's fd."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise ServerError(f"another test session has held {LOCK} for {LOCK_WAIT:.0f} s") from None
            time.sleep(0.5)


def generate_key(path: Path, comment: str) -> str:
    """A throw-away Ed25519 key pair: `path` (private, OpenSSH format, 0600) and `path.pub`; the public line."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    line = f"{public.decode()} {comment}"
    path.write_bytes(private)
    path.chmod(0o600)
    path.with_suffix(".pub").write_text(line + "\n")
    return line


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chroot_safe(path: Path) -> bool:
    """Every existing component of `path` root-owned, not group/other-writable, searchable by others."""
    for part in [path, *path.parents]:
        if not part.exists():
            continue
        info = part.stat()
        if info.st_uid != 0 or info.st_mode & 0o022 or not info.st_mode & stat.S_IXOTH:
            return False
    return True


def state_base() -> Path:
    for base in (ROOT / "var", Path("/var/lib/carm-sftp-test")):
        if chroot_safe(base):
            base.mkdir(mode=0o755, parents=True, exist_ok=True)
            return base
    raise ServerError("no chroot-safe place for the SFTP state dir (repository var/ nor /var/lib)")


def run_start(state: Path, port: int, registry: Path | None, engine_pubkey: Path, engine_user: str) -> str:
    command = ["bash", str(START), "--engine-user", engine_user, "--engine-pubkey", str(engine_pubkey)]
    if registry is not None:
        command += ["--registry", str(registry)]
    command += [str(state), str(port)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise ServerError(f"sftp_inbox/start.sh exited {done.returncode}:\n{output}")
    return output


def registry_row(partner_id: str, role: str, user: str, key: str, isa: bool, bn9: str = "") -> str:
    isa_fields = f"ZZ,{partner_id},{partner_id}" if isa else ",,"
    return f"{partner_id},{role},{isa_fields},{bn9},,{user},{key},en,Test partner {partner_id}\n"


def start_server() -> SftpServer:
    """Keys, registry, state dir, start.sh; ServerError with the reason when any of it fails."""
    if os.geteuid() != 0:
        raise ServerError("the SFTP tests need root (start.sh creates Unix accounts and chroot folders)")
    if not SSHD.exists():
        raise ServerError(f"{SSHD} is missing: apt-get install -y openssh-server (scripts/test does it)")
    lock_fd = take_turn()
    try:
        keys = Path(tempfile.mkdtemp(prefix="carm-sftp-keys-"))
        state = Path(tempfile.mkdtemp(prefix="sftp-test-", dir=state_base()))
        state.chmod(0o755)
    except BaseException:
        os.close(lock_fd)
        raise
    server = SftpServer(state=state, port=free_port(), keys=keys, lock_fd=lock_fd)
    try:
        generate_key(server.engine_key, f"{ENGINE_USER}@test")
        rows = []
        for user, partner_id, role, isa, bn9 in (
            (PARTNER_A, "CARMTESTA", "fi", True, ""),
            (PARTNER_B, "CARMTESTB", "importer", False, "123456782"),
        ):
            server.partner_keys[user] = keys / user
            line = generate_key(keys / user, f"{user}@test")
            rows.append(registry_row(partner_id, role, user, line, isa, bn9))
        server.registry = keys / "partners.csv"
        server.registry.write_text(REGISTRY_HEADER + "".join(rows))
        server.start_output = server.start()
    except BaseException:
        server.stop()
        raise
    return server


def clean_partner(server: SftpServer, user: str) -> None:
    """Empty a partner's folders (as root, on the disk) so each test starts from nothing."""
    home = server.partners_root / user
    for folder in (home / "inbox" / ".claimed", home / "inbox", home / "outbox", home / "processed", home / "quarantine"):
        if not folder.exists():
            continue
        for entry in folder.iterdir():
            if entry.name == ".claimed" and folder.name == "inbox":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def put(sftp: paramiko.SFTPClient, path: str, data: bytes, mtime: float | None = None) -> None:
    """Upload as a partner would (then optionally set the modification time)."""
    sftp.putfo(io.BytesIO(data), path)
    if mtime is not None:
        sftp.utime(path, (mtime, mtime))
