"""Storage at the edge: content-addressed blobs (files or S3) and the metadata database (SQLite or PostgreSQL)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .assets import ASSET_TYPES, Asset, AssetRepository, sniff_kind
    from .blobs import BlobStore, FileBlobStore, blob_key
    from .cache import MetaBody, SceneCache, ScenePointer, VersionRef
    from .database import async_url, create_engine, default_url, sync_url, upgrade
    from .keys import SCOPES, ApiKey, KeyRepository, hash_key, scope_allows
    from .s3 import S3BlobStore
    from .scenes import Scene, SceneRepository, Version
    from .stores import database_url, open_blob_store, open_database

#: Where each public name lives, loaded on first use: a build worker's cell cache (:mod:`.cellcache`) runs this
#: file first, and the repositories would bring SQLAlchemy into every build worker.
_LAZY = {
    "ASSET_TYPES": "assets",
    "Asset": "assets",
    "AssetRepository": "assets",
    "sniff_kind": "assets",
    "BlobStore": "blobs",
    "FileBlobStore": "blobs",
    "blob_key": "blobs",
    "MetaBody": "cache",
    "SceneCache": "cache",
    "ScenePointer": "cache",
    "VersionRef": "cache",
    "async_url": "database",
    "create_engine": "database",
    "default_url": "database",
    "sync_url": "database",
    "upgrade": "database",
    "SCOPES": "keys",
    "ApiKey": "keys",
    "KeyRepository": "keys",
    "hash_key": "keys",
    "scope_allows": "keys",
    "S3BlobStore": "s3",
    "Scene": "scenes",
    "SceneRepository": "scenes",
    "Version": "scenes",
    "database_url": "stores",
    "open_blob_store": "stores",
    "open_database": "stores",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "ASSET_TYPES",
    "SCOPES",
    "ApiKey",
    "Asset",
    "AssetRepository",
    "BlobStore",
    "FileBlobStore",
    "KeyRepository",
    "MetaBody",
    "S3BlobStore",
    "Scene",
    "SceneCache",
    "ScenePointer",
    "SceneRepository",
    "Version",
    "VersionRef",
    "async_url",
    "blob_key",
    "create_engine",
    "database_url",
    "default_url",
    "hash_key",
    "open_blob_store",
    "open_database",
    "scope_allows",
    "sniff_kind",
    "sync_url",
    "upgrade",
]
