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
