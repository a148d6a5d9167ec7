"""Version and revision numbers (and an assist stream's ``seq``) in 64-bit columns on PostgreSQL.

The API takes any version or revision number up to 2⁶³−1 (``docs/api.md``, "Conventions") and an event
position of the same range, and looks it up; those columns were ``INTEGER`` (32-bit) on PostgreSQL, which
refuses a larger parameter outright — ``/scenes/x@v2147483648.glb``, ``{"version": 2147483648}`` on a publish,
``/scenes/x/revisions/2147483648`` were 500s there instead of 404s. SQLite's ``INTEGER`` is 64-bit already:
nothing changes there. On PostgreSQL each ``ALTER COLUMN … TYPE BIGINT`` rewrites its table once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: (table, column, nullable)
NUMBERS = [
    ("scenes", "latest_version", True),
    ("versions", "n", False),
    ("versions", "rev", True),
    ("drafts", "rev", False),
    ("revisions", "rev", False),
    ("revisions", "parent_rev", True),
    ("artifacts", "n", False),
    ("assist_tool_calls", "rev", True),
    ("assist_events", "seq", False),
    ("retired_numbers", "last_version", False),
    ("retired_numbers", "last_rev", False),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, nullable in NUMBERS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=nullable)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, nullable in NUMBERS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=nullable)
