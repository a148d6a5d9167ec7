"""The portal graph: cells as nodes, each portal as one or two *directed* portals (sight edges).

A portal lets sight pass from ``from_cell`` into ``to_cell`` and, unless it is one-way, back.
Each direction is a :class:`PortalGraph` row: the quad wound so that its right-hand normal
points the way sight travels, and the plane with that normal: the quad's own, or the plane of
the wall it is drawn along (:func:`_wall_planes`: the walls' outlines enter here, so that every
doorway of one wall lies in one plane whatever rounding its corners carry; a cell of meshes, such as
a room of a GLB the compiler wrote, read back, has its plan's outline for walls). The PVS flow (:mod:`.pvs`)
walks these rows; :func:`reachable_sets` answers the ``pvs=False`` question (every cell
reachable through portals) without any geometry, and :func:`reachable` the same sets with their sizes
(:class:`Reach`) for the budget's fallback, which counts them for many cells at once.

Cost: building the graph is O(cells + portals) numpy work (the walls asked only for quads not
facing along an axis: ~10 ms for 1,000 cells turned off the axes, none for a plan along them).
Reachability condenses the graph into strongly connected components (iterative Tarjan, O(V + E)
Python steps) and propagates reach sets as Python-int bitsets over the condensation in reverse
topological order (O(components · cells / 64) word operations): 16 ms for a 5,000-cell maze.
Rejected: a search per cell (O(V·(V + E)) Python steps: 6.2 s at 5,000 cells); a dense boolean
transitive closure by matrix squaring (V² memory: 400 MB at 20,000 cells).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ..arrays import distinct_rows
from ..geometry.doors import portal_walls
from ..geometry.panels.faces import plan3
from ..model.ir import DEFAULT_MATERIAL, Cell, Portal, Room, SceneIR
from ..tolerances import ON_WALL_EPS

__all__ = ["PortalGraph", "Reach", "build_portal_graph", "reachable", "reachable_sets"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PortalGraph:
    """Directed portals of a scene, ``D`` rows, and their out-adjacency per cell.

    ``src``, ``dst`` (D,) int64: cell indices sight leaves and enters; ``portal`` (D,) int64:
    index into ``ir.portals``; ``poly`` (D, 4, 3) float64: the quad flattened onto its plane, wound so its
    right-hand normal points from ``src`` into ``dst``; ``plane`` (D, 4) float64: unit normal (into ``dst``) and offset.
    ``out_start`` (cells + 1,) int64 and ``out_rows`` (D,) int64: CSR lists of the rows leaving each
    cell, ``out_rows[out_start[c]:out_start[c + 1]]``.
    """

    cell_count: int
    src: I64
    dst: I64
    portal: I64
    poly: F64
    plane: F64
    out_start: I64
    out_rows: I64

    @property
    def size(self) -> int:
        return int(self.src.shape[0])


def build_portal_graph(ir: SceneIR, plans: Sequence[tuple[float, ...] | None] | None = None) -> PortalGraph:
    """Directed portal rows for ``ir``: every portal forwards, and backwards unless ``one_way``.

    Portals naming an unknown cell are skipped (validation reports them before this stage). ``plans``: each
    cell's :func:`~sceneforge.geometry.footprint.cell_plans` outline when the caller has them (the compiler
    does); else those of the cells of meshes a quad off the axes joins are found here.
    """
    index = ir.cell_index()
    n = len(ir.cells)
    known = [p for p in ir.portals if p.from_cell in index and p.to_cell in index]
    if not known:
        empty = np.zeros(0, np.int64)
        return PortalGraph(
            n, empty, empty, empty, np.zeros((0, 4, 3)), np.zeros((0, 4)), np.zeros(n + 1, np.int64), empty
        )
    frm = np.array([index[p.from_cell] for p in known], np.int64)
    to = np.array([index[p.to_cell] for p in known], np.int64)
    pid = np.array([p.index for p in known], np.int64)
    quads = np.array([p.quad for p in known], np.float64).reshape(-1, 4, 3)
    two_way = ~np.array([p.one_way for p in known], bool)

    normals = np.cross(quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-300)
    offsets = -np.einsum("ij,ij->i", normals, quads.mean(axis=1))
    normals, offsets = _wall_planes(ir, known, quads, normals, offsets, plans)
    planes = np.concatenate([normals, offsets[:, None]], axis=1)
    # Each quad flattened onto its plane (validation allows corners up to PLANARITY_EPS off it): the
    # flow's "a line crosses a plane once" test would otherwise see the corners of a portal exported
    # with float32 noise (µm) ahead of its own plane, and walk back and forth through it (a row of
    # three rooms took 20,000 steps per source, 13 s, to the budget).
    quads = quads - (np.einsum("ivk,ik->iv", quads, normals) + offsets[:, None])[:, :, None] * normals[:, None, :]

    src = np.concatenate([frm, to[two_way]])
    dst = np.concatenate([to, frm[two_way]])
    portal = np.concatenate([pid, pid[two_way]])
    poly = np.concatenate([quads, quads[two_way][:, ::-1]])
    plane = np.concatenate([planes, -planes[two_way]])

    out_rows = np.argsort(src, kind="stable").astype(np.int64)
    out_start = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=out_start[1:])
    return PortalGraph(n, src, dst, portal, poly, plane, out_start, out_rows)


#: A quad whose corners all lie within this (m) of a plane along a wall it is cut in takes that plane
#: (:func:`_wall_planes`): the distance within which a quad counts as on a wall at all (a plan turned off
#: the axes and written to millimetres puts a doorway's corners and its wall's line up to 1.41 mm apart).
WALL_SNAP = ON_WALL_EPS
#: A unit normal within this of an axis faces along it (float noise of a turn by a right angle: ~1e-16).
_ON_AXIS = 1e-12
#: The walls given a cell of meshes from its plan's outline (:func:`_wall_cells`): as thick as a quad may lie off
#: a wall's face and still be on it, so that only quads drawn along the outline (a room's doorways as the
#: compiler writes them, where the rooms meet) take the outline's planes.
_MESH_WALL = ON_WALL_EPS


def _wall_cells(
    ir: SceneIR, known: list[Portal], leaning: npt.NDArray[np.bool_], plans: Sequence[tuple[float, ...] | None] | None
) -> list[Cell]:
    """``ir.cells``, each cell of meshes that a ``leaning`` quad joins given a room of thin walls along its plan's
    outline (from its lowest to its highest point), so that :func:`_wall_planes` asks its walls as a room's.

    Why: a GLB the compiler wrote, built again, has cells of meshes where the description had rooms. Without walls
    each doorway of a plan turned and written to millimetres kept its own plane, tilted by its corners' rounding,
    and the rooms along one wall saw each other through their doorways (a corridor with six rooms: 19 → 36 pairs);
    the plan's outline is the rooms' outline again (docs/scene-format.md: nearly the same PVS from the file). A plan of
    several pieces, or the box alone (``None``), gives no walls."""
    index = ir.cell_index()
    cells = list(ir.cells)
    meshes = sorted(
        {
            index[c]
            for p, lean in zip(known, leaning.tolist(), strict=True)
            if lean
            for c in (p.from_cell, p.to_cell)
            if cells[index[c]].room is None
        }
    )
    if not meshes:
        return cells
    if plans is None:
        from ..geometry.footprint import cell_plans

        found = dict(zip(meshes, cell_plans([cells[k] for k in meshes], ir.portals), strict=True))
    else:
        found = {k: plans[k] for k in meshes}
    for k, plan in found.items():
        if plan is None:
            continue
        box = cells[k].aabb()
        if not box[4] > box[1]:
            continue
        floor = np.asarray(plan, np.float64).reshape(-1, 2)
        cells[k] = replace(
            cells[k], room=Room(floor, float(box[1]), float(box[4] - box[1]), _MESH_WALL, DEFAULT_MATERIAL)
        )
    return cells


def _wall_planes(
    ir: SceneIR,
    known: list[Portal],
    quads: F64,
    normals: F64,
    offsets: F64,
    plans: Sequence[tuple[float, ...] | None] | None = None,
) -> tuple[F64, F64]:
    """The planes of the portals ``known`` (quads (P, 4, 3), their own planes ``normals``, ``offsets``), each
    quad that lies along a wall of one of its rooms put in that wall's plane.

    Why: a quad's own plane carries its corners' rounding, and that tilt grows with the distance along
    the wall. Forty closets along a 100 m corridor, the plan turned and written to millimetres: each
    doorway's plane leans ~2 mm/m off the wall, so the doorways far along it lie centimetres in front of
    it, the flow's "not in a plane already crossed" test passed them, and every closet saw the closets
    of its own wall (lines that in the built walls would pass through the wall's thickness: 121 → 299
    pairs). A wall's direction comes from its outline edge, the same for every doorway of it and as
    precise as the edge is long.

    How: the walls each quad lies on are those the geometry stage cuts it in
    (:func:`~sceneforge.geometry.doors.wall_hits`, both rooms; a cell of meshes has its plan's outline for
    walls, :func:`_wall_cells`). Of those whose vertical plane every
    corner lies within :data:`WALL_SNAP` of (the normal along the edge's, through the quad's mean), the
    longest wall's is taken: its outer face itself when every corner lies within :data:`WALL_SNAP` of
    it (doorways drawn where the rooms meet: then exactly one plane for every doorway of the wall),
    else the plane along it through the quad's mean (a quad drawn inside the wall's thickness). Quads
    on no wall, or leaning off every wall by more than that (a slab opening, a doorway turned in its
    wall), and quads facing along an axis (exact whatever the rounding), keep their own plane. The quad
    then moves at most :data:`WALL_SNAP` at any corner; lines through the doorway cross the wall's
    whole thickness, so its opening there is the quad's shape (docs/visibility.md, "Walls' planes")."""
    # A quad facing along an axis keeps its plane: rounding to any grid leaves it exact (every doorway
    # of a plan drawn along the axes: the walls are asked nothing).
    leaning: npt.NDArray[np.bool_] = np.all(np.abs(normals) < 1.0 - _ON_AXIS, axis=1)
    if not leaning.any():
        return normals, offsets
    found = portal_walls(_wall_cells(ir, known, leaning, plans), known, quads, (leaning, leaning))
    if found is None or found.hits.quad.size == 0:
        return normals, offsets
    portal, edges, hits = found.portal, found.edges, found.hits
    row = portal[hits.quad]
    # ``dist``: each corner's distance out of the wall's outer face, along the edge's outward normal.
    spread = hits.dist.max(axis=1) - hits.dist.min(axis=1)
    ok = spread <= WALL_SNAP
    if not ok.any():
        return normals, offsets
    row, edge, dist = row[ok], hits.edge[ok], hits.dist[ok]
    wall = np.zeros((row.shape[0], 3))
    wall[:, 0], wall[:, 2] = edges.normal[edge, 0], edges.normal[edge, 1]
    # Outward of the wall's room is either way through the portal: turned to the portal's own normal.
    flip = np.einsum("ik,ik->i", wall, normals[row]) < 0.0
    wall[flip] *= -1.0
    face = -np.einsum("ik,ik->i", wall, plan3(edges.start[edge]))
    mean = -np.einsum("ik,ik->i", wall, quads[row].mean(axis=1))
    offset = np.where(np.abs(dist).max(axis=1) <= WALL_SNAP, face, mean)
    # Per portal the longest wall, written last so that it is the one kept.
    order = np.lexsort((edges.length[edge], row))
    normals, offsets = normals.copy(), offsets.copy()
    normals[row[order]], offsets[row[order]] = wall[order], offset[order]
    return normals, offsets


def _strong_components(n: int, start: I64, succ: I64) -> tuple[I64, int]:
    """Tarjan's algorithm without recursion. Returns (component id per node, component count);
    ids are assigned in reverse topological order (a component's successors get smaller ids)."""
    comp = np.full(n, -1, np.int64)
    low = [0] * n
    order = [-1] * n
    on_stack = [False] * n
    stack: list[int] = []
    counter = 0
    ncomp = 0
    starts = start.tolist()
    succs = succ.tolist()
    for root in range(n):
        if order[root] != -1:
            continue
        work = [(root, starts[root])]
        order[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, i = work[-1]
            if i < starts[v + 1]:
                work[-1] = (v, i + 1)
                w = succs[i]
                if order[w] == -1:
                    order[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, starts[w]))
                elif on_stack[w]:
                    low[v] = min(low[v], order[w])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == order[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    comp[w] = ncomp
                    if w == v:
                        break
                ncomp += 1
    return comp, ncomp


@dataclass(frozen=True, slots=True)
class Reach:
    """Every cell's reachable cells (:func:`reachable`): ``sets[c]`` sorted (:func:`reachable_sets`; the
    cells of one strongly connected component share one array) and ``size[c]`` its length, (cells,) int64.

    ``size`` makes the count of many cells' sets one numpy sum (:meth:`listed`), where a Python loop
    over the cells ran once per batch of the flow (the budget's refusal check: 0.7–1.3 ms a batch on a
    3,600-cell open hall, 6.5–7.5 ms on 10,000 cells; 0.2–0.45 and 1–2.7 ms now)."""

    sets: list[I64]
    size: I64

    def listed(self, cells: I64) -> int:
        """How many cells the sets of ``cells`` list together (repeated cells counted again)."""
        return int(self.size[cells].sum())

    def keys(self, cells: I64, n: int) -> I64:
        """The (cell, reachable cell) pairs of ``cells`` as keys ``cell * n + reached``, cell by cell.
        Once per flow, each cell's numpy work the length of its set (a gather of them all through
        :func:`~sceneforge.arrays.ranges` took as long, with four arrays of the keys' size at once)."""
        if not cells.size:
            return np.zeros(0, np.int64)
        return np.concatenate([c * n + self.sets[c] for c in cells.tolist()])


def reachable_sets(graph: PortalGraph) -> list[I64]:
    """For every cell, the sorted cell indices reachable from it through portals (itself included).

    Cells of one strongly connected component share one array (they reach the same cells).
    """
    return reachable(graph).sets


def reachable(graph: PortalGraph) -> Reach:
    """:func:`reachable_sets` and their sizes (:class:`Reach`)."""
    n = graph.cell_count
    succ = graph.dst[graph.out_rows]
    comp, ncomp = _strong_components(n, graph.out_start, succ)
    members: list[list[int]] = [[] for _ in range(ncomp)]
    for cell, c in enumerate(comp.tolist()):
        members[c].append(cell)
    edges = distinct_rows(np.stack([comp[graph.src], comp[graph.dst]], axis=1)) if graph.size else np.zeros((0, 2))
    edges = edges[edges[:, 0] != edges[:, 1]]
    by_comp: list[list[int]] = [[] for _ in range(ncomp)]
    for a, b in edges.tolist():
        by_comp[int(a)].append(int(b))
    # Tarjan numbers components in reverse topological order: successors come first.
    reach = [0] * ncomp
    for c in range(ncomp):
        bits = 0
        for m in members[c]:
            bits |= 1 << m
        for d in by_comp[c]:
            bits |= reach[d]
        reach[c] = bits
    nbytes = (n + 7) // 8
    arrays = []
    for c in range(ncomp):
        raw = np.frombuffer(reach[c].to_bytes(nbytes, "little"), np.uint8)
        arrays.append(np.flatnonzero(np.unpackbits(raw, bitorder="little")[:n]).astype(np.int64))
    sizes = np.array([a.shape[0] for a in arrays], np.int64)
    return Reach([arrays[c] for c in comp.tolist()], sizes[comp])
