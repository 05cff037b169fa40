"""A payment is kept as it arrived, even one refused or set aside: the payer's BN9, its security
account and each line's account and security account get the width the 820 gives them (N104
AN 2/80, REF02 AN 1/30, RMR02 AN 1/30) — a malformed value is the reason for the refusal and
must be recorded whole, not overflow the column (PostgreSQL refused the row; SQLite let it pass).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_WIDENED = [
    ("payment", "payer_bn9", 9, 80, False),
    ("payment", "payer_asec", 5, 30, True),
    ("payment_line", "rm15", 15, 30, False),
    ("payment_line", "asec", 5, 30, True),
]


def upgrade() -> None:
    for table, column, old, new, nullable in _WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(new), existing_type=sa.String(old), existing_nullable=nullable)


def downgrade() -> None:
    for table, column, old, new, nullable in _WIDENED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.String(old), existing_type=sa.String(new), existing_nullable=nullable)
