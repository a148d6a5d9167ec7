"""Initial schema: scenes, versions, assets, api_keys, jobs, events.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scenes",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scenes"),
    )
    op.create_table(
        "versions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("scene_id", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(16), nullable=False),
        sa.Column("glb_key", sa.String(64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("description_key", sa.String(64), nullable=True),
        sa.Column("description_hash", sa.String(64), nullable=True),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["scene_id"], ["scenes.id"], name="fk_versions_scene_id_scenes", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_versions"),
        sa.UniqueConstraint("scene_id", "n", name="uq_versions_scene_id_n"),
        sa.UniqueConstraint("scene_id", "etag", name="uq_versions_scene_id_etag"),
    )
    op.create_index("ix_versions_glb_key", "versions", ["glb_key"])
    op.create_table(
        "assets",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("revoked_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("scene_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("started_at", Stamp, nullable=True),
        sa.Column("completed_at", Stamp, nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(32), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("description_key", sa.String(64), nullable=True),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=True),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", Stamp, nullable=True),
        sa.Column("canceled", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_status", "jobs", ["status", "priority", "created_at"])
    op.create_index("ix_jobs_scene_id", "jobs", ["scene_id"])
    op.create_table(
        "events",
        sa.Column("seq", BigId, autoincrement=True, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("scene_id", sa.String(64), nullable=True),
        sa.Column("ts", Stamp, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_scene_id", "events", ["scene_id", "seq"])
    op.create_index("ix_events_ts", "events", ["ts"])


def downgrade() -> None:
    for index, table in [
        ("ix_events_ts", "events"),
        ("ix_events_scene_id", "events"),
        ("ix_jobs_scene_id", "jobs"),
        ("ix_jobs_status", "jobs"),
        ("ix_versions_glb_key", "versions"),
    ]:
        op.drop_index(index, table_name=table)
    for table in ["events", "jobs", "api_keys", "assets", "versions", "scenes"]:
        op.drop_table(table)
