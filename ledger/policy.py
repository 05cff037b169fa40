"""Every policy number of the ledger, in one place, overridable from a TOML file.

Defaults are the memo's values (D17-5-1) where it gives one, else the public
CARM fact DOMAIN.md cites; `docs/decisions.md` says why for each.  A TOML file
(`CARM_POLICY=/path/policy.toml`, read by the application) overrides any of them, e.g.::

    late_payment_penalty_cents = 20000
    [cutoff]
    ACH = "23:59"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import time
from pathlib import Path

from core.errors import ConfigError

__all__ = ["Policy", "load_policy", "COMPONENTS", "PROVINCES"]

#: Declaration components, in the order a payment is applied to one declaration (decision L3).
COMPONENTS = ("duty", "sima", "excise_duty", "excise_tax", "gst")

#: The provinces and territories a program account may be in (their `holidays` subdivision codes).
PROVINCES = ("AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT")


def _times(mapping: dict[str, str]) -> dict[str, time]:
    return {k: time.fromisoformat(v) for k, v in mapping.items()}


@dataclass(frozen=True)
class Policy:
    """The ledger's policy numbers.

    Attributes:
        billing_day: the last day of a billing period (the 17th, D17-R15).
        calendar_month_accounts: RM15s billed by calendar month (courier LVS / CSA option 1).
        statement_day: the day statements are issued (the 25th).
        due_weekdays_after_period_end: due date = this many weekdays after the period end (D17-R31).
        cutoff: latest Eastern time a payment counts for the day, per method (D17-R32; memo 16:00).
        holiday_categories: `holidays` categories of Canadian federal holidays counted as non-business days.
        default_province: the province of an account whose reference data names none: its
            provincial holidays hold back its Daily Notices (D17-R14, decision L16).
        late_payment_penalty_cents: flat late-payment penalty per instance (D17-R33, AMPS C336 $200).
        interest_markup_bp: specified rate = prescribed + this many basis points (D17-R33: 6 points).
        day_count: days in the year for daily compounding.
        disbursement_threshold_cents: credit above which a disbursement is made (D17-R13: $1,000).
        disbursement_months_in_credit: or after this many consecutive closes in credit (D17-R13: 2).
        admin_fee_cents: fee for a partial non-electronic payment (D17-R34).
        electronic_methods: methods that never bear the administrative fee.
        electronic_only_above_cents: a monthly balance above this must be paid electronically
            (D17-R24: $50,000); a cheque for such an account is refused.
        certified_cheque_above_cents: a payer without a security account must certify a cheque
            above this (D17-R26 b: $5,000).
        returned_cheque_fee_cents: the fee charged for a cheque the bank returns (D17-R26 c « Des frais
            peuvent être applicables »): 0, none, unless configured.
        certified_after_returns / certified_returns_months: this many returned cheques within this many
            consecutive months and every later cheque of the payer must be certified (D17-R26 d: 2 in 6).
        card_limit_per_cycle_cents: the most card payments may bring one program account in one
            billing cycle (D17-R23: $4,999.99).
        arrears_notice_days: days overdue before an arrears notice (D17-R37: 30).
        standing_measures_days: days a debt is overdue before the measures of D17-R38 are taken
            (release hold, payment at release, claim against the security; decision L19: with
            the arrears notice, 30).
        allocation_order: item kinds in the order a payment reaches them within one due date.
        paper: the paper size of PDF documents — "letter" (Canadian recipients) or "a4".
        transaction_check_digit: the check-digit rule of transaction numbers — "none" (format only:
            the algorithm of D17-1-10 Appendix F is not public, decision L2) or "luhn".
        portal_enrolment_attempts: failed proof answers that lock a business's enrolment (G-R2: 10).
        portal_signin_slow_seconds: after each failed sign-in, the wait before the next is heard,
            doubled at each further failure (decision O19).
        portal_signin_lock_after / portal_signin_lock_minutes: failed sign-ins in a row that lock
            the user, and for how long (decision O19).
        portal_session_minutes: a portal session ends after this long without use.
        portal_upload_max_bytes / portal_upload_max_files: G-R3: 15 MB a file, 10 files an upload.
        portal_upload_types: G-R3: the file types a document upload accepts.
    """

    billing_day: int = 17
    calendar_month_accounts: frozenset[str] = frozenset()
    statement_day: int = 25
    due_weekdays_after_period_end: int = 10
    cutoff: dict[str, time] = field(
        default_factory=lambda: _times({"ACH": "16:00", "BOP": "16:00", "CHK": "16:00", "*": "16:00"})
    )
    holiday_categories: tuple[str, ...] = ("public", "government")
    default_province: str = "ON"
    late_payment_penalty_cents: int = 200_00
    interest_markup_bp: int = 600
    day_count: int = 365
    disbursement_threshold_cents: int = 1_000_00
    disbursement_months_in_credit: int = 2
    admin_fee_cents: int = 25_00
    electronic_methods: frozenset[str] = frozenset({"ACH", "BOP", "PAD", "CARD", "INTERAC"})
    electronic_only_above_cents: int = 50_000_00
    certified_cheque_above_cents: int = 5_000_00
    returned_cheque_fee_cents: int = 0
    certified_after_returns: int = 2
    certified_returns_months: int = 6
    card_limit_per_cycle_cents: int = 4_999_99
    arrears_notice_days: int = 30
    standing_measures_days: int = 30
    allocation_order: tuple[str, ...] = ("declaration", "adjustment", "interest", "penalty", "fee")
    transaction_check_digit: str = "none"
    paper: str = "letter"
    portal_enrolment_attempts: int = 10
    portal_signin_slow_seconds: int = 1
    portal_signin_lock_after: int = 5
    portal_signin_lock_minutes: int = 30
    portal_session_minutes: int = 30
    portal_upload_max_bytes: int = 15 * 1024 * 1024
    portal_upload_max_files: int = 10
    portal_upload_types: tuple[str, ...] = (
        "pdf", "doc", "docx", "xls", "xlsx", "rtf", "txt", "jpg", "jpeg", "tiff", "tif", "xps")

    def cutoff_for(self, method: str) -> time:
        return self.cutoff.get(method, self.cutoff.get("*", time(16, 0)))


def load_policy(path: str | Path | None = None) -> Policy:
    """The default policy, overridden by the TOML file at `path` (ConfigError when it is not one)."""
    policy = Policy()
    if not path:
        return policy
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"policy file {path}: {exc}") from exc
    known = {f.name for f in fields(Policy)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown policy settings in {path}: {sorted(unknown)}")
    changes: dict = {}
    try:
        for key, value in data.items():
            if key == "cutoff":
                changes[key] = {**policy.cutoff, **_times(value)}
            elif key in ("calendar_month_accounts", "electronic_methods"):
                changes[key] = frozenset(value)
            elif key in ("holiday_categories", "allocation_order", "portal_upload_types"):
                changes[key] = tuple(value)
            else:
                changes[key] = value
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"policy file {path}: {exc}") from exc
    if changes.get("paper", "letter") not in ("letter", "a4"):
        raise ConfigError(f"policy file {path}: paper must be letter or a4, not {changes['paper']!r}")
    if changes.get("default_province", "ON") not in PROVINCES:
        raise ConfigError(f"policy file {path}: default_province must be one of {', '.join(PROVINCES)}, not {changes['default_province']!r}")
    if changes.get("transaction_check_digit", "none") not in ("none", "luhn"):
        raise ConfigError(f"policy file {path}: transaction_check_digit must be none or luhn, not {changes['transaction_check_digit']!r}")
    return replace(policy, **changes)
