"""Failed admin sign-ins counted in the database, shared by every process and host (by hand).

Until now each process counted failures in its memory: with `serve --workers N` an attacker had N times
the limit, and a restart forgot the counts. `sign_in_failure` holds one row per failure and key (an
email or a client address): the key's SHA-256 only, and the wall-clock time in UTC. Nothing existing is
touched, so the downgrade only drops the table (forgetting the failures of the current window).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failure_key", "sign_in_failure", ["key_hash", "failed_at"], unique=False)
    op.create_index("ix_sign_in_failure_time", "sign_in_failure", ["failed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sign_in_failure_time", table_name="sign_in_failure")
    op.drop_index("ix_sign_in_failure_key", table_name="sign_in_failure")
    op.drop_table("sign_in_failure")
