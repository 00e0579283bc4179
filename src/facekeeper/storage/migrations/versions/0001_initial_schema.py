"""Initial schema: services, subjects, examples and their images (reviewed by hand).

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:26:06.812964
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("name_folded", sa.String(), nullable=False),
        sa.Column("type", sa.String(length=1), nullable=False),
        sa.Column("api_key", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("type IN ('R', 'D', 'V')", name="ck_service_type"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("api_key"),
        sa.UniqueConstraint("name_folded"),
    )
    op.create_table(
        "subject",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_folded", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("service_id", "name_folded", name="uq_subject_service_name"),
    )
    op.create_table(
        "example",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("calculator", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subject_id"], ["subject.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("example", schema=None) as batch_op:
        batch_op.create_index("ix_example_service", ["service_id", "id"], unique=False)
        batch_op.create_index("ix_example_subject", ["subject_id"], unique=False)

    op.create_table(
        "example_image",
        sa.Column("example_id", sa.String(length=36), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["example_id"], ["example.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("example_id"),
    )


def downgrade() -> None:
    op.drop_table("example_image")
    with op.batch_alter_table("example", schema=None) as batch_op:
        batch_op.drop_index("ix_example_subject")
        batch_op.drop_index("ix_example_service")

    op.drop_table("example")
    op.drop_table("subject")
    op.drop_table("service")
