"""The stores a :class:`~sceneforge.settings.StorageSettings` selects: the database and the blob store.

Every process that touches storage (API instances, Celery workers, the CLI) opens them here from
the settings it was given, so they all agree. Opening an S3 store checks (or creates) its bucket.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import StorageError
from ..settings import StorageSettings
from .blobs import BlobStore, FileBlobStore, private_dir
from .database import create_engine, default_url, upgrade
from .s3 import S3BlobStore

__all__ = ["database_url", "open_blob_store", "open_database"]


def database_url(cfg: StorageSettings) -> str:
    """``cfg.database_url``, or the embedded SQLite database of ``cfg.data_dir``."""
    return cfg.database_url or default_url(cfg.data_dir)


async def open_database(cfg: StorageSettings) -> AsyncEngine:
    """The database ``cfg`` selects, opened as the service opens it: the data folder made private first (0700),
    the schema brought to its head when ``cfg.auto_migrate`` is on, statements held to ``cfg.database_timeout_s``."""
    private_dir(cfg.data_dir)
    url = database_url(cfg)
    if cfg.auto_migrate:
        await asyncio.to_thread(upgrade, url)
    return create_engine(url, timeout_s=cfg.database_timeout_s)


def open_blob_store(cfg: StorageSettings, *, create_bucket: bool = True) -> BlobStore:
    """The blob store ``cfg.blobs`` selects: files under ``<data_dir>/blobs`` or an S3 bucket (created
    when missing unless ``create_bucket`` is false). Blocking."""
    if cfg.blobs == "s3":
        if not cfg.s3_bucket:
            raise StorageError("SCENEFORGE_S3_BUCKET must name a bucket to use the S3 blob store")
        return S3BlobStore(
            cfg.s3_bucket,
            endpoint_url=cfg.s3_endpoint or None,
            access_key=cfg.s3_access_key or None,
            secret_key=cfg.s3_secret_key.get_secret_value() or None,
            region=cfg.s3_region or "us-east-1",
            create_bucket=create_bucket,
            timeout_s=cfg.s3_timeout_s,
        )
    return FileBlobStore(cfg.data_dir / "blobs")
