"""The PVS against the exact visible set of single-storey plans of convex rooms whose doorways all span one
height band (so a level sight line at that height passes any doorway it meets in plan: visibility is the
2D problem). Room B is visible from room A iff some line in plan crosses, in order, the doorways of a
chain of rooms from A to B; in convex rooms a line crossing two doorways of a room crosses the room
between them, and if some line crosses every segment of a chain, one through two of their endpoints
does (move it until it touches two). So the set is computed exactly, by a walk over chains with that
test, and the PVS must hold it (conservative) and be barely larger (tight): no sampling involved.
Voronoi plans (``tests/voronoi.py``): rooms at every angle, short walls, doorways wound either way."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sceneforge.ingest.portal_sides import face_portals
from sceneforge.model.ir import SceneIR
from sceneforge.visibility import compute_visibility

from ..voronoi import voronoi_plan
from .sightlines import ir_from_description

Segment = tuple[np.ndarray, np.ndarray]


def stabbed(segments: list[Segment]) -> bool:
    """Whether a line crosses every segment (endpoints included): tried through every two endpoints."""
    a = np.array([s[0] for s in segments])
    b = np.array([s[1] for s in segments])
    ends = np.concatenate([a, b])
    i, j = np.triu_indices(len(ends), 1)
    u, d = ends[i], ends[j] - ends[i]
    keep = np.einsum("ij,ij->i", d, d) > 1e-18
    u, d = u[keep], d[keep]
    side_a = d[:, None, 0] * (a[None, :, 1] - u[:, None, 1]) - d[:, None, 1] * (a[None, :, 0] - u[:, None, 0])
    side_b = d[:, None, 0] * (b[None, :, 1] - u[:, None, 1]) - d[:, None, 1] * (b[None, :, 0] - u[:, None, 0])
    return bool((side_a * side_b <= 1e-12).all(axis=1).any())


def exact_visible(ir: SceneIR) -> np.ndarray:
    """(n, n) bool: ``[a, b]`` when some straight line joins rooms a and b through doorways only."""
    index = ir.cell_index()
    n = len(ir.cells)
    doors: list[list[tuple[int, Segment]]] = [[] for _ in range(n)]
    for p in ir.portals:
        plan = p.quad[:, [0, 2]]
        along = plan @ (plan[1] - plan[0] if np.ptp(plan[:2], axis=0).max() > 1e-6 else plan[2] - plan[1])
        segment = (plan[np.argmin(along)], plan[np.argmax(along)])
        a, b = index[p.from_cell], index[p.to_cell]
        doors[a].append((b, segment))
        doors[b].append((a, segment))
    seen = np.eye(n, dtype=bool)

    def walk(source: int, room: int, chain: list[Segment], visited: frozenset[int]) -> None:
        for nxt, segment in doors[room]:
            if nxt in visited or not stabbed([*chain, segment]):
                continue
            seen[source, nxt] = True
            walk(source, nxt, [*chain, segment], visited | {nxt})

    for source in range(n):
        walk(source, source, [], frozenset([source]))
    return seen


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_pvs_holds_the_exact_set_and_little_more(seed: int) -> None:
    ir = ir_from_description(voronoi_plan(seed, rooms=30, storeys=1, windows=0.0))
    ir = dataclasses.replace(ir, portals=face_portals(ir.cells, ir.portals)[0])
    index = ir.cell_index()
    pvs = np.zeros((len(ir.cells),) * 2, dtype=bool)
    for i, cell in enumerate(compute_visibility(ir).cells):
        pvs[i, [index[c] for c in cell.pvs]] = True
    exact = exact_visible(ir)
    assert not (exact & ~pvs).any(), np.argwhere(exact & ~pvs)[:5].tolist()
    assert pvs.sum() <= 1.1 * exact.sum(), (pvs.sum(), exact.sum())
    assert exact.sum() > 5 * len(ir.cells)  # rooms see well past their neighbours: the chains are long
