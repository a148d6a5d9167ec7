"""Stream chunks left by one encode and taken by the next (sceneforge.encode.cell_streams): the cells of a
chunk found are not checked, gathered or ordered again, and the bytes are those of an encode without a store."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import accumulate, pairwise
from typing import Any

import numpy as np
import pytest

import sceneforge.encode.primitives as primitives
from sceneforge.config import Limits
from sceneforge.encode.cell_streams import StreamChunk, chunk_starts
from sceneforge.encode.document import Encoder
from sceneforge.encode.glb import EncodeOptions, encode_glb_indexed
from sceneforge.generate.maze import generate_maze
from sceneforge.geometry.rooms import generate_rooms
from sceneforge.incremental import MemoryCellCache, cell_keys
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.model.ir import SceneIR
from sceneforge.passes import optimize
from tests.support.scenes import sample_scene


class Store(MemoryCellCache):
    """A store that counts the keys asked for and the stream chunks left."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[list[str]] = []
        self.chunks_put: list[str] = []

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        self.asked.append(list(keys))
        return super().get_many(keys)

    def put_many(self, entries: Mapping[str, bytes]) -> None:
        self.chunks_put += [k for k, v in entries.items() if v.startswith(b"SFCS")]
        super().put_many(entries)

    def chunks(self) -> list[str]:
        return sorted(k for k, v in self.entries.items() if v.startswith(b"SFCS"))


def _ir(level: dict[str, Any]) -> tuple[SceneIR, list[str]]:
    ir = description_to_ir(parse_description(json.dumps(level).encode()), lambda asset_id: b"", Limits())
    keys = cell_keys(ir)
    generate_rooms(ir)
    optimize(ir)
    return ir, keys


def _encode(built: tuple[SceneIR, list[str]], store: Store | None, **options: bool) -> bytes:
    ir, keys = built
    return encode_glb_indexed(ir, EncodeOptions(**options), trees=store, cell_keys=keys)[0]


def _runs(built: tuple[SceneIR, list[str]], **options: bool) -> list[tuple[str, ...]]:
    """The tree keys of the cells of each run of the encoder's stream chunks."""
    ir, keys = built
    tree_keys = Encoder(ir, EncodeOptions(**options), trees=MemoryCellCache(), cell_keys=keys).cell_trees.keys
    assert tree_keys is not None
    edges = [*chunk_starts(tree_keys).tolist(), len(tree_keys)]
    return [tuple(tree_keys[a:b]) for a, b in pairwise(edges)]


@pytest.fixture
def gathered(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of primitives of each ``gather_primitives`` call of the encoder."""
    calls: list[int] = []
    real = primitives.gather_primitives

    def spy(surfaces: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(len(surfaces))
        return real(surfaces, *args, **kwargs)

    monkeypatch.setattr(primitives, "gather_primitives", spy)
    return calls


OPTIONS = [{}, {"quantize": True}, {"compress": True}, {"quantize": True, "compress": True, "fallback": True}]


@pytest.mark.parametrize("options", OPTIONS)
def test_found_chunks_give_the_same_bytes_without_gathering(options: dict[str, bool], gathered: list[int]):
    # 400 cells: the edits below touch cells 10–90 (the two cells and their neighbours), and a run starts
    # every 128 cells at least, so some run past them is taken whatever the keys (which change with
    # CACHE_FORMAT); 150 cells made three runs, which one CACHE_FORMAT put every edited cell across.
    level = generate_maze(400, seed=4)
    built = _ir(level)
    plain = _encode(built, None, **options)
    store = Store()
    assert _encode(built, store, **options) == plain
    runs = _runs(built, **options)
    assert len(store.chunks()) == len(runs) > 1  # every cell of the maze has geometry
    gathered.clear()
    store.asked, store.chunks_put = [], []
    assert _encode(built, store, **options) == plain
    assert gathered == [] and store.chunks_put == []  # nothing gathered, no chunk left again
    assert not any(len(keys) == len(built[0].cells) for keys in store.asked)  # no trees' lookup
    # Edited cells (a room taller, a room removed): the runs holding a cell whose key changed (it, its
    # neighbours) are computed again, and left; the others are taken, also past a removed cell.
    level["cells"][70]["room"]["max"][1] += 0.5
    del level["cells"][30]
    level["portals"] = [p for p in level["portals"] if "c30" not in (p["from"], p["to"])]
    edited = _ir(level)
    edited_runs = _runs(edited, **options)
    new = [k for k, run in enumerate(edited_runs) if run not in runs]
    assert 0 < len(new) < len(edited_runs)
    gathered.clear()
    store.chunks_put = []
    assert _encode(edited, store, **options) == _encode(edited, None, **options) != plain
    assert len(store.chunks_put) == len(new)
    first = list(accumulate(len(run) for run in edited_runs))
    cells = [c for k in new for c in edited[0].cells[first[k] - len(edited_runs[k]) : first[k]]]
    assert gathered[0] == sum(1 for c in cells for s in c.surfaces if s.triangle_count)


def test_chunks_read_are_what_is_written_and_damaged_ones_are_computed_again(gathered: list[int]):
    # 200 cells: runs start at keys that are multiples of 32 (~32 cells a run), so two or more, whatever
    # the keys (which change with CACHE_FORMAT).
    built = _ir(generate_maze(200, seed=2))
    plain = _encode(built, None)
    store = Store()
    _encode(built, store)
    first, second, *_ = store.chunks()
    got = StreamChunk.unpack(store.entries[first], False, False)
    assert got is not None and got.bounds[0].startswith("[")
    # A chunk's text is what is written (so it is read) ...
    doctored = "[" + "9" * (len(got.bounds[0]) - 6) + ",0,0]"  # as long: the sizes still agree
    store.entries[first] = store.entries[first].replace(got.bounds[0].encode(), doctored.encode(), 1)
    gathered.clear()
    assert doctored.encode() in _encode(built, store) and gathered == []
    # ... a damaged one is computed again and replaced: truncated, another format, indices past the vertices.
    data = store.entries[second]
    past = StreamChunk.unpack(data, False, False)
    assert past is not None
    indices = past.indices16.copy()
    indices[0] = past.counts[0]
    wrong = StreamChunk(*(indices if f == "indices16" else getattr(past, f) for f in StreamChunk.__slots__))
    for bad in (data[:-3], b"SFCS\x07" + data[5:], wrong.pack()):
        store.entries[first] = store.entries[second] = bad
        gathered.clear()
        assert _encode(built, store) == plain and len(gathered) == 1
        assert StreamChunk.unpack(store.entries[second], False, False) is not None


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"quantize": True}, {"quantize": True, "compress": True}),  # octahedral normals stored
        ({}, {"all_uvs": True}),  # every primitive's UVs
        ({}, {"quantize": True}),
    ],
)
def test_options_that_change_the_streams_are_part_of_the_key(before: dict[str, bool], after: dict[str, bool]):
    built = _ir(generate_maze(20, seed=3))
    store = Store()
    _encode(built, store, **before)
    store.chunks_put = []
    assert _encode(built, store, **after) == _encode(built, None, **after)
    assert len(store.chunks_put) == len(_runs(built, **after))  # every run's chunk made again


@pytest.mark.parametrize("options", OPTIONS)
def test_instanced_meshes_and_cells_without_geometry(options: dict[str, bool], gathered: list[int]):
    """Shared meshes are gathered in every encode; the cells' primitives come from the chunk."""
    ir = sample_scene()
    built = ir, [f"key-{c.cell_id}" for c in ir.cells]
    plain = _encode(built, None, **options)
    store = Store()
    assert _encode(built, store, **options) == plain
    gathered.clear()
    assert _encode(built, store, **options) == plain
    assert gathered == [2]  # the chair's two surfaces


def test_chunk_round_trip():
    got = StreamChunk(
        np.array([3, 4]),
        np.array([3, 6]),
        np.array([True, False]),
        np.array([1, 2]),
        ["[0,0,0]", "[1,1,1]", "[2,2,2]", "[3,3,3]"],
        np.array([5]),
        np.array([2]),
        np.arange(21, dtype=np.float32).reshape(7, 3),
        np.ones((7, 3), np.float32),
        None,
        np.zeros((3, 2), np.float32),
        np.array([0, 1, 2, 0, 1, 2, 2, 3, 0], np.uint16),
        np.zeros(0, np.uint32),
        np.arange(24, dtype=np.uint32).reshape(3, 8),
    )
    back = StreamChunk.unpack(got.pack(), False, False)
    assert back is not None
    for name in StreamChunk.__slots__:
        a, b = getattr(got, name), getattr(back, name)
        assert (a is None and b is None) or np.array_equal(np.asarray(a), np.asarray(b)), name
    assert StreamChunk.unpack(got.pack(), True, False) is None  # sizes of another option set
    assert StreamChunk.unpack(got.pack()[:-1], False, False) is None


def test_runs_start_by_content():
    """A run starts at a cell whose key falls on a multiple of 32 (wherever it is), or after 128 cells."""
    plain, marked = "00000001" + "0" * 56, "00000040" + "0" * 56
    assert chunk_starts([plain] * 300).tolist() == [0, 128, 256]
    keys = [plain] * 10 + [marked] + [plain] * 20 + [marked]
    assert chunk_starts(keys).tolist() == [0, 10, 31]
    assert chunk_starts(keys[3:]).tolist() == [0, 7, 28]  # cells removed before: the same runs after
