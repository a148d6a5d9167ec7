"""The ``assist`` job type: one assistant answer to an assisted-edit message (docs/assist.md, docs/jobs.md).

``POST /scenes/{id}/assist`` records the user's message and a queued assistant message and queues
an ``assist`` job (:func:`queue_assist`). Like every type it is claimed from its own queue — the
embedded pool's ``assist`` lanes (``assist.concurrency``) or a Celery worker started with
``--queues assist`` — and :meth:`JobRunner.run_one <.runner.JobRunner.run_one>` runs it with
:class:`AssistWork`: :func:`~sceneforge.assist.runner.run_assist` as a task of the claiming
process's event loop (the work waits on the model; no worker process), while the runner's watcher
renews the lease and looks for a cancel. Settings: ``Settings.assist`` (``SCENEFORGE_ASSIST_*``:
concurrency, priority, timeout, retention) for the queue, ``Settings.llm`` for the model.

One attempt only (``assist.max_attempts`` accepts 1): a model call is not idempotent, so a cancel
ends the message ``canceled``, and a timeout, a lost lease or a stopping worker end it with
``error`` — the job never runs again into a second set of revisions. Edits are checked by
:func:`check_draft`, as a user's edits are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ..assist.runner import AssistContext, AssistJob, make_client, model_name, run_assist
from ..compile import BuildOptions, Progress, check_scene
from ..config import Limits
from ..errors import AssetError, BuildCanceled, Issue, NotFound, SceneInvalid
from ..settings import JobTypeSettings, Settings
from ..storage.assist import AssistRepository, Turn
from ..storage.blobs import BlobStore, check_key
from ..storage.drafts import DraftRepository, canonical_json
from .jobtype import JobType
from .states import BuildJob
from .store import JobStore

__all__ = ["JOB", "AssistWork", "Stopping", "blob_resolver", "check_draft", "draft_validator", "queue_assist"]

log = logging.getLogger(__name__)

#: Why an answer is being stopped when it is not the user's cancel: ``(code, message)``, else None.
Stopping = Callable[[], tuple[str, str] | None]
#: ``validate(scene_id)`` → the async check of a resulting description (raises SceneInvalid).
Validator = Callable[[str], Callable[[dict[str, Any]], Awaitable[None]]]


def blob_resolver(blobs: BlobStore) -> Callable[[str], bytes]:
    """``asset:<id>`` → the uploaded bytes (for checks of a description, never builds)."""

    def resolve(asset_id: str) -> bytes:
        try:
            return blobs.get(check_key(asset_id))
        except NotFound:
            raise AssetError("", f"asset {asset_id!r} has not been uploaded", code="asset_not_found") from None

    return resolve


def check_draft(
    description: dict[str, Any],
    scene_id: str,
    limits: Limits,
    resolve: Callable[[str], bytes],
    *,
    progress: Progress | None = None,
) -> None:
    """The check of a draft's resulting description (blocking): it keeps its scene id and it builds. ``progress`` is
    called between the check's stages (what it raises, such as ``BuildCanceled``, stops it)."""
    if description.get("sceneId") != scene_id:
        message = f"the draft of scene {scene_id!r} must keep sceneId {scene_id!r}"
        raise SceneInvalid([Issue("/sceneId", "scene_id_mismatch", message)])
    # Sized as its snapshot text, which a draft build is given: json.dumps' default ", ", ": " and \u escapes had made
    # it up to a third larger, so a description a build takes was refused as a draft past SCENEFORGE_MAX_BODY_BYTES
    options = BuildOptions(pvs=False, limits=limits)
    step = progress or (lambda stage, fraction: None)
    check_scene(canonical_json(description), options, resolve_asset=resolve, progress=step)


def draft_validator(limits: Limits, blobs: BlobStore) -> Validator:
    """:func:`check_draft` under ``limits`` with ``blobs``' assets, run in a worker thread, stopped at its next stage
    when the answer is canceled: a thread takes no cancel, so the check of an answer canceled meanwhile ran to the end
    (seconds of CPU and hundreds of MB for a large scene)."""
    resolve = blob_resolver(blobs)

    def validator(scene_id: str) -> Callable[[dict[str, Any]], Awaitable[None]]:
        async def validate(description: dict[str, Any]) -> None:
            stop = threading.Event()

            def progress(stage: str, fraction: float) -> None:
                if stop.is_set():
                    raise BuildCanceled(f"the answer was canceled during the {stage} stage of its patch's check")

            try:
                await asyncio.to_thread(check_draft, description, scene_id, limits, resolve, progress=progress)
            except asyncio.CancelledError:
                stop.set()
                raise

        return validate

    return validator


async def queue_assist(
    store: JobStore,
    repo: AssistRepository,
    settings: Settings,
    scene_id: str,
    text: str,
    *,
    author: str,
    session_id: str | None = None,
) -> tuple[Turn, BuildJob]:
    """Record the user's message and a queued assistant message, then queue the job answering it.

    The message (with its ``status: queued`` event) is written first: a job never exists without
    its message, and a message whose job row has not arrived yet is left alone for a grace period.
    """
    job_id = uuid.uuid4().hex
    turn = await repo.start_turn(
        scene_id, session_id, author=author, text=text, model=model_name(settings.llm), job_id=job_id
    )
    cfg: JobTypeSettings = settings.assist
    job = await store.create(
        job_id,
        scene_id,
        description_key=None,
        priority=cfg.priority,
        max_attempts=1,
        options={"sessionId": turn.session_id, "messageId": turn.message_id},
        type="assist",
    )
    return turn, job


class AssistWork:
    """Runs assist jobs in this process's event loop, one task each; a cancel stops the task at once.

    ``listeners`` are told the id of a message whose events were just written (the streams of this
    process wake on it; streams elsewhere read the store).
    """

    def __init__(
        self,
        repo: AssistRepository,
        drafts: DraftRepository,
        settings: Settings,
        validator: Validator,
        *,
        client: Any = None,
    ) -> None:
        self.repo, self.drafts, self.settings, self.validator = repo, drafts, settings, validator
        #: An ``openai.AsyncOpenAI``-shaped client; when None one is made here, now — importing the SDK
        #: takes a while, which must not eat into a claimed job's lease — and closed by :meth:`close`.
        self._own_client = client is None
        self.client = make_client(settings.llm) if client is None and self.configured else client
        self.listeners: list[Callable[[str], None]] = []
        self.tasks: dict[str, asyncio.Task[str]] = {}
        #: Answers already asked to stop (see :meth:`cancel`).
        self._canceled: set[str] = set()

    @property
    def configured(self) -> bool:
        return bool(self.settings.llm.base_url)

    def notify(self, message_id: str) -> None:
        for listener in list(self.listeners):
            listener(message_id)

    def start(self, job: BuildJob, stopping: Stopping) -> asyncio.Task[str]:
        """Start answering the message of ``job`` (its ``options``: ``sessionId``, ``messageId``)."""
        options = job.options or {}
        answer = AssistJob(job.job_id, job.scene_id, str(options["sessionId"]), str(options["messageId"]))
        if self.configured:  # one client (one connection pool) for every answer of this process
            ctx = AssistContext(
                self.repo, self.drafts, self.settings.llm, self.validator, self.notify, self.client, stopping
            )
            work: Awaitable[str] = run_assist(answer, ctx)
        else:
            work = self._not_configured(answer)
        task = asyncio.ensure_future(work)
        self.tasks[job.job_id] = task

        def ended(_: object) -> None:
            self.tasks.pop(job.job_id, None)
            self._canceled.discard(job.job_id)

        task.add_done_callback(ended)
        return task

    async def _not_configured(self, job: AssistJob) -> str:
        message = "no language model is configured on the worker that took this job (SCENEFORGE_LLM_BASE_URL)"
        error = {"code": "model_error", "message": message}
        await self.repo.finish(job.message_id, "error", events=[("error", error)], error=error)
        self.notify(job.message_id)
        return "error"

    async def end(self, message_id: str, code: str, message: str) -> None:
        """End an active message with ``error`` (``code``, ``message``) — nothing to answer it runs."""
        error = {"code": code, "message": message}
        with contextlib.suppress(Exception):
            if await self.repo.finish(message_id, "error", events=[("error", error)], error=error):
                self.notify(message_id)

    def cancel(self, job_id: str, attempt: int | None = None) -> bool:
        """Stop the answer of ``job_id`` now (its message ends as the stop's reason says); False if not here.
        An assist job runs one attempt only, so ``attempt`` names no other run.

        Once only: the cancel endpoint and the runner's watcher both ask, and a second cancel would
        land in the answer's own clean-up (its last writes), cutting a database transaction halfway."""
        task = self.tasks.get(job_id)
        if task is None or task.done():
            return False
        if job_id not in self._canceled:
            self._canceled.add(job_id)
            task.cancel()
        return True

    async def close(self) -> None:
        if self.client is not None and self._own_client:
            await self.client.close()
            self.client = None


JOB = JobType("assist", "a language model's assisted edit of a draft (docs/assist.md)", None, lambda s: s.assist)
