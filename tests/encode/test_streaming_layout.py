"""Streaming layout (docs/streaming.md): each cell one byte range, the index at the file's start, the BVHs."""

from __future__ import annotations

import base64
import json
import struct
from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, BuildResult, compile_scene
from sceneforge.encode import bvh
from sceneforge.encode.buffers import glb_container
from sceneforge.encode.bvh import LEAF_SIZE, _stable_argsort, build_bvhs
from sceneforge.encode.stream_index import PREFIX, WIDTH, encode_pvs, read_index
from tests.support.glb_reader import read_glb

MODES = {
    "plain": BuildOptions(),
    "quantized": BuildOptions(quantize=True),
    "compressed": BuildOptions(compress=True),
    "quantized+compressed": BuildOptions(quantize=True, compress=True),
}


@cache
def _built(mode: str) -> BuildResult:
    from sceneforge.generate.maze import generate_maze

    return compile_scene(json.dumps(generate_maze(60, seed=3)).encode(), MODES[mode])


def _view_span(view: dict) -> tuple[int, int]:
    """[start, end) of a view's bytes in the BIN chunk (its compressed bytes when meshopt-compressed)."""
    ext = view.get("extensions", {}).get("EXT_meshopt_compression")
    where = ext if ext is not None else view
    return where.get("byteOffset", 0), where.get("byteOffset", 0) + where["byteLength"]


def _decode_pvs(text: str, cells: int) -> list[list[int]]:
    data, values, shift, value = base64.b64decode(text), [], 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            values.append(value)
            shift = value = 0
    out, at = [], 0
    for _ in range(cells):
        count = values[at]
        gaps = values[at + 1 : at + 1 + count]
        out.append(np.cumsum(gaps).tolist())
        at += 1 + count
    assert at == len(values)
    return out


@pytest.mark.parametrize("mode", list(MODES))
def test_streaming_layout_each_cell_one_range_holding_its_views(mode):
    result = _built(mode)
    glb, index = read_glb(result.glb), read_index(result.glb)
    assert index is not None
    (json_length,) = struct.unpack_from("<I", result.glb, 12)
    assert index["bin"] == 20 + json_length + 8
    views = glb.json["bufferViews"]
    previous_end = index.get("shared", [0, 0])[0] + index.get("shared", [0, 0])[1]
    for (cell_id, start, length, _aabb, cell_views, prims, roots), node_cell in zip(
        index["cells"], [n for n in glb.json["nodes"] if n.get("extras", {}).get("type") == "cell"], strict=True
    ):
        assert node_cell["extras"]["cellId"] == cell_id
        assert start >= previous_end and start - previous_end < 4  # in scene order, back to back
        previous_end = start + length
        ext = node_cell["extensions"]["SCENEFORGE_bvh"]
        assert ext["roots"] == roots and len(roots) == len(prims)
        mesh_node = node_cell if "mesh" in node_cell else glb.json["nodes"][node_cell["children"][0]]
        primitives = glb.json["meshes"][mesh_node["mesh"]]["primitives"]
        used = {ext["bufferView"]}
        for primitive, (material, vertices, indices, uvs) in zip(primitives, prims, strict=True):
            assert primitive["material"] == material and bool(uvs) == ("TEXCOORD_0" in primitive["attributes"])
            assert glb.json["accessors"][primitive["attributes"]["POSITION"]]["count"] == vertices
            assert glb.json["accessors"][primitive["indices"]]["count"] == indices
            used |= {glb.json["accessors"][a]["bufferView"] for a in [*primitive["attributes"].values()]}
            used.add(glb.json["accessors"][primitive["indices"]]["bufferView"])
        # The index names exactly the views the glTF JSON uses, at the same bytes.
        spans = sorted(_view_span(views[v]) for v in used)
        listed = sorted((start + rel, start + rel + size) for _, rel, size, _ in cell_views)
        assert listed == spans
        assert spans[0][0] == start and spans[-1][1] == start + length
    assert previous_end <= len(glb.bin) < previous_end + 4


@pytest.mark.parametrize("mode", ["plain", "quantized+compressed"])
def test_streaming_layout_meta_ranges_match_the_file(mode):
    result = _built(mode)
    vis = result.meta["visibility"]
    index = read_index(result.glb)
    assert index is not None
    assert vis["headerBytes"] == [0, index["bin"]]
    assert vis["indexBytes"] == [0, index["end"]] and index["end"] < index["bin"]
    for cell, row in zip(vis["cells"], index["cells"], strict=True):
        assert cell["bytes"] == [index["bin"] + row[1], row[2]]
        offset, length = cell["bytes"]
        assert offset + length <= len(result.glb)
    # The first bytes alone give the index: the fixed prefix, then `end` at a fixed place.
    head = result.glb[: index["end"]]
    assert head[20 : 20 + len(PREFIX)] == PREFIX
    assert int(head[20 + len(PREFIX) : 20 + len(PREFIX) + WIDTH]) == index["end"]
    assert read_index(head) == index
    glb = read_glb(result.glb)
    assert "SCENEFORGE_bvh" in glb.json["extensionsUsed"]
    assert "SCENEFORGE_bvh" not in glb.json.get("extensionsRequired", [])
    ids = {c["cellId"]: i for i, c in enumerate(vis["cells"])}
    pvs = _decode_pvs(index["pvs"], len(vis["cells"]))
    assert pvs == [sorted(ids[c] for c in cell["pvs"]) for cell in vis["cells"]]
    portals = [[ids[p["from"]], ids[p["to"]], *p["quad"]] for p in vis["portals"]]
    assert [row[:14] for row in index["portals"]] == portals


def test_streaming_layout_glb_without_index_reads_as_none():
    old = glb_container({"asset": {"version": "2.0"}}, b"\0\0\0\0")
    assert read_index(old) is None


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 90), min_size=1, max_size=6),
    st.integers(0, 2**32 - 1),
    st.sampled_from([1.0, 1e-3, 300.0]),
)
def test_bvh_nodes_bound_their_triangles(counts, seed, scale):
    rng = np.random.default_rng(seed)
    tris = int(np.sum(counts))
    corners = rng.normal(size=(tris, 3, 3)) * scale
    corners[: tris // 3] = corners[0]  # many identical triangles: splits by position only
    bases = rng.integers(0, 1000, len(counts))
    forest = build_bvhs(corners, np.array(counts), bases)
    # The same numbers laid out axis by axis (as the encoder gathers them) give the same trees.
    major = build_bvhs(np.ascontiguousarray(corners.transpose(2, 1, 0)), np.array(counts), bases, axis_major=True)
    assert (major.order == forest.order).all() and (major.nodes == forest.nodes).all()
    runs = np.concatenate([[0], np.cumsum(counts)])
    bounds = forest.nodes[:, :6].copy().view(np.float32).astype(np.float64)
    first = 0
    for r, count in enumerate(counts):
        run = forest.order[runs[r] : runs[r + 1]]
        assert sorted(run.tolist()) == list(range(runs[r], runs[r + 1]))
        reordered = corners[run]
        nodes = forest.nodes[first : first + forest.root_nodes[r]]
        box = bounds[first : first + forest.root_nodes[r]]
        covered = np.zeros(count, int)
        stack = [(0, len(nodes))]  # (node, end of its subtree)
        while stack:
            i, end = stack.pop()
            if nodes[i, 7] >> 16 == 0xFFFF:
                assert end == i + 1
                offset, size = int(nodes[i, 6]) - int(bases[r]), int(nodes[i, 7] & 0xFFFF)
                assert 1 <= size <= LEAF_SIZE
                covered[offset : offset + size] += 1
                inside = reordered[offset : offset + size]
                assert (inside >= box[i, :3]).all() and (inside <= box[i, 3:]).all()
            else:
                right = i + int(nodes[i, 6])
                assert i + 1 < right < end and nodes[i, 7] in (0, 1, 2)
                for child in (i + 1, right):
                    assert (box[child, :3] >= box[i, :3]).all() and (box[child, 3:] <= box[i, 3:]).all()
                stack += [(i + 1, right), (right, end)]
        assert (covered == 1).all()
        first += int(forest.root_nodes[r])
    assert first == forest.nodes.shape[0]


@given(st.lists(st.lists(st.integers(0, 5000), max_size=30, unique=True), min_size=1, max_size=20))
def test_pvs_encoding_round_trips(pvs):
    rows = [sorted(p) for p in pvs]
    assert _decode_pvs(encode_pvs(rows), len(rows)) == rows


@pytest.mark.parametrize("mode", ["plain", "quantized+compressed"])
def test_the_encoder_hands_over_the_index_it_wrote(mode):
    from sceneforge.config import Limits
    from sceneforge.encode.glb import EncodeOptions, encode_glb_indexed
    from sceneforge.encode.meta import build_meta, digest_of, finish_meta, meta_body
    from sceneforge.generate.maze import generate_maze
    from sceneforge.geometry.rooms import generate_rooms
    from sceneforge.ingest.description import description_to_ir, parse_description
    from sceneforge.passes import optimize
    from sceneforge.visibility import compute_visibility

    ir = description_to_ir(parse_description(json.dumps(generate_maze(12, seed=5)).encode()), lambda _a: b"", Limits())
    generate_rooms(ir)
    optimize(ir)
    visibility = compute_visibility(ir)
    options = MODES[mode]
    encode = EncodeOptions(quantize=options.quantize, compress=options.compress)
    body = meta_body(ir, visibility, [])
    glb, index = encode_glb_indexed(ir, encode, meta_digest=digest_of(body))
    # The same dict the bytes hold, offsets filled in; the meta built from it is the one read back.
    assert index == read_index(glb)
    meta = finish_meta(body, glb=glb, etag="0" * 16, build_ms=7, index=index)
    again = build_meta(ir, compute_visibility(ir), glb=glb, etag="0" * 16, warnings=[], build_ms=7)
    assert json.dumps(meta) == json.dumps(again)
    assert all("bytes" in cell for cell in meta["visibility"]["cells"])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 1 << 62), st.lists(st.integers(0, (1 << 62) - 1), max_size=300), st.data())
def test_stable_argsort_matches_numpys_stable_sort(bound: int, raw: list[int], data: st.DataObject) -> None:
    # The BVH's radix passes give the very permutation of a stable int64 sort (ties in input order),
    # for bounds of one pass (up to 2**16) to four.
    values = np.array([v % bound for v in raw], np.int64)
    if data.draw(st.booleans()):
        values = values % data.draw(st.integers(1, 8))  # many ties
    expected = np.argsort(values, kind="stable")
    got = _stable_argsort(values, bound)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def _same_trees_without(corners: np.ndarray, counts: np.ndarray, bases: np.ndarray, bits: str) -> None:
    """The trees ``build_bvhs`` builds, and those it builds with the sort that ``bits`` (a bound of the
    builder's) allows turned off: the same triangle order and nodes."""
    usual = build_bvhs(corners, counts, bases)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bvh, bits, 0)
        other = build_bvhs(corners, counts, bases)
    np.testing.assert_array_equal(usual.order, other.order)
    np.testing.assert_array_equal(usual.nodes, other.nodes)
    np.testing.assert_array_equal(usual.root_nodes, other.root_nodes)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 120), min_size=1, max_size=6),
    st.integers(0, 2**32 - 1),
    st.integers(1, 6),
)
def test_bvh_packed_sort_keys_give_the_two_sort_trees(counts, seed, grid):
    # The per-level sort by (node, centroid rank) and the two stable sorts used when ranks' keys do
    # not fit: the same triangle order and nodes, ties (coordinates on a coarse grid,
    # -0.0 beside 0.0) included.
    rng = np.random.default_rng(seed)
    tris = int(np.sum(counts))
    corners = rng.integers(-grid, grid + 1, size=(tris, 3, 3)).astype(np.float64) / grid
    corners[corners == 0.0] = rng.choice([0.0, -0.0], size=int((corners == 0.0).sum()))
    bases = rng.integers(0, 1000, len(counts))
    _same_trees_without(corners, np.array(counts), bases, "_PACKED_BITS")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1.5, -1.5, 2.0**-1022, 1e300, -1e300]),
        ),
        min_size=1,
        max_size=200,
    )
)
def test_dense_ranks_number_the_distinct_values_in_order(values: list[float]) -> None:
    # The radix ranks of the centroids: each value's index among the sorted distinct values
    # (np.unique's inverse), -0.0 and 0.0 one value, negatives, subnormals and huge values in order.
    array = np.array(values, np.float64)
    _, expected = np.unique(array, return_inverse=True)
    np.testing.assert_array_equal(bvh._dense_ranks(array), expected)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(11, 200), min_size=1, max_size=40),
    st.integers(0, 2**32 - 1),
    st.sampled_from([None, 0, 1]),
)
def test_bvh_radix_and_packed_level_sorts_give_the_same_trees(counts, seed, rounded_axis):
    # A level's (node, rank) keys sorted by radix passes and the same level sorted as packed int64
    # keys: the very same trees, with many distinct coordinates or few (ties) on an axis.
    rng = np.random.default_rng(seed)
    corners = rng.normal(size=(int(np.sum(counts)), 3, 3))
    if rounded_axis is not None:
        corners[..., rounded_axis] = np.round(corners[..., rounded_axis], 1)
    bases = np.zeros(len(counts), np.int64)
    _same_trees_without(corners, np.array(counts), bases, "_KEYED_BITS")


def test_the_index_carries_the_outlines_of_rooms_that_are_not_their_box():
    """``floors`` (docs/streaming.md): one row per room whose plan is not its box, the meta's
    ``floor`` numbers; a level of box rooms has no such member."""
    level = {
        "sceneId": "outlines",
        "cells": [
            {"cellId": "L", "room": {"floor": [[0, 0], [6, 0], [6, 3], [3, 3], [3, 6], [0, 6]], "y": 0, "height": 3}},
            {"cellId": "box", "room": {"min": [6, 0, 0], "max": [9, 3, 3]}},
            {"cellId": "square", "room": {"floor": [[9, 0], [12, 0], [12, 3], [9, 3]], "y": 0, "height": 3}},
            {"cellId": "turned", "room": {"floor": [[13.5, 0], [15, 1.5], [13.5, 3], [12, 1.5]], "y": 0, "height": 3}},
        ],
        "portals": [{"from": "L", "to": "box", "quad": [6, 0.1, 1, 6, 2.1, 1, 6, 2.1, 2, 6, 0.1, 2]}],
    }
    for mode, options in MODES.items():
        result = compile_scene(json.dumps(level).encode(), options)
        index = read_index(result.glb)
        assert index is not None
        by_cell = {c["cellId"]: c.get("floor") for c in result.meta["visibility"]["cells"]}
        assert by_cell["box"] is None and by_cell["square"] is None, mode
        rows = {index["cells"][row[0]][0]: row[1:] for row in index["floors"]}
        assert set(rows) == {"L", "turned"}, mode
        for cell_id, flat in rows.items():
            assert flat == [v for point in by_cell[cell_id] for v in point], (mode, cell_id)
    assert "floors" not in read_index(_built("plain").glb)


def test_the_index_outlines_are_the_meta_outlines_on_a_turned_level():
    """Turned 37°, every room is a floor polygon with coordinates of every length: the index's
    ``floors`` are the meta's ``floor`` numbers, digit for digit."""
    from sceneforge.generate import generate_maze
    from sceneforge.generate.turn import turned

    result = compile_scene(json.dumps(turned(generate_maze(40, seed=2), 37.0)).encode(), BuildOptions())
    index = read_index(result.glb)
    assert index is not None
    cells = result.meta["visibility"]["cells"]
    assert len(index["floors"]) == len(cells)
    for row in index["floors"]:
        assert row[1:] == [v for point in cells[row[0]]["floor"] for v in point]
