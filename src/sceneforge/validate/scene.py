"""Checks of a scene after geometry (:func:`validate_scene`).

The triangle limit raises :class:`~sceneforge.errors.LimitExceeded` (instances counted as placed); geometry
placed beyond ±MAX_COORDINATE (by assets, transforms, instances: :func:`instance_extent`) is an error per
cell; the warnings need geometry: a portal that does not touch the cells it joins (``portal_not_touching``),
or that lies on no wall or slab of a room cell it joins, so that no opening is cut there
(``portal_not_on_wall``, tested as the geometry stage cuts), or whose openings into its two rooms differ,
one reaching past the other room (``portal_past_room``, :mod:`.overruns`). Vectorized over all portals at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..arrays import members
from ..config import Limits
from ..errors import Issue, LimitExceeded, capped
from ..model.description import MAX_COORDINATE, past_extent
from ..model.ir import SceneIR, Surface
from ..tolerances import AREA_EPS, CONTACT_EPS, ON_WALL_EPS, WELD_EPS
from .overlaps import overlapping_rooms
from .overruns import SideWalls, portals_past_rooms

if TYPE_CHECKING:
    from ..geometry.doors import RoomArrays, WallHits
    from ..geometry.outline import WallEdges

__all__ = ["instance_extent", "validate_scene"]


def instance_extent(surfaces: Sequence[Surface], transforms: np.ndarray) -> np.ndarray:
    """(n,) the largest |coordinate| of ``surfaces`` placed by each of ``transforms`` (n, 4, 4), from
    their joint bounding box (centre moved by the matrix, half-size by its absolute value): O(n)."""
    boxes = [(s.positions.min(axis=0), s.positions.max(axis=0)) for s in surfaces if s.vertex_count]
    if not boxes or len(transforms) == 0:
        return np.zeros(len(transforms))
    lo = np.min([b[0] for b in boxes], axis=0).astype(np.float64)
    hi = np.max([b[1] for b in boxes], axis=0).astype(np.float64)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    t = np.asarray(transforms, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        moved = np.einsum("nij,j->ni", t[:, :3, :3], centre) + t[:, :3, 3]
        reach = np.abs(moved) + np.einsum("nij,j->ni", np.abs(t[:, :3, :3]), half)
    return np.where(np.isfinite(reach).all(axis=1), reach.max(axis=1), np.inf)


def _extent_issues(ir: SceneIR) -> list[Issue]:
    """Geometry placed beyond ±MAX_COORDINATE (by an asset, a transform, an instance): one error per cell."""
    issues = []
    for cell in ir.cells:  # per cell and surface, each a vectorized reduction
        reach = max((float(np.abs(s.positions).max(initial=0.0)) for s in cell.surfaces), default=0.0)
        for group in cell.instances:
            reach = max(reach, float(instance_extent(group.surfaces, group.transforms).max(initial=0.0)))
        if not reach <= MAX_COORDINATE:
            where = f"reaches {past_extent(reach)} m from the origin, beyond ±{MAX_COORDINATE:g} m"
            message = f"the geometry of cell {cell.cell_id!r} {where}"
            issues.append(Issue(cell.path, "out_of_range", message))
    return issues


def validate_scene(ir: SceneIR, limits: Limits, *, surface_triangles: int | None = None) -> list[Issue]:
    """After geometry: raise :class:`LimitExceeded` on the triangle limit; return geometry warnings, and an
    error for each cell whose geometry (surfaces, instances as placed) reaches beyond ±MAX_COORDINATE.

    ``surface_triangles`` is the cells' own triangle count when some cells' geometry came from a
    cache (their surfaces are not in ``ir`` yet); instances are always counted here.
    """
    triangles = sum(s.triangle_count for c in ir.cells for s in c.surfaces)
    if surface_triangles is not None:
        triangles = surface_triangles
    triangles += sum(s.triangle_count * len(g.transforms) for c in ir.cells for g in c.instances for s in g.surfaces)
    if triangles > limits.max_triangles:
        raise LimitExceeded("SCENEFORGE_MAX_TRIANGLES", triangles, limits.max_triangles, what="triangle count")
    extent = _extent_issues(ir)
    if extent:
        return extent
    overlaps = overlapping_rooms(ir.cells)
    if not ir.portals:
        return overlaps
    from ..geometry.bounds import cell_boxes

    all_boxes = cell_boxes(ir.cells)
    boxes = {c.cell_id: all_boxes[i] for i, c in enumerate(ir.cells)}
    quads = np.stack([p.quad for p in ir.portals])  # (n, 4, 3)
    warnings = []
    apart: dict[str, np.ndarray] = {}
    # A cell without geometry (``empty_cell``) has no box to touch: its zeros would measure the quad's
    # distance to the origin.
    empty = {
        c.cell_id
        for c in ir.cells
        if c.room is None and not c.instances and not any(s.vertex_count for s in c.surfaces)
    }
    for side in ("from_cell", "to_cell"):
        aabb = np.stack([boxes[getattr(p, side)] for p in ir.portals])  # (n, 6)
        # Distance from the quad's own box to the cell's box: zero when they touch or overlap (a quad
        # reaching past the box on both sides of an axis, a doorway drawn past both ends of its wall,
        # overlaps it there: its corners' own distances would say it lies that far off).
        gap = np.maximum(aabb[:, :3] - quads.max(axis=1), quads.min(axis=1) - aabb[:, 3:]).clip(min=0).max(axis=1)
        # As far as a wall's test reaches (ON_WALL_EPS): a quad cut into a room's wall is not reported apart from it.
        apart[side] = gap > ON_WALL_EPS
        if empty:  # (asked only where a cell is empty: a pass over every portal in Python otherwise)
            apart[side] &= np.array([getattr(p, side) not in empty for p in ir.portals], bool)
        for k in np.flatnonzero(apart[side]):
            p = ir.portals[int(k)]
            cell = getattr(p, side)
            role = "source" if side == "from_cell" else "target"
            warnings.append(
                Issue(
                    p.pointer,
                    "portal_not_touching",
                    f"{p.label} is {gap[k]:.3g} m from its {role} cell {cell!r}",
                    "warning",
                )
            )
    off_walls = _portals_off_walls(ir, quads, apart["from_cell"], apart["to_cell"], all_boxes)
    return overlaps + capped(warnings, "/portals", "portals apart from a cell they join") + off_walls


def _portals_off_walls(
    ir: SceneIR, quads: np.ndarray, apart_from: np.ndarray, apart_to: np.ndarray, boxes: np.ndarray
) -> list[Issue]:
    """``portal_not_on_wall``: a portal whose quad lies on no wall and in no slab of one of its room
    cells, so the geometry stage cuts no opening there (the doorway is a solid wall on that side); and
    ``portal_past_room`` (:mod:`.overruns`) for the sides that are cut, reaching past their room's box
    (``boxes`` (n, 6): every cell's, to name the cells such a quad reaches).

    The test is the one the geometry stage cuts by (:func:`~sceneforge.geometry.doors.wall_hits`,
    :func:`~sceneforge.geometry.doors.slab_hits`), for every (portal, room cell) at once; the
    distance to the nearest wall (or slab) is measured for the portals it warns about only. A side
    already reported as ``portal_not_touching`` (``apart_from``, ``apart_to`` (n,)) is not reported again;
    cells without a room (meshes) are not asked."""
    from ..geometry.doors import box_outlines, portal_walls, slab_hits

    # Every (portal, room cell) once, as the geometry stage asks (a portal's source side first).
    found = portal_walls(ir.cells, ir.portals, quads, (~apart_from, ~apart_to))
    if found is None:
        return []
    portal, quad_room, is_to, rooms = found.portal, found.quad_room, found.is_to, found.rooms
    arrays, edges, first, hits = found.arrays, found.edges, found.first, found.hits
    q = np.asarray(quads, dtype=np.float64)[portal]
    plan, (floor, ceiling) = slab_hits(q, quad_room, arrays)
    cut = floor | ceiling
    # A quad in a wall but not across the room's inside (past the cavity's corner, or within a slab's
    # thickness) opens nothing into the room either: it is told apart (``in_wall``, ``beside``).
    spans = _cavity_spans(edges, first, arrays)
    along, up = _across_inside(hits, quad_room, spans, arrays)
    in_wall, beside = np.zeros(q.shape[0], dtype=bool), np.zeros(q.shape[0], dtype=bool)
    in_wall[hits.quad] = True
    beside[hits.quad[up]] = True
    cut[hits.quad[along & up]] = True
    on = np.flatnonzero(cut)
    ids = [c.cell_id for c in ir.cells]
    boxed = box_outlines(rooms, arrays.lo, arrays.hi, WELD_EPS)
    walls = _side_walls(hits, along & up, spans, edges, q, arrays.thickness[quad_room])
    past = portals_past_rooms(
        ir.portals, portal[on], is_to[on], q[on], quad_room[on], arrays, boxed, ids, boxes, walls.only(on)
    )
    off = np.flatnonzero(~cut)
    if off.size == 0:
        return past
    flat = np.abs(plan[off]) > AREA_EPS  # a quad seen from above could open a slab too
    gap = _wall_gap(q[off], quad_room[off], edges.start, edges.tangent, edges.normal, edges.length, first, arrays)
    gap = np.minimum(gap, np.where(flat, _slab_gap(q[off], quad_room[off], arrays), np.inf))
    order = np.lexsort((is_to[off], portal[off]))  # by portal, its source side first
    eps_mm, off_mm = CONTACT_EPS * 1e3, ON_WALL_EPS * 1e3
    issues = []
    for j in order.tolist():
        k = int(off[j])
        p = ir.portals[int(portal[k])]
        cell = p.to_cell if is_to[k] else p.from_cell
        what, cuts = ("every wall and slab", "walls and slabs") if flat[j] else ("every wall", "walls")
        if in_wall[k]:
            where = (
                "past the room's inside along the wall (in the wall's end, beyond the corner where the wall across"
                f" stands, {float(arrays.thickness[quad_room[k]]):g} m thick)"
                if beside[k]
                else "below the floor's top or above the ceiling's underside (within the slab's thickness)"
            )
            message = (
                f"{p.label}: its quad lies within a wall of cell {cell!r}, {where}: no opening into the room is cut"
            )
            issues.append(Issue(p.pointer, "portal_not_on_wall", message, "warning"))
            continue
        if not np.isfinite(gap[j]):
            where = f"lies on no wall of cell {cell!r}"
        elif gap[j] <= ON_WALL_EPS:
            where = f"touches the walls of cell {cell!r} but overlaps none by more than {eps_mm:g} mm"
        else:
            distance = f"{gap[j] * 1e3:.3g} mm" if gap[j] < 1.0 else f"{gap[j]:.3g} m"
            where = f"lies {distance} off {what} of cell {cell!r}"
        message = (
            f"{p.label}: its quad {where}: no opening is cut there; {cuts} within {off_mm:g} mm (ON_WALL_EPS) are cut"
        )
        issues.append(Issue(p.pointer, "portal_not_on_wall", message, "warning"))
    return capped(issues, "/portals", "portal sides on no wall") + past


@dataclass(frozen=True, slots=True)
class _Spans:
    """Per outer edge (e,): where the room's inside lies along it (``lo``, ``hi``, m from its start: between the
    cavity's corners, within the edge), whether the cavity loses the wall
    (``folded``: a short wall, docs/geometry.md), the previous and next edge of its outline, and whether the
    outline's corner at its start and at its end is convex (``convex0``, ``convex1``: past it along the wall's
    line lies the outside, not more of the room)."""

    lo: np.ndarray
    hi: np.ndarray
    folded: np.ndarray
    prev: np.ndarray
    nxt: np.ndarray
    convex0: np.ndarray
    convex1: np.ndarray


def _cavity_spans(edges: WallEdges, first: np.ndarray, rooms: RoomArrays) -> _Spans:
    from ..geometry.doors import inner_corners

    inward = -edges.normal
    offset, _, _, nxt = inner_corners(inward, first, rooms.thickness[edges.room])
    prev = np.empty_like(nxt)
    prev[nxt] = np.arange(nxt.size)
    end = edges.start + edges.tangent * edges.length[:, None]
    inner0 = np.einsum("ek,ek->e", offset, edges.tangent)
    inner1 = np.einsum("ek,ek->e", end + offset[nxt] - edges.start, edges.tangent)
    # A corner is convex where the outline turns into the room there (a straight run turns nowhere).
    convex0 = np.einsum("ek,ek->e", edges.tangent[prev], inward) < -1e-9
    convex1 = np.einsum("ek,ek->e", edges.tangent[nxt], inward) > 1e-9
    lo, hi = np.maximum(0.0, inner0), np.minimum(edges.length, inner1)
    return _Spans(lo, hi, inner1 - inner0 <= 0.0, prev, nxt, convex0, convex1)


def _across_inside(
    hits: WallHits, quad_room: np.ndarray, spans: _Spans, rooms: RoomArrays
) -> tuple[np.ndarray, np.ndarray]:
    """(hits,) twice: whether each (quad, wall) hit reaches across the room's inside where the geometry stage
    cuts it, along the wall (between the cavity's corners: a doorway drawn to the wall's end is cut up to
    there, :func:`~sceneforge.geometry.doors.door_cutters`) and up it (between the floor's top and the
    ceiling's underside), each by more than ``WELD_EPS``. A quad within a wall's end (a doorway drawn within
    a metre of the corner of a room with 1 m walls) or within a slab's thickness opens nothing into the
    room. Beside a folded wall (a short wall the cavity loses, docs/geometry.md) the cavity's corner is not
    the mitre's: such hits count as reaching in along the wall."""
    e, r = hits.edge, quad_room[hits.quad]
    lo, hi = spans.lo[e], spans.hi[e]
    s, y, t = hits.along, hits.y, rooms.thickness[r]
    along = (s.max(axis=1) > lo + WELD_EPS) & (s.min(axis=1) < hi - WELD_EPS)
    along |= spans.folded[spans.prev[e]] | spans.folded[spans.nxt[e]] | spans.folded[e]
    up = (y.max(axis=1) > rooms.y0[r] + t + WELD_EPS) & (y.min(axis=1) < rooms.y1[r] - t - WELD_EPS)
    return along, up


def _side_walls(
    hits: WallHits, cuts: np.ndarray, spans: _Spans, edges: WallEdges, quads: np.ndarray, thickness: np.ndarray
) -> SideWalls:
    """Per side (``quads`` (k, 4, 3), its room's wall ``thickness`` (k,)): the wall it is cut into (its hits
    ``cuts``), as :func:`portals_past_rooms` compares openings along a wall; -1 for a side cut into no wall (a slab's
    opening). A side cut into walls one after the other (a doorway across points of a wall drawn a fraction of a
    millimetre bent, within ``ON_WALL_EPS`` of each) is compared along them all: from the first's start to the last's
    end, its opening running on past the points between them. The run goes on over a wall the quad passes in the
    wall's slab though it is not cut into it (:func:`_lies_along`: a short wall millimetre rounding tilts)."""
    sides = quads.shape[0]
    cut = np.flatnonzero(cuts)
    # (side, edge) of every cut as one key: the wall a side is cut into first is one whose wall before it is not.
    n = np.int64(spans.prev.size)
    keys = hits.quad[cut] * n + hits.edge[cut]
    after_cut = members(hits.quad[cut] * n + spans.prev[hits.edge[cut]], keys)
    cut = cut[np.lexsort((after_cut, hits.quad[cut]))]
    k = cut[np.concatenate([[True], hits.quad[cut][1:] != hits.quad[cut][:-1]])] if cut.size else cut
    edge = np.full(sides, -1, dtype=np.int64)
    edge[hits.quad[k]] = hits.edge[k]
    along = np.zeros((sides, 4))
    along[hits.quad[k]] = hits.along[k]
    e = np.maximum(edge, 0)
    plan = quads[:, :, [0, 2]]

    def going(rows: np.ndarray, at: np.ndarray, step: np.ndarray, stop: np.ndarray) -> np.ndarray:
        """Those of ``rows`` whose run goes on from wall ``at`` to wall ``step[at]``: cut into it, or passing it in
        its slab; not round to ``stop``. (Asked of the sides still going only: a run is a few walls.)"""
        wall = step[at[rows]]
        rows, wall = rows[wall != stop[rows]], wall[wall != stop[rows]]
        goes: np.ndarray = rows[members(rows * n + wall, keys) | _lies_along(plan[rows], thickness[rows], wall, edges)]
        return goes

    # Back over the walls before it in the run; all measured along its line (e's), from the run's start.
    first = e.copy()
    go = going(np.flatnonzero(edge >= 0), first, spans.prev, e)
    while go.size:
        first[go] = spans.prev[first[go]]
        go = going(go, first, spans.prev, e)
    tangent = edges.tangent[e]
    start = edges.start[first]
    shift = np.einsum("sc,sc->s", start - edges.start[e], tangent)
    along -= shift[:, None]
    lo = np.where(first != e, np.einsum("sc,sc->s", edges.tangent[first], tangent) * spans.lo[first], spans.lo[e])
    length, hi = edges.length[e] - shift, spans.hi[e] - shift
    convex1 = spans.convex1[e]
    end = edges.start[e] + tangent * edges.length[e][:, None]
    # Cut into (or passing in) the wall after the last too: along e's line up to that one's end, and on.
    last = e.copy()
    go = going(np.flatnonzero(edge >= 0), last, spans.nxt, first)
    while go.size:
        last[go] = spans.nxt[last[go]]
        w = last[go]
        ends = np.stack([spans.hi[w], edges.length[w]], 1)[:, :, None]  # the cavity's corner, the wall's end
        corners = edges.start[w][:, None, :] + edges.tangent[w][:, None, :] * ends
        reach = np.einsum("skc,sc->sk", corners - start[go][:, None, :], tangent[go])
        hi[go], length[go], convex1[go], end[go] = reach[:, 0], reach[:, 1], spans.convex1[w], corners[:, 1]
        go = going(go, last, spans.nxt, first)
    edge = np.where(edge >= 0, first, -1)
    return SideWalls(edge, start, tangent, length, end, lo, hi, spans.convex0[first], convex1, along)


def _lies_along(plan: np.ndarray, thickness: np.ndarray, wall: np.ndarray, edges: WallEdges) -> np.ndarray:
    """(k,) whether each quad (``plan`` (k, 4, 2): its corners in plan) lies in the slab of ``wall`` (k,) where it
    passes that wall, within ``ON_WALL_EPS`` as :func:`~sceneforge.geometry.doors.wall_hits` asks: its corners moved
    along the quad to the wall's ends. A short wall between points a plan keeps on a straight wall (a floor traced
    from a subdivided mesh: a point every 0.5 m), turned and written to millimetres, is tilted by its ends' rounding,
    up to 2.8 mm a metre: a doorway running on a metre or two past both its ends lies that much farther off its line
    there, and is not cut into it, though it lies within a millimetre of the wall where it passes it."""
    rel = plan - edges.start[wall][:, None, :]
    dist = np.einsum("kvc,kc->kv", rel, edges.normal[wall])
    s = np.einsum("kvc,kc->kv", rel, edges.tangent[wall])
    # The quad's slope off the wall's line: from its corner nearest the wall's start to the farthest along it.
    a, b = s.argmin(axis=1)[:, None], s.argmax(axis=1)[:, None]
    run = np.take_along_axis(s, b, 1) - np.take_along_axis(s, a, 1)
    rise = np.take_along_axis(dist, b, 1) - np.take_along_axis(dist, a, 1)
    slope = np.divide(rise, run, out=np.zeros_like(run), where=run > CONTACT_EPS)
    length = edges.length[wall][:, None]
    passed = np.minimum(s.max(axis=1), length[:, 0]) - np.maximum(s.min(axis=1), 0.0) > CONTACT_EPS
    dist = dist + (s.clip(0.0, length) - s) * slope
    lies: np.ndarray = passed & ((dist <= ON_WALL_EPS) & (dist >= -thickness[:, None] - ON_WALL_EPS)).all(axis=1)
    return lies


def _wall_gap(
    quads: np.ndarray,
    quad_room: np.ndarray,
    start: np.ndarray,
    tangent: np.ndarray,
    normal: np.ndarray,
    length: np.ndarray,
    first: np.ndarray,
    rooms: RoomArrays,
) -> np.ndarray:
    """(q,) how far each quad is from lying on the nearest wall of its room (``inf`` for a room without
    walls): per wall, the farthest its corners lie outside the wall slab (across the wall), combined with
    how far the quad is from reaching the wall's length and its height, as one distance."""
    counts = first[quad_room + 1] - first[quad_room]
    item = np.repeat(np.arange(quad_room.size), counts)
    edge = first[quad_room][item] + np.arange(item.size) - np.repeat(np.cumsum(counts) - counts, counts)
    r = quad_room[item]
    q = quads[item]
    rel = q[:, :, [0, 2]] - start[edge][:, None, :]
    dist = np.einsum("nvk,nk->nv", rel, normal[edge])  # outside the outer face
    along = np.einsum("nvk,nk->nv", rel, tangent[edge])
    y = q[:, :, 1]
    across = np.maximum(np.maximum(dist.max(axis=1), -rooms.thickness[r] - dist.min(axis=1)), 0.0)
    beside = np.maximum(np.maximum(-along.max(axis=1), along.min(axis=1) - length[edge]), 0.0)
    below = np.maximum(np.maximum(rooms.y0[r] - y.max(axis=1), y.min(axis=1) - rooms.y1[r]), 0.0)
    gap = np.full(quad_room.size, np.inf)
    np.minimum.at(gap, item, np.sqrt(across**2 + beside**2 + below**2))
    return gap


def _slab_gap(quads: np.ndarray, quad_room: np.ndarray, rooms: RoomArrays) -> np.ndarray:
    """(q,) how far each quad is from lying in its room's floor or ceiling slab: the farthest its
    corners lie above or below the slab, combined with how far it is from the outline's bounds."""
    t, base, top = rooms.thickness[quad_room], rooms.y0[quad_room], rooms.y1[quad_room]
    xz = quads[:, :, [0, 2]]
    lo, hi = rooms.lo[quad_room], rooms.hi[quad_room]
    beside = np.maximum(np.maximum(lo - xz.max(axis=1), xz.min(axis=1) - hi), 0.0)
    y = quads[:, :, 1]
    out = np.full(quad_room.size, np.inf)
    for bottom in (base, top - t):
        across = np.maximum(np.maximum(bottom - y.min(axis=1), y.max(axis=1) - bottom - t), 0.0)
        out = np.minimum(out, np.sqrt(across**2 + (beside**2).sum(axis=1)))
    return out
