"""The migrations create exactly the tables of ``storage.tables``, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, select

from sceneforge.storage import sync_url, upgrade
from sceneforge.storage.scenes import utcnow
from sceneforge.storage.tables import events, metadata


def _diff(url: str) -> list[Any]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


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

    from tests.support.servers import create_database

    url = create_database(postgres_url)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: upgrade(url), range(4)))
    assert _diff(url) == []
