"""``sceneforge mcp`` driven by the MCP SDK's own client over stdio (a real subprocess on a real data dir)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.api.conftest import start_api
from tests.scenes import TWO_ROOMS

TOOLS = {"validate_scene", "get_draft", "patch_draft", "undo", "enqueue_build", "job_status", "publish", "get_meta"}


def _result(reply: Any) -> dict[str, Any]:
    assert not reply.is_error, reply
    got: dict[str, Any] = reply.structured_content
    return got.get("result", got) if set(got) == {"result"} else got


def test_mcp_stdio_tools_against_the_local_data_dir(tmp_path: Path) -> None:
    for api in start_api(tmp_path):  # a draft in the data dir, made through the service
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}
    env |= {"SCENEFORGE_PROJECT_ROOT": str(tmp_path), "SCENEFORGE_WORKERS": "1"}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "sceneforge.cli", "mcp", "--data", str(tmp_path / "data")],
        env=env,
        cwd=str(tmp_path),
    )

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
