"""Mesh checks shared by the geometry tests: building rooms and scenes, ray casts, areas."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import trimesh
from hypothesis import strategies as st

from sceneforge.model.ir import Cell, Portal, Room, SceneIR, Surface

from .levels import heights

T = 0.1


def box_room(x0: float, x1: float, z0: float, z1: float, y: float = 0.0, height: float = 3.0, t: float = T) -> Room:
    outline = np.array([[x0, z0], [x1, z0], [x1, z1], [x0, z1]], dtype=np.float64)
    return Room(outline, y, height, t, "wall")


def scene(rooms: dict[str, Room], portals: list[tuple[str, str, np.ndarray]]) -> SceneIR:
    cells = [Cell(cell_id, room, path=f"/cells/{i}") for i, (cell_id, room) in enumerate(rooms.items())]
    ir_portals = [Portal(i, a, b, np.asarray(q, dtype=np.float64).reshape(4, 3)) for i, (a, b, q) in enumerate(portals)]
    return SceneIR("test", cells, ir_portals, {})


def only_surface(ir: SceneIR, cell_id: str) -> Surface:
    (surface,) = next(c for c in ir.cells if c.cell_id == cell_id).surfaces
    return surface


def as_trimesh(surface: Surface) -> trimesh.Trimesh:
    """Vertices merged by position (flat shading splits them), faces kept as they are."""
    return trimesh.Trimesh(surface.positions.astype(np.float64), surface.indices.astype(np.int64), process=True)


def closed(surface: Surface) -> bool:
    """Every edge (vertices merged by position) is crossed once each way: no crack, consistent winding, and
    2-manifold — no edge four faces share (a pillar touching a slab's corner along a line is parted from it:
    docs/scene-format.md, Rooms). Triangles that float32 positions collapsed (two corners one vertex: no area,
    left out of the output by the optimize passes) are left out: each crosses its one edge both ways."""
    mesh = as_trimesh(surface)
    f = mesh.faces.astype(np.int64)
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0])]
    start, end = f.reshape(-1), f[:, [1, 2, 0]].reshape(-1)
    n = int(mesh.vertices.shape[0])
    forward = np.sort(start * n + end)
    backward = np.sort(end * n + start)
    return bool(np.array_equal(forward, backward) and (forward[1:] != forward[:-1]).all())


def triangles(surface: Surface) -> np.ndarray:
    return surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]


def face_normals(surface: Surface) -> tuple[np.ndarray, np.ndarray]:
    """(unit normals from the winding, areas) per triangle."""
    tri = triangles(surface)
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(cross, axis=1)
    return cross / length[:, None], 0.5 * length


def ray_hits(surface: Surface, origin: np.ndarray, direction: np.ndarray, length: float) -> int:
    """Triangles crossed by the segment origin + s·direction, 0 ≤ s ≤ length (Möller–Trumbore)."""
    tri = triangles(surface)
    d = np.asarray(direction, np.float64) / np.linalg.norm(direction)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    p = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = np.asarray(origin, np.float64) - tri[:, 0]
    u = np.einsum("ij,ij->i", s, p) * inv
    q = np.cross(s, e1)
    v = (q @ d) * inv
    dist = np.einsum("ij,ij->i", e2, q) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (dist >= 0) & (dist <= length)
    return int(hit.sum())


def plane_area(surface: Surface, normal: np.ndarray, offset: float, tol: float = 1e-5) -> float:
    """Area of the triangles facing ``normal`` that lie on the plane normal·x = offset."""
    normals, areas = face_normals(surface)
    centroids = triangles(surface).mean(axis=1)
    on = (normals @ normal > 1 - 1e-6) & (np.abs(centroids @ normal - offset) < tol)
    return float(areas[on].sum())


def quad_area(quad: np.ndarray) -> float:
    q = np.asarray(quad, np.float64).reshape(4, 3)
    return 0.5 * float(np.linalg.norm(np.cross(q[2] - q[0], q[3] - q[1])))


def blocked_portals(ir: SceneIR) -> list[str]:
    """Portals (``from->to``) where a segment along the quad's normal through its middle (or a fifth of the way
    to each corner), across both rooms' walls, meets a triangle of either room. (A quad drawn past a room's
    cavity, into its slab or past its corner, is cut inside the cavity only: farther out, rays would meet the
    walls the format keeps.)"""
    cells = {c.cell_id: c for c in ir.cells}
    out = []
    for portal in ir.portals:
        q = np.asarray(portal.quad, np.float64).reshape(4, 3)
        n = np.cross(q[1] - q[0], q[2] - q[0])
        n /= np.linalg.norm(n)
        sides = [cells[portal.from_cell], cells[portal.to_cell]]
        reach = sum(c.room.wall_thickness for c in sides if c.room is not None) + 0.02
        centre = q.mean(axis=0)
        points = [centre, *(centre + 0.2 * (corner - centre) for corner in q)]
        if any(ray_hits(s, p - n * reach, n, 2 * reach) for p in points for c in sides for s in c.surfaces):
            out.append(f"{portal.from_cell}->{portal.to_cell}")
    return out


def check_shells(ir: SceneIR, thinnest: float) -> None:
    """Every room cell's shell (its last surface) closed, none of its triangles lower than ``thinnest`` (m)."""
    for cell in ir.cells:
        if cell.room is None:
            continue
        shell = cell.surfaces[-1]
        assert closed(shell), cell.cell_id
        height = heights(shell.positions.astype(np.float64)[shell.indices.astype(np.int64)])
        assert height.min() >= thinnest, (cell.cell_id, float(height.min()))


class BoxFrame(NamedTuple):
    """A box room's wall thickness, width, depth, floor level and height; its floor's top, its ceiling's underside
    and its top."""

    t: float
    w: float
    dep: float
    y0: float
    h: float
    top: float
    ceiling: float
    y1: float


def draw_box_frame(draw: st.DrawFn, lo: int, hi: int) -> BoxFrame:
    """A box room of walls 0.1 or 0.2 m thick, width and depth ``lo`` to ``hi`` quarter metres, on the ground or a
    storey up (3.2 m), 3 m high."""
    t = draw(st.sampled_from([0.1, 0.2]))
    w, dep = draw(st.integers(lo, hi)) * 0.25, draw(st.integers(lo, hi)) * 0.25
    y0, h = draw(st.sampled_from([0.0, 3.2])), 3.0
    return BoxFrame(t, w, dep, y0, h, y0 + t, y0 + h - t, y0 + h)
