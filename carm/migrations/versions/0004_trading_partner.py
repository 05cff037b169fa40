"""trading_partner: the registry of partners exchanging files, loaded like reference data

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trading_partner",
        sa.Column("partner_id", sa.String(40), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("sftp_user", sa.String(32), nullable=False),
        sa.Column("public_keys", sa.String(4000), nullable=False),
        sa.Column("isa_qualifier", sa.String(2), nullable=False),
        sa.Column("isa_sender_id", sa.String(15), nullable=False),
        sa.Column("gs_sender_code", sa.String(15), nullable=False),
        sa.Column("business_number", sa.String(9), nullable=False),
        sa.Column("security_account", sa.String(5), nullable=False),
        sa.PrimaryKeyConstraint("partner_id"),
        sa.UniqueConstraint("sftp_user"),
    )


def downgrade() -> None:
    op.drop_table("trading_partner")
