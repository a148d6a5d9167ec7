"""Storage at the edge: content-addressed blobs (files or S3) and the metadata database (SQLite or PostgreSQL)."""

from .assets import ASSET_TYPES, Asset, AssetRepository, sniff_kind
from .blobs import BlobStore, FileBlobStore, blob_key
from .cache import MetaBody, SceneCache, ScenePointer, VersionRef
from .database import async_url, create_engine, default_url, sync_url, upgrade
from .keys import SCOPES, ApiKey, KeyRepository, hash_key, scope_allows
from .s3 import S3BlobStore
from .scenes import Scene, SceneRepository, Version
from .stores import database_url, open_blob_store

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
    "scope_allows",
    "sniff_kind",
    "sync_url",
    "upgrade",
]
