"""The shared replay loop over a real log (SQLite and PostgreSQL): every logged event after a position, in
bounded pages, once; and what concurrent replays of a large history hold in memory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from sceneforge.api.events import SseResponse
from sceneforge.events import Event, EventHub, EventLog, MemoryBus
from sceneforge.events.replay import REPLAY_PAGE_BYTES, REPLAY_PAGE_EVENTS, Replay, replay, resume_point, unseen
from sceneforge.events.sse import sse_stream
from sceneforge.storage.tables import events

from ..storage.conftest import database_url, engine  # noqa: F401 - fixtures


async def test_replay_crosses_pages_and_filters_by_scene(engine: Any) -> None:  # noqa: F811
    log = EventLog(engine)
    async with engine.begin() as conn:
        for i in range(REPLAY_PAGE_EVENTS + 7):
            await log.append(conn, "job.status", "a" if i % 3 else "b", {"i": i})
    pages = [page async for page in replay(log, 0)]
    assert [len(page) for page in pages] == [REPLAY_PAGE_EVENTS, 7]
    seen = [event for page in pages for event in page]
    assert [e.body["i"] for e in seen] == list(range(REPLAY_PAGE_EVENTS + 7))
    after = seen[10].seq
    assert after is not None
    only_b = [event async for page in replay(log, after, scene_id="b") for event in page]
    assert [e.body["i"] for e in only_b] == [i for i in range(11, REPLAY_PAGE_EVENTS + 7) if i % 3 == 0]
    assert [page async for page in replay(log, seen[-1].seq or 0)] == []


async def test_replay_pages_stop_at_their_bytes_and_hold_one_event_at_least(engine: Any) -> None:  # noqa: F811
    """A page ends once its events' stored JSON reaches the byte bound (the event that crosses it included),
    an event larger than the bound is a page of its own, and every event comes once, in order."""
    log = EventLog(engine)
    sizes = [300] * 4 + [5000] + [300] * 2 + [2000, 2000]
    async with engine.begin() as conn:
        for i, size in enumerate(sizes):
            await log.append(conn, "job.status", "a", {"i": i, "pad": "x" * size})
    bound = 1000
    pages = [page async for page in Replay(log, 0, max_events=100, max_bytes=bound)]
    assert [e.body["i"] for page in pages for e in page] == list(range(len(sizes)))
    assert [len(page) for page in pages] == [4, 1, 3, 1]  # the 5000-byte event alone
    for page in pages:  # below the bound until the last event of the page
        assert sum(len(json.dumps(e.body)) for e in page[:-1]) < bound
    assert [len(page) async for page in Replay(log, 0, scene_id="a", max_events=3, max_bytes=10**6)] == [3, 3, 3]


async def test_replay_then_live_across_pages_leaves_no_gap_and_no_duplicate(engine: Any) -> None:  # noqa: F811
    """Events published while a stream replays a history of many pages, before and after the page that
    holds them is read, reach it once each, in order: the live queue skips what the replay sent."""
    log = EventLog(engine)
    async with engine.begin() as conn:
        for i in range(3 * REPLAY_PAGE_EVENTS):
            await log.append(conn, "job.status", "room", {"i": i})
    hub = EventHub(log, MemoryBus())
    await hub.start()
    try:
        stream = sse_stream(hub, log, since=0, heartbeat_s=0.2)
        assert (await anext(stream)).startswith(b"retry:")
        body = await anext(stream)  # the first page
        live = [await log.append_now("job.status", "room", {"i": -1 - i}) for i in range(3)]
        for event in live:
            await hub.publish(event)  # stored past the history: replayed by a later page and queued live
        top = live[-1].seq
        assert top is not None
        while f"id: {top}\n".encode() not in body:
            body += await anext(stream)
        ids = [int(line[4:]) for line in body.split(b"\n") if line.startswith(b"id: ")]
        assert ids == list(range(1, top + 1)) and top == 3 * REPLAY_PAGE_EVENTS + 3
        assert await anext(stream) == b": ping\n\n"  # nothing more: no duplicate came live
        await stream.aclose()
    finally:
        await hub.close()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seqs=st.lists(st.one_of(st.none(), st.integers(0, 40)), max_size=30), sent=st.integers(0, 40))
def test_unseen_sends_each_logged_event_once_and_every_ephemeral_one(seqs: list[int | None], sent: int) -> None:
    events = [Event(seq, "job.status", "s", "2026-01-01T00:00:00.000Z") for seq in seqs]
    fresh, last = unseen(events, sent)
    logged = [e.seq for e in fresh if e.seq is not None]
    assert logged == sorted(set(logged)) and all(s > sent for s in logged)
    assert sum(e.seq is None for e in fresh) == seqs.count(None)
    assert last == max([sent, *logged])


#: A history of 2,000 job events of about 900 bytes of JSON each: 1.8 MB.
HISTORY_EVENTS = 2000
#: Streams resuming from the start of it at once.
STREAMS = 40
#: The most a replaying stream may add to the server's memory at its peak: a few pages.
PER_STREAM_BYTES = 4 * REPLAY_PAGE_BYTES


def _job(i: int) -> dict[str, Any]:
    return {"job": {"id": f"job-{i:06d}", "sceneId": "room", "state": "Running", "percent": i % 100, "log": "x" * 800}}


async def _stalled_replays(hub: EventHub, n: int) -> list[asyncio.Task[None]]:
    """``n`` SSE streams resuming from seq 0, each served (as the API serves it) to a client that takes the
    stream's first chunk of events and then reads nothing more: every stream waits in a send, as one does
    on a slow connection. Returns once all of them wait."""
    waiting = asyncio.Event()
    stalled = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal stalled
        if message["type"] == "http.response.body" and b"\nid: " in b"\n" + message["body"]:
            stalled += 1
            if stalled == n:
                waiting.set()
            await asyncio.Event().wait()  # the client reads nothing more

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def serve() -> None:
        sub = hub.subscribe(None)
        response = SseResponse(sse_stream(hub, hub.log, since=0, subscription=sub), sub)
        scope = {"type": "http", "method": "GET", "path": "/events", "headers": [], "asgi": {"spec_version": "2.4"}}
        await response(scope, receive, send)

    tasks = [asyncio.create_task(serve()) for _ in range(n)]
    await asyncio.wait_for(waiting.wait(), 120)
    return tasks


async def _ended(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for _ in range(5):  # a stream's body left suspended is closed by the loop (asyncio's asyncgen finalizer)
        gc.collect()
        await asyncio.sleep(0)


async def test_concurrent_replays_of_a_large_history_hold_a_bounded_page_each(engine: Any) -> None:  # noqa: F811
    """Streams resuming from the start of a long history at once each hold one bounded page (read from the log,
    decoded, framed, waiting on its client), not the history or a large part of it: the memory of the server
    process (Python's allocations, traced) grows by at most :data:`PER_STREAM_BYTES` a stream at its peak."""
    rows = [
        {"type": "job.status", "scene_id": "room", "ts": datetime.now(UTC), "payload": _job(i)}
        for i in range(HISTORY_EVENTS)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(events), rows)
    history = sum(len(json.dumps(r["payload"])) for r in rows)
    assert 1.7e6 < history < 1.9e6
    del rows
    hub = EventHub(EventLog(engine), MemoryBus())
    await hub.start()
    tracemalloc.start()
    try:
        await _ended(await _stalled_replays(hub, STREAMS))  # warm: the pool's connections, compiled queries
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        tasks = await _stalled_replays(hub, STREAMS)
        held, peak = tracemalloc.get_traced_memory()
        await _ended(tasks)
    finally:
        tracemalloc.stop()
        await hub.close()
    # Each stream: its page decoded (dicts), framed, one chunk waiting on the client, its subscription. About
    # 140 KiB at the peak (64 KiB pages); read 500 events at a time, each held about 2.5 MB of this 1.8 MB history.
    assert (peak - base) / STREAMS < PER_STREAM_BYTES, (peak - base, held - base, history)


async def test_replay_cut_by_its_clients_leaving_returns_its_connections(engine: Any) -> None:  # noqa: F811
    """A stream whose client leaves is cancelled by anyio's cancel scope (Starlette's), which cancels again at every
    await. A page read cut so tore its connection down mid-query, and cut SQLAlchemy's shielded graceful close too:
    "Task was destroyed but it is pending!" in the server log for each client that left mid-replay. The read now
    ends on its own and its connection goes back to the pool."""
    now = datetime.now(UTC)
    rows = [{"type": "job.status", "scene_id": "a", "ts": now, "payload": {"pad": "x" * 2000}} for _ in range(2000)]
    async with engine.begin() as conn:
        await conn.execute(insert(events), rows)
    log = EventLog(engine)
    loop = asyncio.get_running_loop()
    problems: list[str] = []
    handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: problems.append(context["message"]))
    try:
        for turns in range(1, 400, 7):  # cut at many points of the reads: most land while a query runs
            with anyio.CancelScope() as scope:
                loop.call_soon(_cancel_after, loop, scope, turns)
                async for _page in replay(log, 0, scene_id="a"):
                    pass
        for _ in range(1000):  # the cut reads end on their own
            if engine.pool.checkedout() == 0:
                break
            await asyncio.sleep(0.01)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(handler)
    assert problems == []
    assert engine.pool.checkedout() == 0
    assert [e.body["pad"] for page in await _pages(log) for e in page][:1] == ["x" * 2000]  # the pool still serves


def _cancel_after(loop: asyncio.AbstractEventLoop, scope: anyio.CancelScope, turns: int) -> None:
    """Cancel ``scope`` ``turns`` turns of ``loop`` from now."""
    if turns:
        loop.call_soon(_cancel_after, loop, scope, turns - 1)
    else:
        scope.cancel()


async def _pages(log: EventLog) -> list[list[Event]]:
    return [page async for page in replay(log, 0, scene_id="a")]


async def test_pruning_keeps_a_prefix_free_log_when_writers_clocks_disagree(engine: Any) -> None:  # noqa: F811
    """Each writer stamps ``ts`` with its own clock (API instances, Celery workers on other hosts; a clock stepped
    back), so ``ts`` need not grow with ``seq``. Pruning goes by age, yet must take a prefix of the log: an event
    pruned above one still held would be a hole no ``stream.reset`` tells of (``oldest`` is below it), and a client
    resuming under it would skip it in silence (docs/events.md, "Resuming")."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    skew = [0, 10, 5, 20, 3, 30]  # seconds after t0 each event was stamped: seqs 3 and 5 by a clock running behind
    rows = [{"type": "job.status", "scene_id": "a", "ts": t0 + timedelta(seconds=s), "payload": {}} for s in skew]
    async with engine.begin() as conn:
        await conn.execute(insert(events), rows)
    log = EventLog(engine)
    stored = [event.seq async for page in replay(log, 0) for event in page]
    await log.prune(timedelta(seconds=1), now=t0 + timedelta(seconds=8))  # cutoff t0 + 7 s
    oldest, newest = await log.bounds()
    assert newest == stored[-1]
    kept = [event.seq for event in await log.read(0)]
    assert kept == [s for s in stored if s >= oldest]  # every event from the oldest on: no hole
    assert oldest == stored[1]  # only the events before the first one stamped after the cutoff went
    for since in [0, *stored]:
        position, reset = await resume_point(log, since, live_from=newest)
        replayed = [event.seq async for page in replay(log, position) for event in page]
        assert reset is not None or replayed == [s for s in stored if s > since], since


async def test_events_pruned_while_a_replay_is_read_are_told_not_skipped(engine: Any) -> None:  # noqa: F811
    """A replay reads its pages as its client takes them, and pruning runs meanwhile: events after the last one
    sent that were pruned before the next page was read are told by a ``stream.reset`` ahead of that page, as a
    position pruned before the stream opened is, never skipped in silence (docs/events.md, "Resuming")."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {"type": "job.status", "scene_id": "a", "ts": t0 + timedelta(hours=i // 300), "payload": {"i": i}}
        for i in range(600)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(events), rows)
    log = EventLog(engine)
    first, newest = await log.bounds()
    position, reset = await resume_point(log, 0, live_from=newest)
    assert (position, reset) == (0, None)
    pages = Replay(log, position, max_events=100, max_bytes=10**6)
    page = await anext(pages)
    assert [e.seq for e in page] == list(range(first, first + 100))
    assert await log.prune(timedelta(minutes=30), now=t0 + timedelta(hours=1)) == 300  # seqs first..first+299 go
    told, *rest = await anext(pages)
    assert (told.seq, told.type, told.scene_id) == (
        None,
        "stream.reset",
        None,
    )
    assert (told.body["reason"], told.body["since"], told.body["oldest"], told.body["newest"]) == (
        "pruned",
        first + 99,
        first + 300,
        newest,
    )
    assert [e.seq for e in rest] == list(range(first + 300, first + 400))
    later = [e async for page in pages for e in page]
    assert [e.seq for e in later] == list(range(first + 400, newest + 1))  # told once
    # a stream resuming where the log was pruned is told once, before its first page, not again by the replay
    position, reset = await resume_point(log, first + 10, live_from=newest)
    assert reset is not None and reset.body["reason"] == "pruned"
    replayed = [e async for page in Replay(log, position, max_events=100, max_bytes=10**6) for e in page]
    assert [e.seq for e in replayed] == list(range(first + 300, newest + 1))
