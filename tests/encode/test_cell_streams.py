"""Stream chunks left by one encode and taken by the next (sceneforge.encode.cell_streams): the cells of a
chunk found are not checked, gathered or ordered again, and the bytes are those of an encode without a store."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

import sceneforge.encode.glb as glb
from sceneforge.config import Limits
from sceneforge.encode.cell_streams import StreamChunk
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


@pytest.fixture
def gathered(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of primitives of each ``gather_primitives`` call of the encoder."""
    calls: list[int] = []
    real = glb.gather_primitives

    def spy(surfaces: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(len(surfaces))
        return real(surfaces, *args, **kwargs)

    monkeypatch.setattr(glb, "gather_primitives", spy)
    return calls


OPTIONS = [{}, {"quantize": True}, {"compress": True}, {"quantize": True, "compress": True, "fallback": True}]


@pytest.mark.parametrize("options", OPTIONS)
def test_found_chunks_give_the_same_bytes_without_gathering(options: dict[str, bool], gathered: list[int]):
    level = generate_maze(150, seed=4)
    built = _ir(level)
    plain = _encode(built, None, **options)
    store = Store()
    assert _encode(built, store, **options) == plain
    assert len(store.chunks()) == 3  # 150 cells: chunks of 64
    gathered.clear()
    store.asked, store.chunks_put = [], []
    assert _encode(built, store, **options) == plain
    assert gathered == [] and store.chunks_put == []  # nothing gathered, no chunk left again
    assert not any(len(keys) == len(built[0].cells) for keys in store.asked)  # no trees' lookup
    # An edited cell: the chunks (of 64 cells) holding a cell whose key changed (it, its neighbours) are
    # computed again, and left; the others are taken.
    level["cells"][70]["room"]["max"][1] += 0.5
    edited = _ir(level)
    changed = {i // 64 for i, (a, b) in enumerate(zip(built[1], edited[1], strict=True)) if a != b}
    assert 1 in changed and len(changed) < 3
    gathered.clear()
    store.chunks_put = []
    assert _encode(edited, store, **options) == _encode(edited, None, **options) != plain
    assert len(store.chunks_put) == len(changed)
    cells = [c for i, c in enumerate(edited[0].cells) if i // 64 in changed]
    assert gathered[0] == sum(1 for c in cells for s in c.surfaces if s.triangle_count)


def test_chunks_read_are_what_is_written_and_damaged_ones_are_computed_again(gathered: list[int]):
    built = _ir(generate_maze(70, seed=2))
    plain = _encode(built, None)
    store = Store()
    _encode(built, store)
    first, second = store.chunks()
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
    assert len(store.chunks_put) == 1


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
