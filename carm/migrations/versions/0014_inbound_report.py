"""What was said of each inbound file answered, kept with its answers, so that the same bytes
again are answered and reported from the store without being validated (issue 11, decision E27).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edi_inbound_report",
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("file_digest", sa.String(64), nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner", "file_digest", name="pk_edi_inbound_report"),
    )


def downgrade() -> None:
    op.drop_table("edi_inbound_report")
