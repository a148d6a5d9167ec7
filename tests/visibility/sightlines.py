"""Ground truth for PVS tests: thin occluders from rooms and portals, and sampled sight lines.

Occluders are the most permissive geometry the portals allow: every room's outline is a wall
of zero thickness at the outer boundary, cut exactly by the portal quads lying on it, plus a
floor and a ceiling. A sight line free of these triangles passes through portals only, so every
pair of cells it joins must be in each other's PVS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mapbox_earcut
import numpy as np

from sceneforge.model.ir import Cell, Portal, Room, SceneIR
from sceneforge.tolerances import PLANARITY_EPS
from sceneforge.visibility import build_portal_graph

__all__ = ["first_hit", "free_segments", "ir_from_description", "locate", "occluders", "sampled_visible"]


def ir_from_description(d: dict[str, Any]) -> SceneIR:
    """A SceneIR from a description dict with explicit rooms and explicit portal quads."""
    cells = []
    for c in d["cells"]:
        r = c["room"]
        if "min" in r:
            (x0, y0, z0), (x1, y1, z1) = r["min"], r["max"]
            floor = np.array([[x0, z0], [x1, z0], [x1, z1], [x0, z1]], float)
            room = Room(floor, y0, y1 - y0, r.get("wallThickness", 0.1), r.get("material", "default"))
        else:
            floor = np.array(r["floor"], float)
            room = Room(floor, r.get("y", 0.0), r.get("height", 3.0), r.get("wallThickness", 0.1), "default")
        cells.append(Cell(c["cellId"], room))
    portals = [
        Portal(i, p["from"], p["to"], np.array(p["quad"], float).reshape(4, 3), p.get("oneWay", False))
        for i, p in enumerate(d["portals"])
    ]
    return SceneIR(d["sceneId"], cells, portals, {})


def _rect(p: np.ndarray, q: np.ndarray, u0: float, u1: float, y0: float, y1: float) -> list[np.ndarray]:
    """Two triangles of the vertical rectangle between u0..u1 along p→q (x, z) and y0..y1."""
    if u1 - u0 <= 1e-12 or y1 - y0 <= 1e-12:
        return []
    t = (q - p) / np.linalg.norm(q - p)
    a, b = p + t * u0, p + t * u1
    c = [np.array([a[0], y0, a[1]]), np.array([b[0], y0, b[1]]), np.array([b[0], y1, b[1]]), np.array([a[0], y1, a[1]])]
    return [np.stack([c[0], c[1], c[2]]), np.stack([c[0], c[2], c[3]])]


def occluders(ir: SceneIR) -> np.ndarray:
    """(T, 3, 3) triangles: walls at every room outline with portal holes, floors, ceilings."""
    quads = np.stack([p.quad for p in ir.portals]) if ir.portals else np.zeros((0, 4, 3))
    tris: list[np.ndarray] = []
    for cell in ir.cells:
        room = cell.room
        assert room is not None
        y0, y1 = room.y, room.y + room.height
        poly = room.floor
        for k in range(len(poly)):
            p, q = poly[k], poly[(k + 1) % len(poly)]
            length = float(np.linalg.norm(q - p))
            t = (q - p) / length
            n = np.array([-t[1], t[0]])
            rel = quads[:, :, [0, 2]] - p
            on = (np.abs(rel @ n).max(axis=1) < 1e-6) if len(quads) else np.zeros(0, bool)
            holes = []
            for quad, r in zip(quads[on], rel[on], strict=True):
                u = r @ t
                if u.min() > -1e-6 and u.max() < length + 1e-6:
                    holes.append((u.min(), u.max(), quad[:, 1].min(), quad[:, 1].max()))
            holes.sort()
            u = 0.0
            for h0, h1, hy0, hy1 in holes:
                tris += _rect(p, q, u, h0, y0, y1)
                tris += _rect(p, q, h0, h1, y0, hy0)
                tris += _rect(p, q, h0, h1, hy1, y1)
                u = h1
            tris += _rect(p, q, u, length, y0, y1)
        idx = mapbox_earcut.triangulate_float64(poly, np.array([len(poly)], np.uint32)).reshape(-1, 3)
        for y in (y0, y1):
            pts = np.column_stack([poly[:, 0], np.full(len(poly), y), poly[:, 1]])
            tris += list(pts[idx])
    return np.stack(tris)


def _hits(o: np.ndarray, d: np.ndarray, tris: np.ndarray, tmax: float) -> np.ndarray:
    """Möller–Trumbore, all rays against all triangles; barycentric bounds inclusive by 1e-9 (no seams)."""
    v0 = tris[:, 0]
    e1 = tris[:, 1] - v0
    e2 = tris[:, 2] - v0
    o, d = o[:, None, :], d[:, None, :]
    p = np.cross(d, e2[None])
    det = np.einsum("rtk,tk->rt", p, e1)
    ok = np.abs(det) > 1e-12
    inv = 1.0 / np.where(ok, det, 1.0)
    s = o - v0[None]
    u = np.einsum("rtk,rtk->rt", s, p) * inv
    qv = np.cross(s, e1[None])
    v = np.einsum("rtk,rtk->rt", d, qv) * inv
    t = np.einsum("rtk,tk->rt", qv, e2) * inv
    hit = ok & (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9) & (t > 1e-9)
    return np.minimum(tmax, np.where(hit, t, np.inf).min(axis=1, initial=np.inf))


def first_hit(origins: np.ndarray, dirs: np.ndarray, tris: np.ndarray, tmax: float, near: float = 10.0) -> np.ndarray:
    """Distance along unit ``dirs`` from ``origins`` to the first triangle, capped at ``tmax``.

    Rays are sorted by origin and cast in chunks first against the triangles whose boxes come
    within ``near`` of the chunk's origins: a hit closer than ``near`` is then exact. The rest
    are cast against every triangle.
    """
    lo_t, hi_t = tris.min(axis=1), tris.max(axis=1)
    order = np.lexsort(origins.T[::-1])
    out = np.full(len(origins), tmax)
    far: list[np.ndarray] = [np.zeros(0, np.int64)]
    for start in range(0, len(order), 128):
        rows = order[start : start + 128]
        box_lo, box_hi = origins[rows].min(axis=0) - near, origins[rows].max(axis=0) + near
        close = np.flatnonzero(((hi_t >= box_lo) & (lo_t <= box_hi)).all(axis=1))
        t = _hits(origins[rows], dirs[rows], tris[close], tmax)
        done = t <= near
        out[rows[done]] = t[done]
        far.append(rows[~done])
    rest = np.concatenate(far)
    for start in range(0, len(rest), 128):
        rows = rest[start : start + 128]
        out[rows] = _hits(origins[rows], dirs[rows], tris, tmax)
    return out


def locate(points: np.ndarray, ir: SceneIR) -> np.ndarray:
    """Index of the cell whose room prism holds each point (crossing-number test), -1 for none."""
    where = np.full(len(points), -1)
    order = np.argsort(points[:, 0])
    xs = points[order, 0]
    for i, cell in enumerate(ir.cells):
        room = cell.room
        assert room is not None
        poly = room.floor
        cand = order[np.searchsorted(xs, poly[:, 0].min()) : np.searchsorted(xs, poly[:, 0].max())]
        x, y, z = points[cand, 0], points[cand, 1], points[cand, 2]
        inside = np.zeros(len(cand), bool)
        for k in range(len(poly)):
            (x0, z0), (x1, z1) = poly[k], poly[(k + 1) % len(poly)]
            crosses = (z0 > z) != (z1 > z)
            cut = x0 + (z - z0) * (x1 - x0) / np.where(z1 != z0, z1 - z0, 1.0)
            inside ^= crosses & (x < cut)
        inside &= (y > room.y) & (y < room.y + room.height)
        where[cand[inside]] = i
    return where


def free_segments(ir: SceneIR, tris: np.ndarray, rng: np.random.Generator, lines: int) -> list[np.ndarray]:
    """Sight lines through random points of two nearby portals (or a portal and a room point),
    extended both ways to the first occluder; returns the distinct cells each one passes, in order."""
    quads = np.stack([p.quad for p in ir.portals])
    centres = quads.mean(axis=1)
    a = rng.integers(0, len(quads), lines)
    near = np.linalg.norm(centres[a][:, None] - centres[None], axis=2) < 24.0
    b = np.array([rng.choice(np.flatnonzero(row)) for row in near])

    def on_quad(q: np.ndarray) -> np.ndarray:
        s, t = rng.random((2, len(q), 1))
        return q[:, 0] + s * (q[:, 1] - q[:, 0]) + t * (q[:, 3] - q[:, 0])

    pa, pb = on_quad(quads[a]), on_quad(quads[b])
    same = a == b
    pb[same] = pa[same] + rng.normal(size=(int(same.sum()), 3))
    d = pb - pa
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    # A line in the plane of its portal (two coplanar portals: doorways of one wall, stacked
    # storeys) slides along the wall between the triangles: measure zero, and no test at all.
    n = np.cross(quads[a][:, 2] - quads[a][:, 0], quads[a][:, 3] - quads[a][:, 1])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    flat = np.abs(np.einsum("ij,ij->i", d, n)) < _TRANSVERSAL
    d[flat] = n[flat]
    fwd = first_hit(pa, d, tris, 200.0)
    back = first_hit(pa, -d, tris, 200.0)
    ts = np.linspace(0.0, 1.0, 240)[1:-1]
    seg = pa[:, None] + d[:, None] * (-back[:, None, None] + (fwd + back)[:, None, None] * ts[None, :, None])
    where = locate(seg.reshape(-1, 3), ir).reshape(lines, -1)
    line = np.repeat(np.arange(lines), where.shape[1]).reshape(where.shape)
    change = np.ones(where.shape, bool)
    change[:, 1:] = where[:, 1:] != where[:, :-1]
    keep = change & (where >= 0)
    cells, owner = where[keep], line[keep]
    bounds = np.searchsorted(owner, np.arange(lines + 1))
    return [cells[bounds[i] : bounds[i + 1]] for i in range(lines)]


def sampled_visible(ir: SceneIR, segments: list[np.ndarray]) -> set[tuple[int, int]]:
    """Ordered cell pairs (a, b) joined by a free sight line (both directions; no one-way portals)."""
    pairs: set[tuple[int, int]] = {(i, i) for i in range(len(ir.cells))}
    for cells in segments:
        for x in cells.tolist():
            for y in cells.tolist():
                pairs.add((x, y))
    return pairs


# --- Cell-walk sampler -------------------------------------------------------------------------
#
# A sight line is followed from cell to cell: inside a cell (a prism over its floor polygon, convex
# or not) the line runs until it leaves the prism; the point where it leaves must lie in one of the
# cell's portals (in the direction the portal lets sight pass), and the line goes on in the cell on
# the portal's other side; anywhere else it has hit a wall, floor or ceiling and stops. This is the
# thin-wall model of ``occluders`` (rooms touching along their walls), without a triangle test:
# every step of every line is one numpy batch. A line that crosses a portal lying in the plane of a
# portal it crossed before (within 1 mm: docs/visibility.md, "Scope of a straight line") is not sight
# across those two crossings (``Lines``). A stair opening into a room raised a step over the slab
# leads through the slab in a shaft (the opening's quad carried vertically from its plane to the
# room's floor or ceiling), which the line must not leave (``Tracer._shaft``).

_T_EPS = 1e-6  # a crossing counts as ahead of the current point past this parameter (m)
_ON_PLANE = 1e-6  # a wall crossing lies in a portal's plane within this distance (m)
#: A line crosses a portal only if its direction makes at least this sine with the portal's plane:
#: a line (almost) in a wall's plane slides along the zero-thickness wall, a case of measure zero
#: whose crossings rounding would decide (it would enter a cell and leave it at the same point).
_TRANSVERSAL = 1e-6
#: A portal crossed after another lies in that one's plane (docs/visibility.md, "Scope of a straight
#: line") when no corner is farther than this (m) in front of it: the planarity tolerance...
_AHEAD_TOL = PLANARITY_EPS
#: ... unless it lies behind the plane by more than that somewhere and a corner is farther than this
#: (m) in front: then lines through that sliver are sight.
_SIDE_TOL = 1e-7


def _walkable(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Whether a portal whose corners lie between ``low`` and ``high`` in front of the plane of a portal
    a line has crossed may be crossed after it, by the line going on straight."""
    return (high > _AHEAD_TOL) | ((high > _SIDE_TOL) & (low < -_AHEAD_TOL))  # type: ignore[no-any-return]


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    owner = np.repeat(np.arange(counts.shape[0]), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(owner.shape[0]) - np.repeat(first, counts) + np.repeat(starts, counts)


@dataclass(frozen=True)
class Lines:
    """Sight lines walked from cell to cell (:meth:`Tracer.lines`), L of them.

    ``grid`` (L, W): the cells each line passes, in the order sight travels along it, -1 padded.
    ``both_ways`` (L,): the line may also be read backwards (no one-way portal on it). ``reach`` (L, W):
    the cell at column ``c`` sees those at columns ``c .. reach[c]``; ``reach_back`` (L, W): those at
    columns ``c .. reach_back[c]`` see it (when ``both_ways``). A line crossing a portal that lies in the
    plane of a portal it has crossed before (within 1 mm, as two doorways of one wall do) or behind it
    is not sight from the cells before the first of the two to those after the second.
    """

    grid: np.ndarray
    both_ways: np.ndarray
    reach: np.ndarray
    reach_back: np.ndarray

    def pairs(self, row: int) -> set[tuple[int, int]]:
        """The ordered cell pairs (a, b) line ``row`` joins: ``b`` seen from ``a``."""
        out = set()
        cells = self.grid[row].tolist()
        for c, a in enumerate(cells):
            for j in range(c, len(cells)):
                if a < 0 or cells[j] < 0:
                    continue
                if j <= self.reach[row, c]:
                    out.add((a, cells[j]))
                if self.both_ways[row] and j <= self.reach_back[row, c]:
                    out.add((cells[j], a))
        return out


class Tracer:
    """Cells, walls and portals of ``ir`` as flat arrays, and the cell walk of many lines at once."""

    def __init__(self, ir: SceneIR) -> None:
        self.ir = ir
        n = len(ir.cells)
        self.n = n
        floors = []
        for cell in ir.cells:
            assert cell.room is not None
            floors.append(np.asarray(cell.room.floor, np.float64))
        counts = np.array([len(f) for f in floors], np.int64)
        self.edge_start = np.concatenate([[0], np.cumsum(counts)])
        a = np.concatenate(floors)
        b = np.concatenate([np.roll(f, -1, axis=0) for f in floors])
        self.edge_a, self.edge_e = a, b - a
        self.y0 = np.array([c.room.y for c in ir.cells if c.room is not None])
        self.y1 = self.y0 + np.array([c.room.height for c in ir.cells if c.room is not None])
        self.floors = floors
        index = ir.cell_index()
        self.quads = np.stack([p.quad for p in ir.portals]) if ir.portals else np.zeros((0, 4, 3))
        self.frm = np.array([index[p.from_cell] for p in ir.portals], np.int64)
        self.to = np.array([index[p.to_cell] for p in ir.portals], np.int64)
        self.one_way = np.array([p.one_way for p in ir.portals], bool)
        q = self.quads
        normal = np.cross(q[:, 2] - q[:, 0], q[:, 3] - q[:, 1]) if len(q) else np.zeros((0, 3))
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-300)
        offset = -np.einsum("ij,ij->i", normal, q.mean(axis=1)) if len(q) else np.zeros(0)
        # The planes the compiler's portal graph holds: a quad along a wall takes the wall's plane
        # (docs/visibility.md, "Walls' planes"), which the scope of "a straight line" reads too. Its
        # first rows are every portal it holds, forwards, in order.
        graph = build_portal_graph(ir)
        held = np.unique(graph.portal).size
        normal[graph.portal[:held]], offset[graph.portal[:held]] = graph.plane[:held, :3], graph.plane[:held, 3]
        self.normal, self.offset = normal, offset
        # The quads flattened onto their planes, as the compiler's portal graph holds them.
        self.flat = q - (np.einsum("ivk,ik->iv", q, normal) + self.offset[:, None])[:, :, None] * normal[:, None, :]
        # Portals in a slab (stair openings): a room whose floor or ceiling lies apart from one (raised a
        # step over the slab) is joined to it by the opening's shaft, the quad carried vertically.
        self.slab = np.abs(normal[:, 1]) > 0.5 if len(q) else np.zeros(0, bool)
        # Portals touching each cell (either side), CSR.
        cell = np.concatenate([self.frm, self.to])
        portal = np.concatenate([np.arange(len(q)), np.arange(len(q))])
        keep = np.concatenate([np.ones(len(q), bool), self.to != self.frm])
        cell, portal = cell[keep], portal[keep]
        order = np.argsort(cell, kind="stable")
        self.touch = portal[order]
        self.touch_start = np.searchsorted(cell[order], np.arange(n + 1))

    # -- sampling points -------------------------------------------------------------------
    def cell_points(self, cells: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One uniform random point inside each given cell's prism (its floor polygon, not its box)."""
        out = np.empty((len(cells), 3))
        for c in np.unique(cells).tolist():
            rows = np.flatnonzero(cells == c)
            poly = self.floors[c]
            tri = poly[mapbox_earcut.triangulate_float64(poly, np.array([len(poly)], np.uint32)).reshape(-1, 3)]
            e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
            area = np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
            pick = rng.choice(len(tri), size=len(rows), p=area / area.sum())
            u, v = rng.random((2, len(rows), 1))
            flip = (u + v) > 1
            u, v = np.where(flip, 1 - u, u), np.where(flip, 1 - v, v)
            t = tri[pick]
            xz = t[:, 0] + u * (t[:, 1] - t[:, 0]) + v * (t[:, 2] - t[:, 0])
            y = self.y0[c] + (self.y1[c] - self.y0[c]) * rng.random(len(rows))
            out[rows] = np.column_stack([xz[:, 0], y, xz[:, 1]])
        return out

    def portal_points(self, portals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One uniform random point on each given portal quad (split into two triangles by area)."""
        q = self.quads[portals]
        a1 = np.linalg.norm(np.cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]), axis=1)
        a2 = np.linalg.norm(np.cross(q[:, 2] - q[:, 0], q[:, 3] - q[:, 0]), axis=1)
        second = rng.random(len(q)) * np.maximum(a1 + a2, 1e-300) >= a1
        b = np.where(second[:, None], q[:, 2], q[:, 1])
        c = np.where(second[:, None], q[:, 3], q[:, 2])
        u, v = rng.random((2, len(q), 1))
        flip = (u + v) > 1
        u, v = np.where(flip, 1 - u, u), np.where(flip, 1 - v, v)
        return q[:, 0] + u * (b - q[:, 0]) + v * (c - q[:, 0])

    # -- walking -----------------------------------------------------------------------------
    def walk(
        self,
        o: np.ndarray,
        d: np.ndarray,
        cell: np.ndarray,
        backwards: bool = False,
        tmax: float = 1e4,
        start: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Follow rays ``o + t·d`` (t > 0) from ``cell`` through portals until a wall.

        ``backwards``: the ray runs against the direction sight travels (a one-way portal is then
        crossed only from its ``to`` side). ``start``: the portal each ray starts on (-1: none), whose
        shaft it may start in. Returns (ray, step, cell, portal) of every cell entered after the start
        and the portal it was entered by, sorted by ray then step, and two per-ray flags: a one-way portal
        was crossed; the ray reaches ``cell`` (not: it leaves the shaft of ``start``, or lies above or
        under ``cell`` with no such portal, before it).
        """
        r = len(o)
        rays = np.arange(r)
        cur = cell.copy()
        t = np.zeros(r)
        reached = np.ones(r, bool)
        if start is not None:  # a ray on a slab portal apart from its cell first climbs the portal's shaft
            reached, t = self._shaft(o, d, t, cur, start)
            keep = reached | (start < 0)
            rays, cur, t = rays[keep], cur[keep], t[keep]
        one_way_used = np.zeros(r, bool)
        out_ray: list[np.ndarray] = []
        out_cell: list[np.ndarray] = []
        out_step: list[np.ndarray] = []
        out_portal: list[np.ndarray] = []
        step = 0
        while len(rays) and step < 4 * self.n + 4:
            step += 1
            oo, dd = o[rays], d[rays]
            # Leaving the floor polygon: first edge crossing ahead (2D segment intersection).
            owner, e = _expand(self.edge_start[cur], self.edge_start[cur + 1] - self.edge_start[cur])
            ex, ez = self.edge_e[e, 0], self.edge_e[e, 1]
            dx, dz = dd[owner, 0], dd[owner, 2]
            wx, wz = self.edge_a[e, 0] - oo[owner, 0], self.edge_a[e, 1] - oo[owner, 2]
            den = dx * ez - dz * ex
            ok = np.abs(den) > 1e-15
            den = np.where(ok, den, 1.0)
            te = (wx * ez - wz * ex) / den
            se = (wx * dz - wz * dx) / den
            ok &= (se >= -1e-9) & (se <= 1 + 1e-9) & (te > t[owner] + _T_EPS)
            te = np.where(ok, te, np.inf)
            t_exit = np.full(len(rays), np.inf)
            np.minimum.at(t_exit, owner, te)
            # Leaving through the floor or the ceiling.
            dy = dd[:, 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                for y in (self.y0[cur], self.y1[cur]):
                    ty = (y - oo[:, 1]) / dy
                    t_exit = np.where((dy != 0) & (ty > t + _T_EPS) & (ty < t_exit), ty, t_exit)
            alive = np.isfinite(t_exit) & (t_exit < tmax)
            rays, cur, t_exit, oo, dd = rays[alive], cur[alive], t_exit[alive], oo[alive], dd[alive]
            q = oo + t_exit[:, None] * dd
            # The portal of this cell holding the exit point, crossed in a permitted direction.
            owner, at = _expand(self.touch_start[cur], self.touch_start[cur + 1] - self.touch_start[cur])
            p = self.touch[at]
            qp = q[owner]
            on = self._on_portal(p, qp)
            # Out through the floor or ceiling into the shaft of a slab portal apart from the cell: the line
            # crosses that portal where it meets its plane, if it met the floor or ceiling over the portal.
            t_cross = t_exit[owner]
            level = np.isclose(qp[:, 1], self.y0[cur[owner]], rtol=0, atol=_ON_PLANE)
            level |= np.isclose(qp[:, 1], self.y1[cur[owner]], rtol=0, atol=_ON_PLANE)
            deep = np.flatnonzero(~on & level & self.slab[p] & (np.abs(dd[owner, 1]) > 0))
            if deep.size:
                pd, od, dv = p[deep], oo[owner[deep]], dd[owner[deep]]
                with np.errstate(divide="ignore", invalid="ignore"):
                    t_p = -(np.einsum("ij,ij->i", self.normal[pd], od) + self.offset[pd]) / np.einsum(
                        "ij,ij->i", self.normal[pd], dv
                    )
                ok = np.isfinite(t_p) & (t_p > t_cross[deep])
                ok &= self._in_shaft(pd, qp[deep]) & self._on_portal(pd, od + np.where(ok, t_p, 0.0)[:, None] * dv)
                on[deep[ok]] = True
                t_cross[deep[ok]] = t_p[ok]
            from_here = self.frm[p] == cur[owner]
            other = np.where(from_here, self.to[p], self.frm[p])
            permitted = ~self.one_way[p] | (from_here != backwards)
            # Out of this cell: along the normal (into ``to``) from ``from``, against it from ``to``. A line
            # leaving through a wall within _ON_PLANE of a portal's plane at a corner would otherwise pass
            # into the portal's other cell and on through a coplanar portal of it, back the way it came.
            dn = np.einsum("ij,ij->i", dd[owner], self.normal[p])
            on &= permitted & (np.abs(dn) >= _TRANSVERSAL) & ((dn > 0) == from_here)
            hit_owner = owner[on]
            first = np.unique(hit_owner, return_index=True)[1]
            go = hit_owner[first]
            nxt = other[on][first]
            crossed = p[on][first]
            used = self.one_way[crossed]
            # Into the next cell, up or down the shaft of a slab portal apart from it (or not at all).
            rays, t, cur = rays[go], t_cross[on][first], nxt
            ok, t = self._shaft(o[rays], d[rays], t, cur, crossed)
            rays, t, cur, crossed, used = rays[ok], t[ok], cur[ok], crossed[ok], used[ok]
            one_way_used[rays[used]] = True
            out_ray.append(rays)
            out_cell.append(cur)
            out_step.append(np.full(len(rays), step))
            out_portal.append(crossed)
        ray, steps, cells, portals = (
            np.concatenate(out) if out else np.zeros(0, np.int64) for out in (out_ray, out_step, out_cell, out_portal)
        )
        order = np.lexsort((steps, ray))
        return ray[order], steps[order], cells[order], portals[order], one_way_used, reached

    def lines(self, o: np.ndarray, d: np.ndarray, behind: np.ndarray, ahead: np.ndarray) -> Lines:
        """Whole sight lines through ``o`` along ``d``: ``behind`` / ``ahead`` the cell on each side of
        ``o`` (the same cell for a point inside one; a portal's two cells for a point on it).

        Returns the cells each line passes in the order sight travels along ``d``, whether it may
        also be read backwards (no one-way portal on it), and which of its parts are sight (see
        :class:`Lines`). A point on a one-way portal crossed against its direction splits the line: the
        part behind is dropped.
        """
        r = len(o)
        # Crossing at o itself (a point on a portal): permitted?
        split = behind != ahead
        crossing_ok = np.ones(r, bool)
        crossing_two_way = np.ones(r, bool)
        at_o = np.full(r, -1, np.int64)
        if split.any():
            crossing_ok[split], crossing_two_way[split], at_o[split] = self._crossable(
                o[split], d[split], behind[split], ahead[split]
            )
        # From a point of a slab portal, a line that leaves the portal's shaft before a cell does not reach it.
        f_ray, f_step, f_cell, f_portal, f_one, reach_ahead = self.walk(o, d, ahead, start=at_o)
        b_ray, b_step, b_cell, b_portal, b_one, reach_behind = self.walk(o, -d, behind, backwards=True, start=at_o)
        nb = np.bincount(b_ray, minlength=r) * crossing_ok
        nf = np.bincount(f_ray, minlength=r)
        width = int((nb + nf).max(initial=0)) + 2
        grid = np.full((r, width), -1, np.int64)
        # crossed[i, c]: the portal line i crosses from cell grid[i, c - 1] into grid[i, c].
        crossed = np.full((r, width), -1, np.int64)
        start = nb  # position of the ``behind`` cell
        keep_b = crossing_ok[b_ray]
        grid[b_ray[keep_b], (start[b_ray] - b_step)[keep_b]] = b_cell[keep_b]
        crossed[b_ray[keep_b], (start[b_ray] - b_step + 1)[keep_b]] = b_portal[keep_b]
        grid[np.flatnonzero(crossing_ok), start[crossing_ok]] = behind[crossing_ok]
        head = start + split * crossing_ok
        grid[np.arange(r), head] = ahead
        crossed[np.arange(r), head] = np.where(split & crossing_ok, at_o, -1)
        grid[f_ray, head[f_ray] + f_step] = f_cell
        crossed[f_ray, head[f_ray] + f_step] = f_portal
        both_ways = ~(f_one | (b_one & crossing_ok)) & (crossing_two_way | ~crossing_ok)
        rows = np.flatnonzero(~reach_behind & crossing_ok)
        grid[rows, start[rows]] = -1
        rows = np.flatnonzero(~reach_ahead)
        grid[rows, head[rows]] = -1
        reach, reach_back = self._reach(crossed, d)
        return Lines(grid, both_ways, reach, reach_back)

    def _reach(self, crossed: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Lines.reach`` and ``Lines.reach_back`` of lines along ``d`` crossing the portals ``crossed``.

        Crossing a portal after one whose plane it lies in (within ``_AHEAD_TOL``), or behind, ends
        sight from every cell before the first of the two; the cells from there on see on.
        """
        r, width = crossed.shape
        if not len(self.quads):
            return np.full((r, width), width - 1), np.full((r, width), width - 1)
        # Each crossing's plane turned so that its normal points the way the line runs along d.
        sign = np.sign(np.einsum("rwk,rk->rw", self.normal[np.maximum(crossed, 0)], d))
        # first[i, a]: the first crossing b > a of line i that may not follow crossing a (along d), and
        # first_back[i, a]: the same for the line read backwards (b crossed first, then a).
        first = np.full((r, width), width, np.int64)
        first_back = np.full((r, width), width, np.int64)
        for k in range(1, width):
            a = np.nonzero((crossed[:, : width - k] >= 0) & (crossed[:, k:] >= 0))
            b = (a[0], a[1] + k)
            # b crossed after a (along d), and a after b (read backwards).
            ends = self._ends(crossed[b], crossed[a], sign[a])
            ends_back = self._ends(crossed[a], crossed[b], -sign[b])
            for out, cut in ((first, ends), (first_back, ends_back)):
                rows, cols = a[0][cut], a[1][cut]
                out[rows, cols] = np.minimum(out[rows, cols], cols + k)
        # A pair (cell c, cell j > c) is seen when no crossing a in c + 1 .. j has its first cut at or
        # before j: j < min over a > c of first[a].
        reaches = []
        for f in (first, first_back):
            after = np.full((r, width), width, np.int64)
            after[:, :-1] = np.minimum.accumulate(f[:, ::-1], axis=1)[:, ::-1][:, 1:]
            reaches.append(after - 1)
        return reaches[0], reaches[1]

    def _ends(self, later: np.ndarray, earlier: np.ndarray, sign: np.ndarray) -> np.ndarray:
        """Whether a line crossing portal ``earlier[i]`` along its normal times ``sign[i]`` cannot go on
        straight through ``later[i]`` (the PVS flow's rule, ``_walkable``)."""
        normal, offset = self.normal[earlier] * sign[:, None], self.offset[earlier] * sign
        dist = np.einsum("nvk,nk->nv", self.flat[later], normal) + offset[:, None]
        return ~_walkable(dist.min(axis=1), dist.max(axis=1))  # type: ignore[no-any-return]

    def _shaft(
        self, o: np.ndarray, d: np.ndarray, t: np.ndarray, cell: np.ndarray, portal: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rays ``o + t·d`` just through ``portal`` into ``cell``: whether they reach the cell, and where
        (``t``). A point beyond the cell's floor or ceiling lies in the shaft of a slab portal apart from
        the cell (a stair opening into a room raised a step, through the slab between: the quad carried
        vertically); the ray reaches the cell if it is still over the portal at the cell's floor or ceiling,
        else it stops at the shaft's side."""
        here = o[:, 1] + t * d[:, 1]
        below, above = here < self.y0[cell] - _ON_PLANE, here > self.y1[cell] + _ON_PLANE
        ok = ~(below | above)
        deep = np.flatnonzero(~ok)
        if not deep.size:
            return ok, t
        t = t.copy()
        level = np.where(below[deep], self.y0[cell[deep]], self.y1[cell[deep]])
        with np.errstate(divide="ignore", invalid="ignore"):
            t_in = (level - o[deep, 1]) / d[deep, 1]
        fine = np.isfinite(t_in) & (t_in > t[deep]) & (portal[deep] >= 0)
        fine &= self._in_shaft(np.maximum(portal[deep], 0), o[deep] + np.where(fine, t_in, 0.0)[:, None] * d[deep])
        ok[deep[fine]] = True
        t[deep[fine]] = t_in[fine]
        return ok, t

    def _in_shaft(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Whether point ``q[i]`` lies over or under portal ``p[i]`` (inside its quad seen from above)."""
        quad = self.quads[p][:, :, [0, 2]]
        edge = np.roll(quad, -1, axis=1) - quad
        rel = q[:, None, [0, 2]] - quad
        side = edge[:, :, 0] * rel[:, :, 1] - edge[:, :, 1] * rel[:, :, 0]
        slack = 1e-9 * np.linalg.norm(edge, axis=2)
        return (side >= -slack).all(axis=1) | (side <= slack).all(axis=1)  # type: ignore[no-any-return]

    def _on_portal(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Whether point ``q[i]`` lies on portal ``p[i]`` (in its plane, inside its quad)."""
        on = np.abs(np.einsum("ij,ij->i", self.normal[p], q) + self.offset[p]) < _ON_PLANE
        quad = self.quads[p]
        edge = np.roll(quad, -1, axis=1) - quad
        side = np.einsum("ikj,ij->ik", np.cross(edge, q[:, None] - quad), self.normal[p])
        return on & (side >= -1e-9 * np.linalg.norm(edge, axis=2)).all(axis=1)  # type: ignore[no-any-return]

    def _crossable(
        self, o: np.ndarray, d: np.ndarray, behind: np.ndarray, ahead: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Whether sight passes at ``o`` from ``behind`` into ``ahead`` through a portal, and back; and
        that portal (-1: none)."""
        owner, at = _expand(self.touch_start[behind], self.touch_start[behind + 1] - self.touch_start[behind])
        p = self.touch[at]
        joins = ((self.frm[p] == behind[owner]) & (self.to[p] == ahead[owner])) | (
            (self.to[p] == behind[owner]) & (self.frm[p] == ahead[owner]) & ~self.one_way[p]
        )
        on = self._on_portal(p, o[owner])
        on &= np.abs(np.einsum("ij,ij->i", self.normal[p], d[owner])) >= _TRANSVERSAL
        ok = np.zeros(len(o), bool)
        ok[owner[joins & on]] = True
        back = np.zeros(len(o), bool)
        back[owner[joins & on & ~self.one_way[p]]] = True
        portal = np.full(len(o), -1, np.int64)
        portal[owner[joins & on]] = p[joins & on]
        return ok, back, portal


def mark_lines(visible: np.ndarray, lines: Lines) -> None:
    """Set ``visible[a, b]`` for every pair of cells a line joins, ``a`` before ``b`` (and after, for
    lines that may be read backwards)."""
    grid = lines.grid
    width = grid.shape[1]
    column = np.arange(width)
    for k in range(width):
        a, b = grid[:, : width - k], grid[:, k:]
        ok = (a >= 0) & (b >= 0)
        fwd = ok & (column[: width - k] + k <= lines.reach[:, : width - k])
        visible[a[fwd], b[fwd]] = True
        back = ok & lines.both_ways[:, None] & (column[: width - k] + k <= lines.reach_back[:, : width - k])
        visible[b[back], a[back]] = True


def sample_visibility(
    ir: SceneIR,
    rng: np.random.Generator,
    per_cell: int = 200,
    portal_pairs: np.ndarray | None = None,
    per_pair: int = 16,
) -> np.ndarray:
    """Cell pairs joined by sampled free sight lines: (n, n) bool, ``[a, b]`` when ``b`` is seen from ``a``.

    Lines: from ``per_cell`` uniform points inside every cell (inside its floor polygon), half
    towards a random point of a random portal of the cell, half in a uniform random direction;
    and, for every row (S, T) of ``portal_pairs``, ``per_pair`` lines through a random point of S
    and a random point of T. Every line is followed both ways to the first wall.
    """
    tr = Tracer(ir)
    n = tr.n
    visible = np.eye(n, dtype=bool)
    cells = np.repeat(np.arange(n), per_cell)
    o = tr.cell_points(cells, rng)
    d = rng.normal(size=o.shape)
    touching = tr.touch_start[cells + 1] - tr.touch_start[cells]
    aim = (np.arange(len(cells)) % 2 == 0) & (touching > 0)
    pick = tr.touch[tr.touch_start[cells[aim]] + (rng.random(int(aim.sum())) * touching[aim]).astype(np.int64)]
    d[aim] = tr.portal_points(pick, rng) - o[aim]
    _trace_into(tr, visible, o, d, cells, cells)
    if portal_pairs is not None and len(portal_pairs):
        pairs = np.repeat(portal_pairs, per_pair, axis=0)
        pa, pb = tr.portal_points(pairs[:, 0], rng), tr.portal_points(pairs[:, 1], rng)
        d = pb - pa
        s = pairs[:, 0]
        fwd = np.einsum("ij,ij->i", d, tr.normal[s]) > 0
        ahead = np.where(fwd, tr.to[s], tr.frm[s])
        behind = np.where(fwd, tr.frm[s], tr.to[s])
        _trace_into(tr, visible, pa, d, behind, ahead)
    return visible


def _trace_into(
    tr: Tracer, visible: np.ndarray, o: np.ndarray, d: np.ndarray, behind: np.ndarray, ahead: np.ndarray
) -> None:
    norm = np.linalg.norm(d, axis=1, keepdims=True)
    ok = norm[:, 0] > 1e-12
    o, d, behind, ahead = o[ok], d[ok] / norm[ok], behind[ok], ahead[ok]
    for lo in range(0, len(o), 50_000):
        sl = slice(lo, lo + 50_000)
        mark_lines(visible, tr.lines(o[sl], d[sl], behind[sl], ahead[sl]))


def confirm_pairs(
    ir: SceneIR, claimed: np.ndarray, visible: np.ndarray, rng: np.random.Generator, rounds: tuple[int, ...]
) -> None:
    """Look for sight lines joining the ``claimed`` pairs that ``visible`` does not hold yet, and add
    every pair they join (whether claimed or not) to ``visible``.

    A line from a point of cell A to a point of cell B ≠ A leaves A through some portal S of A and
    enters B through some portal T of B, so it is among the lines through a point of S and a point
    of T (S = T: through a point of A and a point of S). Round k draws ``rounds[k]`` such lines per
    pair still unseen, with S and T drawn at random among the portals of A and of B.
    """
    tr = Tracer(ir)
    deg = tr.touch_start[1:] - tr.touch_start[:-1]
    for count in rounds:
        a, b = np.nonzero(claimed & ~visible)
        keep = (deg[a] > 0) & (deg[b] > 0)
        a, b = np.repeat(a[keep], count), np.repeat(b[keep], count)
        if not len(a):
            return
        s = tr.touch[tr.touch_start[a] + (rng.random(len(a)) * deg[a]).astype(np.int64)]
        t = tr.touch[tr.touch_start[b] + (rng.random(len(b)) * deg[b]).astype(np.int64)]
        same = s == t
        ps = tr.portal_points(s, rng)
        o = np.where(same[:, None], tr.cell_points(a, rng), ps)
        d = np.where(same[:, None], ps, tr.portal_points(t, rng)) - o
        fwd = np.einsum("ij,ij->i", d, tr.normal[s]) > 0
        behind = np.where(same, a, np.where(fwd, tr.frm[s], tr.to[s]))
        ahead = np.where(same, a, np.where(fwd, tr.to[s], tr.frm[s]))
        _trace_into(tr, visible, o, d, behind, ahead)
