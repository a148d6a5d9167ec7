"""Assist sessions belong to their scene: ``assist_sessions.scene_id`` references ``scenes.id`` ON DELETE CASCADE,
so deleting a scene removes its conversations (messages, tool calls and stream events cascade from the session).

Sessions whose scene is already gone are deleted first (the constraint could not hold otherwise). On SQLite the
table is rebuilt (batch mode); dropping the old table would cascade to the messages while foreign keys are
enforced, so the assist rows of the kept sessions are copied aside and put back after the rebuild.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_FK = "fk_assist_sessions_scene_id_scenes"
#: Children of ``assist_sessions``, parents first (the order rows are put back in on SQLite).
_CHILDREN = ("assist_messages", "assist_tool_calls", "assist_events")


def _delete_orphans() -> None:
    orphan = "SELECT id FROM assist_sessions WHERE scene_id NOT IN (SELECT id FROM scenes)"
    messages = f"SELECT id FROM assist_messages WHERE session_id IN ({orphan})"
    op.execute(f"DELETE FROM assist_events WHERE message_id IN ({messages})")
    op.execute(f"DELETE FROM assist_tool_calls WHERE message_id IN ({messages})")
    op.execute(f"DELETE FROM assist_messages WHERE session_id IN ({orphan})")
    op.execute(f"DELETE FROM assist_sessions WHERE id IN ({orphan})")


def upgrade() -> None:
    _delete_orphans()
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for table in _CHILDREN:
            op.execute(f"CREATE TEMP TABLE _keep_{table} AS SELECT * FROM {table}")
    with op.batch_alter_table("assist_sessions") as batch:
        batch.create_foreign_key(_FK, "scenes", ["scene_id"], ["id"], ondelete="CASCADE")
    if sqlite:
        for table in _CHILDREN:
            op.execute(f"INSERT INTO {table} SELECT * FROM _keep_{table} WHERE id NOT IN (SELECT id FROM {table})")
            op.execute(f"DROP TABLE _keep_{table}")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for table in _CHILDREN:
            op.execute(f"CREATE TEMP TABLE _keep_{table} AS SELECT * FROM {table}")
    with op.batch_alter_table("assist_sessions") as batch:
        batch.drop_constraint(_FK, type_="foreignkey")
    if sqlite:
        for table in _CHILDREN:
            op.execute(f"INSERT INTO {table} SELECT * FROM _keep_{table} WHERE id NOT IN (SELECT id FROM {table})")
            op.execute(f"DROP TABLE _keep_{table}")
