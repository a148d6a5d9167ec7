"""The migrations create exactly the tables of ``storage.tables``, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, select, text

from sceneforge.storage import default_url, sync_url, upgrade
from sceneforge.storage.scenes import utcnow
from sceneforge.storage.tables import (
    assist_events,
    assist_messages,
    assist_sessions,
    assist_tool_calls,
    events,
    metadata,
    scenes,
)
from tests.support.servers import create_database


def _diff(url: str) -> list[Any]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def _scene_before_0007(conn: Any, scene_id: str, now: Any) -> None:
    """Insert a scene row into the table as migrations before 0007 made it (no ``link_nonce``)."""
    made = "INSERT INTO scenes (id, private, created_at, updated_at) VALUES (:id, :private, :now, :now)"
    conn.execute(text(made), {"id": scene_id, "private": False, "now": now})


def test_migrations_match_tables(database_url: str) -> None:
    assert _diff(database_url) == []


def test_migrations_upgrade_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    engine = create_engine(sync_url(database_url))
    try:
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"scenes", "versions", "assets", "api_keys", "jobs", "events", "alembic_version"} <= names


def test_events_seq_strictly_increases(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            for i in range(3):
                conn.execute(insert(events).values(type="scene.built", scene_id="s", ts=utcnow(), payload={"i": i}))
            conn.execute(events.delete().where(events.c.seq == conn.execute(select(events.c.seq).limit(1)).scalar()))
            conn.execute(insert(events).values(type="scene.built", scene_id="s", ts=utcnow(), payload={}))
            seqs = list(conn.execute(select(events.c.seq).order_by(events.c.seq)).scalars())
    finally:
        engine.dispose()
    assert seqs == sorted(set(seqs)) and len(seqs) == 3 and seqs[-1] == 4


def test_migrations_concurrent_upgrades_take_turns(postgres_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    url = create_database(postgres_url)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: upgrade(url), range(4)))
    assert _diff(url) == []


def _empty_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty database of ``backend``."""
    if backend == "sqlite":
        return default_url(tmp_path)
    return create_database(request.getfixturevalue("postgres_url"))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_assist_scene_key_migration_keeps_live_conversations(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """0005 drops the conversations of scenes deleted before it and keeps every row of the others."""
    url = _empty_database(backend, tmp_path, request)
    upgrade(url, "0004")
    now = utcnow()
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            _scene_before_0007(conn, "live", now)
            for session, scene in (("s-live", "live"), ("s-gone", "gone")):
                conn.execute(insert(assist_sessions).values(id=session, scene_id=scene, author="a", created_at=now))
                message = dict(role="user", content="c", reasoning="", status="done", created_at=now)
                conn.execute(insert(assist_messages).values(id=f"m-{session}", session_id=session, n=1, **message))
                call = dict(call_id="c1", round=1, name="get_draft", arguments="{}", created_at=now)
                conn.execute(insert(assist_tool_calls).values(message_id=f"m-{session}", **call))
                event = dict(seq=1, type="text", data={"delta": "x"}, created_at=now)
                conn.execute(insert(assist_events).values(message_id=f"m-{session}", **event))
        upgrade(url)
        with engine.connect() as conn:
            rows = {
                table.name: sorted(conn.execute(select(table.c[column])).scalars())
                for table, column in (
                    (assist_sessions, "id"),
                    (assist_messages, "id"),
                    (assist_tool_calls, "message_id"),
                    (assist_events, "message_id"),
                )
            }
        assert rows == {
            "assist_sessions": ["s-live"],
            "assist_messages": ["m-s-live"],
            "assist_tool_calls": ["m-s-live"],
            "assist_events": ["m-s-live"],
        }
        assert _diff(url) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_scene_link_nonce_migration_keeps_old_rows_without_one(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """0007 adds ``scenes.link_nonce``: rows that existed keep NULL (their links, signed without a nonce, still
    open them); a row made afterwards draws one, and two rows never draw the same."""
    url = _empty_database(backend, tmp_path, request)
    upgrade(url, "0006")
    now = utcnow()
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            _scene_before_0007(conn, "old", now)
        upgrade(url)
        with engine.begin() as conn:
            for scene_id in ("new", "newer"):
                conn.execute(insert(scenes).values(id=scene_id, private=True, created_at=now, updated_at=now))
            nonces = {row.id: row.link_nonce for row in conn.execute(select(scenes.c.id, scenes.c.link_nonce))}
        assert nonces["old"] is None
        assert len(nonces["new"]) == len(nonces["newer"]) == 16 and nonces["new"] != nonces["newer"]
        assert _diff(url) == []
    finally:
        engine.dispose()
