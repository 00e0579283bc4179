"""The admin side: accounts, applications, memberships, sessions, the setup code, requests per day (by hand).

Every service existing before this revision is placed in an application named "Default", so nothing is
lost and the CLI's services stay visible in the admin API. `service.application_id` is added with a
plain `ALTER TABLE ... ADD COLUMN` (no table rebuild: on SQLite, rebuilding `service` would drop the old
table, and with foreign keys on, that deletes every subject and example through the cascades). For the
same reason the downgrade drops the column with `ALTER TABLE ... DROP COLUMN` (SQLite 3.35+).

Revision ID: 0004
Revises: 0003
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("email_folded", sa.String(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=1), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('O', 'A', 'U')", name="ck_account_role"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email_folded"),
    )
    op.create_table(
        "application",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("name_folded", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_folded"),
    )
    op.create_table(
        "membership",
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=1), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('O', 'A', 'U')", name="ck_membership_role"),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("application_id", "account_id"),
    )
    op.create_index("ix_membership_account", "membership", ["account_id"], unique=False)
    op.create_table(
        "admin_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_admin_session_account", "admin_session", ["account_id"], unique=False)
    op.create_table(
        "setup_code",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "service_usage",
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("service_id", "day"),
    )
    op.add_column("service", sa.Column("application_id", sa.String(length=36), nullable=True))
    op.create_index("ix_service_application", "service", ["application_id"], unique=False)

    connection = op.get_bind()
    if connection.execute(sa.text("SELECT count(*) FROM service")).scalar_one():
        default_id = str(uuid.uuid4())
        connection.execute(
            sa.text(
                "INSERT INTO application (id, name, name_folded, created_at) VALUES (:id, 'Default', 'default', :now)"
            ),
            {"id": default_id, "now": datetime.now(UTC)},
        )
        connection.execute(sa.text("UPDATE service SET application_id = :id"), {"id": default_id})


def downgrade() -> None:
    op.drop_index("ix_service_application", table_name="service")
    op.execute("ALTER TABLE service DROP COLUMN application_id")
    op.drop_table("service_usage")
    op.drop_table("setup_code")
    op.drop_index("ix_admin_session_account", table_name="admin_session")
    op.drop_table("admin_session")
    op.drop_index("ix_membership_account", table_name="membership")
    op.drop_table("membership")
    op.drop_table("application")
    op.drop_table("account")
