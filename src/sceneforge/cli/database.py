"""The service's database as the commands use it: brought to the schema's head, opened as the server opens
it, and any error said in one line (exit 1), never a traceback."""

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from .program import EXIT_OUTPUT, load_settings, service_settings, storage_override

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["check_database", "database_errors", "run_on_database", "service_database"]


def check_database(settings: "Settings") -> None:
    """Bring the database to the schema's head (as the service does when it starts) before anything else is
    prepared, so that one that cannot be used is said in one line (:func:`database_errors`), not a traceback
    from inside the server's start-up."""
    from ..storage import database_url, upgrade

    url = database_url(settings.storage)
    with database_errors(url):
        upgrade(url)


def _database_place(url: str) -> str:
    """What a database error line names: the SQLite file, or the server part of another URL (no password)."""
    return url.split(":///", 1)[1] if url.startswith("sqlite") else url.split("@")[-1]


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Exit 1 with one ``cannot use the database WHERE: <reason>`` line when the database cannot be opened
    or used (a file that is not a database, a folder in its place, a server that refuses), not a traceback."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    try:
        yield
    except (DBAPIError, OSError, ArgumentError) as exc:  # ArgumentError: a URL SQLAlchemy cannot read
        if isinstance(exc, DBAPIError) and isinstance(exc.orig, OSError):  # a server that refused (storage.database)
            reason = exc.orig.strerror or str(exc.orig)
        elif isinstance(exc, DBAPIError):
            reason = str(exc.orig)
        else:
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        typer.echo(f"cannot use the database {_database_place(url)}: {reason.strip().splitlines()[0]}", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None
    except Exception as exc:
        alembic = sys.modules.get("alembic.util.exc")  # imported by the migration that raised it, if one did
        if alembic is None or not isinstance(exc, alembic.CommandError):
            raise
        # A revision this version does not know: a later sceneforge upgraded the database (then rolled back).
        reason = f"{exc} (a schema this version of sceneforge does not know: upgraded by a later one?)"
        typer.echo(f"cannot use the database {_database_place(url)}: {reason}", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None


@asynccontextmanager
async def service_database(data: Path | None) -> AsyncIterator[tuple[Any, Any]]:
    """The configured storage settings and a database engine, opened as the server opens it (migrated only when
    ``auto_migrate`` is on: where ``sceneforge db upgrade`` is a deploy step, no other command changes the schema)."""
    from ..storage.stores import open_database

    storage = service_settings(data).storage
    engine = await open_database(storage)
    try:
        yield storage, engine
    finally:
        await engine.dispose()


def run_on_database(data: Path | None, action: Any) -> Any:
    """``asyncio.run(action())``, a database that cannot be used said in one line (:func:`database_errors`)."""
    import asyncio

    from ..storage import database_url

    with database_errors(database_url(load_settings(storage=storage_override(data)).storage)):
        return asyncio.run(action())
