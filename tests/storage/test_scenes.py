"""One suite for the scene repository on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from sceneforge.errors import NotFound
from sceneforge.events.log import EventLog
from sceneforge.storage import FileBlobStore, SceneRepository
from sceneforge.storage.database import write_transaction
from sceneforge.storage.scenes import PublishedVersionChanged
from sceneforge.storage.tables import versions
from tests.storage.conftest import fake_build


@pytest.fixture
def repo(engine: Any, tmp_path: Any) -> SceneRepository:
    return SceneRepository(engine, FileBlobStore(tmp_path / "blobs"))


async def test_publish_first_build_is_version_1(repo: SceneRepository) -> None:
    build = fake_build("test01", b"one")
    version = await repo.publish_build(build, b'{"sceneId":"test01"}')
    assert (version.n, version.etag, version.bytes, version.reused) == (1, build.etag, len(build.glb), False)
    assert repo.blobs.get(version.glb_key) == build.glb
    assert version.description_key is not None
    assert repo.blobs.get(version.description_key) == b'{"sceneId":"test01"}'
    assert version.meta["version"] == 1
    assert list(version.meta)[:7] == ["ETag", "Bytes", "TimestampUtc", "Meta", "formatVersion", "sceneId", "version"]
    assert version.meta["TimestampUtc"].endswith("Z")


async def test_publish_same_glb_returns_existing_version(repo: SceneRepository) -> None:
    first = await repo.publish_build(fake_build("s", b"same"), b"{}")
    again = await repo.publish_build(fake_build("s", b"same"), b"{}")
    assert again.reused
    assert (again.n, again.etag, again.meta) == (first.n, first.etag, first.meta)
    assert [v.n for v in await repo.versions("s")] == [1]


async def test_publish_changed_glb_makes_next_version(repo: SceneRepository) -> None:
    await repo.publish_build(fake_build("s", b"a"), None)
    second = await repo.publish_build(fake_build("s", b"b"), None)
    assert second.n == 2
    assert (await repo.latest("s")).etag == second.etag
    assert (await repo.by_number("s", 1)).etag == fake_build("s", b"a").etag
    assert (await repo.by_etag("s", second.etag)).n == 2


async def test_publish_older_bytes_moves_pointer_back(repo: SceneRepository) -> None:
    await repo.publish_build(fake_build("s", b"a"), None)
    await repo.publish_build(fake_build("s", b"b"), None)
    back = await repo.publish_build(fake_build("s", b"a"), None)
    assert back.reused and back.n == 1
    assert (await repo.latest("s")).n == 1
    assert len(await repo.versions("s")) == 2


async def test_publish_if_match_names_the_published_version(repo: SceneRepository) -> None:
    """The If-Match of a publish is checked in its transaction against the published version's ETag."""
    one = await repo.publish_build(fake_build("im", b"one"), b"{}")
    two = await repo.publish_build(fake_build("im", b"two"), b"{}")
    with pytest.raises(PublishedVersionChanged) as refused:
        await repo.publish("im", 1, if_match=frozenset({one.etag}))
    assert refused.value.current == (2, two.etag) and (await repo.pointer("im")).latest.n == 2  # type: ignore[union-attr]
    assert (await repo.publish("im", 1, if_match=frozenset({"x", two.etag}))).n == 1
    assert (await repo.publish("im", 2, if_match="*")).n == 2
    await repo.publish_build(fake_build("unpublished", b"u"), b"{}", publish=False)
    with pytest.raises(PublishedVersionChanged):
        await repo.publish("unpublished", 1, if_match="*")
    with pytest.raises(NotFound):
        await repo.publish("nope", 1, if_match="*")


async def test_publish_concurrent_builds_get_distinct_numbers(repo: SceneRepository) -> None:
    results = await asyncio.gather(*(repo.publish_build(fake_build("c", bytes([i])), None) for i in range(6)))
    assert sorted(v.n for v in results) == [1, 2, 3, 4, 5, 6]


async def test_publish_private_flag_is_kept_until_changed(repo: SceneRepository) -> None:
    await repo.publish_build(fake_build("p", b"a"), None, private=True)
    await repo.publish_build(fake_build("p", b"b"), None)
    assert (await repo.get_scene("p")).private
    await repo.publish_build(fake_build("p", b"c"), None, private=False)
    assert not (await repo.get_scene("p")).private


async def test_lookup_missing_is_not_found(repo: SceneRepository) -> None:
    with pytest.raises(NotFound):
        await repo.latest("nope")
    await repo.publish_build(fake_build("s", b"a"), None)
    with pytest.raises(NotFound):
        await repo.by_number("s", 9)
    with pytest.raises(NotFound):
        await repo.by_etag("s", "0" * 16)


async def test_list_scenes_with_latest(repo: SceneRepository) -> None:
    await repo.publish_build(fake_build("a", b"1"), None)
    await repo.publish_build(fake_build("b", b"2"), None, private=True)
    await repo.publish_build(fake_build("b", b"3"), None)
    listed = {s.id: s for s in await repo.list_scenes()}
    assert set(listed) == {"a", "b"}
    assert listed["b"].latest is not None and listed["b"].latest.n == 2
    assert [s.id for s in await repo.list_scenes(include_private=False)] == ["a"]


async def test_delete_scene_removes_rows_and_unshared_blobs(repo: SceneRepository, engine: Any) -> None:
    version = await repo.publish_build(fake_build("d", b"x"), None)
    removed = await repo.delete_scene("d")
    assert [v.n for v in removed] == [1]
    assert not repo.blobs.exists(version.glb_key)
    with pytest.raises(NotFound):
        await repo.get_scene("d")
    async with engine.connect() as conn:
        assert (await conn.execute(select(versions))).all() == []
    with pytest.raises(NotFound):
        await repo.delete_scene("d")


async def test_delete_scene_removes_its_assist_conversations(repo: SceneRepository, engine: Any) -> None:
    from sceneforge.storage.assist import AssistRepository
    from sceneforge.storage.tables import assist_messages, assist_sessions

    await repo.publish_build(fake_build("gone", b"x"), None)
    await repo.publish_build(fake_build("kept", b"y"), None)
    assist = AssistRepository(engine)
    doomed = await assist.start_turn("gone", None, author="a", text="private plans", model="m")
    await assist.append(doomed.message_id, [("text", {"delta": "secret"})])
    kept = await assist.start_turn("kept", None, author="a", text="hello", model="m")
    await repo.delete_scene("gone")
    async with engine.connect() as conn:
        sessions = (await conn.execute(select(assist_sessions.c.id))).scalars().all()
        messages = (await conn.execute(select(assist_messages.c.session_id))).scalars().all()
    assert sessions == [kept.session_id]
    assert messages == [kept.session_id, kept.session_id]
    with pytest.raises(NotFound):
        await assist.message(doomed.message_id)


async def test_assist_text_with_nul_or_lone_surrogates_is_stored(repo: SceneRepository, engine: Any) -> None:
    """A chat message or a model's output with a NUL (PostgreSQL refuses it in text) or a lone surrogate
    (not UTF-8) is stored with U+FFFD in their place, line breaks kept; it was a database error."""
    from sceneforge.storage.assist import AssistRepository

    await repo.publish_build(fake_build("s", b"x"), None)
    assist = AssistRepository(engine)
    odd = "two\nlines\x00 and \ud800 half"
    turn = await assist.start_turn("s", None, author="a\x00b", text=odd, model="m\x00")
    await assist.save_text(turn.message_id, content=odd, reasoning=odd)
    await assist.add_tool_call(turn.message_id, call_id="c\x00", round_=1, name="patch_draft", arguments=odd)
    stored = await assist.message(turn.message_id)
    assert stored["content"] == stored["reasoning"] == "two\nlines\ufffd and \ufffd half"
    session = await assist.session("s", turn.session_id)
    assert "two\nlines\ufffd and \ufffd half" in [m["content"] for m in session["messages"]]


async def test_a_listing_reads_only_the_listed_scenes_and_no_meta(repo: SceneRepository, engine: Any) -> None:
    # A listing read every scene's latest version with its meta (megabytes each on large levels), whatever
    # its limit: memory and time grew with every scene ever built.
    from sqlalchemy import event

    for name in ("a", "b", "c"):
        await repo.publish_build(fake_build(name, name.encode() * 3), None)
    await repo.publish_build(fake_build("c", b"newer"), None)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        listed = await repo.list_scenes(limit=2)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert [s.id for s in listed] == ["c", "b"]
    latest = listed[0].latest
    assert latest is not None and (latest.n, latest.etag) == (2, fake_build("c", b"newer").etag)
    reads = [s for s in statements if "versions" in s]
    assert reads and not any("versions.meta" in s for s in reads)
    assert all("IN" in s.upper() for s in reads)


async def test_assist_history_read_in_pages_is_the_newest_that_fit(repo: SceneRepository, engine: Any) -> None:
    """A session's history is read newest first, a page of messages at a time: across the pages' edges it is the
    same as one read, oldest first, the newest messages that fit the bound, from a question on."""
    from sceneforge.storage.assist import _HISTORY_PAGE, AssistRepository

    await repo.publish_build(fake_build("s", b"x"), None)
    assist = AssistRepository(engine)
    session = None
    for i in range(_HISTORY_PAGE):  # two messages a turn: two pages
        turn = await assist.start_turn("s", session, author="a", text=f"q{i:02}", model="m")
        session = turn.session_id
        await assist.save_text(turn.message_id, content=f"a{i:02}", reasoning="")
    end = (await assist.message(turn.message_id))["n"] + 1
    messages = [text for i in range(_HISTORY_PAGE) for text in (f"q{i:02}", f"a{i:02}")]
    assert [m["content"] for m in await assist.history(session, end, 10**6)] == messages
    # 81 messages of 3 characters fit: the oldest of them an answer, left out with its question
    assert [m["content"] for m in await assist.history(session, end, 3 * 81)] == messages[-80:]
    # the newest is sent whatever the bound
    assert [m["content"] for m in await assist.history(session, end - 1, 1)] == ["q63"]


@pytest.mark.parametrize("write", ["publish", "publish_build"])
async def test_a_publish_cancelled_as_it_commits_leaves_no_stale_pointer(
    repo: SceneRepository, monkeypatch: pytest.MonkeyPatch, write: str
) -> None:
    """A publish (a rollback) or a build cancelled while its commit ran (a client gone: the pointer moved, the await
    cancelled) skipped dropping the cached pointer: this process went on serving the old version as the scene's
    latest until some other change of the scene. A write whose outcome is unknown now drops it all the same."""
    await repo.publish_build(fake_build("s", b"a"), None)
    await repo.publish_build(fake_build("s", b"b"), None)
    assert (await repo.pointer("s")).latest.n == 2  # cached
    write_through = repo._write

    async def committed_then_cancelled(body: Any) -> Any:
        await write_through(body)
        raise asyncio.CancelledError  # the cancel lands as the COMMIT returns

    monkeypatch.setattr(repo, "_write", committed_then_cancelled)
    with pytest.raises(asyncio.CancelledError):
        if write == "publish":
            await repo.publish("s", 1)
        else:
            await repo.publish_build(fake_build("s", b"c"), None)
    monkeypatch.undo()
    assert (await repo.pointer("s")).latest.n == (1 if write == "publish" else 3)


@pytest.mark.parametrize("committed", [True, False])
async def test_a_publish_whose_commit_outcome_is_unknown_sends_its_events_exactly_when_it_moved(
    repo: SceneRepository, monkeypatch: pytest.MonkeyPatch, committed: bool
) -> None:
    """A publish (a rollback) whose write was cancelled as it committed, or before (the process stopping), cannot
    tell by itself whether the pointer moved: its events go out when their transaction took effect (the first one's
    ``seq`` is stored), and never when it did not."""
    log = EventLog(repo.engine)
    await repo.publish_build(fake_build("s", b"a"), None)
    await repo.publish_build(fake_build("s", b"b"), None)
    sent: list[Any] = []

    async def record(conn: Any, version: Any) -> list[Any]:
        return [
            await log.append(conn, "scene.published", "s", {"version": version.n}),
            await log.append(conn, "scene.invalidated", "s", {"etag": version.etag}),
        ]

    async def published(event: Any) -> None:
        sent.append(event.type)

    async def cancelled_as_it_commits(body: Any) -> Any:
        async with write_transaction(repo.engine) as conn:
            await body(conn)
            if not committed:
                raise asyncio.CancelledError  # the cancel lands before the COMMIT: rolled back
        raise asyncio.CancelledError  # the cancel lands as the COMMIT returns

    monkeypatch.setattr(repo, "_write", cancelled_as_it_commits)
    with pytest.raises(asyncio.CancelledError):
        await repo.publish("s", 1, record=record, published=published)
    monkeypatch.undo()
    assert sent == (["scene.published", "scene.invalidated"] if committed else [])
    assert (await repo.pointer("s")).latest.n == (1 if committed else 2)
    assert [e.type for e in await log.read(0, scene_id="s")] == sent
