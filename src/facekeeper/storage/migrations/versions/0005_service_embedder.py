"""Collections own their embedder: `service.embedder`, and re-embeddings waiting for a switch.

- `service.embedder`: the registry name of the model the collection is embedded with. Every service that
  exists before this revision was embedded by SFace, the only embedder earlier versions had: `sface`.
- `pending_embedding`: `facekeeper migrate` writes each example's new embedding here while the old one in
  `example` stays searchable; one transaction then copies them over and switches `service.embedder`.

Nothing is rewritten: downgrading drops the column and the pending rows (an unfinished migration is
simply started again), and leaves every example as it is.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# `service` is altered in place (ALTER TABLE ADD/DROP COLUMN, SQLite >= 3.35), never through a batch copy:
# on SQLite, with foreign keys on, dropping the old copy of `service` would cascade to every subject,
# example and image.


def upgrade() -> None:
    op.add_column("service", sa.Column("embedder", sa.String(length=64), server_default="sface", nullable=False))
    op.create_table(
        "pending_embedding",
        sa.Column("example_id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("embedder", sa.String(length=64), nullable=False),
        sa.Column("calculator", sa.String(length=255), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["example_id"], ["example.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("example_id"),
    )
    with op.batch_alter_table("pending_embedding", schema=None) as batch_op:
        batch_op.create_index("ix_pending_embedding_service", ["service_id", "embedder"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_embedding", schema=None) as batch_op:
        batch_op.drop_index("ix_pending_embedding_service")
    op.drop_table("pending_embedding")
    op.drop_column("service", "embedder")
