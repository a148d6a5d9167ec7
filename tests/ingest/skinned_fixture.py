"""Skinned GLBs of many influence sets (``JOINTS_i`` / ``WEIGHTS_i``), of every component type glTF allows them."""

from __future__ import annotations

from typing import Any

import numpy as np

from .blender_fixture import GlbBuilder

#: (joints componentType, weights componentType, weights normalized) of each set, in turn.
SET_TYPES = [(5121, 5126, False), (5123, 5121, True), (5121, 5123, True), (5123, 5126, False)]

_DTYPES = {5121: "<u1", 5123: "<u2", 5126: "<f4"}


def many_sets_glb(
    vertices: int,
    sets: int,
    *,
    seed: int = 0,
    joints: int = 4,
    sparse: bool = True,
    mirrored: bool = True,
    types: list[tuple[int, int, bool]] = SET_TYPES,
) -> bytes:
    """A cell ``room`` holding a mesh of ``vertices`` random vertices (a few of which no triangle draws) skinned
    by ``sets`` influence sets of ``types`` in turn (:data:`SET_TYPES`), to ``joints`` joints apart (one of
    them mirrored when ``mirrored``). Some weights are NaN, some vertices weigh nothing; with ``sparse`` the
    last set's weights are a sparse accessor over zeros."""
    rng = np.random.default_rng(seed)
    b = GlbBuilder()
    pos = rng.uniform(-1, 1, (vertices, 3)).astype(np.float32)
    tri = rng.integers(0, max(vertices - 3, 1), (max(vertices // 2, 1), 3))
    prim = b.primitive(pos, tri.astype(np.uint32))
    b.gltf["accessors"][prim["indices"]]["componentType"] = 5125
    view = b.gltf["accessors"][prim["indices"]]["bufferView"]
    b.gltf["bufferViews"].pop()
    b.blob = b.blob[: b.gltf["bufferViews"][-1]["byteOffset"] + b.gltf["bufferViews"][-1]["byteLength"]]
    b.gltf["accessors"][prim["indices"]]["bufferView"] = b.view(tri.astype("<u4").tobytes(), 34963)
    assert view == b.gltf["accessors"][prim["indices"]]["bufferView"]
    for k in range(sets):
        jtype, wtype, normalized = types[k % len(types)]
        joint = rng.integers(0, joints, (vertices, 4)).astype(_DTYPES[jtype])
        if wtype == 5126:
            weight = rng.uniform(0, 1, (vertices, 4)).astype("<f4")
            weight[rng.random((vertices, 4)) < 0.02] = np.nan
        else:
            top = 255 if wtype == 5121 else 65535
            weight = rng.integers(0, top + 1, (vertices, 4)).astype(_DTYPES[wtype])
        weight[rng.random(vertices) < 0.05] = 0
        prim["attributes"][f"JOINTS_{k}"] = _accessor(b, joint, jtype, False)
        if sparse and k == sets - 1 and sets > 1:
            prim["attributes"][f"WEIGHTS_{k}"] = _sparse(b, weight, wtype, normalized, rng)
        else:
            prim["attributes"][f"WEIGHTS_{k}"] = _accessor(b, weight, wtype, normalized)
    mesh = b.mesh("Rigged", [prim])
    nodes = []
    for j in range(joints):
        fields: dict[str, Any] = {"translation": [float(j), 0.5 * j, -float(j)]}
        if mirrored and j == 1:
            fields["scale"] = [-1.0, 1.0, 1.0]
        if j == 2:
            fields["rotation"] = [0.0, 0.6, 0.0, 0.8]
        nodes.append(b.node(f"Bone{j}", **fields))
    b.gltf["skins"] = [{"joints": nodes, "name": "Rig"}]
    rigged = b.node("Rigged", mesh=mesh, skin=0)
    room = b.node("Room", children=[rigged, *nodes], extras={"type": "cell", "cellId": "room"})
    b.gltf["scenes"] = [{"name": "Scene", "nodes": [room]}]
    b.gltf["scene"] = 0
    return b.glb()


def _accessor(b: GlbBuilder, data: np.ndarray, ctype: int, normalized: bool) -> int:
    acc: dict[str, Any] = {"bufferView": b.view(data.tobytes(), 34962), "componentType": ctype}
    acc.update(count=len(data), type="VEC4")
    if normalized:
        acc["normalized"] = True
    b.gltf["accessors"].append(acc)
    return len(b.gltf["accessors"]) - 1


def _sparse(b: GlbBuilder, data: np.ndarray, ctype: int, normalized: bool, rng: np.random.Generator) -> int:
    rows = np.flatnonzero(rng.random(len(data)) < 0.5).astype("<u4")
    if not rows.size:
        rows = np.array([0], "<u4")
    sparse = {
        "count": int(rows.size),
        "indices": {"bufferView": b.view(rows.tobytes()), "componentType": 5125},
        "values": {"bufferView": b.view(np.ascontiguousarray(data[rows]).tobytes())},
    }
    acc: dict[str, Any] = {"componentType": ctype, "count": len(data), "type": "VEC4", "sparse": sparse}
    if normalized:
        acc["normalized"] = True
    b.gltf["accessors"].append(acc)
    return len(b.gltf["accessors"]) - 1
