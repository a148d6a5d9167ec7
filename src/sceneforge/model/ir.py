"""The compiler's intermediate representation: resolved, unit-normalized, array-backed.

Ingest turns a description (or a tagged GLB) into a :class:`SceneIR`; geometry adds the
generated room surfaces; the optimize passes rewrite :class:`Surface` lists; visibility
reads cell boxes and portals; encode writes the result. Arrays follow glTF conventions:
right-handed, +Y up, metres, counter-clockwise front faces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "Cell",
    "InstanceGroup",
    "Material",
    "Portal",
    "Room",
    "SceneIR",
    "Surface",
    "Texture",
    "box_corners",
    "float32_inside",
    "rounded_boxes",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U32 = npt.NDArray[np.uint32]

#: The material generated rooms use when neither the room nor the scene names one.
DEFAULT_MATERIAL = "default"


@dataclass(frozen=True, slots=True)
class Texture:
    """An image used as a base-colour texture: the PNG bytes as uploaded, keyed by asset id."""

    asset_id: str
    png: bytes


@dataclass(frozen=True, slots=True)
class Material:
    material_id: str
    base_color: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)
    metallic: float = 0.0
    roughness: float = 0.9
    texture: Texture | None = None


@dataclass(frozen=True, slots=True)
class Surface:
    """Indexed triangles of one material.

    ``positions`` (n, 3) float32, ``normals`` (n, 3) float32 unit length,
    ``uvs`` (n, 2) float32 (world-scaled: 1 unit = 1 m for generated geometry),
    ``indices`` (m, 3) uint32, counter-clockwise seen from the side the normal points to.
    """

    material: str
    positions: F32
    normals: F32
    uvs: F32
    indices: U32

    @property
    def triangle_count(self) -> int:
        return int(self.indices.shape[0])

    @property
    def vertex_count(self) -> int:
        return int(self.positions.shape[0])


@dataclass(frozen=True, slots=True)
class Room:
    """A generated room: ``floor`` (k, 2) float64 outer outline in (x, z) whose shoelace sum
    Σ x_i·z_{i+1} − x_{i+1}·z_i is positive (ingest normalizes the winding), extruded from ``y`` to
    ``y + height``; walls, floor and ceiling grow inwards."""

    floor: F64
    y: float
    height: float
    wall_thickness: float
    material: str

    def plan(self) -> tuple[float, ...] | None:
        """The outer outline as (x0, z0, x1, z1, …), or ``None`` when it is an axis-aligned
        rectangle (the room's box says where it is; docs/meta.md, ``floor``)."""
        values: list[float] = self.floor.reshape(-1).tolist()
        if len(values) == 8 and len(set(values[0::2])) == 2 and len(set(values[1::2])) == 2:
            return None
        return tuple(values)


@dataclass(frozen=True, slots=True)
class Portal:
    """``quad`` (4, 3) float64, planar and convex; its normal (right-hand rule) points into ``to``.

    ``path`` and ``name`` say where the input wrote it, for messages: a tagged GLB's node (``/nodes/17``,
    the object's name); None for a description's ``/portals/<index>``."""

    index: int
    from_cell: str
    to_cell: str
    quad: F64
    one_way: bool = False
    path: str | None = None
    name: str | None = None

    @property
    def pointer(self) -> str:
        """Where a message about this portal points: its node in a tagged GLB, else ``/portals/<index>``."""
        return self.path if self.path is not None else f"/portals/{self.index}"

    @property
    def label(self) -> str:
        """How a message names it: ``portal hall->kitchen``, with the object's name from a tagged GLB."""
        ends = f"{self.from_cell}->{self.to_cell}"
        return f"portal {self.name!r} ({ends})" if self.name is not None else f"portal {ends}"

    @property
    def normal(self) -> F64:
        n = np.cross(self.quad[2] - self.quad[0], self.quad[3] - self.quad[1])
        return n / np.linalg.norm(n)  # type: ignore[no-any-return]

    @property
    def plane(self) -> tuple[float, float, float, float]:
        """(a, b, c, d) with a·x + b·y + c·z + d = 0 and (a, b, c) the unit normal into ``to``."""
        n = self.normal
        d = -float(n @ self.quad.mean(axis=0))
        return (float(n[0]), float(n[1]), float(n[2]), d)


@dataclass(frozen=True, slots=True)
class InstanceGroup:
    """One mesh drawn many times in a cell: ``transforms`` (k, 4, 4) float64, row-major."""

    cell_id: str
    mesh_key: str
    surfaces: tuple[Surface, ...]
    transforms: F64


@dataclass(slots=True)
class Cell:
    cell_id: str
    room: Room | None = None
    #: Placed asset geometry, already in world space. Generated room surfaces are appended by geometry.
    surfaces: list[Surface] = field(default_factory=list)
    instances: list[InstanceGroup] = field(default_factory=list)
    #: JSON pointer of the cell in the input, for messages.
    path: str = ""

    def aabb(self) -> F64:
        """(6,) float64 [minx, miny, minz, maxx, maxy, maxz] over the room, surfaces and instances."""
        lo = np.full(3, np.inf)
        hi = np.full(3, -np.inf)
        if self.room is not None:
            lo = np.minimum(lo, [self.room.floor[:, 0].min(), self.room.y, self.room.floor[:, 1].min()])
            hi = np.maximum(
                hi, [self.room.floor[:, 0].max(), self.room.y + self.room.height, self.room.floor[:, 1].max()]
            )
        for s in self.surfaces:
            if s.vertex_count:
                lo = np.minimum(lo, s.positions.min(axis=0))
                hi = np.maximum(hi, s.positions.max(axis=0))
        for g in self.instances:
            for s in g.surfaces:
                if not s.vertex_count:
                    continue
                corners = box_corners(s.positions.min(axis=0), s.positions.max(axis=0))
                world = np.einsum("kij,nj->kni", g.transforms[:, :3, :3], corners) + g.transforms[:, None, :3, 3]
                lo = np.minimum(lo, world.reshape(-1, 3).min(axis=0))
                hi = np.maximum(hi, world.reshape(-1, 3).max(axis=0))
        if not np.isfinite(lo).all():
            return np.zeros(6)
        room = None if self.room is None else np.array([*self._room_box()])
        box: F64 = rounded_boxes(np.concatenate([lo, hi])[None], None if room is None else room[None])[0]
        return box

    def _room_box(self) -> tuple[float, ...]:
        r = self.room
        assert r is not None
        (x0, z0), (x1, z1) = r.floor.min(axis=0), r.floor.max(axis=0)
        return (float(x0), r.y, float(z0), float(x1), r.y + r.height, float(z1))


#: Decimals of a cell box as written (GLB extras, meta): 1 µm.
BOX_DECIMALS = 6


def rounded_boxes(boxes: F64, rooms: F64 | None = None) -> F64:
    """Cell boxes (n, 6) as written: float32 noise of generated room geometry removed, 1 µm, no -0.0.

    ``rooms`` (n, 6), NaN rows for cells without a room, holds each room's exact (float64) box: a
    bound of the generated shell that lies outside it by no more than float32 rounding (the shell is
    stored as float32) is the room's own value. Every value is then rounded to ``BOX_DECIMALS``
    (``np.round``, so ``round(v, 6)`` of a result gives it back) and ``+ 0.0`` turns -0.0 into 0.0; an axis
    whose two rounded bounds hold no float32 between them (a flat cell off the float32 grid) is rounded
    outwards instead (down and up to the µm), so the vertices written as float32 stay inside it.
    """
    out = np.array(boxes, dtype=np.float64, copy=True)
    if rooms is not None:
        with np.errstate(invalid="ignore"):
            slack = np.abs(rooms) * 2.0**-23 + 1e-12
            lo_snap = (out[:, :3] < rooms[:, :3]) & (rooms[:, :3] - out[:, :3] <= slack[:, :3])
            hi_snap = (out[:, 3:] > rooms[:, 3:]) & (out[:, 3:] - rooms[:, 3:] <= slack[:, 3:])
        out[:, :3] = np.where(lo_snap, rooms[:, :3], out[:, :3])
        out[:, 3:] = np.where(hi_snap, rooms[:, 3:], out[:, 3:])
    rounded: F64 = np.round(out, BOX_DECIMALS) + 0.0
    # A bound moved in by the rounding (up to 0.5 µm) can leave no float32 between a box's two: a cell that
    # is one plane at y = 0.1 (no float32 is 0.1) has [0.1, 0.1], and its vertices, held inside their box as
    # float32, fell a step outside it. Such an axis is rounded outwards instead: it holds the float32 bounds.
    empty = _no_float32_between(rounded[:, :3], rounded[:, 3:])
    if empty.any():
        scale = 10.0**BOX_DECIMALS
        outer_lo = np.round(np.floor(out[:, :3] * scale) / scale, BOX_DECIMALS) + 0.0
        outer_hi = np.round(np.ceil(out[:, 3:] * scale) / scale, BOX_DECIMALS) + 0.0
        rounded[:, :3] = np.where(empty, outer_lo, rounded[:, :3])
        rounded[:, 3:] = np.where(empty, outer_hi, rounded[:, 3:])
    return rounded


def float32_inside(lo: F64, hi: F64) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The float32 bounds just inside [``lo``, ``hi``] (arrays of one shape): the least float32 not below ``lo``
    and the greatest not above ``hi``. A coordinate held between them as float32 lies within the bounds as
    written."""
    with np.errstate(over="ignore", invalid="ignore"):
        low, high = lo.astype(np.float32), hi.astype(np.float32)
        low = np.where(low < lo, np.nextafter(low, np.float32(np.inf)), low)
        high = np.where(high > hi, np.nextafter(high, np.float32(-np.inf)), high)
    return low, high


def _no_float32_between(lo: F64, hi: F64) -> npt.NDArray[np.bool_]:
    """Where no float32 lies in [lo, hi] (the least float32 not below ``lo`` is past the greatest not above ``hi``)."""
    low, high = float32_inside(lo, hi)
    empty: npt.NDArray[np.bool_] = low > high
    return empty


def box_corners(lo: npt.ArrayLike, hi: npt.ArrayLike) -> F64:
    """The (8, 3) corners of the box from ``lo`` to ``hi`` (3,)."""
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    bits = np.array([[(i >> k) & 1 for k in range(3)] for i in range(8)], dtype=bool)
    return np.where(bits, hi, lo)


@dataclass(slots=True)
class SceneIR:
    scene_id: str
    cells: list[Cell]
    portals: list[Portal]
    materials: dict[str, Material]
    props: dict[str, str] = field(default_factory=dict)

    def cell_index(self) -> dict[str, int]:
        return {c.cell_id: i for i, c in enumerate(self.cells)}
