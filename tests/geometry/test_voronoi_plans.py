"""Voronoi floor plans (``tests/voronoi.py``: convex rooms of 3 to ~10 walls at every angle, some walls a few
millimetres to centimetres long, doorways and windows wound either way, stair openings) build on the panel
path: no boolean room, every shell closed, no triangle under 0.5 mm high, every triangle kept quantized."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.geometry import generate_rooms
from sceneforge.ingest.portal_sides import face_portals

from ..visibility.sightlines import ir_from_description
from ..voronoi import voronoi_plan
from .levels import cell_triangles, heights
from .meshcheck import closed


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_voronoi_plans_take_the_panels(seed: int) -> None:
    description = voronoi_plan(seed)
    ir = ir_from_description(description)
    ir = dataclasses.replace(ir, portals=face_portals(ir.cells, ir.portals)[0])
    shortest = min(
        float(np.linalg.norm(np.roll(c.room.floor, -1, axis=0) - c.room.floor, axis=1).min())
        for c in ir.cells
        if c.room is not None
    )
    assert shortest < 0.1  # walls shorter than the cavity's corners take from them (10 cm walls)
    assert generate_rooms(ir) == 0
    assert all(closed(cell.surfaces[-1]) for cell in ir.cells)
    data = json.dumps(description).encode()
    plain, quantized = compile_scene(data), compile_scene(data, BuildOptions(quantize=True))
    assert plain.meta["stats"]["booleanCells"] == 0
    for built in (plain, quantized):
        triangles = cell_triangles(built.glb)
        assert sum(len(t) for t in triangles.values()) == plain.meta["stats"]["triangles"]
        assert min(float(heights(t.astype(np.float64)).min()) for t in triangles.values()) >= 5e-4
