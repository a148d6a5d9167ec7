"""Incremental builds: reused cells give the same bytes as a full build."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.generate import generate_apartment, generate_maze, turned
from sceneforge.incremental import CACHE_FORMAT, MemoryCellCache, pack_cell, unpack_cell
from sceneforge.visibility import build_portal_graph
from sceneforge.visibility.pvs import portal_flow
from sceneforge.visibility.reuse import FlowRecord, flow_sets
from tests.support.scenes import box_surfaces
from tests.visibility.sightlines import ir_from_description

LEVELS = Path(__file__).parent / "data" / "levels"


def _build(doc: dict[str, Any], cache: MemoryCellCache | None = None, **options: Any) -> Any:
    return compile_scene(json.dumps(doc).encode(), BuildOptions(cache=cache, **options))


def _edit(doc: dict[str, Any], kind: str, pick: int) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    cells = out["cells"]
    i = pick % len(cells)
    room = cells[i].get("room")
    if kind == "material" and room is not None:
        room["material"] = "edited"
        out.setdefault("materials", {})["edited"] = "#aa3311"
    elif kind == "height" and room is not None and "max" in room:
        room["max"][1] = room["max"][1] + 0.25
    elif kind == "remove" and len(cells) > 2:
        gone = cells.pop(i)["cellId"]
        out["portals"] = [p for p in out["portals"] if gone not in (p.get("from"), p.get("to"), *p.get("between", []))]
    elif kind == "props":
        out.setdefault("props", {})["note"] = "edited"
    elif kind == "portal_shuffle":  # the same portals in another order
        random.Random(pick).shuffle(out["portals"])
    elif kind == "cell_shuffle":  # the same cells in another order: every index changes
        random.Random(pick).shuffle(cells)
    elif kind in ("portal_split", "portal_remove", "portal_shrink") and out["portals"]:
        k = pick % len(out["portals"])
        portal = out["portals"][k]
        a, b, c, d = (np.array(portal["quad"][j : j + 3], float) for j in range(0, 12, 3))
        if kind == "portal_remove":
            out["portals"].pop(k)
        elif kind == "portal_shrink":  # the same doorway, narrower: a moved portal
            portal["quad"] = _quad(a + 0.2 * (d - a), b + 0.2 * (c - b), c + 0.2 * (b - c), d + 0.2 * (a - d))
        else:  # two doorways where there was one: a portal removed, two added
            portal["quad"] = _quad(a, b, b + 0.4 * (c - b), a + 0.4 * (d - a))
            out["portals"].append({**portal, "quad": _quad(a + 0.6 * (d - a), b + 0.6 * (c - b), c, d)})
    return out


def _quad(*corners: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in np.concatenate(corners)]


KINDS = ["material", "height", "remove", "props", "portal_split", "portal_remove", "portal_shrink", "portal_shuffle",
         "cell_shuffle"]  # fmt: skip
#: Edits that leave every portal as it was (up to order): the PVS is reused for every cell.
SAME_PORTALS = ("material", "height", "props", "portal_shuffle", "cell_shuffle")


@settings(max_examples=20, deadline=None)
@given(
    level=st.sampled_from(["maze", "apartment"]),
    seed=st.integers(0, 50),
    edits=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 99)), min_size=1, max_size=3),
    quantize=st.booleans(),
    compress=st.booleans(),
)  # fmt: skip
def test_incremental_same_bytes_as_full_build(
    level: str, seed: int, edits: list[tuple[str, int]], quantize: bool, compress: bool
):
    doc = generate_maze(cells=9, seed=seed) if level == "maze" else generate_apartment(cells=6, seed=seed)
    cache = MemoryCellCache()
    options = {"quantize": quantize, "compress": compress}
    first = _build(doc, cache, **options)
    assert first.meta["stats"]["cellsRebuilt"] == len(doc["cells"]) and first.meta["stats"]["cellsReused"] == 0
    for kind, pick in edits:
        doc = _edit(doc, kind, pick)
        warm = _build(doc, cache, **options)
        cold = _build(doc, None, **options)
        assert warm.glb == cold.glb
        assert warm.meta["visibility"] == cold.meta["visibility"]
        stats = warm.meta["stats"]
        assert stats["cellsRebuilt"] + stats["cellsReused"] == len(doc["cells"])
        if kind in SAME_PORTALS:  # no PVS walk at all
            assert stats["pvsCellsWalked"] == 0
        if kind == "props":
            assert stats["cellsRebuilt"] == 0


def test_incremental_rebuilding_one_of_two_boolean_rooms_writes_the_full_builds_bytes():
    """``a`` and ``b`` both take the boolean path (their doorway ends 0.03 mm past the cavity's corner);
    editing ``c`` rebuilds ``b`` alone and reuses ``a``: ``b`` is shaded as in a full build, where it is
    shaded beside ``a``. ``stats.booleanCells`` counts both, ``a``'s from its cache entry (it said 1: a build that
    reused boolean rooms hid them)."""

    def level(far: float) -> dict[str, Any]:
        def box(cell_id: str, x0: float, x1: float) -> dict[str, Any]:
            return {"cellId": cell_id, "room": {"min": [x0, 0, 0], "max": [x1, 3, 4], "wallThickness": 0.05}}

        quad = [4, 0, 0.05003, 4, 2, 0.05003, 4, 2, 0.7, 4, 0, 0.7]
        portals = [{"from": "a", "to": "b", "quad": quad}, {"between": ["b", "c"]}]
        return {"sceneId": "s", "cells": [box("a", 0, 4), box("b", 4, 8), box("c", 8, far)], "portals": portals}

    cache = MemoryCellCache()
    assert _build(level(12.0), cache).meta["stats"]["booleanCells"] == 2
    warm, cold = _build(level(11.998), cache), _build(level(11.998))
    assert warm.meta["stats"]["cellsReused"] == 1 and warm.meta["stats"]["booleanCells"] == 2
    assert warm.glb == cold.glb and cold.meta["stats"]["booleanCells"] == 2
    again = _build(level(11.998), cache)
    assert again.meta["stats"]["cellsReused"] == 3 and again.meta["stats"]["booleanCells"] == 2


def test_incremental_one_room_changed_rebuilds_few_cells():
    doc = json.loads((LEVELS / "office-small.json").read_text())
    cache = MemoryCellCache()
    _build(doc, cache)
    edited = _edit(doc, "material", 7)
    stats = _build(edited, cache).meta["stats"]
    assert stats["cellsRebuilt"] == 1 and stats["cellsReused"] == len(doc["cells"]) - 1


def test_incremental_instancing_option_is_part_of_the_key():
    doc = generate_maze(cells=4, seed=3)
    cache = MemoryCellCache()
    _build(doc, cache, instancing=True)
    stats = _build(doc, cache, instancing=False).meta["stats"]
    assert stats["cellsReused"] == 0


def test_pack_cell_round_trip_and_rejects_other_formats():
    surfaces = box_surfaces("m", (0, 0, 0), 1.0)
    raw, back, boolean = unpack_cell(pack_cell(42, surfaces)) or (None, [], None)
    assert raw == 42 and len(back) == len(surfaces) and boolean is False
    assert (unpack_cell(pack_cell(42, surfaces, boolean=True)) or (None, [], None))[2] is True
    for a, b in zip(surfaces, back, strict=True):
        assert a.material == b.material
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.indices, b.indices)
    assert unpack_cell(b"nope") is None
    assert unpack_cell(pack_cell(1, surfaces)[:-4]) is None
    packed = pack_cell(1, surfaces)
    bumped = packed.replace(f'"format": {CACHE_FORMAT}'.encode(), f'"format": {CACHE_FORMAT + 1}'.encode())
    assert bumped != packed and unpack_cell(bumped) is None


def test_incremental_corrupt_entry_is_rebuilt():
    doc = generate_maze(cells=4, seed=5)
    cache = MemoryCellCache()
    full = _build(doc, cache)
    for key in cache.entries:
        cache.entries[key] = b"SFCC garbage"
    again = _build(doc, cache)
    assert again.glb == full.glb and again.meta["stats"]["cellsReused"] == 0


@pytest.mark.parametrize("pvs", [True, False])
def test_incremental_full_cache_hit(pvs: bool):
    doc = generate_apartment(cells=5, seed=2)
    cache = MemoryCellCache()
    a = _build(doc, cache, pvs=pvs)
    b = _build(doc, cache, pvs=pvs)
    assert a.glb == b.glb and b.meta["stats"]["cellsReused"] == 5


@settings(max_examples=25, deadline=None)
@given(
    level=st.sampled_from(["maze", "apartment"]),
    seed=st.integers(0, 200),
    edits=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 99)), min_size=1, max_size=4),
)
def test_pvs_reuse_rule_is_conservative(level: str, seed: int, edits: list[tuple[str, int]]):
    """Sets kept by the reuse rule equal the sets a whole flow computes for the edited scene."""
    doc = generate_maze(cells=16, seed=seed) if level == "maze" else generate_apartment(cells=8, seed=seed)
    graph = build_portal_graph(ir_from_description(doc))
    _, record, walked = flow_sets(ir_from_description(doc), graph, None)
    assert walked == len(doc["cells"])
    assert FlowRecord.unpack(record.pack()) is not None
    for kind, pick in edits:
        doc = _edit(doc, kind, pick)
        ir = ir_from_description(doc)
        graph = build_portal_graph(ir)
        previous = FlowRecord.unpack(record.pack())
        sets, record, walked = flow_sets(ir, graph, previous)
        whole, _ = portal_flow(graph)
        assert len(sets) == len(whole) == len(doc["cells"])
        for got, want in zip(sets, whole, strict=True):
            np.testing.assert_array_equal(got, want)
        if kind in SAME_PORTALS:
            assert walked == 0


def test_pvs_reuse_walks_only_near_a_changed_portal():
    doc = json.loads((LEVELS / "office-small.json").read_text())
    ir = ir_from_description(doc)
    _, record, _ = flow_sets(ir, build_portal_graph(ir), None)
    edited = _edit(doc, "portal_shrink", 3)
    ir = ir_from_description(edited)
    graph = build_portal_graph(ir)
    sets, _, walked = flow_sets(ir, graph, record)
    assert 0 < walked < len(doc["cells"])
    whole, _ = portal_flow(graph)
    assert all(np.array_equal(a, b) for a, b in zip(sets, whole, strict=True))


def test_pvs_reuse_of_the_same_graph_keeps_every_set_sorted():
    """The same cells and portals: every set is the record's, as it is; a record whose set is out of
    order (not one a flow writes) still gives sorted sets, the whole flow's."""
    doc = json.loads((LEVELS / "office-small.json").read_text())
    ir = ir_from_description(doc)
    graph = build_portal_graph(ir)
    whole, _ = portal_flow(graph)
    _, record, _ = flow_sets(ir, graph, None)
    sets, _, walked = flow_sets(ir, graph, record)
    assert walked == 0 and all(np.array_equal(a, b) for a, b in zip(sets, whole, strict=True))
    big = max(range(len(record.sets)), key=lambda c: record.sets[c].shape[0])
    shuffled = [s[::-1].copy() if c == big else s for c, s in enumerate(record.sets)]
    doctored = FlowRecord(record.cells, record.portals, record.quads, shuffled, record.stats, record.rows)
    sets, _, walked = flow_sets(ir, graph, doctored)
    assert walked == 0 and all(np.array_equal(a, b) for a, b in zip(sets, whole, strict=True))


def test_cell_boxes_recorded_by_chunks_of_cell_keys():
    """With a cache, the boxes of chunks of cells whose keys an earlier build recorded are read back
    (a doctored record shows in the output), a damaged one is ignored, and an edited level's boxes
    are its full build's."""
    from sceneforge.encode.text_record import TextRecord, text_key

    doc = generate_maze(cells=150, seed=6)
    cache = MemoryCellCache()
    full = _build(doc, cache)
    key = text_key(doc["sceneId"], "boxes")
    record = TextRecord.unpack(cache.entries[key])
    assert record is not None and len(record.chunks) == 3
    zeros = TextRecord({k: "0" * len(v) for k, v in record.chunks.items()})
    cache.entries[key] = zeros.pack()
    doctored = _build(doc, cache)
    assert {tuple(c["aabb"]) for c in doctored.meta["visibility"]["cells"]} == {(0.0,) * 6}
    cache.entries[key] = TextRecord({k: "zz" * (len(v) // 2) for k, v in record.chunks.items()}).pack()
    assert _build(doc, cache).glb == full.glb
    edited = copy.deepcopy(doc)
    edited["cells"][70]["room"]["max"][1] += 0.5
    assert _build(edited, cache).glb == _build(edited, None).glb


def test_scene_records_take_no_round_trips_of_their_own():
    """The scene's records (PVS flow, text chunks) are read in the cells' lookup and written in one
    ``put_many`` at the end: a remote cache sees no request of their own."""

    class Counting(MemoryCellCache):
        def __init__(self) -> None:
            super().__init__()
            self.gets: list[list[str]] = []
            self.puts: list[list[str]] = []

        def get_many(self, keys):  # type: ignore[no-untyped-def]
            self.gets.append(list(keys))
            return super().get_many(keys)

        def put_many(self, entries):  # type: ignore[no-untyped-def]
            self.puts.append(list(entries))
            super().put_many(entries)

    doc = generate_maze(cells=40, seed=2)
    cache = Counting()
    full = _build(doc, cache)
    edited = _edit(doc, "height", 7)
    cache.gets, cache.puts = [], []
    again = _build(edited, cache)
    assert again.glb == _build(edited, None).glb and again.meta["stats"]["cellsReused"] > 0
    assert full.glb != again.glb
    # The cells' lookup (with the records), the stream chunks' lookup (encode/cell_streams.py), the trees'
    # lookup of the cells whose chunk was not found; the cells, the trees and chunks, the records written.
    assert len(cache.gets) == 3 and len(cache.gets[0]) == len(doc["cells"]) + 4
    assert len(cache.puts) == 3 and len(cache.puts[-1]) >= 1
    # The same level again: every chunk found, no trees' lookup.
    cache.gets, cache.puts = [], []
    assert _build(edited, cache).glb == again.glb
    assert len(cache.gets) == 2


def test_flow_record_rejects_damaged_bytes():
    ir = ir_from_description(generate_maze(cells=4, seed=1))
    _, record, _ = flow_sets(ir, build_portal_graph(ir), None)
    data = record.pack()
    assert FlowRecord.unpack(data[:-4]) is None
    assert FlowRecord.unpack(b"SFFR" + data[4:8] + b"[" + data[9:]) is None
    assert FlowRecord.unpack(b"nope") is None


def test_incremental_through_a_directory_cache(tmp_path: Path):
    """The PVS record and the BVHs go through a real directory cache like the cells do."""
    from sceneforge.storage.cellcache import DirCellCache

    doc = json.loads((LEVELS / "office-small.json").read_text())
    cache = DirCellCache(tmp_path / "cells")
    _build(doc, cache)
    edited = _edit(doc, "portal_shrink", 5)
    warm = _build(edited, DirCellCache(tmp_path / "cells"))
    cold = _build(edited, None)
    assert warm.glb == cold.glb and warm.meta["visibility"] == cold.meta["visibility"]
    assert 0 < warm.meta["stats"]["pvsCellsWalked"] < len(doc["cells"])


def test_pvs_reuse_respects_a_smaller_budget():
    """A record made under a larger budget is not reused where this budget would have cut a source short."""
    from sceneforge.visibility.pvs import FlowBudget

    doc = json.loads((LEVELS / "office-small.json").read_text())
    ir = ir_from_description(doc)
    graph = build_portal_graph(ir)
    _, record, _ = flow_sets(ir, graph, None)
    tight = FlowBudget(source_steps=max(1, record.stats.max_source_steps // 2))
    sets, _, walked = flow_sets(ir, graph, record, tight)
    whole, stats = portal_flow(graph, tight)
    assert stats.fallback_sources > 0 and walked == len(doc["cells"])
    assert all(np.array_equal(a, b) for a, b in zip(sets, whole, strict=True))


def test_pvs_reuse_sees_a_wall_moved_under_its_doorways():
    """A portal along a wall takes the wall's plane (docs/visibility.md, "Walls' planes"), so moving the
    wall 1.5 mm, its doorways' quads as they were, changes the planes the flow reads: the cells at
    those doorways are walked again, and every set is the whole flow's. (The plan is turned: a quad
    facing along an axis keeps its own plane.)"""

    def level(depth: float) -> dict[str, Any]:
        doc = {
            "sceneId": "wall-moved",
            "cells": [{"cellId": "hall", "room": {"floor": [[0, 0], [30, 0], [30, depth], [0, depth]]}}]
            + [
                {"cellId": f"r{k}", "room": {"floor": [[10 * k, 3], [10 * k + 4, 3], [10 * k + 4, 6], [10 * k, 6]]}}
                for k in range(3)
            ],
            "portals": [
                {
                    "from": f"r{k}",
                    "to": "hall",
                    "quad": [10 * k + 1, 0, 3, 10 * k + 3, 0, 3, 10 * k + 3, 2.1, 3, 10 * k + 1, 2.1, 3],
                }
                for k in range(3)
            ],
        }
        return turned(doc, 30.0)

    ir = ir_from_description(level(3.0))
    before = build_portal_graph(ir)
    _, record, _ = flow_sets(ir, before, None)
    ir = ir_from_description(level(3.0015))
    graph = build_portal_graph(ir)
    assert not np.array_equal(graph.plane, before.plane)  # the hall's face moved, the quads did not
    sets, _, walked = flow_sets(ir, graph, FlowRecord.unpack(record.pack()))
    assert walked == len(ir.cells)
    whole, _ = portal_flow(graph)
    for got, want in zip(sets, whole, strict=True):
        np.testing.assert_array_equal(got, want)
