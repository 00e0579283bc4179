"""Change log for collections, example counts per service, indexes for listing at size (reviewed by hand).

- `collection_change`: one row per change to a collection, numbered by `service.revision`, so every
  process replays what it has not seen instead of reloading the whole collection.
- `service.example_count`, filled from the existing rows: `GET /faces` needs the total on every page.
- `ix_example_subject` gains `id`, so `?subject=` pages come in order from the index alone.
- `ix_example_calculator`: `consistence/status` asks whether any example has another calculator.

Existing services keep their revision; their log starts empty, so a process that loaded a collection
before the upgrade reloads it once (the log cannot cover what happened before it existed).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_change",
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("service_id", "seq"),
    )
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.add_column(sa.Column("example_count", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE service SET example_count = (SELECT count(*) FROM example WHERE example.service_id = service.id)"
    )
    with op.batch_alter_table("example", schema=None) as batch_op:
        batch_op.drop_index("ix_example_subject")
        batch_op.create_index("ix_example_subject", ["subject_id", "id"], unique=False)
        batch_op.create_index("ix_example_calculator", ["calculator"], unique=False)


def downgrade() -> None:
    # Plain ALTERs, never a batch copy: on SQLite a batch rebuilds the table by dropping it, and with foreign keys
    # on, dropping `service` cascades to every subject and example (SQLite >= 3.35 drops a column in place).
    op.drop_index("ix_example_calculator", table_name="example")
    op.drop_index("ix_example_subject", table_name="example")
    op.create_index("ix_example_subject", "example", ["subject_id"], unique=False)
    op.drop_column("service", "example_count")
    op.drop_table("collection_change")
