"""Drop ``versions.description_hash``: it repeated ``description_key`` (the blob key is the same SHA-256).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("description_hash")


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("description_hash", sa.String(64), nullable=True))
    op.execute("UPDATE versions SET description_hash = description_key")
