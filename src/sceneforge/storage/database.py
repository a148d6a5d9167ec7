"""Database URLs, the async engine, and schema migrations.

The embedded default is SQLite at ``<data>/sceneforge.db`` in WAL mode (readers never wait for
the writer); ``SCENEFORGE_DATABASE_URL`` selects PostgreSQL (``postgresql://…`` is taken to mean
the asyncpg driver for the service and psycopg for migrations). Alembic migrations shipped in
``sceneforge/migrations`` run identically on both. The SQLite file is created 0600.

Transactions that write open with :func:`write_transaction`. On SQLite it begins ``BEGIN
IMMEDIATE``: the write lock is taken before the transaction's first read, so a row read there
cannot change before the transaction writes (a deferred transaction reads a snapshot that another
writer may commit over, and its own write then either fails at once with "database is locked",
without waiting out the busy timeout, or acts on what it read). SQLAlchemy emits every BEGIN itself
(the sqlite3 driver's own transaction control is off: docs/deployment.md, "SQLite"); reads keep a
deferred BEGIN, so they never wait for a writer (WAL). On PostgreSQL it is ``engine.begin()``:
there, rows a write depends on are read ``FOR UPDATE``.

A cancel landing while a statement runs (SQLAlchemy over aiosqlite) tears the connection down; on SQLite the pool
rolls it back before it closes it (``_sqlite_rollback_before_close`` says why). Work that a cancel may reach but that
must not be cut halfway (job loops, lease renewals, sweeps: anything the service's shutdown or a job's end cancels)
writes with :func:`written`, which runs the transaction to its end in a task of its own.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, overload

from sqlalchemy import Connection, Select, event, make_url, text
from sqlalchemy.engine import URL, Dialect, ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ..aio import finished
from ..errors import StorageError, StorageFull
from .blobs import PRIVATE_FILE_MODE, private_dir

__all__ = [
    "MIGRATION_LOCK_KEY",
    "as_utc",
    "async_url",
    "create_engine",
    "database_fault",
    "default_url",
    "locking",
    "sync_url",
    "upgrade",
    "utcnow",
    "write_transaction",
    "written",
]

T = TypeVar("T")

#: SQLite waits this long for a competing writer before failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000

#: The PostgreSQL advisory lock held while migrations run, so instances that start together take turns
#: (the first migrates, the others then find the schema at head). Any fixed 64-bit number unique to us.
MIGRATION_LOCK_KEY = 0x5CE_F0_29E_0001

#: The execution option :func:`write_transaction` sets; the SQLite ``begin`` hook reads it.
_WRITES = "sceneforge_writes"


def utcnow() -> datetime:
    """Now, as an aware UTC datetime: what every timestamp column is written with."""
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A timestamp column's value as an aware datetime: SQLite hands back naive ones, which are UTC here."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def default_url(data_dir: Path | str) -> str:
    """The embedded database of a data directory."""
    return f"sqlite+aiosqlite:///{Path(data_dir).resolve() / 'sceneforge.db'}"


def _driver(url: str | URL, sqlite: str, postgres: str) -> URL:
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername=f"sqlite+{sqlite}" if sqlite else "sqlite")
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername=f"postgresql+{postgres}")
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def async_url(url: str | URL) -> URL:
    """``url`` with the async driver this service uses (aiosqlite / asyncpg)."""
    return _driver(url, "aiosqlite", "asyncpg")


def sync_url(url: str | URL) -> URL:
    """``url`` with a blocking driver (sqlite3 / psycopg), for migrations."""
    return _driver(url, "", "psycopg")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_rollback_before_close(dbapi_connection: Any, _record: Any) -> None:
    """Roll back whatever the connection still holds before the pool closes it. A connection torn down after a
    cancel landed while a statement ran is closed without its rollback, and sqlite3 closes a connection whose
    statement is not yet freed only once it is (``sqlite3_close_v2``): that statement sat in a reference cycle until
    the garbage collector came, and the connection's transaction held SQLite's write lock meanwhile — every other
    writer failed with "database is locked" after its busy timeout."""
    with contextlib.suppress(Exception):  # a connection already broken, or closed by the garbage collector
        dbapi_connection.rollback()


def _sqlite_own_begin(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction control off: _sqlite_begin emits every BEGIN (SQLAlchemy's recipe
    # for choosing the kind of BEGIN; the driver would otherwise begin deferred, and only before writes).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    writes = connection.get_execution_options().get(_WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def write_transaction(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """``engine.begin()`` for a transaction that writes (see the module docstring): on SQLite it
    holds the write lock from its start, waiting up to the busy timeout for another writer."""
    return engine.execution_options(**{_WRITES: True}).begin()


async def written(engine: AsyncEngine, body: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``body(conn)`` in a :func:`write_transaction` that runs to its end (commit, or rollback on an error) in a
    task of its own: a cancel of the caller is raised in the caller at once and never cuts the transaction (the
    module docstring says why)."""

    async def transaction() -> T:
        async with write_transaction(engine) as conn:
            return await body(conn)

    return await finished(transaction())


def _prepare_sqlite_dir(url: URL) -> None:
    """Create the database file 0600 (in a 0700 directory if that is new) before SQLite opens it.

    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so they stay private too.
    A database made by an earlier version with the umask's mode is narrowed to 0600.
    """
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return
    path = Path(url.database)
    if not path.parent.exists():
        private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_mode & 0o777 != PRIVATE_FILE_MODE:
            file.chmod(PRIVATE_FILE_MODE)


#: SQLite's result code for "database or disk is full", PostgreSQL's SQLSTATE for ``disk_full``.
_SQLITE_FULL, _PG_DISK_FULL = 13, "53100"
#: SQLite's result code for an SQL error (a syntax error, a missing table or column), which PostgreSQL raises as a
#: ProgrammingError: the SQL's fault, never the database's.
_SQLITE_ERROR = 1
#: SQLSTATEs (classes, or one code) of PostgreSQL failing rather than the SQL: a connection exception (08), no room
#: or resources (53: ``disk_full``, ``too_many_connections``), operator intervention (57: a shutdown, a statement
#: canceled), a system error (58: ``io_error``), a read-only transaction (25006: a standby after a failover).
#: asyncpg raises them as a bare ``DBAPIError``, where SQLite's are an ``OperationalError``.
_PG_FAULTS = ("08", "53", "57", "58", "25006")


def database_fault(exc: BaseException) -> StorageError | None:
    """The :class:`StorageError` clients get for ``exc`` when it is the database failing rather than a bug: a
    server that cannot be reached or dropped the connection, a disk that is full (:class:`StorageFull`, code
    ``database_full``), failing or read-only, a lock held past the busy timeout (code ``database_unavailable``).
    None for anything else (a constraint broken, SQL that does not compile: those stay internal errors)."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    sqlstate = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    if not (
        isinstance(exc, OperationalError | InterfaceError)
        or exc.connection_invalidated
        or sqlstate.startswith(_PG_FAULTS)
    ):
        return None
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int) and sqlite_code & 0xFF == _SQLITE_ERROR:
        return None  # SQL that does not run (syntax, no such table or column): an OperationalError on SQLite only
    if isinstance(orig, TimeoutError):  # a statement or a connection attempt past the timeout
        reason = "it did not answer in time (SCENEFORGE_DATABASE_TIMEOUT_S)"
    elif isinstance(orig, OSError):  # the server could not be reached (create_engine's connect hook); no address said
        reason = f"cannot connect ({os.strerror(orig.errno) if orig.errno else type(orig).__name__})"
    else:
        reason = (str(orig or exc).strip().splitlines() or [type(exc).__name__])[0]
        reason = re.sub(r"^<class '[\w.]+'>: ", "", reason)  # asyncpg's errors as SQLAlchemy adapts them
    codes = {getattr(orig, "sqlite_errorcode", None), getattr(orig, "sqlstate", None), getattr(orig, "pgcode", None)}
    if _SQLITE_FULL in codes or _PG_DISK_FULL in codes or "database or disk is full" in reason:
        public = f"the database has no room left: {reason}; nothing was stored"
        return StorageFull(f"database: {exc}", code="database_full", public=public)
    return StorageError(
        f"database: {exc}", code="database_unavailable", public=f"the database is unavailable: {reason}"
    )


#: Seconds a PostgreSQL statement, and a connection attempt, may wait for the server
#: (``SCENEFORGE_DATABASE_TIMEOUT_S``).
DEFAULT_TIMEOUT_S = 30.0


def _timeout_is_unavailable(context: ExceptionContext) -> BaseException | None:
    """A statement past the timeout (asyncpg's ``command_timeout``: the server stopped answering) is the database
    unavailable: an :class:`OperationalError`, and its connection is dropped (asyncpg raises a bare TimeoutError)."""
    if isinstance(context.original_exception, TimeoutError):
        context.is_disconnect = True
        return OperationalError(context.statement, context.parameters, context.original_exception)
    return None


def _ping_or_drop(dialect: Dialect, ping: Any) -> Any:
    """The pool's check of a connection before use, where no answer in time means a dead connection (the pool opens
    another, within the same timeout) instead of a bare TimeoutError that nothing handles."""

    def checked(dbapi_connection: Any) -> bool:
        try:
            return bool(ping(dbapi_connection))
        except (TimeoutError, OSError):
            return False

    return checked


def _connect_or_say_so(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Open a DBAPI connection as SQLAlchemy would, but a server that refuses or does not answer is an
    :class:`OperationalError` (asyncpg raises the bare ``OSError``, which nothing would tell from a failing file)."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (TimeoutError, OSError) as exc:
        raise OperationalError("connect", {}, exc) from exc


def create_engine(url: str | URL, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> AsyncEngine:
    """An async engine for ``url``; SQLite connections get WAL, foreign keys and a busy timeout. On PostgreSQL a
    connection attempt and each statement wait at most ``timeout_s`` for the server: a server that stopped answering
    (a hung host, a network cut that drops packets) held every request without end."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        _prepare_sqlite_dir(target)
        engine = create_async_engine(target, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "connect", _sqlite_own_begin)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        event.listen(engine.sync_engine.pool, "close", _sqlite_rollback_before_close)
        return engine
    engine = create_async_engine(
        target,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args={"timeout": timeout_s, "command_timeout": timeout_s},
    )
    event.listen(engine.sync_engine, "do_connect", _connect_or_say_so)
    event.listen(engine.sync_engine, "handle_error", _timeout_is_unavailable)
    dialect = engine.sync_engine.dialect
    dialect.do_ping = _ping_or_drop(dialect, dialect.do_ping)  # type: ignore[method-assign]
    return engine


def locking(conn: AsyncConnection, query: Select[Any], **how: Any) -> Select[Any]:
    """``query`` locking the rows it reads until ``conn``'s transaction ends (``FOR UPDATE``, or as ``how`` says:
    ``read``, ``key_share``, ``skip_locked``, ``of``) on PostgreSQL. SQLite has no row locks and needs none: its
    write transactions hold the database's write lock from their start (``BEGIN IMMEDIATE``)."""
    return query.with_for_update(**how) if conn.dialect.name == "postgresql" else query


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on ``url`` (``sceneforge db upgrade``). Blocking; idempotent.

    On PostgreSQL the run holds :data:`MIGRATION_LOCK_KEY` (``pg_advisory_xact_lock``), so several
    instances upgrading at once wait for each other instead of racing to create the same tables.
    """
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine as create_sync_engine
    from sqlalchemy import pool

    from .. import migrations

    target = sync_url(url)
    if target.get_backend_name() == "sqlite":
        _prepare_sqlite_dir(target)
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    engine = create_sync_engine(target, poolclass=pool.NullPool)
    if target.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.begin() as connection:
            if target.get_backend_name() == "postgresql":
                # Released when this transaction ends; SQLite serializes writers by itself.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
