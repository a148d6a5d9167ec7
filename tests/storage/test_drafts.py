"""Drafts and revisions on SQLite and PostgreSQL: patch, If-Match, undo/redo, imports, races, retention."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text, update
from sqlalchemy.exc import DBAPIError

from sceneforge.errors import Issue, NotFound, SceneInvalid, StorageError
from sceneforge.storage import FileBlobStore, draft_reads, draft_turns
from sceneforge.storage import drafts as drafts_module
from sceneforge.storage.drafts import (
    DraftConflict,
    DraftRepository,
    PatchFailed,
    StaleRevision,
    apply_patch,
    canonical_json,
)
from sceneforge.storage.tables import drafts
from tests.scenes import TWO_ROOMS, scene


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
def repo(engine: Any, blobs: FileBlobStore) -> DraftRepository:
    return DraftRepository(engine, blobs)


def _no_negative_rooms(description: dict[str, Any]) -> None:
    for i, cell in enumerate(description.get("cells", [])):
        room = cell.get("room", {})
        if "max" in room and room["max"][0] <= room["min"][0]:
            raise SceneInvalid([Issue(f"/cells/{i}/room/max/0", "room_empty", "max must exceed min")])


async def test_drafts_create_patch_history(repo: DraftRepository) -> None:
    draft, rev = await repo.create("two-rooms", TWO_ROOMS, author="ana", reason="start")
    assert (draft.rev, rev.rev, rev.parent_rev, rev.source, rev.author) == (1, 1, None, "user", "ana")
    ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
    draft, rev = await repo.patch("two-rooms", ops, author="ben", reason="wider kitchen", if_match=1)
    assert draft.rev == 2 and draft.description["cells"][1]["room"]["max"][0] == 10
    assert (rev.parent_rev, rev.ops, rev.reason, rev.author) == (1, ops, "wider kitchen", "ben")
    listed = await repo.revisions("two-rooms")
    assert [r.rev for r in listed] == [2, 1]
    revision, before, after = await repo.revision("two-rooms", 2)
    assert before == TWO_ROOMS and after == draft.description and revision.author == "ben"
    assert (await repo.get("two-rooms")).description == draft.description


async def test_drafts_revisions_page_stops_at_its_byte_bound_and_goes_on_before(repo: DraftRepository) -> None:
    """A page of revisions holds the newest ones until their stored ops pass ``max_bytes`` (one at least), and
    ``before`` goes on where it stopped; on every database (one query, a running sum over the rows)."""
    await repo.create("two-rooms", TWO_ROOMS, author="ana")
    for k in range(4):
        ops = [{"op": "add", "path": f"/props/p{k}", "value": "x" * 1000}]
        await repo.patch("two-rooms", ops, author="ana")
    sizes = [len(json.dumps(r.ops)) for r in await repo.revisions("two-rooms")]
    assert min(sizes[:4]) > 1000
    page, more = await repo.revisions_page("two-rooms", 10, max_bytes=2500)
    assert [r.rev for r in page] == [5, 4, 3] and more  # 2,000-odd bytes before the third: under the bound
    page, more = await repo.revisions_page("two-rooms", 10, before=3, max_bytes=2500)
    assert [r.rev for r in page] == [2, 1] and not more
    page, more = await repo.revisions_page("two-rooms", 10, max_bytes=1)
    assert [r.rev for r in page] == [5] and more
    page, more = await repo.revisions_page("two-rooms", 2, before=5, max_bytes=None)
    assert [r.rev for r in page] == [4, 3] and more


async def test_drafts_author_and_reason_are_stored_as_plain_text(repo: DraftRepository) -> None:
    """A NUL (PostgreSQL refuses it in text), a line break (U+2028 and U+2029 too) or a lone surrogate (not UTF-8)
    in a reason or an author — a JWT subject, a model's tool call — is stored as a space, on every path that writes
    one."""
    odd = "a\x00b\nc\ud800d\x85e\u2028f\u2029g"
    plain = "a b c d e f g"
    draft, rev = await repo.create("two-rooms", TWO_ROOMS, author=odd, reason=odd)
    assert (rev.author, rev.reason, draft.author) == (plain,) * 3
    ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
    _, rev = await repo.patch("two-rooms", ops, author=odd, reason="  \x00 ", if_match=1)
    assert (rev.author, rev.reason) == (plain, None)
    _, rev = await repo.undo("two-rooms", author="ana", reason=odd)
    assert rev.reason == plain
    assert [(r.author, r.reason) for r in await repo.revisions("two-rooms")][-1] == (plain, plain)


async def test_drafts_create_twice_conflicts_unless_replace(repo: DraftRepository) -> None:
    await repo.create("s", TWO_ROOMS, author="a")
    with pytest.raises(DraftConflict):
        await repo.create("s", TWO_ROOMS, author="a")
    changed = scene(TWO_ROOMS, props={"v": "2"})
    draft, rev = await repo.create("s", changed, author="a", replace=True)
    assert draft.rev == 2 and draft.description == changed
    assert apply_patch(TWO_ROOMS, rev.ops) == changed


async def test_drafts_if_match_stale_is_refused(repo: DraftRepository) -> None:
    await repo.create("s", TWO_ROOMS, author="a")
    await repo.patch("s", [{"op": "add", "path": "/props/x", "value": "1"}], author="a", if_match=1)
    with pytest.raises(StaleRevision) as err:
        await repo.patch("s", [{"op": "add", "path": "/props/y", "value": "1"}], author="b", if_match=1)
    assert (err.value.expected, err.value.current) == (1, 2)
    assert "y" not in (await repo.get("s")).description["props"]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


async def test_drafts_invalid_result_writes_nothing(repo: DraftRepository, tmp_path: Path) -> None:
    await repo.create("s", TWO_ROOMS, author="a")
    before = _files(tmp_path / "blobs")
    with pytest.raises(SceneInvalid) as err:
        await repo.patch("s", [{"op": "replace", "path": "/cells/0/room/max/0", "value": -1}], author="a",
                         validate=_no_negative_rooms)  # fmt: skip
    assert err.value.issues[0].path == "/cells/0/room/max/0"
    assert (await repo.get("s")).rev == 1 and await repo.count("s") == 1
    assert _files(tmp_path / "blobs") == before


@pytest.mark.parametrize(
    ("ops", "pointer"),
    [
        ({"op": "add"}, ""),
        ([{"op": "frobnicate", "path": "/props"}], "/0/op"),
        ([{"op": "add", "path": "/props/a", "value": 1}, {"op": "remove", "path": "/nope/x"}], "/1/path"),
        ([{"op": "replace", "path": 5, "value": 1}], "/0/path"),
        ([{"op": "add", "path": "/cells/zz", "value": 1}], "/0/path"),
        (["not an object"], "/0"),
        ([{"op": "move", "path": "/a"}], "/0/from"),
    ],
)
async def test_drafts_malformed_patch_names_the_op(repo: DraftRepository, ops: Any, pointer: str) -> None:
    await repo.create("s", TWO_ROOMS, author="a")
    with pytest.raises(SceneInvalid) as err:
        await repo.patch("s", ops, author="a")
    assert err.value.issues[0].path == pointer
    assert (await repo.get("s")).rev == 1


async def test_drafts_failed_test_op(repo: DraftRepository) -> None:
    await repo.create("s", TWO_ROOMS, author="a")
    with pytest.raises(PatchFailed) as err:
        await repo.patch("s", [{"op": "test", "path": "/sceneId", "value": "other"}], author="a")
    assert "is not equal to the tested value" in err.value.issues[0].message


async def test_drafts_test_op_on_a_member_not_there_says_it_names_no_value(repo: DraftRepository) -> None:
    """A test of a member the description does not have fails as a test (409), saying there is no value
    there rather than that some value differs."""
    await repo.create("s", TWO_ROOMS, author="a")
    for path in ("/nothing", "/cells/0/nothing"):
        with pytest.raises(PatchFailed) as err:
            await repo.patch("s", [{"op": "test", "path": path, "value": 1}], author="a")
        issue = err.value.issues[0]
        assert (issue.path, issue.code) == ("/0", "patch_test_failed")
        assert f"path {path!r}: names no value" in issue.message, issue.message
    assert (await repo.get("s")).rev == 1


async def test_drafts_missing(repo: DraftRepository) -> None:
    with pytest.raises(NotFound):
        await repo.get("nope")
    with pytest.raises(NotFound):
        await repo.patch("nope", [], author="a")


async def test_drafts_undo_redo_stack(repo: DraftRepository) -> None:
    await repo.create("s", TWO_ROOMS, author="a")
    one = (await repo.patch("s", [{"op": "add", "path": "/props/n", "value": "1"}], author="a"))[0].description
    two = (await repo.patch("s", [{"op": "replace", "path": "/props/n", "value": "2"}], author="a"))[0].description
    d, r = await repo.undo("s", author="b")
    assert d.description == one and r.source == "undo" and d.rev == 4 and d.can_redo
    d, r = await repo.undo("s", author="b")
    assert d.description == TWO_ROOMS and not d.can_undo
    with pytest.raises(DraftConflict):
        await repo.undo("s", author="b")
    d, r = await repo.redo("s", author="b")
    assert d.description == one and r.source == "redo"
    d, _ = await repo.redo("s", author="b")
    assert d.description == two and not d.can_redo
    d, _ = await repo.undo("s", author="b")
    assert d.description == one
    # A new edit clears redo.
    d, _ = await repo.patch("s", [{"op": "add", "path": "/props/m", "value": "x"}], author="a")
    assert not d.can_redo
    with pytest.raises(DraftConflict):
        await repo.redo("s", author="b")
    history = await repo.revisions("s", take=100)
    assert [r.source for r in history][:4] == ["user", "undo", "redo", "redo"]
    assert [r.rev for r in history] == list(range(len(history), 0, -1))


async def test_drafts_record_import(repo: DraftRepository) -> None:
    first = await repo.record_import("s", TWO_ROOMS, author="ci")
    assert first is not None and first[1].source == "import" and first[0].rev == 1
    assert await repo.record_import("s", TWO_ROOMS, author="ci") is None
    d, r = await repo.record_import("s", scene(TWO_ROOMS, props={}), author="ci") or (None, None)
    assert d is not None and r is not None and r.source == "import" and d.rev == 2


async def test_drafts_record_import_of_a_scene_deleted_since_makes_nothing(repo: DraftRepository, engine: Any) -> None:
    """A build's version was stored, then its scene deleted before the import revision: the scene stays deleted."""
    from sceneforge.storage import SceneRepository
    from tests.storage.conftest import fake_build

    scenes = SceneRepository(engine, repo.blobs)
    await scenes.publish_build(fake_build("gone", b"glb"), canonical_json(TWO_ROOMS))
    await scenes.delete_scene("gone")
    with pytest.raises(NotFound):
        await repo.record_import("gone", TWO_ROOMS, author="ci", scene_exists=True)
    with pytest.raises(NotFound):
        await scenes.get_scene("gone")
    with pytest.raises(NotFound):
        await repo.get("gone")


async def test_drafts_a_patch_overtaken_by_another_instance_again_and_again_is_applied(
    engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two instances patch one draft without If-Match; the other one's next patch is ready to commit just before
    this one's compare-and-set, every time (its writes come back to back, each check takes a while). Retrying the
    same way lost every time, until the patch gave up (503) although nothing was wrong with it: once it lost, it
    takes the draft's turn, the other instance's next patch waits for it, and every patch is applied."""
    here, there = DraftRepository(engine, blobs), DraftRepository(engine, blobs)  # each instance's own
    await here.create("s", TWO_ROOMS, author="x")
    write, theirs, waiting = here._write, [], asyncio.Event()
    turn_wait = there._turn_wait

    async def waits(seconds: float) -> None:
        waiting.set()
        await turn_wait(seconds)

    async def overtaking(body: Any, retry: bool = True) -> Any:
        if not retry:  # the patch's compare-and-set: the other instance's next patch comes first when it can
            waiting.clear()
            ops = [{"op": "add", "path": f"/props/there{len(theirs)}", "value": "t"}]
            theirs.append(asyncio.create_task(there.patch("s", ops, author="there")))
            waited = asyncio.create_task(waiting.wait())
            await asyncio.wait([theirs[-1], waited], return_when=asyncio.FIRST_COMPLETED)
            waited.cancel()
        return await write(body, retry)

    monkeypatch.setattr(there, "_turn_wait", waits)
    monkeypatch.setattr(here, "_write", overtaking)
    draft, revision = await here.patch("s", [{"op": "add", "path": "/props/here", "value": "h"}], author="here")
    # the first try lost to their first patch; the second, in its turn, went before their second, which waited
    assert len(theirs) == 2 and theirs[0].done() and waiting.is_set()
    assert revision is not None and revision.author == "here" and draft.rev == 3
    await asyncio.gather(*theirs)
    final = await there.get("s")
    assert final.rev == 4 and {"here", "there0", "there1"} <= set(final.description["props"])
    assert [r.author for r in await there.revisions("s")] == ["there", "here", "there", "x"]
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT turn, turn_until FROM drafts"))).all() == [(None, None)]


async def test_drafts_a_patch_that_lost_the_race_leaves_no_snapshot_behind(
    engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/drafts.md: an error writes nothing (no row, no blob). A patch whose compare-and-set lost to another
    instance's write had stored the snapshot of its result first: its 412 (If-Match), or its second try in the
    draft's turn (another result), left that snapshot named by nothing until a gc an hour later."""
    here, there = DraftRepository(engine, blobs), DraftRepository(engine, blobs)  # each instance's own
    await here.create("s", TWO_ROOMS, author="x")
    write, theirs, rounds = here._write, [], iter(range(2))

    async def overtaken(body: Any, retry: bool = True) -> Any:
        if not retry and not theirs:  # the other instance commits just before this patch's first compare-and-set
            ops = [{"op": "add", "path": f"/props/there{next(rounds)}", "value": "t"}]
            theirs.append((await there.patch("s", ops, author="there"))[0].description_key)
        return await write(body, retry)

    monkeypatch.setattr(here, "_write", overtaken)
    start = _files(blobs.root)
    with pytest.raises(StaleRevision):
        await here.patch("s", [{"op": "add", "path": "/props/here", "value": "h"}], author="here", if_match=1)
    assert _files(blobs.root) - start == {blobs.root / theirs[0][:2] / theirs[0][2:]}  # their snapshot alone

    theirs.clear()
    start = _files(blobs.root)
    draft, _ = await here.patch("s", [{"op": "add", "path": "/props/again", "value": "a"}], author="here")
    assert draft.rev == 4 and {"there1", "again"} <= set(draft.description["props"])  # applied on theirs
    named = {theirs[0], draft.description_key}
    assert _files(blobs.root) - start == {blobs.root / key[:2] / key[2:] for key in named}


@pytest.mark.parametrize("write", ["patch", "create"])
async def test_drafts_a_write_cancelled_after_storing_its_snapshot_leaves_none_behind(
    repo: DraftRepository, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch, write: str
) -> None:
    """docs/drafts.md: an error writes nothing (no row, no blob). A patch (or a draft's creation) cancelled between
    storing its result's snapshot and writing its revision (a client gone; an anyio cancel scope, which cancels every
    await after the first) left that snapshot named by nothing until a gc an hour later: only an error released it."""
    await repo.create("s", TWO_ROOMS, author="x")
    scope = anyio.CancelScope()

    async def cancelled_there(body: Any, retry: bool = True) -> Any:
        scope.cancel()  # the client goes away here: the snapshot is stored, the revision not yet written
        await asyncio.sleep(30)

    monkeypatch.setattr(repo, "_write", cancelled_there)
    start = _files(blobs.root)
    with scope:
        if write == "patch":
            await repo.patch("s", [{"op": "add", "path": "/props/gone", "value": "g"}], author="here")
        else:
            await repo.create("t", scene(TWO_ROOMS, sceneId="t"), author="here")
    assert scope.cancelled_caught
    for _ in range(200):  # released in a task of its own, which the cancel scope does not cancel
        if _files(blobs.root) == start:
            break
        await asyncio.sleep(0.01)
    assert _files(blobs.root) == start
    monkeypatch.undo()
    assert (await repo.get("s")).rev == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # (the commit is held in aiosqlite's thread)
@pytest.mark.parametrize("write", ["patch", "create"])
async def test_drafts_a_write_cancelled_while_it_commits_keeps_its_snapshot(
    engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch, write: str
) -> None:
    """A write cancelled while its commit was under way (the COMMIT sent, the answer not yet back: a client gone, a
    cancel scope) released its snapshot as if nothing had been written; the commit then landed, and the draft named
    a blob the release had removed (every read of the draft failed). The write's outcome decides now: committed,
    the snapshot stays. SQLite only: the commit is held in its connection's thread (queued behind a wait there)."""
    assert engine.dialect.name == "sqlite"
    repo = DraftRepository(engine, blobs)
    await repo.create("s", TWO_ROOMS, author="x")
    loop, gate, released = asyncio.get_running_loop(), threading.Event(), asyncio.Event()
    scope = anyio.CancelScope()

    def commit_held(conn: Any) -> None:  # the sync "commit" event: in the write, just before the driver's COMMIT
        worker = conn.connection.dbapi_connection.driver_connection  # aiosqlite runs one thread per connection
        worker._tx.put_nowait((loop.create_future(), partial(gate.wait, 10)))  # the COMMIT queues behind this
        scope.cancel()  # the client goes away as the COMMIT is sent

    release = drafts_module.release

    async def release_then_commit(*args: Any) -> Any:
        try:
            return await release(*args)
        finally:
            released.set()

    monkeypatch.setattr(drafts_module, "release", release_then_commit)
    event.listen(engine.sync_engine, "commit", commit_held)
    try:
        with scope:
            if write == "patch":
                await repo.patch("s", [{"op": "add", "path": "/props/kept", "value": "k"}], author="here")
            else:
                await repo.create("t", scene(TWO_ROOMS, sceneId="t"), author="here")
    finally:
        event.remove(engine.sync_engine, "commit", commit_held)
    assert scope.cancelled_caught
    with contextlib.suppress(TimeoutError):  # a release, if one runs, before the COMMIT lands
        await asyncio.wait_for(released.wait(), 1)
    gate.set()
    while repo._ending:  # the write's own end, in a task of its own
        await asyncio.gather(*repo._ending, return_exceptions=True)
    draft = await repo.get("s" if write == "patch" else "t")
    assert draft.rev == (2 if write == "patch" else 1)
    assert blobs.exists(draft.description_key)
    assert (await repo.get(draft.scene_id)).description == draft.description


def _other_writer_gets_in(engine: Any) -> bool:
    """Whether another writer gets the lock a write of the draft ``s`` needs at once, without waiting: SQLite's write
    lock (``BEGIN IMMEDIATE`` on a connection of its own with no busy timeout, then a write), PostgreSQL's lock of
    the draft's row (``FOR UPDATE NOWAIT``, as a scene's deletion and retention take it)."""
    if engine.dialect.name == "sqlite":
        db = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE scenes SET updated_at = updated_at WHERE id = 'other'")
            db.execute("COMMIT")
            return True
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
            return False
        finally:
            db.close()
    import psycopg

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as db:
        try:
            db.execute("SELECT scene_id FROM drafts WHERE scene_id = 's' FOR UPDATE NOWAIT")
            return True
        except psycopg.errors.LockNotAvailable:
            return False


async def test_drafts_a_contested_patch_is_checked_holding_no_lock_other_writers_need(
    engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patch that lost the race was tried again in one write transaction from its read to its write, validating
    the result inside it: SQLite's write lock (every writer of the database waited) or PostgreSQL's lock of the
    draft's row (a deletion, retention) and a connection were held for as long as a large draft took to check. The
    retry now checks outside any transaction: during its check another writer takes that lock without waiting."""
    monkeypatch.setattr(draft_turns, "TURN_S", 3600.0)  # no renewal of the turn (a short write) during the check
    here, there = DraftRepository(engine, blobs), DraftRepository(engine, blobs)
    await here.create("s", TWO_ROOMS, author="x")
    await here.create("other", {**TWO_ROOMS, "sceneId": "other"}, author="x")
    checks: list[bool | None] = []

    async def validate(description: dict[str, Any]) -> None:
        if not checks:  # the first try: the other instance commits meanwhile, so this one loses the race
            checks.append(None)
            await there.patch("s", [{"op": "add", "path": "/props/there", "value": "t"}], author="there")
        else:  # the retry's check, as slow as a large draft's: does another writer get in meanwhile?
            checks.append(await asyncio.to_thread(_other_writer_gets_in, engine))

    draft, revision = await here.patch("s", [{"op": "add", "path": "/props/here", "value": "h"}], author="here",
                                       validate=validate)  # fmt: skip
    assert checks == [None, True]
    assert revision is not None and draft.rev == 3 and {"here", "there"} <= set(draft.description["props"])
    assert await asyncio.to_thread(_other_writer_gets_in, engine)


async def _give_turn(engine: Any, holder: str) -> datetime:
    """Make it ``holder``'s turn to patch every draft, for an hour (another process's, as far as the test knows);
    returns when it runs out."""
    until = datetime.now(UTC) + timedelta(hours=1)
    async with engine.begin() as conn:
        await conn.execute(update(drafts).values(turn=holder, turn_until=until))
    return until


async def test_drafts_a_turn_left_by_a_process_that_died_runs_out(
    engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patch waits while another's turn lasts (503 past TURN_WAIT_S, nothing written); a turn whose holder died
    (not renewed) runs out after TURN_S, and patches go on as before."""
    repo = DraftRepository(engine, blobs)
    await repo.create("s", TWO_ROOMS, author="x")
    later = await _give_turn(engine, "gone")
    monkeypatch.setattr(draft_turns, "TURN_WAIT_S", 0.05)
    with pytest.raises(StorageError, match="turn"):
        await repo.patch("s", [{"op": "add", "path": "/props/a", "value": "1"}], author="a")
    assert (await repo.get("s")).rev == 1
    repo.clock = lambda: later + timedelta(seconds=1)
    draft, revision = await repo.patch("s", [{"op": "add", "path": "/props/a", "value": "1"}], author="a")
    assert revision is not None and draft.rev == 2


async def test_drafts_patch_parses_and_applies_off_the_event_loop(
    repo: DraftRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a snapshot, applying a patch and writing its result are whole-description work (0.3 s, 0.4 s and 0.4 s
    for 400,000 props), run in worker threads: on the event loop they held every other request of the process for
    all of it (the JSON parse and dump still hold the GIL while they run, the copy of the patch does not)."""
    await repo.create("two-rooms", TWO_ROOMS, author="ana")
    on_loop: list[str] = []

    def watched(name: str, fn: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            with contextlib.suppress(RuntimeError):  # no running loop: a worker thread
                asyncio.get_running_loop()
                on_loop.append(name)
            return fn(*args, **kwargs)

        return call

    monkeypatch.setattr(drafts_module, "apply_patch", watched("apply_patch", apply_patch))
    monkeypatch.setattr(drafts_module, "canonical_json", watched("canonical_json", canonical_json))
    monkeypatch.setattr(draft_reads, "json", SimpleNamespace(loads=watched("json.loads", json.loads), dumps=json.dumps))
    draft, revision = await repo.patch("two-rooms", [{"op": "add", "path": "/props/n", "value": "1"}], author="ben")
    assert revision is not None and draft.description["props"]["n"] == "1"
    assert (await repo.get("two-rooms")).description == draft.description
    await repo.revision("two-rooms", 2)
    assert on_loop == []


async def test_drafts_snapshots_content_addressed(repo: DraftRepository, blobs: FileBlobStore) -> None:
    await repo.create("a", TWO_ROOMS, author="x")
    await repo.create("b", TWO_ROOMS, author="x")
    assert (await repo.get("a")).description_key == (await repo.get("b")).description_key
    assert blobs.get((await repo.get("a")).description_key) == canonical_json(TWO_ROOMS)


async def test_drafts_concurrent_patches_never_lose_one(repo: DraftRepository) -> None:
    await repo.create("s", TWO_ROOMS, author="a")

    async def writer(name: str) -> None:
        for i in range(5):
            await repo.patch("s", [{"op": "add", "path": f"/props/{name}{i}", "value": name}], author=name)

    await asyncio.gather(writer("p"), writer("q"))
    draft = await repo.get("s")
    assert draft.rev == 11
    assert {f"p{i}" for i in range(5)} | {f"q{i}" for i in range(5)} <= set(draft.description["props"])
    assert [r.rev for r in await repo.revisions("s", take=20)] == list(range(11, 0, -1))


async def test_drafts_prune_keeps_recent_and_stack(repo: DraftRepository, blobs: FileBlobStore) -> None:
    first = (await repo.create("s", TWO_ROOMS, author="a"))[0].description_key
    for i in range(6):
        await repo.patch("s", [{"op": "add", "path": f"/props/k{i}", "value": str(i)}], author="a")
    await repo.undo("s", author="a")
    # rev 8 is the undo of rev 7; the undo stack holds 2..6 (cut to 5, 6), redo holds 7.
    removed = await repo.prune(keep=2)
    kept = [r.rev for r in await repo.revisions("s", take=100)]
    assert removed == 4 and kept == [8, 7, 6, 5]
    assert not blobs.exists(first)  # only the pruned revisions named the first snapshot
    d, _ = await repo.redo("s", author="a")
    assert "k5" in d.description["props"]
    # The pruned revision's snapshots went with it unless something else still refers to them.
    for r in await repo.revisions("s", take=100):
        assert blobs.exists(r.after_key)


def test_apply_patch_does_not_modify_input() -> None:
    doc = {"a": [1, 2]}
    out = apply_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}])
    assert doc == {"a": [1, 2]} and out == {"a": [1, 2, 3]}


@pytest.mark.parametrize("name", ["copy", "move"])
@pytest.mark.parametrize("source", ["/a/-", "/nope", "/a/01", "a"])
def test_apply_patch_a_from_that_names_no_value_is_refused_at_from(name: str, source: str) -> None:
    """RFC 6902 §4.4-4.5: the ``from`` location must exist (``-`` names no element, RFC 6901 §4): 422 at
    ``/<i>/from`` with a message about the pointer, not about Python's objects."""
    with pytest.raises(SceneInvalid) as err:
        apply_patch({"a": [1, 2]}, [{"op": name, "from": source, "path": "/b"}])
    [issue] = err.value.issues
    assert (issue.path, issue.code) == ("/0/from", "patch_op_failed")
    assert "EndOfList" not in issue.message and "serializable" not in issue.message


@pytest.mark.parametrize(
    ("op", "says"),
    [
        ({"op": "remove", "path": "/a/0"}, "index '0' is past the end of the array at '/a', which has 0 elements (no"),
        ({"op": "add", "path": "/a/1", "value": 1}, "0 elements (no index, or 0 or '-' to append)"),
        ({"op": "add", "path": "/b/1/x", "value": 1}, "index '1' is past the end of the array at '/b', which has 1"),
        ({"op": "remove", "path": "/b/0/" + "9" * 5000}, "past the end of the array at '/b/0', which has 2 elements"),
        ({"op": "remove", "path": "/b/0/-1"}, "'-1' is not an array index"),
    ],
)
def test_apply_patch_a_token_that_is_no_index_of_its_array_names_the_array_and_its_length(
    op: dict[str, Any], says: str
) -> None:
    with pytest.raises(SceneInvalid) as err:
        apply_patch({"a": [], "b": [[1, 2]]}, [op])
    [issue] = err.value.issues
    assert (issue.path, issue.code) == ("/0/path", "patch_op_failed")
    assert issue.message.startswith(f"op 0 ({op['op']}): path '") and says in issue.message, issue.message


def test_apply_patch_copies_each_value_once_and_never_shares_it_with_the_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value added is copied once, by the library, and the result shares nothing with the ops (the revision stores
    them as sent, however later ops change what they added): a second copy of every op had doubled the cost of a
    patch of many small values (a 28 MiB one of 10 million empty arrays: 12 s and 1.2 GB of its 28 s and 2.9 GB)."""
    value: list[Any] = [[1], [2]]
    ops = [
        {"op": "add", "path": "/a", "value": value},
        {"op": "add", "path": "/a/0/-", "value": 3},
        {"op": "replace", "path": "/b", "value": {"c": value}},
        {"op": "add", "path": "/b/c/1/-", "value": 4},
    ]
    sent = json.loads(json.dumps(ops))
    deepcopy, copied = copy.deepcopy, []

    def counted(x: Any, memo: Any = None, _nil: Any = []) -> Any:  # noqa: B006 (copy.deepcopy's own signature)
        if memo is None:  # a copy begun, not one of its own steps into the value
            copied.append(x)
        return deepcopy(x, memo)

    monkeypatch.setattr(copy, "deepcopy", counted)
    out = apply_patch({"b": None}, ops)
    assert out == {"b": {"c": [[1], [2, 4]]}, "a": [[1, 3], [2]]}
    assert ops == sent and value == [[1], [2]]  # the ops as sent
    assert sum(x is value for x in copied) == 1  # the add's value, once
    assert sum(isinstance(x, dict) and "op" in x for x in copied) == 0  # no op copied whole


def test_apply_patch_reads_a_move_target_after_the_removal() -> None:
    """RFC 6902 §4.4: ``move`` is a ``remove`` then an ``add``: its ``path`` is read in the document the removal
    left, where ``/a/1`` is the object that had been ``/a/2`` (``01``: a member name, not an array index)."""
    out = apply_patch({"a": ["x", [1], {}]}, [{"op": "move", "from": "/a/0", "path": "/a/1/01"}])
    assert out == {"a": [[1], {"01": "x"}]}


async def test_drafts_prune_releases_orphan_snapshots(repo: DraftRepository, blobs: FileBlobStore) -> None:
    await repo.create("s", TWO_ROOMS, author="a")
    keys = []
    for i in range(5):
        draft, _ = await repo.patch("s", [{"op": "add", "path": "/props/k", "value": str(i)}], author="a")
        keys.append(draft.description_key)
    assert await repo.prune(keep=2) == 4  # revisions 1-4 go; undo now reaches back two changes
    kept = await repo.revisions("s", take=100)
    assert [r.rev for r in kept] == [6, 5]
    assert not blobs.exists(keys[0]) and not blobs.exists(keys[1])  # only revisions 2 and 3 named them
    assert all(blobs.exists(k) for k in keys[2:])
    await repo.undo("s", author="a")
    await repo.undo("s", author="a")
    with pytest.raises(DraftConflict):
        await repo.undo("s", author="a")


async def test_drafts_crash_between_snapshot_and_revision_leaves_nothing_half_written(
    repo: DraftRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    await repo.create("s", TWO_ROOMS, author="a")

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(repo, "_insert_revision", crash)
    with pytest.raises(RuntimeError):
        await repo.patch("s", [{"op": "add", "path": "/props/x", "value": "1"}], author="a")
    monkeypatch.undo()
    draft = await repo.get("s")
    assert draft.rev == 1 and "x" not in draft.description["props"] and await repo.count("s") == 1


async def test_drafts_patch_values_json_cannot_carry_are_refused(repo: DraftRepository, blobs: FileBlobStore) -> None:
    """A NaN added then removed leaves a valid description, but the ops are stored and served as JSON: refused,
    whatever the caller (the HTTP layer refuses it earlier, at its pointer; the assistant's ops come here)."""
    await repo.create("s", TWO_ROOMS, author="a")
    stored = _files(blobs.root)
    for value in (float("nan"), float("inf"), [float("-inf")]):
        ops = [{"op": "add", "path": "/props/x", "value": value}, {"op": "remove", "path": "/props/x"}]
        with pytest.raises(SceneInvalid) as err:
            await repo.patch("s", ops, author="a")
        assert err.value.issues[0].code == "patch_value_not_finite"
        assert str(err.value).startswith("invalid request: : operations hold NaN"), str(err.value)  # not a scene's
    assert ((await repo.get("s")).rev, await repo.count("s")) == (1, 1)
    assert _files(blobs.root) == stored


def _nesting(levels: int) -> list[dict[str, Any]]:
    """Ops that nest ``/props/x`` ``levels`` deep, 3 short ops a level (no long pointer, no large value)."""
    ops: list[dict[str, Any]] = [{"op": "add", "path": "/props/x", "value": []}]
    for _ in range(levels):
        ops += [
            {"op": "add", "path": "/props/w", "value": []},
            {"op": "move", "from": "/props/x", "path": "/props/w/0"},
            {"op": "move", "from": "/props/w", "path": "/props/x"},
        ]
    return ops


@pytest.mark.parametrize("last", ["none", "copy"])
async def test_drafts_a_patch_nesting_past_the_recursion_limit_is_refused(
    repo: DraftRepository, blobs: FileBlobStore, last: str
) -> None:
    """Moves nest a description one level per three short ops: 1,500 levels (4,500 ops, 200 kB) took the writing of
    its snapshot's JSON (and a copy of the value) past Python's recursion limit, a RecursionError and a 500. Now
    ``json_too_deep`` at the deepest value (at the copy's ``from``), nothing written."""
    await repo.create("s", TWO_ROOMS, author="a")
    stored = _files(blobs.root)
    ops = _nesting(1500)
    if last == "copy":
        ops.append({"op": "copy", "from": "/props/x", "path": "/props/y"})
    with pytest.raises(SceneInvalid) as err:
        await repo.patch("s", ops, author="a")
    (issue,) = err.value.issues
    assert issue.code == "json_too_deep"
    if last == "copy":
        assert issue.path == f"/{len(ops) - 1}/from" and "Python's recursion limit" in issue.message
    else:
        assert issue.path.startswith("/props/x/0/0/") and "1,50" in issue.message, issue
    assert ((await repo.get("s")).rev, await repo.count("s")) == (1, 1)
    assert _files(blobs.root) == stored


async def test_a_scene_made_again_numbers_on_from_its_deleted_draft_and_versions(
    repo: DraftRepository, engine: Any, blobs: FileBlobStore
) -> None:
    # A client keeps If-Match "rev-2" and the URL @v1 of a scene that is then deleted and made again:
    # neither may name the new scene's revision or bytes, so its numbers go on from the old ones.
    from sceneforge.storage import SceneRepository
    from tests.storage.conftest import fake_build

    scenes = SceneRepository(engine, blobs)
    await repo.create("hq", TWO_ROOMS, author="ana")
    ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
    await repo.patch("hq", ops, author="ana", if_match=1)
    await scenes.publish_build(fake_build("hq", b"first"), None, rev=2)
    await scenes.delete_scene("hq")

    draft, revision = await repo.create("hq", TWO_ROOMS, author="ben")
    assert (draft.rev, revision.rev, revision.parent_rev) == (3, 3, None)
    with pytest.raises(StaleRevision):
        await repo.patch("hq", ops, author="ana", if_match=2)
    version = await scenes.publish_build(fake_build("hq", b"second"), None, rev=3)
    assert version.n == 2
    assert [r.rev for r in await repo.revisions("hq")] == [3]

    await scenes.delete_scene("hq")  # a third life goes on from the second's numbers
    assert (await scenes.publish_build(fake_build("hq", b"third"), None)).n == 3
    assert (await repo.create("hq", TWO_ROOMS, author="cy"))[0].rev == 4


async def test_a_patch_read_before_retention_cut_the_undo_stack_pushes_onto_the_cut_stack(
    repo: DraftRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retention cuts the undo stack between a patch's read of the draft and its write (the rev is unchanged, so
    the patch's compare-and-set passes): the patch must push onto the stack as retention left it, not write back
    the one it read, whose cut entries name revisions retention deleted (undo then reached one no longer kept)."""
    await repo.create("s", TWO_ROOMS, author="a")
    for i in range(5):
        await repo.patch("s", [{"op": "add", "path": "/props/k", "value": str(i)}], author="a")  # revs 2-6
    write = repo._write

    async def retention_first(body: Any, retry: bool = True) -> Any:
        monkeypatch.setattr(repo, "_write", write)
        assert await repo.prune(keep=2) == 4  # revisions 1-4 go; undo keeps revs 5 and 6
        return await write(body, retry)

    monkeypatch.setattr(repo, "_write", retention_first)
    draft, _ = await repo.patch("s", [{"op": "add", "path": "/props/k", "value": "last"}], author="b")  # rev 7
    assert draft.rev == 7 and repo._write is write
    for rev in (8, 9, 10):  # undo of 7, 6 and 5: the two changes retention kept, and the patch
        draft, _ = await repo.undo("s", author="a")
        assert draft.rev == rev
    assert not draft.can_undo
    with pytest.raises(DraftConflict, match="has nothing to undo"):
        await repo.undo("s", author="a")


def _failing(engine: Any, which: set[str]) -> None:
    """Make the turn's writes named in ``which`` (``renew``, ``give``) fail as PostgreSQL's faults do: a bare
    ``DBAPIError`` (a dropped connection, a shutdown), not an ``OperationalError``."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def fail(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if not statement.startswith("UPDATE drafts SET turn"):
            return
        kind = "renew" if statement.startswith("UPDATE drafts SET turn_until") else "give"
        if kind == "give" and "turn IS NULL" in statement:
            return  # the turn's taking
        if kind in which:
            raise DBAPIError(statement, parameters, Exception("server closed the connection unexpectedly"))


async def _contested(here: DraftRepository, there: DraftRepository, slow: Any, value: str = "h") -> Any:
    """``here`` patches the draft ``s`` while ``there`` commits first, so the patch goes on in the draft's turn,
    where its check is ``slow`` (a coroutine function)."""
    tries: list[int] = []

    async def validate(description: dict[str, Any]) -> None:
        tries.append(len(tries))
        if len(tries) == 1:
            await there.patch("s", [{"op": "add", "path": "/props/there", "value": value}], author="there")
        else:
            await slow(description)

    return await here.patch("s", [{"op": "add", "path": "/props/here", "value": value}], author="here",
                            validate=validate)  # fmt: skip


async def _turn(engine: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT turn FROM drafts WHERE scene_id = 's'"))).scalars())


async def _given_back(engine: Any) -> None:
    """Wait (2 s at most) for the draft's turn to be given back, which happens in the background, at once."""
    for _ in range(100):
        if await _turn(engine) == [None]:
            break
        await asyncio.sleep(0.02)
    assert await _turn(engine) == [None]


@pytest.mark.parametrize("which", [{"renew"}, {"give"}, {"renew", "give"}])
async def test_drafts_a_turn_write_that_fails_leaves_the_patch_as_it_went(
    engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch, which: set[str]
) -> None:
    """Renewing the turn and giving it back are best-effort writes (the turn runs out on its own). One that failed
    as PostgreSQL's faults do (a bare DBAPIError, not an OperationalError) ended the renewal, whose error then came
    out of the patch in place of its result: a patch already committed answered an error (and its client retried it,
    applying it twice); so did a failing give-back, and a 422 became a 503."""
    monkeypatch.setattr(draft_turns, "TURN_S", 0.3)  # renewed every 0.1 s
    here, there = DraftRepository(engine, blobs), DraftRepository(engine, blobs)
    await here.create("s", TWO_ROOMS, author="x")
    _failing(engine, which)
    draft, revision = await _contested(here, there, lambda _: asyncio.sleep(0.35))
    assert revision is not None and revision.author == "here" and draft.rev == 3

    async def invalid(_: Any) -> None:
        await asyncio.sleep(0.35)
        raise SceneInvalid([Issue("/props", "bad", "no")])

    with pytest.raises(SceneInvalid):
        await _contested(here, there, invalid, "i")
    assert (await there.get("s")).rev == 4


async def test_drafts_a_patch_cancelled_in_its_turn_gives_it_back(engine: Any, blobs: FileBlobStore) -> None:
    """A patch cancelled in its turn (a client gone, a caller's deadline: an anyio cancel scope, which cancels every
    await after the first) gave its turn back in an await that was cancelled too: the draft stayed its turn, and
    every other patch of it waited until the turn ran out (TURN_S)."""
    here, there = DraftRepository(engine, blobs), DraftRepository(engine, blobs)
    await here.create("s", TWO_ROOMS, author="x")
    with anyio.move_on_after(0.5) as scope:
        await _contested(here, there, lambda _: asyncio.sleep(30))
    assert scope.cancelled_caught
    await _given_back(engine)
    draft, revision = await there.patch("s", [{"op": "add", "path": "/props/after", "value": "a"}], author="there")
    assert revision is not None and draft.rev == 3


async def test_drafts_a_patch_cancelled_as_it_takes_its_turn_gives_it_back(
    engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patch cancelled while the write taking the draft's turn committed (the write done, the await not yet
    returned) left the turn taken by nobody running: every other patch waited until it ran out (TURN_S)."""
    here, there = DraftRepository(engine, blobs), DraftRepository(engine, blobs)
    await here.create("s", TWO_ROOMS, author="x")
    take = here._take_turn

    async def taken_then_cancelled(scene_id: str, token: str) -> None:
        await take(scene_id, token)
        await asyncio.sleep(30)  # the cancellation arrives here, the turn's write committed

    monkeypatch.setattr(here, "_take_turn", taken_then_cancelled)
    with anyio.move_on_after(0.5) as scope:
        await _contested(here, there, lambda _: asyncio.sleep(0))
    assert scope.cancelled_caught
    await _given_back(engine)


async def test_drafts_the_wait_for_another_turn_counts_the_time_its_tries_took(
    engine: Any, blobs: FileBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patch waits at most TURN_WAIT_S for another's turn: the wait counted only its pauses, not its tries to take
    the turn (each a write transaction, which waits up to SQLite's busy timeout, 10 s, while other writers write), so
    with slow tries a patch waited many times TURN_WAIT_S before its 503."""
    repo = DraftRepository(engine, blobs)
    await repo.create("s", TWO_ROOMS, author="x")
    await _give_turn(engine, "other")
    monkeypatch.setattr(draft_turns, "TURN_WAIT_S", 0.5)

    tries = 0

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def slow(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        nonlocal tries
        if statement.startswith("UPDATE drafts SET turn") and "turn IS NULL" in statement:  # a try to take it
            tries += 1
            time.sleep(0.2)  # a try that waited for the write lock

    with pytest.raises(StorageError, match="turn"):
        await repo.patch("s", [{"op": "add", "path": "/props/a", "value": "1"}], author="a")
    # Each try takes 0.2 s at least, so 0.5 s are past after the third: counting the pauses alone (0.005 s, doubling
    # up to 0.1 s) it made about ten.
    assert tries <= 3


async def test_drafts_revision_pruned_while_read_is_not_kept_never_a_blob_key(
    repo: DraftRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retention deletes a revision's row and then its snapshots: a read that found the row before and reads the
    snapshots after met the blob store's "blob <key> does not exist". It says the revision is no longer kept,
    which setting prunes it, and names no blob key."""
    await repo.create("s", TWO_ROOMS, author="a")
    for i in range(4):
        await repo.patch("s", [{"op": "add", "path": "/props/k", "value": str(i)}], author="a")
    read = repo._snapshot
    pruned: list[int] = []

    async def prune_first(key: str) -> dict[str, Any]:
        if not pruned:
            pruned.append(await repo.prune(keep=1))
        return await read(key)

    monkeypatch.setattr(repo, "_snapshot", prune_first)
    with pytest.raises(NotFound) as caught:
        await repo.revision("s", 2, keep=1)
    assert pruned == [4]  # revisions 1-4
    message = str(caught.value)
    assert "revision 2 of scene 's' is no longer kept" in message and "SCENEFORGE_KEEP_REVISIONS" in message
    assert "blob" not in message and not any(len(word) >= 64 for word in message.split())
    monkeypatch.undo()
    with pytest.raises(NotFound, match=r"revision 1 of scene 's' is no longer kept"):  # pruned before: the same
        await repo.revision("s", 1)
    with pytest.raises(NotFound, match=r"scene 's' has no revision 9$"):
        await repo.revision("s", 9)
    assert (await repo.revision("s", 5))[0].rev == 5


class _Unrendered:
    """A value a failing ``test`` op must never render: writing one out fails the test."""

    def __repr__(self) -> str:
        raise AssertionError("a failing test op rendered the document's value")

    __str__ = __repr__


@pytest.mark.parametrize(
    "path", ["/big", "/absent", "/big/0", ""], ids=["value", "member not there", "element", "root"]
)
def test_apply_patch_failing_test_op_never_renders_the_document(path: str) -> None:
    """A failing ``test`` wrote the value at its path into the library's message (and a member not there the whole
    object it is missing from), which apply_patch then dropped: 1,000 tests of a 40 MB value took ~22 s, each failure
    rendering it. A test costs no more than comparing its own value."""
    doc = {"big": [_Unrendered(), "x" * 1000]}
    with pytest.raises(PatchFailed) as err:
        apply_patch(doc, [{"op": "test", "path": path, "value": [1]}])
    assert err.value.issues[0].path == "/0"
    why = "names no value (a member not there)" if path == "/absent" else "is not equal to the tested value"
    assert why in err.value.issues[0].message


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2, allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
    max_leaves=12,
)


def _pointers(value: Any, at: str = "") -> list[str]:
    """Every pointer naming a value of ``value`` (``at`` among them)."""
    found = [at]
    members = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in members:
        found += _pointers(inner, f"{at}/{str(key).replace('~', '~0').replace('/', '~1')}")
    return found


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=2), _JSON, max_size=4), _JSON, st.integers(0, 1000), st.booleans())
def test_apply_patch_test_op_holds_exactly_when_the_library_says_it_does(
    doc: dict[str, Any], value: Any, pick: int, same: bool
) -> None:
    """``test`` is compared here, not by the library: it holds for the same values the library's does."""
    import jsonpatch
    import jsonpointer

    pointers = [*_pointers(doc), "/not a member of it"]
    path = pointers[pick % len(pointers)]
    if same and path in pointers[:-1]:
        value = copy.deepcopy(jsonpointer.resolve_pointer(doc, path))
    ops = [{"op": "test", "path": path, "value": value}]
    try:
        jsonpatch.apply_patch(doc, ops)
        holds = True
    except (jsonpatch.JsonPatchTestFailed, jsonpointer.JsonPointerException):
        holds = False
    try:
        assert apply_patch(doc, ops) == doc
        ours = True
    except PatchFailed:
        ours = False
    assert ours == holds
