"""PVS on office levels (stacked storeys, windows, slab openings, L-shaped rooms): no sampled
sight line missed, and at most 1.5× the cells the sampled lines join."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sceneforge.visibility import compute_visibility

from .sightlines import confirm_pairs, ir_from_description, sample_visibility

LEVELS = Path(__file__).resolve().parents[1] / "data" / "levels"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["office-small", "office-200"])
def test_pvs_tight_and_conservative_on_office_levels(name: str) -> None:
    ir = ir_from_description(json.loads((LEVELS / f"{name}.json").read_text()))
    n = len(ir.cells)
    index = ir.cell_index()
    pvs = np.zeros((n, n), bool)
    for i, cell in enumerate(compute_visibility(ir).cells):
        pvs[i, [index[c] for c in cell.pvs]] = True
    rng = np.random.default_rng(3)
    # Unguided: 1,000 lines from inside every cell (half through its portals), every portal pair.
    p = len(ir.portals)
    a, b = np.nonzero(~np.eye(p, dtype=bool))
    per_pair = 4 if p < 100 else 1
    seen = sample_visibility(ir, rng, per_cell=1000, portal_pairs=np.column_stack([a, b]), per_pair=per_pair)
    assert not (seen & ~pvs).any(), f"missed: {np.argwhere(seen & ~pvs)[:5].tolist()}"
    # Then lines through the portals of every pair the PVS holds and no line has joined yet.
    confirm_pairs(ir, pvs, seen, rng, rounds=(16, 64, 256))
    assert not (seen & ~pvs).any(), f"missed: {np.argwhere(seen & ~pvs)[:5].tolist()}"
    ratio = pvs.sum() / seen.sum()
    print(f"{name}: mean PVS {pvs.sum() / n:.2f}, sampled visible {seen.sum() / n:.2f}, x{ratio:.3f}")
    assert ratio <= 1.5
