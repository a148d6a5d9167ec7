"""``scenes.link_nonce``: a random value per scene row, signed into its ``?token=`` links.

A link signed only the scene id and its expiry, so a link to a private scene that was deleted also
opened a later scene made under the same id. Rows made from now on draw a nonce (the column's
default in ``storage.tables``); rows that exist now keep NULL, and their links — minted without a
nonce — keep working until they expire, as long as the row is not deleted and made again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scenes", sa.Column("link_nonce", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scenes") as batch:
        batch.drop_column("link_nonce")
