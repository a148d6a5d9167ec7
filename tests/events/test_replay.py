"""The shared replay loop over a real SQLite log: every logged event after a position, across batches, once."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.events import Event, EventLog
from sceneforge.events.replay import REPLAY_BATCH, replay, unseen

from ..jobs.conftest import data_dir, engine  # noqa: F401 - fixtures


async def test_replay_crosses_batches_and_filters_by_scene(engine: Any) -> None:  # noqa: F811
    log = EventLog(engine)
    async with engine.begin() as conn:
        for i in range(REPLAY_BATCH + 7):
            await log.append(conn, "job.status", "a" if i % 3 else "b", {"i": i})
    seen = [event async for batch in replay(log, 0) for event in batch]
    assert [e.body["i"] for e in seen] == list(range(REPLAY_BATCH + 7))
    after = seen[10].seq
    assert after is not None
    only_b = [event async for batch in replay(log, after, scene_id="b") for event in batch]
    assert [e.body["i"] for e in only_b] == [i for i in range(11, REPLAY_BATCH + 7) if i % 3 == 0]
    assert [batch async for batch in replay(log, seen[-1].seq or 0)] == []


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seqs=st.lists(st.one_of(st.none(), st.integers(0, 40)), max_size=30), sent=st.integers(0, 40))
def test_unseen_sends_each_logged_event_once_and_every_ephemeral_one(seqs: list[int | None], sent: int) -> None:
    events = [Event(seq, "job.status", "s", "2026-01-01T00:00:00.000Z") for seq in seqs]
    fresh, last = unseen(events, sent)
    logged = [e.seq for e in fresh if e.seq is not None]
    assert logged == sorted(set(logged)) and all(s > sent for s in logged)
    assert sum(e.seq is None for e in fresh) == seqs.count(None)
    assert last == max([sent, *logged])
