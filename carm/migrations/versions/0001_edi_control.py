"""EDI control numbers, interchanges received, acknowledgements sent.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edi_control_sequence",
        sa.Column("partner", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("last_value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("partner", "kind"),
    )
    op.create_table(
        "edi_inbound_interchange",
        sa.Column("sender", sa.String(40), nullable=False),
        sa.Column("control_number", sa.String(9), nullable=False),
        sa.Column("file_digest", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender", "control_number"),
    )
    op.create_table(
        "edi_outbound_document",
        sa.Column("file_digest", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("file_digest", "kind"),
    )


def downgrade() -> None:
    op.drop_table("edi_outbound_document")
    op.drop_table("edi_inbound_interchange")
    op.drop_table("edi_control_sequence")
