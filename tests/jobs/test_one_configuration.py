"""One configuration: the limits the server was given hold on every build path.

The environment is set to *generous* limits while the settings passed in are strict, so a path
that read the environment instead of its settings (an enqueue check, a build worker process, a
Celery worker) would let the scene through and fail the test.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sceneforge.api import create_app
from sceneforge.events import EventLog
from sceneforge.jobs import JobStatus, JobStore
from sceneforge.jobs.celery_app import WorkerContext
from sceneforge.settings import Settings
from sceneforge.storage import FileBlobStore, create_engine, default_url

from .conftest import description

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

#: Strict limits for the server: two cells, and fewer triangles than two auto rooms have.
STRICT = {"max_cells": 2, "max_triangles": 10}


@pytest.fixture
def generous_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCENEFORGE_MAX_CELLS", "100000")
    monkeypatch.setenv("SCENEFORGE_MAX_TRIANGLES", "1000000000")


@pytest.fixture
def client(tmp_path: Path, generous_env: None) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(
        limits=STRICT,
        storage={"data_dir": tmp_path},
        auth={"write_rate": 0},
        jobs={"workers": 1, "poll_s": 0.1},
    )
    assert Settings().limits.max_cells == 100000  # what a path reading the environment would get
    app = create_app(settings)
    with TestClient(app) as http:
        key, _ = http.portal.call(app.state.services.keys.create, "write")
        yield http, {"X-API-Key": key}


def _finished(http: TestClient, job_id: str) -> dict[str, Any]:
    for _ in range(1200):
        job: dict[str, Any] = http.get(f"/jobs/{job_id}").json()
        if job["status"] in {"Succeeded", "Failed", "Canceled"}:
            return job
        http.portal.call(asyncio.sleep, 0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_one_configuration_cell_limit_holds_for_build_and_enqueue(client: tuple[TestClient, dict[str, str]]) -> None:
    http, auth = client
    three = description("three", cells=3)
    built = http.post("/scenes/build", content=three, headers=auth)
    queued = http.post("/jobs/enqueue", content=three, headers=auth)
    assert (built.status_code, queued.status_code) == (422, 422)
    for reply in (built, queued):
        assert "SCENEFORGE_MAX_CELLS" in json.dumps(reply.json())
    assert http.get("/jobs").json() == []


def test_one_configuration_queued_build_runs_under_the_server_limits(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    # Two cells pass the cheap checks of enqueue; their triangles pass only the environment's limit.
    http, auth = client
    two = description("two", cells=2)
    built = http.post("/scenes/build", content=two, headers=auth)
    assert built.status_code == 422 and "SCENEFORGE_MAX_TRIANGLES" in json.dumps(built.json())
    queued = http.post("/jobs/enqueue", content=two, headers=auth)
    assert queued.status_code == 200
    job = _finished(http, queued.json()["jobId"])
    assert job["status"] == "Failed" and job["attempt"] == 1
    assert "SCENEFORGE_MAX_TRIANGLES" in json.dumps(job["error"])
    assert http.get("/scenes/two.glb").status_code == 404


def test_one_configuration_celery_worker_builds_under_its_settings(data_dir: Path, generous_env: None) -> None:
    settings = Settings(limits=STRICT, storage={"data_dir": data_dir}, jobs={"broker_url": "redis://unused"})
    blobs = FileBlobStore(data_dir / "blobs")

    async def enqueue(scene_id: str, data: bytes) -> str:
        engine = create_engine(default_url(data_dir))
        try:
            store = JobStore(engine, EventLog(engine))
            job = await store.create(uuid.uuid4().hex, scene_id, description_key=blobs.put(data))
            return job.job_id
        finally:
            await engine.dispose()

    async def status(job_id: str) -> Any:
        engine = create_engine(default_url(data_dir))
        try:
            return await JobStore(engine, EventLog(engine)).get(job_id)
        finally:
            await engine.dispose()

    job_id = asyncio.run(enqueue("two", description("two", cells=2)))
    worker = WorkerContext(settings)  # what each Celery pool process runs its tasks with
    try:
        assert worker.run_next() == JobStatus.FAILED.value
        assert worker.run_next() is None
    finally:
        worker.close()
    job = asyncio.run(status(job_id))
    assert job.status is JobStatus.FAILED and "SCENEFORGE_MAX_TRIANGLES" in json.dumps(job.error)
