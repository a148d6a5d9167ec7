"""Job system benchmark: end-to-end builds/s, event latency to SSE clients, memory per idle SSE connection.

Everything runs against real servers started here on free loopback ports (PostgreSQL, Redis)
and real processes (uvicorn API instances, Celery workers); every process is stopped by its id.

* **builds/s** — ``--builds`` tiny distinct descriptions enqueued at once over HTTP, timed from
  the first enqueue to the last ``Succeeded`` row: the embedded executor (2 worker processes) on
  SQLite and on PostgreSQL, and Celery (2 solo workers, Redis broker, PostgreSQL).
* **event latency** — ``--subscribers`` SSE clients (httpx streams in one asyncio process) on one
  instance; each event's latency is the client's receive time minus the event's ``ts`` (stamped
  when the state change is written). The single client process on the same cores is part of
  what is measured, so p99 is an upper bound for the server.
* **RSS per idle SSE connection** — the server's RSS (``/proc``) before and after ``--idle``
  connections (raw asyncio sockets, so the client stays light) have received their first bytes.

Usage::

    python bench/jobs.py [--builds 200] [--repeats 3] [--subscribers 1000] [--idle 5000]

Prints a table and writes ``bench/results/jobs.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.jobs.conftest import description  # noqa: E402
from tests.reliability.cluster import Cluster, read_sse  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "jobs.json"


# --- servers ------------------------------------------------------------------------------------


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    root.chmod(0o700)
    data = root / "data"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w"]
    subprocess.run(_as_postgres([*pg_ctl, "-o", options, "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "immediate", "stop"]), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root), "--save", ""]
    proc = subprocess.Popen([*args, "--appendonly", "no", "--logfile", str(root / "log")])
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
            if time.monotonic() > deadline:
                raise RuntimeError("redis did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _sqlite_cluster(root: Path, **extra: str) -> Cluster:
    """An embedded-default cluster (SQLite + files), for the zero-setup figures."""
    from sceneforge.storage import default_url, upgrade

    data = root / "data"
    upgrade(default_url(data))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
    env |= {"SCENEFORGE_DATA_DIR": str(data), "SCENEFORGE_WRITE_RATE": "0", "SCENEFORGE_PROJECT_ROOT": str(root)}
    env |= {"SCENEFORGE_LINK_SECRET": "bench-link-secret-0123", "PYTHONUNBUFFERED": "1", **extra}
    cluster = Cluster(root, env)
    cluster.write_key = cluster._make_key()
    return cluster


# --- measurements -------------------------------------------------------------------------------


async def _builds_per_s(cluster: Cluster, url: str, builds: int, tag: str) -> float:
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        bodies = [description(f"b{tag}", 1, n=str(i)) for i in range(builds)]
        started = time.perf_counter()
        replies = await asyncio.gather(*(client.post("/jobs/enqueue", content=b, headers=cluster.auth) for b in bodies))
        ids = [r.json()["jobId"] for r in replies]
        pending = set(ids)
        deadline = time.monotonic() + 600
        while pending:
            jobs = (await client.get("/jobs", params={"take": 500})).json()
            pending -= {j["jobId"] for j in jobs if j["status"] == "Succeeded"}
            bad = [j for j in jobs if j["jobId"] in pending and j["status"] in {"Failed", "Canceled"}]
            if bad or time.monotonic() > deadline:
                raise RuntimeError(f"builds did not all succeed: {bad[:2]}")
            await asyncio.sleep(0.05)
        return builds / (time.perf_counter() - started)


def builds(kind: str, root: Path, pg: str | None, broker: str | None, n: int, repeats: int) -> dict[str, Any]:
    fast = {"SCENEFORGE_WORKERS": "2", "SCENEFORGE_JOB_POLL_S": "0.2", "SCENEFORGE_JOB_SWEEP_S": "1"}
    if kind == "embedded-sqlite":
        cluster = _sqlite_cluster(root, **fast)
    else:
        assert pg is not None
        executor = "celery" if kind == "celery" else "embedded"
        cluster = Cluster.prepare(root, pg, redis_url=broker, executor=executor, **fast)
        if kind == "celery":
            cluster.env["SCENEFORGE_WORKERS"] = "1"
    with cluster:
        api = cluster.start_api()
        if kind == "celery":
            cluster.start_worker("w1")
            cluster.start_worker("w2")
        asyncio.run(_builds_per_s(cluster, api.url, 20, "warm"))
        rates = [asyncio.run(_builds_per_s(cluster, api.url, n, f"{kind}{r}")) for r in range(repeats)]
    return {"builds": n, "repeats": repeats, "builds_per_s": statistics.median(rates), "all": rates}


async def _latency(cluster: Cluster, url: str, subscribers: int, jobs: int) -> dict[str, Any]:
    from datetime import datetime

    samples: list[float] = []
    connected = 0
    limits = httpx.Limits(max_connections=subscribers + 16)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=None), limits=limits) as client:
        all_connected = asyncio.Event()

        async def subscriber() -> None:
            nonlocal connected
            async with client.stream("GET", f"{url}/events") as response:
                connected += 1
                if connected == subscribers:
                    all_connected.set()
                async for event in read_sse(response):
                    received = time.time()
                    ts = datetime.fromisoformat(event.data["ts"].replace("Z", "+00:00")).timestamp()
                    samples.append(received - ts)

        tasks = []
        for _ in range(subscribers):
            tasks.append(asyncio.create_task(subscriber()))
            if len(tasks) % 100 == 0:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(all_connected.wait(), 120)
        await asyncio.sleep(1.0)
        for i in range(jobs):
            reply = await client.post(f"{url}/jobs/enqueue", content=description(f"lat{i}", 1), headers=cluster.auth)
            job_id = reply.json()["jobId"]
            while (await client.get(f"{url}/jobs/{job_id}")).json()["status"] != "Succeeded":
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    samples.sort()
    ms = [s * 1000 for s in samples]
    return {
        "subscribers": subscribers,
        "events": len(ms) // max(1, subscribers),
        "samples": len(ms),
        "p50_ms": ms[len(ms) // 2],
        "p99_ms": ms[int(len(ms) * 0.99)],
        "max_ms": ms[-1],
    }


def latency(root: Path, subscribers: int, jobs: int) -> dict[str, Any]:
    cluster = _sqlite_cluster(root, SCENEFORGE_WORKERS="1", SCENEFORGE_SSE_QUEUE="10000")
    with cluster:
        api = cluster.start_api()
        return asyncio.run(_latency(cluster, api.url, subscribers, jobs))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def _idle(port: int, pid: int, count: int) -> dict[str, Any]:
    request = f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()

    async def one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"retry: "), 60)
        if b" 200 " not in head:
            raise RuntimeError(head[:200].decode(errors="replace"))
        return reader, writer

    await asyncio.sleep(1.0)
    before = _rss_kib(pid)
    conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    started = time.perf_counter()
    for start in range(0, count, 250):
        conns += await asyncio.gather(*(one() for _ in range(min(250, count - start))))
    opened_s = time.perf_counter() - started
    await asyncio.sleep(2.0)
    after = _rss_kib(pid)
    for _, writer in conns:
        writer.close()
    return {
        "connections": count,
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
        "kib_per_connection": (after - before) / count,
        "open_s": opened_s,
    }


def idle(root: Path, count: int) -> dict[str, Any]:
    cluster = _sqlite_cluster(root, SCENEFORGE_WORKERS="1", SCENEFORGE_SSE_HEARTBEAT_S="60")
    with cluster:
        api = cluster.start_api()
        assert api.proc is not None
        httpx.get(f"{api.url}/jobs")  # the first request loads the routes' lazy imports
        return asyncio.run(_idle(api.port, api.proc.pid, count))


# --- report -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--latency-jobs", type=int, default=10)
    parser.add_argument("--idle", type=int, default=5000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, min(hard, args.idle * 2 + 4096))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    results: dict[str, Any] = {"cores": os.cpu_count(), "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp, postgres() as pg, redis() as broker:
        base = Path(tmp)
        for kind in ("embedded-sqlite", "embedded-postgres", "celery"):
            root = base / kind
            root.mkdir()
            results[kind] = builds(kind, root, pg, broker if kind == "celery" else None, args.builds, args.repeats)
            print(f"{kind}: {results[kind]['builds_per_s']:.1f} builds/s", file=sys.stderr)
        (base / "latency").mkdir()
        results["latency"] = latency(base / "latency", args.subscribers, args.latency_jobs)
        (base / "idle").mkdir()
        results["idle_sse"] = idle(base / "idle", args.idle)

    rows = [
        (k, f"{results[k]['builds_per_s']:.1f} builds/s (median of {args.repeats} × {args.builds})")
        for k in ("embedded-sqlite", "embedded-postgres", "celery")
    ]
    lat = results["latency"]
    rows.append(
        (
            "event latency",
            f"p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms "
            f"({lat['subscribers']} SSE clients, {lat['samples']} deliveries)",
        )
    )
    idle_ = results["idle_sse"]
    rows.append(
        (
            "idle SSE memory",
            f"{idle_['kib_per_connection']:.1f} KiB/connection "
            f"({idle_['connections']} connections, RSS {idle_['rss_before_mib']:.0f} → "
            f"{idle_['rss_after_mib']:.0f} MiB)",
        )
    )
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
