"""Where builds run: :class:`ProcessExecutor`, a pool of worker processes (embedded pool and Celery workers).

It runs a :data:`~.build.BuildFn` held to the :class:`~sceneforge.config.Limits` it was given (each
child gets them at start) and honours ``cancel(job_id, attempt)``. It keeps ``size`` long-lived children,
forked from a ``forkserver`` that has imported the compiler once (the server's threads and event
loop are never forked, and a new child starts in milliseconds, not the seconds of a fresh
interpreter); a job is sent to an idle child through a pipe and progress comes
back the same way. Cancel sets the
child's flag, which the next progress callback turns into :class:`BuildCanceled`; a child that
has not stopped ``cancel_grace_s`` later is killed and replaced, so a cancel never waits for a
long stage to end. A child that dies mid-build surfaces as :class:`WorkerLost` (transient).

A run is known by its job id and the job's attempt: the same job can run here twice at once (its
lease was lost and the job claimed again while the old attempt stops), and a cancel naming an
attempt — the old attempt's watcher asks again and again until that attempt ends — never reaches
another; the grace timer of a cancel kills only the run it was set for, never a later run that the
same child has taken meanwhile.

Bounds (docs/configuration.md): a build running past ``timeout_s`` is killed and fails with
:class:`BuildLimitExceeded` naming ``SCENEFORGE_JOB_TIMEOUT_S``; each child caps its own address
space at what it had after start-up plus ``memory_mb`` (``RLIMIT_AS``), so an allocation beyond it
raises ``MemoryError`` in the child, which fails the build naming ``SCENEFORGE_JOB_MEMORY_MB`` — also
while the child receives its input or sends its output; an input (description and assets) larger
than ``memory_mb`` fails so at once, before any child gets it. Inputs go to the child from a thread:
a large one never holds up the event loop. A
child dies with the fork server (``PR_SET_PDEATHSIG``), which exits with the server, and
:meth:`ProcessExecutor.close` kills every child: a stopped server leaves no build running.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import resource
import signal
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from ..config import Limits
from ..errors import BuildCanceled, Issue, LimitExceeded, SceneforgeError, SceneInvalid
from .build import BuildFn, BuildOutput, compile_build, error_from_wire, error_to_wire

__all__ = ["BuildLimitExceeded", "Executor", "ProcessExecutor", "WorkerLost"]

#: Imported once by the fork server, so each worker process starts with the compiler loaded (and with its own
#: main loop, and the cell cache each build opens).
PRELOAD = [
    "sceneforge.jobs.executor",
    "sceneforge.jobs.build",
    "sceneforge.storage.cellcache",
    "sceneforge.compile",
    "sceneforge.validate",
    "sceneforge.ingest.description",
    "sceneforge.ingest.tagged_glb",
    "sceneforge.geometry.rooms",
    "sceneforge.passes",
    "sceneforge.visibility",
    "sceneforge.encode.glb",
    "sceneforge.encode.meta",
    "sceneforge.incremental",
    "sceneforge.ingest.assets",
    "sceneforge.ingest.obj_read",
    "meshoptimizer",
]

#: The settings that bound one build, as named in errors.
TIMEOUT_SETTING = "SCENEFORGE_JOB_TIMEOUT_S"
MEMORY_SETTING = "SCENEFORGE_JOB_MEMORY_MB"

#: Called on the event loop with (stage, fraction 0..1).
OnProgress = Callable[[str, float], Any]


class WorkerLost(SceneforgeError):
    """The process running a build died; the job is retried."""


class BuildLimitExceeded(LimitExceeded):
    """A build was stopped at a resource bound (time, memory): permanent, a 422 naming ``limit``."""

    def __init__(self, limit: str, message: str) -> None:
        self.limit, self.value, self.maximum = limit, 0, 0
        SceneInvalid.__init__(self, [Issue("", "limit_exceeded", message)])

    def __str__(self) -> str:
        return self.issues[0].message


def timeout_setting(kind: str) -> str:
    """The setting that bounds a job of type ``kind``: builds have the jobs' own, the others their section's."""
    return TIMEOUT_SETTING if kind == "build" else f"SCENEFORGE_{kind.upper()}_TIMEOUT_S"


def timed_out(timeout_s: float, kind: str = "build") -> BuildLimitExceeded:
    setting = timeout_setting(kind)
    return BuildLimitExceeded(setting, f"the {kind} ran longer than {timeout_s:g} s ({setting}) and was stopped")


def input_too_large(size: int, memory_mb: int) -> BuildLimitExceeded:
    return BuildLimitExceeded(
        MEMORY_SETTING,
        f"the build's input ({size} bytes) is more than the {memory_mb} MiB of memory it may use ({MEMORY_SETTING})",
    )


def input_bytes(data: bytes, options: dict[str, Any]) -> int:
    """What a run's input weighs: the description and the assets sent with it."""
    assets = options.get("assets") or {}
    return len(data) + sum(len(blob) for blob in assets.values() if isinstance(blob, bytes | bytearray))


def out_of_memory(memory_mb: int | None) -> BuildLimitExceeded:
    return BuildLimitExceeded(
        MEMORY_SETTING, f"the build needed more than the {memory_mb} MiB of memory it may use ({MEMORY_SETTING})"
    )


class Executor(ABC):
    """Runs builds; subclasses decide where."""

    @abstractmethod
    async def run(
        self, job_id: str, data: bytes, options: dict[str, Any], on_progress: OnProgress, *, attempt: int = 0
    ) -> BuildOutput:
        """Build ``data`` for attempt ``attempt`` of ``job_id`` and return the result; raise what the build raised."""

    @abstractmethod
    def cancel(self, job_id: str, attempt: int | None = None) -> bool:
        """Ask the build of attempt ``attempt`` of ``job_id`` (None: of every attempt running here) to stop;
        False if none runs here. Asking again does no more."""

    async def start(self) -> None:
        """Get ready to run builds (start worker processes)."""
        return None

    def closing(self) -> None:
        """Shutdown has begun: start no new build, replace no child."""
        return None

    async def close(self) -> None:
        return None


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the process that spawned it exits (even by ``kill -9``)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _cap_memory(memory_mb: int | None) -> None:
    """Limit this process's address space to its present size plus ``memory_mb`` MiB (``RLIMIT_AS``)."""
    if not memory_mb:
        return
    with open("/proc/self/statm") as statm:
        present = int(statm.read().split()[0]) * resource.getpagesize()
    cap = present + memory_mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _child_main(
    conn: Connection, cancel: Any, build: BuildFn, limits: Limits, memory_mb: int | None = None, nice: int = 0
) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C of the server reaches the group: the parent decides
    _cap_memory(memory_mb)
    if nice:
        os.nice(nice)

    def progress(stage: str, fraction: float) -> None:
        if cancel.is_set():
            raise BuildCanceled("build canceled")
        conn.send(("progress", stage, fraction))

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        except MemoryError:  # the input does not fit: the rest of it is still in the pipe, so this child ends
            conn.send(("memory",))
            return
        if message is None:
            return
        data, options = message
        try:
            output = build(data, options, limits, progress)
        except MemoryError:
            del message, data, options  # release what can be released before reporting
            conn.send(("memory",))
        except BaseException as exc:  # report everything; the parent decides what is transient
            conn.send(("error", *error_to_wire(exc)))
        else:
            try:
                conn.send(("done", output))
            except MemoryError:  # the output could not be pickled within the cap: nothing of it was sent
                del output
                conn.send(("memory",))
            except Exception as exc:  # not picklable: pickling fails before anything is written
                why = f"the build's result could not be sent: {error_to_wire(exc)[1]}"
                conn.send(("error", "other", why, []))


class _Child:
    def __init__(self, ctx: Any, build: BuildFn, limits: Limits, memory_mb: int | None, nice: int) -> None:
        self.cancel = ctx.Event()
        self.conn, child_end = ctx.Pipe()
        args = (child_end, self.cancel, build, limits, memory_mb, nice)
        self.process = ctx.Process(target=_child_main, args=args, daemon=True)
        self.process.start()
        child_end.close()
        #: The run this child is on: (job id, attempt) and a token of this one run (None: idle).
        self.run: tuple[str, int] | None = None
        self.token: object | None = None
        self.canceled = False

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.conn.close()


class ProcessExecutor(Executor):
    """``size`` worker processes building under ``limits``; ``run`` waits for an idle one.

    ``timeout_s`` and ``memory_mb`` (None or 0: none) bound each run; a run past ``timeout_s`` is
    killed and fails naming the timeout setting of ``kind``, the job type the executor runs. ``nice`` is
    added to each child's niceness: background work (previews, exports) yields the CPU to builds.
    """

    #: Seconds a canceled child may take to reach its next progress call before it is killed.
    cancel_grace_s = 0.3

    def __init__(
        self,
        size: int,
        limits: Limits,
        build: BuildFn = compile_build,
        *,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
        kind: str = "build",
        nice: int = 0,
    ) -> None:
        self.size, self.limits, self.build, self.kind, self.nice = size, limits, build, kind, nice
        self.timeout_s = timeout_s or None
        self.memory_mb = memory_mb or None
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)
        self._threads = ThreadPoolExecutor(max_workers=size + 1, thread_name_prefix="build-pipe")
        self._idle: asyncio.Queue[_Child] | None = None
        self._starting: asyncio.Lock | None = None
        self._running: dict[tuple[str, int], _Child] = {}
        self._closed = False

    def _spawn(self) -> _Child:
        return _Child(self._ctx, self.build, self.limits, self.memory_mb, self.nice)

    async def _respawn(self) -> _Child:
        """A new child, started off the event loop (the first one waits for the fork server's imports)."""
        return await asyncio.to_thread(self._spawn)

    async def start(self) -> None:
        """Start the children now (otherwise the first build does): the loop never waits on a process start."""
        await self._queue()

    async def _queue(self) -> asyncio.Queue[_Child]:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._idle is None:
                idle: asyncio.Queue[_Child] = asyncio.Queue()
                for _ in range(self.size):
                    idle.put_nowait(await self._respawn())
                self._idle = idle
        return self._idle

    def pids(self) -> list[int]:
        """Process ids of the live children (idle and busy)."""
        children = list(self._running.values())
        if self._idle is not None:
            children += list(self._idle._queue)  # type: ignore[attr-defined]
        return [c.process.pid for c in children if c.process.pid is not None and c.process.is_alive()]

    async def run(
        self, job_id: str, data: bytes, options: dict[str, Any], on_progress: OnProgress, *, attempt: int = 0
    ) -> BuildOutput:
        if self._closed:
            raise WorkerLost("the executor is shutting down")
        if self.memory_mb is not None and (size := input_bytes(data, options)) > self.memory_mb * 1024 * 1024:
            raise input_too_large(size, self.memory_mb)
        idle = await self._queue()
        child = await idle.get()
        if not child.process.is_alive():
            child.stop()
            child = await self._respawn()
        child.cancel.clear()
        key = (job_id, attempt)
        child.run, child.token, child.canceled = key, object(), False
        self._running[key] = child
        healthy = False
        loop = asyncio.get_running_loop()
        deadline = None if self.timeout_s is None else time.monotonic() + self.timeout_s
        pending: asyncio.Future[Any] | None = None
        try:
            # From a thread: a large input would hold up the event loop while the child reads it. A child that
            # dies receiving it (its memory cap) breaks the pipe; what it said before it ended is read below.
            pending = loop.run_in_executor(self._threads, child.conn.send, (data, options))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await asyncio.shield(pending)
            pending = None
            while True:
                pending = loop.run_in_executor(self._threads, child.conn.recv)
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    # asyncio.timeout, not wait_for: Python 3.11's wait_for returns the message and drops a
                    # cancel (server shutdown) that arrives as the message does, and the build would run on.
                    async with asyncio.timeout(left):
                        message = await asyncio.shield(pending)
                except TimeoutError:
                    assert self.timeout_s is not None
                    raise timed_out(self.timeout_s, self.kind) from None
                except (EOFError, OSError):
                    if child.canceled:
                        raise BuildCanceled("build canceled") from None
                    code = child.process.exitcode
                    raise WorkerLost(f"the build process of job {job_id} exited ({_exit_reason(code)})") from None
                pending = None
                if message[0] == "progress":
                    result = on_progress(message[1], message[2])
                    if asyncio.iscoroutine(result):
                        await result
                    continue
                if message[0] == "memory":
                    raise out_of_memory(self.memory_mb)
                healthy = True
                if message[0] == "done":
                    output: BuildOutput = message[1]
                    return output
                raise error_from_wire(*message[1:])
        finally:
            # Only this run's entry: the job may be running again here (taken back after a lost lease and
            # claimed anew) while this attempt stops, and that run must stay cancellable and be killed on close.
            if self._running.get(key) is child:
                del self._running[key]
            child.run = child.token = None
            if not healthy:
                with contextlib.suppress(Exception):
                    child.process.kill()
                if pending is not None:  # the pipe thread returns once the child is gone
                    with contextlib.suppress(BaseException):
                        async with asyncio.timeout(5):
                            await asyncio.shield(pending)
                child.stop()
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(child.process.join, 5)
                if not self._closed:
                    child = await self._respawn()
            if not self._closed:
                idle.put_nowait(child)
            else:
                child.stop()

    def cancel(self, job_id: str, attempt: int | None = None) -> bool:
        children = [c for (j, a), c in list(self._running.items()) if j == job_id and attempt in (None, a)]
        for child in children:
            if child.canceled:  # already stopping: one kill timer is enough
                continue
            child.canceled = True
            child.cancel.set()
            loop = asyncio.get_running_loop()
            loop.call_later(self.cancel_grace_s, self._terminate_if_still, child, child.token)
        return bool(children)

    def _terminate_if_still(self, child: _Child, token: object | None) -> None:
        """The grace of a cancel is over: kill the child if it is still on the run the cancel was for."""
        if token is not None and child.token is token and child.process.is_alive():
            child.process.kill()

    def closing(self) -> None:
        self._closed = True

    async def close(self) -> None:
        """Kill every child (running builds included) and wait for them to exit: nothing outlives the server."""
        self._closed = True
        children = list(self._running.values())
        if self._idle is not None:
            while not self._idle.empty():
                children.append(self._idle.get_nowait())
        for child in children:
            child.stop()
        for child in children:
            await asyncio.to_thread(child.process.join, 5)
        self._threads.shutdown(wait=False, cancel_futures=True)


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"
