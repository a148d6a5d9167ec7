from __future__ import annotations

import json

from sceneforge.encode import build_meta, with_version
from sceneforge.encode.meta import META_KEYS
from sceneforge.errors import Issue
from sceneforge.passes import optimize
from tests.support.scenes import sample_scene


class _Visibility:
    """Stand-in for the visibility stage's result."""

    def as_dict(self):
        return {
            "cells": [{"cellId": "hall", "aabb": [0.0] * 6, "portals": [0], "pvs": ["hall", "kitchen"]}],
            "portals": [{"from": "hall", "to": "kitchen", "quad": [0.0] * 12, "plane": [1.0, 0.0, 0.0, -2.0]}],
        }


def _meta():
    ir = sample_scene()
    optimize(ir)
    warning = Issue("/cells/2", "cell_empty", "cell 'closet' has no geometry", "warning")
    return ir, build_meta(ir, _Visibility(), glb=b"x" * 123, etag="0123456789abcdef", warnings=[warning], build_ms=42)


def test_meta_content():
    ir, meta = _meta()
    assert meta["ETag"] == "0123456789abcdef" and meta["Bytes"] == 123
    assert meta["Meta"] == {"sceneId": "sample", "cells": ["hall", "kitchen", "closet"], "portals": 2}
    assert meta["formatVersion"] == 1 and meta["sceneId"] == "sample"
    assert meta["visibility"] == _Visibility().as_dict()
    assert meta["warnings"] == [{"path": "/cells/2", "code": "cell_empty", "message": "cell 'closet' has no geometry"}]
    cell_tris = sum(s.triangle_count for c in ir.cells for s in c.surfaces)
    cell_verts = sum(s.vertex_count for c in ir.cells for s in c.surfaces)
    # hall: 2 materials, kitchen: 2 materials, the chair group: 2 primitives drawn once each, 3 copies of 2 + 2 tris.
    assert meta["stats"] == {
        "triangles": cell_tris + 3 * 4,
        "vertices": cell_verts + 3 * 8,
        "drawCalls": 2 + 2 + 2,
        "buildMs": 42,
    }
    json.dumps(meta, allow_nan=False)


def test_meta_with_version_key_order():
    _, meta = _meta()
    versioned = with_version(meta, 3, "2024-05-01T12:00:00Z")
    assert tuple(versioned) == META_KEYS
    assert versioned["version"] == 3 and versioned["TimestampUtc"] == "2024-05-01T12:00:00Z"
    assert "version" not in meta  # a new dict; the input is untouched
    again = with_version(versioned, 4, "2024-05-02T00:00:00Z")
    assert tuple(again) == META_KEYS and again["version"] == 4


def test_meta_digest_from_recorded_chunks_is_the_digest_of_the_body():
    """With a cache, the visibility text is written in chunks (those recorded by an earlier build
    taken from the record): the digest is always :func:`digest_of` of the body."""
    import copy

    from sceneforge.encode.meta import body_and_digest, digest_of
    from sceneforge.encode.text_record import CHUNK, TextRecord, text_key
    from sceneforge.generate import generate_maze
    from sceneforge.incremental import MemoryCellCache
    from sceneforge.visibility import compute_visibility
    from tests.visibility.sightlines import ir_from_description

    level = generate_maze(150, seed=3)
    ir = ir_from_description(level)
    vis = compute_visibility(ir)
    cache = MemoryCellCache()
    body, digest = body_and_digest(ir, vis, [], cache)
    assert digest == digest_of(copy.deepcopy(body))
    record = TextRecord.unpack(cache.entries[text_key(ir.scene_id)])
    assert record is not None and len(record.chunks) == -(-len(ir.cells) // CHUNK) + -(-len(ir.portals) // CHUNK)
    # A recorded chunk's text is what is hashed: a doctored record changes the digest (so it is read) ...
    doctored = TextRecord({k: v.replace('"aabb"', '"AABB"') for k, v in record.chunks.items()})
    cache.put_many({text_key(ir.scene_id): doctored.pack()})
    assert body_and_digest(ir, vis, [], cache)[1] != digest
    # ... and one that does not parse is ignored (and replaced).
    cache.put_many({text_key(ir.scene_id): b"SFMT\x05\x00\x00\x00{]"})
    assert body_and_digest(ir, vis, [], cache)[1] == digest
    assert TextRecord.unpack(cache.entries[text_key(ir.scene_id)]) is not None
    # An edited scene (one cell moved): only its chunk changes, the digest is the body's.
    level["cells"][7]["room"]["min"][1] += 0.25
    edited = ir_from_description(level)
    vis2 = compute_visibility(edited)
    body2, digest2 = body_and_digest(edited, vis2, [], cache)
    assert digest2 == digest_of(copy.deepcopy(body2)) != digest


def test_floor_outlines_in_the_meta_and_its_chunked_text():
    """Rooms that are not their box carry their outline (``floor``, docs/meta.md); box rooms do not.
    The chunked text the digest hashes holds them too, and an edited outline changes the digest."""
    import copy

    from sceneforge.encode.meta import body_and_digest, digest_of
    from sceneforge.generate import generate_maze
    from sceneforge.incremental import MemoryCellCache
    from sceneforge.visibility import compute_visibility
    from tests.visibility.sightlines import ir_from_description

    level = generate_maze(150, seed=5)
    # Give three rooms (two in one chunk, one in another) floor outlines: an L, a turned square
    # and an axis-aligned rectangle written as a polygon (which is its box: no outline).
    shapes = {
        3: [[0.0, 0.0], [4.0, 0.0], [4.0, 1.5], [2.0, 1.5], [2.0, 4.0], [0.0, 4.0]],
        9: [[2.0, 0.0], [4.0, 2.0], [2.0, 4.0], [0.0, 2.0]],
        100: [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]],
    }
    for i, shape in shapes.items():
        room = level["cells"][i]["room"]
        x0, y0, z0 = room["min"]
        height = room["max"][1] - y0
        level["cells"][i]["room"] = {
            "floor": [[x0 + x, z0 + z] for x, z in shape],
            "y": y0,
            "height": height,
            "wallThickness": room.get("wallThickness", 0.2),
        }
    ir = ir_from_description(level)
    vis = compute_visibility(ir)
    plain = vis.as_dict()["cells"]
    with_floor = {c["cellId"] for c in plain if "floor" in c}
    assert with_floor == {level["cells"][3]["cellId"], level["cells"][9]["cellId"]}
    l_room = next(c for c in plain if c["cellId"] == level["cells"][3]["cellId"])
    assert len(l_room["floor"]) == 6 and list(l_room) == ["cellId", "aabb", "floor", "portals", "pvs"]
    x0, _, z0 = level["cells"][3]["room"]["floor"][0][0], 0, level["cells"][3]["room"]["floor"][0][1]
    assert sorted(map(tuple, l_room["floor"])) == sorted((round(x0 + x, 6), round(z0 + z, 6)) for x, z in shapes[3])
    cache = MemoryCellCache()
    body, digest = body_and_digest(ir, vis, [], cache)
    assert body["visibility"]["cells"] == plain
    assert digest == digest_of(copy.deepcopy(body))
    # Again from the record (every chunk reused), then with the L's notch moved: a new digest,
    # still the body's (the chunk holding the L is not taken from the record).
    assert body_and_digest(ir, vis, [], cache)[1] == digest
    level["cells"][3]["room"]["floor"][2][1] += 0.5
    level["cells"][3]["room"]["floor"][3][1] += 0.5
    edited = ir_from_description(level)
    vis2 = compute_visibility(edited)
    body2, digest2 = body_and_digest(edited, vis2, [], cache)
    assert digest2 == digest_of(copy.deepcopy(body2)) != digest
