"""Text chunks recorded by one build and reused by the next (sceneforge.encode.text_record): the
encoder's portal nodes, streaming index portals and PVS give the bytes of an encode without a store."""

from __future__ import annotations

import json

import numpy as np

from sceneforge.config import Limits
from sceneforge.encode.glb import EncodeOptions, encode_glb_indexed
from sceneforge.encode.text_record import CHUNK, TextRecord, text_key
from sceneforge.generate.maze import generate_maze
from sceneforge.geometry.rooms import generate_rooms
from sceneforge.incremental import MemoryCellCache, cell_keys
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.model.ir import SceneIR
from sceneforge.passes import optimize
from sceneforge.visibility import compute_visibility


def _ir(level: dict) -> tuple[SceneIR, list[str]]:
    ir = description_to_ir(parse_description(json.dumps(level).encode()), lambda asset_id: b"", Limits())
    keys = cell_keys(ir)  # what each cell's trees depend on
    generate_rooms(ir)
    optimize(ir)
    return ir, keys


def _encode(built: tuple[SceneIR, list[str]], store: MemoryCellCache | None) -> bytes:
    ir, keys = built
    vis = compute_visibility(ir)
    pvs = [c.pvs for c in vis.cells]
    return encode_glb_indexed(ir, EncodeOptions(), pvs=pvs, pvs_sets=vis.sets, trees=store, cell_keys=keys)[0]


def test_recorded_portal_and_pvs_texts_give_the_same_bytes():
    level = generate_maze(150, seed=4)
    ir = _ir(level)
    plain = _encode(ir, None)
    store = MemoryCellCache()
    assert _encode(ir, store) == plain
    key = text_key(ir[0].scene_id, "encode")
    record = TextRecord.unpack(store.entries[key])
    assert record is not None and len(record.chunks) == 2 * -(-len(ir[0].portals) // CHUNK) + 1
    assert _encode(ir, store) == plain  # every chunk from the record
    # The record's texts are what is written (so they are read) ...
    doctored = TextRecord({k: v.replace('"type":"portal"', '"type":"PORTAL"') for k, v in record.chunks.items()})
    store.put_many({key: doctored.pack()})
    assert _encode(ir, store) == plain.replace(b'"type":"portal"', b'"type":"PORTAL"')
    # ... one that does not parse is ignored and replaced.
    store.put_many({key: b"SFMT\x03\x00\x00\x00{]}"})
    assert _encode(ir, store) == plain
    assert TextRecord.unpack(store.entries[key]) is not None
    # An edited scene (a door moved, a cell's room taller): the same bytes as its encode without a store.
    quad = level["portals"][5]["quad"]
    level["portals"][5]["quad"] = [v + 0.125 if k % 3 == 1 else v for k, v in enumerate(quad)]
    level["cells"][9]["room"]["max"][1] += 0.5
    edited = _ir(level)
    assert _encode(edited, store) == _encode(edited, None) != plain


def test_record_round_trip_and_damaged_bytes():
    record = TextRecord({b"\x01" * 32: "abc", b"\x02" * 32: "", b"\x03" * 32: "[1,2]"})
    back = TextRecord.unpack(record.pack())
    assert back is not None and back.chunks == record.chunks
    packed = record.pack()
    assert TextRecord.unpack(packed[:-1]) is None  # texts shorter than the sizes say
    assert TextRecord.unpack(b"SFMX" + packed[4:]) is None
    assert TextRecord.unpack(packed.replace(b'"format": 1', b'"format": 7')) is None
    assert np.array_equal(np.frombuffer(packed[:4], np.uint8), np.frombuffer(b"SFMT", np.uint8))
