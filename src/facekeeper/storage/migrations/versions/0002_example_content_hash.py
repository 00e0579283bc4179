"""Examples record the SHA-256 of the image they were made from, so a bulk import can resume (reviewed by hand).

Existing examples keep NULL: hashing every stored image would make this migration as slow as reading the
whole image table, at start-up. Imports only skip files whose hash they find, so old examples are never
mistaken for imported ones.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("example", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_example_content", ["service_id", "content_sha256"], unique=False)


def downgrade() -> None:
    # Plain ALTERs, never a batch copy: rebuilding `example` on SQLite would cascade to its stored images.
    op.drop_index("ix_example_content", table_name="example")
    op.drop_column("example", "content_sha256")
