"""Every table of the engine's one database (SQLAlchemy Core).  Created by the Alembic
migrations in `carm/migrations` (`carm db upgrade`); `tests/test_schema.py` proves the two agree.

What the EDI layer keeps (`store.edi`):

* `edi_control_sequence` — per-partner sequences of outbound ISA13 and GS06;
* `edi_inbound_interchange` — (sender, ISA13) of every interchange received, with its file;
* `edi_outbound_document` — every acknowledgement written, by the partner the inbound file
  came from and its digest;
* `edi_inbound_file` — every file taken from a partner's inbox: partner, digest, name,
  receipt time, archive path, and its fate (processed or quarantined, with the reason);
* `edi_inbox_poll`, `edi_inbox_sighting` — when each inbox was last listed, and what was in
  it: when each file was first seen (its receipt time), whether its size still moves, how
  many reads failed, and which strays were reported;
* `trading_partner` — the registry of FIs, brokers and importers exchanging files.

Reference data — who exists and who may act for whom (D17-R1…R5, Annex B):
`business`, `program_account` (RM15), `security_account` (ASEC), `licensed_broker`,
`relationship` (+ `relationship_account` for program-management scope),
`designated_agent`, `interest_rate`.

The debts: `declaration` (14-digit transaction numbers) and `declaration_adjustment`.

The books — an append-only double-entry journal (D17-R18): `journal_entry`
(one balanced entry, a reason code, an idempotency key from the source
document) and `journal_line` (debit or credit, never both, never negative).
`ar_item` names what a receivable line is about (a declaration component, a
penalty, interest, a fee, a credit); its balance is the sum of its journal
lines.  No row of `journal_entry` or `journal_line` is ever updated or deleted;
corrections are new entries.  Of `ar_item`, only `under_review` changes, with the
declaration's review status (a fact about the debt, not money).

Caches, proved equal to the journal by `carm ledger check`: `item_balance`,
`account_balance`.

What happened: `payment`, `payment_line` (every 820 payment and its verdict, and every
payment of another channel: cheque, card, PAD, at release), `posted_file`, `period_close`,
`account_period`, `notice`; `cheque_return` (cheques the bank returned, D17-R26 c), `card_payment` (card requests and
their authorisation, D17-R23), `pad_agreement` (pre-authorized debit agreements).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# ------------------------------------------------------------------ EDI
control_sequence = Table(
    "edi_control_sequence",
    metadata,
    Column("partner", String(40), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("last_value", BigInteger, nullable=False),
    PrimaryKeyConstraint("partner", "kind"),
)

inbound_interchange = Table(
    "edi_inbound_interchange",
    metadata,
    Column("sender", String(40), nullable=False),
    Column("control_number", String(9), nullable=False),
    Column("file_digest", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("sender", "control_number"),
)

outbound_document = Table(
    "edi_outbound_document",
    metadata,
    Column("partner", String(40), nullable=False),  # the folder the answered file came from ('' by hand)
    Column("file_digest", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("name", String(255), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("partner", "file_digest", "kind", name="pk_edi_outbound_document"),
)

#: what was said of an answered file (`edi.pipeline.Report`, JSON): a replay says it again (decision E27)
inbound_report = Table(
    "edi_inbound_report",
    metadata,
    Column("partner", String(40), nullable=False),
    Column("file_digest", String(64), nullable=False),
    Column("report", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("partner", "file_digest", name="pk_edi_inbound_report"),
)

inbound_file = Table(
    "edi_inbound_file",
    metadata,
    Column("partner", String(40), nullable=False),
    Column("file_digest", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("archive_path", String(400), nullable=False),
    Column("status", String(12), nullable=False),  # store.intake.FileState
    Column("reason", Text),
    Column("exit_code", Integer),
    Column("processed_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("partner", "file_digest", name="pk_edi_inbound_file"),
)

inbox_poll = Table(
    "edi_inbox_poll",
    metadata,
    Column("partner", String(40), nullable=False),
    Column("polled_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("partner", name="pk_edi_inbox_poll"),
)

inbox_sighting = Table(
    "edi_inbox_sighting",
    metadata,
    Column("partner", String(40), nullable=False),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),  # file, or the kind of stray (transport.folders.Stray)
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("window_start", DateTime(timezone=True)),  # the inbox's previous listing, when there was one
    Column("size", BigInteger, nullable=False),
    Column("size_since", DateTime(timezone=True), nullable=False),
    Column("modified_at", DateTime(timezone=True)),  # as the partner's client set it
    Column("attempts", Integer, nullable=False),  # reads that failed
    Column("last_error", Text),
    Column("reported_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("partner", "name", name="pk_edi_inbox_sighting"),
)

trading_partner = Table(
    "trading_partner",
    metadata,
    Column("partner_id", String(40), primary_key=True),
    Column("role", String(10), nullable=False),
    Column("name", String(200), nullable=False),
    Column("language", String(2), nullable=False),
    Column("sftp_user", String(32), nullable=False, unique=True),
    Column("public_keys", String(4000), nullable=False),
    Column("isa_qualifier", String(2), nullable=False),
    Column("isa_sender_id", String(15), nullable=False),
    Column("gs_sender_code", String(15), nullable=False),
    Column("business_number", String(9), nullable=False),
    Column("security_account", String(5), nullable=False),
)


# ------------------------------------------------------------------ reference data
business = Table(
    "business",
    metadata,
    Column("bn9", String(9), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # importer | broker | consultant
    Column("language", String(2), nullable=False, server_default="en"),
    Column("email", String(200)),
    Column("email_notices", Boolean, nullable=False, server_default="0"),
    CheckConstraint("role IN ('importer', 'broker', 'consultant')", name="ck_business_role"),
    CheckConstraint("language IN ('en', 'fr')", name="ck_business_language"),
)

program_account = Table(
    "program_account",
    metadata,
    Column("rm15", String(15), primary_key=True),
    Column("bn9", String(9), ForeignKey("business.bn9"), nullable=False),
    Column("status", String(8), nullable=False, server_default="active"),
    Column("client_type", String(4), nullable=False),  # D17-R1 a..e: RPP DIR BRK BRKS CADP
    Column("direct_gst", Boolean, nullable=False, server_default="0"),
    Column("direct_security", Boolean, nullable=False, server_default="0"),
    Column("calendar_month", Boolean, nullable=False, server_default="0"),
    Column("opened_on", Date, nullable=False),
    Column("province", String(2)),  # its holidays hold back Daily Notices (D17-R14); none: the policy's default
    CheckConstraint("NOT (direct_gst AND direct_security)", name="ck_direct_options_exclusive"),  # D17-R5
    CheckConstraint("status IN ('active', 'inactive')", name="ck_program_account_status"),
)

security_account = Table(
    "security_account",
    metadata,
    Column("asec", String(5), primary_key=True),
    Column("holder_bn9", String(9), ForeignKey("business.bn9"), nullable=False),
    Column("holder_kind", String(12), nullable=False),  # importer | broker | consultant
    Column("security_cents", BigInteger, nullable=False),
    Column("status", String(8), nullable=False, server_default="active"),
    CheckConstraint("security_cents >= 0", name="ck_security_amount"),
)

licensed_broker = Table(
    "licensed_broker",
    metadata,
    Column("bn9", String(9), ForeignKey("business.bn9"), primary_key=True),
    Column("licence", String(20), nullable=False),
    Column("active", Boolean, nullable=False, server_default="1"),
)

relationship = Table(
    "relationship",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("client_bn9", String(9), ForeignKey("business.bn9"), nullable=False),
    Column("provider_bn9", String(9), ForeignKey("business.bn9"), nullable=False),
    Column("scope", String(8), nullable=False),  # business | program (D17-R3)
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    CheckConstraint("scope IN ('business', 'program')", name="ck_relationship_scope"),
)

relationship_account = Table(
    "relationship_account",
    metadata,
    Column("relationship_id", String(40), ForeignKey("relationship.id"), nullable=False),
    Column("rm15", String(15), ForeignKey("program_account.rm15"), nullable=False),
    PrimaryKeyConstraint("relationship_id", "rm15"),
)

designated_agent = Table(
    "designated_agent",
    metadata,
    Column("rm15", String(15), ForeignKey("program_account.rm15"), primary_key=True),
    Column("agent_bn9", String(9), ForeignKey("business.bn9"), nullable=False),
    Column("effective_from", Date, nullable=False),
)

interest_rate = Table(
    "interest_rate",
    metadata,
    Column("effective_from", Date, primary_key=True),
    Column("prescribed_bp", Integer, nullable=False),  # basis points a year
)

# ------------------------------------------------------------------ the debts
declaration = Table(
    "declaration",
    metadata,
    Column("transaction_number", String(14), primary_key=True),
    Column("rm15", String(15), ForeignKey("program_account.rm15"), nullable=False),
    Column("asec", String(5)),
    Column("broker_bn9", String(9)),
    Column("release_date", Date, nullable=False),
    Column("accounting_date", Date, nullable=False),
    Column("under_review", Boolean, nullable=False, server_default="0"),
    Column("duty_cents", BigInteger, nullable=False, server_default="0"),
    Column("excise_tax_cents", BigInteger, nullable=False, server_default="0"),
    Column("gst_cents", BigInteger, nullable=False, server_default="0"),
    Column("sima_cents", BigInteger, nullable=False, server_default="0"),
    Column("excise_duty_cents", BigInteger, nullable=False, server_default="0"),
    Column("source", String(64), nullable=False),
)

declaration_adjustment = Table(
    "declaration_adjustment",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("transaction_number", String(14), ForeignKey("declaration.transaction_number"), nullable=False),
    Column("kind", String(12), nullable=False),  # reassessment | refund (D17-R9)
    Column("component", String(12), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("adjustment_date", Date, nullable=False),
    Column("agent_bn9", String(9)),  # the agent who filed a refund (D17-R11)
    Column("source", String(64), nullable=False),
    CheckConstraint("amount_cents > 0", name="ck_adjustment_amount"),
    CheckConstraint("kind IN ('reassessment', 'refund')", name="ck_adjustment_kind"),
)

# ------------------------------------------------------------------ the books
#: References that PostgreSQL checks once per statement, by trigger, instead of once per row by a
#: foreign key (migration 0016, decision L32): the rows a payment writes by the thousand. They stay
#: foreign keys here, and on SQLite; a row naming no such entry, item or payment is refused on both.
CHECKED_PER_STATEMENT = frozenset({("journal_line", "entry_id"), ("journal_line", "item_id"), ("payment_line", "payment_id")})

ar_item = Table(
    "ar_item",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(120), nullable=False, unique=True),
    Column("rm15", String(15), ForeignKey("program_account.rm15"), nullable=False),
    Column("asec", String(5)),
    Column("agent_bn9", String(9)),
    Column("kind", String(12), nullable=False),
    Column("component", String(12)),
    Column("transaction_number", String(14)),
    Column("posted_on", Date, nullable=False),
    Column("due_date", Date),
    Column("under_review", Boolean, nullable=False, server_default="0"),
    Column("description", String(200), nullable=False),
    Index("ix_ar_item_rm15", "rm15"),
)

journal_entry = Table(
    "journal_entry",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(160), nullable=False, unique=True),
    Column("entry_date", Date, nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    Column("reason", String(24), nullable=False),
    Column("description", String(300), nullable=False),
    Column("source", String(100)),
    Column("reverses", Integer, ForeignKey("journal_entry.id")),
    Index("ix_journal_entry_date", "entry_date"),
)

journal_line = Table(
    "journal_line",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", Integer, ForeignKey("journal_entry.id"), nullable=False),
    Column("account", String(12), nullable=False),
    Column("rm15", String(15)),
    Column("item_id", Integer, ForeignKey("ar_item.id")),
    Column("party", String(40)),
    Column("trace", String(30)),
    Column("debit_cents", BigInteger, nullable=False),
    Column("credit_cents", BigInteger, nullable=False),
    CheckConstraint(
        "(debit_cents > 0 AND credit_cents = 0) OR (credit_cents > 0 AND debit_cents = 0)",
        name="ck_journal_line_one_side_positive",
    ),
    Index("ix_journal_line_entry", "entry_id"),
    Index("ix_journal_line_item", "item_id"),
    Index("ix_journal_line_account_rm15", "account", "rm15"),
)

item_balance = Table(
    "item_balance",
    metadata,
    Column("item_id", Integer, ForeignKey("ar_item.id"), primary_key=True),
    Column("rm15", String(15), nullable=False),
    Column("balance_cents", BigInteger, nullable=False),
    Index("ix_item_balance_rm15", "rm15"),
)

account_balance = Table(
    "account_balance",
    metadata,
    Column("rm15", String(15), ForeignKey("program_account.rm15"), primary_key=True),
    Column("balance_cents", BigInteger, nullable=False),
)

# ------------------------------------------------------------------ what happened
payment = Table(
    "payment",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fi", String(40), nullable=False),
    Column("trace", String(30), nullable=False),
    Column("file_digest", String(64), nullable=False),
    Column("interchange", String(9), nullable=False),
    Column("group_control", String(9), nullable=False),
    Column("set_control", String(9), nullable=False),
    Column("kind", String(3), nullable=False),
    Column("method", String(10), nullable=False),  # X12 591 (ACH, BOP, CHK) or a channel's method (CARD, PAD, INTERAC)
    Column("total_cents", BigInteger, nullable=False),
    # as received (N104 AN 2/80, REF02 AN 1/30): a refused payment keeps the value it was refused for
    Column("payer_bn9", String(80), nullable=False),
    Column("payer_asec", String(30)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("payment_day", Date, nullable=False),
    Column("verdict", String(2), nullable=False),
    Column("status", String(10), nullable=False),  # posted | refused | duplicate | test
    Column("suspense_cents", BigInteger, nullable=False),
    Column("entry_id", Integer, ForeignKey("journal_entry.id")),
    # one set of one file is one payment row, whatever its fate
    UniqueConstraint("file_digest", "interchange", "group_control", "set_control", name="uq_payment_source"),
    # a trace number is posted once per FI; duplicates and refusals are kept, as such (820 guide)
    Index(
        "uq_payment_fi_trace",
        "fi",
        "trace",
        unique=True,
        sqlite_where=text("status = 'posted'"),
        postgresql_where=text("status = 'posted'"),
    ),
)

payment_line = Table(
    "payment_line",
    metadata,
    Column("payment_id", Integer, ForeignKey("payment.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    # as received (RMR02, REF02 AN 1/30): a line set aside keeps the account it could not be applied to
    Column("rm15", String(30), nullable=False),
    Column("asec", String(30)),
    Column("amount_cents", BigInteger, nullable=False),
    Column("applied", Boolean, nullable=False),
    Column("reason", Text),
    Column("transaction_number", String(30)),  # REF*TN as received: the debt an advance payment named (D17-R22)
    PrimaryKeyConstraint("payment_id", "line_no"),
)

posted_file = Table(
    "posted_file",
    metadata,
    Column("file_digest", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("payments", Integer, nullable=False),
)

period_close = Table(
    "period_close",
    metadata,
    Column("period", String(7), nullable=False),
    # the billing cycle closed: the 18th → 17th period, or the calendar month (decision L17)
    Column("calendar_month", Boolean, nullable=False, server_default="0"),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("period", "calendar_month"),
)

account_period = Table(
    "account_period",
    metadata,
    Column("rm15", String(15), ForeignKey("program_account.rm15"), nullable=False),
    Column("period", String(7), nullable=False),
    Column("closing_balance_cents", BigInteger, nullable=False),
    PrimaryKeyConstraint("rm15", "period"),
)

notice = Table(
    "notice",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(160), nullable=False, unique=True),
    Column("notice_date", Date, nullable=False),
    Column("bn9", String(9), nullable=False),
    Column("rm15", String(15)),
    Column("kind", String(24), nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("data", Text, nullable=False),  # JSON: the facts the notice states
    Index("ix_notice_bn9_date", "bn9", "notice_date"),
)


# ------------------------------------------------------------------ other ways to pay (D17-R21…R29)
cheque_return = Table(
    "cheque_return",
    metadata,
    Column("trace", String(30), primary_key=True),  # the cheque's payment trace: <payer BN9>-<serial>
    Column("payer_bn9", String(9), nullable=False),
    Column("returned_on", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("fee_cents", BigInteger, nullable=False),
    Column("entry_id", Integer, ForeignKey("journal_entry.id")),  # the reversal (none when all of it was in suspense)
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_cheque_return_payer", "payer_bn9", "returned_on"),
)

card_payment = Table(
    "card_payment",
    metadata,
    Column("reference", String(30), primary_key=True),  # the request's reference: the payment's trace under the CARD channel
    Column("rm15", String(15), nullable=False),
    Column("payer_bn9", String(9), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("status", String(10), nullable=False),
    Column("authorisation", String(40)),  # the processor's authorisation reference (D17-R23)
    Column("reason", Text),  # why declined or refused
    CheckConstraint("status IN ('authorised', 'declined', 'refused')", name="ck_card_payment_status"),
)

pad_agreement = Table(
    "pad_agreement",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rm15", String(15), ForeignKey("program_account.rm15"), nullable=False),
    Column("payer_bn9", String(9), nullable=False),
    Column("bank_reference", String(40), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),  # none: until cancelled
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    Index("ix_pad_agreement_rm15", "rm15"),
)


# ------------------------------------------------------------------ monitoring reports (Annex D)
monitoring_recipient = Table(
    "monitoring_recipient",
    metadata,
    Column("name", String(32), primary_key=True),  # the recipient's name, and its folder
    Column("rm15", String(15), ForeignKey("program_account.rm15"), nullable=False),
    Column("language", String(2), nullable=False),
    Column("age_recipient", String(100)),  # the age X25519 public key; none: nothing can be sent
)

monitoring_delivery = Table(
    "monitoring_delivery",
    metadata,
    Column("name", String(32), ForeignKey("monitoring_recipient.name"), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("file_name", String(100), nullable=False),
    Column("digest", String(64), nullable=False),  # SHA-256 of the report before encryption
    Column("delivered_at", DateTime(timezone=True), nullable=False),
)

# ------------------------------------------------------------------ corrections (D17-R18, Annex E)
correction_request = Table(
    "correction_request",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rm15", String(15), ForeignKey("program_account.rm15"), nullable=False),
    Column("entry_id", Integer, ForeignKey("journal_entry.id"), nullable=False),  # the entry it corrects
    Column("item_id", Integer, ForeignKey("ar_item.id"), nullable=False),  # the charge of that entry
    Column("kind", String(12), nullable=False),  # ledger.corrections.CorrectionKind
    Column("amount_cents", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("status", String(10), nullable=False),  # ledger.corrections.CorrectionStatus
    Column("reviewed_by", String(64)),
    Column("reviewed_at", DateTime(timezone=True)),
    Column("review_note", Text),
    Column("adjusting_entry_id", Integer, ForeignKey("journal_entry.id")),
    CheckConstraint("amount_cents > 0", name="ck_correction_amount"),
    CheckConstraint("kind IN ('penalty', 'interest', 'fee')", name="ck_correction_kind"),
    CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="ck_correction_status"),
    CheckConstraint("reviewed_by IS NULL OR reviewed_by <> requested_by", name="ck_correction_four_eyes"),
    Index("ix_correction_request_rm15", "rm15"),
)

# ------------------------------------------------------------------ standing (D17-R36…R38)
account_standing = Table(
    "account_standing",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rm15", String(15), ForeignKey("program_account.rm15"), nullable=False),
    Column("since", Date, nullable=False),  # the day the measures of D17-R38 took effect
    Column("ended_on", Date),  # the day the account was found brought current; NULL while in force
    Column("reason", Text, nullable=False),
    Column("oldest_due_date", Date, nullable=False),
    Column("overdue_cents", BigInteger, nullable=False),
    UniqueConstraint("rm15", "since", name="uq_account_standing_since"),
    Index(
        "uq_account_standing_open",
        "rm15",
        unique=True,
        sqlite_where=text("ended_on IS NULL"),
        postgresql_where=text("ended_on IS NULL"),
    ),
)

security_claim = Table(
    "security_claim",
    metadata,
    Column("standing_id", Integer, ForeignKey("account_standing.id"), nullable=False),
    Column("asec", String(5), ForeignKey("security_account.asec"), nullable=False),
    Column("claimed_on", Date, nullable=False),
    Column("overdue_cents", BigInteger, nullable=False),  # the overdue debts secured by the security account
    Column("security_cents", BigInteger, nullable=False),  # the security posted, on the day
    Column("claim_cents", BigInteger, nullable=False),  # the lesser of the two
    Column("withdrawn_on", Date),
    PrimaryKeyConstraint("standing_id", "asec", name="pk_security_claim"),
    CheckConstraint("claim_cents > 0", name="ck_security_claim_amount"),
)

# ------------------------------------------------------------------ the client portal (G-R1…G-R5)
#: One person's credentials (G-R5); `bn9` is the business it enrolled (G-R2), none before.
portal_user = Table(
    "portal_user",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(16), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),  # argon2id, with its parameters and salt
    Column("bn9", String(9), ForeignKey("business.bn9")),
    Column("role", String(8), nullable=False, server_default="user"),  # manager (business account manager) | user
    Column("language", String(2), nullable=False, server_default="en"),
    Column("email", String(200)),  # where this user's notices go (G-R1), its own subscription and language
    Column("email_notices", Boolean, nullable=False, server_default="0"),
    Column("failed_signins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),  # sign-in refused until then (slowed, then locked)
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("role IN ('manager', 'user')", name="ck_portal_user_role"),
    CheckConstraint("language IN ('en', 'fr')", name="ck_portal_user_language"),
)

#: A signed-in browser: the SHA-256 of its cookie's token (the token itself is never stored).
portal_session = Table(
    "portal_session",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("portal_user.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

#: A business's enrolment by proof questions (G-R2): the transaction asked about, the failed
#: attempts since the last unlock, and when the tenth locked it.
portal_enrolment = Table(
    "portal_enrolment",
    metadata,
    Column("bn9", String(9), ForeignKey("business.bn9"), primary_key=True),
    Column("transaction_number", String(14)),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("locked_at", DateTime(timezone=True)),
)

#: Which notices a user has opened (G-R1: read / unread, per person).
portal_notice_read = Table(
    "portal_notice_read",
    metadata,
    Column("user_id", Integer, ForeignKey("portal_user.id"), nullable=False),
    Column("notice_id", Integer, ForeignKey("notice.id"), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("user_id", "notice_id"),
)

#: A document a user uploaded (G-R3): kept under its SHA-256, never served back.
portal_upload = Table(
    "portal_upload",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("portal_user.id"), nullable=False),
    Column("bn9", String(9), nullable=False),
    Column("category", String(40), nullable=False),
    Column("reference", String(10), nullable=False),
    Column("file_name", String(255), nullable=False),  # as the user named it, shown only
    Column("size", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
)
