"""Alembic migrations of the metadata database, shipped with the package (run by ``storage.database.upgrade``)."""

__all__: list[str] = []
