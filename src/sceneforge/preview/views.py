"""Where a preview looks: storeys of a built scene, its bounds, and the thumbnail's camera.

A scene's storeys are found from the cells' floor heights (the ``aabb`` min y): heights closer
than :data:`STOREY_GAP` belong to one storey, unless a cell stands over a cell of that storey more
than :data:`STOREY_GAP` below it (its box over at least half of the other's, or of its own, seen from
above), which starts the next: a stair drawn as cells of their own, steps a quarter-metre apart,
chains every floor height of a house to the next, and its storeys had been one, cut over the ground
floor. Each storey is cut at its floor + :data:`CUT_HEIGHT` for plans (a cell whose floor lies at or
over that cut, a step of such a stair, at its own floor + :data:`CUT_HEIGHT`), and the thumbnail
looks down at the top storey, cut the same way, so that a building reads like a doll's house.
:func:`prepare` finds the storeys, material colours and each cell's world triangles once, for every
image of one scene. Pure functions over :class:`~sceneforge.ingest.built_glb.BuiltScene`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..ingest.built_glb import BuiltCell, BuiltScene
from .raster import Camera, perspective

__all__ = [
    "CUT_HEIGHT",
    "STOREY_GAP",
    "Prepared",
    "Storey",
    "prepare",
    "scene_triangles",
    "storeys",
    "thumbnail_camera",
]

F64 = npt.NDArray[np.float64]

#: Floor heights further apart than this (metres) are different storeys (a step or slab is less).
STOREY_GAP = 1.2
#: Plans cut walls this far above the storey's floor: below window sills' tops, through doorways.
CUT_HEIGHT = 1.2


@dataclass(frozen=True, slots=True)
class Storey:
    #: Lowest floor height of the storey's cells.
    floor_y: float
    #: Height of the horizontal cut that shows the storey's walls and doorways.
    cut_y: float
    cells: list[BuiltCell]


def storeys(scene: BuiltScene) -> list[Storey]:
    """The scene's storeys, lowest first; every cell belongs to exactly one."""
    if not scene.cells:
        return []
    boxes = np.array([c.aabb for c in scene.cells], dtype=np.float64).reshape(-1, 6)
    floors = boxes[:, 1]
    order = np.argsort(floors, kind="stable")
    breaks = np.flatnonzero(np.diff(floors[order]) > STOREY_GAP) + 1
    out = []
    for chained in np.split(order, breaks):
        for group in _stacked(boxes, chained):
            cells = [scene.cells[i] for i in sorted(group.tolist())]
            floor = float(floors[group].min())
            out.append(Storey(floor, floor + CUT_HEIGHT, cells))
    return out


def _stacked(boxes: F64, group: npt.NDArray[np.intp]) -> list[npt.NDArray[np.intp]]:
    """``group`` (cells in floor order, each floor within :data:`STOREY_GAP` of the last) split before each
    cell that stands over a cell of its storey more than :data:`STOREY_GAP` below it: their boxes, seen
    from above, overlapping over at least half of either one's (rooms side by side, turned off the axes,
    overlap a corner of their boxes; a room over another, all of the smaller one's). Cost: one comparison
    per cell with the cells of its storey below that height, only where the floors span more than
    :data:`STOREY_GAP` (a storey's floors spanning less, as the office levels', are one storey at once)."""
    floors = boxes[group, 1]
    if floors[-1] - floors[0] <= STOREY_GAP:
        return [group]
    lo, hi = boxes[group][:, [0, 2]], boxes[group][:, [3, 5]]
    area = np.prod(hi - lo, axis=1)
    parts, start = [], 0
    for k in range(1, group.size):
        below = start + int(np.searchsorted(floors[start:k], floors[k] - STOREY_GAP, side="left"))
        if below == start:
            continue
        side = np.clip(np.minimum(hi[start:below], hi[k]) - np.maximum(lo[start:below], lo[k]), 0.0, None)
        shared = side[:, 0] * side[:, 1]
        if ((shared > 0) & (shared >= 0.5 * np.minimum(area[start:below], area[k]))).any():
            parts.append(group[start:k])
            start = k
    parts.append(group[start:])
    return parts


def scene_triangles(cells: list[BuiltCell], materials: dict[str, tuple[float, float, float]]) -> tuple[F64, F64]:
    """(T, 3, 3) world triangles of ``cells`` and their (T, 3) linear base colours."""
    tris, cols = [], []
    for cell in cells:
        for s in cell.surfaces:
            tris.append(s.positions[s.indices].astype(np.float64))
            cols.append(np.broadcast_to(np.asarray(materials.get(s.material, (0.8, 0.8, 0.8))), (s.triangle_count, 3)))
    if not tris:
        return np.zeros((0, 3, 3)), np.zeros((0, 3))
    return np.concatenate(tris), np.concatenate(cols)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What every preview image of one scene needs, computed once (see :func:`prepare`)."""

    scene: BuiltScene
    storeys: list[Storey]
    #: Each cell's (T, 3, 3) world triangles and (T, 3) base colours, by cell id.
    triangles: dict[str, tuple[F64, F64]]

    def triangle_counts(self, cells: list[BuiltCell]) -> npt.NDArray[np.intp]:
        """How many triangles each of ``cells`` has (their runs in :meth:`cell_triangles`)."""
        return np.array([self.triangles[c.cell_id][0].shape[0] for c in cells], dtype=np.intp)

    def cell_triangles(self, cells: list[BuiltCell]) -> tuple[F64, F64]:
        """The triangles and colours of ``cells``, in their order."""
        parts = [self.triangles[c.cell_id] for c in cells]
        if not parts:
            return np.zeros((0, 3, 3)), np.zeros((0, 3))
        return np.concatenate([t for t, _ in parts]), np.concatenate([c for _, c in parts])


def prepare(scene: BuiltScene) -> Prepared:
    """The scene's storeys and every cell's triangles with their material colours."""
    colors = {k: (m.base_color[0], m.base_color[1], m.base_color[2]) for k, m in scene.materials.items()}
    triangles = {c.cell_id: scene_triangles([c], colors) for c in scene.cells}
    return Prepared(scene, storeys(scene), triangles)


def bounds(cells: list[BuiltCell]) -> F64:
    """(2, 3) min and max corner of the cells' aabbs."""
    a = np.array([c.aabb for c in cells], dtype=np.float64).reshape(-1, 6)
    return np.stack([a[:, :3].min(axis=0), a[:, 3:].max(axis=0)])


def thumbnail_camera(scene: BuiltScene, levels: list[Storey] | None = None) -> tuple[Camera, float]:
    """A perspective camera looking down at 50° over the scene's south-east corner, and the cut height
    (just over half the top storey's typical room height, so walls read as walls). ``levels``: the
    scene's storeys when already known."""
    top = (levels if levels is not None else storeys(scene))[-1]
    lo, hi = bounds(scene.cells)
    target = np.array([(lo[0] + hi[0]) / 2, top.floor_y, (lo[2] + hi[2]) / 2])
    radius = 0.5 * float(np.linalg.norm([hi[0] - lo[0], max(hi[1] - lo[1], 1.0), hi[2] - lo[2]]))
    fov = 40.0
    distance = max(radius, 1.0) / np.sin(np.radians(fov / 2)) * 1.02
    # Long buildings are seen across their length, so they fill the frame's width, not its diagonal.
    dx, dz = float(hi[0] - lo[0]), float(hi[2] - lo[2])
    azimuth = np.radians(15.0 if dx > 2 * dz else 75.0 if dz > 2 * dx else 35.0)
    elevation = np.radians(50.0)
    direction = np.array([np.sin(azimuth) * np.cos(elevation), np.sin(elevation), np.cos(azimuth) * np.cos(elevation)])
    eye = target + direction * distance
    near, far = max(distance - 2 * radius, 0.05), distance + 2 * radius
    heights = [c.aabb[4] - c.aabb[1] for c in top.cells]
    cut = top.floor_y + max(CUT_HEIGHT, 0.55 * float(np.median(heights)))
    return _framed(perspective(eye, target, fov, near, far), lo, hi), cut


def _framed(camera: Camera, lo: F64, hi: F64, fill: float = 0.94) -> Camera:
    """``camera`` zoomed and shifted on screen so the box ``lo``–``hi`` fills ``fill`` of the frame."""
    corners = np.array(np.meshgrid(*zip(lo, hi, strict=True), indexing="ij")).reshape(3, -1).T
    clip = corners @ camera.view_proj[:, :3].T + camera.view_proj[:, 3]
    ndc = clip[:, :2] / clip[:, 3:4]
    centre = (ndc.min(axis=0) + ndc.max(axis=0)) / 2
    k = fill / max(float(np.max(ndc.max(axis=0) - centre)), 1e-9)
    # x' = k (x_ndc - cx) after the divide is k x_clip - k cx w_clip before it: a clip-space matrix.
    post = np.eye(4)
    post[0, 0], post[1, 1] = k, k
    post[0, 3], post[1, 3] = -k * centre[0], -k * centre[1]
    return Camera(post @ camera.view_proj, camera.eye, camera.forward)
