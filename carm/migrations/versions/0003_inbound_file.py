"""edi_inbound_file: every file taken from a partner inbox, its archive and its fate

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edi_inbound_file",
        sa.Column("file_digest", sa.String(64), nullable=False),
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archive_path", sa.String(400), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(400), nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("file_digest"),
    )


def downgrade() -> None:
    op.drop_table("edi_inbound_file")
