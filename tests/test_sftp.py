"""The SFTP side: partner registry, the real OpenSSH server (sftp_inbox/), and `SftpFolders`.

* The `PartnerFolders` contract runs against `LocalFolders` and `SftpFolders` alike.
* A partner logged in as itself reaches its own folders only (chroot, permissions).
* Only public keys are accepted.

The server is the real Debian sshd started by `sftp_inbox/start.sh` on a free
127.0.0.1 port (tests/sftp_server.py). Nothing is skipped: without root or
openssh-server the tests fail with the reason.
"""

from __future__ import annotations

import io
import os
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

from carm.runtime import make_folders
from core.errors import ConfigError
from core.settings import Settings
from tests import sftp_server
from tests.sftp_server import ENGINE_USER, PARTNER_A, PARTNER_B, SftpServer, clean_partner, put
from transport.folders import PROCESSED, QUARANTINE, InboxFile, LocalFolders, TransportError
from transport.partners import load_partners, parse_partners
from transport.sftp import SftpFolders

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


# --- the server -------------------------------------------------------------------------------------


def engine_folders(server: SftpServer, **kwargs) -> SftpFolders:
    kwargs.setdefault("known_hosts", server.known_hosts)
    return SftpFolders("127.0.0.1", server.port, server.engine_user, key_filename=server.engine_key, **kwargs)


@pytest.fixture
def partner_a(sftp) -> Iterator[paramiko.SFTPClient]:
    """Partner A logged in as itself."""
    clean_partner(sftp, PARTNER_A)
    client = sftp.connect(PARTNER_A, sftp.partner_keys[PARTNER_A])
    try:
        yield client.open_sftp()
    finally:
        client.close()


# --- one contract, two implementations ---------------------------------------------------------------


@dataclass
class Backend:
    """A `PartnerFolders` plus the means to act as the partner and look at the disk behind it."""

    kind: str
    folders: object
    partner: str
    home: Path  # the partner's folder on the disk
    factory: object  # () -> a second, independent PartnerFolders on the same folders (another worker)
    uploader: object  # (name, data, mtime) -> None, as the partner

    def upload(self, name: str, data: bytes, mtime: float | None = None) -> None:
        self.uploader(name, data, mtime)


@pytest.fixture(params=["local", "sftp"])
def backend(request, tmp_path) -> Iterator[Backend]:
    if request.param == "local":
        root = tmp_path / "partners"
        partner = PARTNER_A

        def upload(name: str, data: bytes, mtime: float | None) -> None:
            path = root / partner / "inbox" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if mtime is not None:
                os.utime(path, (mtime, mtime))

        folders = LocalFolders(root)
        folders.inbox(partner)  # make the folders
        yield Backend("local", folders, partner, root / partner, lambda: LocalFolders(root), upload)
        return

    server: SftpServer = request.getfixturevalue("sftp")
    clean_partner(server, PARTNER_A)
    client = server.connect(PARTNER_A, server.partner_keys[PARTNER_A])
    partner_sftp = client.open_sftp()

    def upload(name: str, data: bytes, mtime: float | None) -> None:
        put(partner_sftp, f"/inbox/{name}", data, mtime)

    folders = engine_folders(server)
    others: list[SftpFolders] = []

    def another() -> SftpFolders:
        others.append(engine_folders(server))
        return others[-1]

    try:
        yield Backend("sftp", folders, PARTNER_A, server.partners_root / PARTNER_A, another, upload)
    finally:
        for f in [folders, *others]:
            f.close()
        client.close()


def test_partners_lists_partner_folders(backend):
    assert backend.partner in backend.folders.partners()
    if backend.kind == "sftp":
        assert {PARTNER_A, PARTNER_B} <= set(backend.folders.partners())


def test_inbox_oldest_first_without_partial_uploads(backend):
    now = time.time()
    backend.upload("b-newer.x12", b"B", now - 10)
    backend.upload("a-newest.x12", b"A", now)
    backend.upload("c-oldest.x12", b"CCC", now - 100)
    for partial in ("upload.x12.part", "upload.x12.tmp", "upload.x12.filepart", ".hidden.x12"):
        backend.upload(partial, b"half", now - 1000)
    files = backend.folders.inbox(backend.partner)
    assert [f.name for f in files] == ["c-oldest.x12", "b-newer.x12", "a-newest.x12"]
    assert files[0] == InboxFile(backend.partner, "c-oldest.x12", 3, files[0].mtime)
    assert int(files[0].mtime) == int(now - 100)
    # once the upload completes (renamed to its final name) the file appears
    (backend.home / "inbox" / "upload.x12.part").rename(backend.home / "inbox" / "upload.x12")
    assert "upload.x12" in [f.name for f in backend.folders.inbox(backend.partner)]


def test_scan_reports_the_strays_and_survives_a_name_that_is_not_utf8(backend):
    """A name that is not UTF-8 (written on the disk behind the server: clients rarely can) no
    longer breaks a listing — every FI's intake used to stop on it — and is a stray, with
    dot files, partial uploads and folders; the tail of a waiting file shows whether it is whole."""
    now = time.time()
    backend.upload("pay.x12", b"ISA*...~\nIEA*1*000000001~\n", now - 100)
    backend.upload(".hidden.x12", b"h", now - 100)
    backend.upload("half.x12.part", b"half", now - 100)
    os.mkdir(backend.home / "inbox" / "sub")
    raw = os.fsencode(backend.home / "inbox") + b"/caf\xe9.x12"  # Latin-1, not UTF-8
    with open(raw, "wb") as handle:
        handle.write(b"ISA")
    os.chmod(raw, 0o640)
    os.chown(raw, -1, os.stat(backend.home / "inbox").st_gid)
    scan = backend.folders.scan(backend.partner)
    assert [f.name for f in scan.files] == ["pay.x12"]
    assert sorted((s.name, s.kind) for s in scan.strays) == [
        (".hidden.x12", "dot-file"), ("caf\\xe9.x12", "not-utf8"), ("half.x12.part", "partial-upload"), ("sub", "folder")]
    (waiting,) = scan.files
    assert backend.folders.tail(waiting, 16) == b"EA*1*000000001~\n"  # the last 16 bytes


def test_claim_is_exclusive_and_read_claimed_returns_the_bytes(backend):
    backend.upload("pay.x12", b"ISA*00*...~")
    [file] = backend.folders.inbox(backend.partner)
    assert backend.folders.claim(file) == file
    assert backend.folders.claim(file) is None  # second claim: someone already has it
    assert backend.factory().claim(file) is None  # another worker too
    assert backend.folders.inbox(backend.partner) == []
    assert [f.name for f in backend.folders.claimed(backend.partner)] == ["pay.x12"]
    assert backend.folders.read_claimed(file) == b"ISA*00*...~"
    assert (backend.home / "inbox" / ".claimed" / "pay.x12").exists()


def test_a_new_upload_never_overwrites_an_unfinished_claimed_file_of_the_same_name(backend):
    backend.upload("pay.x12", b"FIRST")
    [first] = backend.folders.inbox(backend.partner)
    assert backend.folders.claim(first) == first
    backend.upload("pay.x12", b"SECOND")  # the FI reuses the name while the first is being processed
    [second] = backend.folders.inbox(backend.partner)
    assert backend.folders.claim(second) is None  # waits its turn
    assert backend.folders.read_claimed(first) == b"FIRST"
    backend.folders.finish(first, PROCESSED)
    assert backend.folders.claim(second) == second
    assert backend.folders.read_claimed(second) == b"SECOND"


def test_concurrent_claims_have_exactly_one_winner(backend):
    for i in range(5):
        backend.upload(f"f{i}.x12", f"file {i}".encode())
    files = backend.folders.inbox(backend.partner)
    workers = [backend.factory() for _ in range(4)]
    results: list[list[InboxFile | None]] = [[] for _ in workers]
    barrier = threading.Barrier(len(workers))

    def work(index: int) -> None:
        barrier.wait()
        for f in files:
            results[index].append(workers[index].claim(f))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for position, f in enumerate(files):
        winners = [r[position] for r in results if r[position] is not None]
        assert winners == [f], f.name
    assert len(backend.folders.claimed(backend.partner)) == 5


def test_claimed_shows_half_finished_work_to_a_restarted_worker(backend):
    backend.upload("one.x12", b"1", time.time() - 5)
    backend.upload("two.x12", b"2")
    one, two = backend.folders.inbox(backend.partner)
    backend.folders.claim(one)
    backend.folders.claim(two)
    backend.folders.finish(one, PROCESSED)
    # the worker stops here; a new one finds `two` claimed and unfinished
    restarted = backend.factory()
    assert [f.name for f in restarted.claimed(backend.partner)] == ["two.x12"]
    [resumed] = restarted.claimed(backend.partner)
    assert restarted.read_claimed(resumed) == b"2"
    restarted.finish(resumed, PROCESSED)
    assert restarted.claimed(backend.partner) == []


@pytest.mark.parametrize("folder", [PROCESSED, QUARANTINE])
def test_finish_moves_the_claimed_file_and_is_idempotent(backend, folder):
    backend.upload("done.x12", b"payload")
    [file] = backend.folders.inbox(backend.partner)
    backend.folders.claim(file)
    backend.folders.finish(file, folder)
    backend.folders.finish(file, folder)  # again: nothing to do, no error
    backend.factory().finish(file, folder)
    assert backend.folders.claimed(backend.partner) == []
    assert backend.folders.inbox(backend.partner) == []
    assert (backend.home / folder / "done.x12").read_bytes() == b"payload"


def test_deliver_is_atomic_and_idempotent(backend):
    folders = backend.folders
    folders.deliver(backend.partner, "pay.x12.997.x12", b"ISA*997~")
    assert folders.outbox(backend.partner) == ["pay.x12.997.x12"]
    target = backend.home / "outbox" / "pay.x12.997.x12"
    first = target.stat()
    folders.deliver(backend.partner, "pay.x12.997.x12", b"ISA*997~")  # same bytes: left alone
    again = target.stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    folders.deliver(backend.partner, "pay.x12.997.x12", b"ISA*997*corrected~")  # new bytes replace
    assert target.read_bytes() == b"ISA*997*corrected~"
    assert target.stat().st_ino != first.st_ino  # a new file renamed in, not rewritten in place
    folders.deliver(backend.partner, "pay.x12.824.x12", b"ISA*824~" * 10_000)
    assert folders.outbox(backend.partner) == ["pay.x12.824.x12", "pay.x12.997.x12"]
    # no temporary file left; dot files (a delivery in progress) are not listed
    assert sorted(p.name for p in (backend.home / "outbox").iterdir()) == ["pay.x12.824.x12", "pay.x12.997.x12"]
    (backend.home / "outbox" / ".next.x12.part").write_bytes(b"half")
    assert folders.outbox(backend.partner) == ["pay.x12.824.x12", "pay.x12.997.x12"]


# --- SftpFolders specifics -------------------------------------------------------------------------


def test_delivered_files_are_readable_by_the_partner_only(sftp, partner_a):
    engine = engine_folders(sftp)
    with engine:
        engine.deliver(PARTNER_A, "ack.997.x12", b"ISA*997~")
    assert partner_a.listdir("/outbox") == ["ack.997.x12"]
    with partner_a.open("/outbox/ack.997.x12", "rb") as handle:
        assert handle.read() == b"ISA*997~"
    mode = (sftp.partners_root / PARTNER_A / "outbox" / "ack.997.x12").stat().st_mode
    assert stat.S_IMODE(mode) & 0o007 == 0  # nothing for other accounts


def test_engine_reads_what_a_partner_uploaded(sftp, partner_a):
    put(partner_a, "/inbox/from-partner.x12", b"ISA*partner~")
    with engine_folders(sftp) as engine:
        [file] = engine.inbox(PARTNER_A)
        assert engine.claim(file) == file
        assert engine.read_claimed(file) == b"ISA*partner~"
        engine.finish(file, PROCESSED)
    on_disk = sftp.partners_root / PARTNER_A / "processed" / "from-partner.x12"
    assert on_disk.read_bytes() == b"ISA*partner~"


def test_engine_ignores_directories_and_links_in_an_inbox(sftp, partner_a):
    partner_a.mkdir("/inbox/subdir")
    inbox = sftp.partners_root / PARTNER_A / "inbox"
    os.symlink(sftp.partners_root / PARTNER_B / "outbox", inbox / "link.x12")  # as root: partners cannot
    with engine_folders(sftp) as engine:
        assert engine.inbox(PARTNER_A) == []


def test_reconnects_after_the_connection_dropped(sftp, partner_a):
    put(partner_a, "/inbox/x.x12", b"x")
    with engine_folders(sftp) as engine:
        assert [f.name for f in engine.inbox(PARTNER_A)] == ["x.x12"]
        engine._client.get_transport().close()  # the network or the server drops us
        assert [f.name for f in engine.inbox(PARTNER_A)] == ["x.x12"]


def test_errors_are_transport_errors(sftp, tmp_path):
    with pytest.raises(TransportError) as wrong_key:
        SftpFolders("127.0.0.1", sftp.port, ENGINE_USER, key_filename=sftp.partner_keys[PARTNER_A],
                    known_hosts=sftp.known_hosts).partners()
    assert isinstance(wrong_key.value.__cause__, paramiko.AuthenticationException)

    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(TransportError) as unknown_host:
        engine_folders(sftp, known_hosts=empty).partners()  # strict by default
    assert isinstance(unknown_host.value.__cause__, paramiko.SSHException)
    with engine_folders(sftp, known_hosts=empty, strict_host_key=False) as lenient:
        assert PARTNER_A in lenient.partners()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with pytest.raises(TransportError) as refused:
        SftpFolders("127.0.0.1", closed_port, ENGINE_USER, key_filename=sftp.engine_key,
                    known_hosts=sftp.known_hosts, timeout=5).partners()
    assert isinstance(refused.value.__cause__, OSError)

    with engine_folders(sftp) as engine:
        with pytest.raises(TransportError):
            engine.inbox("no-such-partner")
        with pytest.raises(TransportError):
            engine.read_claimed(InboxFile(PARTNER_A, "never-claimed.x12", 0, 0.0))
        with pytest.raises(ValueError):
            engine.deliver(PARTNER_A, "../escape", b"x")


def test_from_url_and_from_settings(sftp):
    settings = Settings.from_env({
        "CARM_TRANSPORT": "sftp",
        "CARM_SFTP_URL": sftp.url,
        "CARM_SFTP_KEY": str(sftp.engine_key),
        "CARM_SFTP_KNOWN_HOSTS": str(sftp.known_hosts),
    })
    with make_folders(settings) as folders:
        assert folders.port == sftp.port and folders.username == ENGINE_USER and folders.root == "/"
        assert PARTNER_A in folders.partners()
    url = f"{sftp.url}/?key={sftp.engine_key}&known_hosts={sftp.known_hosts}"
    with SftpFolders.from_url(url) as folders:
        assert PARTNER_B in folders.partners()
    with pytest.raises(ConfigError, match="CARM_SFTP_KEY"):
        make_folders(Settings.from_env({"CARM_TRANSPORT": "sftp", "CARM_SFTP_URL": sftp.url}))
    with pytest.raises(ConfigError, match="password"):
        SftpFolders.from_url("sftp://carm-engine:secret@127.0.0.1:2222", key_filename="k")
    with pytest.raises(ConfigError, match="sftp://"):
        SftpFolders.from_url("ftp://carm-engine@127.0.0.1", key_filename="k")


# --- a partner on the server: its own folders, nothing else ---------------------------------------------


def test_partner_sees_its_folders_and_can_upload(sftp, partner_a):
    assert sorted(partner_a.listdir("/")) == ["inbox", "outbox", "processed", "quarantine"]
    put(partner_a, "/inbox/pay.x12", b"ISA~")
    assert "pay.x12" in partner_a.listdir("/inbox")
    # a partner may withdraw or rename its own upload before it is claimed
    partner_a.posix_rename("/inbox/pay.x12", "/inbox/pay2.x12")
    partner_a.remove("/inbox/pay2.x12")


def test_partner_cannot_reach_other_partners_or_leave_its_chroot(sftp, partner_a):
    other = f"/{PARTNER_B}/inbox"
    for path in (other, f"/..{other}", f"/../../{PARTNER_B}", str(sftp.partners_root / PARTNER_B / "inbox"), "/etc"):
        with pytest.raises(FileNotFoundError):
            partner_a.listdir(path)
    assert partner_a.normalize("/..") == "/"
    assert sorted(partner_a.listdir("/../..")) == ["inbox", "outbox", "processed", "quarantine"]
    with pytest.raises(FileNotFoundError):
        partner_a.open("/../../../../etc/passwd", "rb")
    with pytest.raises(OSError):
        put(partner_a, f"/../{PARTNER_B}/inbox/forged.x12", b"x")
    assert not list((sftp.partners_root / PARTNER_B / "inbox").glob("forged*"))

    # and partner B's own key does not open partner A's account (nor the engine's)
    with pytest.raises(paramiko.AuthenticationException):
        sftp.connect(PARTNER_A, sftp.partner_keys[PARTNER_B])
    with pytest.raises(paramiko.AuthenticationException):
        sftp.connect(ENGINE_USER, sftp.partner_keys[PARTNER_A])


def test_partner_cannot_touch_the_engines_folders(sftp, partner_a):
    with engine_folders(sftp) as engine:
        engine.deliver(PARTNER_A, "ack.x12", b"ack")
    for path in ("/processed", "/quarantine", "/inbox/.claimed"):
        with pytest.raises(PermissionError):
            partner_a.listdir(path)
    with pytest.raises(PermissionError):  # the outbox is read-only for the partner
        put(partner_a, "/outbox/forged.x12", b"x")
    with pytest.raises(PermissionError):
        partner_a.remove("/outbox/ack.x12")
    with pytest.raises(PermissionError):  # the chroot itself is root's
        put(partner_a, "/new.x12", b"x")
    with pytest.raises(PermissionError):
        partner_a.mkdir("/mine")
    with pytest.raises(PermissionError):  # sticky inbox: the engine's .claimed is not the partner's
        partner_a.posix_rename("/inbox/.claimed", "/inbox/gone")
    with pytest.raises(OSError):  # no symbolic links (they would point the engine at other files)
        partner_a.symlink("/outbox/ack.x12", "/inbox/link.x12")
    assert not (sftp.partners_root / PARTNER_A / "inbox" / "link.x12").exists()


def test_password_and_keyboard_interactive_are_refused(sftp):
    with socket.create_connection(("127.0.0.1", sftp.port), timeout=10) as sock:
        transport = paramiko.Transport(sock)
        try:
            transport.start_client(timeout=10)
            with pytest.raises(paramiko.BadAuthenticationType) as none:
                transport.auth_none(PARTNER_A)
            assert none.value.allowed_types == ["publickey"]
            with pytest.raises(paramiko.BadAuthenticationType) as password:
                transport.auth_password(PARTNER_A, "any password")
            assert password.value.allowed_types == ["publickey"]
            with pytest.raises(paramiko.BadAuthenticationType):
                transport.auth_interactive_dumb(PARTNER_A)
            assert not transport.is_authenticated()
        finally:
            transport.close()
    with pytest.raises(paramiko.AuthenticationException):
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            client.connect("127.0.0.1", sftp.port, "root", password="root", allow_agent=False,
                           look_for_keys=False, timeout=10)
        finally:
            client.close()


def test_no_shell_no_forwarding(sftp):
    client = sftp.connect(PARTNER_A, sftp.partner_keys[PARTNER_A])
    try:
        stdin, stdout, _ = client.exec_command("id", timeout=10)
        stdin.channel.shutdown_write()  # internal-sftp runs instead, reads EOF and ends
        output = stdout.read()
        assert b"uid=" not in output  # ForceCommand internal-sftp: no command runs
        with pytest.raises(paramiko.ChannelException):
            client.get_transport().open_channel("direct-tcpip", ("127.0.0.1", sftp.port), ("127.0.0.1", 0), timeout=10)
    finally:
        client.close()


# --- start.sh -----------------------------------------------------------------------------------------


def test_start_is_idempotent(sftp, partner_a):
    put(partner_a, "/inbox/kept.x12", b"kept")
    output = sftp.start()  # again, on the running server
    assert f"127.0.0.1:{sftp.port}" in output
    with engine_folders(sftp) as engine:
        assert [f.name for f in engine.inbox(PARTNER_A)] == ["kept.x12"]
    client = sftp.connect(PARTNER_A, sftp.partner_keys[PARTNER_A])
    client.close()
    info = (sftp.partners_root / PARTNER_A / "inbox").stat()
    assert stat.S_IMODE(info.st_mode) == 0o3770


def test_a_partner_dropped_from_the_registry_loses_its_keys(sftp, tmp_path):
    only_a = tmp_path / "partners.csv"
    only_a.write_text("".join(line for line in sftp.registry.read_text().splitlines(True) if PARTNER_B not in line))
    sftp_server.run_start(sftp.state, sftp.port, only_a, sftp.engine_key.with_suffix(".pub"), sftp.engine_user)
    try:
        with pytest.raises(paramiko.AuthenticationException):
            sftp.connect(PARTNER_B, sftp.partner_keys[PARTNER_B])
        sftp.connect(PARTNER_A, sftp.partner_keys[PARTNER_A]).close()
        assert (sftp.partners_root / PARTNER_B / "inbox").is_dir()  # folders kept
    finally:
        sftp.start()  # the full registry again
    sftp.connect(PARTNER_B, sftp.partner_keys[PARTNER_B]).close()


def test_start_refuses_a_state_dir_sshd_cannot_chroot_into(sftp, tmp_path):
    done = subprocess.run(
        ["bash", str(sftp_server.START), "--registry", str(sftp.registry), str(tmp_path / "state"), "2299"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert "writable by group or others" in done.stderr


def test_start_refuses_a_registry_with_problems(sftp, tmp_path):
    bad = tmp_path / "partners.csv"
    bad.write_text(sftp_server.REGISTRY_HEADER + "X,fi,ZZ,X,X,,,root,,en,Root\n")
    done = subprocess.run(
        ["bash", str(sftp_server.START), "--registry", str(bad), str(sftp.state), str(sftp.port)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0
    assert "reserved" in done.stderr and "nothing changed" in done.stderr


def test_scripts_parse():
    for script in ("start.sh", "stop.sh"):
        subprocess.run(["bash", "-n", str(ROOT / "sftp_inbox" / script)], check=True)


# --- the partner registry ---------------------------------------------------------------------------------


def test_fixture_registry_is_valid_and_names_the_820_sender():
    partners, problems = load_partners(FIXTURES / "partners.csv")
    assert problems == []
    assert {p.role for p in partners} == {"fi", "broker", "importer"}
    bank = partners.by_isa_sender("ZZ:BANKOFTEST")
    assert bank is not None and bank.role == "fi" and bank.gs_sender_code == "BANKOFTEST"
    assert partners.by_isa_sender("ZZ", "BANKOFTEST     ") is bank  # ISA06 as padded in the envelope
    assert len([p for p in partners if p.role == "fi"]) == 2
    [broker] = [p for p in partners if p.role == "broker"]
    assert (broker.business_number, broker.security_account) == ("300000007", "40001")
    assert {p.business_number for p in partners if p.role == "importer"} == {"123456782", "200000008"}
    for sample in (FIXTURES / "820").glob("*.x12"):
        isa = sample.read_text().split("~", 1)[0].split("*")
        assert partners.by_isa_sender(isa[5], isa[6]) is bank, sample.name
    assert partners.by_sftp_user("bankoftest") is bank and partners.get("BANKOFTEST") is bank
    assert partners.by_isa_sender("ZZ:NOBODY") is None and partners.by_isa_sender("garbage") is None


def test_registry_problems_are_values_not_exceptions():
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7yK3C0n1mRkE4m7qk1H6n8cZ0nN9Yx0r8b9m0n1o2p test"
    text = sftp_server.REGISTRY_HEADER + "".join(
        [
            f"GOOD,importer,,,,123456782,,good,{key};{key},fr,Good Co\n",
            "BADROLE,bank,ZZ,B,BB,,,badrole,,en,Bad role\n",  # line 3
            "NOISA,fi,,,,,,noisa,,en,FI without X12 ids\n",
            "BADBN,importer,,,,123456789,,badbn,,en,Bad check digit\n",
            "BADUSER,broker,,,,300000007,BRK01,Bad.User,,en,Bad user\n",
            "BADKEY,importer,,,,200000008,,badkey,command=\"sh\" ssh-rsa AAAA,en,Key with options\n",
            "GOOD,importer,,,,200000008,,good2,,en,Duplicate id\n",  # line 8
            "OTHER,importer,,,,200000008,,good,,xx,Bad language and duplicate user\n",
            "TOO,many,fields,,,,,,,,,,,,\n",
        ]
    )
    partners, problems = parse_partners(io.StringIO(text))
    assert [p.partner_id for p in partners] == ["GOOD"]
    assert partners[0].public_keys == (key, key) and partners[0].language == "fr"
    columns = {tuple(p.where.removeprefix("line ").split(", ")) for p in problems}
    assert ("3", "role") in columns
    assert ("4", "isa_qualifier") in columns
    assert ("5", "business_number") in columns
    assert ("6", "sftp_user") in columns
    assert ("7", "public_key") in columns
    assert ("8", "partner_id") in columns
    assert ("9", "language") in columns
    assert any(p.where == "line 10" for p in problems)
    assert all(str(p).startswith("line ") for p in problems)

    partners, problems = parse_partners(io.StringIO("partner_id,role\nA,fi\n"))
    assert len(partners) == 0 and "header lacks" in problems[0].message
