"""One streamed model round: Chat Completions chunks turned into assist events (docs/assist.md).

The model is any OpenAI-compatible endpoint, called through the official ``openai`` SDK with
``stream=True`` and the tools of :mod:`sceneforge.assist.tools`. Each chunk's ``delta`` may
carry ``content``, reasoning (``reasoning_content`` as vLLM and llama.cpp send it, or
``reasoning`` as Ollama and others do), and ``tool_calls`` fragments keyed by ``index`` — the
``id`` and name come first, the arguments in pieces. :class:`Emitter` coalesces consecutive
deltas into batches written to the store at most every :data:`FLUSH_S` seconds (one transaction
per batch, not per token), then wakes the streams that follow the message.

A round is bounded whatever the endpoint does: past :data:`CHARS_PER_TOKEN` characters per token
the request allowed, or past :data:`MAX_TOOL_CALLS` tool calls, the stream is closed and
:class:`StreamOverrun` raised (an endpoint that ignores ``max_tokens`` would otherwise stream
until the job's timeout, into memory and the message's events).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..storage.assist import AssistRepository

log = logging.getLogger(__name__)

__all__ = ["CHARS_PER_TOKEN", "FLUSH_S", "MAX_TOOL_CALLS", "Emitter", "RoundResult", "StreamOverrun", "ToolCall",
           "stream_round"]  # fmt: skip

#: Longest a streamed delta waits before it is written (and visible to readers).
FLUSH_S = 0.05
_DELTAS = {"reasoning_delta", "content_delta", "tool_call_delta"}
#: Characters (content, reasoning, tool names and arguments together) a round may stream per token
#: of its ``max_tokens``: far above any tokenizer's longest token, so only a runaway stream meets it.
CHARS_PER_TOKEN = 32
#: Tool calls one round may make (each runs before the next round: a patch, a scene read).
MAX_TOOL_CALLS = 64


class StreamOverrun(Exception):
    """The endpoint streamed past what the round's request allowed; ``str()`` says what and which bound."""


@dataclass
class ToolCall:
    index: int
    call_id: str = ""
    name: str = ""
    arguments: str = ""
    started: bool = False


@dataclass
class RoundResult:
    content: str = ""
    reasoning: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    completion_tokens: int = 0


class Emitter:
    """Buffers a message's events, coalescing deltas, and writes them in batches."""

    def __init__(self, repo: AssistRepository, message_id: str, notify: Callable[[str], None]) -> None:
        self.repo, self.message_id, self.notify = repo, message_id, notify
        self.buffer: list[tuple[str, dict[str, Any]]] = []
        self.last_flush = time.monotonic()
        self.lock = asyncio.Lock()
        self._writing: asyncio.Future[None] | None = None
        #: Everything streamed so far, all rounds together (kept when a message is cut short).
        self.content = ""
        self.reasoning = ""

    async def emit(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "content_delta":
            self.content += data["text"]
        elif kind == "reasoning_delta":
            self.reasoning += data["text"]
        if kind in _DELTAS and self.buffer:
            last_kind, last = self.buffer[-1]
            if last_kind == kind and last.get("index") == data.get("index"):
                last["text"] += data["text"]
                await self._maybe_flush()
                return
        self.buffer.append((kind, dict(data)))
        if kind not in _DELTAS:
            await self.flush()
        else:
            await self._maybe_flush()

    async def _maybe_flush(self) -> None:
        if time.monotonic() - self.last_flush >= FLUSH_S:
            await self.flush()

    async def flush(self) -> None:
        async with self.lock:
            await self.settled()  # a write whose wait a cancel cut short goes first: seqs stay in order
            items, self.buffer = self.buffer, []
            self.last_flush = time.monotonic()
            if items:
                # Its own task, shielded: a cancel (the job canceled) must not cut the transaction halfway.
                self._writing = asyncio.ensure_future(self._write(items))
                await asyncio.shield(self._writing)

    async def _write(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        await self.repo.append(self.message_id, items)
        self.notify(self.message_id)

    async def settled(self) -> None:
        """Until the last write started has ended (it runs on when a cancel interrupts its caller)."""
        writing = self._writing
        if writing is not None and not writing.done():
            await asyncio.wait({writing})
            if not writing.cancelled() and writing.exception() is not None:
                log.warning("assist message %s: a stream write failed (%s)", self.message_id, writing.exception())

    async def ticker(self) -> None:
        """Flush a stalled stream's last deltas (run as a task while a round streams)."""
        while True:
            await asyncio.sleep(FLUSH_S)
            await self.flush()


def _reasoning(delta: Any) -> str | None:
    for name in ("reasoning_content", "reasoning"):
        value = getattr(delta, name, None)
        if value is None and delta.model_extra:
            value = delta.model_extra.get(name)
        if isinstance(value, str) and value:
            return value
    return None


async def stream_round(
    client: Any,
    *,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    max_tokens: int,
    emitter: Emitter,
    round_: int,
) -> RoundResult:
    """Stream one completion, emitting deltas; returns what the model said and the tool calls it made."""
    out = RoundResult()
    calls: dict[int, ToolCall] = {}
    stream = await client.chat.completions.create(
        model=model, messages=messages, tools=tools, stream=True, max_tokens=max_tokens
    )
    most, size = CHARS_PER_TOKEN * max_tokens, 0
    try:
        async for chunk in stream:
            usage = getattr(chunk, "usage", None)
            if usage is not None and getattr(usage, "completion_tokens", None):
                out.completion_tokens = int(usage.completion_tokens)
            for choice in chunk.choices or []:
                delta = choice.delta
                if delta is not None:
                    size += await _delta(delta, out, calls, emitter, round_)
                if choice.finish_reason:
                    out.finish_reason = choice.finish_reason
            if size > most:
                raise StreamOverrun(
                    f"the model streamed over {most:,} characters in one round, {CHARS_PER_TOKEN} per token of the"
                    f" {max_tokens} it was allowed (SCENEFORGE_LLM_MAX_TOKENS): the endpoint ignores max_tokens"
                )
            if len(calls) > MAX_TOOL_CALLS:
                raise StreamOverrun(f"the model made more than {MAX_TOOL_CALLS} tool calls in one round")
    finally:
        await stream.close()
    out.calls = [calls[i] for i in sorted(calls)]
    for call in out.calls:
        if not call.started:
            await start_call(emitter, call, round_)
    if not out.completion_tokens:  # the server sent no usage: about four characters a token
        text = out.content + out.reasoning + "".join(c.arguments for c in out.calls)
        out.completion_tokens = (len(text) + 3) // 4
    return out


async def _delta(delta: Any, out: RoundResult, calls: dict[int, ToolCall], emitter: Emitter, round_: int) -> int:
    """Add one chunk's delta to ``out`` and emit it; returns how many characters it carried."""
    size = 0
    reasoning = _reasoning(delta)
    if reasoning:
        size += len(reasoning)
        out.reasoning += reasoning
        await emitter.emit("reasoning_delta", {"text": reasoning})
    if delta.content:
        size += len(delta.content)
        out.content += delta.content
        await emitter.emit("content_delta", {"text": delta.content})
    for fragment in delta.tool_calls or []:
        call = calls.get(fragment.index)
        function = fragment.function
        if call is None:
            call = calls[fragment.index] = ToolCall(fragment.index)
        if fragment.id:
            call.call_id = fragment.id
        if function is not None and function.name:
            size += len(function.name)
            call.name += function.name
        if not call.started and call.name:
            await start_call(emitter, call, round_)
        if function is not None and function.arguments:
            size += len(function.arguments)
            call.arguments += function.arguments
            await emitter.emit("tool_call_delta", {"index": call.index, "text": function.arguments})
    return size


async def start_call(emitter: Emitter, call: ToolCall, round_: int) -> None:
    call.started = True
    data = {"index": call.index, "callId": call.call_id, "name": call.name, "round": round_}
    await emitter.emit("tool_call_start", data)
