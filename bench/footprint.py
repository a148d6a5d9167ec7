"""Mesh cells' plans (the meta's ``floor``): the union of each cell's outline against the union of its triangles.

The anchor is the plain way: every triangle wound counter-clockwise and all of them unioned by Clipper2
(manifold3d's ``CrossSection``), per cell; sceneforge unions the outline left once shared edges cancel,
for all cells in one pass (``sceneforge/geometry/footprint.py``). Levels: office-1000 read back from its
own GLB (1,032 cells of meshes, ~95 triangles each), one cell of a tessellated floor and ceiling (two
k × k sheets), one of triangles thrown at random (the anchor's worst case; sceneforge refuses the union
past its bound and the cell has no plan). CPU seconds, median of ``--repeats``; ``same`` says whether both
gave the same plans.

Usage::

    python bench/footprint.py [--repeats 5] [--grids 100,300] [--soups 1000,2000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from timing import median_cpu

ROOT = Path(__file__).resolve().parent.parent


def _anchor(cells: list[Any]) -> list[tuple[float, ...] | None]:
    """Per cell, the plan from the union of its triangles themselves."""
    from manifold3d import CrossSection, FillRule

    from sceneforge.geometry.footprint import _outer_ring

    plans: list[tuple[float, ...] | None] = []
    for cell in cells:
        parts = [s.positions[s.indices.astype(np.intp)] for s in cell.surfaces if s.indices.shape[0]]
        tri = np.concatenate(parts)[:, :, ::2].astype(np.float64)
        e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
        area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        covers = np.abs(area2) > 1e-12
        tri, backwards = tri[covers], area2[covers] < 0.0
        tri[backwards] = tri[backwards][:, ::-1]
        union = CrossSection(list(tri), FillRule.Positive).simplify(1e-6)
        plans.append(_outer_ring([r.tolist() for r in union.to_polygons()]))
    return plans


def _grid(k: int, y: float, down: bool) -> Any:
    from sceneforge.model.ir import Surface

    xs, zs = np.meshgrid(np.linspace(0, 10, k + 1), np.linspace(0, 6, k + 1), indexing="ij")
    points = np.stack([xs.ravel(), np.full(xs.size, y), zs.ravel()], 1).astype(np.float32)
    i = (np.arange(k)[:, None] * (k + 1) + np.arange(k)[None, :]).ravel()
    tris = np.concatenate([np.stack([i, i + 1, i + k + 2], -1), np.stack([i, i + k + 2, i + k + 1], -1)])
    tris = tris[:, ::-1] if down else tris
    return Surface("m", points, np.zeros_like(points), np.zeros((len(points), 2), np.float32), tris.astype(np.uint32))


def _levels(grids: list[int], soups: list[int]) -> dict[str, list[Any]]:
    from tests.support.scenes import soup

    from sceneforge.compile import compile_scene
    from sceneforge.config import Limits
    from sceneforge.ingest.tagged_glb import tagged_glb_to_ir
    from sceneforge.model.ir import Cell

    glb = compile_scene((ROOT / "tests" / "data" / "levels" / "office-1000.json").read_bytes()).glb
    ir, _ = tagged_glb_to_ir(glb, Limits())
    levels = {"office-1000 from its GLB": ir.cells}
    for k in grids:
        levels[f"floor+ceiling {k}x{k}"] = [Cell("c", None, [_grid(k, 0.0, False), _grid(k, 3.0, True)])]
    for n in soups:
        levels[f"random {n:,} triangles"] = [Cell("c", None, [soup(np.random.default_rng(0), 2 * n, n, grid=10_000)])]
    return levels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--grids", default="100,300", help="k of the k × k floor and ceiling cells")
    parser.add_argument("--soups", default="1000,2000", help="triangle counts of the random cells")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from sceneforge.geometry.footprint import cell_plans

    grids = [int(v) for v in args.grids.split(",") if v]
    soups = [int(v) for v in args.soups.split(",") if v]
    print(f"{'level':<28} {'triangles':>10} {'anchor s':>9} {'outline s':>10} {'× anchor':>9} {'same':>5}")
    for name, cells in _levels(grids, soups).items():
        triangles = sum(s.indices.shape[0] for c in cells for s in c.surfaces)
        anchor_s, anchor = median_cpu(lambda cells=cells: _anchor(cells), args.repeats)
        ours_s, ours = median_cpu(lambda cells=cells: cell_plans(cells), args.repeats)
        ratio, same = anchor_s / ours_s, anchor == ours
        print(f"{name:<28} {triangles:>10,} {anchor_s:>9.3f} {ours_s:>10.3f} {ratio:>8.1f}× {same!s:>5}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
