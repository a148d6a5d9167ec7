"""Races of the data lifecycle on SQLite and PostgreSQL: a scene deleted while a draft write, a build's
publish or a preview's files commit; each one is made to land in the middle of the other (the window is
widened by a hook that runs the competing write there and waits until it either committed or is blocked)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from sceneforge.errors import BuildCanceled, NotFound
from sceneforge.events.log import EventLog
from sceneforge.jobs.store import HeartbeatAnswer, JobStore
from sceneforge.storage import FileBlobStore, SceneRepository
from sceneforge.storage import scenes as scenes_module
from sceneforge.storage.artifacts import ArtifactRepository, VersionGone
from sceneforge.storage.drafts import DraftRepository, canonical_json
from sceneforge.storage.gc import collect
from tests.storage.conftest import fake_build


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


async def _committed_or_blocked(engine: Any, task: asyncio.Task[Any]) -> None:
    """Wait until ``task`` ended, or until some session of the database waits for a lock (the task's write,
    held back by the transaction that runs this)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with engine.connect() as conn:
        while not task.done():
            if (await conn.execute(query)).scalar():
                return
            await conn.rollback()
            await asyncio.sleep(0.01)


def _during_delete(monkeypatch: pytest.MonkeyPatch, engine: Any, write: Any) -> list[asyncio.Task[Any]]:
    """Run ``write()`` once the delete has read what it retires and releases, before its rows go."""
    original, started = scenes_module._retire_numbers, []

    async def racing(conn: Any, scene_id: str) -> None:
        await original(conn, scene_id)
        if not started:
            started.append(asyncio.create_task(write()))
            await _committed_or_blocked(engine, started[0])

    monkeypatch.setattr(scenes_module, "_retire_numbers", racing)
    return started


async def _outcome(task: asyncio.Task[Any]) -> Any:
    try:
        return await task
    except NotFound:
        return None


async def test_a_revision_committed_while_its_scene_is_deleted_is_never_numbered_again(
    pg_engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patch commits rev 2 while the delete runs: its number must be retired with the scene, or the scene made
    again starts at rev 2 and an ``If-Match: "rev-2"`` a client kept from the patch names the new draft."""
    engine = pg_engine
    drafts, scenes = DraftRepository(engine, blobs), SceneRepository(engine, blobs)
    await drafts.create("hq", {"sceneId": "hq", "name": "first"}, author="ana")
    ops = [{"op": "replace", "path": "/name", "value": "patched"}]
    started = _during_delete(monkeypatch, engine, lambda: drafts.patch("hq", ops, author="ben"))

    await scenes.delete_scene("hq")
    patched = await _outcome(started[0])
    monkeypatch.undo()

    handed_out = 1 if patched is None else patched[0].rev
    again, _ = await drafts.create("hq", {"sceneId": "hq", "name": "again"}, author="cy")
    assert again.rev > handed_out


async def test_a_version_committed_while_its_scene_is_deleted_is_never_numbered_again(
    pg_engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A draft build records v2 while the delete runs: ``@v2`` is served as immutable, so the scene made again
    must not number a version 2 of its own, and v2's GLB must not stay behind unnamed."""
    engine = pg_engine
    scenes = SceneRepository(engine, blobs)
    first = await scenes.publish_build(fake_build("hq", b"v1"), None)
    build = fake_build("hq", b"v2, built while the scene was deleted")
    started = _during_delete(monkeypatch, engine, lambda: scenes.publish_build(build, None, publish=False, rev=2))

    await scenes.delete_scene("hq")
    built = await _outcome(started[0])
    monkeypatch.undo()

    handed = {1: first.etag} | ({} if built is None else {built.n: built.etag})
    again = await scenes.publish_build(fake_build("hq", b"made again"), None)
    assert again.n not in handed
    if built is not None:  # kept with the scene (then its GLB is stored) or gone with it (then so are its bytes)
        kept = built.n in {v.n for v in await scenes.versions("hq")}
        assert blobs.exists(built.glb_key) == kept


def _pause_after(engine: Any, statement: str, hit: Any, *, before: bool = False) -> None:
    """Once a statement containing ``statement`` ran (its locks taken, its transaction still open), or just
    before it runs with ``before``, await ``hit()`` before the transaction goes on."""
    from sqlalchemy import event
    from sqlalchemy.util import await_only

    fired: list[bool] = []

    def listener(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if statement in sql and not fired:
            fired.append(True)
            await_only(hit())

    event.listen(engine.sync_engine, "before_cursor_execute" if before else "after_cursor_execute", listener)


async def test_a_rollback_racing_the_delete_of_its_scene_ends_in_either_order_never_a_deadlock(
    pg_engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The publish holds its version's row when the delete, holding the scene's, reaches the versions: were
    the publish to lock the scene only then, each would wait for the other."""
    engine = pg_engine
    scenes = SceneRepository(engine, blobs)
    await scenes.publish_build(fake_build("hq", b"v1"), None)
    await scenes.publish_build(fake_build("hq", b"v2"), None)
    deleting: list[asyncio.Task[Any]] = []

    async def delete_now() -> None:
        deleting.append(asyncio.create_task(scenes.delete_scene("hq")))
        await _committed_or_blocked(engine, deleting[0])

    _pause_after(engine, "FROM versions", delete_now)
    published = await _outcome(asyncio.ensure_future(scenes.publish("hq", 1)))
    await deleting[0]
    assert published is None or published.n == 1
    with pytest.raises(NotFound):
        await scenes.get_scene("hq")


async def test_a_preview_stored_again_while_its_scene_is_deleted_ends_in_either_order_never_a_deadlock(
    pg_engine: Any, blobs: FileBlobStore
) -> None:
    """A preview job run again replaces its file (the old row deleted, locked) when the delete of the scene,
    holding the scene's row, reaches the artifacts: the new row's reference to the scene then waited for the
    delete, which waited for the old row."""
    engine = pg_engine
    scenes, files = SceneRepository(engine, blobs), ArtifactRepository(engine, blobs)
    await scenes.publish_build(fake_build("hq", b"v1"), None)
    first = await files.put("hq", 1, "preview/thumbnail.png", b"first thumbnail", "image/png")
    deleting: list[asyncio.Task[Any]] = []

    async def delete_now() -> None:
        deleting.append(asyncio.create_task(scenes.delete_scene("hq")))
        await _committed_or_blocked(engine, deleting[0])

    _pause_after(engine, "DELETE FROM artifacts", delete_now)
    try:
        stored = await files.put("hq", 1, "preview/thumbnail.png", b"second thumbnail", "image/png")
    except VersionGone:
        stored = None
    await deleting[0]
    with pytest.raises(NotFound):
        await scenes.get_scene("hq")
    assert not blobs.exists(first.blob_key)
    assert stored is None or not blobs.exists(stored.blob_key)


async def _running_job(engine: Any) -> tuple[JobStore, Any]:
    store = JobStore(engine, EventLog(engine))
    await store.create("j1", "hq", description_key=None)
    job = await store.claim("worker", 60.0, types=("build",))
    assert job is not None and job.job_id == "j1"
    return store, job


def _guard(store: JobStore, job: Any) -> Any:
    async def guard(conn: Any) -> None:
        answer = await store.held(conn, job.job_id, "worker", attempt=job.attempt)
        if answer != HeartbeatAnswer.OK:
            raise BuildCanceled(answer)

    return guard


async def test_a_build_canceled_before_its_version_is_stored_stores_nothing(engine: Any, blobs: FileBlobStore) -> None:
    """DELETE of a scene cancels its running build first: the version the build then stores must not make the
    scene again."""
    store, job = await _running_job(engine)
    await store.request_cancel(job.job_id)
    scenes = SceneRepository(engine, blobs)
    with pytest.raises(BuildCanceled):
        await scenes.publish_build(fake_build("hq", b"v1"), None, guard=_guard(store, job))
    with pytest.raises(NotFound):
        await scenes.get_scene("hq")


async def test_a_cancel_asked_while_a_version_is_stored_waits_for_it(pg_engine: Any, blobs: FileBlobStore) -> None:
    """A cancel that returns has either stopped the version or come after it: never a cancel answered while the
    version commits after it (the delete that follows the cancel would then miss it)."""
    engine = pg_engine
    store, job = await _running_job(engine)
    canceling: list[asyncio.Task[Any]] = []
    answered_first: list[bool] = []

    async def cancel_now() -> None:
        canceling.append(asyncio.create_task(store.request_cancel(job.job_id)))
        await _committed_or_blocked(engine, canceling[0])
        answered_first.append(canceling[0].done())

    _pause_after(engine, "FROM jobs", cancel_now)
    scenes = SceneRepository(engine, blobs)
    version = await scenes.publish_build(fake_build("hq", b"v1"), None, guard=_guard(store, job))
    await canceling[0]
    assert answered_first == [False] and version.n == 1


async def test_retention_racing_a_patch_keeps_the_patch_on_the_undo_stack(
    pg_engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retention cuts a long undo stack while a patch commits: the stack it writes back must be cut from the
    draft as the patch left it, or the patch can no longer be undone (undo would revert the change before it).
    (On SQLite the patch cannot commit meanwhile: retention's transaction holds the write lock.)"""
    engine = pg_engine
    drafts = DraftRepository(engine, blobs)
    await drafts.create("hq", {"sceneId": "hq", "n": 0}, author="ana")
    for n in range(1, 5):
        await drafts.patch("hq", [{"op": "replace", "path": "/n", "value": n}], author="ana")  # revs 2-5
    patching: list[asyncio.Task[Any]] = []

    async def patch_now() -> None:
        patching.append(
            asyncio.create_task(drafts.patch("hq", [{"op": "replace", "path": "/n", "value": 5}], author="ben"))
        )
        await _committed_or_blocked(engine, patching[0])

    _pause_after(engine, "UPDATE drafts SET undo", patch_now, before=True)
    await drafts.prune(keep=2)
    await patching[0]
    assert (await drafts.get("hq")).description["n"] == 5
    undone, _ = await drafts.undo("hq", author="ana")
    assert undone.description["n"] == 4  # the patch undone, not the one before it


@pytest.mark.parametrize("delete_lands", ["before the draft's row", "while the delete runs"])
async def test_a_draft_from_a_version_racing_the_delete_of_its_scene_leaves_nothing(
    pg_engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch, delete_lands: str
) -> None:
    """A draft made from a version's description (read before) and the delete of the scene, each landing in the
    other's transaction: the draft is either seen and removed by the delete or refused (the version gone); never
    a scene made again holding a draft of the deleted one, nor its snapshot left behind."""
    engine = pg_engine
    drafts, scenes = DraftRepository(engine, blobs), SceneRepository(engine, blobs)
    description = {"sceneId": "hq", "name": "published"}
    await scenes.publish_build(fake_build("hq", b"v1"), canonical_json(description))

    def create() -> Any:
        return drafts.create("hq", {**description, "name": "from v1"}, author="ana", from_version=1)

    if delete_lands == "while the delete runs":
        started = _during_delete(monkeypatch, engine, create)
        await scenes.delete_scene("hq")
        await _outcome(started[0])
    else:
        deleting: list[asyncio.Task[Any]] = []

        async def delete_now() -> None:
            deleting.append(asyncio.create_task(scenes.delete_scene("hq")))
            await _committed_or_blocked(engine, deleting[0])

        _pause_after(engine, "INSERT INTO drafts", delete_now, before=True)
        with pytest.raises(NotFound, match="v1 of 'hq' no longer exists"):
            await create()
        await deleting[0]
    with pytest.raises(NotFound):
        await scenes.get_scene("hq")
    with pytest.raises(NotFound):
        await drafts.get("hq")
    assert (await collect(engine, blobs, dry_run=True, grace=timedelta(0))).orphans == []
