"""``retired_numbers``: the version and draft revision numbers a deleted scene had used.

A scene deleted and made again under the same id numbered its versions and revisions from 1 anew,
so ``{id}@v1`` (served as immutable for a year) named other bytes than caches held, and an
``If-Match: "rev-3"`` a client kept from the old draft matched the new draft's rev 3. Deleting a
scene now records its last numbers here, and the scene made again numbers on from them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retired_numbers",
        sa.Column("scene_id", sa.String(64), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("last_rev", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scene_id", name="pk_retired_numbers"),
    )


def downgrade() -> None:
    op.drop_table("retired_numbers")
