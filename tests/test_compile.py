"""End-to-end compiler behaviour: the docs/scene-format.md / docs/meta.md contract on real descriptions."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene, etag_of
from sceneforge.config import Limits
from sceneforge.errors import LimitExceeded, SceneInvalid
from sceneforge.generate import generate_apartment, generate_maze
from sceneforge.report import glb_json
from tests.scenes import TEST01, TWO_ROOMS, as_bytes, scene
from tests.support.gltf_validator import assert_valid, validator_available

needs_validator = pytest.mark.skipif(not validator_available(), reason="node_modules/gltf-validator is not installed")


def test_minimal_request_builds_two_cells_and_one_portal() -> None:
    result = compile_scene(as_bytes(TEST01))
    meta = result.meta
    assert list(meta)[:2] == ["ETag", "Bytes"]
    assert meta["ETag"] == result.etag == hashlib.sha256(result.glb).hexdigest()[:16]
    assert meta["Bytes"] == len(result.glb)
    assert meta["Meta"] == {"sceneId": "test01", "cells": ["hall", "kitchen"], "portals": 1}
    vis = meta["visibility"]
    assert [c["cellId"] for c in vis["cells"]] == ["hall", "kitchen"]
    assert vis["cells"][0]["aabb"] == pytest.approx([-2, 0, -2, 2, 3, 2])
    assert vis["cells"][1]["aabb"] == pytest.approx([2.5, 0, -2, 6.5, 3, 2])
    assert vis["portals"][0]["plane"] == pytest.approx([1, 0, 0, -2])
    assert set(vis["cells"][0]["pvs"]) == {"hall", "kitchen"}
    # The portal lies on hall's wall only: kitchen's wall starts 0.5 m further.
    assert [(w.code, w.path) for w in result.warnings] == [("portal_not_touching", "/portals/0")]
    doc = glb_json(result.glb)
    names = [n.get("name") for n in doc["nodes"]]
    assert {"cell:hall", "cell:kitchen", "portal:hall->kitchen"} <= set(names)
    ours = doc["scenes"][0]["extras"]["sceneforge"]
    assert ours == {"formatVersion": 1, "sceneId": "test01", "metaDigest": ours["metaDigest"]}
    assert re.fullmatch("[0-9a-f]{16}", ours["metaDigest"])
    assert doc["asset"]["generator"].startswith("sceneforge ")


def test_same_input_same_etag_and_props_change_it() -> None:
    first = compile_scene(as_bytes(TWO_ROOMS))
    assert compile_scene(as_bytes(TWO_ROOMS)).etag == first.etag
    changed = compile_scene(as_bytes(scene(TWO_ROOMS, props={"author": "someone else"})))
    assert changed.etag != first.etag and changed.etag == etag_of(changed.glb)


def test_a_description_as_text_or_as_a_mapping_builds_the_same_bytes() -> None:
    expected = compile_scene(as_bytes(TWO_ROOMS))
    for data in (json.dumps(TWO_ROOMS), TWO_ROOMS, bytearray(as_bytes(TWO_ROOMS)), memoryview(as_bytes(TWO_ROOMS))):
        result = compile_scene(data)
        assert (result.etag, result.glb) == (expected.etag, expected.glb), type(data).__name__


def test_a_mapping_goes_through_the_same_checks_as_text() -> None:
    with pytest.raises(SceneInvalid) as caught:
        compile_scene(
            scene(TWO_ROOMS, cells=[{"cellId": "a", "room": {"min": [0, 0, 0], "max": [float("nan"), 3, 4]}}])
        )
    assert any(i.path.startswith("/cells/0/room/max") for i in caught.value.issues)
    with pytest.raises(LimitExceeded):
        compile_scene(TWO_ROOMS, BuildOptions(limits=Limits(max_body_bytes=64)))


def _nested(depth: int) -> object:
    value: object = 1.0
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value",
    [_nested(100_000), 10**5000, {1, 2}, b"bytes"],
    ids=["nested-past-the-stack", "integer-past-4300-digits", "set", "bytes"],
)
def test_a_mapping_json_cannot_hold_is_refused_as_invalid_json(value: object) -> None:
    data = scene(TWO_ROOMS, props={"note": value})
    with pytest.raises(SceneInvalid) as caught:
        compile_scene(data)
    assert [(i.path, i.code) for i in caught.value.issues] == [("", "json_invalid")]


@pytest.mark.parametrize("data", [None, 42, ["cells"], Path("level.json")])
def test_anything_else_is_a_type_error_saying_what_is_taken(data: object) -> None:
    with pytest.raises(TypeError, match=r"description's JSON text .* or a tagged GLB's bytes, not "):
        compile_scene(data)  # type: ignore[arg-type]


def test_build_is_byte_identical_across_processes(tmp_path) -> None:
    spec = tmp_path / "maze.json"
    spec.write_text(json.dumps(generate_maze(30, seed=5)))
    code = (
        "import sys, hashlib; from sceneforge.compile import compile_scene, BuildOptions;"
        "r = compile_scene(open(sys.argv[1], 'rb').read(), BuildOptions(compress=len(sys.argv) > 2));"
        "print(hashlib.sha256(r.glb).hexdigest())"
    )
    for extra in ([], ["compress"]):
        digests = {
            subprocess.run(
                [sys.executable, "-c", code, str(spec), *extra], capture_output=True, text=True, check=True
            ).stdout.strip()
            for _ in range(2)
        }
        assert len(digests) == 1


@needs_validator
@pytest.mark.parametrize(
    "options", [BuildOptions(), BuildOptions(quantize=True), BuildOptions(compress=True), BuildOptions(True, True)]
)
def test_outputs_pass_the_khronos_validator(options: BuildOptions) -> None:
    for description in (generate_maze(20, seed=3), generate_apartment(10, seed=4), TEST01):
        assert_valid(compile_scene(as_bytes(description), options).glb)


def test_triangle_limit_counts_generated_walls() -> None:
    with pytest.raises(LimitExceeded) as info:
        compile_scene(as_bytes(TEST01), BuildOptions(limits=Limits(max_triangles=10)))
    assert info.value.limit == "SCENEFORGE_MAX_TRIANGLES"


def test_body_limit_is_checked_before_parsing() -> None:
    with pytest.raises(LimitExceeded) as info:
        compile_scene(b"x" * 100, BuildOptions(limits=Limits(max_body_bytes=10)))
    assert info.value.limit == "SCENEFORGE_MAX_BODY_BYTES"


def test_progress_reports_every_stage_in_order() -> None:
    seen: list[tuple[str, float]] = []
    compile_scene(as_bytes(TWO_ROOMS), progress=lambda stage, f: seen.append((stage, f)))
    stages = [s for s, _ in seen]
    assert stages[0] == "ingest" and stages[-1] == "done"
    assert {"geometry", "optimize", "visibility", "encode"} <= set(stages)
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_progress_callback_can_stop_a_build() -> None:
    class Stop(Exception):
        pass

    def stop_at_visibility(stage: str, fraction: float) -> None:
        if stage == "visibility":
            raise Stop

    with pytest.raises(Stop):
        compile_scene(as_bytes(TWO_ROOMS), progress=stop_at_visibility)


def _leaves(doc: object, path: tuple = ()) -> list[tuple]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _leaves(v, (*path, i))] or [path]
    return [path]


MUTANT_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-1e3, 1e3, allow_nan=False),
    st.text(max_size=6),
    st.lists(st.floats(-10, 10, allow_nan=False), max_size=13),
)


@settings(max_examples=40)
@given(st.data())
def test_mutated_descriptions_build_or_fail_cleanly(data) -> None:
    base = data.draw(st.sampled_from([TEST01, TWO_ROOMS, generate_apartment(4, seed=1)]))
    doc = json.loads(json.dumps(base))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_leaves(doc)))
        if not path:
            continue
        node = doc
        for token in path[:-1]:
            node = node[token]
        node[path[-1]] = data.draw(MUTANT_VALUES)
    try:
        result = compile_scene(as_bytes(doc), BuildOptions(pvs=False))
    except SceneInvalid as exc:
        assert exc.issues and all(i.message for i in exc.issues)
    else:
        assert result.glb[:4] == b"glTF" and result.meta["Bytes"] == len(result.glb)


@needs_validator
def test_tagged_blender_glb_builds_end_to_end() -> None:
    from tests.ingest.blender_fixture import blender_scene

    result = compile_scene(blender_scene(scene_extras={"sceneforge": {"sceneId": "blender-flat"}}))
    assert result.meta["Meta"] == {"sceneId": "blender-flat", "cells": ["hall", "kitchen"], "portals": 2}
    doc = glb_json(result.glb)
    portals = [n["extras"] for n in doc["nodes"] if (n.get("extras") or {}).get("type") == "portal"]
    assert {(p["from"], p["to"]) for p in portals} == {("hall", "kitchen"), ("kitchen", "hall")}
    # The portal planes are visibility data, not geometry: no mesh is named after them.
    assert not any("Plane" in m.get("name", "") for m in doc.get("meshes", []))
    assert_valid(result.glb)


@needs_validator
def test_all_uvs_keeps_world_scaled_uvs_on_untextured_walls() -> None:
    from tests.support.glb_reader import read_glb

    plain = glb_json(compile_scene(as_bytes(TWO_ROOMS)).glb)
    assert not any("TEXCOORD_0" in p["attributes"] for m in plain["meshes"] for p in m["primitives"])
    for options in (BuildOptions(all_uvs=True), BuildOptions(quantize=True, compress=True, all_uvs=True)):
        glb = compile_scene(as_bytes(TWO_ROOMS), options).glb
        doc = glb_json(glb)
        assert all("TEXCOORD_0" in p["attributes"] for m in doc["meshes"] for p in m["primitives"])
        assert_valid(glb)
    glb = read_glb(compile_scene(as_bytes(TWO_ROOMS), BuildOptions(all_uvs=True)).glb)
    prim = glb.json["meshes"][glb.node("cell:a")["mesh"]]["primitives"][0]
    pos = glb.accessor(prim["attributes"]["POSITION"])
    uv = glb.accessor(prim["attributes"]["TEXCOORD_0"])
    tri = glb.accessor(prim["indices"]).reshape(-1, 3)
    # Axis-aligned box rooms: the planar projection keeps every edge length (1 UV unit = 1 m).
    edge_m = np.linalg.norm(pos[tri[:, 1]] - pos[tri[:, 0]], axis=1)
    edge_uv = np.linalg.norm(uv[tri[:, 1]] - uv[tri[:, 0]], axis=1)
    assert np.allclose(edge_m, edge_uv, atol=1e-4) and edge_m.max() > 3.5


def _row_of_rooms(n: int) -> bytes:
    """``n`` rooms in a line, each joined to the next by a doorway on the line's axis: every cell sees every other."""
    cells = [{"cellId": f"r{i}", "room": {"min": [4 * i, 0, 0], "max": [4 * i + 4, 3, 4]}} for i in range(n)]
    portals = [{"between": [f"r{i}", f"r{i + 1}"], "door": {"width": 1.0, "height": 2.0}} for i in range(n - 1)]
    return json.dumps({"sceneId": "row", "cells": cells, "portals": portals}).encode()


@pytest.mark.parametrize("pvs", [True, False])
def test_pvs_entries_are_limited_before_any_is_written(pvs: bool) -> None:
    """Cells that all see (or, without the PVS, reach) each other list n² names in the meta and the GLB: a
    20,000-cell chain ran out of memory. The sets' total is checked before they are written."""
    data, n = _row_of_rooms(30), 30
    built = compile_scene(data, BuildOptions(pvs=pvs, limits=Limits(max_pvs_entries=n * n)))
    listed = sum(len(c["pvs"]) for c in built.meta["visibility"]["cells"])
    assert listed == n * n  # a row of aligned doorways: every room sees every other
    with pytest.raises(LimitExceeded) as refused:
        compile_scene(data, BuildOptions(pvs=pvs, limits=Limits(max_pvs_entries=n * n - 1)))
    assert refused.value.limit == "SCENEFORGE_MAX_PVS_ENTRIES" and refused.value.value == n * n
    assert [i.path for i in refused.value.issues] == ["/cells"]


@pytest.mark.parametrize("kind", ["unreachable_cell", "portal_not_touching", "portal_not_on_wall", "portal_reversed"])
def test_warnings_of_one_kind_are_listed_up_to_a_bound_then_counted(kind: str) -> None:
    """A level can give a warning per cell or per portal (120,000 lines of meta at the limits): each kind lists
    at most MAX_LISTED_WARNINGS, then one more of that kind counting the others."""
    from sceneforge.errors import MAX_LISTED_WARNINGS

    many = MAX_LISTED_WARNINGS + 37
    cells = [{"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4]}}]
    cells.append({"cellId": "b", "room": {"min": [4, 0, 0], "max": [8, 3, 4]}})
    portals: list[dict] = []
    if kind == "unreachable_cell":
        cells += [
            {"cellId": f"x{i}", "room": {"min": [0, 0, 10 + 5 * i], "max": [4, 3, 14 + 5 * i]}} for i in range(many)
        ]
    for i in range(many if kind != "unreachable_cell" else 1):
        z0, z1 = 0.2 + i * 0.025, 0.21 + i * 0.025
        x = {"portal_not_touching": 20.0, "portal_not_on_wall": 2.0}.get(kind, 4.0)
        quad = [x, 0.2, z0, x, 2.0, z0, x, 2.0, z1, x, 0.2, z1]
        if kind == "portal_reversed":
            quad = [x, 0.2, z1, x, 2.0, z1, x, 2.0, z0, x, 0.2, z0]
        portals.append({"from": "a", "to": "b", "quad": quad})
    built = compile_scene(
        json.dumps({"sceneId": "many", "cells": cells, "portals": portals}).encode(), BuildOptions(pvs=False)
    )
    listed = [w for w in built.meta["warnings"] if w["code"] == kind]
    assert len(listed) == MAX_LISTED_WARNINGS + 1, [w["message"] for w in listed[:3]]
    last = listed[-1]
    total = 2 * many if kind == "portal_not_touching" else many  # (apart from both its cells)
    assert f"{total - MAX_LISTED_WARNINGS:,} more" in last["message"] and "not listed" in last["message"]
    assert all(w["path"].startswith("/") for w in listed[:-1])
