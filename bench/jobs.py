"""Job system benchmark: end-to-end builds/s, event latency to SSE clients, memory per idle SSE connection.

Everything runs against real servers started here on free loopback ports (PostgreSQL, Redis)
and real processes (uvicorn API instances, Celery workers); every process is stopped by its id.

* **builds/s** — ``--builds`` tiny distinct descriptions enqueued at once over HTTP, timed from
  the first enqueue to the last ``Succeeded`` row: the embedded executor (2 worker processes) on
  SQLite and on PostgreSQL, and Celery (2 solo workers, Redis broker, PostgreSQL).
* **event latency** — ``--subscribers`` SSE clients on one instance, held by ``--client-procs``
  separate client processes (raw asyncio sockets, no HTTP or JSON parsing: each read is scanned
  for ``id:`` lines and stamped with the arrival time). An event's latency is its arrival time
  minus its ``ts`` (stamped when the state change is written, on the same machine clock; ``ts``
  has millisecond resolution, truncated, so a sample can read up to 1 ms high). Jobs run one
  after another, each awaited on the driver's own stream; p50/p99 are the medians over
  ``--latency-repeats`` rounds, each with fresh connections.
* **RSS per idle SSE connection** — the server's RSS (``/proc``) before and after ``--idle``
  connections (raw asyncio sockets, so the client stays light) have received their first bytes.
* **replay memory** — ``sceneforge serve`` (granian, SQLite) over a history of ``--replay-events`` job
  events of about 900 bytes of JSON each; ``--replay-clients`` SSE clients resume from its start at once
  (``Last-Event-ID: 0``), each reading until its first replayed event and then nothing more (a slow
  reader: every stream waits on its client). The server's RSS (every process of it, ``/proc``) before,
  its high-water mark, and its RSS once every stream waits.

Usage::

    python bench/jobs.py [--builds 200] [--repeats 3] [--subscribers 1000] [--client-procs 2] [--idle 5000]
    python bench/jobs.py --only latency          # one part: builds, latency, idle or replay
    python bench/jobs.py --only replay [--replay-clients 300] [--replay-events 2000]

Prints a table and writes ``bench/results/jobs.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
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
    env |= {"SCENEFORGE_DATA_DIR": str(data), "SCENEFORGE_DATABASE_URL": default_url(data)}
    env |= {"SCENEFORGE_WRITE_RATE": "0"}
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
            jobs = (await client.get("/jobs", params={"take": 500, "type": "build"})).json()
            pending -= {j["jobId"] for j in jobs if j["status"] == "Succeeded"}
            bad = [j for j in jobs if j["jobId"] in pending and j["status"] in {"Failed", "Canceled"}]
            if bad or time.monotonic() > deadline:
                raise RuntimeError(f"builds did not all succeed: {bad[:2]}")
            await asyncio.sleep(0.25)  # (a list of 500 jobs every 50 ms took a good part of the server's CPU)
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


#: An SSE event's ``id:`` line, as it appears in the raw (chunked) response bytes.
_ID_LINE = re.compile(rb"\nid: (\d+)\n")


class _SseCounter(asyncio.Protocol):
    """One raw SSE connection: records ``(seq, arrival time)`` for every ``id:`` line it receives."""

    def __init__(self, request: bytes, arrivals: list[tuple[int, float]], ready: asyncio.Future[None]) -> None:
        self.request, self.arrivals, self.ready = request, arrivals, ready
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.tail + data
        if not self.ready.done() and b"retry: " in buf:
            self.ready.set_result(None)
        for match in _ID_LINE.finditer(buf):
            self.arrivals.append((int(match.group(1)), now))
        cut = buf.rfind(b"\n")
        self.tail = buf[cut:] if cut >= 0 else buf[-64:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("SSE connection closed before its first bytes"))


async def _sse_client(port: int, count: int) -> None:
    """A client process: ``count`` SSE connections; prints ``ready``, records until stdin closes, dumps JSON."""
    loop = asyncio.get_running_loop()
    request = f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
    arrivals: list[tuple[int, float]] = []
    transports = []
    for start in range(0, count, 100):
        ready = [loop.create_future() for _ in range(min(100, count - start))]
        for future in ready:
            transport, _ = await loop.create_connection(
                lambda f=future: _SseCounter(request, arrivals, f),
                "127.0.0.1",
                port,  # type: ignore[misc]
            )
            transports.append(transport)
        await asyncio.wait_for(asyncio.gather(*ready), 60)
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    for transport in transports:
        transport.close()
    json.dump(arrivals, sys.stdout)
    sys.stdout.flush()


def _run_sse_client(port: int, count: int) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(_sse_client(port, count))


async def _drive(cluster: Cluster, url: str, jobs: int, tag: str) -> dict[int, tuple[float, str]]:
    """Run ``jobs`` builds one after another (each awaited on an SSE stream); their events' seq → (``ts``, type)."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=None)) as client:
        first = last = 0
        for i in range(jobs):
            scene = f"lat{tag}x{i}"
            async with client.stream("GET", f"{url}/jobs/events/{scene}", params={"since": 0}) as response:
                reply = await client.post(f"{url}/jobs/enqueue", content=description(scene, 1), headers=cluster.auth)
                reply.raise_for_status()
                async for event in read_sse(response):
                    first = first or event.seq
                    last = event.seq
                    if event.type == "scene.built":
                        break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
        stamps = {}
        async with client.stream("GET", f"{url}/events", params={"since": first - 1}) as response:
            async for event in read_sse(response):
                ts = datetime.fromisoformat(event.data["ts"].replace("Z", "+00:00")).timestamp()
                stamps[event.seq] = (ts, event.type)
                if event.seq >= last:
                    break
    return stamps


def _latency_round(
    cluster: Cluster, url: str, port: int, subscribers: int, procs: int, jobs: int, tag: str
) -> dict[str, Any]:
    shares = [subscribers // procs + (1 if p < subscribers % procs else 0) for p in range(procs)]
    clients = [
        subprocess.Popen(
            [sys.executable, __file__, "--sse-client", str(port), str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for n in shares
    ]
    try:
        for client in clients:
            assert client.stdout is not None
            if client.stdout.readline().strip() != "ready":
                raise RuntimeError("an SSE client process failed to connect")
        time.sleep(1.0)
        stamps = asyncio.run(_drive(cluster, url, jobs, tag))
        time.sleep(1.0)
        arrivals: list[tuple[int, float]] = []
        for client in clients:
            out, _ = client.communicate("", timeout=120)
            arrivals += [tuple(a) for a in json.loads(out)]  # type: ignore[misc]
    finally:
        for client in clients:
            if client.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(client.pid, signal.SIGKILL)
                client.wait(timeout=10)
    by_type: dict[str, list[float]] = {}
    for seq, t in arrivals:
        if seq in stamps:
            ts, type_ = stamps[seq]
            by_type.setdefault(type_, []).append((t - ts) * 1000)
    ms = sorted(x for values in by_type.values() for x in values)
    expected = subscribers * len(stamps)
    return {
        "events": len(stamps),
        "samples": len(ms),
        "missing": expected - len(ms),
        "p50_ms": ms[len(ms) // 2],
        "p99_ms": ms[int(len(ms) * 0.99)],
        "max_ms": ms[-1],
        "p99_ms_by_type": {k: sorted(v)[int(len(v) * 0.99)] for k, v in sorted(by_type.items())},
    }


def latency(root: Path, subscribers: int, procs: int, jobs: int, repeats: int) -> dict[str, Any]:
    cluster = _sqlite_cluster(root, SCENEFORGE_WORKERS="1", SCENEFORGE_SSE_QUEUE="10000")
    with cluster:
        api = cluster.start_api()
        asyncio.run(_drive(cluster, api.url, 2, "warm"))
        rounds = [_latency_round(cluster, api.url, api.port, subscribers, procs, jobs, str(r)) for r in range(repeats)]
    return {
        "subscribers": subscribers,
        "client_processes": procs,
        "repeats": repeats,
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "samples": sum(r["samples"] for r in rounds),
        "rounds": rounds,
    }


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


def _history(data: Path, count: int) -> int:
    """Store ``count`` job events of about 900 bytes of JSON each in the data dir's database; their bytes of JSON."""
    from datetime import UTC

    from sqlalchemy import insert

    from sceneforge.storage import create_engine, default_url, upgrade
    from sceneforge.storage.tables import events

    url = default_url(data)
    upgrade(url)
    now = datetime.now(UTC)
    rows = [
        {
            "type": "job.status",
            "scene_id": f"scene-{i % 20}",
            "ts": now,
            "payload": {"job": {"id": f"job-{i:06d}", "state": "Running", "percent": i % 100, "log": "x" * 800}},
        }
        for i in range(count)
    ]

    async def store() -> None:
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(insert(events), rows)
        await engine.dispose()

    asyncio.run(store())
    return sum(len(json.dumps(row["payload"])) for row in rows)


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it (granian serves from a worker process)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid, *(p for child in children for p in _tree(int(child)))]


def _status_kib(pids: list[int], field: str) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                total += int(line.split()[1])
    return total


async def _replays(port: int, pid: int, count: int) -> dict[str, Any]:
    request = (
        f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\nLast-Event-ID: 0\r\n\r\n"
    ).encode()

    async def one() -> asyncio.StreamWriter:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**16)
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\nid: "), 120)  # the replay began; read no more
        if b" 200 " not in head:
            raise RuntimeError(head[:200].decode(errors="replace"))
        return writer

    await asyncio.sleep(1.0)
    pids = _tree(pid)
    before, hwm_before = _status_kib(pids, "VmRSS"), _status_kib(pids, "VmHWM")
    started = time.perf_counter()
    writers = await asyncio.gather(*(one() for _ in range(count)))
    opened_s = time.perf_counter() - started
    await asyncio.sleep(3.0)
    held, hwm = _status_kib(pids, "VmRSS"), _status_kib(pids, "VmHWM")
    for writer in writers:
        writer.close()
    return {
        "clients": count,
        "rss_before_mib": before / 1024,
        "hwm_before_mib": hwm_before / 1024,
        "rss_peak_mib": hwm / 1024,
        "rss_held_mib": held / 1024,
        "open_s": opened_s,
    }


def replay(root: Path, clients: int, history: int, server: str) -> dict[str, Any]:
    data = root / "data"
    size = _history(data, history)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
    env |= {"SCENEFORGE_DATA_DIR": str(data), "SCENEFORGE_WORKERS": "1", "SCENEFORGE_SSE_HEARTBEAT_S": "60"}
    env |= {"SCENEFORGE_LINK_SECRET": "bench-link-secret-0123", "PYTHONUNBUFFERED": "1", "SCENEFORGE_SERVER": server}
    serve = [sys.executable, "-c", "from sceneforge.cli import main; main()", "serve", "--port", str(port)]
    with (root / "serve.log").open("wb") as out:
        proc = subprocess.Popen(serve, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((root / "serve.log").read_text()[-3000:])
            time.sleep(0.2)
        httpx.get(f"http://127.0.0.1:{port}/jobs")  # the first request loads the routes' lazy imports
        result = asyncio.run(_replays(port, proc.pid, clients))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return result | {"history_events": history, "history_mb": size / 1e6, "server": server}


# --- report -------------------------------------------------------------------------------------


PARTS = ("builds", "latency", "idle", "replay")


def _report(results: dict[str, Any]) -> None:
    rows = [
        (k, f"{results[k]['builds_per_s']:.1f} builds/s (median of {len(results[k]['all'])} × {results[k]['builds']})")
        for k in ("embedded-sqlite", "embedded-postgres", "celery")
        if k in results
    ]
    if "latency" in results:
        lat = results["latency"]
        rows.append(
            (
                "event latency",
                f"p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms (medians of {lat['repeats']} rounds; "
                f"{lat['subscribers']} SSE clients in {lat['client_processes']} processes, "
                f"{lat['samples']} deliveries)",
            )
        )
    if "idle_sse" in results:
        idle_ = results["idle_sse"]
        rows.append(
            (
                "idle SSE memory",
                f"{idle_['kib_per_connection']:.1f} KiB/connection "
                f"({idle_['connections']} connections, RSS {idle_['rss_before_mib']:.0f} → "
                f"{idle_['rss_after_mib']:.0f} MiB)",
            )
        )
    if "replay" in results:
        rep = results["replay"]
        rows.append(
            (
                "replay memory",
                f"{rep['server']}, {rep['clients']} SSE clients resuming from the start of a "
                f"{rep['history_mb']:.1f} MB history: "
                f"RSS {rep['rss_before_mib']:.0f} MiB → peak {rep['rss_peak_mib']:.0f} MiB, "
                f"{rep['rss_held_mib']:.0f} MiB while they wait",
            )
        )
    width = max((len(r[0]) for r in rows), default=0)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts (repeatable)")
    parser.add_argument("--builds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--client-procs", type=int, default=2, help="processes holding the latency clients")
    parser.add_argument("--latency-jobs", type=int, default=10)
    parser.add_argument("--latency-repeats", type=int, default=3)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--replay-clients", type=int, default=300)
    parser.add_argument("--replay-events", type=int, default=2000)
    parser.add_argument("--replay-server", choices=("granian", "uvicorn"), default="granian")
    parser.add_argument("--sse-client", nargs=2, type=int, metavar=("PORT", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, min(hard, max(args.idle, args.subscribers) * 2 + 4096))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if args.sse_client:
        _run_sse_client(*args.sse_client)
        return
    parts = set(args.only or PARTS)

    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.is_file() and args.only else {}
    results |= {"cores": os.cpu_count(), "python": sys.version.split()[0]}
    with contextlib.ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-jobs-")))
        if "builds" in parts:
            pg, broker = stack.enter_context(postgres()), stack.enter_context(redis())
            for kind in ("embedded-sqlite", "embedded-postgres", "celery"):
                root = base / kind
                root.mkdir()
                results[kind] = builds(kind, root, pg, broker if kind == "celery" else None, args.builds, args.repeats)
                print(f"{kind}: {results[kind]['builds_per_s']:.1f} builds/s", file=sys.stderr)
        if "latency" in parts:
            (base / "latency").mkdir()
            results["latency"] = latency(
                base / "latency", args.subscribers, args.client_procs, args.latency_jobs, args.latency_repeats
            )
        if "idle" in parts:
            (base / "idle").mkdir()
            results["idle_sse"] = idle(base / "idle", args.idle)
        if "replay" in parts:
            (base / "replay").mkdir()
            results["replay"] = replay(base / "replay", args.replay_clients, args.replay_events, args.replay_server)

    _report(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
