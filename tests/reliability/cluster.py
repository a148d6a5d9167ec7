"""Real processes for reliability tests: API instances (uvicorn) and Celery workers, plus an SSE reader.

Every process is started in a session of its own and stopped by its process-group id (it and the
build processes it spawned), never by name. :class:`Cluster` owns what a test started and stops
all of it on exit, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.servers import S3Server, create_database, free_port

__all__ = ["ApiProcess", "Cluster", "SseEvent", "read_sse", "wait_job"]

#: Seconds an API instance or worker may take to come up.
START_TIMEOUT_S = 60.0
WORKER_SCRIPT = (
    "import sys; from sceneforge.jobs.celery_app import run_worker; from sceneforge.settings import Settings; "
    "run_worker(Settings(), sys.argv[1:])"
)


def _stop_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait_s: float = 10.0) -> None:
    """Signal ``proc``'s process group (it leads one: ``start_new_session``), then SIGKILL what is left."""
    _stop_groups([proc], sig, wait_s)


def _stop_groups(procs: Sequence[subprocess.Popen[bytes]], sig: int = signal.SIGTERM, wait_s: float = 10.0) -> None:
    """:func:`_stop_group` of every one of ``procs``, each signalled before waiting for any: their shutdowns
    overlap instead of following one another."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
    deadline = time.monotonic() + wait_s
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)


@dataclass
class ApiProcess:
    """One ``uvicorn --factory sceneforge.api.server:app_from_env`` process."""

    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """Configuration shared by every process of one test, and the processes themselves."""

    root: Path
    env: dict[str, str]
    write_key: str = ""
    apis: list[ApiProcess] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _engine: Any = field(default=None, repr=False)

    @classmethod
    def prepare(
        cls,
        root: Path,
        postgres_url: str,
        *,
        redis_url: str | None = None,
        s3: S3Server | None = None,
        executor: str = "embedded",
        **extra: str,
    ) -> Cluster:
        """A fresh database (migrated) and bucket; the write key made; nothing started yet."""
        from sceneforge.storage import upgrade

        database = create_database(postgres_url)
        upgrade(database)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
        env |= {
            "SCENEFORGE_DATA_DIR": str(root / "data"),
            "SCENEFORGE_DATABASE_URL": database,
            "SCENEFORGE_AUTO_MIGRATE": "false",
            "SCENEFORGE_LINK_SECRET": "reliability-link-secret",
            "SCENEFORGE_WRITE_RATE": "0",
            "SCENEFORGE_EXECUTOR": executor,
            "PYTHONUNBUFFERED": "1",
        }
        if redis_url is not None:
            env["SCENEFORGE_REDIS_URL"] = redis_url
            env["SCENEFORGE_BROKER_URL"] = redis_url
        if s3 is not None:
            env |= {"SCENEFORGE_BLOBS": "s3", **s3.env(f"b{os.urandom(4).hex()}")}
        env |= extra
        cluster = cls(root, env)
        cluster.write_key = cluster._make_key()
        return cluster

    def _make_key(self) -> str:
        """A write key in the cluster's database, made in this process: a Python process of its own to make it
        (interpreter start and imports) cost more than the rest of preparing a cluster."""
        from sceneforge.storage import KeyRepository, create_engine

        async def make() -> str:
            engine = create_engine(self.env["SCENEFORGE_DATABASE_URL"])
            try:
                return (await KeyRepository(engine).create("write"))[0]
            finally:
                await engine.dispose()

        return asyncio.run(make())

    @property
    def auth(self) -> dict[str, str]:
        return {"X-API-Key": self.write_key}

    # --- API instances ----------------------------------------------------------------------

    def start(
        self, apis: int = 0, workers: Sequence[Sequence[str]] = ()
    ) -> tuple[list[ApiProcess], list[subprocess.Popen[bytes]]]:
        """``apis`` API instances and a Celery worker per ``(name, *args)`` (see :meth:`start_worker`), every one
        started before waiting for any: their interpreter starts and imports, seconds each on a loaded machine,
        overlap instead of following one another. Returns them once each answers (as :meth:`start_api` and
        :meth:`start_worker` wait)."""
        started = [self._new_api() for _ in range(apis)]
        waits = [self._spawn_api(api) for api in started]
        procs = []
        for name, *args in workers:
            proc, wait = self._spawn_worker(name, *args)
            procs.append(proc)
            waits.append(wait)
        for wait in waits:
            wait()
        return started, procs

    def start_api(self, port: int | None = None, **extra: str) -> ApiProcess:
        api = self._new_api(port)
        self.restart_api(api, **extra)
        return api

    def _new_api(self, port: int | None = None) -> ApiProcess:
        api = ApiProcess(port or free_port(), self.root / f"api-{len(self.apis)}.log")
        self.apis.append(api)
        return api

    def restart_api(self, api: ApiProcess, **extra: str) -> None:
        """(Re)start ``api`` on its port and wait until it answers ``/readyz``."""
        self._spawn_api(api, **extra)()

    def _spawn_api(self, api: ApiProcess, **extra: str) -> Callable[[], None]:
        """Start ``api``'s process; returns what waits until it answers ``/readyz``."""
        args = [sys.executable, "-m", "uvicorn", "--factory", "sceneforge.api.server:app_from_env"]
        args += ["--host", "127.0.0.1", "--port", str(api.port), "--log-level", "warning"]
        args += ["--timeout-graceful-shutdown", "2"]
        # Idle connections outlive every pause of a test (uvicorn closes them after 5 s): a client's pooled
        # connection closed by the server just as a POST went out on it failed with ReadError on a loaded machine.
        args += ["--timeout-keep-alive", "120"]
        with api.log.open("ab") as out:
            proc = subprocess.Popen(
                args, env=self.env | extra, stdout=out, stderr=subprocess.STDOUT, cwd=self.root, start_new_session=True
            )
        api.proc = proc
        deadline = time.monotonic() + START_TIMEOUT_S

        def wait() -> None:
            while True:
                try:
                    if httpx.get(f"{api.url}/readyz", timeout=2).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"API on {api.port} did not start:\n{api.log.read_text()[-3000:]}")
                time.sleep(0.1)

        return wait

    def stop_api(self, api: ApiProcess, sig: int = signal.SIGTERM) -> None:
        if api.proc is not None:
            _stop_group(api.proc, sig)

    # --- Celery workers ---------------------------------------------------------------------

    def start_worker(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """A Celery worker (solo pool: one build at a time, in a child process it can stop)."""
        proc, wait = self._spawn_worker(name, *args)
        wait()
        return proc

    def _spawn_worker(self, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Callable[[], None]]:
        """Start a worker's process; returns it and what waits until the worker says it is ready."""
        log = self.root / f"worker-{name}.log"
        argv = ["--pool=solo", f"--hostname={name}@%h", "--without-gossip", "--without-mingle", *args]
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", WORKER_SCRIPT, *argv],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                start_new_session=True,
            )
        self.workers.append(proc)
        deadline = time.monotonic() + START_TIMEOUT_S

        def wait() -> None:
            while "ready." not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker {name} did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.1)

        return proc, wait

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """``kill -9`` a process and every process of its group (the builds it spawned)."""
        _stop_group(proc, signal.SIGKILL)

    def query(self, sql: str, **params: Any) -> list[Any]:
        """Rows of ``sql`` on this cluster's database (checks against the tables themselves)."""
        from sqlalchemy import create_engine, text

        from sceneforge.storage import sync_url

        if self._engine is None:  # one connection kept for the tests' polling loops, not one made per query
            self._engine = create_engine(sync_url(self.env["SCENEFORGE_DATABASE_URL"]), pool_size=1, pool_pre_ping=True)
        with self._engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def logs(self) -> str:
        logs = sorted(self.root.glob("*.log"))
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in logs)

    def close(self) -> None:
        _stop_groups([*self.workers, *(api.proc for api in self.apis if api.proc is not None)])
        if self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class SseEvent:
    seq: int
    type: str
    data: dict[str, Any]


async def read_sse(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """Parse an SSE body into events (comments and ``retry:`` lines skipped)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                yield SseEvent(int(fields.get("id", "0")), fields.get("event", "message"), json.loads(fields["data"]))
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value


async def wait_job(client: httpx.AsyncClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``GET /jobs/{id}`` until it is finished."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = (await client.get(f"/jobs/{job_id}")).json()
        if job["status"] in {"Succeeded", "Failed", "Canceled"}:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s")
        await asyncio.sleep(0.05)
