"""One streamed round, however the server splits it: what the model said, the calls it made, and the stored
events (coalesced deltas, seqs 1..n) — real SDK, real loopback server, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import insert

from sceneforge.assist.runner import make_client
from sceneforge.assist.stream import Emitter, stream_round
from sceneforge.assist.tools import TOOLS
from sceneforge.settings import LlmSettings
from sceneforge.storage import create_engine, default_url, upgrade
from sceneforge.storage.assist import AssistRepository
from sceneforge.storage.tables import scenes
from tests.assist.llm_server import Reply, ScriptedLlm
from tests.support.servers import create_database

pieces = st.lists(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12), max_size=6
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = (
        default_url(tmp_path) if request.param == "sqlite" else create_database(request.getfixturevalue("postgres_url"))
    )
    upgrade(url)
    return url


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    reasoning=pieces,
    content=pieces,
    args=st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=10)), max_size=4),
    cuts=st.integers(1, 8),
    field=st.sampled_from(["reasoning_content", "reasoning"]),
)
def test_stream_round_any_split(
    database: str, reasoning: list[str], content: list[str], args: dict[str, object], cuts: int, field: str
) -> None:
    text = json.dumps(args)
    step = max(1, -(-len(text) // cuts))
    fragments = [text[i : i + step] for i in range(0, len(text), step)]
    reply = Reply(reasoning=reasoning, content=content, calls=[("get_cell", fragments)], reasoning_field=field)

    async def body(llm: ScriptedLlm) -> None:
        engine = create_engine(database)
        repo = AssistRepository(engine)
        client = make_client(LlmSettings(base_url=llm.base_url, api_key=SecretStr("test-key")))
        try:
            scene_id = uuid.uuid4().hex  # a session belongs to an existing scene
            async with engine.begin() as conn:
                now = datetime.now(UTC)
                await conn.execute(insert(scenes).values(id=scene_id, private=False, created_at=now, updated_at=now))
            turn = await repo.start_turn(scene_id, None, author="t", text="hi", model="m")
            emitter = Emitter(repo, turn.message_id, lambda _: None)
            out = await stream_round(client, model="m", messages=[], tools=TOOLS, max_tokens=100, emitter=emitter,
                                     round_=1)  # fmt: skip
            await emitter.flush()
            events = await repo.events(turn.message_id)
        finally:
            await client.close()
            await engine.dispose()
        assert out.content == "".join(content) and out.reasoning == "".join(reasoning)
        assert [(c.name, c.arguments) for c in out.calls] == [("get_cell", text)] and out.finish_reason == "tool_calls"
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        joined = {k: "".join(str(e.data["text"]) for e in events if e.type == k) for k in ("reasoning_delta",
                  "content_delta", "tool_call_delta")}  # fmt: skip
        assert joined == {"reasoning_delta": out.reasoning, "content_delta": out.content, "tool_call_delta": text}
        assert [e.type for e in events].count("tool_call_start") == 1
        # coalesced: never more delta events than the server sent pieces
        assert sum(e.type == "content_delta" for e in events) <= sum(1 for p in content if p)
        assert sum(e.type == "tool_call_delta" for e in events) <= len(fragments)

    with ScriptedLlm([reply]) as llm:
        asyncio.run(body(llm))


@settings(max_examples=50, deadline=None)
@given(
    raw=st.lists(
        st.sampled_from([b'data: {"a": 1}', b"data: [2]", b"event: x", b"id: 7", b": note", b"", b"data:3"]),
        max_size=12,
    ).map(lambda lines: b"".join(line + end for line, end in zip(lines, [b"\n", b"\r\n", b"\r"] * 4, strict=False))),
    cuts=st.lists(st.integers(0, 200), max_size=6),
)
def test_sse_decoder_reads_the_same_events_from_plain_and_async_bytes(raw: bytes, cuts: list[int]) -> None:
    """The decoder's plain ``iter_bytes`` (the SDK's synchronous client hook) gives what its ``aiter_bytes``
    gives, however the bytes are split into reads (a CRLF across two reads included)."""
    from sceneforge.assist.stream import SseDecoder

    bounds = sorted({0, len(raw), *(c for c in cuts if c < len(raw))})
    chunks = [raw[a:b] for a, b in pairwise(bounds)]

    async def reads() -> Any:
        for chunk in chunks:
            yield chunk

    async def collect() -> list[tuple[str | None, str, str | None]]:
        return [(e.event, e.data, e.id) async for e in SseDecoder().aiter_bytes(reads())]

    plain = [(e.event, e.data, e.id) for e in SseDecoder().iter_bytes(iter(chunks))]
    assert plain == asyncio.run(collect())
    assert plain == [(e.event, e.data, e.id) for e in SseDecoder().iter_bytes(iter([raw]))]


def test_appends_racing_the_end_of_a_message_keep_its_seqs(database: str) -> None:
    """The answer's writer appends events while a sweep may end the message (its process was found gone): on
    PostgreSQL both read the last seq at once and wrote the same next one (a unique violation: the writer, or the
    sweep, failed), and an append after the end put events past the terminal one. Appends take the message's row
    first and a message that ended takes no more: seqs 1..n, the terminal event last."""

    async def body() -> tuple[list[Any], list[bool]]:
        engine = create_engine(database)
        repo = AssistRepository(engine)
        try:
            scene_id = uuid.uuid4().hex
            async with engine.begin() as conn:
                now = datetime.now(UTC)
                await conn.execute(insert(scenes).values(id=scene_id, private=False, created_at=now, updated_at=now))
            turn = await repo.start_turn(scene_id, None, author="t", text="hi", model="m")

            async def writer(k: int) -> None:
                for j in range(6):
                    await repo.append(turn.message_id, [("content_delta", {"text": f"{k}.{j} "})])

            error = {"code": "interrupted", "message": "gone"}
            ending = [repo.finish(turn.message_id, "error", events=[("error", error)], error=error) for _ in range(3)]
            got = await asyncio.gather(*(writer(k) for k in range(4)), *ending)
            return await repo.events(turn.message_id), [g for g in got if g is not None]
        finally:
            await engine.dispose()

    for _ in range(5):
        events, ended = asyncio.run(body())
        assert ended.count(True) == 1, ended  # the message ends once
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[-1].type == "error" and [e.type for e in events].count("error") == 1


def test_sse_decoder_ignores_a_byte_order_mark_opening_the_stream() -> None:
    """One U+FEFF at the very start of a stream is ignored (WHATWG HTML, server-sent events): it made the first line's
    field ``\\ufeffdata``, an unknown one, so the stream's first event was dropped (an answer of one chunk, whole).
    However the reads split it; a U+FEFF anywhere else is text as ever."""
    from sceneforge.assist.stream import SseDecoder

    raw = b"\xef\xbb\xbfdata: 1\n\ndata: 2\n\n"
    for cut in range(len(raw) + 1):
        for second in range(cut, len(raw) + 1):
            chunks = [raw[:cut], raw[cut:second], raw[second:]]
            assert [e.data for e in SseDecoder().iter_bytes(iter(chunks))] == ["1", "2"], (cut, second)
    assert [e.data for e in SseDecoder().iter_bytes(iter([b"data: 1\n\n\xef\xbb\xbfdata: 2\n\n"]))] == ["1"]
    assert [e.data for e in SseDecoder().iter_bytes(iter([b"\xef\xbb"]))] == []  # a stream of half a mark
