"""Encoding with a tree store: cells whose BVHs the store holds reuse them, and the bytes are those
of an encode without a store."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.config import Limits
from sceneforge.encode.bvh import pack_trees, unpack_trees
from sceneforge.encode.glb import EncodeOptions, encode_glb_indexed
from sceneforge.generate.maze import generate_maze
from sceneforge.geometry.rooms import generate_rooms
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.model.ir import SceneIR
from sceneforge.passes import optimize


class Store:
    """A tree store that keeps trees only (the encoder's text records, :mod:`sceneforge.encode.text_record`,
    and stream chunks, :mod:`sceneforge.encode.cell_streams`, are not kept: tested in test_text_record.py
    and test_cell_streams.py)."""

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}
        self.asked = 0
        self.put = 0

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        self.asked += len(keys)
        return {k: self.entries[k] for k in keys if k in self.entries}

    def put_many(self, entries: Mapping[str, bytes]) -> None:
        entries = {k: v for k, v in entries.items() if not v.startswith((b"SFMT", b"SFCS"))}
        self.put += len(entries)
        self.entries.update(entries)


def _ir(seed: int, cells: int = 12) -> SceneIR:
    description = parse_description(json.dumps(generate_maze(cells, seed=seed)).encode())
    ir = description_to_ir(description, lambda asset_id: b"", Limits())
    generate_rooms(ir)
    optimize(ir)
    return ir


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 100), quantize=st.booleans(), compress=st.booleans(), keep=st.integers(0, 4095))
def test_reused_trees_give_the_same_bytes(seed: int, quantize: bool, compress: bool, keep: int):
    ir = _ir(seed)
    options = EncodeOptions(quantize=quantize, compress=compress)
    keys = [f"cell-{i}" for i in range(len(ir.cells))]
    plain, _ = encode_glb_indexed(ir, options)
    store = Store()
    first, _ = encode_glb_indexed(ir, options, trees=store, cell_keys=keys)
    assert first == plain and store.put == len(ir.cells)
    # Forget some cells' trees (bit i of ``keep``): those are built again, the rest reused.
    stored = sorted(store.entries)
    for i, key in enumerate(stored):
        if not keep >> (i % 12) & 1:
            del store.entries[key]
    missing = len(stored) - len(store.entries)
    store.put = 0
    again, _ = encode_glb_indexed(ir, options, trees=store, cell_keys=keys)
    assert again == plain and store.put == missing


def test_damaged_or_empty_trees_are_rebuilt():
    ir = _ir(3)
    keys = [f"cell-{i}" for i in range(len(ir.cells))]
    plain, _ = encode_glb_indexed(ir, EncodeOptions())
    store = Store()
    encode_glb_indexed(ir, EncodeOptions(), trees=store, cell_keys=keys)
    names = sorted(store.entries)
    store.entries[names[0]] = store.entries[names[0]][:-8]  # truncated
    store.entries[names[1]] = b"SFBV" + bytes(12)  # no roots, no triangles
    for name, past_end in ((names[2], False), (names[3], True)):  # orders that are no permutation of the triangles
        trees = unpack_trees(store.entries[name])
        assert trees is not None and trees[0].shape[0] > 1
        order = trees[0].astype(np.int64)
        order[-1] = order.shape[0] if past_end else order[0]
        store.entries[name] = pack_trees(order, trees[1], trees[2])
    store.put = 0
    again, _ = encode_glb_indexed(ir, EncodeOptions(), trees=store, cell_keys=keys)
    assert again == plain and store.put == 4


def test_grid_is_part_of_the_tree_key():
    """Quantized positions depend on the scene's grid: a scene that grows gets new trees for every cell."""
    small, big = _ir(5, cells=9), _ir(5, cells=16)
    keys = [f"cell-{i}" for i in range(len(big.cells))]
    store = Store()
    options = EncodeOptions(quantize=True)
    encode_glb_indexed(small, options, trees=store, cell_keys=keys[: len(small.cells)])
    store.put = 0
    out, _ = encode_glb_indexed(big, options, trees=store, cell_keys=keys)
    assert out == encode_glb_indexed(big, options)[0] and store.put == len(big.cells)


@pytest.mark.parametrize("data", [b"", b"SFBV", b"XXXX" + bytes(12)])
def test_unpack_trees_rejects_other_bytes(data: bytes):
    assert unpack_trees(data) is None


def test_pack_trees_round_trip():
    order = np.array([2, 0, 1], np.int64)
    nodes = np.arange(16, dtype=np.uint32).reshape(2, 8)
    back = unpack_trees(pack_trees(order, nodes, [1, 1]))
    assert back is not None
    np.testing.assert_array_equal(back[0], order)
    np.testing.assert_array_equal(back[1], nodes)
    assert back[2] == [1, 1]
