"""The client portal (G-R1…G-R5): its users (argon2 hashes), sessions (token digests), the
enrolment by proof questions with its persisted lock, notices read, documents uploaded.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_user",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(16), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("bn9", sa.String(9), sa.ForeignKey("business.bn9")),
        sa.Column("role", sa.String(8), nullable=False, server_default="user"),
        sa.Column("language", sa.String(2), nullable=False, server_default="en"),
        sa.Column("email", sa.String(200)),
        sa.Column("email_notices", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("failed_signins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('manager', 'user')", name="ck_portal_user_role"),
        sa.CheckConstraint("language IN ('en', 'fr')", name="ck_portal_user_language"),
    )
    op.create_table(
        "portal_session",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "portal_enrolment",
        sa.Column("bn9", sa.String(9), sa.ForeignKey("business.bn9"), primary_key=True),
        sa.Column("transaction_number", sa.String(14)),
        sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "portal_notice_read",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("notice_id", sa.Integer, sa.ForeignKey("notice.id"), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "notice_id"),
    )
    op.create_table(
        "portal_upload",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("portal_user.id"), nullable=False),
        sa.Column("bn9", sa.String(9), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("reference", sa.String(10), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("portal_upload", "portal_notice_read", "portal_enrolment", "portal_session", "portal_user"):
        op.drop_table(table)
