"""``sceneforge mcp`` driven by the official TypeScript SDK's client (``@modelcontextprotocol/sdk``, the one Claude
Desktop, Claude Code, Cursor and VS Code use), over stdio and streamable HTTP against a running ``sceneforge serve``,
and over stdio on a local data dir.

``mcp_ts_client.mjs`` runs one session with the SDK's ``Client`` and prints what each step answered; the checks
here are on that summary. Without node or the package the tests skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sceneforge.version import __version__
from tests.scenes import TWO_ROOMS, scene
from tests.support.node_tools import ROOT, require_node_module
from tests.support.servers import free_port, stop_process

SCRIPT = Path(__file__).with_name("mcp_ts_client.mjs")
TOOLS = {"validate_scene", "get_draft", "patch_draft", "undo", "enqueue_build", "job_status", "publish", "get_meta"}
#: The newest version the pinned TypeScript SDK offers, and the one the server answers it with.
TS_PROTOCOL = "2025-11-25"
REASON = "wider b — from the TypeScript client"
BAD_POINTER = "/cells/7/room/max/0"
MISSING_URI = "file:///nowhere/scene.json"
#: Where the lone surrogate the client sends is.
SURROGATE_AT = "/params/arguments/description/props/label"
#: Steps that are tool calls answered with a JSON object (its text the same JSON).
TOOL_STEPS = (
    "validateGood", "validateBad", "getDraft", "patchBadPointer", "patchBadValue", "patch", "undo", "enqueueBuild",
    "job", "metaBeforePublish", "publish", "meta",
)  # fmt: skip


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
            time.sleep(0.2)


@pytest.fixture
def ts_sdk() -> Path:
    """The installed SDK (``npm ci``); skip (fail under ``CI=true``) without it or node, before any server starts."""
    return require_node_module("@modelcontextprotocol/sdk")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``sceneforge serve`` on a fresh data dir, a write key made with ``sceneforge keys create``: (url, key)."""
    data = tmp_path / "data"
    made = subprocess.run(
        [sys.executable, "-m", "sceneforge.cli", "keys", "create", "--scope", "write", "--name", "ts", "--data", data],
        env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    key = made.stdout.split()[0]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sceneforge.cli", "serve", "--port", str(port), "--data", str(data)],
            env=_env() | {"SCENEFORGE_WRITE_RATE": "0"}, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{url}/healthz", proc, log)
        yield url, key
    finally:
        stop_process(proc)


def _run_client(config: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(SCRIPT), json.dumps(config)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def _id_of(message: str) -> Any:
    try:
        return json.loads(message).get("id")
    except ValueError:
        return None


def check_summary(got: dict[str, Any], transport: str, scene_id: str, description: dict[str, Any]) -> None:
    """What the TypeScript client saw in one session; any answer off the protocol or the tool contract fails."""
    connect = got["connect"]
    assert connect["protocolVersion"] == TS_PROTOCOL, connect
    assert connect["serverInfo"] == {"name": "sceneforge", "version": __version__}
    assert set(connect["capabilities"]) == {"tools", "prompts", "resources"}, connect
    assert (connect["sessionId"] is not None) == (transport == "http"), connect

    tools = got["tools"]["tools"]
    assert set(tools) == TOOLS and got["tools"]["nextCursor"] is None, got["tools"]
    assert all(t["inputType"] == "object" and t["outputValidated"] for t in tools.values()), tools
    assert set(tools["patch_draft"]["required"]) == {"scene_id", "ops"}
    patch_args = {"scene_id": "string", "ops": "array", "reason": "string", "if_rev": "integer|null"}
    assert tools["patch_draft"]["properties"] == patch_args, tools["patch_draft"]
    assert tools["publish"]["properties"] == {"scene_id": "string", "version": "integer"}, tools["publish"]
    assert tools["publish"]["required"] == ["scene_id", "version"] and tools["job_status"]["required"] == ["job_id"]
    assert all(t["properties"].get("scene_id", "string") == "string" for t in tools.values()), tools

    for name in TOOL_STEPS:  # answered, its text the same JSON, a tool error exactly when refused
        step = got[name]
        assert "thrown" not in step and step["textMatches"] is True, (name, step)
        assert step["isError"] == (step["body"].get("ok") is False), (name, step)
    assert got["validateGood"]["body"] == {"valid": True, "errors": [], "warnings": []}
    bad = got["validateBad"]["body"]
    assert bad["valid"] is False and [e["path"] for e in bad["errors"]] == ["/cells/0/room"], bad
    draft = got["getDraft"]["body"]
    assert draft["ok"] is True and draft["rev"] == 1 and draft["description"] == description, draft

    pointer = got["patchBadPointer"]["body"]  # the operation's pointer, and the description's pointer it names
    assert pointer["status"] == 422 and pointer["errors"][0]["path"] == "/0/path", pointer
    assert BAD_POINTER in pointer["errors"][0]["message"], pointer
    value = got["patchBadValue"]["body"]
    assert value["status"] == 422 and [e["path"] for e in value["errors"]] == ["/cells/1/room/max/0"], value
    patched = got["patch"]["body"]
    assert patched["rev"] == 2 and patched["revision"]["reason"] == REASON, patched
    assert patched["description"]["cells"][1]["room"]["max"][0] == 10
    undone = got["undo"]["body"]
    assert undone["rev"] == 3 and undone["description"] == description and undone["revision"]["source"] == "undo"

    queued = got["enqueueBuild"]["body"]
    assert queued["ok"] is True and queued["rev"] == 3 and queued["sceneId"] == scene_id, queued
    job = got["job"]["body"]
    assert job["jobId"] == queued["jobId"] and job["status"] == "Succeeded", job
    assert got["metaBeforePublish"]["body"]["status"] == 404
    version = job["result"]["version"]
    published = got["publish"]["body"]
    assert published["ok"] is True and published["version"] == version and published["rev"] == 3, published
    meta = got["meta"]["body"]
    assert meta["ok"] is True and meta["sceneId"] == scene_id and meta["version"] == version, meta

    wrong = got["wrongArgumentType"]  # refused before any request, naming the argument
    assert wrong["isError"] is True and "scene_id" in wrong["text"], wrong
    # Half an emoji (JSON.stringify's "\\ud83d"): refused at once, saying where; over HTTP the 400 carries the error.
    surrogate = got["loneSurrogate"].get("thrown") or {}
    assert surrogate.get("code") == (-32700 if transport == "stdio" else 400), got["loneSurrogate"]
    assert f"Parse error: not strict JSON at {SURROGATE_AT}" in surrogate["message"], surrogate
    assert transport == "stdio" or '"code":-32700' in surrogate["message"].replace(" ", ""), surrogate
    unknown = got["unknownTool"].get("thrown") or {}
    assert unknown.get("code") == -32602 and "Unknown tool: no_such_tool" in unknown["message"], got["unknownTool"]
    assert got["ping"] == {}
    cancelled = got["cancelled"]  # the SDK gave up on it, and the session goes on
    assert "thrown" in cancelled and cancelled["after"] == 3, cancelled
    assert got["prompts"] == [] and got["resourceTemplates"] == []
    assert got["resources"] == {"resources": [], "nextCursor": None}
    missing = got["readMissing"].get("thrown") or {}  # -32002 at the handshake versions (docs/mcp.md)
    assert missing.get("code") == -32002 and missing["data"] == {"uri": MISSING_URI}, got["readMissing"]

    # The client saw nothing off the protocol; a call it cancelled may still be answered (it was on its way, or,
    # over HTTP, the SDK's transport ends the cancelled call's stream with -32800): a response to no call of its.
    assert len(got["cancelledIds"]) == 1, got["cancelledIds"]
    late = "Received a response for an unknown message ID: "
    refused = got["loneSurrogate"]["thrown"]["message"] if transport == "http" else None  # a POST's error, reported
    others = [
        e
        for e in got["clientErrors"]
        if e != refused and not (e.startswith(late) and _id_of(e[len(late) :]) in got["cancelledIds"])
    ]
    assert others == [], got["clientErrors"]
    if transport == "stdio":  # it closes stdin: the server exits by itself, 0
        assert got["close"] == {"exitCode": 0, "signal": None, "terminated": None}, got["close"]
    else:  # it ends the session (DELETE): a request in it is then answered 404
        assert got["close"]["terminated"] is True and got["afterTerminate"] == {"status": 404}, got


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(summary: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = summary
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


#: One broken answer for each check above: ``check_summary`` must refuse each.
BROKEN: dict[str, Callable[[dict[str, Any]], None]] = {
    "older protocol": _set("connect.protocolVersion", "2025-06-18"),
    "another server": _set("connect.serverInfo.name", "other"),
    "logging advertised": _set("connect.capabilities.logging", {}),
    "a tool missing": lambda s: s["tools"]["tools"].pop("undo"),
    "a tool list cursor": _set("tools.nextCursor", "2"),
    "an output schema the client cannot use": _set("tools.tools.get_meta.outputValidated", False),
    "ops optional": _set("tools.tools.patch_draft.required", ["scene_id"]),
    "if_rev missing": lambda s: s["tools"]["tools"]["patch_draft"]["properties"].pop("if_rev"),
    "if_rev a string": _set("tools.tools.patch_draft.properties.if_rev", "string|null"),
    "version a number": _set("tools.tools.publish.properties.version", "number"),
    "scene_id an integer": _set("tools.tools.get_meta.properties.scene_id", "integer"),
    "publish without version": _set("tools.tools.publish.required", ["scene_id"]),
    "a call that threw": _set("getDraft", {"thrown": {"code": -32603, "message": "x"}}),
    "text not the JSON": _set("meta.textMatches", False),
    "refused without isError": _set("patchBadPointer.isError", False),
    "isError on an answer": _set("undo.isError", True),
    "good scene invalid": _set("validateGood.body.valid", False),
    "bad scene without its pointer": _set("validateBad.body.errors.0.path", "/cells/0"),
    "draft at another rev": _set("getDraft.body.rev", 2),
    "bad pointer not named": _set("patchBadPointer.body.errors.0.message", "op 0 failed"),
    "bad pointer not the op's": _set("patchBadPointer.body.errors.0.path", "/cells"),
    "bad value elsewhere": _set("patchBadValue.body.errors.0.path", "/cells/1"),
    "reason lost": _set("patch.body.revision.reason", "wider b"),
    "patch not applied": _set("patch.body.description.cells.1.room.max.0", 8),
    "undo not undone": _set("undo.body.description.cells.1.room.max.0", 10),
    "build of another rev": _set("enqueueBuild.body.rev", 2),
    "build failed": _set("job.body.status", "Failed"),
    "meta before publish": _set("metaBeforePublish.body.status", 200),
    "published another version": _set("publish.body.version", 99),
    "meta of another scene": _set("meta.body.sceneId", "other"),
    "wrong argument accepted": _set("wrongArgumentType.isError", False),
    "surrogate answered": _set("loneSurrogate", {"isError": False, "body": {}, "textMatches": True}),
    "surrogate not placed": _set("loneSurrogate.thrown.message", "Parse error: unexpected end of hex escape"),
    "unknown tool as a tool error": _set("unknownTool", {"thrown": {"code": -32601, "message": "Unknown tool"}}),
    "unknown tool answered": _set("unknownTool", {"isError": True, "body": None, "textMatches": False}),
    "ping refused": _set("ping", {"thrown": {"code": -32601, "message": "x"}}),
    "cancelled call answered": _set("cancelled", {"answered": True, "after": 3}),
    "session gone after a cancel": _set("cancelled.after", None),
    "a prompt": _set("prompts", [{"name": "p"}]),
    "a resource": _set("resources.resources", [{"uri": "x"}]),
    "resource not found at 2026-07-28": _set("readMissing.thrown.code", -32602),
    "resource not found without uri": _set("readMissing.thrown.data", None),
    "a client error": lambda s: s["clientErrors"].append("Error POSTing to endpoint (HTTP 400)"),
    "a stray answer": lambda s: s["clientErrors"].append(
        'Received a response for an unknown message ID: {"jsonrpc":"2.0","id":3,"result":{}}'
    ),
    "no cancel sent": _set("cancelledIds", []),
}
BROKEN_STDIO = {
    "surrogate as HTTP 400": _set("loneSurrogate.thrown.code", 400),
    "a session over stdio": _set("connect.sessionId", "1"),
    "exit 1 on close": _set("close.exitCode", 1),
    "killed on close": _set("close.signal", "SIGTERM"),
}
BROKEN_HTTP = {
    "surrogate 400 without JSON-RPC error": lambda s: s["loneSurrogate"]["thrown"].update(
        message=f"Parse error: not strict JSON at {SURROGATE_AT}"
    ),
    "no HTTP session": _set("connect.sessionId", None),
    "session not ended": _set("afterTerminate.status", 200),
    "no DELETE": _set("close.terminated", False),
}


def _session(transport: str, config: dict[str, Any], scene_id: str, description: dict[str, Any]) -> None:
    got = _run_client({**config, "transport": transport, "scene": scene_id})
    check_summary(got, transport, scene_id, description)
    broken = BROKEN | (BROKEN_STDIO if transport == "stdio" else BROKEN_HTTP)
    passed = []
    for name, change in broken.items():  # each check can fail: a broken answer is refused
        wrong = copy.deepcopy(got)
        change(wrong)
        try:
            check_summary(wrong, transport, scene_id, description)
        except AssertionError:
            continue
        passed.append(name)
    assert passed == []


def test_mcp_typescript_sdk_client_over_stdio(ts_sdk: Path, tmp_path: Path, service: tuple[str, str]) -> None:
    url, key = service
    assert httpx.post(f"{url}/scenes/two-rooms/draft", json=TWO_ROOMS, headers={"X-API-Key": key}).status_code == 201
    command = [sys.executable, "-m", "sceneforge.cli", "mcp", "--url", url]
    env = _env() | {"SCENEFORGE_API_KEY": key}
    _session(
        "stdio", {"command": command[0], "args": command[1:], "env": env, "cwd": str(tmp_path)}, "two-rooms", TWO_ROOMS
    )


def test_mcp_typescript_sdk_client_over_streamable_http(ts_sdk: Path, tmp_path: Path, service: tuple[str, str]) -> None:
    url, key = service
    description = scene(TWO_ROOMS, sceneId="rooms-http")
    assert httpx.post(f"{url}/scenes/rooms-http/draft", json=description, headers={"X-API-Key": key}).status_code == 201
    port = free_port()
    log = tmp_path / "mcp.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sceneforge.cli", "mcp", "--http", "--port", str(port), "--url", url],
            env=_env() | {"SCENEFORGE_API_KEY": key}, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/mcp", proc, log)
        _session("http", {"url": f"http://127.0.0.1:{port}/mcp"}, "rooms-http", description)
    finally:
        stop_process(proc)


def test_mcp_typescript_sdk_client_over_stdio_on_the_local_data_dir(ts_sdk: Path, tmp_path: Path) -> None:
    """As registered in docs/mcp.md (``sceneforge mcp --data DIR``): the service of the data dir in the process."""
    from tests.api.conftest import start_api

    for api in start_api(tmp_path):  # a draft in the data dir, made through the service
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
    command = [sys.executable, "-m", "sceneforge.cli", "mcp", "--data", str(tmp_path / "data")]
    env = _env() | {"SCENEFORGE_WORKERS": "1"}
    config = {"command": command[0], "args": command[1:], "env": env, "cwd": str(tmp_path)}
    _session("stdio", config, "two-rooms", TWO_ROOMS)
