"""Subjects listed in creation order from an index (reviewed by hand).

`GET /subjects` lists a service's subjects in creation order. The unique (service_id, name_folded) index
finds them but not in that order, and with statistics SQLite preferred walking every subject of every
service by id: `ix_subject_service` (service_id, id) hands them over in order, one service only.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain CREATE INDEX: no table rebuild on SQLite (which would cascade-delete through foreign keys).
    op.create_index("ix_subject_service", "subject", ["service_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_subject_service", table_name="subject")
