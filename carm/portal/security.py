"""The portal's credentials and tokens: the GCKey rules for user names and passwords (G-R5),
argon2id hashing, session and CSRF tokens, the proof answers' format (G-R2), security headers.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "username_problems", "password_problems", "Passwords", "new_token", "token_digest", "parse_answer", "SECURITY_HEADERS",
]

_USERNAME = re.compile(r"[A-Za-z0-9]{8,16}")


def username_problems(username: str) -> list[str]:
    """G-R5 « entre huit et seize caractères, au plus sept chiffres, et ne comprendre aucun
    caractère spécial »: the label keys of what is wrong, empty when it is a valid name."""
    problems = []
    if not _USERNAME.fullmatch(username or ""):
        problems.append("username_shape")
    if sum(c.isdigit() for c in username or "") > 7:
        problems.append("username_digits")
    return problems


def password_problems(password: str, username: str) -> list[str]:
    """G-R5 « entre huit et seize caractères, … au moins une lettre majuscule, une lettre minuscule,
    un chiffre … ne doit pas partager 3 caractères consécutifs avec le nom d'utilisateur »
    (compared without case); printable ASCII only (« des caractères valides »)."""
    problems = []
    if not (8 <= len(password) <= 16) or not all(" " < c <= "~" for c in password):
        problems.append("password_shape")
    if not (re.search(r"[A-Z]", password) and re.search(r"[a-z]", password) and re.search(r"[0-9]", password)):
        problems.append("password_classes")
    lowered, name = password.lower(), (username or "").lower()
    if any(lowered[i:i + 3] in name for i in range(len(lowered) - 2)):
        problems.append("password_shares")
    return problems


class Passwords:
    """argon2id (memory-hard) hashes; a hash made with older parameters is redone at sign-in."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; an unknown user is checked against a decoy hash, so the
        answer takes as long whether the user exists or not."""
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a session token: its SHA-256 (a stolen table opens no session)."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


_ANSWER = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,2})?")


def parse_answer(text: str) -> int | None:
    """A proof answer in cents (G-R2 « qu'à l'aide de chiffres et de décimales. L'utilisation de
    signes de dollar et de virgules entraînera un message d'erreur »); None when it is not digits
    with an optional decimal point (a minus sign is accepted for a balance in credit)."""
    text = (text or "").strip()
    if not _ANSWER.fullmatch(text):
        return None
    negative = text.startswith("-")
    whole, _, cents = text.lstrip("-").partition(".")
    value = int(whole) * 100 + int((cents + "00")[:2])
    return -value if negative else value


#: Sent with every answer: nothing is framed, sniffed, cached or loaded from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cache-Control": "no-store",
}
