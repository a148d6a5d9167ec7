"""GltfDocument.walk, which reads every node's transform at once, against a node-by-node walk.

The reference below is the walk as it reads one node at a time (each node's ``local_matrix`` and its
parent's world matrix times it): the same nodes in the same order, the same parents, world matrices equal
to the last bits of a quaternion's length, and on a broken file the same first error (pointer and message).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.errors import SceneInvalid
from sceneforge.ingest.gltf_document import _MAX_DEPTH, GltfDocument
from sceneforge.ingest.gltf_json import glb_error


def _reference_walk(doc: GltfDocument) -> list[tuple[int, np.ndarray, int | None]]:
    seen: set[int] = set()
    out = []
    stack: list[tuple[int, Any, int | None, int]] = [(r, np.eye(4), None, 0) for r in reversed(doc.roots())]
    while stack:
        i, parent_world, parent, depth = stack.pop()
        if i in seen:
            raise glb_error(f"/nodes/{i}", "node is reached twice: the node hierarchy must be a tree")
        if depth > _MAX_DEPTH:
            raise glb_error(f"/nodes/{i}", f"node hierarchy is deeper than {_MAX_DEPTH} levels")
        seen.add(i)
        node = doc.node(i)
        local = doc.local_matrix(i)
        world = local if parent is None else parent_world @ local
        out.append((i, world, parent))
        if "children" in node:
            stack.extend((c, world, i, depth + 1) for c in reversed(doc.children(i)))
    return out


def _outcome(walk: Any) -> tuple[str, Any]:
    try:
        return "ok", list(walk())
    except SceneInvalid as exc:
        return "error", [(issue.path, issue.message) for issue in exc.issues]


def _same(doc: GltfDocument) -> None:
    got, want = _outcome(doc.walk), _outcome(lambda: _reference_walk(doc))
    assert got[0] == want[0], (got, want)
    if got[0] == "error":
        assert got[1] == want[1]
        return
    assert [(i, p) for i, _, p in got[1]] == [(i, p) for i, _, p in want[1]]
    for (_, a, _), (_, b, _) in zip(got[1], want[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * max(1.0, float(np.abs(b).max())))


_NUMBER = st.floats(-50, 50, allow_nan=False) | st.integers(-5, 5)
_BAD = st.sampled_from([None, True, "1", [1.0], 1e301, 10**400, float("nan"), {"x": 1}])


@st.composite
def _documents(draw: st.DrawFn, broken: bool) -> dict[str, Any]:
    n = draw(st.integers(1, 24))
    nodes: list[dict[str, Any]] = [{} for _ in range(n)]
    parent = [None] + [draw(st.one_of(st.none(), st.integers(0, k - 1))) for k in range(1, n)]
    for k, p in enumerate(parent):
        if p is not None:
            nodes[p].setdefault("children", []).append(k)
    for node in nodes:
        kind = draw(st.sampled_from(["none", "trs", "trs", "matrix"]))
        if kind == "trs":
            if draw(st.booleans()):
                quat = draw(st.lists(_NUMBER, min_size=4, max_size=4))
                node["rotation"] = quat if any(quat) else [0, 0, 0, 1]
            if draw(st.booleans()):
                node["scale"] = draw(st.lists(_NUMBER, min_size=3, max_size=3))
            if draw(st.booleans()):
                node["translation"] = draw(st.lists(_NUMBER, min_size=3, max_size=3))
        elif kind == "matrix":
            m = np.eye(4)
            m[:3, :] = np.asarray(draw(st.lists(_NUMBER, min_size=12, max_size=12)), dtype=float).reshape(3, 4)
            node["matrix"] = m.T.reshape(-1).tolist()
    if broken:
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.integers(0, n - 1))
            fault = draw(st.sampled_from(["value", "length", "zero", "huge", "affine", "cycle", "child"]))
            key = draw(st.sampled_from(["rotation", "scale", "translation"]))
            width = 4 if key == "rotation" else 3
            if fault == "value":
                nodes[k][key] = [draw(_BAD) if j == 0 else 1.0 for j in range(width)]
            elif fault == "length":
                nodes[k][key] = [1.0] * (width + 1)
            elif fault == "zero":
                nodes[k].pop("matrix", None)
                nodes[k]["rotation"] = [0.0, 0.0, 0.0, 0]
            elif fault == "huge":  # squares past a double: the same turn, scaled, as a node-by-node read takes it
                nodes[k].pop("matrix", None)
                nodes[k]["rotation"] = [3e200, 0.0, 4e200, 0.0]
            elif fault == "affine":
                nodes[k]["matrix"] = [1.0] * 16
            elif fault == "cycle":
                nodes[k].setdefault("children", []).append(draw(st.integers(0, n - 1)))
            else:
                nodes[k].setdefault("children", []).append(n + 5)
    roots = [k for k, p in enumerate(parent) if p is None]
    return {"scenes": [{"nodes": roots}], "nodes": nodes}


@settings(max_examples=200, deadline=None)
@given(gltf=_documents(broken=False))
def test_walk_equals_a_node_by_node_walk(gltf: dict[str, Any]) -> None:
    _same(GltfDocument(gltf, []))


@settings(max_examples=200, deadline=None)
@given(gltf=_documents(broken=True))
def test_walk_of_a_broken_file_raises_the_error_a_node_by_node_walk_meets_first(gltf: dict[str, Any]) -> None:
    _same(GltfDocument(gltf, []))


def test_a_transform_error_before_a_cycle_is_the_one_raised() -> None:
    """Node 1's translation is read before node 2 is found to be reached twice: its error comes first."""
    gltf = {"nodes": [{"children": [1, 2]}, {"translation": [0, "up", 0]}, {"children": [0]}]}
    gltf["scenes"] = [{"nodes": [0]}]
    with pytest.raises(SceneInvalid) as err:
        list(GltfDocument(gltf, []).walk())
    assert err.value.issues[0].path == "/nodes/1/translation"


def test_world_matrices_compose_down_a_chain_and_are_read_only() -> None:
    """A chain 300 deep, each node turned 90° about Y and moved 1 m along its parent's X: the world
    matrices repeat every four levels, and callers cannot change one another's rows."""
    half = math.sqrt(0.5)
    nodes: list[dict[str, Any]] = [
        {"rotation": [0.0, half, 0.0, half], "translation": [1, 0, 0], "children": [k + 1]} for k in range(299)
    ]
    nodes.append({"scale": [2, 2, 2]})
    walk = list(GltfDocument({"scenes": [{"nodes": [0]}], "nodes": nodes}, []).walk())
    assert [i for i, _, _ in walk] == list(range(300))
    np.testing.assert_allclose(walk[4][1][:3, :3], walk[0][1][:3, :3], atol=1e-12)
    np.testing.assert_allclose(walk[3][1][:3, 3], [0, 0, 0], atol=1e-12)  # four moves round a square
    np.testing.assert_allclose(np.linalg.det(walk[-1][1][:3, :3]), 8.0)
    with pytest.raises(ValueError):
        walk[0][1][0, 0] = 5.0
