"""Real servers for tests: PostgreSQL, Redis and S3 (SeaweedFS ``weed mini``, moto) on free loopback ports.

A pytest plugin: load it with ``pytest_plugins = ["tests.support.servers"]``. Each fixture is
session-scoped, starts its server once, and stops exactly the process it started (by PID or by
its own data directory, never by name). Without the binary the fixture skips with the reason —
except under ``CI=true``, where a missing server is a failure.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = [
    "CHROMIUM_ARGS",
    "PostgresCluster",
    "S3Server",
    "create_database",
    "free_port",
    "moto_server",
    "postgres_cluster",
    "postgres_url",
    "redis_process",
    "redis_server",
    "require_binary",
    "s3_server",
    "stop_process",
]

#: How the browser tests and benchmarks start Chromium: headless, WebGL in software (SwiftShader through ANGLE: no
#: GPU here), nothing fetched in the background.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: Seconds a server may take to accept connections.
START_TIMEOUT_S = 30.0


def nginx_conf(folder: Path | str, http: str, *, connections: int = 256, user: str = "") -> str:
    """An ``nginx.conf`` for nginx as a plain process in ``folder`` (its pid, logs and temporary files there,
    one worker): ``http`` goes inside the ``http`` block; ``user`` is a ``user`` directive line, if any."""
    d = folder
    return f"""
{user}worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections {connections}; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
{http}
}}
"""


def require_binary(name: str, *candidates: Path) -> str:
    """The path of executable ``name``; skip (fail under ``CI=true``) when it is not installed."""
    found = shutil.which(name) or next((str(c) for c in candidates if c.is_file()), None)
    if found:
        return found
    reason = f"{name} is not installed (see .ci/run)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (outgoing connections and ``bind(0)`` draw from it)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; IANA's is 49152


#: Under pytest-xdist (``make test`` runs a worker per core) the worker's number and how many there are.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_WORKERS = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), 1)

#: Ports are drawn from here: below the ephemeral range, so no outgoing connection (a database client, an
#: HTTP client) is given one between the check and the server's own bind, as can happen to a port the
#: kernel just handed out by ``bind(0)``; each xdist worker from its own share (every n-th port), so two
#: workers never hand out one port between its check and its server's bind.
PORT_RANGE = range(10000 + _WORKER % _WORKERS, max(_ephemeral_low(), 20000), _WORKERS)
_handed_out: set[int] = set()
_pick = random.Random(os.urandom(16))


def free_port(also_free: Callable[[int], bool] | None = None) -> int:
    """An unused loopback TCP port (and one for which ``also_free`` holds, e.g. a companion port).

    Drawn at random from :data:`PORT_RANGE`, and never the same port twice in one test run: a server
    that has stopped leaves its port free, and a later server given it again could be reached by a
    client still holding the first one's address.
    """
    for _ in range(1000):
        port = _pick.choice(PORT_RANGE)
        if port in _handed_out or not _port_is_free(port):
            continue
        if also_free is None or also_free(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port found in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


def _port_is_free(port: int) -> bool:
    if not 1024 < port < 65536:
        return False
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}:\n{tail}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {START_TIMEOUT_S}s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc``: SIGTERM, then SIGKILL after 10 s. A process that leads its own process group (started with
    ``start_new_session=True``, as every ``sceneforge serve`` here is) is stopped with its group: granian forks its
    workers with the server's command line, and a server killed alone left them running, holding their port."""
    group = _own_group(proc)
    if proc.poll() is None:
        _signal(proc, group, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal(proc, group, signal.SIGKILL)
            proc.wait(timeout=10)
    if group:  # what of the group outlived its leader
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _own_group(proc: subprocess.Popen[bytes]) -> bool:
    """Whether ``proc`` (still running) leads its own process group."""
    try:
        return os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:
        return False


def _signal(proc: subprocess.Popen[bytes], group: bool, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_bin() -> Path:
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    binary = require_binary("pg_ctl", *(r / "pg_ctl" for r in roots))
    return Path(binary).parent


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class PostgresCluster:
    """A throwaway PostgreSQL cluster (trust auth) in its own temp dir, on a free port, that a test may stop,
    start and restart (``pg_ctl``) to see what the service does while its database is away."""

    def __init__(self) -> None:
        self.bindir = _pg_bin()
        # Not under pytest's tmp dir: that is 0700 root-owned, and the server runs as user postgres.
        self.root = Path(tempfile.mkdtemp(prefix="sceneforge-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        self.data, self.log, self.port = self.root / "data", self.root / "log", free_port()
        subprocess.run(
            _as_postgres([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync"]),
            check=True,
            capture_output=True,
        )  # fmt: skip

    @property
    def server_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]), check=check,
                       capture_output=True)  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._ctl("-l", str(self.log), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop")

    def _processes(self) -> list[int]:
        """The postmaster and every process it started (by their parent, from ``/proc``)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        found = [postmaster]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # it ended meanwhile
                continue
            if int(fields[1]) == postmaster:
                found.append(int(stat.parent.name))
        return found

    def pause(self) -> None:
        """Stop every process of the server (``SIGSTOP``): connections stay open and nothing answers, as with a hung
        host or a network that drops packets."""
        for pid in self._processes():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self._processes():
            os.kill(pid, signal.SIGCONT)

    def remove(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.resume()
        self._ctl("-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+asyncpg://…/scenes`` of a throwaway cluster (trust auth) running for the session."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        create_database(cluster.server_url, "scenes")
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/scenes"
    finally:
        cluster.remove()


@pytest.fixture
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A cluster of the test's own, started, which the test may stop and start again."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def create_database(server_url: str, name: str | None = None) -> str:
    """Create database ``name`` (a fresh random one by default) on the server of ``server_url``; return its URL."""
    import psycopg
    from sqlalchemy import make_url

    url = make_url(server_url)
    name = name or f"t_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


# --- Redis ------------------------------------------------------------------------------------


def _start_redis(root: Path) -> tuple[str, subprocess.Popen[bytes]]:
    binary = require_binary("redis-server")
    port = free_port()
    log = root / "redis.log"
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root), "--save", "", "--appendonly", "no"]
    with log.open("wb") as out:
        proc = subprocess.Popen([*args, "--logfile", str(log)], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, log)
    except BaseException:
        stop_process(proc)
        raise
    return f"redis://127.0.0.1:{port}/0", proc


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``redis://127.0.0.1:<port>/0`` of a private redis-server (no persistence) for the session."""
    url, proc = _start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield url
    finally:
        stop_process(proc)


@pytest.fixture
def redis_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of the test's own, ``(url, process)``: the test may stop (``SIGSTOP``) or end it."""
    url, proc = _start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield url, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGCONT)
        stop_process(proc)


# --- S3 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Server:
    """Where a test S3 server listens and the credentials it checks."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    #: SeaweedFS's master (``http://host:port``), where the volume topology is read; None for other servers.
    master: str | None = None

    def env(self, bucket: str) -> dict[str, str]:
        """The ``SCENEFORGE_S3_*`` settings that point the service at ``bucket`` on this server."""
        return {
            "SCENEFORGE_S3_ENDPOINT": self.endpoint,
            "SCENEFORGE_S3_BUCKET": bucket,
            "SCENEFORGE_S3_ACCESS_KEY": self.access_key,
            "SCENEFORGE_S3_SECRET_KEY": self.secret_key,
            "SCENEFORGE_S3_REGION": self.region,
        }


def _grpc_free(port: int) -> bool:
    return _port_is_free(port) and _port_is_free(port + 10000)


#: Volumes the test S3 server may create: far more than the buckets one test session makes (volumes grow lazily).
S3_VOLUMES = 2000


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS ``weed mini`` with every port pinned to a free one, signatures checked."""
    weed = require_binary("weed", Path(sys.executable).parent / "weed")
    root = tmp_path_factory.mktemp("seaweed")
    (root / "data").mkdir()
    base = {name: free_port(_grpc_free) for name in ("s3", "master", "volume", "filer", "admin")}
    flags = {f"-{name}.port": port for name, port in base.items()}
    flags |= {f"-{name}.port.grpc": port + 10000 for name, port in base.items()}
    extra = ("-s3.port.iceberg", "-s3.port.lance", "-s3.metricsPort", "-metricsPort", "-debug.port", "-s3.debug.port")
    flags |= {flag: free_port() for flag in extra}
    args = [weed, "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-webdav=false"]
    args += [f"{flag}={port}" for flag, port in flags.items()] + ["-master.telemetry=false"]
    # Every bucket is a collection with volumes of its own; left to itself, weed sizes the volume count from the free
    # disk space, and on a small disk the n-th bucket's first write answers 500 InternalError (no writable volume).
    args += [f"-volume.max={S3_VOLUMES}"]
    credentials = {"AWS_ACCESS_KEY_ID": "devkey", "AWS_SECRET_ACCESS_KEY": "devsecret123"}
    log = root / "weed.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=root, env={**os.environ, **credentials})
    try:
        _wait_for_port(base["s3"], proc, log)
        server = S3Server(
            f"http://127.0.0.1:{base['s3']}",
            credentials["AWS_ACCESS_KEY_ID"],
            "devsecret123",
            master=f"http://127.0.0.1:{base['master']}",
        )
        _wait_for_s3(server)
        yield server
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server, a second S3 implementation for cross-checks."""
    binary = require_binary("moto_server", Path(sys.executable).parent / "moto_server")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, log)
        yield S3Server(f"http://127.0.0.1:{port}", "testing", "testing")
    finally:
        stop_process(proc)


def _wait_for_s3(server: S3Server) -> None:
    """``weed mini`` accepts connections before its filer is ready: wait until a bucket can be created."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name=server.region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    deadline, last = time.monotonic() + START_TIMEOUT_S, None
    while time.monotonic() < deadline:
        try:
            client.create_bucket(Bucket="readiness-probe")
            client.delete_bucket(Bucket="readiness-probe")
            return
        except Exception as exc:
            last = exc
            time.sleep(0.3)
    raise RuntimeError(f"S3 server at {server.endpoint} never became ready: {last}")
