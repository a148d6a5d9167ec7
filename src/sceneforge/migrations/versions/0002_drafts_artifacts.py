"""Drafts and revisions (editable scenes with history), version publishing, and per-version artifacts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("rev", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("published_at", Stamp, nullable=True))
    # Every version made before drafts existed was public as soon as it was built.
    op.execute("UPDATE versions SET published_at = created_at")
    op.create_table(
        "drafts",
        sa.Column("scene_id", sa.String(64), nullable=False),
        sa.Column("rev", sa.Integer(), nullable=False),
        sa.Column("description_key", sa.String(64), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("undo", sa.JSON(), nullable=False),
        sa.Column("redo", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["scene_id"], ["scenes.id"], name="fk_drafts_scene_id_scenes", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("scene_id", name="pk_drafts"),
    )
    op.create_table(
        "revisions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("scene_id", sa.String(64), nullable=False),
        sa.Column("rev", sa.Integer(), nullable=False),
        sa.Column("parent_rev", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.Column("ops", sa.JSON(), nullable=False),
        sa.Column("before_key", sa.String(64), nullable=True),
        sa.Column("after_key", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["scene_id"], ["scenes.id"], name="fk_revisions_scene_id_scenes", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_revisions"),
        sa.UniqueConstraint("scene_id", "rev", name="uq_revisions_scene_id_rev"),
    )
    op.create_table(
        "artifacts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("scene_id", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("blob_key", sa.String(64), nullable=False),
        sa.Column("etag", sa.String(16), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["scene_id"], ["scenes.id"], name="fk_artifacts_scene_id_scenes", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
        sa.UniqueConstraint("scene_id", "n", "name", name="uq_artifacts_scene_id_n"),
    )
    op.create_index("ix_artifacts_blob_key", "artifacts", ["blob_key"])


def downgrade() -> None:
    op.drop_index("ix_artifacts_blob_key", table_name="artifacts")
    op.drop_table("artifacts")
    op.drop_table("revisions")
    op.drop_table("drafts")
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("published_at")
        batch.drop_column("rev")
