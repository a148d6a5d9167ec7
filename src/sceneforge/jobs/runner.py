"""One attempt of one job, the same for the embedded pool and Celery workers: :meth:`JobRunner.run_one`.

Load the description and the assets it references (``asset:<sha256>``, fetched here so the build
process does no I/O; their total is bounded by the worker's memory cap), build it on the executor
while a watcher renews the lease and looks for a cancel, then publish the result as a version and
mark the job Succeeded — or sort the failure into Failed (permanent — invalid input, a limit, the
timeout or memory cap — or attempts used up), Queued again after a backoff (transient), or
Canceled. A worker that finds the job is no longer its own (its lease was reclaimed) stops and
writes nothing; publishing is idempotent by ETag, so a job that ran twice still makes exactly one
version. A runner stopped mid-build (server shutdown, :meth:`JobRunner.closing`) puts its job back
in the queue at once, however the build ends meanwhile: a build killed by the shutdown is never
recorded as failed.

What is not the runner itself lives beneath it: ``failures`` (how a failure is classified: the error's kind,
a store failing, an input gone), ``outputs`` (the preview and export jobs queued, their executors) and
``drafts`` (the draft repository wired to the event log); their names are re-exported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from typing import Any, cast

from ..errors import BuildCanceled, LimitExceeded, NotFound
from ..settings import JobSettings, JobTypeSettings, Settings
from ..storage.artifacts import ArtifactRepository, VersionGone
from ..storage.assist import INTERRUPTED
from ..storage.blobs import BlobStore
from ..storage.database import database_fault
from ..storage.scenes import SceneRepository
from .assist import AssistWork
from .build import BuildFn, compile_build
from .drafts import draft_repository
from .executor import MEMORY_SETTING, Executor
from .failures import InputGone, error_kind, store_failed
from .outputs import output_executors, queue_output
from .states import BuildJob, JobStatus, backoff_s, is_permanent
from .store import HeartbeatAnswer, JobStore

__all__ = [
    "BUILD_OPTIONS",
    "JobRunner",
    "build_options",
    "draft_repository",
    "error_kind",
    "make_runner",
    "output_executors",
    "queue_output",
    "worker_name",
]

log = logging.getLogger(__name__)

#: An asset reference in a description: ``asset:`` and the SHA-256 (hex) of the uploaded bytes.
_ASSET_REF = re.compile(rb"asset:([0-9a-f]{64})")

#: The job options that are build options (the rest — author, publish, rev — steer the job).
BUILD_OPTIONS = ("quantize", "compress", "fallback", "instancing", "all_uvs")


def build_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: options[k] for k in BUILD_OPTIONS if k in options}


def make_runner(
    settings: Settings,
    store: JobStore,
    scenes: SceneRepository,
    blobs: BlobStore,
    owner_kind: str,
    *,
    size: int | None = None,
    build: BuildFn = compile_build,
    assist: AssistWork | None = None,
) -> JobRunner:
    """The job runner of one worker (the embedded pool, a Celery worker): builds on ``size`` processes
    (default ``jobs.workers``) and each output type on its own (``size``, default the type's
    concurrency), under the settings' limits, with the deployment's shared cell cache."""
    from ..storage.cellcache import cell_cache_spec
    from .executor import ProcessExecutor
    from .types import QUEUED_TYPES, type_settings

    jobs = settings.jobs
    executor = ProcessExecutor(
        size or jobs.workers, settings.limits, build, timeout_s=jobs.timeout_s, memory_mb=jobs.memory_mb
    )
    return JobRunner(
        store,
        scenes,
        blobs,
        executor,
        jobs,
        worker_name(owner_kind),
        executors=output_executors(settings, size),
        types={kind: type_settings(settings, kind) for kind in QUEUED_TYPES},
        cell_cache=cell_cache_spec(settings.storage),
        assist=assist,
    )


def worker_name(kind: str) -> str:
    """A lease owner id unique to this process: ``<kind>@<host>:<pid>:<random>``."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _Ended:
    """An attempt that ended before its result was stored: the job as it was left (None: lost)."""

    def __init__(self, job: BuildJob | None) -> None:
        self.job = job


class _NotHeld(Exception):
    """The job was canceled, or taken by another worker, before its result was stored (nothing was)."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


class _Attempt:
    """The state one attempt shares between its watcher, its progress callback and the runner."""

    def __init__(self, job: BuildJob, executor: Executor | AssistWork) -> None:
        self.job, self.executor = job, executor
        self.stop: str | None = None  # HeartbeatAnswer.CANCEL or .LOST once the build must stop
        #: When progress was last written (the attempt's start until then: a job that ends within the
        #: interval writes none, its end says 100 %).
        self.last_progress = time.monotonic()
        #: The stage last written (None: no progress written yet).
        self.last_stage: str | None = None
        #: When the lease was last renewed (its claim, just before the attempt, until the watcher renews it).
        self.renewed = time.monotonic()


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        scenes: SceneRepository,
        blobs: BlobStore,
        executor: Executor,
        settings: JobSettings,
        owner: str,
        *,
        executors: Mapping[str, Executor] | None = None,
        types: Mapping[str, JobTypeSettings] | None = None,
        cell_cache: dict[str, Any] | None = None,
        assist: AssistWork | None = None,
    ) -> None:
        self.store, self.scenes, self.blobs, self.executor = store, scenes, blobs, executor
        self.settings, self.owner = settings, owner
        self.drafts = draft_repository(store, blobs)
        #: Executors of the other job types (preview, export), and their queue settings.
        self.executors: dict[str, Executor] = dict(executors or {})
        self.types: dict[str, JobTypeSettings] = dict(types or {})
        self.artifacts = ArtifactRepository(store.engine, blobs)
        #: Where builds keep per-cell results (``storage.cellcache.cell_cache_spec``); None: full builds.
        self.cell_cache = cell_cache
        #: Jobs this runner is running, set once ``run_one`` has written and published their end (once every
        #: attempt of the job running here has ended).
        self.active: dict[str, asyncio.Event] = {}
        #: How many attempts of each active job run here (two while one that lost its lease stops).
        self._runs: dict[str, int] = {}
        #: Runs ``assist`` jobs in this event loop (None: no assist job runs here; one that comes fails).
        self.assist = assist
        #: Set by :meth:`closing`: an attempt that ends without its result is handed back, not failed.
        self.stopping = False
        #: Called with a job type when this runner queues a job of it (the embedded pool wakes its loops).
        self.on_queued: Callable[[str], None] | None = None

    @property
    def _renew_every(self) -> float:
        """Seconds between lease renewals: a third of the lease."""
        return max(0.05, self.settings.lease_s / 3)

    def all_executors(self) -> list[Executor]:
        return [self.executor, *self.executors.values()]

    def closing(self) -> None:
        """Shutdown has begun: no executor starts a new run, and the runs in progress are stopped.

        From now on an attempt that ends without its result — its task cancelled, its process killed,
        or any error the stop causes — hands its job back (Queued at once, or Canceled if a cancel was
        asked): the order in which the stop and the task's cancel reach the attempt does not matter, and
        a cancel that Python 3.11 loses on the way cannot leave the build running to its timeout.
        Assist answers are left to their task's cancel (they end as interrupted).
        """
        self.stopping = True
        for executor in self.all_executors():
            executor.closing()
            for job_id in list(self.active):
                executor.cancel(job_id)

    def cancel(self, job_id: str) -> bool:
        """Stop a job running here right away (the watcher would within ``cancel_poll_s``)."""
        stopped = any(executor.cancel(job_id) for executor in self.all_executors())
        return (self.assist is not None and self.assist.cancel(job_id)) or stopped

    async def run_one(self, job: BuildJob) -> BuildJob | None:
        """Run a job this runner has claimed; returns the job as left, or None if it was lost to another worker.

        Returns after the job's end was written and published (on Redis: acknowledged by every instance).
        """
        ended = self.active.setdefault(job.job_id, asyncio.Event())
        self._runs[job.job_id] = self._runs.get(job.job_id, 0) + 1
        try:
            if job.type == "assist":
                return await self._run_assist(job)
            if job.type != "build":
                return await self._run_output(job)
            return await self._run_one(job)
        finally:
            # Listed until the last of its attempts here ends: one that lost its lease may still be stopping
            # while the job runs again here, and the newer one must stay listed (closing stops it).
            left = self._runs.pop(job.job_id) - 1
            if left:
                self._runs[job.job_id] = left
            else:
                self.active.pop(job.job_id, None)
                ended.set()

    async def _execute(self, job: BuildJob, executor: Executor, extra: dict[str, Any]) -> tuple[bytes, Any] | _Ended:
        """One attempt's work on the executor, for every job type: the input blob, the run (the executor
        stops it past the type's timeout) while the watcher renews the lease and looks for a cancel,
        then a last lease check. ``(input, output)``, or the job as the attempt left it."""
        attempt = _Attempt(job, executor)
        async with self._watching(attempt):
            try:
                try:
                    data = await asyncio.to_thread(self.blobs.get, job.description_key or "")
                except NotFound:
                    raise InputGone(await self._gone(job)) from None
                options = {**job.options, **extra}
                if job.type == "build":
                    assets = await asyncio.to_thread(self._assets, data)
                    if assets:
                        options["assets"] = assets
                if attempt.stop is not None:  # stopped while the input was read: never start the work
                    raise BuildCanceled("build canceled")
                output = await executor.run(
                    job.job_id, data, options, lambda s, f: self._progress(attempt, s, f), attempt=job.attempt
                )
            except asyncio.CancelledError:
                await asyncio.shield(self._released(job))
                raise
            except Exception as exc:
                if attempt.stop is not None:  # asked to stop (a cancel) or lost to another worker
                    return _Ended(await self._stopped(attempt))
                if self.stopping:  # ended by the shutdown (killed, or stopped before it began): not a failure
                    return _Ended(await self._released(job))
                if isinstance(exc, BuildCanceled):
                    return _Ended(await self._stopped(attempt))
                return _Ended(await self._failed(job, exc))
        # The lease renewed for storing the result, unless it was within the watcher's period (two thirds of it are
        # left, as during the run). A cancel or a lost lease since is found when the result is stored: the
        # version's transaction checks the job is still held (``_held``), an output's files wait for
        # ``begin_storing``.
        if time.monotonic() - attempt.renewed >= self._renew_every:
            answer = await self.store.heartbeat(job.job_id, self.owner, self.settings.lease_s, attempt=job.attempt)
            if answer != HeartbeatAnswer.OK:
                attempt.stop = answer
                return _Ended(await self._stopped(attempt))
        return data, output

    async def _run_one(self, job: BuildJob) -> BuildJob | None:
        extra = {} if self.cell_cache is None else {"cellCache": self.cell_cache}
        ran = await self._execute(job, self.executor, extra)
        if isinstance(ran, _Ended):
            return ran.job
        data, output = ran
        options = job.options or {}
        publish, rev = bool(options.get("publish", True)), options.get("rev")
        private = None if options.get("private") is None else bool(options["private"])
        try:
            # Stored only while the job is still this attempt's and not canceled, checked in the same transaction:
            # a cancel (DELETE of the scene cancels its jobs first) after the last lease renewal would otherwise
            # be followed by this version, and the deleted scene would be back.
            version = await self.scenes.publish_build(
                output, data, private=private, options=build_options(options) or None, publish=publish, rev=rev,
                guard=partial(self._held, job),
            )  # fmt: skip
            if publish and rev is None:
                await self._record_import(job, data)
        except _NotHeld as stop:
            return None if stop.answer == HeartbeatAnswer.LOST else await self._finish(job, JobStatus.CANCELED)
        except Exception as exc:
            return await self._failed(job, exc)
        built = {"eTag": version.etag, "bytes": version.bytes, "version": version.n, "published": version.published}
        if rev is not None:
            built["rev"] = rev
        result = built | {"warnings": [w.as_dict() for w in output.warnings]}
        done = await self._finish(job, JobStatus.SUCCEEDED, result=result, built=built)
        if done is not None and not version.reused:
            await self.queue_output(job.scene_id, version.n, version.glb_key, "preview", {})
        return done

    def _assets(self, data: bytes) -> dict[str, bytes]:
        """The uploaded assets ``data`` references (blocking); unknown ones are left for the build to report."""
        cap = self.settings.memory_mb * 1024 * 1024 if self.settings.memory_mb else None
        found: dict[str, bytes] = {}
        total = 0
        for match in _ASSET_REF.finditer(data):
            asset_id = match[1].decode()
            if asset_id in found:
                continue
            try:
                found[asset_id] = self.blobs.get(asset_id)
            except NotFound:
                continue
            total += len(found[asset_id])
            if cap is not None and total > cap:
                raise LimitExceeded(MEMORY_SETTING, total, cap, what="the referenced assets (bytes)")
        return found

    async def _gone(self, job: BuildJob) -> str:
        """Why ``job`` has no input: the message of its failure."""
        key = job.description_key
        if job.type == "build":
            return f"the job's description (blob {key}) no longer exists; nothing was built"
        n = (job.options or {}).get("version")
        try:
            await self.scenes.get_scene(job.scene_id)
        except NotFound:
            return f"version v{n} of {job.scene_id!r} no longer exists (its scene was deleted)"
        return f"the GLB of version v{n} of {job.scene_id!r} (blob {key}) no longer exists"

    async def _released(self, job: BuildJob) -> BuildJob | None:
        """This runner is stopping mid-build: hand the job back (Canceled if asked, else Queued at once)."""
        try:
            current = await self.store.get(job.job_id)
            if current.cancel_requested:
                return await self._finish(job, JobStatus.CANCELED)
            error = {"message": "the worker stopped during the build; queued again", "issues": [], "kind": "lost"}
            return await self._finish(job, JobStatus.QUEUED, error=error, retry_in_s=0.0)
        except Exception as exc:  # the lease expires and the sweeper does the same
            log.warning("job %s: could not hand the job back (%s)", job.job_id, exc)
            return None

    async def release(self, job: BuildJob) -> BuildJob | None:
        """Hand back a job this runner claimed but will not run (it is closing): Queued at once, for another worker."""
        return await self._released(job)

    async def queue_output(
        self, scene_id: str, n: int, glb_key: str, kind: str, options: dict[str, Any], *, priority: int | None = None
    ) -> BuildJob | None:
        """Queue a ``preview`` or ``export`` job of version ``n`` (whose GLB is blob ``glb_key``); None when
        that type has no queue here (it is not configured)."""
        cfg = self.types.get(kind)
        if cfg is None:
            return None
        job = await queue_output(self.store, cfg, scene_id, n, glb_key, kind, options, priority=priority)
        if self.on_queued is not None:
            self.on_queued(kind)
        return job

    async def _run_output(self, job: BuildJob) -> BuildJob | None:
        """A preview or export job: its work on the version's GLB in a worker process, its files stored
        as the version's artifacts. A run past the type's ``timeout_s`` is stopped and failed."""
        from .types import CONTENT_TYPES

        executor, cfg = self.executors.get(job.type), self.types.get(job.type)
        if executor is None or cfg is None:
            error = {"message": f"no worker here runs {job.type!r} jobs", "issues": []}
            return await self._finish(job, JobStatus.FAILED, error=error)
        ran = await self._execute(job, executor, {})
        if isinstance(ran, _Ended):
            return ran.job
        output = cast(dict[str, bytes], ran[1])
        n = int((job.options or {})["version"])
        stored = {}
        try:
            # A cancel from here on is refused (409): the files go in place below, and the job ends Succeeded.
            answer = await self.store.begin_storing(job.job_id, self.owner, attempt=job.attempt)
            if answer != HeartbeatAnswer.OK:
                return None if answer == HeartbeatAnswer.LOST else await self._finish(job, JobStatus.CANCELED)
            files = [(name, blob, CONTENT_TYPES.get(name, "application/octet-stream")) for name, blob in output.items()]
            for made in await self.artifacts.put_many(job.scene_id, n, sorted(files)):
                stored[made.name] = {"eTag": made.etag, "bytes": made.bytes}
        except VersionGone as exc:  # would be gone on every retry too
            gone: dict[str, Any] = {"message": str(exc), "issues": [], "attempt": job.attempt, "kind": "error"}
            return await self._finish(job, JobStatus.FAILED, error=gone)
        except Exception as exc:
            return await self._failed(job, exc)
        result = {"version": n, "artifacts": stored}
        return await self._finish(job, JobStatus.SUCCEEDED, result=result)

    async def _run_assist(self, job: BuildJob) -> BuildJob | None:
        """An assist job: the answer runs as a task here while the watcher renews the lease and looks for a
        cancel; one attempt only (a model call is not idempotent). A cancel ends the message ``canceled``
        and the job Canceled; the type's timeout, a lost lease or this runner stopping end it with
        ``error`` — the job Failed (or, lost, left to whoever reclaimed it) and never queued again."""
        from ..storage.assist import AssistRepository

        options = job.options or {}
        message_id, cfg, work = options.get("messageId"), self.types.get("assist"), self.assist
        problem = None
        if work is None or cfg is None:
            problem = ("model_error", "no worker here runs 'assist' jobs")
        elif not isinstance(message_id, str) or not isinstance(options.get("sessionId"), str):
            problem = ("internal", "the assist job names no message (options.messageId, options.sessionId)")
        elif job.attempt > 1:  # an answer is never run twice (its first attempt may have made revisions)
            problem = ("interrupted", INTERRUPTED)
        if problem is not None or work is None or cfg is None:
            code, message = problem or ("internal", "the assist job cannot run")
            if isinstance(message_id, str):
                repo = work.repo if work is not None else AssistRepository(self.store.engine)
                error = {"code": code, "message": message}
                with contextlib.suppress(Exception):
                    await repo.finish(message_id, "error", events=[("error", error)], error=error)
            failure = {"message": message, "issues": [], "kind": code}
            return await self._finish(job, JobStatus.FAILED, error=failure)
        attempt = _Attempt(job, work)
        why: list[tuple[str, str]] = []

        def stopping() -> tuple[str, str] | None:
            if attempt.stop == HeartbeatAnswer.LOST:
                return ("interrupted", INTERRUPTED)
            return why[0] if why else None

        await self.store.progress(job.job_id, self.owner, "assist", 0.0, attempt=job.attempt)
        answer = work.start(job, stopping)
        async with self._watching(attempt):
            try:
                await asyncio.wait({answer}, timeout=cfg.timeout_s)
                if not answer.done():
                    limit = "SCENEFORGE_ASSIST_TIMEOUT_S"
                    why.append(("timeout", f"the answer ran past {cfg.timeout_s:g} s ({limit})"))
                    answer.cancel()
                    await asyncio.wait({answer})
            except asyncio.CancelledError:  # this runner stops: the answer is interrupted, never run again
                why.append(("interrupted", INTERRUPTED))
                answer.cancel()
                await asyncio.shield(self._assist_released(job, answer))
                raise
        if attempt.stop == HeartbeatAnswer.LOST:
            return None  # reclaimed: its message ended as interrupted, the job is whoever reclaimed it's
        if answer.cancelled():
            status = "error" if why else "canceled"
        elif answer.exception() is not None:
            log.error("assist job %s failed", job.job_id, exc_info=answer.exception())
            await work.end(str(message_id), "internal", f"the assist job failed: {type(answer.exception()).__name__}")
            status = "error"
        else:
            status = answer.result()
        return await self._assist_finished(job, status, stopped=bool(why) and why[0][0] == "timeout")

    async def _assist_finished(self, job: BuildJob, status: str, *, stopped: bool = False) -> BuildJob | None:
        """The job's end from its answer's (``done``, ``canceled``, ``error``: the message says why); ``stopped``:
        this runner stopped the answer at the type's timeout."""
        assert self.assist is not None
        options = job.options or {}
        if status == "done":
            result = {"messageId": options["messageId"], "sessionId": options["sessionId"]}
            return await self._finish(job, JobStatus.SUCCEEDED, result=result)
        if status == "canceled":
            return await self._finish(job, JobStatus.CANCELED)
        row: dict[str, Any] = {}
        with contextlib.suppress(Exception):
            row = await self.assist.repo.message(str(options["messageId"]))
        error = row.get("error") or {}
        failure = {
            "message": error.get("message", "the assist job failed"),
            "issues": [],
            "kind": error.get("code", "error"),
        }
        if error.get("code") == "timeout":  # the whole answer's time, or else one request's to the endpoint
            failure["limit"] = "SCENEFORGE_ASSIST_TIMEOUT_S" if stopped else "SCENEFORGE_LLM_TIMEOUT_S"
        return await self._finish(job, JobStatus.FAILED, error=failure)

    async def _assist_released(self, job: BuildJob, answer: asyncio.Task[str]) -> None:
        """This runner is stopping mid-answer: once the answer has ended its message, the job fails (never requeued)."""
        try:
            await asyncio.wait({answer})
            failure = {"message": INTERRUPTED, "issues": [], "kind": "interrupted"}
            await self._finish(job, JobStatus.FAILED, error=failure)
        except Exception as exc:  # the lease expires; the sweeper fails the job and ends the message
            log.warning("assist job %s: could not record its end (%s)", job.job_id, exc)

    async def _record_import(self, job: BuildJob, data: bytes) -> None:
        """A build published from outside the draft becomes an ``import`` revision, so history is complete."""
        from ..glb_magic import is_glb

        if is_glb(data):
            return
        description = json.loads(data)
        author = str((job.options or {}).get("author") or "import")
        with contextlib.suppress(NotFound):  # the scene was deleted since its version was stored: no draft for it
            await self.drafts.record_import(
                job.scene_id, description, author=author, reason=f"built by job {job.job_id}", scene_exists=True
            )

    async def _held(self, job: BuildJob, conn: Any) -> None:
        """:class:`_NotHeld` unless this attempt still holds ``job`` and no cancel was asked (in ``conn``'s
        transaction, which the job's row then waits for on PostgreSQL: :meth:`JobStore.held`); then the job is
        marked as storing its result in that transaction (:meth:`JobStore.storing`)."""
        answer = await self.store.held(conn, job.job_id, self.owner, attempt=job.attempt)
        if answer != HeartbeatAnswer.OK:
            raise _NotHeld(answer)
        await self.store.storing(conn, job.job_id)  # a cancel after this commit is refused: the version is there

    async def _finish(self, job: BuildJob, status: JobStatus, **end: Any) -> BuildJob | None:
        """End this runner's attempt ``job.attempt`` of the job (None if the job is not that attempt's any more)."""
        return await self.store.finish(job.job_id, self.owner, status, attempt=job.attempt, **end)

    async def _stopped(self, attempt: _Attempt) -> BuildJob | None:
        if attempt.stop == HeartbeatAnswer.LOST:
            return None
        return await self._finish(attempt.job, JobStatus.CANCELED)

    async def _failed(self, job: BuildJob, exc: BaseException) -> BuildJob | None:
        exc = database_fault(exc) or exc  # the database failing while the result was stored: said as the API says it
        issues = [i.as_dict() for i in getattr(exc, "issues", [])]
        error: dict[str, Any] = {"message": str(exc), "issues": issues, "attempt": job.attempt, "kind": error_kind(exc)}
        if isinstance(exc, LimitExceeded):
            error["limit"] = exc.limit
        if store_failed(exc):  # what failed, as the API says it
            error |= {"message": exc.public or str(exc), "code": exc.code}
        if is_permanent(exc) or isinstance(exc, InputGone) or job.attempt >= job.max_attempts:
            return await self._finish(job, JobStatus.FAILED, error=error)
        delay = backoff_s(job.attempt, self.settings.retry_base_s)
        log.warning("job %s attempt %d failed (%s); retry in %.1fs", job.job_id, job.attempt, exc, delay)
        return await self._finish(job, JobStatus.QUEUED, error=error, retry_in_s=delay)

    async def _progress(self, attempt: _Attempt, stage: str, fraction: float) -> None:
        """Written at most once a ``progress_interval_s`` (from the attempt's start), and at 100 % once any was."""
        now = time.monotonic()
        soon = now - attempt.last_progress < self.settings.progress_interval_s
        if soon and (stage == attempt.last_stage or fraction < 1.0 or attempt.last_stage is None):
            return
        attempt.last_progress, attempt.last_stage = now, stage
        await self.store.progress(attempt.job.job_id, self.owner, stage, fraction * 100.0, attempt=attempt.job.attempt)

    @contextlib.asynccontextmanager
    async def _watching(self, attempt: _Attempt) -> AsyncIterator[None]:
        """:meth:`_watch` runs beside the block, and is stopped when it ends."""
        watcher = asyncio.create_task(self._watch(attempt))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _watch(self, attempt: _Attempt) -> None:
        """Renew the lease every third of it; check for a cancel every ``cancel_poll_s``; once the attempt
        must stop, ask its executor to stop it until the attempt ends (the block stops this task)."""
        job_id, number = attempt.job.job_id, attempt.job.attempt
        while True:
            await asyncio.sleep(self.settings.cancel_poll_s)
            try:
                if time.monotonic() - attempt.renewed >= self._renew_every:
                    answer = await self.store.heartbeat(job_id, self.owner, self.settings.lease_s, attempt=number)
                    attempt.renewed = time.monotonic()
                else:
                    flagged = await self.store.cancel_requested([job_id])
                    answer = HeartbeatAnswer.CANCEL if flagged else HeartbeatAnswer.OK
                if answer == HeartbeatAnswer.CANCEL:
                    # Not Running any more without our doing, or running another attempt: the lease was reclaimed.
                    # Read in the guard too: a failed read is tried again, never the end of the watcher (the
                    # cancel would never reach the build, and the lease would no longer be renewed).
                    current = await self.store.get(job_id)
                    ours = current.lease_owner == self.owner and current.attempt == number
                    if current.status is not JobStatus.RUNNING or not ours:
                        answer = HeartbeatAnswer.LOST
            except Exception as exc:
                log.warning("job %s: lease renewal failed (%s)", job_id, exc)
                continue
            if answer != HeartbeatAnswer.OK:
                attempt.stop = answer
                break
        # Asked again and again: a stop can come while the input is still read, before the executor has the
        # job (a single ask would find nothing to stop, and the build would then run on, lease unrenewed).
        while True:
            # This attempt only: the job may already run again here (its lease was lost, the job claimed anew).
            attempt.executor.cancel(job_id, attempt.job.attempt)  # the executor running this job's type; idempotent
            await asyncio.sleep(self.settings.cancel_poll_s)
