"""Fixtures of the job tests: a migrated SQLite database, a file blob store, descriptions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from sceneforge.events import EventLog
from sceneforge.jobs import JobStore
from sceneforge.settings import Settings
from sceneforge.storage import FileBlobStore, create_engine, default_url, upgrade


def description(scene_id: str = "test01", cells: int = 2, **props: str) -> bytes:
    """A valid description: ``cells`` auto rooms in a row joined by portals."""
    data: dict[str, Any] = {
        "sceneId": scene_id,
        "cells": [{"cellId": f"c{i}", "meshes": [{"meshId": "auto"}]} for i in range(cells)],
        "portals": [
            {"from": f"c{i}", "to": f"c{i + 1}", "quad": [x, 0.2, -0.6, x, 2.2, -0.6, x, 2.2, 0.6, x, 0.2, 0.6]}
            for i, x in ((i, 2.0 + 4.5 * i) for i in range(cells - 1))
        ],
        "materials": {},
        "props": props,
    }
    return json.dumps(data).encode()


def big_description(cells: int = 2500, seed: int = 7) -> bytes:
    from sceneforge.generate import generate_maze

    return json.dumps(generate_maze(cells, seed)).encode()


async def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, every: float = 0.05) -> Any:
    """Await ``predicate()`` (sync or async) until truthy; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(every)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    upgrade(default_url(tmp_path))
    return tmp_path


@pytest.fixture
async def engine(data_dir: Path) -> AsyncIterator[Any]:
    engine = create_engine(default_url(data_dir))
    yield engine
    await engine.dispose()


@pytest.fixture
def blobs(data_dir: Path) -> FileBlobStore:
    return FileBlobStore(data_dir / "blobs")


@pytest.fixture
def store(engine: Any) -> JobStore:
    return JobStore(engine, EventLog(engine))


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    # A lease far longer than any test (the lease tests claim with their own, or move the store's clock): a 2 s lease
    # renewed every two thirds of a second was reclaimed by the sweeper when a loaded machine stalled the renewal,
    # and the job ran an attempt more than the test expected (under four CPU burners on the 2-core machine).
    jobs = {
        "workers": 2,
        "lease_s": 300.0,
        "poll_s": 0.1,
        "cancel_poll_s": 0.1,
        "retry_base_s": 0.1,
        "sweep_s": 0.2,
        "progress_interval_s": 0.1,
    }
    return Settings(storage={"data_dir": data_dir}, jobs=jobs)
