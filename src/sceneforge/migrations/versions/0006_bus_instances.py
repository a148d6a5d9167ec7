"""The instances listening on the PostgreSQL event bus and their leases (``bus_instances``, ``events/pg_bus.py``).

UNLOGGED on PostgreSQL: the rows are live state, renewed every heartbeat, worthless after a crash.
SQLite gets the plain table (nothing uses it there: one process per database).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "bus_instances",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bus_instances"),
        prefixes=unlogged,
    )


def downgrade() -> None:
    op.drop_table("bus_instances")
