"""The disk or a store failing under a request: a problem naming the store (507 when it is full, else 503, and a
``code``), nothing half-written, the published version still served, and the service whole once the fault clears.

Faults are injected at the system calls (``os.fsync``, ``os.rename``) where a real full or failing disk cannot be
made in a test, and with SQLite's own page limit (``PRAGMA max_page_count``), which fails writes with the very
``SQLITE_FULL`` a full disk gives.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from sceneforge.storage import FileBlobStore
from tests.api.conftest import TEST01, Api, start_api
from tests.support.servers import PostgresCluster, create_database, stop_process

JSON = {"content-type": "application/json"}
#: ``PRAGMA max_page_count`` as SQLite sets it when not told (its largest).
NO_PAGE_LIMIT = 4294967294
#: A job not ended by then is stuck (its lease, 15 s, runs out long before).
JOB_END_S = 120


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from start_api(tmp_path, jobs={"retry_base_s": 0.05, "workers": 1})


def _other(name: str) -> bytes:
    """TEST01 with its first room renamed: another description, so another blob and another version."""
    return TEST01.replace(b'"hall"', f'"{name}"'.encode()).replace(b'"from": "hall"', f'"from": "{name}"'.encode())


def _partials(api: Api) -> list[Path]:
    """Temp files of blob writes, once every job has ended (a preview still storing its files has one)."""
    for _ in range(600):
        if all(job["status"] not in {"Queued", "Running"} for job in api.get("/jobs", headers=api.auth()).json()):
            break
        time.sleep(0.1)
    else:  # a job still running may not have opened its temp file yet: no answer either way
        raise AssertionError("jobs still queued or running")
    return sorted(Path(api.services.settings.storage.data_dir, "blobs").rglob(".tmp-*"))


def _failing(code: int) -> Any:
    def fail(*_args: object) -> None:
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize(
    ("code", "status", "problem_code"),
    [
        (errno.ENOSPC, 507, "blob_store_full"),
        (errno.EDQUOT, 507, "blob_store_full"),
        (errno.EIO, 503, "blob_store_failed"),
        (errno.EROFS, 503, "blob_store_failed"),
    ],
    ids=["ENOSPC", "EDQUOT", "EIO", "EROFS"],
)
def test_a_blob_that_cannot_be_written_is_a_problem_naming_the_store(
    api: Api, monkeypatch: pytest.MonkeyPatch, code: int, status: int, problem_code: str
) -> None:
    """It answered 500 "an internal error": the OSError went through as a bug would."""
    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", _failing(code))
        reply = api.post("/jobs/enqueue", content=TEST01, headers={**api.auth(), **JSON})
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert body["code"] == problem_code
    assert body["detail"].startswith("the blob store ") and os.strerror(code) in body["detail"]
    assert errno.errorcode[code] in body["detail"]
    assert str(api.services.settings.storage.data_dir) not in body["detail"]  # no path goes out
    assert _partials(api) == []  # its temp file went with the failed write
    assert api.get("/jobs", headers=api.auth()).json() == []  # no job without its description
    again = api.post("/jobs/enqueue", content=TEST01, headers={**api.auth(), **JSON})  # the fault cleared
    assert again.status_code == 200, again.text


def test_a_build_whose_glb_cannot_be_stored_fails_naming_the_store(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills between the description and the GLB: the build answers 507, its job ends Failed (never left
    Running) saying why, and the version published before is served as it was."""
    first = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
    assert first.status_code == 200, first.text
    real_fsync = os.fsync
    glb_fd: list[int] = []

    def full_for_glbs(fd: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if path.is_file() and path.read_bytes()[:4] == b"glTF":  # the description is stored, the GLB is not
            glb_fd.append(fd)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", full_for_glbs)
        reply = api.post("/scenes/build", content=_other("lobby"), headers={**api.auth(), **JSON})
    assert glb_fd
    assert reply.status_code == 507, reply.text
    body = reply.json()
    assert body["code"] == "blob_store_full" and "No space left on device (ENOSPC)" in body["detail"]
    job = api.get(f"/jobs/{body['jobId']}", headers=api.auth()).json()
    assert job["status"] == "Failed" and job["attempt"] == job["maxAttempts"]  # retried, then failed
    assert job["error"]["kind"] == "storage" and job["error"]["code"] == "blob_store_full"
    assert "No space left on device" in job["error"]["message"]
    assert _partials(api) == []
    meta = api.get("/scenes/test01/meta")
    assert meta.status_code == 200 and meta.json()["ETag"] == first.json()["eTag"]
    assert api.get("/scenes/test01.glb").status_code == 200
    again = api.post("/scenes/build", content=_other("lobby"), headers={**api.auth(), **JSON})
    assert again.status_code == 200 and again.json()["version"] == 2, again.text


def test_a_full_sqlite_database_is_a_507_and_the_service_works_once_there_is_room(api: Api) -> None:
    """SQLite's "database or disk is full" answered 500; reads go on meanwhile."""
    built = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
    assert built.status_code == 200, built.text
    engine = api.services.scenes.engine
    limit: dict[str, int] = {"pages": NO_PAGE_LIMIT}

    def cap(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:  # each connection as it is taken
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count={limit['pages']}")
        cursor.close()

    async def fill() -> None:
        async with engine.connect() as conn:
            pages = int((await conn.execute(text("PRAGMA page_count"))).scalar_one())
        event.listen(engine.sync_engine, "checkout", cap)
        limit["pages"] = pages  # the file may not grow from now on

    api.call(fill)
    replies = []
    for n in range(200):  # the rows fill the free room of the last pages, then the file would have to grow
        replies.append(api.post("/jobs/enqueue", content=_other(f"r{n}"), headers={**api.auth(), **JSON}))
        if replies[-1].status_code != 200:
            break
    reply = replies[-1]
    assert reply.status_code == 507, reply.text
    assert reply.json()["code"] == "database_full"
    assert reply.json()["detail"] == "the database has no room left: database or disk is full; nothing was stored"
    assert api.get("/scenes/test01/meta").status_code == 200  # reading needs no room

    async def make_room() -> None:
        limit["pages"] = NO_PAGE_LIMIT

    api.call(make_room)
    again = api.post("/jobs/enqueue", content=_other("later"), headers={**api.auth(), **JSON})
    assert again.status_code == 200, again.text


def test_a_deleted_scene_whose_blobs_cannot_be_released_is_still_deleted_everywhere(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refusing to move a blob aside (a read-only disk) made the DELETE a 500 after the rows had gone,
    and ``scene.invalidated`` was never sent: other instances went on serving the deleted scene from their caches.
    The delete stands; the blobs stay for ``sceneforge gc``."""
    built = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
    assert built.status_code == 200, built.text
    version = api.call(api.services.scenes.latest, "test01")
    sent: list[str] = []

    async def listener(kind: str, scene_id: str, payload: dict[str, Any]) -> None:
        sent.append(kind)

    api.services.listeners.append(listener)
    with monkeypatch.context() as patched:
        patched.setattr(os, "rename", _failing(errno.EROFS))
        reply = api.delete("/scenes/test01", headers=api.auth())
    assert reply.status_code == 204, reply.text
    assert "scene.invalidated" in sent
    assert api.get("/scenes/test01/meta").status_code == 404
    assert api.services.blobs.exists(version.glb_key)  # left for `sceneforge gc` once no record names it


def test_postgresql_stopped_answers_503_and_restarted_is_used_again(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    """A stopped database answered 500 "an internal error" (asyncpg's bare ``ConnectionRefusedError``). A restart
    between requests is not seen at all (the pool checks each connection before use), and a job that was running
    meanwhile ends: it never stays Running."""
    url = create_database(postgres_cluster.server_url)
    for api in start_api(tmp_path, storage={"database_url": url}, jobs={"retry_base_s": 0.05, "workers": 1}):
        first = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
        assert first.status_code == 200, first.text

        postgres_cluster.stop()
        api.services.scenes.cache.clear()  # answered from the database, not from what this instance holds
        for reply in (
            api.get("/scenes/test01/meta"),
            api.get("/jobs", headers=api.auth()),
            api.post("/jobs/enqueue", content=_other("lobby"), headers={**api.auth(), **JSON}),
        ):
            assert reply.status_code == 503, reply.text
            assert reply.json()["code"] == "database_unavailable"
            assert reply.json()["detail"] == "the database is unavailable: cannot connect (Connection refused)"

        postgres_cluster.start()
        assert api.get("/scenes/test01/meta").status_code == 200
        postgres_cluster.stop()
        postgres_cluster.start()  # a restart between two requests: the pooled connections are dead
        assert api.get("/scenes/test01/meta").status_code == 200
        queued = api.post("/jobs/enqueue", content=_other("lobby"), headers={**api.auth(), **JSON})
        assert queued.status_code == 200, queued.text
        postgres_cluster.stop()  # while the job is claimed, built or stored
        postgres_cluster.start()
        job = api.call(asyncio.wait_for, api.app.state.jobs.wait(queued.json()["jobId"]), JOB_END_S)
        assert job.status.value in {"Succeeded", "Failed"}, job
        again = api.post("/scenes/build", content=_other("kitchen2"), headers={**api.auth(), **JSON})
        assert again.status_code == 200, again.text


def test_postgresql_that_stops_answering_is_a_503_within_the_timeout(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    """A server whose processes are stopped (``SIGSTOP``: a hung host, packets dropped) held every request without
    end: asyncpg waits on a statement forever, the pool's check of a connection included."""
    url = create_database(postgres_cluster.server_url)
    storage = {"database_url": url, "database_timeout_s": 0.5}
    for api in start_api(tmp_path, storage=storage, jobs={"workers": 1}):
        first = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
        assert first.status_code == 200, first.text
        postgres_cluster.pause()
        try:
            for reply in (api.get("/jobs", headers=api.auth()), api.get("/scenes", headers=api.auth())):
                assert reply.status_code == 503, reply.text
                assert reply.json()["code"] == "database_unavailable"
                assert reply.json()["detail"] == (
                    "the database is unavailable: it did not answer in time (SCENEFORGE_DATABASE_TIMEOUT_S)"
                )
        finally:
            postgres_cluster.resume()
        assert api.get("/jobs", headers=api.auth()).status_code == 200
        again = api.post("/scenes/build", content=_other("lobby"), headers={**api.auth(), **JSON})
        assert again.status_code == 200, again.text


def _ended(api: Api, job_id: str) -> dict[str, Any]:
    for _ in range(900):
        job = api.get(f"/jobs/{job_id}", headers=api.auth()).json()
        if job["status"] in {"Succeeded", "Failed", "Canceled"}:
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} is still {job['status']}")


def test_an_export_that_cannot_be_stored_fails_naming_the_store_and_is_made_once_there_is_room(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
    assert built.status_code == 200, built.text
    assert _partials(api) == []  # the preview has been stored
    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", _failing(errno.ENOSPC))
        asked = api.post("/scenes/test01/exports", json={"format": "obj"}, headers=api.auth())
        assert asked.status_code == 202, asked.text
        job = _ended(api, asked.json()["jobId"])
    assert job["status"] == "Failed" and job["attempt"] == job["maxAttempts"]
    assert job["error"]["kind"] == "storage" and job["error"]["code"] == "blob_store_full"
    assert api.get("/scenes/test01/exports/obj").status_code == 404  # no row without its file
    assert _partials(api) == []
    again = api.post("/scenes/test01/exports", json={"format": "obj"}, headers=api.auth())
    assert _ended(api, again.json()["jobId"])["status"] == "Succeeded"
    assert api.get("/scenes/test01/exports/obj").status_code == 200


def test_a_glb_that_cannot_be_read_from_disk_is_a_503_naming_the_store(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read error of the disk (``EIO``) answered "500 the representation could not be read"."""
    built = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
    assert built.status_code == 200, built.text
    blobs = api.services.blobs
    assert isinstance(blobs, FileBlobStore)
    real_open = Path.open

    def failing_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.is_relative_to(blobs.root):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_open(self, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(FileBlobStore, "local_path", lambda self, key: None)  # read through the store, not mapped
        patched.setattr(Path, "open", failing_open)
        api.services.scenes.cache.clear()
        reply = api.get(f"/scenes/test01.{built.json()['eTag']}.glb")
    assert reply.status_code == 503, reply.text
    assert reply.json() == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "the blob store could not read: Input/output error (EIO)",
        "code": "blob_store_failed",
    }
    api.services.scenes.cache.clear()
    assert api.get(f"/scenes/test01.{built.json()['eTag']}.glb").status_code == 200


def test_a_blob_file_cut_short_or_failing_under_a_served_glb_is_a_503_not_the_end_of_the_process(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GLB whose blob file is cut short outside the service (or whose disk fails a read) after its first answer:
    the next range read is a 503 naming the store. Read through a memory map, it was a SIGBUS that ended the whole
    server (this test's process with it)."""
    built = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
    assert built.status_code == 200, built.text
    url = f"/scenes/test01.{built.json()['eTag']}.glb"
    whole = api.get(url)
    assert whole.status_code == 200  # the representation is prepared: its file open
    blobs = api.services.blobs
    assert isinstance(blobs, FileBlobStore)
    path = blobs.local_path(hashlib.sha256(whole.content).hexdigest())
    assert path is not None and path.stat().st_size == len(whole.content)
    size = len(whole.content)
    with path.open("r+b") as blob:
        blob.truncate(size // 2)
    late = api.get(url, headers={"Range": f"bytes={size - 100}-{size - 1}"})
    assert late.status_code == 503, late.text
    assert late.json()["code"] == "blob_store_failed" and "shorter than its record" in late.json()["detail"]

    def failing_pread(fd: int, length: int, offset: int) -> bytes:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with monkeypatch.context() as patched:
        patched.setattr(os, "pread", failing_pread)
        failed = api.get(url, headers={"Range": "bytes=0-99"})
    assert failed.status_code == 503 and failed.json()["code"] == "blob_store_failed", failed.text
    assert "Input/output error (EIO)" in failed.json()["detail"]
    assert api.get("/healthz").status_code == 200


def test_a_broker_that_stops_answering_or_goes_away_does_not_hold_or_fail_an_enqueue(
    tmp_path: Path, redis_process: tuple[str, subprocess.Popen[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    """With Celery, an enqueue commits the job, then sends a wake-up through the broker. A stopped Redis (``SIGSTOP``)
    held the request forever, and a Redis that was gone made it a 500 for a job that was queued all the same (a
    client retrying it queued it twice). The wake-up is best effort: the sweeper sends more while jobs wait."""
    import redis

    url, proc = redis_process
    broker = url.rsplit("/", 1)[0] + "/1"
    queue = redis.Redis.from_url(broker)
    for api in start_api(tmp_path, jobs={"executor": "celery", "broker_url": broker, "sweep_s": 3600}):
        headers = {**api.auth(), **JSON}
        first = api.post("/jobs/enqueue", content=TEST01, headers=headers)
        assert first.status_code == 200 and queue.llen("build") == 1, first.text
        proc.send_signal(signal.SIGSTOP)
        try:
            stalled = api.post("/jobs/enqueue", content=_other("lobby"), headers=headers)
        finally:
            proc.send_signal(signal.SIGCONT)
        assert stalled.status_code == 200 and stalled.json()["status"] == "Queued", stalled.text
        assert any("could not wake build workers" in r.getMessage() for r in caplog.records)
        caplog.clear()
        again = api.post("/jobs/enqueue", content=_other("porch"), headers=headers)
        assert again.status_code == 200, again.text
        assert not any("could not wake" in r.getMessage() for r in caplog.records)  # sent once Redis answers
        assert queue.llen("build") >= 2
        queue.close()
        stop_process(proc)
        gone = api.post("/jobs/enqueue", content=_other("attic"), headers=headers)
        assert gone.status_code == 200 and gone.json()["status"] == "Queued", gone.text
        listed = api.get("/jobs", headers=api.auth()).json()
        assert sorted(j["status"] for j in listed) == ["Queued"] * 4


def test_a_build_whose_end_cannot_be_written_answers_503_instead_of_waiting_for_ever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database refuses writes (full) once the build ran: its worker cannot record the end, no sweeper can take
    the job back, and POST /scenes/build waited as long as the fault lasted. It answers 503 ``job_stalled`` two sweeps
    after the lease ran out; once writes work the sweeper takes the job back and it succeeds."""
    from sqlalchemy.exc import OperationalError

    from sceneforge.jobs.store import JobStore

    def full(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("UPDATE jobs …", {}, Exception("database or disk is full"))

    for api in start_api(tmp_path, jobs={"workers": 1, "lease_s": 1.0, "sweep_s": 0.2, "retry_base_s": 0.05}):
        with monkeypatch.context() as patched:
            for name in ("finish", "reclaim_expired"):
                patched.setattr(JobStore, name, full)
            reply = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
            assert reply.status_code == 503, reply.text
            assert reply.json()["code"] == "job_stalled"
            assert api.get(f"/jobs/{reply.json()['jobId']}", headers=api.auth()).json()["status"] == "Running"
        job = _ended(api, reply.json()["jobId"])
        assert job["status"] == "Succeeded", job
