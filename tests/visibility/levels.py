"""Small levels that stress the portal walk: many doorways in one wall, fully connected grids of
rooms, long aligned corridors, and random small levels (for hypothesis). Box rooms and portal
quads wound so their normal points into ``to``."""

from __future__ import annotations

import numpy as np

from sceneforge.model.ir import Cell, Portal, Room, SceneIR

__all__ = ["corridor", "grid", "many_doors", "random_level"]


def _box(cell_id: str, x0: float, z0: float, x1: float, z1: float, y0: float = 0.0, h: float = 3.0) -> Cell:
    floor = np.array([[x0, z0], [x1, z0], [x1, z1], [x0, z1]], float)
    return Cell(cell_id, Room(floor, y0, h, 0.1, "default"))


def x_door(i: int, frm: str, to: str, x: float, z0: float, z1: float, y0: float = 0.0, y1: float = 2.1) -> Portal:
    """A doorway in the wall x = ``x``, its normal along +x (``frm`` on the low-x side)."""
    quad = np.array([[x, y0, z0], [x, y1, z0], [x, y1, z1], [x, y0, z1]], float)
    return Portal(i, frm, to, quad)


def z_door(i: int, frm: str, to: str, z: float, x0: float, x1: float, y0: float = 0.0, y1: float = 2.1) -> Portal:
    """A doorway in the wall z = ``z``, its normal along +z (``frm`` on the low-z side)."""
    quad = np.array([[x1, y0, z], [x1, y1, z], [x0, y1, z], [x0, y0, z]], float)
    return Portal(i, frm, to, quad)


def many_doors(doors: int, width: float = 0.8, gap: float = 0.2) -> SceneIR:
    """Two rooms sharing the wall x = 6, joined by ``doors`` doorways side by side in it."""
    depth = doors * (width + gap) + gap
    cells = [_box("a", 0.0, 0.0, 6.0, depth), _box("b", 6.0, 0.0, 12.0, depth)]
    portals = [x_door(i, "a", "b", 6.0, gap + i * (width + gap), gap + i * (width + gap) + width) for i in range(doors)]
    return SceneIR(f"doors-{doors}", cells, portals, {})


def grid(k: int, size: float = 4.0, door: float | None = 1.0) -> SceneIR:
    """``k`` × ``k`` rooms, every pair of neighbours joined: by a ``door``-wide doorway in the middle
    of their wall, or (``door=None``) by an opening as large as the wall."""
    cells = [_box(f"r{i}_{j}", i * size, j * size, (i + 1) * size, (j + 1) * size) for i in range(k) for j in range(k)]
    lo, hi = (0.0, size) if door is None else ((size - door) / 2, (size + door) / 2)
    y1 = 3.0 if door is None else 2.1
    portals: list[Portal] = []
    for i in range(k):
        for j in range(k):
            here = f"r{i}_{j}"
            if i + 1 < k:
                portals.append(
                    x_door(len(portals), here, f"r{i + 1}_{j}", (i + 1) * size, j * size + lo, j * size + hi, 0, y1)
                )
            if j + 1 < k:
                portals.append(
                    z_door(len(portals), here, f"r{i}_{j + 1}", (j + 1) * size, i * size + lo, i * size + hi, 0, y1)
                )
    return SceneIR(f"grid-{k}", cells, portals, {})


def corridor(segments: int, length: float = 6.0, rooms_per_side: int = 2) -> SceneIR:
    """A straight corridor (2.4 m wide) of ``segments`` cells joined by openings as large as its
    cross-section, with ``rooms_per_side`` rooms along each side of every segment, each with a door
    into the corridor, doors facing each other across it."""
    cells: list[Cell] = []
    portals: list[Portal] = []
    w = length / rooms_per_side
    for s in range(segments):
        x0 = s * length
        cells.append(_box(f"c{s}", x0, 0.0, x0 + length, 2.4))
        if s:
            portals.append(x_door(len(portals), f"c{s - 1}", f"c{s}", x0, 0.0, 2.4, 0.0, 3.0))
        for r in range(rooms_per_side):
            rx = x0 + r * w
            cells.append(_box(f"n{s}_{r}", rx, 2.4, rx + w, 7.4))
            cells.append(_box(f"s{s}_{r}", rx, -5.0, rx + w, 0.0))
            portals.append(z_door(len(portals), f"c{s}", f"n{s}_{r}", 2.4, rx + w / 2 - 0.5, rx + w / 2 + 0.5))
            portals.append(z_door(len(portals), f"s{s}_{r}", f"c{s}", 0.0, rx + w / 2 - 0.5, rx + w / 2 + 0.5))
    return SceneIR(f"corridor-{segments}", cells, portals, {})


def y_opening(i: int, frm: str, to: str, y: float, x0: float, x1: float, z0: float, z1: float) -> Portal:
    """An opening in the slab y = ``y``, its normal along +y (``frm`` below)."""
    quad = np.array([[x0, y, z0], [x0, y, z1], [x1, y, z1], [x1, y, z0]], float)
    return Portal(i, frm, to, quad)


def random_level(rng: np.random.Generator, nx: int, nz: int, storeys: int, size: float = 4.0) -> SceneIR:
    """Rooms on an ``nx`` × ``nz`` grid of squares per storey (3 m high), some of them L-shaped (three
    squares: floor polygon), joined at random: 1–3 openings per shared wall (doors from the floor,
    windows in mid-height), openings in the slabs between storeys, an occasional one-way portal."""
    owner = np.full((storeys, nx, nz), -1)
    cells: list[Cell] = []
    for s in range(storeys):
        y0 = 3.0 * s
        for i in range(nx):
            for j in range(nz):
                if owner[s, i, j] >= 0:
                    continue
                name = f"r{s}_{i}_{j}"
                if (
                    i + 1 < nx
                    and j + 1 < nz
                    and owner[s, i + 1, j] < 0
                    and owner[s, i, j + 1] < 0
                    and rng.random() < 0.3
                ):
                    x0, z0, x1, z1, xm, zm = (
                        i * size,
                        j * size,
                        (i + 2) * size,
                        (j + 2) * size,
                        (i + 1) * size,
                        (j + 1) * size,
                    )
                    floor = np.array([[x0, z0], [x1, z0], [x1, zm], [xm, zm], [xm, z1], [x0, z1]], float)
                    cells.append(Cell(name, Room(floor, y0, 3.0, 0.1, "default")))
                    owner[s, i, j] = owner[s, i + 1, j] = owner[s, i, j + 1] = len(cells) - 1
                else:
                    cells.append(_box(name, i * size, j * size, (i + 1) * size, (j + 1) * size, y0, 3.0))
                    owner[s, i, j] = len(cells) - 1
    portals: list[Portal] = []

    def spans(count: int) -> list[tuple[float, float]]:
        cuts = np.sort(rng.uniform(0.1, size - 0.1, 2 * count))
        return [
            (float(cuts[2 * k]), float(cuts[2 * k + 1])) for k in range(count) if cuts[2 * k + 1] - cuts[2 * k] > 0.2
        ]

    def add(p: Portal) -> None:
        one_way = rng.random() < 0.05
        portals.append(Portal(len(portals), p.from_cell, p.to_cell, p.quad, one_way))

    for s in range(storeys):
        y0 = 3.0 * s
        for i in range(nx):
            for j in range(nz):
                a = owner[s, i, j]
                for di, dj in ((1, 0), (0, 1)):
                    if i + di >= nx or j + dj >= nz:
                        continue
                    b = owner[s, i + di, j + dj]
                    if a == b or rng.random() < 0.3:
                        continue
                    for lo, hi in spans(int(rng.integers(1, 4))):
                        bottom = 0.0 if rng.random() < 0.6 else float(rng.uniform(0.3, 1.5))
                        top = float(rng.uniform(bottom + 0.4, 3.0))
                        fa, fb = cells[a].cell_id, cells[b].cell_id
                        if di:
                            add(x_door(0, fa, fb, (i + 1) * size, j * size + lo, j * size + hi, y0 + bottom, y0 + top))
                        else:
                            add(z_door(0, fa, fb, (j + 1) * size, i * size + lo, i * size + hi, y0 + bottom, y0 + top))
                if s + 1 < storeys and rng.random() < 0.25:
                    ((lo, hi),), ((lo2, hi2),) = spans(1) or [(1.0, 2.0)], spans(1) or [(1.0, 2.0)]
                    up = cells[owner[s + 1, i, j]].cell_id
                    add(
                        y_opening(
                            0,
                            cells[a].cell_id,
                            up,
                            y0 + 3.0,
                            i * size + lo,
                            i * size + hi,
                            j * size + lo2,
                            j * size + hi2,
                        )
                    )
    return SceneIR("random", cells, portals, {})
