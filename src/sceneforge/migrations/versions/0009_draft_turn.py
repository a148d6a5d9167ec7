"""``drafts.turn`` and ``drafts.turn_until``: which writer's turn it is to patch a contested draft, until when.

A patch that lost the race to another instance's write was tried again in one write transaction from
its read to its write, so that it could not lose again; it validated the description inside it, and
for a large draft that held SQLite's write lock (every writer of the database waited) or PostgreSQL's
row lock and a connection for seconds. It now takes the draft's turn instead (a short write), validates
outside any transaction, and writes with the usual compare-and-set, which other patches of that draft
let through until the turn is given back or runs out (``storage/drafts.py``). Both columns are NULL
while no patch is contested.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("drafts", sa.Column("turn", sa.String(32), nullable=True))
    op.add_column("drafts", sa.Column("turn_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("turn_until")
        batch.drop_column("turn")
