"""Alembic environment: runs on the connection that ``storage.database.upgrade`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from sceneforge.storage.tables import metadata

__all__: list[str] = []


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes['connection']")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
