"""Assisted edits: sessions, messages, tool calls and per-message stream events (docs/assist.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assist_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("scene_id", sa.String(64), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assist_sessions"),
    )
    op.create_index("ix_assist_sessions_scene_id", "assist_sessions", ["scene_id"])
    op.create_table(
        "assist_messages",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("completed_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["assist_sessions.id"],
            name="fk_assist_messages_session_id_assist_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assist_messages"),
        sa.UniqueConstraint("session_id", "n", name="uq_assist_messages_session_id_n"),
    )
    op.create_index("ix_assist_messages_status", "assist_messages", ["status"])
    op.create_table(
        "assist_tool_calls",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(200), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("rev", sa.Integer(), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["assist_messages.id"],
            name="fk_assist_tool_calls_message_id_assist_messages",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assist_tool_calls"),
    )
    op.create_index("ix_assist_tool_calls_message_id", "assist_tool_calls", ["message_id"])
    op.create_table(
        "assist_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["assist_messages.id"],
            name="fk_assist_events_message_id_assist_messages",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assist_events"),
        sa.UniqueConstraint("message_id", "seq", name="uq_assist_events_message_id_seq"),
    )


def downgrade() -> None:
    op.drop_table("assist_events")
    op.drop_index("ix_assist_tool_calls_message_id", table_name="assist_tool_calls")
    op.drop_table("assist_tool_calls")
    op.drop_index("ix_assist_messages_status", table_name="assist_messages")
    op.drop_table("assist_messages")
    op.drop_index("ix_assist_sessions_scene_id", table_name="assist_sessions")
    op.drop_table("assist_sessions")
