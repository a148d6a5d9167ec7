"""The plan of every cell, seen from above: what clients test a camera against (docs/meta.md, ``floor``).

A room's plan is its floor polygon (:meth:`~sceneforge.model.ir.Room.plan`). A cell made of meshes
(a tagged GLB's cell, placed assets) has the outline of its triangles seen from above: the union of
their projections on the ground (x, z), by manifold3d's ``CrossSection`` (Clipper2), its outer ring
with points closer than 1 µm (or two float32 steps of its coordinates, where more) to the line of their
neighbours dropped. Walls project to nothing; floors, ceilings, ramps and the tops of walls cover the plan. A
courtyard inside the ring is not left out (the ring is the outer one).

A doorway cut through a wall from the floor slab's underside to the ceiling (a floor-to-ceiling opening, as the
rooms' generated shells cut it, or an artist's doorway through thick walls) leaves no face above the wall's
passage, so the triangles' shadow has a notch there, the wall's thickness deep: the passage is the cell's (as
its room's floor polygon says of a room), so :func:`cell_plans` adds it back, given the portals. Each upright
portal's shadow (a segment) is swept into each of its cells (behind its quad for ``from``, in front for
``to``: the quads face ``to``) across the cell's plan; a piece of that band the plan does not cover, less the
slivers that rounding (float32's, or a quantized file's grid) leaves along its sides and ends (narrower than twice
the slack: beside a doorway as wide as its wall they joined the notch to the outside past the room), is added where
it starts at the portal (within :data:`~sceneforge.tolerances.ON_WALL_EPS`), reaches deeper than twice that
(shallower, it is the gap float32 or quantized positions leave beside a quad), the plan closes it off on the far
side (a gap open to the outside, or to nothing, is not the cell's) and covers the ground just past each end of
the segment or just within it (the wall beside the doorway, or the side wall of a doorway as wide as its wall, from
corner to corner: a quad reaching past its room, or across a curved wall, is no passage).
Cost: three points a portal tested against each of its cells' plans, every cell's at once in flat arrays (office-1000
rebuilt from its own GLB: every plan in 0.10 s, 0.08 s without the passages, 0.30 s a cell at a time), and where the
ground inside a doorway's middle is bare, a Clipper difference, an opening (two offsets of the difference) and
a union (~0.3 ms). Only a plan of one piece is looked at, and within bounds (:data:`_PROBE_WORK`,
:data:`_PASSAGE_WORK`: passages times the plan's edges); past them the plan is the triangles' alone.

``None`` where the plan says nothing the box does not: an axis-aligned rectangle, a cell with no
triangle that covers any ground (walls alone), or a plan of several pieces (two rooms in one cell),
for which the box is the one shape that holds them all; pieces that meet at a corner are several (a
plan is a simple polygon). Instance groups (props) are left out: they stand inside the room they furnish.

The union is taken of the triangles' outline, not of the triangles themselves: every triangle wound
counter-clockwise, an edge two of them share in opposite directions (the inside of a connected sheet)
cancels, and what is left, chained into closed loops, winds exactly as the triangles together do, so the
positive fill of the loops is their union. Clipper2's work grows with the edges it sweeps and the
crossings between them: the union of the triangles of a tessellated floor and ceiling (360,000 triangles)
took 6.0 s, and of 30,000 triangles thrown at random (each crossing thousands of others) 222 s; the
outlines of the first are two rectangles, 0.44 s in all. A random soup keeps every edge, and they cross
each other: a cell whose outline's edges could cross more than :data:`MAX_CELL_WORK` times (a bound counted
on a grid, :func:`_crossing_work`), and the cells past :data:`MAX_SCENE_WORK` in all, have no plan
(``None``, the box).

Cost: rooms, ~2 µs each; mesh cells, one vectorized pass over all of their triangles (two sorts of the
corners and edges, the loops ranked by pointer jumping) and a union of each cell's loops, ~0.6 µs a
triangle; at most ~0.5 s for a cell at :data:`MAX_CELL_WORK`, ~5 s for a scene at :data:`MAX_SCENE_WORK`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..model.description import MAX_COORDINATE
from ..model.ir import Cell, Portal, Surface
from ..tolerances import ON_WALL_EPS

__all__ = ["MAX_CELL_WORK", "MAX_SCENE_WORK", "cell_plans", "mesh_plan"]

#: Points of the outline closer than this (m) to the line through their neighbours are dropped: the
#: meta's precision (1 µm), which also joins the collinear corners the triangles' edges leave ...
_SIMPLIFY = 1e-6
#: ... or than this many float32 steps of the cell's coordinates, where that is more: a floor subdivided every
#: 0.1 m (Blender's Grid) and turned off the axes has its border's vertices a step or two off their walls' lines
#: (float32 positions), and its plan kept them: up to 169 points a 10 m square room of a Blender export 50 m out.
_SIMPLIFY_STEPS = 2
#: Triangles whose shadow on the ground is smaller than this (m², twice the area) are walls: left out.
_FLAT = 1e-12
#: Most crossings one mesh cell's union may have to sort out, counted as :func:`_crossing_work` bounds them:
#: 2,000 triangles thrown at random (6,000 edges, 3.6e7) take Clipper2 ~0.5 s, their 30,000 minutes; the
#: outline of a tessellated floor and ceiling (2,400 edges) counts ~10⁴.
MAX_CELL_WORK = 40_000_000
#: The same for all of a scene's mesh cells together (a 20,000-cell export of small rooms, ~40 edges a
#: cell, counts 3.2e7).
MAX_SCENE_WORK = 400_000_000
#: Cells with at most this many outline edges count their square (cheaper than the grid's count).
_FEW_EDGES = 1_000


def cell_plans(cells: Sequence[Cell], portals: Sequence[Portal] = ()) -> list[tuple[float, ...] | None]:
    """Per cell, its plan's outer outline (x0, z0, x1, z1, …; positive shoelace sum) or ``None``; a cell of
    meshes with the passages of ``portals`` through its walls (module docstring)."""
    plans: list[tuple[float, ...] | None] = [c.room.plan() if c.room is not None else None for c in cells]
    meshes = [k for k, c in enumerate(cells) if c.room is None]
    at = {cells[k].cell_id: n for n, k in enumerate(meshes)}
    passages: dict[int, Passages] = {}
    if at and portals:
        a, b, facing, upright = _passages(np.stack([p.quad for p in portals]).astype(np.float64))
        rows: dict[int, list[tuple[int, float]]] = {}
        for k in np.flatnonzero(upright).tolist():
            for cell_id, sign in ((portals[k].from_cell, -1.0), (portals[k].to_cell, 1.0)):
                if cell_id in at:
                    rows.setdefault(at[cell_id], []).append((k, sign))
        for n, found in rows.items():
            ks = [k for k, _ in found]
            passages[n] = (a[ks], b[ks], facing[ks] * np.array([sign for _, sign in found])[:, None])
    for k, plan in zip(meshes, _mesh_plans([cells[k].surfaces for k in meshes], passages), strict=True):
        plans[k] = plan
    return plans


#: The shadows of a cell's portals on the ground and the ways into the cell: the segments' (n, 2) ends (x, z)
#: and (n, 2) unit (x, z) directions across them.
Passages = tuple[np.ndarray, np.ndarray, np.ndarray]

#: A portal is upright (a doorway, whose shadow is a segment) when its unit normal's horizontal part is at
#: least this long (within ~26° of level); a hatch in a slab is not.
_UPRIGHT = 0.9


def _passages(quads: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For (P, 4, 3) ``quads``: each one's shadow (a segment across its width: (P, 2) ends), its normal's
    horizontal direction (into ``to``) and whether it is upright with a width (the rest are not passages)."""
    e, f = quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1]
    normal = np.stack([e[:, 1] * f[:, 2] - e[:, 2] * f[:, 1], e[:, 0] * f[:, 1] - e[:, 1] * f[:, 0]], axis=1)  # x, z
    whole = np.sqrt((normal**2).sum(axis=1) + (e[:, 2] * f[:, 0] - e[:, 0] * f[:, 2]) ** 2)
    across = np.hypot(normal[:, 0], normal[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        upright = np.isfinite(whole) & (whole > 0.0) & (across >= _UPRIGHT * whole)
        facing = np.where(upright[:, None], normal / np.where(across > 0.0, across, 1.0)[:, None], 0.0)
    along = np.stack([-facing[:, 1], facing[:, 0]], axis=1)
    flat = quads[:, :, ::2]
    spread = (flat * along[:, None, :]).sum(axis=2)
    depth = (flat * facing[:, None, :]).sum(axis=2).mean(axis=1)
    low, high = spread.min(axis=1), spread.max(axis=1)
    upright &= high > low
    a = along * low[:, None] + facing * depth[:, None]
    b = along * high[:, None] + facing * depth[:, None]
    return a, b, facing, upright


def mesh_plan(surfaces: Sequence[Surface]) -> tuple[float, ...] | None:
    """The outer outline of the triangles of ``surfaces`` seen from above, or ``None`` (module docstring)."""
    return _mesh_plans([surfaces], {})[0]


def _mesh_plans(cells: Sequence[Sequence[Surface]], passages: dict[int, Passages]) -> list[tuple[float, ...] | None]:
    """:func:`mesh_plan` of each cell's surfaces, the outlines of all of them found in one pass; each with the
    gaps its ``passages`` close (module docstring)."""
    plans: list[tuple[float, ...] | None] = [None] * len(cells)
    parts = [(k, s.positions[s.indices.astype(np.intp)]) for k, c in enumerate(cells) for s in c if s.indices.shape[0]]
    if not parts:
        return plans
    tri = np.concatenate([p for _, p in parts])[:, :, ::2].astype(np.float64)  # (T, 3, 2): x, z
    owner = np.repeat([k for k, _ in parts], [p.shape[0] for _, p in parts])
    # A cell reaching past ±MAX_COORDINATE (or not finite) has no plan: its geometry is an error the scene checks
    # name (out_of_range), and Clipper's integer grid refuses it (a tagged GLB's portal sides asked for its plan).
    far = np.zeros(len(cells), bool)
    far[owner[~(np.abs(tri) <= MAX_COORDINATE).all(axis=(1, 2))]] = True
    if far.any():
        tri, owner = tri[~far[owner]], owner[~far[owner]]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    covers = np.abs(area2) > _FLAT
    if not covers.any():
        return plans
    tri, owner, backwards = tri[covers], owner[covers], area2[covers] < 0.0
    tri[backwards] = tri[backwards][:, ::-1]  # every triangle counter-clockwise: the union is their positive fill
    loops = _outline_loops(tri, owner)
    from manifold3d import CrossSection, FillRule  # only builds with mesh cells pay for the import

    # Each cell's simplification: 1 µm, or a few float32 steps of its coordinates (``owner`` runs cell by cell).
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    reach = np.zeros(len(cells), np.float32)
    reach[owner[starts]] = np.maximum.reduceat(np.abs(tri).max(axis=(1, 2)), starts)
    slack = np.maximum(_SIMPLIFY, _SIMPLIFY_STEPS * np.spacing(reach).astype(np.float64))
    unions: dict[int, Any] = {}
    for k, cell_loops in loops.items():
        union = CrossSection(cell_loops, FillRule.Positive)
        rings = [r.tolist() for r in union.simplify(float(slack[k])).to_polygons()]
        plans[k] = _outer_ring(rings)
        # A plan of several pieces is none with or without its passages: they are looked for in one piece only.
        if k in passages and sum(_area2(r) > 0.0 for r in rings) == 1:
            unions[k] = union
    for k, union in _with_passages(unions, passages).items():
        plans[k] = _outer_ring([r.tolist() for r in union.simplify(float(slack[k])).to_polygons()])
    return plans


def _with_passages(unions: dict[int, Any], passages: dict[int, Passages]) -> dict[int, Any]:
    """Each cell's ``unions`` (a CrossSection) with the gaps beside its ``passages`` it closes off, for the cells
    where there are any (module docstring). Which passages have a notch is found for every cell at once (the
    rings' edges, the passages and their probes in flat arrays); only those take Clipper operations."""
    from manifold3d import CrossSection, FillRule, JoinType, OpType

    cells, rings = [], []
    for k, union in unions.items():
        found = [np.asarray(r, np.float64) for r in union.to_polygons()]
        if found:
            cells.append(k)
            rings.append(found)
    if not cells:
        return {}
    # Edges of every ring of every cell, cell by cell: (E, 2, 2), and where each cell's start.
    sizes = np.array([r.shape[0] for found in rings for r in found], np.int64)
    points = np.concatenate([r for found in rings for r in found])
    nxt = np.arange(points.shape[0]) + 1
    ends = np.cumsum(sizes)
    nxt[ends - 1] = ends - sizes
    edges = np.stack([points, points[nxt]], axis=1)
    edge_start = np.concatenate([[0], np.cumsum([sum(r.shape[0] for r in found) for found in rings])])
    lo = np.minimum.reduceat(points, edge_start[:-1])
    hi = np.maximum.reduceat(points, edge_start[:-1])
    reach = np.hypot(*(hi - lo).T)
    far = np.maximum(np.abs(lo), np.abs(hi)).max(axis=1)
    rounding = np.spacing(far.astype(np.float32)).astype(np.float64)  # a float32 step of the cell's coordinates
    slack = ON_WALL_EPS + 2 * rounding
    count = np.diff(edge_start)
    # Passages of every cell within the probing bound, flat: (P, 2) ends and ways in, and each one's cell.
    probed = [n for n, k in enumerate(cells) if passages[k][0].shape[0] * count[n] <= _PROBE_WORK]
    if not probed:
        return {}
    a = np.concatenate([passages[cells[n]][0] for n in probed])
    b = np.concatenate([passages[cells[n]][1] for n in probed])
    into = np.concatenate([passages[cells[n]][2] for n in probed])
    owner = np.repeat(probed, [passages[cells[n]][0].shape[0] for n in probed])
    along = np.stack([-into[:, 1], into[:, 0]], axis=1)
    along *= np.sign(((b - a) * along).sum(axis=1, keepdims=True))  # from a to b
    # A passage through a wall has the wall beside it on both sides: just past each end of the shadow, just
    # inside the cell, the plan covers the ground. A doorway reaching past its room's walls, or a quad across a
    # curved wall, does not: the gap beside it is not a passage. And the ground just inside the middle of the
    # doorway is bare (else there is no notch: most doorways, whose sill or lintel covers the passage, are done
    # here, before any union is taken).
    # A doorway as wide as its wall (from corner to corner) has the side walls beside it just inside the ends
    # of its shadow, not past them (the outside): the plan covering the ground there says the same.
    sl = slack[owner][:, None]
    probes = np.concatenate(
        [
            a - along * 2 * sl + into * sl,
            b + along * 2 * sl + into * sl,
            (a + b) / 2 + into * 1.5 * sl,
            a + along * 2 * sl + into * sl,
            b - along * 2 * sl + into * sl,
        ]
    )
    past_a, past_b, middle, within_a, within_b = _inside_own(probes, np.tile(owner, 5), edges, edge_start).reshape(
        5, -1
    )
    notched = (past_a | within_a) & (past_b | within_b) & ~middle
    first = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(cells)))])
    out: dict[int, Any] = {}
    for n in np.unique(owner[notched]).tolist():
        candidates = np.flatnonzero(notched[first[n] : first[n + 1]]) + first[n]
        if candidates.size * count[n] > _PASSAGE_WORK:
            continue  # past the bound: as the triangles draw it (the passages' notches left in)
        union, own_edges, eps, far_in = unions[cells[n]], edges[edge_start[n] : edge_start[n + 1]], slack[n], reach[n]
        added = []
        for k in candidates.tolist():
            start = float(a[k] @ into[k])
            band = [np.array([a[k], b[k], b[k] + into[k] * far_in, a[k] + into[k] * far_in])]
            # Slivers narrower than twice the slack are taken off first (an opening: in by the slack, out again):
            # where a doorway is as wide as its wall, the side walls' outer faces run along the band's sides, and
            # their corners, rounded off the quad's line (a float32 step; a quantized file's grid step, ~0.1 mm),
            # left slivers that joined the notch to the outside past the room (the passage looked open), or ran
            # along the walls' ends beside the quad's line (the piece then cut across corners of the plan, leaving
            # a slit between the two). A passage is deeper than twice the slack (below) and outlasts the opening.
            gaps = (
                (CrossSection(band, FillRule.NonZero) - union).offset(-eps, JoinType.Miter).offset(eps, JoinType.Miter)
            )
            for piece in gaps.decompose():
                outline = [np.asarray(r, np.float64) for r in piece.to_polygons()]
                depth = np.concatenate(outline) @ into[k] - start
                if depth.min() <= eps and 2 * eps < depth.max() < far_in - eps:  # not a sliver of rounding
                    # Its corners put on the plan's edges within the slack: the quad's float64 corners and the
                    # mesh's float32 ones would leave slivers (a spike 0.2 µm wide) between the piece and the plan.
                    added.append(CrossSection([_snapped(r, own_edges, eps) for r in outline], FillRule.NonZero))
        if added:
            out[cells[n]] = CrossSection.batch_boolean([union, *added], OpType.Add)
    return out


#: (passage, plan edge) pairs a cell's passages are probed over (:func:`_with_passages`, three points a passage in
#: numpy, ~0.1 s at the bound), and (notched passage, plan edge) pairs whose band is taken from the plan (a Clipper
#: difference over the whole plan each, ~8 µs a pair: ~1.6 s at the bound). Past either, the plan is the
#: triangles' alone: 150 notched doorways into one cell whose plan is a comb of 20,000 edges took 27 s.
_PROBE_WORK = 20_000_000
_PASSAGE_WORK = 200_000

#: (point, edge) pairs a block of :func:`_inside_own` and :func:`_snapped` holds at once (~25 MB).
_BLOCK = 1 << 18


def _blocks(rows: int, edges: int) -> list[slice]:
    """Row slices of a (rows × edges) computation, at most :data:`_BLOCK` pairs each."""
    step = max(1, _BLOCK // max(edges, 1))
    return [slice(start, start + step) for start in range(0, rows, step)]


def _inside_own(points: np.ndarray, owner: np.ndarray, edges: np.ndarray, edge_start: np.ndarray) -> np.ndarray:
    """Which of the (n, 2) ``points`` lie inside the rings of their ``owner``'s edges (even-odd): cell c's edges are
    ``edges[edge_start[c]:edge_start[c + 1]]`` ((E, 2, 2) in all). Every (point, edge of its cell) pair once, in
    blocks of points of at most :data:`_BLOCK` pairs."""
    inside = np.zeros(points.shape[0], bool)
    count = (edge_start[1:] - edge_start[:-1])[owner]
    pairs = np.cumsum(count)
    lo = 0
    while lo < points.shape[0]:
        hi = max(lo + 1, int(np.searchsorted(pairs, (pairs[lo - 1] if lo else 0) + _BLOCK, side="right")))
        n = count[lo:hi]
        row = np.repeat(np.arange(lo, hi), n)
        e = np.repeat(edge_start[owner[lo:hi]] - (np.cumsum(n) - n), n) + np.arange(row.size)
        p, q = edges[e, 0], edges[e, 1]
        x, z = points[row, 0], points[row, 1]
        spans = (p[:, 1] > z) != (q[:, 1] > z)
        with np.errstate(divide="ignore", invalid="ignore"):
            cross_x = p[:, 0] + (z - p[:, 1]) * (q[:, 0] - p[:, 0]) / (q[:, 1] - p[:, 1])
        crossings = np.bincount(row - lo, weights=spans & (x < cross_x), minlength=hi - lo)
        inside[lo:hi] = (crossings.astype(np.int64) % 2) == 1
        lo = hi
    return inside


def _snapped(ring: np.ndarray, edges: np.ndarray, slack: float) -> np.ndarray:
    """``ring``'s points each moved to the nearest point of the (E, 2, 2) ``edges`` within ``slack``, if any:
    a corner where one is that near, else the foot on the nearest edge."""
    if ring.shape[0] * edges.shape[0] > _BLOCK:
        return np.concatenate([_snapped(ring[rows], edges, slack) for rows in _blocks(ring.shape[0], edges.shape[0])])
    p, d = edges[None, :, 0], edges[None, :, 1] - edges[None, :, 0]
    length2 = np.maximum((d * d).sum(axis=2), 1e-300)
    t = np.clip(((ring[:, None, :] - p) * d).sum(axis=2) / length2, 0.0, 1.0)
    foot = p + t[..., None] * d
    gap = np.hypot(*(foot - ring[:, None, :]).transpose(2, 0, 1))
    nearest = gap.argmin(axis=1)
    rows = np.arange(ring.shape[0])
    out = ring.copy()
    close = gap[rows, nearest] <= slack
    out[close] = foot[rows, nearest][close]
    corners = edges[:, 0]
    corner_gap = np.abs(ring[:, None, :] - corners[None, :, :]).max(axis=2)
    at = corner_gap.argmin(axis=1)
    on_corner = corner_gap[rows, at] <= slack
    out[on_corner] = corners[at[on_corner]]
    return out


def _outline_loops(tri: np.ndarray, owner: np.ndarray) -> dict[int, list[np.ndarray]]:
    """Per cell (``owner`` of each (T, 3, 2) counter-clockwise triangle), closed (n, 2) loops that wind as
    its triangles do together (module docstring); a cell past the work bounds (:data:`MAX_CELL_WORK`,
    :data:`MAX_SCENE_WORK`) is left out.

    Corners are one point where their cell and coordinates are equal (a shared edge cancels only between
    equal points); of the directed edges between two points, those one way less those the other way are
    kept. Every point then has as many kept edges in as out, so the k-th edge into a point is followed by
    the k-th edge out of it: a permutation of the edges, whose cycles are the loops. Each cycle is named
    by its least edge and ranked from it by pointer jumping (log₂ of the longest loop rounds).
    """
    corners = tri.reshape(-1, 2)
    corner_owner = np.repeat(owner, 3)
    order = np.lexsort((corners[:, 1], corners[:, 0], corner_owner))
    ordered, ordered_owner = corners[order], corner_owner[order]
    new = np.ones(order.shape[0], bool)
    new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1) | (ordered_owner[1:] != ordered_owner[:-1])
    point = np.empty(order.shape[0], np.int64)
    point[order] = np.cumsum(new) - 1
    points, point_owner = ordered[new], ordered_owner[new]
    ids = point.reshape(-1, 3)
    start, end = ids.ravel(), ids[:, [1, 2, 0]].ravel()
    low, high = np.minimum(start, end), np.maximum(start, end)
    key = low * points.shape[0] + high  # < (3T)²: fits int64 for any triangle count a build accepts
    by_key = np.argsort(key, kind="stable")
    key, forward = key[by_key], np.where(start < end, 1, -1)[by_key]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    net = np.add.reduceat(forward, first)
    kept = net != 0
    net, low, high = net[kept], low[by_key][first][kept], high[by_key][first][kept]
    # Keys sort by their low point, and points by cell: each cell's edges are one run.
    work = _crossing_work(points[low], points[high], point_owner[low], int(owner.max()) + 1)
    allowed = work <= MAX_CELL_WORK
    allowed &= np.cumsum(np.where(allowed, work, 0)) <= MAX_SCENE_WORK
    take = allowed[point_owner[low]]
    count = np.abs(net[take])
    low, high, ahead = np.repeat(low[take], count), np.repeat(high[take], count), np.repeat(net[take] > 0, count)
    tail, head = np.where(ahead, low, high), np.where(ahead, high, low)
    edges = tail.shape[0]
    if not edges:
        return {}
    after = np.empty(edges, np.int64)
    after[np.argsort(head, kind="stable")] = np.argsort(tail, kind="stable")  # k-th edge into a point → k-th out
    # Each edge's loop named by its least edge: after r rounds, the least of the 2ʳ edges from it on; a round
    # that changes no name is the last (the names are then each loop's least).
    label, hop = np.arange(edges), after
    while not np.array_equal(reached := np.minimum(label, label[hop]), label):
        label, hop = reached, hop[hop]
    last = after == label  # the edge before the loop's least: where the walk from it ends
    hop = np.where(last, np.arange(edges), after)
    rank = (~last).astype(np.int64)  # edges from each to its loop's end: list ranking by pointer jumping
    while not np.array_equal(hop, hop[hop]):
        rank, hop = rank + rank[hop], hop[hop]
    walk = np.lexsort((-rank, label))  # each loop from its least edge on, loops by their least edge
    points_walked = points[tail[walk]]
    breaks = np.flatnonzero(label[walk][1:] != label[walk][:-1]) + 1
    loops: dict[int, list[np.ndarray]] = {}
    for k, loop in zip(
        point_owner[tail[walk][np.r_[0, breaks]]].tolist(), np.split(points_walked, breaks), strict=True
    ):
        loops.setdefault(k, []).append(loop)
    return loops


def _crossing_work(a: np.ndarray, b: np.ndarray, cell: np.ndarray, cells: int) -> np.ndarray:
    """Per cell, a bound on the pairs of its outline's edges (``a`` → ``b``, in runs by ``cell``) the union may
    find crossing: the square of its edge count, or, past :data:`_FEW_EDGES`, the pairs of edges whose boxes
    share a square of a grid of about one square an edge over the outline's box (Σ k², k the boxes on a
    square: a few an edge for an outline, whose edges are short and apart; edges thrown at random share
    almost every square)."""
    edges = np.bincount(cell, minlength=cells)
    work = edges.astype(np.int64) ** 2
    starts = np.r_[0, np.cumsum(edges)]
    for k in np.flatnonzero(edges > _FEW_EDGES).tolist():
        run = slice(starts[k], starts[k + 1])
        lo, hi = np.minimum(a[run], b[run]), np.maximum(a[run], b[run])
        side = int(np.ceil(np.sqrt(edges[k])))
        origin = lo.min(axis=0)
        size = hi.max(axis=0) - origin
        scale = side / np.where(size > 0.0, size, 1.0)
        first = np.minimum(((lo - origin) * scale).astype(np.int64), side - 1)
        last = np.minimum(((hi - origin) * scale).astype(np.int64), side - 1) + 1
        marks = np.zeros((side + 1, side + 1), np.int64)  # each box +1 on its squares, by a 2D difference array
        np.add.at(marks, (first[:, 0], first[:, 1]), 1)
        np.add.at(marks, (last[:, 0], first[:, 1]), -1)
        np.add.at(marks, (first[:, 0], last[:, 1]), -1)
        np.add.at(marks, (last[:, 0], last[:, 1]), 1)
        shared = marks.cumsum(axis=0).cumsum(axis=1)
        work[k] = int((shared * shared).sum())
    return work


def _outer_ring(rings: list[list[list[float]]]) -> tuple[float, ...] | None:
    """The one outer ring among ``rings`` as ``(x0, z0, …)`` from its least point, or ``None`` (module docstring)."""
    # A few points a ring: plain Python on lists costs less than numpy calls here.
    outer = [ring for ring in rings if _area2(ring) > 0.0]
    if len(outer) != 1 or len(outer[0]) < 3:
        return None
    ring = outer[0]
    if len({(x, z) for x, z in ring}) != len(ring):  # pieces meeting at a corner: several pieces, not one
        return None
    if len(ring) == 4 and len({x for x, _ in ring}) == 2 and len({z for _, z in ring}) == 2:
        return None  # a rectangle along the axes: the box says it
    first = ring.index(min(ring))  # from the least x (then z): the same ring, one way
    return tuple(v for point in ring[first:] + ring[:first] for v in point)


def _area2(ring: list[list[float]]) -> float:
    """Twice the signed area of ``ring`` (positive: counter-clockwise in (x, z))."""
    return sum(x0 * z1 - x1 * z0 for (x0, z0), (x1, z1) in zip(ring, ring[1:] + ring[:1], strict=True))
