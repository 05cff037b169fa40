"""A payment line keeps the transaction an advance payment named (REF*TN after the RMR, AN 1/30,
D17-R22, decision L23): the payer's instruction that decided where its money went, recorded as
received, or NULL when the line named none.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_line") as batch:
        batch.add_column(sa.Column("transaction_number", sa.String(30)))


def downgrade() -> None:
    with op.batch_alter_table("payment_line") as batch:
        batch.drop_column("transaction_number")
