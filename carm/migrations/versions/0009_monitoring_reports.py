"""Monitoring reports (Annex D): who asked for one, for which program account, in which language,
under which age public key; and what was delivered (a digest of the report per recipient and
period, so a re-run sends nothing new).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_recipient",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("rm15", sa.String(15), sa.ForeignKey("program_account.rm15"), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("age_recipient", sa.String(100)),
    )
    op.create_table(
        "monitoring_delivery",
        sa.Column("name", sa.String(32), sa.ForeignKey("monitoring_recipient.name"), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("file_name", sa.String(100), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("monitoring_delivery")
    op.drop_table("monitoring_recipient")
