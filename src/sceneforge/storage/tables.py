"""The metadata schema (SQLAlchemy Core tables), shared by SQLite and PostgreSQL.

Migrations in ``sceneforge/migrations`` create exactly these tables; a test compares the two.

Shaped for drafts and publishing: ``scenes.latest_version`` is the *public pointer*
that a publish moves (to a new version, or back to an older one for a rollback); versions are
immutable and record the blob key of the description they were built from, so drafts and
revisions can later point at versions without changing this table.
"""

from __future__ import annotations

import secrets

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "MAX_KEY_NAME_CHARS",
    "MAX_REASON_CHARS",
    "api_keys",
    "artifacts",
    "assets",
    "assist_events",
    "assist_messages",
    "assist_sessions",
    "assist_tool_calls",
    "bus_instances",
    "drafts",
    "events",
    "jobs",
    "metadata",
    "new_link_nonce",
    "retired_numbers",
    "revisions",
    "scenes",
    "versions",
]

metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s",
        "ix": "ix_%(table_name)s_%(column_0_name)s",
    }
)


def new_link_nonce() -> str:
    """A scene's ``link_nonce``: 96 random bits, URL-safe (16 characters)."""
    return secrets.token_urlsafe(12)


#: Characters a revision's ``reason`` holds: ``X-Change-Reason`` past it is refused, an assistant's reason cut.
MAX_REASON_CHARS = 1000
#: Characters an API key's ``name`` holds (``sceneforge keys create --name`` refuses a longer one).
MAX_KEY_NAME_CHARS = 200

#: 64-bit on PostgreSQL, SQLite's INTEGER (its rowid alias) so autoincrement works there too.
BigId = BigInteger().with_variant(Integer(), "sqlite")
#: A version or revision number: the API takes any up to 2⁶³−1 (``wire.MAX_INT64``), so the columns holding or
#: compared with one are 64-bit (on PostgreSQL a 32-bit column refused a larger one even as a query's parameter: a
#: 500 for ``/scenes/x@v2147483648.glb``); SQLite's INTEGER is 64-bit already.
Number = BigInteger().with_variant(Integer(), "sqlite")

scenes = Table(
    "scenes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("private", Boolean, nullable=False, default=False),
    #: The public pointer: ``versions.n`` served as the latest version (None before the first build).
    Column("latest_version", Number, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    #: A random value drawn when the row is made, signed into the scene's ``?token=`` links: a scene deleted and
    #: made again under the same id draws another, so the links of the first do not open it. NULL on rows made
    #: before migration 0007 (their links, signed without one, keep working until they expire).
    Column("link_nonce", String(32), nullable=True, default=new_link_nonce),
)

versions = Table(
    "versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("scene_id", String(64), ForeignKey("scenes.id", ondelete="CASCADE"), nullable=False),
    Column("n", Number, nullable=False),
    Column("etag", String(16), nullable=False),
    Column("glb_key", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    #: The meta JSON of docs/meta.md, complete (``version`` and ``TimestampUtc`` included).
    Column("meta", JSON, nullable=False),
    Column("description_key", String(64), nullable=True),
    Column("options", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: The draft revision a draft build was made from (None for builds outside drafts).
    Column("rev", Number, nullable=True),
    #: When the version was first published; None for a draft build nobody published (not public).
    Column("published_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("scene_id", "n"),
    UniqueConstraint("scene_id", "etag"),
    Index("ix_versions_glb_key", "glb_key"),
)

assets = Table(
    "assets",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key_hash", String(64), nullable=False),
    Column("scope", String(8), nullable=False),
    Column("name", String(MAX_KEY_NAME_CHARS), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("scene_id", String(64), nullable=False),
    Column("type", String(32), nullable=False, default="build"),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("error", JSON, nullable=True),
    Column("attempt", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=3),
    Column("progress", Float, nullable=False, default=0.0),
    Column("stage", String(32), nullable=True),
    Column("priority", Integer, nullable=False, default=0),
    Column("result", JSON, nullable=True),
    Column("description_key", String(64), nullable=True),
    Column("options", JSON, nullable=True),
    Column("private", Boolean, nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_expires_at", DateTime(timezone=True), nullable=True),
    Column("canceled", Boolean, nullable=False, default=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Index("ix_jobs_status", "status", "priority", "created_at"),
    Index("ix_jobs_scene_id", "scene_id"),
)

events = Table(
    "events",
    metadata,
    #: Global, strictly increasing (SQLite: AUTOINCREMENT never reuses a seq; PostgreSQL: a sequence).
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("type", String(32), nullable=False),
    Column("scene_id", String(64), nullable=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("payload", JSON, nullable=False),
    Index("ix_events_scene_id", "scene_id", "seq"),
    Index("ix_events_ts", "ts"),
    sqlite_autoincrement=True,
)

drafts = Table(
    "drafts",
    metadata,
    Column("scene_id", String(64), ForeignKey("scenes.id", ondelete="CASCADE"), primary_key=True),
    #: The current revision; every accepted change adds one (compare-and-set on this column).
    Column("rev", Number, nullable=False),
    #: Blob key of the current description snapshot (content-addressed).
    Column("description_key", String(64), nullable=False),
    Column("author", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    #: Revisions that undo would revert, most recent last.
    Column("undo", JSON, nullable=False),
    #: Revisions that redo would re-apply (made by undo; cleared by any new edit), most recent last.
    Column("redo", JSON, nullable=False),
    #: The patch whose turn it is (a random token; NULL: none): one that lost a race takes it, and other patches'
    #: compare-and-set lets it through until it writes or ``turn_until`` passes (``storage/drafts.py``).
    Column("turn", String(32), nullable=True),
    Column("turn_until", DateTime(timezone=True), nullable=True),
)

revisions = Table(
    "revisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("scene_id", String(64), ForeignKey("scenes.id", ondelete="CASCADE"), nullable=False),
    Column("rev", Number, nullable=False),
    Column("parent_rev", Number, nullable=True),
    Column("author", String(200), nullable=False),
    #: ``user | assistant | undo | redo | import``.
    Column("source", String(16), nullable=False),
    Column("reason", String(MAX_REASON_CHARS), nullable=True),
    #: The RFC 6902 operations from the parent's description to this one.
    Column("ops", JSON, nullable=False),
    Column("before_key", String(64), nullable=True),
    Column("after_key", String(64), nullable=False),
    #: The assisted-edit message that made this revision, if any.
    Column("message_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("scene_id", "rev"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("scene_id", String(64), ForeignKey("scenes.id", ondelete="CASCADE"), nullable=False),
    #: The version (``versions.n``) the artifact was made from.
    Column("n", Number, nullable=False),
    #: ``preview/thumbnail.png``, ``preview/floorplan.svg``, ``exports/usdz``, …
    Column("name", String(64), nullable=False),
    Column("blob_key", String(64), nullable=False),
    Column("etag", String(16), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("scene_id", "n", "name"),
    Index("ix_artifacts_blob_key", "blob_key"),
)

# -- assisted edits (docs/assist.md) ------------------------------------------------------------

assist_sessions = Table(
    "assist_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    #: Deleting the scene deletes its conversations (messages, tool calls and events cascade from the session).
    Column("scene_id", String(64), ForeignKey("scenes.id", ondelete="CASCADE"), nullable=False),
    #: Who started the conversation (key name or JWT subject).
    Column("author", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_assist_sessions_scene_id", "scene_id"),
)

assist_messages = Table(
    "assist_messages",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("session_id", String(64), ForeignKey("assist_sessions.id", ondelete="CASCADE"), nullable=False),
    #: Position in the session, from 1.
    Column("n", Integer, nullable=False),
    #: ``user`` or ``assistant``.
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    #: The model's reasoning as streamed (assistant messages).
    Column("reasoning", Text, nullable=False),
    #: ``queued | running | done | error | canceled`` (a user message is ``done`` at once).
    Column("status", String(16), nullable=False),
    Column("model", String(200), nullable=True),
    Column("job_id", String(64), nullable=True),
    #: ``{"code", "message"}`` when the message ended in ``error``.
    Column("error", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("session_id", "n"),
    Index("ix_assist_messages_status", "status"),
)

assist_tool_calls = Table(
    "assist_tool_calls",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", String(64), ForeignKey("assist_messages.id", ondelete="CASCADE"), nullable=False),
    #: The model's id of the call (``call_…``).
    Column("call_id", String(200), nullable=False),
    #: The tool round (1-based) of the message the call was made in.
    Column("round", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    #: The arguments exactly as the model streamed them (may be invalid JSON).
    Column("arguments", Text, nullable=False),
    #: What the tool answered (sent back to the model).
    Column("result", JSON, nullable=True),
    #: The draft revision a ``patch_draft`` call made, if it applied.
    Column("rev", Number, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_assist_tool_calls_message_id", "message_id"),
)

assist_events = Table(
    "assist_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", String(64), ForeignKey("assist_messages.id", ondelete="CASCADE"), nullable=False),
    #: Per message, from 1, strictly increasing (the SSE ``id``).
    Column("seq", Number, nullable=False),
    Column("type", String(32), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("message_id", "seq"),
)

bus_instances = Table(
    "bus_instances",
    metadata,
    #: The API instances listening on the PostgreSQL event bus (``events/pg_bus.py``), one row each, renewed
    #: every heartbeat; a writer waits for the acknowledgement of every row whose lease has not run out.
    #: UNLOGGED on PostgreSQL (live state only, nothing to recover after a crash); unused on SQLite.
    Column("id", String(64), primary_key=True),
    #: Database time until which the instance may answer from its caches without being heard from again.
    Column("lease_until", DateTime(timezone=True), nullable=False),
)

retired_numbers = Table(
    "retired_numbers",
    metadata,
    #: The numbers a deleted scene had used, kept after its rows go: a scene made again under the same id
    #: numbers its versions and draft revisions on from them, so ``{id}@v{n}`` (served as immutable) and an
    #: ``If-Match: "rev-<n>"`` a client kept never name another scene's bytes or revision.
    Column("scene_id", String(64), primary_key=True),
    Column("last_version", Number, nullable=False),
    Column("last_rev", Number, nullable=False),
)
