"""Fixtures of the reliability tests: real PostgreSQL, Redis and S3 (``tests.support.servers``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import Cluster

_redis_db = itertools.count(1)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis, a database number of this test's own (broker queues do not leak between tests)."""
    return redis_server.rsplit("/", 1)[0] + f"/{next(_redis_db) % 16}"


@pytest.fixture
def celery_cluster(
    tmp_path: Path,
    postgres_url: str,
    redis_url: str,
    s3_server: object,
) -> Iterator[Cluster]:
    """PostgreSQL + Redis (broker and events) + S3, Celery executor; processes are started by the test."""
    cluster = Cluster.prepare(
        tmp_path,
        postgres_url,
        redis_url=redis_url,
        s3=s3_server,  # type: ignore[arg-type]
        executor="celery",
        SCENEFORGE_JOB_LEASE_S="2",
        SCENEFORGE_JOB_SWEEP_S="0.5",
        SCENEFORGE_JOB_PROGRESS_S="0.05",
        SCENEFORGE_JOB_CANCEL_POLL_S="0.1",
        SCENEFORGE_JOB_RETRY_BASE_S="0.2",
        SCENEFORGE_SSE_HEARTBEAT_S="1",
        SCENEFORGE_WORKERS="1",
    )
    with cluster:
        yield cluster
