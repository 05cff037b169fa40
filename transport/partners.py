"""The trading-partner registry: who may send us files, from which SFTP account, under which X12 IDs.

The registry is a CSV file (`fixtures/partners.csv` in development), one row per
partner, with this header (column order free, names exact):

=================  ========================================================================
column             meaning
=================  ========================================================================
partner_id         our name for the partner; unique; ``A-Z 0-9 _ -``, at most 40 characters
role               ``fi`` (financial institution: sends 820 payments),
                   ``broker`` (customs broker), ``importer``
isa_qualifier      ISA05 of the partner's interchanges (``ZZ``, ``01``, ``14``...);
                   required for an ``fi``, optional for the others
isa_sender_id      ISA06 without the padding (``BANKOFTEST``); with ``isa_qualifier``
gs_sender_code     GS02 application sender code; required with an ISA sender
business_number    BN9 (9 digits, Luhn check digit); required for brokers and importers
security_account   the broker's 5-character security account number (``40001``); optional
sftp_user          the partner's Unix/SFTP account, its folder name under the SFTP root
                   (``^[a-z][a-z0-9_-]{0,31}$``); unique
public_key         the partner's OpenSSH public key(s), ``ssh-ed25519 AAAA... comment``;
                   several separated by ``;`` (key rotation); may be empty (no login yet)
language           ``en`` or ``fr``: the language of documents we send the partner
name               the partner's legal name
=================  ========================================================================

`load_partners` never raises on a bad row: each problem is returned as a
`core.problems.Problem` and the row is left out (a duplicate keeps the first row).
An unreadable file (missing, not UTF-8) raises `OSError` / `UnicodeDecodeError`
like any file read.

The module uses the standard library and `core` only, so that `sftp_inbox/start.sh`
can run it with the system Python before the project is installed::

    python3 -I -c 'import sys; sys.path.insert(0, "."); from transport.partners import main; main()' check fixtures/partners.csv
    ... accounts fixtures/partners.csv   # sftp_user<TAB>partner_id<TAB>role<TAB>keys
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.identifiers import is_valid_bn9
from core.problems import Problem
from core.text import ISA_QUALIFIERS, is_gs_code, is_x12_id

__all__ = ["Partner", "PartnerRegistry", "load_partners", "parse_partners", "ROLES", "COLUMNS"]

ROLES = ("fi", "broker", "importer")
LANGUAGES = ("en", "fr")
COLUMNS = (
    "partner_id",
    "role",
    "isa_qualifier",
    "isa_sender_id",
    "gs_sender_code",
    "business_number",
    "security_account",
    "sftp_user",
    "public_key",
    "language",
    "name",
)

#: Unix accounts the registry may never claim (the SFTP server's own accounts and common system users).
RESERVED_USERS = frozenset({"root", "carm-engine", "carm-partners", "daemon", "bin", "sys", "nobody", "sshd", "postgres"})

_PARTNER_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,39}$")
_SFTP_USER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_SECURITY_ACCOUNT = re.compile(r"^[A-Z0-9]{5}$")
_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521"
    r"|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)"
    r" [A-Za-z0-9+/]+={0,3}( [\x21-\x3a\x3c-\x7e][\x20-\x3a\x3c-\x7e]*)?$"
)


@dataclass(frozen=True, slots=True)
class Partner:
    """One trading partner (a row of the registry)."""

    partner_id: str
    role: str
    name: str
    language: str
    sftp_user: str
    public_keys: tuple[str, ...] = ()
    isa_qualifier: str = ""
    isa_sender_id: str = ""
    gs_sender_code: str = ""
    business_number: str = ""
    security_account: str = ""

    @property
    def isa_sender(self) -> str | None:
        """`ISA05:ISA06` (padding stripped), the key `edi.acks.partner_key` uses; None without X12 IDs."""
        if not self.isa_qualifier:
            return None
        return f"{self.isa_qualifier}:{self.isa_sender_id}"


def _problem(line: int, column: str, message: str) -> Problem:
    """Why a registry row was left out: `where` is the row's (last) line number and the column."""
    return Problem("not-loaded", message, f"line {line}" + (f", {column}" if column else ""))


class PartnerRegistry:
    """The valid partners, in file order, with lookups by id, SFTP user and ISA sender."""

    def __init__(self, partners: Iterable[Partner] = ()) -> None:
        self._partners = tuple(partners)
        self._by_id = {p.partner_id: p for p in self._partners}
        self._by_user = {p.sftp_user: p for p in self._partners}
        self._by_isa = {p.isa_sender: p for p in self._partners if p.isa_sender}

    def __iter__(self) -> Iterator[Partner]:
        return iter(self._partners)

    def __len__(self) -> int:
        return len(self._partners)

    def __getitem__(self, index: int) -> Partner:
        return self._partners[index]

    def __repr__(self) -> str:
        return f"PartnerRegistry({[p.partner_id for p in self._partners]!r})"

    def get(self, partner_id: str) -> Partner | None:
        return self._by_id.get(partner_id)

    def by_sftp_user(self, user: str) -> Partner | None:
        """The partner whose SFTP folder/account is `user` (`InboxFile.partner`)."""
        return self._by_user.get(user)

    def by_isa_sender(self, qualifier: str, sender_id: str | None = None) -> Partner | None:
        """The partner sending as ISA05/ISA06: `by_isa_sender("ZZ:BANKOFTEST")` or `("ZZ", "BANKOFTEST     ")`."""
        if sender_id is None:
            qualifier, sep, sender_id = qualifier.partition(":")
            if not sep:
                return None
        return self._by_isa.get(f"{qualifier.strip()}:{sender_id.strip()}")


def _row_problems(line: int, row: dict[str, str]) -> tuple[Partner | None, list[Problem]]:
    problems: list[Problem] = []

    def bad(column: str, message: str) -> None:
        problems.append(_problem(line, column, message))

    get = {c: (row.get(c) or "").strip() for c in COLUMNS}
    if not _PARTNER_ID.fullmatch(get["partner_id"]):
        bad("partner_id", f"{get['partner_id']!r} is not an id (A-Z 0-9 _ -, at most 40)")
    role = get["role"]
    if role not in ROLES:
        bad("role", f"{role!r} is not one of {', '.join(ROLES)}")
    if not get["name"]:
        bad("name", "missing")
    if get["language"] not in LANGUAGES:
        bad("language", f"{get['language']!r} is not en or fr")
    user = get["sftp_user"]
    if not _SFTP_USER.fullmatch(user):
        bad("sftp_user", f"{user!r} is not a Unix account name (^[a-z][a-z0-9_-]{{0,31}}$)")
    elif user in RESERVED_USERS:
        bad("sftp_user", f"{user!r} is reserved")

    qualifier, sender, gs = get["isa_qualifier"], get["isa_sender_id"], get["gs_sender_code"]
    if qualifier or sender or gs or role == "fi":
        if qualifier not in ISA_QUALIFIERS:
            bad("isa_qualifier", f"{qualifier!r} is not an ISA05 qualifier in use ({', '.join(sorted(ISA_QUALIFIERS))})")
        if not is_x12_id(sender):
            bad("isa_sender_id", f"{sender!r} is not an ISA06 sender id (1-15 characters)")
        if not is_gs_code(gs):
            bad("gs_sender_code", f"{gs!r} is not a GS02 sender code (2-15 characters)")

    bn9 = get["business_number"]
    if bn9 and not is_valid_bn9(bn9):
        bad("business_number", f"{bn9!r} is not a valid BN9 (9 digits, check digit)")
    elif not bn9 and role in ("broker", "importer"):
        bad("business_number", f"required for a {role}")
    asec = get["security_account"]
    if asec and not _SECURITY_ACCOUNT.fullmatch(asec):
        bad("security_account", f"{asec!r} is not a 5-character security account number")

    keys = tuple(k.strip() for k in get["public_key"].split(";") if k.strip())
    for key in keys:
        if not _KEY.fullmatch(key):
            bad("public_key", f"not an OpenSSH public key line (type base64 [comment], no options): {key[:40]!r}")

    if problems:
        return None, problems
    partner = Partner(
        partner_id=get["partner_id"],
        role=role,
        name=get["name"],
        language=get["language"],
        sftp_user=user,
        public_keys=keys,
        isa_qualifier=qualifier,
        isa_sender_id=sender,
        gs_sender_code=gs,
        business_number=bn9,
        security_account=asec,
    )
    return partner, []


def parse_partners(lines: Iterable[str]) -> tuple[PartnerRegistry, list[Problem]]:
    """The registry in CSV `lines` (see the module doc) and the problems found; never raises on content."""
    numbers: list[int] = []  # file line number of each line handed to the CSV reader

    def content() -> Iterator[str]:
        for number, line in enumerate(lines, start=1):
            if line.lstrip().startswith("#"):
                continue  # comment lines (documentation) are allowed anywhere
            numbers.append(number)
            yield line

    def file_line(consumed: int) -> int:
        return numbers[consumed - 1] if 0 < consumed <= len(numbers) else consumed

    reader = csv.DictReader(content())
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return PartnerRegistry(), [_problem(file_line(1), "", f"header lacks column(s) {', '.join(missing)}")]
    reader.fieldnames = header
    partners: list[Partner] = []
    problems: list[Problem] = []
    seen: dict[str, dict[str, int]] = {"partner_id": {}, "sftp_user": {}, "isa_sender": {}}
    try:
        for row in reader:
            line = file_line(reader.line_num)
            if None in row:
                problems.append(_problem(line, "", "more fields than the header has columns"))
                continue
            partner, row_problems = _row_problems(line, row)
            if partner is None:
                problems.extend(row_problems)
                continue
            clashes = [
                (field, value)
                for field, value in (
                    ("partner_id", partner.partner_id),
                    ("sftp_user", partner.sftp_user),
                    ("isa_sender", partner.isa_sender),
                )
                if value and value in seen[field]
            ]
            if clashes:
                for field, value in clashes:
                    problems.append(_problem(line, field, f"{value!r} already used on line {seen[field][value]}"))
                continue
            for field, value in (
                ("partner_id", partner.partner_id),
                ("sftp_user", partner.sftp_user),
                ("isa_sender", partner.isa_sender),
            ):
                if value:
                    seen[field][value] = line
            partners.append(partner)
    except csv.Error as exc:
        problems.append(_problem(file_line(reader.line_num), "", f"CSV syntax: {exc}"))
    return PartnerRegistry(partners), problems


def load_partners(path: str | Path) -> tuple[PartnerRegistry, list[Problem]]:
    """The registry file at `path`: (valid partners, problems). Bad rows are problems, not exceptions."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return parse_partners(handle)


def main(argv: list[str] | None = None) -> int:
    """`check FILE` prints problems; `accounts FILE` prints `sftp_user TAB partner_id TAB role TAB keys`.

    Exit status: 0 no problem, 1 some rows rejected (valid rows are still printed), 2 usage / unreadable.
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("check", "accounts"):
        print("usage: python -m transport.partners check|accounts REGISTRY.csv", file=sys.stderr)
        return 2
    try:
        registry, problems = load_partners(args[1])
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{args[1]}: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"{args[1]}: {problem}", file=sys.stderr)
    if args[0] == "accounts":
        for p in registry:
            print("\t".join((p.sftp_user, p.partner_id, p.role, ";".join(p.public_keys))))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
