"""The visibility stage: cell bounds, portal planes, the portal graph and a PVS per cell.

Reads a :class:`~sceneforge.model.ir.SceneIR` after geometry (so cell bounds cover generated
surfaces and placed assets) and returns a :class:`~.result.Visibility`. With ``pvs=False`` each
cell's set is every cell reachable through portals (respecting one-way portals): cheap, and
still a correct — if loose — culling set. Cost: that of :mod:`.pvs` (or of
:func:`.portal_graph.reachable_sets`) plus O(cells + portals) bookkeeping.
"""

from __future__ import annotations

import numpy as np

from ..geometry.bounds import cell_boxes
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
    if ir.portals:
        quads = np.stack([np.asarray(p.quad, np.float64).reshape(4, 3) for p in ir.portals])
        # Portal.plane for all portals at once (same formula, one batch).
        normals = np.cross(quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1])
        normals = normals / np.linalg.norm(normals, axis=1)[:, None]
        offsets = -np.einsum("ij,ij->i", normals, quads.mean(axis=1))
        planes = np.concatenate([normals, offsets[:, None]], axis=1).tolist()
        flat = quads.reshape(-1, 12).tolist()
    for i, p in enumerate(ir.portals):
        plane = planes[i]
        portals.append(
            PortalVisibility(
                p.from_cell, p.to_cell, tuple(flat[i]), (plane[0], plane[1], plane[2], plane[3]), one_way=p.one_way
            )
        )
        a, b = index.get(p.from_cell), index.get(p.to_cell)
        for c in sorted({x for x in (a, b) if x is not None}):
            touching[c].append(i)

    # Cells with the same set (pvs=False: one strongly connected component) share one id list.
    lists: dict[int, list[str]] = {}
    cells = []
    boxes = cell_boxes(ir.cells).tolist()
    for c, cell in enumerate(ir.cells):
        members = sets[c]
        key = id(members)
        if key not in lists:
            lists[key] = id_array[members].tolist()
        box = boxes[c]
        aabb = (box[0], box[1], box[2], box[3], box[4], box[5])
        cells.append(CellVisibility(cell.cell_id, aabb, touching[c], lists[key]))
    return Visibility(cells, portals)
