"""One streamed model round: Chat Completions chunks turned into assist events (docs/assist.md).

The model is any OpenAI-compatible endpoint, called through the official ``openai`` SDK with
``stream=True`` and the tools of :mod:`sceneforge.assist.tools`. Each chunk's ``delta`` may
carry ``content``, reasoning (``reasoning_content`` as vLLM and llama.cpp send it, or
``reasoning`` as Ollama and others do), ``refusal`` (taken as content), and ``tool_calls`` fragments
keyed by ``index`` — the ``id`` and name come first, the arguments in pieces. :class:`Emitter` coalesces consecutive
deltas into batches written to the store at most every :data:`FLUSH_S` seconds (one transaction
per batch, not per token), then wakes the streams that follow the message.

A round is bounded whatever the endpoint does: past :data:`CHARS_PER_TOKEN` characters per token
the request allowed, or past :data:`MAX_TOOL_CALLS` tool calls, the stream is closed and
:class:`StreamOverrun` raised (an endpoint that ignores ``max_tokens`` would otherwise stream
until the job's timeout, into memory and the message's events). The bytes themselves are read by
:class:`SseDecoder` (the client's Server-Sent Events decoder, :func:`~sceneforge.assist.runner.make_client`):
at most :data:`MAX_STREAM_BYTES` per round and :data:`MAX_EVENT_BYTES` per event, whatever they carry
(comments, envelopes, fields no count above sees). A stream that is no Chat Completions stream — an
event whose data is not JSON, a chunk of the wrong shape — raises :class:`ModelStreamError` saying
which event or chunk and what was wrong.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ..storage.assist import AssistRepository
from ..wire import one_line, shown

log = logging.getLogger(__name__)

__all__ = ["CHARS_PER_TOKEN", "FLUSH_S", "MAX_ERROR_BYTES", "MAX_EVENT_BYTES", "MAX_STREAM_BYTES", "MAX_TOOL_CALLS",
           "Emitter", "ModelStreamError", "RoundResult", "SseDecoder", "StreamOverrun", "ToolCall", "bound_error_body",
           "stream_round"]  # fmt: skip

#: Longest a streamed delta waits before it is written (and visible to readers).
FLUSH_S = 0.05
_DELTAS = {"reasoning_delta", "content_delta", "tool_call_delta"}
#: Characters (content, reasoning, tool call ids, names and arguments, the finish reason) a round may stream per token
#: of its ``max_tokens``: far above any tokenizer's longest token, so only a runaway stream meets it.
CHARS_PER_TOKEN = 32
#: Tool calls one round may make (each runs before the next round: a patch, a scene read).
MAX_TOOL_CALLS = 64
#: Bytes one round's stream may carry, as read (SSE framing, chunk envelopes, comments and all): the
#: character count above sees only what chunks carry, not an endpoint streaming padding or keep-alives.
MAX_STREAM_BYTES = 64 << 20
#: Bytes of one Server-Sent Event (its ``data`` lines together, or one line not yet ended): one chunk
#: carries a few tokens, or a whole tool call (some servers send its arguments at once).
MAX_EVENT_BYTES = 4 << 20


#: Bytes of an endpoint's error answer (a 4xx or 5xx) read; the rest is not (the SDK reads it whole).
MAX_ERROR_BYTES = 1 << 20


class StreamOverrun(Exception):
    """The endpoint streamed past what the round's request allowed; ``str()`` says what and which bound."""


class ModelStreamError(Exception):
    """The endpoint streamed something that is no Chat Completions stream; ``str()`` says what and where."""


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


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf8(text: str) -> str:
    """``text`` with each lone surrogate U+FFFD: a chunk's JSON escape ``"\\ud800"`` (half an emoji, as a
    tokenizer may cut one) decodes to one, which no UTF-8 carries (its pair, ``"\\ud83d\\ude00"``, is one
    character already)."""
    return _LONE_SURROGATE.sub("\ufffd", text)


_LINE_END = re.compile(rb"[\r\n]")
_BOM = b"\xef\xbb\xbf"


class SseDecoder:
    """Server-Sent Events read as the WHATWG rules read them, within :data:`MAX_EVENT_BYTES` and
    :data:`MAX_STREAM_BYTES` (the ``openai`` SDK's own decoder buffers a line or an event of any length).

    The ``openai`` client's decoder hook (``_make_sse_decoder``: a new one per stream, so per round). Lines
    end with CR, LF or CRLF; a comment (``:``) and an unknown field are skipped; an event is dispatched at a
    blank line only when its ``data`` holds more than blanks (an ``event:`` or ``id:`` alone dispatches nothing, nor
    does a bare ``data:`` — the SDK's decoder handed such an event on, whose empty data then failed as JSON); bytes
    that are not UTF-8 are read as U+FFFD; one byte order mark opening the stream is skipped; an event the stream
    ends inside is dropped. Its events say which they are
    (:func:`_event_type`), so data that is not JSON fails naming the event.
    """

    def __init__(self) -> None:
        self.events = 0
        self._kind: str | None = None
        self._data: list[str] = []
        self._size = 0
        self._last_id: str | None = None
        self._pending = bytearray()  # the bytes of a line not ended yet
        self._total = 0
        self._searched = 0  # where in ``_pending`` a line's end may still be
        self._opened = False  # whether the stream's first bytes (a byte order mark or not) were read

    def iter_bytes(self, iterator: Iterator[bytes]) -> Iterator[Any]:
        for chunk in iterator:
            yield from self._take(chunk)
        self._finish()

    async def aiter_bytes(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        async for chunk in iterator:
            for event in self._take(chunk):
                yield event
        self._finish()

    def _take(self, chunk: bytes) -> Iterator[Any]:
        """The events ``chunk`` completes, as each is read; the bytes of a line not ended yet stay for the next one."""
        self._total += len(chunk)
        if self._total > MAX_STREAM_BYTES:
            raise StreamOverrun(f"the model endpoint streamed more than {MAX_STREAM_BYTES:,} bytes in one round")
        pending = self._pending
        pending += chunk
        if not self._opened:  # one U+FEFF opening the stream is no text: it made the first field "\ufeffdata"
            if _BOM.startswith(pending):
                return  # all of it may be the mark (or its first bytes): the next read tells
            if pending.startswith(_BOM):
                del pending[: len(_BOM)]
            self._opened = True
        start = 0
        while (found := _LINE_END.search(pending, max(start, self._searched))) is not None:
            end = found.start()
            if pending[end] == 0x0D and end + 1 == len(pending):
                break  # a CR ending this read may be the first half of a CRLF
            line = bytes(pending[start:end])
            start = end + (2 if pending[end : end + 2] == b"\r\n" else 1)
            event = self._line(line)
            if event is not None:
                yield event
        del pending[:start]
        self._searched = max(0, len(pending) - 1)
        if self._size + len(pending) > MAX_EVENT_BYTES:
            raise StreamOverrun(f"the model endpoint streamed an event of more than {MAX_EVENT_BYTES:,} bytes")

    def _finish(self) -> None:
        """The end of the stream: a last line without its end is read; an event without its blank line is dropped."""
        if self._pending and self._opened:
            self._line(bytes(self._pending.rstrip(b"\r")))
            self._pending.clear()

    def _line(self, raw: bytes) -> Any:
        if not raw:
            data, kind = self._data, self._kind
            self._data, self._kind, self._size = [], None, 0
            if not data or not "".join(data).strip():  # a bare ``data:`` (a keep-alive) carries no chunk
                return None
            self.events += 1
            event = _event_type()(event=kind, data="\n".join(data), id=self._last_id)
            event.number = self.events
            return event
        text = raw.decode("utf-8", "replace")
        if text.startswith(":"):
            return None
        name, _, value = text.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
            self._size += len(raw)
            if self._size > MAX_EVENT_BYTES:
                raise StreamOverrun(f"the model endpoint streamed an event of more than {MAX_EVENT_BYTES:,} bytes")
        elif name == "event":
            self._kind = value
        elif name == "id" and "\0" not in value:
            self._last_id = value
        return None


async def bound_error_body(response: Any) -> None:
    """The client's response hook: an error answer's body is read up to :data:`MAX_ERROR_BYTES` as sent.

    The SDK reads an error's body whole (to quote it), so an endpoint answering 500 with gigabytes held them
    all in memory; a compressed one counted as what it unpacks to. Here the body stops at the bound, and is
    not decompressed (its ``Content-Encoding`` dropped: a bomb is quoted as the bytes it is, not unpacked)."""
    if response.status_code < 400:
        return
    import httpx2

    class Truncated(httpx2.AsyncByteStream):
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __aiter__(self) -> AsyncIterator[bytes]:
            left = MAX_ERROR_BYTES
            async for piece in self.inner:
                yield piece[:left]
                left -= len(piece)
                if left <= 0:
                    return

        async def aclose(self) -> None:
            await self.inner.aclose()

    response.headers.pop("content-encoding", None)
    response.stream = Truncated(response.stream)


@functools.cache
def _event_type() -> Any:
    """The SDK's event type, whose ``json()`` names the event when its data is not JSON (made on first use:
    importing the SDK takes a while)."""
    from openai._streaming import ServerSentEvent

    class Event(ServerSentEvent):
        number = 0

        def json(self) -> Any:
            try:
                return json.loads(self.data)
            except (ValueError, RecursionError) as exc:
                quoted = shown(one_line(self.data), 120)
                raise ModelStreamError(
                    f"event {self.number} of the model's stream is not JSON ({exc}): {quoted!r}"
                ) from None

    return Event


def _chunk_error(n: int, round_: int, where: str, value: Any, want: str) -> ModelStreamError:
    got = "null" if value is None else type(value).__name__
    return ModelStreamError(f"chunk {n} of round {round_} is no Chat Completions chunk: {where} is {got}, not {want}")


def _check_chunk(chunk: Any, n: int, round_: int) -> None:
    """Raise :class:`ModelStreamError` unless ``chunk`` has the shape of a ``chat.completion.chunk``.

    The SDK builds chunks without validating them, so a field of another type reached the code reading it
    (a number for ``content``, a string for ``delta``) and failed there with a message naming neither."""

    def check(value: Any, where: str, kinds: type | tuple[type, ...], want: str) -> None:
        if value is not None and not isinstance(value, kinds):
            raise _chunk_error(n, round_, where, value, want)

    if not isinstance(chunk, BaseModel):
        raise _chunk_error(n, round_, "the chunk", chunk, "an object")
    choices = getattr(chunk, "choices", None)
    check(choices, "choices", list, "an array")
    for i, choice in enumerate(choices or []):
        if not isinstance(choice, BaseModel):
            raise _chunk_error(n, round_, f"choices[{i}]", choice, "an object")
        check(getattr(choice, "index", None), f"choices[{i}].index", int, "an integer")
        check(getattr(choice, "finish_reason", None), f"choices[{i}].finish_reason", str, "a string")
        delta = getattr(choice, "delta", None)
        check(delta, f"choices[{i}].delta", BaseModel, "an object")
        if delta is None:
            continue
        check(getattr(delta, "content", None), f"choices[{i}].delta.content", str, "a string")
        check(getattr(delta, "refusal", None), f"choices[{i}].delta.refusal", str, "a string")
        fragments = getattr(delta, "tool_calls", None)
        check(fragments, f"choices[{i}].delta.tool_calls", list, "an array")
        for j, fragment in enumerate(fragments or []):
            where = f"choices[{i}].delta.tool_calls[{j}]"
            if not isinstance(fragment, BaseModel):
                raise _chunk_error(n, round_, where, fragment, "an object")
            check(getattr(fragment, "index", None), f"{where}.index", int, "an integer")
            check(getattr(fragment, "id", None), f"{where}.id", str, "a string")
            function = getattr(fragment, "function", None)
            check(function, f"{where}.function", BaseModel, "an object")
            if function is not None:
                check(getattr(function, "name", None), f"{where}.function.name", str, "a string")
                check(getattr(function, "arguments", None), f"{where}.function.arguments", str, "a string")


async def _close_iteration(chunks: Any, stream: Any) -> None:
    """Close the SDK stream's generators (its ``__aiter__`` and the ``_iterator`` it reads, which holds the
    response's byte iterators), then the response itself."""
    for gen in (chunks, getattr(stream, "_iterator", None)):
        close = getattr(gen, "aclose", None)
        if close is not None:
            await close()
    await stream.close()


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
    routes: dict[int | None, ToolCall] = {}  # the endpoint's index of a fragment → the call it adds to
    stream = await client.chat.completions.create(
        model=model, messages=messages, tools=tools, stream=True, max_tokens=max_tokens
    )
    bound, n = _Bound(max_tokens), 0
    other: int | None = None  # the first index of another choice than 0 the endpoint streamed (not read)
    first = False  # whether it streamed choice 0
    # The iteration's generators are closed here, while the loop runs: a round that ends at its finish_reason
    # leaves them suspended, and collected later (after the loop closed) each was an unraisable warning.
    chunks = stream.__aiter__()
    try:
        async for chunk in chunks:
            n += 1
            _check_chunk(chunk, n, round_)
            usage = getattr(chunk, "usage", None)
            tokens = getattr(usage, "completion_tokens", None) if isinstance(usage, BaseModel) else None
            if isinstance(tokens, int) and tokens > 0:
                out.completion_tokens = tokens
            for choice in chunk.choices or []:
                # The request asks for one answer (``n`` is 1): choice 0, as the SDK numbers choices (a server that
                # numbers none streams only that one). Another choice was merged into it: its text, its calls.
                index = getattr(choice, "index", None) or 0
                if index != 0:
                    other = index if other is None else other  # not a set: 64 MiB of choices made millions
                    continue
                first = True
                delta = choice.delta
                if delta is not None:
                    await _delta(delta, out, calls, routes, emitter, round_, bound)
                if choice.finish_reason:
                    reason = _utf8(choice.finish_reason)
                    bound.take(len(reason))  # counted as any text it streams: it is stored with the answer
                    out.finish_reason = reason
            if out.finish_reason is not None:
                # The answer is whole at its finish_reason: ``data: [DONE]`` (or a usage chunk, which is asked for
                # only with ``stream_options``) is not waited for — a stream never ended ran into the timeout.
                break
    finally:
        await _close_iteration(chunks, stream)
    if out.finish_reason is None:  # the connection closed early (a crash, a proxy's timeout): the round is not whole
        kind = _media_type(stream)
        if n == 0 and kind != "text/event-stream":  # no event at all: a whole JSON answer, an HTML page
            raise ModelStreamError(
                f"the model endpoint answered {kind or 'without a Content-Type'}, not a stream of events"
                " (text/event-stream): it does not stream, or the base URL is not a Chat Completions API"
            )
        if other is not None and not first:
            raise ModelStreamError(
                f"the model's stream of round {round_} carried choice {other} and no choice 0: the request asks for"
                " one answer (n=1), choice 0"
            )
        raise ModelStreamError(
            f"the model's stream of round {round_} ended after {n} chunks without a finish_reason: it was cut short"
        )
    out.calls = [calls[i] for i in sorted(calls)]
    for call in out.calls:
        if not call.started:
            await start_call(emitter, call, round_)
    if not out.completion_tokens:  # the server sent no usage: about four characters a token
        text = out.content + out.reasoning + "".join(c.arguments for c in out.calls)
        out.completion_tokens = (len(text) + 3) // 4
    return out


class _Bound:
    """The characters one round may stream (:data:`CHARS_PER_TOKEN` per token of its ``max_tokens``)."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens, self.most, self.size = max_tokens, CHARS_PER_TOKEN * max_tokens, 0

    def take(self, chars: int) -> None:
        """Count ``chars`` more, or raise :class:`StreamOverrun` before they are kept: one chunk (an event of up to
        :data:`MAX_EVENT_BYTES`) counted after it was stored had its megabytes written already."""
        if self.size + chars > self.most:
            raise StreamOverrun(
                f"the model streamed over {self.most:,} characters in one round, {CHARS_PER_TOKEN} per token of the"
                f" {self.max_tokens} it was allowed (SCENEFORGE_LLM_MAX_TOKENS): the endpoint ignores max_tokens"
            )
        self.size += chars


def _media_type(stream: Any) -> str:
    """The media type of the response ``stream`` reads (lower case, without parameters); empty when none is known."""
    headers = getattr(getattr(stream, "response", None), "headers", None)
    value = headers.get("content-type", "") if headers is not None else ""
    return str(value).split(";")[0].strip().lower()


async def _delta(
    delta: Any,
    out: RoundResult,
    calls: dict[int, ToolCall],
    routes: dict[int | None, ToolCall],
    emitter: Emitter,
    round_: int,
    bound: _Bound,
) -> None:
    """Add one chunk's delta to ``out`` and emit it, each piece counted by ``bound`` before it is kept.

    Text is taken as :func:`_utf8` makes it: it is stored, streamed to clients as UTF-8 and sent back to the model
    in the next round's request, none of which can carry a lone surrogate."""
    reasoning = _reasoning(delta)
    if reasoning:
        reasoning = _utf8(reasoning)
        bound.take(len(reasoning))
        out.reasoning += reasoning
        await emitter.emit("reasoning_delta", {"text": reasoning})
    # A refusal (OpenAI streams it in ``refusal``, ``content`` null) is the answer the user reads: dropped, the
    # message ended ``done`` with no text at all.
    for text in (delta.content, getattr(delta, "refusal", None)):
        if not text:
            continue
        content = _utf8(text)
        bound.take(len(content))
        out.content += content
        await emitter.emit("content_delta", {"text": content})
    for fragment in delta.tool_calls or []:
        # A fragment adds to the call its index names, or, without one, to the last call (the last without one,
        # if any). One with another id than that call's is a call of its own: a server that numbers no call (or
        # numbers each 0) sent each whole, and they were joined into one ("get_sceneget_cell", arguments "{}{…}").
        call = routes.get(fragment.index)
        if call is None and fragment.index is None and calls:  # a continuation numbered on its first fragment only
            call = next(reversed(calls.values()))
        function = fragment.function
        if call is None or (fragment.id and call.call_id and _utf8(fragment.id) != call.call_id):
            if len(calls) == MAX_TOOL_CALLS:  # checked per call: one chunk may carry thousands, each an event
                raise StreamOverrun(f"the model made more than {MAX_TOOL_CALLS} tool calls in one round")
            for earlier in calls.values():  # another call begins: those before it are whole, their names too
                if not earlier.started and earlier.name:
                    await start_call(emitter, earlier, round_)
            index = fragment.index
            if index is None or index in calls:  # numbered after the others
                index = max(calls, default=-1) + 1
            call = calls[index] = routes[fragment.index] = ToolCall(index)
        if fragment.id and (call_id := _utf8(fragment.id)) != call.call_id:
            # Counted once per call (some servers repeat it on every fragment): an id is stored and streamed with each
            # of the call's events and sent back twice in each later request, so ids of megabytes went unbounded.
            bound.take(len(call_id))
            call.call_id = call_id
        if function is not None and function.name:
            name = _utf8(function.name)
            bound.take(len(name))
            call.name += name
        if function is not None and function.arguments:
            # Started once its name is whole, which its arguments follow (a name may stream in pieces: "get_",
            # "scene"); else when another call begins, or at the round's end (stream_round).
            if not call.started and call.name:
                await start_call(emitter, call, round_)
            arguments = _utf8(function.arguments)
            bound.take(len(arguments))
            call.arguments += arguments
            await emitter.emit("tool_call_delta", {"index": call.index, "text": arguments})


async def start_call(emitter: Emitter, call: ToolCall, round_: int) -> None:
    call.started = True
    data = {"index": call.index, "callId": call.call_id, "name": call.name, "round": round_}
    await emitter.emit("tool_call_start", data)
