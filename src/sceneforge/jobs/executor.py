"""Where builds run: :class:`ProcessExecutor`, a pool of worker processes (embedded pool and Celery workers).

It runs a :data:`~.build.BuildFn` held to the :class:`~sceneforge.config.Limits` it was given
(each child gets them at spawn) and honours ``cancel(job_id)``. It keeps ``size`` long-lived
children (spawned: the server's threads and event loop are not forked); a job is sent to an
idle child through a pipe and progress comes back the same way. Cancel sets the
child's flag, which the next progress callback turns into :class:`BuildCanceled`; a child that
has not stopped ``cancel_grace_s`` later is terminated and replaced, so a cancel never waits
for a long stage to end. A child that dies mid-build surfaces as :class:`WorkerLost` (transient).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from ..config import Limits
from ..errors import BuildCanceled, SceneforgeError
from .build import BuildFn, BuildOutput, compile_build, error_from_wire, error_to_wire

__all__ = ["Executor", "ProcessExecutor", "WorkerLost"]

#: Called on the event loop with (stage, fraction 0..1).
OnProgress = Callable[[str, float], Any]


class WorkerLost(SceneforgeError):
    """The process running a build died; the job is retried."""


class Executor(ABC):
    """Runs builds; subclasses decide where."""

    @abstractmethod
    async def run(self, job_id: str, data: bytes, options: dict[str, Any], on_progress: OnProgress) -> BuildOutput:
        """Build ``data`` and return the result; raise what the build raised."""

    @abstractmethod
    def cancel(self, job_id: str) -> bool:
        """Ask the build of ``job_id`` to stop; False if it does not run here."""

    async def close(self) -> None:
        return None


def _child_main(conn: Connection, cancel: Any, build: BuildFn, limits: Limits) -> None:
    def progress(stage: str, fraction: float) -> None:
        if cancel.is_set():
            raise BuildCanceled("build canceled")
        conn.send(("progress", stage, fraction))

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        data, options = message
        try:
            output = build(data, options, limits, progress)
        except BaseException as exc:  # report everything; the parent decides what is transient
            conn.send(("error", *error_to_wire(exc)))
        else:
            conn.send(("done", output))


class _Child:
    def __init__(self, ctx: Any, build: BuildFn, limits: Limits) -> None:
        self.cancel = ctx.Event()
        self.conn, child_end = ctx.Pipe()
        self.process = ctx.Process(target=_child_main, args=(child_end, self.cancel, build, limits), daemon=True)
        self.process.start()
        child_end.close()
        self.job_id: str | None = None
        self.canceled = False

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.conn.close()


class ProcessExecutor(Executor):
    """``size`` worker processes building under ``limits``; ``run`` waits for an idle one."""

    #: Seconds a canceled child may take to reach its next progress call before it is terminated.
    cancel_grace_s = 0.3

    def __init__(self, size: int, limits: Limits, build: BuildFn = compile_build) -> None:
        self.size, self.limits, self.build = size, limits, build
        self._ctx = multiprocessing.get_context("spawn")
        self._threads = ThreadPoolExecutor(max_workers=size + 1, thread_name_prefix="build-pipe")
        self._idle: asyncio.Queue[_Child] | None = None
        self._running: dict[str, _Child] = {}

    def _queue(self) -> asyncio.Queue[_Child]:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.size):
                self._idle.put_nowait(_Child(self._ctx, self.build, self.limits))
        return self._idle

    async def run(self, job_id: str, data: bytes, options: dict[str, Any], on_progress: OnProgress) -> BuildOutput:
        idle = self._queue()
        child = await idle.get()
        if not child.process.is_alive():
            child.stop()
            child = _Child(self._ctx, self.build, self.limits)
        child.cancel.clear()
        child.job_id, child.canceled = job_id, False
        self._running[job_id] = child
        healthy = False
        loop = asyncio.get_running_loop()
        try:
            child.conn.send((data, options))
            while True:
                try:
                    message = await loop.run_in_executor(self._threads, child.conn.recv)
                except (EOFError, OSError):
                    if child.canceled:
                        raise BuildCanceled("build canceled") from None
                    raise WorkerLost(f"the build process of job {job_id} exited") from None
                if message[0] == "progress":
                    result = on_progress(message[1], message[2])
                    if asyncio.iscoroutine(result):
                        await result
                    continue
                healthy = True
                if message[0] == "done":
                    output: BuildOutput = message[1]
                    return output
                raise error_from_wire(*message[1:])
        finally:
            self._running.pop(job_id, None)
            child.job_id = None
            if not healthy:
                child.stop()
                child = _Child(self._ctx, self.build, self.limits)
            idle.put_nowait(child)

    def cancel(self, job_id: str) -> bool:
        child = self._running.get(job_id)
        if child is None:
            return False
        child.canceled = True
        child.cancel.set()
        loop = asyncio.get_running_loop()
        loop.call_later(self.cancel_grace_s, self._terminate_if_still, child, job_id)
        return True

    def _terminate_if_still(self, child: _Child, job_id: str) -> None:
        if child.job_id == job_id and child.process.is_alive():
            child.process.kill()

    async def close(self) -> None:
        if self._idle is not None:
            while not self._idle.empty():
                child = self._idle.get_nowait()
                with contextlib.suppress(Exception):
                    child.conn.send(None)
                child.process.join(timeout=1)
                child.stop()
        for child in list(self._running.values()):
            child.stop()
        self._threads.shutdown(wait=False, cancel_futures=True)
