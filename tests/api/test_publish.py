"""Publish and rollback over HTTP: the events go out exactly when the pointer moved, however the request ends."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import anyio
import pytest

from tests.api.conftest import REQUEST_TIMEOUT_S, Api
from tests.storage.conftest import fake_build

#: The scene's versions: v2 is published, v1 older (a rollback), v3 newer (a publish).
MOVES = {"publish": 3, "rollback": 1}


@pytest.fixture
def published(api: Api) -> Api:
    for payload in (b"one", b"two", b"three"):
        api.call(api.services.scenes.publish_build, fake_build("pub", payload), None, publish=False)
    assert api.post("/scenes/pub/publish", json={"version": 2}, headers=api.auth()).status_code == 200
    return api


def _sent(api: Api, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], asyncio.Event]:
    """The events this instance hands to the bus (what the other instances hear), and an event set once a
    ``scene.invalidated`` went."""
    hub, sent, invalidated = api.app.state.jobs.hub, [], asyncio.Event()
    send = hub.publish

    async def publish(event: Any) -> None:
        await send(event)
        sent.append(event)
        if event.type == "scene.invalidated":
            invalidated.set()

    monkeypatch.setattr(hub, "publish", publish)
    return sent, invalidated


async def _publish(api: Api, n: int) -> Any:
    return await api.client.post("/scenes/pub/publish", json={"version": n}, headers=api.auth())


def _stored(api: Api) -> list[tuple[str, Any]]:
    events = api.call(api.app.state.jobs.store.log.read, 0, scene_id="pub")
    return [(e.type, e.body.get("version", e.body.get("etag"))) for e in events]


@pytest.mark.parametrize("move", sorted(MOVES))
def test_publish_cancelled_once_committing_moves_the_pointer_and_sends_both_events(
    published: Api, monkeypatch: pytest.MonkeyPatch, move: str
) -> None:
    """A publish (a rollback) whose client left while its COMMIT went out moved the pointer but sent neither
    ``scene.published`` nor ``scene.invalidated``: the other instances went on serving their cached pointer, the old
    version, as the scene's latest. The publish now runs to its end and both events go out, in that order."""
    api, n = published, MOVES[move]
    scenes = api.services.scenes
    sent, invalidated = _sent(api, monkeypatch)
    write_through, committing, go_on = scenes._write, asyncio.Event(), asyncio.Event()

    async def slow_commit(body: Any) -> Any:
        async def marked(conn: Any) -> Any:
            result = await body(conn)
            committing.set()
            await go_on.wait()  # the client leaves as the COMMIT goes out
            return result

        return await write_through(marked)

    monkeypatch.setattr(scenes, "_write", slow_commit)

    async def scenario() -> None:
        with anyio.fail_after(REQUEST_TIMEOUT_S):
            request = asyncio.create_task(_publish(api, n))
            await committing.wait()
            request.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await request
            go_on.set()
            await invalidated.wait()

    api.call(scenario)
    version = api.call(scenes.by_number, "pub", n)
    assert api.call(scenes.get_scene, "pub").latest_version == n
    assert [(e.type, e.body.get("version", e.body.get("etag"))) for e in sent] == [
        ("scene.published", n),
        ("scene.invalidated", version.etag),
    ]
    assert _stored(api)[-2:] == [("scene.published", n), ("scene.invalidated", version.etag)]
    assert api.get("/scenes/pub.glb").headers["etag"] == f'"{version.etag}"'


@pytest.mark.parametrize("move", sorted(MOVES))
def test_publish_cancelled_before_committing_moves_nothing_and_sends_nothing(
    published: Api, monkeypatch: pytest.MonkeyPatch, move: str
) -> None:
    """A publish whose client left while its transaction's body ran is rolled back: no pointer moved, no event
    stored or sent."""
    api, n = published, MOVES[move]
    scenes, log = api.services.scenes, api.app.state.jobs.store.log
    before = _stored(api)
    sent, _ = _sent(api, monkeypatch)
    append, appending = log.append, asyncio.Event()

    async def stalled(conn: Any, type_: str, *args: Any) -> Any:
        event = await append(conn, type_, *args)
        if type_ == "scene.published":
            appending.set()
            await asyncio.Event().wait()  # held in the transaction until cancelled
        return event

    monkeypatch.setattr(log, "append", stalled)

    async def scenario() -> None:
        with anyio.fail_after(REQUEST_TIMEOUT_S):
            request = asyncio.create_task(_publish(api, n))
            await appending.wait()
            request.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await request
            await asyncio.gather(*getattr(scenes, "_ending", ()), return_exceptions=True)

    api.call(scenario)
    monkeypatch.undo()
    assert api.call(scenes.get_scene, "pub").latest_version == 2
    assert sent == [] and _stored(api) == before
    again = api.post("/scenes/pub/publish", json={"version": n}, headers=api.auth())
    assert again.status_code == 200, again.text  # nothing left locked
