"""Answers and inbound files keyed by the partner they came from, not by their bytes alone;
file names up to 255 characters; a quarantine reason of any length; a trace number is taken
only by a payment that was posted.

Two partners may send the same bytes: each gets its own answers and its own register row.
A refused payment (negative 997) is not posted, so the FI may resend it corrected under the
same trace number.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _rebuild(name: str, columns: list, copy: str) -> None:
    op.create_table(f"{name}_new", *columns)
    op.execute(f"INSERT INTO {name}_new {copy} FROM {name}")
    op.drop_table(name)
    op.rename_table(f"{name}_new", name)


def upgrade() -> None:
    _rebuild(
        "edi_outbound_document",
        [
            sa.Column("partner", sa.String(40), nullable=False),
            sa.Column("file_digest", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(8), nullable=False),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("content", sa.LargeBinary, nullable=False),
            sa.Column("sequence", sa.Integer, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("partner", "file_digest", "kind", name="pk_edi_outbound_document"),
        ],
        "(partner, file_digest, kind, name, content, sequence, created_at) "
        "SELECT '', file_digest, kind, name, content, sequence, created_at",
    )
    _rebuild(
        "edi_inbound_file",
        [
            sa.Column("partner", sa.String(40), nullable=False),
            sa.Column("file_digest", sa.String(64), nullable=False),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("size", sa.BigInteger, nullable=False),
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("archive_path", sa.String(400), nullable=False),
            sa.Column("status", sa.String(12), nullable=False),
            sa.Column("reason", sa.Text, nullable=True),
            sa.Column("exit_code", sa.Integer, nullable=True),
            sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("partner", "file_digest", name="pk_edi_inbound_file"),
        ],
        "(partner, file_digest, name, size, received_at, archive_path, status, reason, exit_code, processed_at) "
        "SELECT partner, file_digest, name, size, received_at, archive_path, status, reason, exit_code, processed_at",
    )
    with op.batch_alter_table("posted_file") as batch:
        batch.alter_column("name", type_=sa.String(255), existing_type=sa.String(200), existing_nullable=False)
    op.drop_index("uq_payment_fi_trace", table_name="payment")
    posted = sa.text("status = 'posted'")
    op.create_index("uq_payment_fi_trace", "payment", ["fi", "trace"], unique=True, sqlite_where=posted, postgresql_where=posted)


def downgrade() -> None:
    raise NotImplementedError("answers of two partners for the same bytes cannot be folded back into one row")
