"""Storage fixtures: every blob store and every database, so one suite runs against each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sceneforge.compile import etag_of
from sceneforge.storage import BlobStore, FileBlobStore, S3BlobStore, create_engine, default_url, upgrade
from tests.support.servers import create_database

BLOB_STORES = ["file", "seaweedfs", "moto"]
DATABASES = ["sqlite", "postgresql"]


@dataclass(frozen=True)
class FakeBuild:
    """The fields of ``BuildResult`` that storage reads."""

    scene_id: str
    glb: bytes
    etag: str
    meta: dict[str, Any]
    warnings: list[Any] = field(default_factory=list)


def fake_build(scene_id: str, payload: bytes) -> FakeBuild:
    glb = b"glTF" + payload
    etag = etag_of(glb)
    meta = {"ETag": etag, "Bytes": len(glb), "Meta": {"sceneId": scene_id, "cells": [], "portals": 0}}
    return FakeBuild(scene_id, glb, etag, {**meta, "formatVersion": 1, "sceneId": scene_id, "warnings": []})


def s3_store(server: Any) -> S3BlobStore:
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    return S3BlobStore(
        bucket,
        endpoint_url=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        region=server.region,
        create_bucket=True,
    )


@pytest.fixture(params=BLOB_STORES)
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "file":
        yield FileBlobStore(tmp_path / "blobs")
    elif request.param == "seaweedfs":
        yield s3_store(request.getfixturevalue("s3_server"))
    else:
        yield s3_store(request.getfixturevalue("moto_server"))


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = default_url(tmp_path)
    else:
        url = create_database(request.getfixturevalue("postgres_url"))
    upgrade(url)
    yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[Any]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def pg_engine(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """An engine on a fresh PostgreSQL database alone: for races of two writers committing at once, which
    SQLite's writers (one at a time, ``BEGIN IMMEDIATE``) never run into."""
    url = create_database(request.getfixturevalue("postgres_url"))
    upgrade(url)
    engine = create_engine(url)
    yield engine
    await engine.dispose()


@pytest.fixture(params=[s for s in BLOB_STORES if s != "file"])
def s3_blob_store(request: pytest.FixtureRequest) -> Iterator[S3BlobStore]:
    """Each S3 server alone: for what only S3's two-step withdrawal (a copy aside, then a delete) can meet."""
    yield s3_store(request.getfixturevalue(f"{'s3' if request.param == 'seaweedfs' else 'moto'}_server"))
