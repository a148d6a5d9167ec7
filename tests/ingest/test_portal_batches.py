"""Portal outlines and portal nodes read together (stacked) against one at a time: the same bits and messages.

:func:`~sceneforge.ingest.portal_outline.planar_outlines` against
:func:`~sceneforge.ingest.portal_outline.planar_outline` on random point sets (planar, non-planar, collinear,
coincident, slivers, n-gons, grids, Blender Planes), and a tagged GLB's portal nodes read by
:func:`~sceneforge.ingest.glb_portals.portals`, ``orient`` and ``z_up`` against the per-node reading of
``tests/ingest/portal_reference.py``: the same quads, normals, errors, messages and order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sceneforge.ingest.portal_outline as outline
from sceneforge.config import Limits
from sceneforge.errors import Issue, SceneInvalid
from sceneforge.ingest import glb_portals, tagged_glb
from sceneforge.ingest.glb_tags import tag
from sceneforge.ingest.gltf_read import parse_glb
from sceneforge.model.ir import Cell

from . import portal_reference as reference
from .blender_fixture import GlbBuilder, box_mesh_arrays


def _turn(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    x, y, z, w = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _flat(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points in a plane, of one kind."""
    w, h = rng.uniform(0.01, 5.0, 2)
    if kind == "ngon":
        t = np.arange(n) * 2 * np.pi / n + (rng.uniform(0, 1) if rng.integers(2) else 0.0)
        return np.stack([w * np.cos(t), h * np.sin(t)], axis=1)
    if kind == "random":
        return rng.uniform(-1, 1, (n, 2)) * [w, h]
    if kind == "collinear":
        return np.stack([np.linspace(0, w, n), np.linspace(0, h, n)], axis=1)
    if kind == "tiny":
        return rng.uniform(-1, 1, (n, 2)) * 10.0 ** -float(rng.integers(3, 8))
    if kind == "repeated":
        flat = np.round(rng.uniform(-1, 1, (n, 2)) * [w, h], int(rng.integers(0, 3)))
        flat[-1:] = flat[:1]
        return flat
    if kind == "plane":  # a Blender Plane's corners, in any order; more points repeat them
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
        return corners[rng.permutation(4)] if n == 4 else corners[rng.integers(0, 4, n)]
    if kind == "edged":  # a rectangle with points along its sides: collinear on the hull
        t = rng.integers(0, 5, (n, 1)) / 4
        side = rng.integers(0, 4, n)
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
        return corners[side] + t * (corners[(side + 1) % 4] - corners[side])
    if kind == "sliver":
        thin = h * 10.0 ** -float(rng.integers(3, 13))
        return np.stack([rng.uniform(0, w, n), rng.uniform(0, thin, n)], axis=1)
    side = max(2, int(np.sqrt(n)))  # a grid, its last row short
    x, y = np.meshgrid(np.linspace(-w, w, side), np.linspace(-h, h, -(-n // side)))
    return np.stack([x.ravel(), y.ravel()], axis=1)[:n]


_KINDS = ["ngon", "random", "collinear", "tiny", "repeated", "plane", "sliver", "grid", "edged"]


def _points(kind: str, n: int, rng: np.random.Generator, lifted: bool = True) -> np.ndarray:
    """A point set of ``kind`` turned and moved at random; now and then lifted off its plane."""
    flat = _flat(kind, n, rng)
    lift = np.zeros((n, 1))
    if lifted and rng.integers(5) == 0:
        lift = rng.normal(size=(n, 1)) * 10.0 ** -float(rng.integers(2, 7))
    turn = _turn(rng) if rng.integers(4) else np.eye(3)
    shift = rng.uniform(-1e3, 1e3, 3) if rng.integers(2) else np.zeros(3)
    out: np.ndarray = np.concatenate([flat, lift], axis=1) @ turn.T + shift
    return out


def _same(got: Any, want: Any) -> bool:
    if isinstance(got[0], str) or isinstance(want[0], str):
        return bool(got == want)
    return [a.tobytes() for a in got] == [b.tobytes() for b in want]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    counts=st.lists(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 8, 16, 32, 33]), min_size=1, max_size=4),
)
def test_planar_outlines_are_planar_outline_of_each_set(seed: int, counts: list[int]) -> None:
    rng = np.random.default_rng(seed)
    sets = [
        _points(_KINDS[int(rng.integers(len(_KINDS)))], n, rng) for n in counts for _ in range(int(rng.integers(1, 25)))
    ]
    got = outline.planar_outlines(sets)
    for points, found in zip(sets, got, strict=True):
        assert _same(found, outline.planar_outline(points)), points


def test_blender_planes_and_ngons_are_outlined_on_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planes, 32-gons and triangles, turned and moved: every one outlined by the stacked steps (none alone)."""
    rng = np.random.default_rng(5)
    single = outline.planar_outline
    alone: list[int] = []

    def counted(points: np.ndarray) -> Any:
        alone.append(len(points))
        return single(points)

    for n in (3, 4, 32):
        stack = np.stack([_points("plane" if n == 4 else "ngon", n, rng, lifted=False) for _ in range(200)])
        want = [single(p) for p in stack]
        monkeypatch.setattr(outline, "planar_outline", counted)
        got = outline.stacked_outlines(stack)
        monkeypatch.undo()
        assert alone == [], f"{len(alone)} of the {n}-vertex sets were outlined alone"
        assert all(_same(a, b) for a, b in zip(got, want, strict=True))
        assert not any(isinstance(w[0], str) for w in want)  # outlines, not errors


def _doorway(b: GlbBuilder, rng: np.random.Generator, name: str, faults: bool) -> int:
    """A doorway mesh: triangles (a fan), or a wire, or points; now and then two primitives. With
    ``faults``, of any kind (collinear, tiny, lifted off its plane …), else one that has an outline."""
    kinds = _KINDS if faults else ["random", "grid"]
    kind = kinds[int(rng.integers(len(kinds)))] if rng.integers(3) == 0 else str(rng.choice(["plane", "ngon"]))
    n = 4 if kind == "plane" else int(rng.choice([3, 4, 5, 8, 32]))
    flat = _flat(kind, n, rng)
    lift = rng.normal(size=(n, 1)) * 1e-3 if faults and rng.integers(12) == 0 else np.zeros((n, 1))
    p = np.concatenate([flat, lift], axis=1)
    fan = np.stack([np.zeros(n - 2, np.int64), np.arange(1, n - 1), np.arange(2, n)], axis=1)
    mode = int(rng.choice([4, 4, 4, 4, 1, 0]))
    if mode != 4:
        prim = b.primitive(p)
        prim["mode"] = mode
        return b.mesh(name, [prim])
    prims = [b.primitive(p, fan)]
    if rng.integers(6) == 0:
        prims.insert(0, b.primitive(p[:3], np.array([[0, 1, 2]])))
    return b.mesh(name, prims)


def _tagged(seed: int, portals: int, faults: bool) -> bytes:
    """Two cells and ``portals`` portal nodes in random doorway meshes, shared or not, turned, scaled (now
    and then mirrored), placed; with ``faults``, bad ends, oneWay, quads, missing meshes and far places too."""
    rng = np.random.default_rng(seed)
    b = GlbBuilder()
    pos, nrm, uv, tri = box_mesh_arrays((2.0, 1.5, 2.0))
    room = b.mesh("RoomBox", [b.primitive(pos, tri, normals=nrm, uvs=uv)])
    hall, kitchen = (b.node(f"{name}Room", mesh=room, translation=[0, 1.5, 0]) for name in ("Hall", "Kitchen"))
    cells = [
        b.node("Hall", children=[hall], extras={"type": "cell", "cellId": "hall"}),
        b.node("Kitchen", children=[kitchen], translation=[4, 0, 0], extras={"type": "cell", "cellId": "kitchen"}),
    ]
    shared = [_doorway(b, rng, f"Shared{k}", faults) for k in range(3)]
    doors = []
    for k in range(portals):
        mesh = shared[int(rng.integers(3))] if rng.integers(2) else _doorway(b, rng, f"Door{k}", faults)
        ends = ["hall", "kitchen"][:: 1 if rng.integers(2) else -1]
        extras: dict[str, Any] = {"type": "portal", "from": ends[0], "to": ends[1]}
        if rng.integers(4) == 0:
            extras["oneWay"] = [True, False, 0, 1][int(rng.integers(4))]
        scale = [float(rng.uniform(0.3, 2.0)), float(rng.uniform(0.3, 2.0)), 1.0]
        if rng.integers(6) == 0:
            scale[0] = -scale[0]
        q = rng.normal(size=4)
        node: dict[str, Any] = {"mesh": mesh, "rotation": (q / np.linalg.norm(q)).tolist(), "scale": scale}
        node["translation"] = [2.0, 1.0 + float(rng.normal()), float(rng.normal())]
        fault = int(rng.integers(30)) if faults else -1
        if fault == 0:
            extras.pop("from")
        elif fault == 1:
            extras["to"] = "attic"
        elif fault == 2:
            extras["to"] = extras["from"]
        elif fault == 3:
            extras["oneWay"] = "yes"
        elif fault == 4:
            node.pop("mesh")
        elif fault == 5:
            node["translation"] = [3e6, 0.0, 0.0]
        elif fault == 6:
            extras["quad"] = [2, 0, -1, 2, 0, 1, 2, 2, 1, 2, 2, -1] if rng.integers(2) else [0] * 12
        doors.append(b.node(f"Door.{k:03d}", extras=extras, **node))
    root: dict[str, Any] = {"children": cells + doors}
    if rng.integers(3) == 0:  # a Z-up file: the doorways stand along Z
        root["rotation"] = [float(np.sqrt(0.5)), 0.0, 0.0, float(np.sqrt(0.5))]
    level = b.node("Level", **root)
    b.gltf["scenes"] = [{"name": "Scene", "nodes": [level]}]
    b.gltf["scene"] = 0
    return b.glb()


def _read(data: bytes, stacked: bool) -> tuple[list[Any], list[Issue]]:
    """The portal nodes of ``data`` read stacked or one at a time, as the ingest reads them."""
    doc = parse_glb(data)
    walk = list(doc.walk())
    tags = {i: tag(doc, i) for i, _, _ in walk}
    cells = {
        e["cellId"]: Cell(e["cellId"], f"/nodes/{i}") for i, _, _ in walk if (e := tags[i][1]).get("type") == "cell"
    }
    nodes = [(i, world) for i, world, _ in walk if tags[i][0] == "portal"]
    meshes = [m for i, _ in nodes if (m := doc.node_mesh(i)) is not None]
    doc.shared_meshes = {m for m in meshes if meshes.count(m) > 1}
    errors: list[Issue] = []
    if stacked:
        return glb_portals.portals(doc, nodes, tags, cells, errors), errors
    found = [reference.portal(doc, i, world, tags[i][1], tags[i][2], cells, errors) for i, world in nodes]
    return [f for f in found if f is not None], errors


def _bits(found: list[Any]) -> list[Any]:
    return [
        (a, b, quad.tobytes(), one_way, None if hint is None else hint.tobytes()) for a, b, quad, one_way, hint in found
    ]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), faults=st.booleans())
def test_portal_nodes_read_stacked_are_read_one_at_a_time(seed: int, faults: bool) -> None:
    data = _tagged(seed, 80, faults)
    found, errors = _read(data, stacked=True)
    want, want_errors = _read(data, stacked=False)
    assert _bits(found) == _bits(want)
    assert [(e.path, e.code, e.message) for e in errors] == [(e.path, e.code, e.message) for e in want_errors]


def _ingest(data: bytes) -> Any:
    try:
        ir, warnings = tagged_glb.tagged_glb_to_ir(data, Limits())
    except SceneInvalid as err:
        return [(e.path, e.code, e.message) for e in err.issues]
    portals = [(p.index, p.from_cell, p.to_cell, p.quad.tobytes(), p.one_way) for p in ir.portals]
    return portals, [(w.path, w.code, w.message) for w in warnings]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), faults=st.booleans())
def test_tagged_glb_ingest_is_that_of_the_per_node_reading(seed: int, faults: bool) -> None:
    """The whole ingest, its portals turned and voted Z-up stacked, against the per-node reading."""
    data = _tagged(seed, 60, faults)
    got = _ingest(data)

    def one_at_a_time(doc: Any, nodes: Any, tags: Any, cells: Any, errors: list[Issue]) -> list[Any]:
        found = [reference.portal(doc, i, world, tags[i][1], tags[i][2], cells, errors) for i, world in nodes]
        return [f for f in found if f is not None]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tagged_glb, "read_portals", one_at_a_time)
        mp.setattr(tagged_glb, "orient", lambda portals, hints, cells, boxes: reference.orient(portals, hints, boxes))
        mp.setattr(tagged_glb, "z_up", reference.z_up)
        want = _ingest(data)
    assert got == want


@pytest.mark.parametrize(
    ("points", "says"),
    [
        ([[0.0, 0.0, 0.0]], "1 vertex spans no area"),
        ([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], "2 vertices span no area"),
        ([[2.0, 1.0, 0.5]] * 4, "the vertices coincide (an object scaled to a point?): they span no area"),
        ([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, 2.0, 0.0], [3.0, 3.0, 0.0]], "the vertices are collinear"),
    ],
)
def test_a_doorway_that_spans_no_area_says_how(points: list[list[float]], says: str) -> None:
    """A doorway of one or two vertices, or scaled to a point, is told as such, not as collinear; the stack
    says the same as one set at a time."""
    p = np.asarray(points)
    code, message = outline.planar_outline(p)
    assert code == "degenerate" and message.startswith(says), message
    if p.shape[0] >= 3:
        assert outline.planar_outlines([p, p + 1.0]) == [(code, message)] * 2
