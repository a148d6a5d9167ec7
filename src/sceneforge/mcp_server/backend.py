"""The service the MCP tools talk to (:class:`Backend`): a remote one over httpx (``--url`` and a key), or
the service of the local data dir run inside this process (same validation, same revisions, its admin key).
Every call is bounded: :data:`TIMEOUT_S` for the whole answer, :data:`MAX_ANSWER_BYTES` of it read."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from .. import jsontext
from ..settings import Settings
from ..wire import one_line, shown

__all__ = ["MAX_ANSWER_BYTES", "PATCH_TYPE", "TIMEOUT_S", "Backend", "local_backend", "remote_backend"]


PATCH_TYPE = "application/json-patch+json"


#: Seconds one request to the service may take, its whole answer read.
TIMEOUT_S = 60.0


#: Most bytes of one answer a tool reads (a meta of ``SCENEFORGE_MAX_CELLS`` cells is a few MB).
MAX_ANSWER_BYTES = 64 << 20


@dataclass
class Backend:
    """The service the tools talk to: an httpx client (remote URL, or the in-process app)."""

    client: httpx.AsyncClient
    where: str
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One request; a JSON object either way (a problem+json becomes ``{"ok": false, …}``).

        The whole exchange takes at most ``TIMEOUT_S`` (httpx's timeout is per read: a server sending
        a byte now and then held the tool for ever) and reads at most ``MAX_ANSWER_BYTES`` of the body;
        an answer that is not strict JSON (an HTML page, NaN) is refused, saying what came back.
        """
        try:
            with anyio.fail_after(TIMEOUT_S):
                status, reason, kind, data = await self._exchange(method, path, **kwargs)
        except TimeoutError:
            return _refused(0, f"{self.where} did not answer within {TIMEOUT_S:g} s")
        except TooLarge:
            return _refused(0, f"{self.where} answered more than {MAX_ANSWER_BYTES:,} bytes; the answer was dropped")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return _refused(0, f"{self.where} is unreachable: {exc}")
        if not data.strip() and status < 400:
            return {"ok": True}
        try:
            body = jsontext.loads(data)
        except (ValueError, RecursionError) as exc:
            said = f"{kind or 'no content type'}, not JSON ({exc}): {shown(_text(data), 200)}"
            return _refused(status, f"{reason}: {said}" if status >= 400 else f"{self.where} answered {said}")
        if status >= 400:
            if not isinstance(body, dict):
                return _refused(status, shown(json.dumps(body), 2000))
            detail = body.get("detail", reason)
            errors = body.get("errors")
            if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
                errors = []
            return _refused(status, detail if isinstance(detail, str) else json.dumps(detail), errors)
        if isinstance(body, dict):
            return {"ok": True, **{k: v for k, v in body.items() if k != "ok"}}
        return {"ok": True, "items": body}

    async def _exchange(self, method: str, path: str, **kwargs: Any) -> tuple[int, str, str, bytes]:
        """Status, reason, content type and body of one request, the body read up to ``MAX_ANSWER_BYTES``."""
        async with self.client.stream(method, path, **kwargs) as reply:
            declared = reply.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                raise TooLarge
            chunks: list[bytes] = []
            size = 0
            async for chunk in reply.aiter_bytes():  # decoded: a gzip bomb counts as what it unpacks to
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise TooLarge
                chunks.append(chunk)
            kind = reply.headers.get("content-type", "").split(";")[0].strip()
            return reply.status_code, reply.reason_phrase, kind, b"".join(chunks)


class TooLarge(Exception):
    """An answer past ``MAX_ANSWER_BYTES``."""


def _refused(status: int, detail: str, errors: list[Any] | None = None) -> dict[str, Any]:
    return {"ok": False, "status": status, "detail": detail, "errors": errors or []}


def _text(data: bytes) -> str:
    return one_line(data[:1000].decode("utf-8", "replace"))


def remote_backend(url: str, key: str) -> Backend:
    """A running service at ``url``, authenticated with an API key."""
    headers = {"X-API-Key": key} if key else {}
    client = httpx.AsyncClient(base_url=url.rstrip("/"), headers=headers, timeout=TIMEOUT_S)
    backend = Backend(client, url)
    backend.stack.push_async_callback(client.aclose)
    return backend


async def local_backend(settings: Settings) -> Backend:
    """The service of the local data dir, in this process (its lifespan entered, its admin key used)."""
    from ..api.app import create_app
    from ..api.server import ensure_admin_key

    app = create_app(settings)
    stack = AsyncExitStack()
    await stack.enter_async_context(app.router.lifespan_context(app))
    key = await ensure_admin_key(app.state.services)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sceneforge.local", headers={"X-API-Key": key},
        timeout=TIMEOUT_S,
    )  # fmt: skip
    stack.push_async_callback(client.aclose)
    return Backend(client, f"the local service ({settings.storage.data_dir})", stack)
