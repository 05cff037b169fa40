"""What intake saw in the partners' inboxes: when each file was first seen, whether its size
still moves, how many reads failed, and when each inbox was last listed.

The receipt time of a file is the time the engine saw it (within the window since the inbox's
previous listing), not the modification time a partner's client may set.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edi_inbox_poll",
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("polled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner", name="pk_edi_inbox_poll"),
    )
    op.create_table(
        "edi_inbox_sighting",
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("size_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("partner", "name", name="pk_edi_inbox_sighting"),
    )


def downgrade() -> None:
    op.drop_table("edi_inbox_sighting")
    op.drop_table("edi_inbox_poll")
