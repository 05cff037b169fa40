"""The balance caches leave room on each page for their rows' next versions (PostgreSQL): a payment
updates one `item_balance` row per item it pays and one `account_balance` row per account, and with
half of each page free PostgreSQL writes the new version beside the old one without touching the
indexes (a HOT update) — issue 11, bulk posting (`docs/performance.md`). SQLite updates rows in place:
nothing to do there. Rows written before this revision keep their pages until the table is rewritten
(`VACUUM FULL item_balance, account_balance` in a maintenance window).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = ("item_balance", "account_balance")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
