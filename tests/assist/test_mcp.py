"""``sceneforge mcp`` driven by the MCP SDK's own client over stdio (a real subprocess on a real data dir)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from sceneforge.mcp_server.stdio_transport import DRAIN_S
from sceneforge.version import __version__
from tests.api.conftest import start_api
from tests.scenes import TWO_ROOMS
from tests.support.servers import free_port, stop_process

TOOLS = {"validate_scene", "get_draft", "patch_draft", "undo", "enqueue_build", "job_status", "publish", "get_meta"}


def _local_stdio(tmp_path: Path, extra: dict[str, str] | None = None) -> StdioServerParameters:
    """``sceneforge mcp`` over stdio on the local service of ``tmp_path/data``, no outside SCENEFORGE_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")} | (extra or {})
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "sceneforge.cli", "mcp", "--data", str(tmp_path / "data")],
        env=env,
        cwd=str(tmp_path),
    )


def _result(reply: Any) -> dict[str, Any]:
    """The tool's JSON object; a refused request (``"ok": false``) is a tool error (``isError``), nothing else is."""
    got: dict[str, Any] = reply.structured_content
    body = got.get("result", got) if set(got) == {"result"} else got
    assert reply.is_error == (body.get("ok") is False), reply
    return body


def _mock_server(tmp_path: Path, answer: Any, **settings: Any) -> Any:
    """The MCP server over a backend whose HTTP requests ``answer`` (an httpx ``MockTransport`` handler) answers."""
    from sceneforge.mcp_server import Backend, build_server
    from sceneforge.settings import Settings

    async def open_backend() -> Backend:
        return Backend(httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://svc"), "svc")

    return build_server(open_backend, Settings(storage={"data_dir": tmp_path / "data"}, **settings))


def test_mcp_stdio_tools_against_the_local_data_dir(tmp_path: Path) -> None:
    for api in start_api(tmp_path):  # a draft in the data dir, made through the service
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
    params = _local_stdio(tmp_path, {"SCENEFORGE_PROJECT_ROOT": str(tmp_path), "SCENEFORGE_WORKERS": "1"})

    async def session() -> None:
        async with Client(params, read_timeout_seconds=60) as client:
            listed = await client.list_tools()
            tools = {t.name: t for t in listed.tools}
            assert set(tools) == TOOLS
            schema = tools["patch_draft"].input_schema
            assert schema["properties"]["ops"]["type"] == "array" and "scene_id" in schema["required"]

            bad_scene = {**TWO_ROOMS, "cells": [{"cellId": "a", "room": {"min": [0, 0, 0], "max": [-1, 3, 4]}}]}
            checked = _result(await client.call_tool("validate_scene", {"description": bad_scene}))
            assert checked["valid"] is False and checked["errors"][0]["path"].startswith("/")
            good = _result(await client.call_tool("validate_scene", {"description": TWO_ROOMS}))
            assert good == {"valid": True, "errors": [], "warnings": good["warnings"]}

            draft = _result(await client.call_tool("get_draft", {"scene_id": "two-rooms"}))
            assert draft["ok"] is True and draft["rev"] == 1 and draft["description"] == TWO_ROOMS

            wrong = [{"op": "replace", "path": "/cells/1/room/max/0", "value": "wide"}]
            refused = _result(await client.call_tool("patch_draft", {"scene_id": "two-rooms", "ops": wrong}))
            assert refused["ok"] is False and refused["status"] == 422
            assert any(e["path"].startswith("/cells/1/room") for e in refused["errors"])
            # An op that cannot be applied is told as the op, its pointer and why, never as an invalid scene.
            missing = [{"op": "replace", "path": "/cells/9/room/max/0", "value": 10}]
            failed = _result(await client.call_tool("patch_draft", {"scene_id": "two-rooms", "ops": missing}))
            assert failed["ok"] is False and failed["status"] == 422 and failed["errors"][0]["path"] == "/0/path"
            assert failed["detail"].startswith("patch op 0 (replace): path '/cells/9/room/max/0': index '9' is past")

            ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
            args = {"scene_id": "two-rooms", "ops": ops, "reason": "wider b", "if_rev": 1}
            patched = _result(await client.call_tool("patch_draft", args))
            assert patched["ok"] is True and patched["rev"] == 2 and patched["revision"]["reason"] == "wider b"
            stale = _result(await client.call_tool("patch_draft", args))
            assert stale["ok"] is False and stale["status"] == 412

            undone = _result(await client.call_tool("undo", {"scene_id": "two-rooms"}))
            assert undone["rev"] == 3 and undone["description"] == TWO_ROOMS

            queued = _result(await client.call_tool("enqueue_build", {"scene_id": "two-rooms"}))
            assert queued["ok"] is True and queued["rev"] == 3
            deadline = time.monotonic() + 60
            while True:
                job = _result(await client.call_tool("job_status", {"job_id": queued["jobId"]}))
                if job["status"] in {"Succeeded", "Failed", "Canceled"} or time.monotonic() > deadline:
                    break
                await anyio.sleep(0.2)
            assert job["status"] == "Succeeded", job
            unpublished = _result(await client.call_tool("get_meta", {"scene_id": "two-rooms"}))
            assert unpublished["ok"] is False and unpublished["status"] == 404
            version = job["result"]["version"]
            published = _result(await client.call_tool("publish", {"scene_id": "two-rooms", "version": version}))
            assert published["ok"] is True and published["version"] == version
            meta = _result(await client.call_tool("get_meta", {"scene_id": "two-rooms"}))
            assert meta["ok"] is True and meta["sceneId"] == "two-rooms"

            missing = _result(await client.call_tool("get_draft", {"scene_id": "nope"}))
            assert missing["ok"] is False and missing["status"] == 404

    anyio.run(session)


def test_mcp_stdio_against_a_remote_service(tmp_path: Path, postgres_url: str) -> None:
    from tests.reliability.cluster import Cluster

    with Cluster.prepare(tmp_path, postgres_url) as cluster:
        api = cluster.start_api()
        status = httpx.post(f"{api.url}/scenes/two-rooms/draft", json=TWO_ROOMS, headers=cluster.auth, timeout=30)
        assert status.status_code == 201
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
        env["SCENEFORGE_API_KEY"] = cluster.write_key
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "sceneforge.cli", "mcp", "--url", api.url], env=env, cwd=str(tmp_path)
        )

        async def session() -> None:
            async with Client(params, read_timeout_seconds=60) as client:
                ops = [{"op": "replace", "path": "/cells/1/room/max/2", "value": 5}]
                args = {"scene_id": "two-rooms", "ops": ops, "reason": "from an agent"}
                patched = _result(await client.call_tool("patch_draft", args))
                assert patched["ok"] is True and patched["rev"] == 2
                bad = _result(await client.call_tool("patch_draft", {"scene_id": "two-rooms", "ops": [{"op": "x"}]}))
                assert bad["ok"] is False and bad["status"] == 422 and bad["errors"][0]["path"].startswith("/0")

        anyio.run(session)
        revision = httpx.get(f"{api.url}/scenes/two-rooms/revisions/2", headers=cluster.auth, timeout=30).json()
        assert revision["reason"] == "from an agent" and revision["source"] == "user"


def test_mcp_streamable_http(tmp_path: Path) -> None:
    from mcp.shared.exceptions import MCPError

    for api in start_api(tmp_path):
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
    args = ["-m", "sceneforge.cli", "mcp", "--http", "--port", str(port), "--data", str(tmp_path / "data")]
    log = (tmp_path / "mcp.log").open("wb")
    proc = subprocess.Popen([sys.executable, *args], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "mcp.log").read_text()
                time.sleep(0.2)

        async def session() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=60) as client:
                assert {t.name for t in (await client.list_tools()).tools} == TOOLS
                draft = _result(await client.call_tool("get_draft", {"scene_id": "two-rooms"}))
                assert draft["ok"] is True and draft["rev"] == 1
                with pytest.raises(MCPError) as refused:  # the same protocol errors as over stdio
                    await client.list_tools(cursor="garbage")
                assert refused.value.code == -32602 and "cursor" in refused.value.error.message
                with pytest.raises(MCPError) as missing:
                    await client.read_resource("file:///nowhere/scene.json")
                assert missing.value.code == -32602 and missing.value.error.message.startswith("Resource not found")
                # A description past the transport's 4 MiB: the call fails saying so, and the session goes on.
                large = {**TWO_ROOMS, "props": {"notes": "x" * 60_000, **{f"k{i}": "y" * 60_000 for i in range(70)}}}
                with pytest.raises(MCPError) as too_large:
                    await client.call_tool("validate_scene", {"description": large})
                assert too_large.value.code == -32600 and "more than 4,194,304 bytes" in too_large.value.error.message
                assert _result(await client.call_tool("get_draft", {"scene_id": "two-rooms"}))["rev"] == 1

        anyio.run(session)
        # Half an emoji, as JSON.stringify writes it: answered with its id and where, as over stdio.
        body = '{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "get_draft", "x": "\\ud83d"}}'
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        refused = httpx.post(f"http://127.0.0.1:{port}/mcp", content=body, headers=headers, timeout=30)
        assert refused.status_code == 400 and refused.json()["id"] == 7, refused.text
        assert refused.json()["error"]["code"] == -32700 and " at /params/x: " in refused.json()["error"]["message"]
    finally:
        stop_process(proc)
        log.close()


def test_mcp_tool_arguments_stay_in_their_endpoint(tmp_path: Path) -> None:
    """A ``job_id`` is one path segment: ``../keys`` read the key list with the server's key (admin, on a
    local data dir), ``x?y=1`` added a query, and an id too long for a URL crashed the tool (httpx's
    InvalidURL is not an HTTPError). Each is now refused by the tool's schema, as a tool error; nothing
    is requested."""

    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, json={"status": "Succeeded"})

    server = _mock_server(tmp_path, answer)

    async def session() -> None:
        async with Client(server) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert "pattern" in tools["job_status"].input_schema["properties"]["job_id"]
            for job_id in ("../keys", "x?y=1", "%2e%2e/keys", "a" * 100_000, ""):
                reply = await client.call_tool("job_status", {"job_id": job_id})
                assert reply.is_error, (job_id[:20], reply)
            assert asked == []
            job_id = "3bf598798f6241c4955dec20db5f284f"
            assert _result(await client.call_tool("job_status", {"job_id": job_id}))["ok"] is True
            assert asked == [f"/jobs/{job_id}"]

    anyio.run(session)


def test_mcp_a_cancelled_validate_scene_stops_its_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``validate_scene`` the client cancels (``notifications/cancelled``) ran its check to the end in its worker
    thread (seconds of CPU for a large scene, each call one thread): the cancel reached the tool, not the thread. The
    check now stops at its next stage; the call gets no answer and the session serves on."""
    from sceneforge.mcp_server import tools as mcp_tools
    from tests.support.stalled_checks import StalledChecks

    stalled = StalledChecks(monkeypatch)
    stalled.watch(mcp_tools, "validate_description")
    server = _mock_server(tmp_path, lambda request: httpx.Response(404, json={"detail": "no"}))

    async def session() -> None:
        async with Client(server) as client:
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "validate_scene", {"description": TWO_ROOMS})
                assert await anyio.to_thread.run_sync(stalled.entered.wait, 60)
                group.cancel_scope.cancel()  # the client sends notifications/cancelled
            assert await anyio.to_thread.run_sync(stalled.ended.wait, 60)
            assert stalled.checked == []  # the check stopped before its next stage
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            stalled.release.set()
            answered = _result(await client.call_tool("validate_scene", {"description": TWO_ROOMS}))
            assert answered["valid"] is True and stalled.checked == ["geometry checks"]

    anyio.run(session)


def test_mcp_validate_scene_checks_run_at_most_build_concurrency_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each ``validate_scene`` ran its check in a thread of anyio's default pool, 40 at once whatever the sessions: a
    check of a 20,000-cell scene holds about 700 MB, so concurrent calls could take tens of GB. Checks run at most
    ``SCENEFORGE_BUILD_CONCURRENCY`` at once, as the service's own checks of a draft do; the others wait their turn."""
    from tests.support.stalled_checks import StalledChecks

    stalled = StalledChecks(monkeypatch)
    server = _mock_server(tmp_path, lambda request: httpx.Response(404), jobs={"build_concurrency": 1})

    async def session() -> None:
        got: list[dict[str, Any]] = []

        async def one() -> None:
            got.append(_result(await client.call_tool("validate_scene", {"description": TWO_ROOMS})))

        async with Client(server) as client, anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(one)
            assert await anyio.to_thread.run_sync(stalled.entered.wait, 60)
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS  # the calls were read before
            stalled.release.set()
        assert [g["valid"] for g in got] == [True] * 3 and stalled.most == 1

    anyio.run(session)


def test_mcp_an_unknown_tool_or_prompt_is_quoted_short(tmp_path: Path) -> None:
    """The name of a tool or prompt that does not exist was quoted whole, twice (the error's message and its ``data``):
    a name of a 64 MiB stdio line made an answer of 128 MiB. It is quoted up to 128 characters (MCP's longest name)."""
    from mcp.shared.exceptions import MCPError

    server = _mock_server(tmp_path, lambda request: httpx.Response(404))

    async def session() -> None:
        async with Client(server) as client:
            for call in (lambda: client.call_tool("x" * 100_000, {}), lambda: client.get_prompt("y" * 100_000)):
                with pytest.raises(MCPError) as refused:
                    await call()
                error = refused.value.error
                assert error.code == -32602 and len(error.message) < 200 and len(json.dumps(error.data)) < 200, error
                assert error.message.startswith("Unknown ") and error.message.endswith("…")
            with pytest.raises(MCPError) as refused:
                await client.call_tool("no_such_tool", {})
            assert (refused.value.error.message, refused.value.error.data) == (
                "Unknown tool: no_such_tool", {"name": "no_such_tool"})  # fmt: skip

    anyio.run(session)


def test_mcp_integer_arguments_are_integers(tmp_path: Path) -> None:
    """``version`` and ``if_rev`` are integers in the input schema; pydantic's lax mode took ``"1"``, ``true`` and
    ``1.0`` for 1 and sent them on (``true`` published version 1). Each is now refused as a tool error naming the
    argument; nothing is requested. Unknown scene ids, a path-like id and unicode ones are refused or not found."""

    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.path} {request.headers.get('if-match')} {request.content!r}")
        if request.url.path.startswith("/scenes/nope/"):
            return httpx.Response(404, json={"detail": "scene 'nope' has no draft"})
        return httpx.Response(200, json={"rev": 1})

    server = _mock_server(tmp_path, answer)

    async def session() -> None:
        async with Client(server) as client:
            for wrong in ("1", True, 1.0, 0, None):
                reply = await client.call_tool("publish", {"scene_id": "a", "version": wrong})
                assert reply.is_error and "version" in reply.content[0].text, (wrong, reply)  # type: ignore[union-attr]
            for wrong in ("1", True, 1.5, 0):
                reply = await client.call_tool("patch_draft", {"scene_id": "a", "ops": [], "if_rev": wrong})
                assert reply.is_error and "if_rev" in reply.content[0].text, (wrong, reply)  # type: ignore[union-attr]
            for scene_id in ("../keys", "a/b", "ściana", "a" * 65, "", 5):
                assert (await client.call_tool("get_draft", {"scene_id": scene_id})).is_error, scene_id
            for name, args in (("get_draft", {}), ("patch_draft", {"scene_id": "a"}), ("publish", {"scene_id": "a"})):
                assert (await client.call_tool(name, args)).is_error, name
            assert asked == []
            assert _result(await client.call_tool("publish", {"scene_id": "a", "version": 1}))["ok"] is True
            assert _result(await client.call_tool("patch_draft", {"scene_id": "a", "ops": [], "if_rev": 1}))["ok"]
            missing = _result(await client.call_tool("get_draft", {"scene_id": "nope"}))
            assert missing == {"ok": False, "status": 404, "detail": "scene 'nope' has no draft", "errors": []}
            assert asked == [
                "POST /scenes/a/publish None b'{\"version\":1}'",
                "PATCH /scenes/a/draft \"rev-1\" b'[]'",
                "GET /scenes/nope/draft None b''",
            ]

    anyio.run(session)


#: Arguments outside the input schema, and what the tool error says of each: the argument, what was given, the rule.
ARGUMENT_ERRORS = [
    ("publish", {"scene_id": "a", "version": "1"}, "/version", "int_type",
     'version is the string "1", not an integer: version must be an integer from 1 to 9,223,372,036,854,775,807'),
    ("publish", {"scene_id": "a", "version": 10**30}, "/version", "less_than_equal",
     "version is the number 1000000000000000000000000000000, above the largest value 9,223,372,036,854,775,807: "
     "version must be an integer from 1 to 9,223,372,036,854,775,807"),
    ("patch_draft", {"scene_id": "a", "ops": [], "if_rev": 0}, "/if_rev", "greater_than_equal",
     "if_rev is the number 0, below the least value 1: if_rev must be an integer from 1 to 9,223,372,036,854,775,807 "
     "or null"),
    ("patch_draft", {"scene_id": "a", "ops": [{"op": "add"}, "x"]}, "/ops/1", "dict_type",
     'ops[1] is the string "x", not an object: ops[1] must be an object'),
    ("patch_draft", {"scene_id": "a", "ops": [], "reason": "r" * 2000}, "/reason", "string_too_long",
     "reason is 2,000 characters, above the limit of 1,000: reason must be a string of at most 1,000 characters"),
    ("get_draft", {"scene_id": "a/b" + "c" * 100}, "/scene_id", "string_pattern_mismatch",
     'scene_id is the string "a/b' + "c" * 37 + '…": scene_id must be a string matching '
     "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ (The scene's id (1-64 characters of [A-Za-z0-9_-]))"),
    ("get_draft", {}, "/scene_id", "missing",
     "scene_id is missing: scene_id must be a string matching ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ (The scene's id (1-64 "
     "characters of [A-Za-z0-9_-]))"),
    ("validate_scene", {"description": [1, 2]}, "/description", "dict_type",
     "description is an array of 2 items, not an object: description must be an object"),
]  # fmt: skip


def test_mcp_argument_errors_say_which_argument_what_was_given_and_the_rule(tmp_path: Path) -> None:
    """Arguments outside a tool's input schema were answered with pydantic's text (``1 validation error for
    publishArguments … [type=int_type, input_value='1', input_type=str] … https://errors.pydantic.dev/…``) and no
    structured content: an agent gets the service's 422 form instead, each error at the argument's pointer, its
    message naming the argument, what was given and the rule; nothing is requested (a version past 2⁶³−1 was)."""

    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, json={"rev": 1})

    server = _mock_server(tmp_path, answer)

    async def session() -> None:
        async with Client(server) as client:
            for name, args, path, code, message in ARGUMENT_ERRORS:
                reply = await client.call_tool(name, args)
                body = _result(reply)
                assert body == {
                    "ok": False,
                    "status": 422,
                    "detail": f"{name}: invalid arguments: {path}: {message}",
                    "errors": [{"path": path, "code": code, "message": message}],
                }, (name, args)
                assert json.loads(reply.content[0].text) == body  # type: ignore[union-attr]
            two = _result(await client.call_tool("patch_draft", {"scene_id": 5, "ops": "x"}))
            assert [e["path"] for e in two["errors"]] == ["/scene_id", "/ops"] and "(+" not in two["detail"]
            assert asked == []

    anyio.run(session)


def test_mcp_refused_requests_are_tool_errors_with_their_answer(tmp_path: Path) -> None:
    """MCP reports a tool's execution errors in its result with ``isError: true``: a request the service
    refuses is one, and still carries ``{"ok": false, status, detail, errors}`` as structured content; an
    accepted one is not."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/meta"):
            return httpx.Response(200, json={"sceneId": "a"})
        problem = {"title": "Not Found", "status": 404, "detail": "scene 'a' has no draft"}
        return httpx.Response(404, json=problem, headers={"content-type": "application/problem+json"})

    server = _mock_server(tmp_path, answer)

    async def session() -> None:
        async with Client(server) as client:
            refused = await client.call_tool("get_draft", {"scene_id": "a"})
            assert refused.is_error
            expected = {"ok": False, "status": 404, "detail": "scene 'a' has no draft", "errors": []}
            assert refused.structured_content == expected
            assert json.loads(refused.content[0].text) == expected  # type: ignore[union-attr]
            accepted = await client.call_tool("get_meta", {"scene_id": "a"})
            assert not accepted.is_error and accepted.structured_content == {"ok": True, "sceneId": "a"}

    anyio.run(session)


def test_mcp_server_info_names_the_version(tmp_path: Path) -> None:
    """The initialize answer's ``serverInfo`` is an implementation's name and version (it said version "")."""
    from sceneforge.mcp_server import Backend, build_server
    from sceneforge.settings import Settings

    async def open_backend() -> Backend:
        return Backend(httpx.AsyncClient(base_url="http://svc"), "svc")

    server = build_server(open_backend, Settings(storage={"data_dir": tmp_path / "data"}))

    async def session() -> None:
        async with Client(server) as client:
            assert client.server_info is not None
            assert (client.server_info.name, client.server_info.version) == ("sceneforge", __version__)

    anyio.run(session)


def test_mcp_patch_reason_in_any_script_reaches_the_revision(tmp_path: Path) -> None:
    """``reason`` goes out as ``X-Change-Reason``, which carries Latin-1 only: an em dash, an emoji or most
    scripts crashed the tool (httpx could not encode the header). It is sent as RFC 8187's ``UTF-8''`` +
    percent-encoded UTF-8, which the service decodes (docs/drafts.md), and stored as written."""
    from sceneforge.mcp_server import Backend, build_server

    reasons = ["élargir la pièce", "wider — two metres", "door 🚪", "two\nlines"]

    async def session(server: Any) -> None:
        async with Client(server) as client:
            for n, reason in enumerate(reasons):
                ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10 + n}]
                args = {"scene_id": "two-rooms", "ops": ops, "reason": reason}
                assert _result(await client.call_tool("patch_draft", args))["ok"] is True

    for api in start_api(tmp_path):
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api.app), base_url="http://svc", headers=api.auth()
        )
        backend = Backend(client, "the test service")
        backend.stack.push_async_callback(client.aclose)  # closed when the MCP server stops

        async def open_backend(backend: Backend = backend) -> Backend:
            return backend

        api.call(session, build_server(open_backend, api.app.state.settings))
        stored = [api.get(f"/scenes/two-rooms/revisions/{rev}").json()["reason"] for rev in range(2, 6)]
        assert stored == ["élargir la pièce", "wider — two metres", "door 🚪", "two lines"]


def test_mcp_answers_that_are_not_the_service_are_tool_errors(tmp_path: Path, monkeypatch: Any) -> None:
    """A remote that is not the service (a login page, a proxy) or misbehaves: an HTML 200 was ``"ok": true``,
    NaN reached the answer as non-JSON, a body's own ``ok`` replaced the tool's (a 200 read as refused), a
    ``detail`` or ``errors`` of the wrong type went out as is, a 50 MB body was read whole and a server
    trickling bytes held the tool for ever (httpx's timeout is per read). Each is now a tool error saying
    what came back, in bounded time and memory; an answer of the service still passes unchanged."""
    from sceneforge.mcp_server import backend

    monkeypatch.setattr(backend, "TIMEOUT_S", 1.0)
    monkeypatch.setattr(backend, "MAX_ANSWER_BYTES", 1 << 20)
    streamed: list[int] = []

    async def endless() -> Any:
        for n in range(10_000):
            streamed.append(n)
            yield b"x" * 65536

    async def trickle() -> Any:
        yield b'{"a": "'
        while True:
            await anyio.sleep(0.2)
            yield b"x"

    bodies: dict[str, httpx.Response] = {
        "html": httpx.Response(200, text="<html>sign in</html>", headers={"content-type": "text/html"}),
        "nan": httpx.Response(200, content=b'{"x": NaN}'),
        "ok": httpx.Response(200, json={"ok": False, "status": 7}),
        "types": httpx.Response(500, json={"detail": 5, "errors": "nope"}),
        "huge": httpx.Response(200, content=endless()),
        "slow": httpx.Response(200, content=trickle()),
        "null": httpx.Response(200, content=b"null"),
        "gateway": httpx.Response(502, text="<html>bad gateway</html>", headers={"content-type": "text/html"}),
        "fine": httpx.Response(200, json={"sceneId": "fine", "rev": 1}),
    }

    async def reply(request: httpx.Request) -> httpx.Response:
        return bodies[request.url.path.split("/")[2]]

    server = _mock_server(tmp_path, reply)

    async def session() -> dict[str, Any]:
        got = {}
        async with Client(server) as client:
            for name in bodies:
                result = await client.call_tool("get_draft", {"scene_id": name})
                got[name] = _result(result)
                json.loads(result.content[0].text, parse_constant=lambda c: pytest.fail(c))  # type: ignore[union-attr]
        return got

    got = anyio.run(session)
    assert got["fine"] == {"ok": True, "sceneId": "fine", "rev": 1}
    assert got["ok"] == {"ok": True, "status": 7}
    assert got["null"] == {"ok": True, "items": None}
    assert got["gateway"]["status"] == 502 and "bad gateway</html>" in got["gateway"]["detail"]
    for name in ("html", "nan", "types", "huge", "slow", "gateway"):
        assert got[name]["ok"] is False, (name, got[name])
        assert isinstance(got[name]["detail"], str) and isinstance(got[name]["errors"], list), got[name]
    assert got["html"]["status"] == 200 and "not JSON" in got["html"]["detail"] and "text/html" in got["html"]["detail"]
    assert "not JSON" in got["nan"]["detail"]
    assert got["types"]["status"] == 500 and got["types"]["detail"] == "5" and got["types"]["errors"] == []
    assert "1,048,576 bytes" in got["huge"]["detail"] and len(streamed) < 40
    assert "did not answer within 1 s" in got["slow"]["detail"] and got["slow"]["status"] == 0


@pytest.mark.parametrize(("stop", "code"), [("SIGINT", 130), ("SIGTERM", 0), ("eof", 0)])
def test_mcp_stdio_stops_on_ctrl_c_and_sigterm(tmp_path: Path, stop: str, code: int) -> None:
    """The SDK reads stdin in a worker thread no cancel reaches: Ctrl-C (SIGINT) left ``sceneforge mcp``
    waiting for the client's next line, for ever when it sent none, and SIGTERM (what clients send at
    shutdown) ended it without the service's shutdown. Each now ends the server in order, with no
    traceback, as closing stdin does."""
    import signal

    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
    args = ["-m", "sceneforge.cli", "mcp", "--data", str(tmp_path / "data")]
    log = tmp_path / "mcp.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, *args], env=env, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
        )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}).encode())
        proc.stdin.write(b"\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["id"] == 1  # serving, and waiting for the next line
        if stop == "eof":
            proc.stdin.close()
        else:
            proc.send_signal(getattr(signal, stop))
        assert proc.wait(timeout=60) == code, log.read_text()
        assert "Traceback" not in log.read_text()
    finally:
        stop_process(proc)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


def test_mcp_stdin_drops_a_message_past_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin was read a line at a time with no bound: a client writing without a newline grew the server
    without end. A message past MAX_LINE_BYTES is dropped (as HTTP refuses a body past its limit), and the
    next is read; what is held stays within the limit and one read."""
    from sceneforge.mcp_server import stdio_transport

    monkeypatch.setattr(stdio_transport, "MAX_LINE_BYTES", 1 << 20)
    read_fd, write_fd = os.pipe()
    held: list[int] = []

    async def session() -> list[str]:
        lines = stdio_transport.StdinLines(read_fd)
        got: list[str] = []

        async def write() -> None:
            with os.fdopen(write_fd, "wb") as pipe:
                for _ in range(64):  # 8 MiB of one line, then two lines, the last without its newline
                    await anyio.to_thread.run_sync(pipe.write, b"x" * (1 << 17))
                await anyio.to_thread.run_sync(pipe.write, b'\n{"a": 1}\n{"b": 2}')

        async with anyio.create_task_group() as group:
            group.start_soon(write)
            async for line in lines:
                held.append(len(lines.pending))
                got.append(line)
        return got

    try:
        assert anyio.run(session) == [stdio_transport.TOO_LONG, '{"a": 1}\n', '{"b": 2}\n']
    finally:
        os.close(read_fd)
    assert max(held) <= (1 << 20) + (1 << 16)


def test_mcp_stdio_answers_lines_that_are_no_message(tmp_path: Path) -> None:
    """The SDK's stdio transport dropped a line that is not a JSON-RPC message without an answer, so the client
    waited for ever. Each gets the JSON-RPC 2.0 error (-32700 not JSON or too deep, -32600 JSON but no message)
    with its id where it has one; a blank line is skipped; the session goes on. A line of JSON the SDK's parser
    refuses (a string with a lone surrogate) was answered with id null, so the client waited for its timeout: it
    is answered with its id, saying where."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
    args = ["-m", "sceneforge.cli", "mcp", "--data", str(tmp_path / "data")]
    with (tmp_path / "mcp.log").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, *args], env=env, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
        )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        lines = [
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}),
            "not json",
            "   ",
            "[" * 100_000 + "]" * 100_000,
            '{"jsonrpc": "2.0", "id": 2}',
            '{"jsonrpc": "2.0", "id": 7, "method": "ping", "params": " "}',  # a blank value is no blank line
            '{"jsonrpc": "", "id": "eight", "method": "ping"}',
            # JSON the SDK's parser refuses but whose id is plain: JSON.stringify writes half an emoji as "\ud83d"
            '{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "validate_scene", '
            '"arguments": {"description": {"a": "\\ud83d"}}}}',
            # an integer past 4,300 digits, which neither the SDK's parser nor json.loads reads: answered "not JSON"
            # with id null, the client waited for its timeout
            '{"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {"name": "validate_scene", '
            '"arguments": {"description": {"a": [' + "9" * 5000 + "]}}}}",
            json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
        ]
        proc.stdin.write("".join(line + "\n" for line in lines).encode())
        proc.stdin.flush()
        answers: list[dict[str, Any]] = []
        while not answers or answers[-1].get("id") != 3:
            answers.append(json.loads(proc.stdout.readline()))
        errors = sorted((a["error"]["code"], str(a["id"])) for a in answers if "error" in a)
        # The id, where the line is an object with one a client can match; else null.
        assert errors == [
            (-32700, "10"), (-32700, "9"), (-32700, "None"), (-32700, "None"),
            (-32600, "2"), (-32600, "7"), (-32600, "eight"),
        ], answers  # fmt: skip
        why = {a["id"]: a["error"]["message"] for a in answers if "error" in a}
        assert (
            why[9].startswith("Parse error: not strict JSON at /params/arguments/description/a: ")
            and "surrogate" in why[9]
        )
        assert why[10].startswith("Parse error: not strict JSON at /params/arguments/description/a/0: 999"), why[10]
        assert {t["name"] for t in answers[-1]["result"]["tools"]} == TOOLS
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        stop_process(proc)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


def test_mcp_a_message_past_the_limit_is_answered_with_the_limit() -> None:
    from mcp.shared.message import SessionMessage
    from mcp_types import jsonrpc_message_adapter

    from sceneforge.mcp_server import stdio_transport

    async def answered(line: str) -> list[Any]:
        send_in, receive_in = anyio.create_memory_object_stream[Any](4)
        send_out, receive_out = anyio.create_memory_object_stream[Any](4)
        try:
            jsonrpc_message_adapter.validate_json(line, by_name=False)
        except Exception as exc:
            await send_in.send(exc)
        await send_in.send(
            SessionMessage(message=jsonrpc_message_adapter.validate_json('{"jsonrpc":"2.0","method":"x"}'))
        )
        await send_in.aclose()
        async with stdio_transport.Answering(receive_in, send_out) as session_reads:
            got = [item async for item in session_reads]
        await send_out.aclose()
        async with receive_out:
            return [*got, *[m.message async for m in receive_out]]

    passed, error = anyio.run(answered, stdio_transport.TOO_LONG)
    assert passed.message.method == "x"  # the next message still reaches the session
    assert error.id is None and error.error.code == -32700 and "67,108,864 bytes" in error.error.message


def _stdio_server(tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
    args = ["-m", "sceneforge.cli", "mcp", "--data", str(tmp_path / "data")]
    with (tmp_path / "mcp.log").open("ab") as err:
        return subprocess.Popen(
            [sys.executable, *args], env=env, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
        )


def _close(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc)
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None and not pipe.closed:
            pipe.close()


@pytest.mark.parametrize(
    "version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28", "1999-01-01"]
)
def test_mcp_stdio_handshake_at_each_protocol_version(tmp_path: Path, version: str) -> None:
    """The initialize handshake at each version the SDK clients offer (older and newer): a version the server speaks
    is answered as asked, any other with the newest handshake version; every capability advertised is served (its
    list answers), none other is (logging); stdout carries JSON-RPC lines only, and closing stdin ends the server."""
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

    proc = _stdio_server(tmp_path)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        hello = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        asked = {"tools": "tools/list", "prompts": "prompts/list", "resources": "resources/list"}
        lines = [
            {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            *({"jsonrpc": "2.0", "id": n, "method": m} for n, m in enumerate(asked.values(), 1)),
            {"jsonrpc": "2.0", "id": 4, "method": "resources/templates/list"},
            {"jsonrpc": "2.0", "id": 5, "method": "logging/setLevel", "params": {"level": "info"}},
        ]
        proc.stdin.write(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
        proc.stdin.flush()
        answers = {}
        while len(answers) < 6:
            answer = json.loads(proc.stdout.readline())  # JSON-RPC lines, nothing else
            answers[answer["id"]] = answer
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0 and proc.stdout.read() == b""
        assert sorted(answers) == [0, 1, 2, 3, 4, 5], answers
        init = answers[0]["result"]
        expected = version if version in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION
        assert init["protocolVersion"] == expected and init["serverInfo"]["name"] == "sceneforge"
        assert set(init["capabilities"]) == set(asked)
        assert {t["name"] for t in answers[1]["result"]["tools"]} == TOOLS
        assert answers[2]["result"] == {"prompts": []} and answers[3]["result"] == {"resources": []}
        assert answers[4]["result"] == {"resourceTemplates": []}
        assert answers[5]["error"]["code"] == -32601
    finally:
        _close(proc)


#: Calls outside a tool's input schema, and the argument its error names.
WRONG_CALLS = [
    ("get_draft", {}, "scene_id"),
    ("get_draft", {"scene_id": 5}, "scene_id"),
    ("get_draft", {"scene_id": "x" * 1_000_000}, "scene_id"),
    ("get_draft", {"scene_id": "ściana🚪"}, "scene_id"),
    ("validate_scene", {"description": "x"}, "description"),
    ("patch_draft", {"scene_id": "a", "ops": "nope"}, "ops"),
    ("patch_draft", {"scene_id": "a", "ops": [], "reason": "r" * 2000}, "reason"),
    ("patch_draft", {"scene_id": "a", "ops": [], "if_rev": "2"}, "if_rev"),
    ("publish", {"scene_id": "a", "version": 1.5}, "version"),
    ("job_status", {"job_id": "../keys"}, "job_id"),
]


@pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
def test_mcp_stdio_conformance_with_the_sdk_client(tmp_path: Path, mode: str, version: str) -> None:
    """The SDK's client over stdio, at the protocol it negotiates by default (``server/discover``) and through the
    initialize handshake: every tool has a name, a description and input and output schemas that are valid
    JSON Schema, and what it answers matches its output schema; arguments outside the input schema (missing, of the
    wrong type, huge, unicode) are tool errors naming the argument, extra arguments are ignored, a scene that does not
    exist is a tool error; a tool or prompt that does not exist is the JSON-RPC error -32602 (Invalid params), as MCP
    says (the SDK answered a tool result, and code 0); concurrent calls each get their own answer; a cancelled call
    leaves the session serving."""
    import jsonschema
    from mcp.shared.exceptions import MCPError

    params = _local_stdio(tmp_path)

    async def session() -> None:
        async with Client(params, mode=mode, read_timeout_seconds=60) as client:
            assert client.protocol_version == version
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == TOOLS
            for tool in tools.values():
                assert tool.description and tool.output_schema is not None, tool.name
                for schema in (tool.input_schema, tool.output_schema):
                    jsonschema.validators.validator_for(schema).check_schema(schema)

            def answered(name: str, reply: Any) -> Any:
                assert reply.structured_content is not None, reply
                jsonschema.validate(reply.structured_content, tools[name].output_schema)
                return reply

            for name, args, field in WRONG_CALLS:
                reply = answered(name, await client.call_tool(name, args))
                assert reply.is_error and field in reply.content[0].text, (name, reply)  # type: ignore[union-attr]
                assert [e["path"] for e in reply.structured_content["errors"]] == [f"/{field}"], (name, reply)
                assert "pydantic" not in reply.content[0].text, (name, reply)  # type: ignore[union-attr]
            missing = answered("get_draft", await client.call_tool("get_draft", {"scene_id": "nope", "extra": 1}))
            assert missing.is_error and missing.structured_content["status"] == 404
            checked = answered("validate_scene", await client.call_tool("validate_scene", {"description": TWO_ROOMS}))
            assert checked.structured_content["valid"] is True
            unicode = {**TWO_ROOMS, "materials": {"ściana 🚪": {}}}
            answered("validate_scene", await client.call_tool("validate_scene", {"description": unicode}))

            for call in (client.call_tool("no_such_tool", {}), client.get_prompt("no_such_prompt")):
                with pytest.raises(MCPError) as refused:
                    await call
                assert refused.value.code == -32602 and "no_such_" in refused.value.error.message

            got: dict[int, Any] = {}

            async def one(n: int) -> None:
                got[n] = (await client.call_tool("get_draft", {"scene_id": f"s{n}"})).structured_content

            async with anyio.create_task_group() as group:
                for n in range(8):
                    group.start_soon(one, n)
            assert {n: got[n]["detail"] for n in got} == {n: f"scene 's{n}' has no draft" for n in range(8)}

            big = {**TWO_ROOMS, "materials": {f"m{n}": {} for n in range(20_000)}}
            with anyio.move_on_after(0.05):  # the client sends notifications/cancelled
                await client.call_tool("validate_scene", {"description": big})
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            assert (await client.call_tool("get_draft", {"scene_id": "after"})).structured_content["status"] == 404

    anyio.run(session)


#: The 2026-07-28 per-request envelope (no handshake: each request names its version in ``_meta``).
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
}


def _raw_rpc(version: str) -> tuple[Callable[..., dict[str, Any]], list[dict[str, Any]]]:
    """Raw JSON-RPC at protocol ``version``: a request maker (``request(id, method, **params)``, with the
    ``_meta`` 2026-07-28 wants) and the session's opening lines (``server/discover`` then, else ``initialize`` and
    ``notifications/initialized``; id 0)."""
    modern = version == "2026-07-28"
    meta = {"_meta": MODERN_META} if modern else {}

    def request(rid: int, method: str, **params: Any) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": rid, "method": method, "params": {**params, **meta}}

    hello = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    opening = (
        [request(0, "server/discover")]
        if modern
        else [request(0, "initialize", **hello), {"jsonrpc": "2.0", "method": "notifications/initialized"}]
    )
    return request, opening


@pytest.mark.parametrize(
    ("version", "not_found"),
    [("2024-11-05", -32002), ("2025-03-26", -32002), ("2025-06-18", -32002), ("2025-11-25", -32002),
     ("2026-07-28", -32602)],
)  # fmt: skip
def test_mcp_stdio_resource_not_found_and_invalid_cursors(tmp_path: Path, version: str, not_found: int) -> None:
    """Raw JSON-RPC at each protocol version: a ``resources/read`` of a resource that does not exist is "Resource not
    found" with its ``uri`` in ``data``, -32002 as MCP 2024-11-05 to 2025-11-25 say (the SDK answered -32602 at
    every version), -32602 from 2026-07-28 on (SEP-2164 moved it there). A list request with a ``cursor`` the server
    never handed out (each list is one page: any cursor) is -32602 Invalid params, as MCP's pagination says; the
    SDK ignored it and answered page one. A ``cursor`` of null is no cursor."""
    proc = _stdio_server(tmp_path)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        request, opening = _raw_rpc(version)
        lists = ["tools/list", "prompts/list", "resources/list", "resources/templates/list"]
        lines = [
            *opening,
            request(1, "resources/read", uri="file:///nowhere/scene.json"),
            request(2, "resources/read", uri="sceneforge://scenes/two-rooms"),
            *(request(10 + n, method, cursor="garbage") for n, method in enumerate(lists)),
            *(request(20 + n, method, cursor="") for n, method in enumerate(lists)),
            *(request(30 + n, method, cursor=None) for n, method in enumerate(lists)),
            *(request(40 + n, method) for n, method in enumerate(lists)),
        ]
        proc.stdin.write(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
        proc.stdin.flush()
        expected = {0, 1, 2, *range(10, 14), *range(20, 24), *range(30, 34), *range(40, 44)}
        answers: dict[int, dict[str, Any]] = {}
        while set(answers) != expected:
            answer = json.loads(proc.stdout.readline())
            answers[answer["id"]] = answer
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0 and proc.stdout.read() == b""

        for rid, uri in ((1, "file:///nowhere/scene.json"), (2, "sceneforge://scenes/two-rooms")):
            error = answers[rid]["error"]
            assert error["code"] == not_found and error["data"] == {"uri": uri}, answers[rid]
            assert error["message"].startswith("Resource not found"), error
        for rid in (*range(10, 14), *range(20, 24)):
            error = answers[rid].get("error")
            assert error is not None and error["code"] == -32602 and "cursor" in error["message"], answers[rid]
        keys = {"tools/list": "tools", "prompts/list": "prompts", "resources/list": "resources"}
        keys["resources/templates/list"] = "resourceTemplates"
        for n, method in enumerate(lists):
            for rid in (30 + n, 40 + n):
                result = answers[rid]["result"]
                assert "nextCursor" not in result and isinstance(result[keys[method]], list), answers[rid]
    finally:
        _close(proc)


@pytest.mark.parametrize("version", ["2025-11-25", "2026-07-28"])
def test_mcp_stdio_params_not_of_their_shape_say_where(tmp_path: Path, version: str) -> None:
    """Raw JSON-RPC: a request whose params are not of its method's shape (a ``tools/call`` with ``arguments`` an
    array, ``name`` a number or missing, a ``resources/read`` without ``uri``) is -32602 naming each param's pointer,
    what was wrong and what was given, in its message and ``data``; the SDK answered "Invalid request parameters" with
    ``data`` "" whatever was wrong. The session goes on, and a tool's own refusals are still tool errors."""
    proc = _stdio_server(tmp_path)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        request, opening = _raw_rpc(version)
        lines = [
            *opening,
            request(1, "tools/call", name="get_draft", arguments=[1]),
            request(2, "tools/call", name=5, arguments={}),
            request(3, "tools/call", arguments={}),
            request(4, "resources/read"),
            request(5, "tools/call", name="get_draft", arguments={"scene_id": 5}),
        ]
        proc.stdin.write(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
        proc.stdin.flush()
        answers: dict[int, dict[str, Any]] = {}
        while set(answers) != {0, 1, 2, 3, 4, 5}:
            answer = json.loads(proc.stdout.readline())
            answers[answer["id"]] = answer
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        said = {
            1: ("tools/call", "/arguments", "dict_type", "an array was given"),
            2: ("tools/call", "/name", "string_type", "a number was given"),
            3: ("tools/call", "/name", "missing", "missing"),
            4: ("resources/read", "/uri", "missing", "missing"),
        }
        for rid, (method, path, code, given) in said.items():
            error = answers[rid].get("error")
            assert error is not None and error["code"] == -32602, answers[rid]
            assert error["message"].startswith(f"Invalid params of {method}: {path}: "), error
            assert given in error["message"], error
            assert [(e["path"], e["code"]) for e in error["data"]["errors"]] == [(path, code)], error
        refused = answers[5]["result"]  # the tool's own check of its arguments: a tool error, as ever
        assert refused["isError"] is True and refused["structuredContent"]["errors"][0]["path"] == "/scene_id"
    finally:
        _close(proc)


@pytest.mark.parametrize(("mode", "not_found"), [("auto", -32602), ("legacy", -32002)])
def test_mcp_sdk_client_resource_not_found_and_invalid_cursors(tmp_path: Path, mode: str, not_found: int) -> None:
    """The SDK's client over stdio, at 2026-07-28 (discovered) and through the handshake (2025-11-25): reading a
    resource that does not exist raises its MCPError with the code of that version and the ``uri`` in ``data``;
    listing with a cursor the server never handed out raises -32602; listing without one still answers."""
    from mcp.shared.exceptions import MCPError

    params = _local_stdio(tmp_path)

    async def session() -> None:
        async with Client(params, mode=mode, read_timeout_seconds=60) as client:
            with pytest.raises(MCPError) as missing:
                await client.read_resource("file:///nowhere/scene.json")
            assert missing.value.code == not_found and missing.value.error.data == {"uri": "file:///nowhere/scene.json"}
            pages = (client.list_tools, client.list_prompts, client.list_resources, client.list_resource_templates)
            for page in pages:
                with pytest.raises(MCPError) as refused:
                    await page(cursor="not-a-cursor-we-gave")
                assert refused.value.code == -32602 and "cursor" in refused.value.error.message, page
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            assert (await client.list_resources()).resources == []

    anyio.run(session)


class _SlowService:
    """A stand-in for the service over HTTP that answers each GET after ``delay`` seconds (or once released)."""

    def __init__(self, delay: float) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.release = threading.Event()
        self.asked: list[str] = []
        release, asked = self.release, self.asked

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                asked.append(self.path)
                release.wait(delay)
                body = json.dumps({"sceneId": self.path.split("/")[2], "rev": 1}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _stdio_client_of(tmp_path: Path, url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
    args = ["-m", "sceneforge.cli", "mcp", "--url", url, "--key", "sfk_test"]
    with (tmp_path / "mcp.log").open("ab") as err:
        return subprocess.Popen(
            [sys.executable, *args], env=env, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
        )


def _calls_then_eof(proc: subprocess.Popen[bytes], calls: list[dict[str, Any]]) -> None:
    """The handshake, then ``calls`` (tools/call requests, ids 1…) and stdin closed at once, as a client leaving."""
    assert proc.stdin is not None and proc.stdout is not None
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello}).encode() + b"\n")
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["id"] == 0
    lines = [{"jsonrpc": "2.0", "method": "notifications/initialized"}]
    lines += [{"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": p} for n, p in enumerate(calls, 1)]
    proc.stdin.write(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    proc.stdin.close()


def _json_rpc_lines(data: bytes) -> dict[int, dict[str, Any]]:
    """Each line of stdout is one JSON-RPC answer (nothing else reaches stdout), by id."""
    answers = {}
    for line in data.splitlines():
        answer = json.loads(line)
        assert answer["jsonrpc"] == "2.0" and ("result" in answer) != ("error" in answer), answer
        answers[answer["id"]] = answer
    return answers


def test_mcp_stdio_answers_requests_in_flight_when_stdin_ends(tmp_path: Path) -> None:
    """MCP's stdio shutdown: the client closes stdin, then waits for the server to exit. The requests still in flight
    were cancelled at once and answered -32000 (Connection closed), though stdout is open and their answers were a
    second away; they are now answered as they would have been, then the server exits 0."""
    service = _SlowService(delay=1.0)
    proc = _stdio_client_of(tmp_path, service.url)
    try:
        assert proc.stdout is not None
        calls = [{"name": "get_draft", "arguments": {"scene_id": f"s{n}"}} for n in range(4)]
        calls.append({"name": "validate_scene", "arguments": {"description": TWO_ROOMS}})
        calls.append({"name": "no_such_tool", "arguments": {}})
        _calls_then_eof(proc, calls)
        answers = _json_rpc_lines(proc.stdout.read())
        assert proc.wait(timeout=60) == 0, (tmp_path / "mcp.log").read_text()
        assert sorted(answers) == [1, 2, 3, 4, 5, 6], answers
        for n in range(4):
            assert answers[n + 1]["result"]["structuredContent"] == {"ok": True, "sceneId": f"s{n}", "rev": 1}
        assert answers[5]["result"]["structuredContent"]["valid"] is True
        assert answers[6]["error"]["code"] == -32602
        assert sorted(service.asked) == [f"/scenes/s{n}/draft" for n in range(4)]
        assert "Traceback" not in (tmp_path / "mcp.log").read_text()
    finally:
        _close(proc)
        service.close()


def test_mcp_stdio_sigterm_ends_the_wait_for_requests_in_flight(tmp_path: Path) -> None:
    """A request in flight when stdin ends is waited for (at most DRAIN_S); SIGTERM, which a client sends when the
    server does not exit soon enough, ends the wait at once: the request is cancelled and answered -32000, and the
    server exits 0 with nothing but JSON-RPC on stdout."""
    import signal

    service = _SlowService(delay=120.0)
    proc = _stdio_client_of(tmp_path, service.url)
    try:
        assert proc.stdout is not None
        _calls_then_eof(proc, [{"name": "get_draft", "arguments": {"scene_id": "slow"}}])
        deadline = time.monotonic() + 30
        while not service.asked and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.asked == ["/scenes/slow/draft"]
        time.sleep(0.5)
        assert proc.poll() is None  # stdin has ended, the answer is awaited
        proc.send_signal(signal.SIGTERM)
        # Within half the drain's bound, which alone would also end in -32000 and exit 0: the signal ended the wait.
        assert proc.wait(timeout=DRAIN_S / 2) == 0, (tmp_path / "mcp.log").read_text()
        answers = _json_rpc_lines(proc.stdout.read())
        assert sorted(answers) == [1] and answers[1]["error"]["code"] == -32000, answers
        assert "Traceback" not in (tmp_path / "mcp.log").read_text()
    finally:
        _close(proc)
        service.close()


def test_mcp_the_wait_for_requests_in_flight_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """At the end of stdin the session's read stream ends once every request read is answered, or cancelled by the
    client (then it gets no answer), and after DRAIN_S at most: a request never answered cannot hold the server. A
    ``subscriptions/listen`` (change events until the client goes) is not waited for."""
    from mcp.shared.message import SessionMessage
    from mcp_types import JSONRPCNotification, JSONRPCRequest, JSONRPCResponse

    from sceneforge.mcp_server import stdio_transport

    def request(rid: int | str, method: str = "tools/list") -> SessionMessage:
        return SessionMessage(message=JSONRPCRequest(jsonrpc="2.0", id=rid, method=method))

    async def ends_within(
        items: list[SessionMessage], answered: list[int | str], within: float, drain_s: float = 60.0
    ) -> bool:
        """Whether the read stream ends within ``within`` seconds of the answers (DRAIN_S ``drain_s``)."""
        monkeypatch.setattr(stdio_transport, "DRAIN_S", drain_s)
        send_in, receive_in = anyio.create_memory_object_stream[Any](8)
        send_out, receive_out = anyio.create_memory_object_stream[Any](8)
        async with send_in, receive_in, send_out, receive_out:
            for item in items:
                await send_in.send(item)
            await send_in.aclose()
            reads = stdio_transport.Answering(receive_in, send_out)
            assert [await reads.receive() for _ in items] == items
            for rid in answered:
                await reads.answers.send(SessionMessage(message=JSONRPCResponse(jsonrpc="2.0", id=rid, result={})))
            ended = False
            with anyio.move_on_after(within):
                with pytest.raises(anyio.EndOfStream):
                    await reads.receive()
                ended = True
            assert [receive_out.receive_nowait().message.id for _ in answered] == answered  # sent on, as they came
        return ended

    cancel = SessionMessage(
        message=JSONRPCNotification(jsonrpc="2.0", method="notifications/cancelled", params={"requestId": "7"})
    )
    # Each ends long before DRAIN_S (60 s): nothing is left to wait for.
    assert anyio.run(ends_within, [request(1), request("x")], [1, "x"], 10)  # each answered
    assert anyio.run(ends_within, [request(7), cancel], [], 10)  # cancelled ("7" is 7, as the SDK correlates)
    assert anyio.run(ends_within, [], [], 10)  # nothing asked
    assert anyio.run(ends_within, [request(3, "subscriptions/listen")], [], 10)  # a stream until the client goes
    # One never answered: waited for, up to DRAIN_S (0.5 s here), then the stream ends.
    assert not anyio.run(ends_within, [request(1), request(2)], [2], 0.5)
    assert anyio.run(ends_within, [request(1), request(2)], [2], 10, 0.5)


def _asgi_post(
    app: Any,
    chunks: list[bytes],
    method: str = "POST",
    path: str = "/mcp",
    cut: bool = False,
    length: int = -1,
    headers: tuple[tuple[bytes, bytes], ...] = ((b"content-type", b"application/json"),),
) -> tuple[int, bytes, bytes]:
    """``chunks`` sent to ``app`` as one request's body (``cut``: the client goes before its end; ``length``: its
    ``Content-Length``, none when negative) with ``headers``: (status, answer, the body the wrapped app read)."""
    last = len(chunks) - (0 if cut else 1)
    messages = [{"type": "http.request", "body": c, "more_body": i < last} for i, c in enumerate(chunks)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    sent_headers = [*headers, *([(b"content-length", str(length).encode())] if length >= 0 else [])]
    scope = {"type": "http", "method": method, "path": path, "headers": sent_headers}
    anyio.run(app, scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), app.app.read


def test_mcp_http_bodies_not_strict_json_are_answered_with_their_id() -> None:
    """Over ``--http`` a body that is JSON to Python but not to the SDK's parser (a lone surrogate) was answered
    400 with ``id`` null and a line and column; it is answered with its ``id`` and the pointer, as over stdio. Every
    other request reaches the SDK's app with its body as sent, in one piece or many."""
    from sceneforge.mcp_server.http_transport import StrictBodies

    class Echo:
        read = b""

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            body, more = b"", True
            while more:
                message = await receive()
                body, more = body + message.get("body", b""), message.get("more_body", False)
            Echo.read = body
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"sdk"})

    app = StrictBodies(Echo(), limit=1000)
    lone = b'{"jsonrpc": "2.0", "id": "a", "method": "ping", "params": {"s": ["ok", "\\ud800"]}}'
    status, answer, read = _asgi_post(app, [lone[:20], lone[20:]])
    assert (status, read) == (400, b"")
    assert json.loads(answer) == {
        "jsonrpc": "2.0",
        "id": "a",
        "error": {"code": -32700, "message": json.loads(answer)["error"]["message"]},
    }
    assert json.loads(answer)["error"]["message"].startswith("Parse error: not strict JSON at /params/s/1: ")
    huge = b'{"jsonrpc": "2.0", "id": 4, "method": "ping", "params": {"n": ' + b"9" * 5000 + b"}}"
    status, answer, read = _asgi_post(StrictBodies(Echo(), limit=10_000), [huge])
    assert (status, read) == (400, b"") and json.loads(answer)["id"] == 4, answer  # past Python's 4,300 digits
    assert json.loads(answer)["error"]["message"].startswith("Parse error: not strict JSON at /params/n: 999")
    good = b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"s": "\\ud83d\\ude00"}}'  # a whole pair
    for body, chunks in (
        (good, [good[:7], good[7:30], good[30:]]),
        (b"{not json", [b"{not json"]),  # the SDK's own parse error
        (b"", [b""]),
    ):
        assert _asgi_post(app, chunks) == (200, b"sdk", body)
    # Past the limit (counted, or declared before any byte is read): 413 with a JSON-RPC error naming the limit,
    # which the SDK's clients show for the call (the SDK's own 413 was plain text: "Server returned an error
    # response" was all an agent saw). Nothing reaches the SDK's app.
    for chunks, length in (([lone, b" " * 1000], -1), ([lone, b" " * 1000, b" "], -1), ([good], 5000)):
        Echo.read = b"untouched"
        status, answer, read = _asgi_post(app, chunks, length=length)
        assert (status, read) == (413, b"untouched")
        error = json.loads(answer)
        assert error["id"] is None and error["error"]["code"] == -32600, error
        assert "more than 1,000 bytes" in error["error"]["message"] and "stdio" in error["error"]["message"]
    assert _asgi_post(app, [good], length=len(good))[:2] == (200, b"sdk")
    assert _asgi_post(app, [lone[:20]], cut=True) == (200, b"sdk", lone[:20])  # the SDK sees the client go
    assert _asgi_post(app, [lone], path="/other") == (200, b"sdk", lone)
    assert _asgi_post(app, [lone], method="PUT") == (200, b"sdk", lone)


class _Sdk:
    """The SDK's app, as :class:`StrictBodies` hands requests on: the body it read (``untouched`` until one comes) and
    the Content-Type it was given; it answers 200 ``sdk``."""

    def __init__(self) -> None:
        self.read, self.kind = b"untouched", b""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.kind = dict(scope["headers"]).get(b"content-type", b"")
        self.read = (await receive()).get("body", b"")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"sdk"})


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ((), "the body has no Content-Type: send application/json"),
        (((b"content-type", b"text/plain"),), "Content-Type 'text/plain' is not accepted: send application/json"),
        (((b"content-type", b"application/x-www-form-urlencoded"),), "'application/x-www-form-urlencoded'"),
        (((b"content-type", b"application/json"), (b"content-encoding", b"gzip")), "Content-Encoding 'gzip'"),
        (((b"content-type", b"application/json"), (b"content-encoding", b"identity, br")), "'identity, br'"),
    ],
)
def test_mcp_http_bodies_of_another_type_or_compressed_are_told_what_is_taken(
    headers: tuple[tuple[bytes, bytes], ...], says: str
) -> None:
    """The SDK's security middleware answered a POST without ``application/json`` with a plain-text 400 "Invalid
    Content-Type header", naming no type and no JSON-RPC error for the SDK's clients to report, and read a gzip body
    as text ("Parse error: expected value at line 1 column 1"). Each is a 415 JSON-RPC error saying what is taken;
    nothing reaches the SDK."""
    from sceneforge.mcp_server.http_transport import StrictBodies

    body = b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}'
    status, answer, read = _asgi_post(StrictBodies(_Sdk()), [body], headers=headers)
    assert (status, read) == (415, b"untouched")
    error = json.loads(answer)
    assert error["id"] is None and error["error"]["code"] == -32600 and says in error["error"]["message"], error
    taken = ((b"content-type", b"application/json; charset=utf-8"), (b"content-encoding", b"identity"))
    assert _asgi_post(StrictBodies(_Sdk()), [body], headers=taken) == (200, b"sdk", body)


def test_mcp_http_takes_the_json_type_in_any_case() -> None:
    """A media type's name is case-insensitive (RFC 9110 8.3.1): ``Application/JSON`` is taken, and the SDK, which
    compares ``application/json`` exactly, gets it in lower case (its parameters as sent)."""
    from sceneforge.mcp_server.http_transport import StrictBodies

    sdk = _Sdk()
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}'
    headers = ((b"content-type", b"Application/JSON; Charset=UTF-8"),)
    assert _asgi_post(StrictBodies(sdk), [body], headers=headers) == (200, b"sdk", body)
    assert sdk.kind == b"application/json; Charset=UTF-8"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', "not an array (batches are not taken: send one message"),
        (b"[]", "not an array"),
        (b"42", "not a number"),
        (b'"ping"', "not a string"),
        (b"null", "not null"),
        (b"true", "not a boolean"),
    ],
)
def test_mcp_http_json_that_is_no_message_is_an_invalid_request(body: bytes, says: str) -> None:
    """A body that is JSON but not an object (a batch, a number) was answered by the SDK with -32602 and a page of its
    validation errors; it is the JSON-RPC error -32600 saying a message is an object, and never reaches the SDK."""
    from sceneforge.mcp_server.http_transport import StrictBodies

    status, answer, read = _asgi_post(StrictBodies(_Sdk()), [body])
    assert (status, read) == (400, b"untouched")
    error = json.loads(answer)
    assert error["id"] is None and error["error"]["code"] == -32600, error
    assert error["error"]["message"].startswith("Invalid Request: a JSON-RPC message is a JSON object, not ")
    assert says in error["error"]["message"]
