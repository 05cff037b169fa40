"""Correction requests (D17-R18, Annex E) and the standing of accounts with the measures of
D17-R38 (release hold, payment at release, claims against the security), each dated.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correction_request",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rm15", sa.String(15), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("adjusting_entry_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("amount_cents > 0", name="ck_correction_amount"),
        sa.CheckConstraint("kind IN ('penalty', 'interest', 'fee')", name="ck_correction_kind"),
        sa.CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="ck_correction_status"),
        sa.CheckConstraint("reviewed_by IS NULL OR reviewed_by <> requested_by", name="ck_correction_four_eyes"),
        sa.ForeignKeyConstraint(["rm15"], ["program_account.rm15"]),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entry.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["ar_item.id"]),
        sa.ForeignKeyConstraint(["adjusting_entry_id"], ["journal_entry.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_correction_request_rm15", "correction_request", ["rm15"])
    op.create_table(
        "account_standing",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rm15", sa.String(15), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("oldest_due_date", sa.Date(), nullable=False),
        sa.Column("overdue_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["rm15"], ["program_account.rm15"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rm15", "since", name="uq_account_standing_since"),
    )
    op.create_index(
        "uq_account_standing_open", "account_standing", ["rm15"], unique=True,
        sqlite_where=sa.text("ended_on IS NULL"), postgresql_where=sa.text("ended_on IS NULL"),
    )
    op.create_table(
        "security_claim",
        sa.Column("standing_id", sa.Integer(), nullable=False),
        sa.Column("asec", sa.String(5), nullable=False),
        sa.Column("claimed_on", sa.Date(), nullable=False),
        sa.Column("overdue_cents", sa.BigInteger(), nullable=False),
        sa.Column("security_cents", sa.BigInteger(), nullable=False),
        sa.Column("claim_cents", sa.BigInteger(), nullable=False),
        sa.Column("withdrawn_on", sa.Date(), nullable=True),
        sa.CheckConstraint("claim_cents > 0", name="ck_security_claim_amount"),
        sa.ForeignKeyConstraint(["standing_id"], ["account_standing.id"]),
        sa.ForeignKeyConstraint(["asec"], ["security_account.asec"]),
        sa.PrimaryKeyConstraint("standing_id", "asec", name="pk_security_claim"),
    )


def downgrade() -> None:
    op.drop_table("security_claim")
    op.drop_index("uq_account_standing_open", table_name="account_standing")
    op.drop_table("account_standing")
    op.drop_index("ix_correction_request_rm15", table_name="correction_request")
    op.drop_table("correction_request")
