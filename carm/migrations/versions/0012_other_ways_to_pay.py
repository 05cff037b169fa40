"""The other ways to pay (D17-R21…R29): a payment's method holds a channel's method (CARD, PAD,
INTERAC), not only an X12 591 code; the cheques the bank returned (D17-R26 c, d); card requests
and their authorisation reference (D17-R23); pre-authorized debit agreements.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment") as batch:
        batch.alter_column("method", existing_type=sa.String(3), type_=sa.String(10), existing_nullable=False)
    op.create_table(
        "cheque_return",
        sa.Column("trace", sa.String(30), primary_key=True),
        sa.Column("payer_bn9", sa.String(9), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("journal_entry.id")),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cheque_return_payer", "cheque_return", ["payer_bn9", "returned_on"])
    op.create_table(
        "card_payment",
        sa.Column("reference", sa.String(30), primary_key=True),
        sa.Column("rm15", sa.String(15), nullable=False),
        sa.Column("payer_bn9", sa.String(9), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("authorisation", sa.String(40)),
        sa.Column("reason", sa.Text()),
        sa.CheckConstraint("status IN ('authorised', 'declined', 'refused')", name="ck_card_payment_status"),
    )
    op.create_table(
        "pad_agreement",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("rm15", sa.String(15), sa.ForeignKey("program_account.rm15"), nullable=False),
        sa.Column("payer_bn9", sa.String(9), nullable=False),
        sa.Column("bank_reference", sa.String(40), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date()),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pad_agreement_rm15", "pad_agreement", ["rm15"])


def downgrade() -> None:
    op.drop_index("ix_pad_agreement_rm15", table_name="pad_agreement")
    op.drop_table("pad_agreement")
    op.drop_table("card_payment")
    op.drop_index("ix_cheque_return_payer", table_name="cheque_return")
    op.drop_table("cheque_return")
    with op.batch_alter_table("payment") as batch:
        batch.alter_column("method", existing_type=sa.String(10), type_=sa.String(3), existing_nullable=False)
