"""Subjects listed in creation order from an index (reviewed by hand).

`GET /subjects` lists a service's subjects in creation order. The unique (service_id, name_folded) index
finds them but not in that order, and with statistics SQLite preferred walking every subject of every
service by id: `ix_subject_service` (service_id, id) hands them over in order, one service only.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.create_index("ix_subject_service", ["service_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subject", schema=None) as batch_op:
        batch_op.drop_index("ix_subject_service")
