"""Every JSON output is strict JSON (no NaN / Infinity), even for a Blender Grid used as a doorway,
and a missing top-level key answers with the root pointer "" (RFC 6901), not "/"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

from sceneforge.cli import app
from tests.ingest.test_tagged_glb import _grid, _two_boxes_and_portal

from .conftest import Api


def _strict(text: str | bytes) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _grid_doorway() -> bytes:
    points, tri = _grid(5, 4, (0.5, 0.8))
    return _two_boxes_and_portal(np.stack([points[:, 2], points[:, 1], -points[:, 0]], axis=1), tri)


def test_api_answers_are_strict_json_for_a_grid_doorway(api: Api) -> None:
    headers = {**api.auth(), "content-type": "model/gltf-binary"}
    built = api.post("/scenes/build", content=_grid_doorway(), headers=headers)
    assert built.status_code == 200, built.text
    _strict(built.content)
    meta = api.get("/scenes/S/meta")
    assert meta.status_code == 200
    plane = _strict(meta.content)["visibility"]["portals"][0]["plane"]
    assert np.isfinite(plane).all() and np.allclose(plane, [1, 0, 0, -1])
    for url in ("/scenes", "/scenes/S"):
        response = api.get(url)
        if response.headers.get("content-type", "").startswith("application/json"):
            _strict(response.content)


def test_api_missing_cells_is_the_root_pointer(api: Api) -> None:
    response = api.post("/scenes/build", content=b'{"sceneId": "a"}', headers=api.auth())
    assert response.status_code == 422
    errors = _strict(response.content)["errors"]
    assert {"path": "", "code": "missing", "message": "cells is required"} in errors


def test_cli_outputs_are_strict_json_and_the_root_pointer_is_empty(tmp_path: Path) -> None:
    runner = CliRunner()
    spec = tmp_path / "level.glb"
    spec.write_bytes(_grid_doorway())
    done = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"])
    assert done.exit_code == 0, done.output
    _strict((tmp_path / "out" / "S.meta.json").read_text())
    inspected = runner.invoke(app, ["inspect", str(tmp_path / "out" / "S.glb"), "--json"])
    assert inspected.exit_code == 0, inspected.output
    _strict(inspected.stdout)
    bad = tmp_path / "bad.json"
    bad.write_text('{"sceneId": "a"}')
    refused = runner.invoke(app, ["validate", str(bad)])
    assert refused.exit_code == 2
    assert ": cells is required" in refused.output.splitlines()


def test_builds_whose_meta_differ_are_distinct_versions(api: Api) -> None:
    """oneWay changes the PVS and the GLB bytes: a new ETag and version, whose meta says oneWay."""
    from .conftest import TEST01

    def build(body: bytes) -> dict[str, Any]:
        response = api.post("/scenes/build", content=body, headers=api.auth())
        assert response.status_code == 200, response.text
        return _strict(response.content)  # type: ignore[no-any-return]

    first = build(TEST01)
    one_way = json.loads(TEST01)
    one_way["portals"][0]["oneWay"] = True
    second = build(json.dumps(one_way).encode())
    assert second["eTag"] != first["eTag"] and second["version"] == first["version"] + 1
    meta = _strict(api.get("/scenes/test01/meta").content)
    assert meta["ETag"] == second["eTag"] and meta["visibility"]["portals"][0]["oneWay"] is True
    assert build(TEST01)["eTag"] == first["eTag"]


def test_api_and_job_builds_take_the_compatibility_options(api: Api) -> None:
    from sceneforge.jobs.build import compile_build
    from tests.support.glb_reader import read_glb

    from .conftest import TEST01

    reply = api.post("/scenes/build?compress=true&fallback=true", content=TEST01, headers=api.auth())
    assert reply.status_code == 200, reply.text
    glb = read_glb(api.get("/scenes/test01.glb").content).json
    assert "EXT_meshopt_compression" in glb["extensionsUsed"]
    assert "EXT_meshopt_compression" not in glb.get("extensionsRequired", [])
    options = {"compress": True, "quantize": True, "fallback": True, "instancing": False}
    output = compile_build(TEST01, options, api.services.limits, lambda s, f: None)
    assert output.glb == api.get("/scenes/test01.glb").content


def test_api_build_options_mean_what_the_cli_flags_mean(api: Api) -> None:
    """``?compress`` quantizes unless ``?quantize=false`` (the CLI's ``--compress``); ``?fallback`` without
    ``?compress`` is a 422 naming it (the CLI exits 2), and nothing is built or queued."""
    from tests.support.glb_reader import read_glb

    from .conftest import TEST01

    def extensions(query: str) -> set[str]:
        reply = api.post(f"/scenes/build?{query}", content=TEST01, headers=api.auth())
        assert reply.status_code == 200, reply.text
        return set(read_glb(api.get("/scenes/test01.glb").content).json.get("extensionsUsed", []))

    assert {"EXT_meshopt_compression", "KHR_mesh_quantization"} <= extensions("compress=true")
    assert "KHR_mesh_quantization" not in extensions("compress=true&quantize=false")
    assert extensions("quantize=true") >= {"KHR_mesh_quantization"}
    versions = len(api.get("/scenes/test01/versions").json())
    for url in ("/scenes/build?fallback=true", "/jobs/enqueue?fallback=true&quantize=true"):
        refused = api.post(url, content=TEST01, headers=api.auth())
        assert refused.status_code == 422, refused.text
        assert [e["path"] for e in refused.json()["errors"]] == ["/query/fallback"]
    assert len(api.get("/scenes/test01/versions").json()) == versions
