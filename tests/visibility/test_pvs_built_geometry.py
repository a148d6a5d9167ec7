"""PVS against the walls the compiler really builds: description → ingest → geometry → visibility."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sceneforge.config import Limits
from sceneforge.generate import generate_apartment, generate_maze
from sceneforge.geometry.rooms import generate_rooms
from sceneforge.ingest.description import description_to_ir, parse_description
from sceneforge.model.ir import SceneIR
from sceneforge.visibility import compute_visibility

from .sightlines import free_segments, ir_from_description, sampled_visible


def _no_assets(asset_id: str) -> bytes:
    raise AssertionError(f"generated levels use no assets, asked for {asset_id}")


def _built(d: dict) -> SceneIR:
    ir = description_to_ir(parse_description(json.dumps(d).encode()), _no_assets, Limits())
    generate_rooms(ir)
    return ir


def _triangles(ir: SceneIR) -> np.ndarray:
    return np.concatenate([s.positions[s.indices].astype(np.float64) for c in ir.cells for s in c.surfaces])


@pytest.mark.parametrize(("kind", "seed"), [("maze", 3), ("apartment", 4)])
def test_pvs_conservative_against_built_walls(kind: str, seed: int) -> None:
    d = (generate_maze if kind == "maze" else generate_apartment)(100, seed)
    ir = _built(d)
    # Ingest keeps the generated portals as written.
    mine = ir_from_description(d)
    assert [(p.from_cell, p.to_cell) for p in ir.portals] == [(p.from_cell, p.to_cell) for p in mine.portals]
    assert np.allclose(np.stack([p.quad for p in ir.portals]), np.stack([p.quad for p in mine.portals]))
    vis = compute_visibility(ir)
    index = ir.cell_index()
    pvs = {(i, index[x]) for i, c in enumerate(vis.cells) for x in c.pvs}
    seen = sampled_visible(ir, free_segments(ir, _triangles(ir), np.random.default_rng(seed), 1500))
    assert sorted(seen - pvs) == []
    print(f"{kind} 100 cells, built walls: mean PVS {len(pvs) / 100:.2f}, sampled visible {len(seen) / 100:.2f}")
