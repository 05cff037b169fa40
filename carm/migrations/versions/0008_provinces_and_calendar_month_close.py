"""A program account's province (its holidays hold back its Daily Notices, D17-R14), and a period
close per billing cycle: the 18th → 17th period and the calendar month close on different days,
so `period_close` is keyed by the period and the cycle.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _pkey_named_after_the_table(built_as: str) -> None:
    """PostgreSQL names a primary key after the table it was created as: give it the usual name."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE period_close RENAME CONSTRAINT {built_as}_pkey TO period_close_pkey")


def upgrade() -> None:
    with op.batch_alter_table("program_account") as batch:
        batch.add_column(sa.Column("province", sa.String(2), nullable=True))
    # a new primary key: the table is rebuilt (SQLite cannot alter one), its rows copied over
    op.create_table(
        "period_close_new",
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("calendar_month", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period", "calendar_month"),
    )
    op.execute("INSERT INTO period_close_new (period, calendar_month, closed_at) SELECT period, false, closed_at FROM period_close")
    op.drop_table("period_close")
    op.rename_table("period_close_new", "period_close")
    _pkey_named_after_the_table("period_close_new")


def downgrade() -> None:
    op.create_table(
        "period_close_old",
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("period"),
    )
    op.execute("INSERT INTO period_close_old (period, closed_at) SELECT period, closed_at FROM period_close WHERE NOT calendar_month")
    op.drop_table("period_close")
    op.rename_table("period_close_old", "period_close")
    _pkey_named_after_the_table("period_close_old")
    with op.batch_alter_table("program_account") as batch:
        batch.drop_column("province")
