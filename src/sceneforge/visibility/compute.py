"""The visibility stage: cell bounds, portal planes, the portal graph and a PVS per cell.

Reads a :class:`~sceneforge.model.ir.SceneIR` after geometry (so cell bounds cover generated
surfaces and placed assets) and returns a :class:`~.result.Visibility`. With ``pvs=False`` each
cell's set is every cell reachable through portals (respecting one-way portals): cheap, and
still a correct — if loose — culling set. Cost: that of :mod:`.pvs` (or of
:func:`.portal_graph.reachable_sets`) plus O(cells + portals) bookkeeping.
"""

from __future__ import annotations

import numpy as np

from ..model.ir import SceneIR
from .portal_graph import build_portal_graph, reachable_sets
from .pvs import potentially_visible
from .result import CellVisibility, PortalVisibility, Visibility

__all__ = ["compute_visibility"]


def compute_visibility(ir: SceneIR, pvs: bool = True) -> Visibility:
    """Visibility data of ``ir``: cells in ``ir.cells`` order, portals in ``ir.portals`` order.

    ``pvs=True`` computes the conservative potentially-visible set (:mod:`.pvs`); ``False`` uses
    reachability through the portal graph instead. Portals naming unknown cells are listed but
    take no part in the sets (validation reports them).
    """
    graph = build_portal_graph(ir)
    sets = potentially_visible(graph) if pvs else reachable_sets(graph)
    ids = [c.cell_id for c in ir.cells]
    id_array = np.array(ids, dtype=object)
    index = ir.cell_index()

    touching: list[list[int]] = [[] for _ in ids]
    portals: list[PortalVisibility] = []
    for i, p in enumerate(ir.portals):
        quad = np.asarray(p.quad, np.float64).reshape(4, 3)
        portals.append(
            PortalVisibility(p.from_cell, p.to_cell, tuple(quad.ravel().tolist()), p.plane, one_way=p.one_way)
        )
        ends = {index[c] for c in (p.from_cell, p.to_cell) if c in index}
        for c in sorted(ends):
            touching[c].append(i)

    # Cells with the same set (pvs=False: one strongly connected component) share one id list.
    lists: dict[int, list[str]] = {}
    cells = []
    for c, cell in enumerate(ir.cells):
        members = sets[c]
        key = id(members)
        if key not in lists:
            lists[key] = id_array[members].tolist()
        box = cell.aabb()
        aabb = (float(box[0]), float(box[1]), float(box[2]), float(box[3]), float(box[4]), float(box[5]))
        cells.append(CellVisibility(cell.cell_id, aabb, touching[c], lists[key]))
    return Visibility(cells, portals)
