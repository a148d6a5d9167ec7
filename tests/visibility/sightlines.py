"""Ground truth for PVS tests: thin occluders from rooms and portals, and sampled sight lines.

Occluders are the most permissive geometry the portals allow: every room's outline is a wall
of zero thickness at the outer boundary, cut exactly by the portal quads lying on it, plus a
floor and a ceiling. A sight line free of these triangles passes through portals only, so every
pair of cells it joins must be in each other's PVS.
"""

from __future__ import annotations

from typing import Any

import mapbox_earcut
import numpy as np

from sceneforge.model.ir import Cell, Portal, Room, SceneIR

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
