"""Write transactions on SQLite hold the write lock from their first statement (docs/deployment.md, "SQLite").

A deferred SQLite transaction reads a snapshot that another writer can commit over before it writes; a
job store deciding from that read (finish, reclaim, claim) would act on a state that no longer holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sceneforge.errors import StorageFull
from sceneforge.storage.database import (
    create_engine,
    database_fault,
    default_url,
    upgrade,
    write_transaction,
    written,
)
from sceneforge.storage.scenes import utcnow
from sceneforge.storage.tables import api_keys
from tests.support.sqlite import SLOW_STATEMENT, write_lock_free


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = default_url(tmp_path)
    upgrade(url)
    engine = create_engine(url)
    async with write_transaction(engine) as conn:
        await conn.execute(insert(api_keys).values(id=1, key_hash="h", scope="admin", name="a", created_at=utcnow()))
    yield engine
    await engine.dispose()


async def test_a_write_transaction_waits_for_the_one_that_read_first(sqlite_engine: AsyncEngine) -> None:
    """The second writer cannot commit between the first one's read and its write."""
    first_read = asyncio.Event()
    release = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with write_transaction(sqlite_engine) as conn:
            name = (await conn.execute(select(api_keys.c.name).where(api_keys.c.id == 1))).scalar_one()
            first_read.set()
            await release.wait()
            await conn.execute(update(api_keys).where(api_keys.c.id == 1).values(name=name + "-first"))
        order.append("first")

    async def second() -> None:
        await first_read.wait()
        async with write_transaction(sqlite_engine) as conn:
            name = (await conn.execute(select(api_keys.c.name).where(api_keys.c.id == 1))).scalar_one()
            await conn.execute(update(api_keys).where(api_keys.c.id == 1).values(name=name + "-second"))
        order.append("second")

    one, two = asyncio.create_task(first()), asyncio.create_task(second())
    await first_read.wait()
    done, _ = await asyncio.wait({two}, timeout=0.5)
    assert not done, "the second writer committed while the first held what it had read"
    release.set()
    await asyncio.gather(one, two)
    assert order == ["first", "second"]
    async with sqlite_engine.connect() as conn:
        final = (await conn.execute(select(api_keys.c.name).where(api_keys.c.id == 1))).scalar_one()
    assert final == "a-first-second"  # neither update was lost


async def test_readers_do_not_wait_for_a_writer(sqlite_engine: AsyncEngine) -> None:
    """Reads keep WAL's concurrency: a read runs while a write transaction is open, and sees the last commit."""
    async with write_transaction(sqlite_engine) as conn:
        await conn.execute(update(api_keys).where(api_keys.c.id == 1).values(name="uncommitted"))
        async with sqlite_engine.connect() as reader:
            seen = await asyncio.wait_for(reader.execute(select(api_keys.c.name).where(api_keys.c.id == 1)), timeout=5)
            assert seen.scalar_one() == "a"


async def test_a_failed_write_transaction_leaves_nothing(sqlite_engine: AsyncEngine) -> None:
    """The BEGIN the engine emits itself still rolls back as one unit."""
    with pytest.raises(RuntimeError):
        async with write_transaction(sqlite_engine) as conn:
            await conn.execute(
                insert(api_keys).values(id=2, key_hash="h2", scope="read", name="b", created_at=utcnow())
            )
            raise RuntimeError("stop")
    async with sqlite_engine.connect() as conn:
        ids = (await conn.execute(select(api_keys.c.id))).scalars().all()
    assert ids == [1]


@pytest.mark.parametrize("sql", ["SELEC 1", "SELECT * FROM no_such_table", "SELECT no_such_column FROM api_keys"])
async def test_sql_that_does_not_run_on_sqlite_is_no_database_fault(sqlite_engine: AsyncEngine, sql: str) -> None:
    """SQLite raises its SQL errors as OperationalError, as it does a locked or failing database: they are a bug
    (500, logged with its traceback, a job's attempt not retried as a storage fault), as PostgreSQL's
    ProgrammingError is, not 503 database_unavailable."""
    async with sqlite_engine.connect() as conn:
        with pytest.raises(DBAPIError) as raised:
            await conn.execute(text(sql))
    assert database_fault(raised.value) is None


async def test_a_full_sqlite_database_is_a_fault(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.connect() as conn:
        await conn.execute(text("PRAGMA max_page_count = 1"))
        with pytest.raises(DBAPIError) as raised:
            await conn.execute(text("CREATE TABLE filler (x)"))
    fault = database_fault(raised.value)
    assert isinstance(fault, StorageFull) and fault.code == "database_full"


def test_locking_locks_rows_on_postgresql_only() -> None:
    """SQLite has no ``FOR UPDATE`` (its writers take turns from BEGIN IMMEDIATE); PostgreSQL's writers lock the
    rows they read, as asked."""
    from types import SimpleNamespace

    from sqlalchemy.dialects import postgresql, sqlite

    from sceneforge.storage.database import locking

    query = select(api_keys).where(api_keys.c.id == 1)
    on = {name: SimpleNamespace(dialect=dialect) for name, dialect in [("pg", postgresql.dialect()),
                                                                       ("lite", sqlite.dialect())]}  # fmt: skip
    sql = {name: str(locking(conn, query, **how).compile(dialect=conn.dialect))  # type: ignore[arg-type]
           for name, conn, how in [("pg", on["pg"], {}), ("share", on["pg"], {"read": True, "key_share": True}),
                                   ("skip", on["pg"], {"skip_locked": True}), ("lite", on["lite"], {})]}  # fmt: skip
    assert sql["pg"].endswith("FOR UPDATE") and sql["share"].endswith("FOR KEY SHARE")
    assert sql["skip"].endswith("FOR UPDATE SKIP LOCKED") and "FOR " not in sql["lite"]


@pytest.mark.parametrize(
    ("sqlstate", "code"),
    [
        ("disk_full", "database_full"),
        ("io_error", "database_unavailable"),
        ("admin_shutdown", "database_unavailable"),
        ("too_many_connections", "database_unavailable"),
        ("read_only_sql_transaction", "database_unavailable"),
        ("query_canceled", "database_unavailable"),
        ("deadlock_detected", None),
        ("unique_violation", None),
        ("syntax_error", None),
    ],
)
async def test_postgresql_failing_is_a_database_fault(pg_engine: AsyncEngine, sqlstate: str, code: str | None) -> None:
    """asyncpg raises the server's own faults (a full disk, an I/O error, a shutdown) as a bare DBAPIError, not
    the OperationalError SQLite raises: they are 507 database_full or 503 database_unavailable all the same (a
    full PostgreSQL was a 500), and the detail is the server's message; SQL and lock-order bugs stay 500s."""
    statement = f"DO $$ BEGIN RAISE EXCEPTION 'the server says so' USING ERRCODE = '{sqlstate}'; END $$"
    async with pg_engine.connect() as conn:
        with pytest.raises(DBAPIError) as raised:
            await conn.execute(text(statement))
    fault = database_fault(raised.value)
    assert (fault and fault.code) == code, raised.value
    if fault is not None:
        assert isinstance(fault, StorageFull) == (code == "database_full")
        assert fault.public is not None and fault.public.endswith(
            ("the server says so", "the server says so; nothing was stored")
        ), fault.public


@pytest.mark.parametrize(("how", "kept"), [("write_transaction", "a"), ("written", "written")])
async def test_a_cancel_during_a_statement_leaves_the_write_lock_free(
    sqlite_engine: AsyncEngine, how: str, kept: str
) -> None:
    """A cancel landing while a statement runs is raised in the caller. A :func:`write_transaction` cut so is rolled
    back, :func:`written`'s runs on and commits; either way the write lock is free once the statement ends. Before,
    the cut connection was closed without its rollback; sqlite3 kept it open while its unfinished statement lived
    (until the garbage collector came), and with it the write lock: every other writer failed, "database is
    locked"."""
    started = asyncio.Event()

    async def body(conn: AsyncConnection) -> None:
        await conn.execute(update(api_keys).where(api_keys.c.id == 1).values(name="written"))
        started.set()
        await conn.execute(SLOW_STATEMENT)

    async def cut() -> None:
        async with write_transaction(sqlite_engine) as conn:
            await body(conn)

    task = asyncio.create_task(cut() if how == "write_transaction" else written(sqlite_engine, body))
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(write_lock_free, sqlite_engine)
    async with sqlite_engine.connect() as conn:
        assert (await conn.execute(select(api_keys.c.name).where(api_keys.c.id == 1))).scalar_one() == kept
