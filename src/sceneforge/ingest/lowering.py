"""Lower a validated scene description to the compiler's IR: :func:`description_to_ir`.

Resolves the ``auto`` room layout, box and floor rooms to outlines (all of a kind at once), ``between``/
``door`` portals to quads (:mod:`sceneforge.geometry.doors`), materials and their PNG textures, and
``asset:`` meshes and instances through the caller's resolver (each asset decoded once). Every asset that
cannot be used is reported where it is named, all at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..config import Limits
from ..errors import AssetError, Issue, SceneInvalid
from ..model.description import (
    ASSET_PREFIX,
    AUTO_MESH,
    MAX_COORDINATE,
    DoorSpec,
    MaterialSpec,
    RoomSpec,
    SceneDescription,
    past_extent,
)
from ..model.ir import DEFAULT_MATERIAL, Cell, InstanceGroup, Material, Portal, Room, SceneIR, Surface, Texture
from ..wire import json_pointer
from .surfaces import non_affine, not_affine_message

__all__ = ["AUTO_ROOM_SPACING", "description_to_ir", "positive_outline", "room_from_spec"]

#: docs/scene-format.md ("Rooms"): the i-th cell whose room is ``auto`` is a 4×3×4 m box centred at x = 4.5·i.
AUTO_ROOM_SPACING = 4.5
AUTO_ROOM_SIZE = (4.0, 3.0, 4.0)
AUTO_WALL_THICKNESS = 0.1


def _box_outline(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> np.ndarray:
    """The box's (x, z) rectangle as :func:`positive_outline` orders it, without its shoelace sum (one
    call per room): the cycle (lo, lo) → (hi, lo) → (hi, hi) → (lo, hi) has the sum 2·(hi_x − lo_x)·(hi_z − lo_z)."""
    dx, dz = hi[0] - lo[0], hi[2] - lo[2]
    # Signs compared, not the product: that underflows to 0 for sizes near 1e-200 (either sign).
    if (dx >= 0) == (dz >= 0) or dx == 0 or dz == 0:
        return np.array([[hi[0], lo[2]], [hi[0], hi[2]], [lo[0], hi[2]], [lo[0], lo[2]]], dtype=np.float64)
    return np.array([[lo[0], lo[2]], [lo[0], hi[2]], [hi[0], hi[2]], [hi[0], lo[2]]], dtype=np.float64)


def positive_outline(points: np.ndarray) -> np.ndarray:
    """Return ``points`` (k, 2) ordered so that the shoelace sum Σ x_i z_{i+1} − x_{i+1} z_i is positive."""
    # Relative to the first point: far from the origin the products of absolute coordinates cancel
    # (a 1 mm room at 8e5 m summed to the wrong sign); differences of nearby coordinates are exact.
    x, z = points[:, 0] - points[0, 0], points[:, 1] - points[0, 1]
    if points.shape[0] <= 8:  # plain floats: numpy's per-call overhead dominates small outlines (boxes)
        xs, zs = x.tolist(), z.tolist()
        area2 = sum(xs[i - 1] * zs[i] - xs[i] * zs[i - 1] for i in range(len(xs)))
    else:
        area2 = float(np.dot(x, np.roll(z, -1)) - np.dot(np.roll(x, -1), z))
    return points if area2 > 0 else points[::-1].copy()


def _box_outlines(specs: list[RoomSpec]) -> np.ndarray:
    """:func:`_box_outline` of every box room of ``specs`` at once: (n, 4, 2), the same numbers."""
    if not specs:
        return np.zeros((0, 4, 2))
    lo = np.array([spec.min for spec in specs], np.float64).reshape(-1, 3)
    hi = np.array([spec.max for spec in specs], np.float64).reshape(-1, 3)
    dx, dz = hi[:, 0] - lo[:, 0], hi[:, 2] - lo[:, 2]
    positive = ((dx >= 0) == (dz >= 0)) | (dx == 0) | (dz == 0)
    first = np.where(positive, hi[:, 0], lo[:, 0])
    second = np.where(positive, lo[:, 0], hi[:, 0])
    xs = np.stack([first, first, second, second], axis=1)
    zs = np.stack([lo[:, 2], hi[:, 2], hi[:, 2], lo[:, 2]], axis=1)
    return np.stack([xs, zs], axis=2)


def _floor_outlines(specs: list[RoomSpec]) -> list[np.ndarray]:
    """Every floor room's outline as :func:`room_from_spec` makes it (its points without those that
    carry no wall, edges a hair off the axes put on them, counter-clockwise), the simplifying rounds
    of all of them in one pass."""
    from ..geometry.outline import outlines_keep, outlines_on_axes

    floors = [np.asarray(spec.floor, dtype=np.float64) for spec in specs]
    if not floors:
        return []
    counts = np.array([f.shape[0] for f in floors], dtype=np.int64)
    points = np.concatenate(floors)
    keep = outlines_keep(points, counts)
    kept_counts = np.add.reduceat(keep.astype(np.int64), np.cumsum(counts) - counts)
    kept = outlines_on_axes(points[keep], kept_counts)
    return [positive_outline(f) for f in np.split(kept, np.cumsum(kept_counts)[:-1])]


def room_from_spec(spec: RoomSpec, default_material: str, outline: np.ndarray | None = None) -> Room:
    """The room of ``spec``; ``outline``: its outline (:func:`_box_outline` of a box room, a floor
    room's from :func:`_floor_outlines`), when already computed."""
    material = spec.material or default_material
    if spec.floor is not None:
        if outline is None:
            outline = _floor_outlines([spec])[0]
        return Room(outline, float(spec.y), float(spec.height), float(spec.wall_thickness), material)
    assert spec.min is not None and spec.max is not None
    return Room(
        _box_outline(spec.min, spec.max) if outline is None else outline,
        float(spec.min[1]),
        float(spec.max[1] - spec.min[1]),
        float(spec.wall_thickness),
        material,
    )


def _auto_room(i: int) -> Room:
    sx, sy, sz = AUTO_ROOM_SIZE
    cx = AUTO_ROOM_SPACING * i
    lo, hi = (cx - sx / 2, 0.0, -sz / 2), (cx + sx / 2, sy, sz / 2)
    return Room(_box_outline(lo, hi), 0.0, sy, AUTO_WALL_THICKNESS, DEFAULT_MATERIAL)


def _material(
    material_id: str, spec: MaterialSpec, resolve: Callable[[str], bytes], textures: dict[str, bytes | Issue]
) -> Material:
    """``spec`` as a :class:`Material`; its texture read through ``textures`` (asset id → PNG bytes, or the issue
    that refused it: each texture is resolved and checked once, however many materials show it)."""
    texture = None
    if spec.base_color_texture is not None:
        asset_id = spec.base_color_texture.removeprefix(ASSET_PREFIX)
        path = f"/materials/{json_pointer([material_id]).lstrip('/')}/baseColorTexture"
        if asset_id not in textures:
            try:
                textures[asset_id] = _texture_png(resolve, asset_id, path)
            except AssetError as exc:
                textures[asset_id] = exc.issues[0]
                raise
        png = textures[asset_id]
        if isinstance(png, Issue):
            raise AssetError(path, png.message, code=png.code)
        texture = Texture(asset_id, png)
    return Material(material_id, spec.rgba(), float(spec.metallic), float(spec.roughness), texture)


def _texture_png(resolve: Callable[[str], bytes], asset_id: str, path: str) -> bytes:
    """The PNG ``asset_id`` names, read whole (every chunk and CRC, its size within the decompression-bomb bound):
    a PNG cut short or damaged was written into the GLB as it came, for every viewer to fail on."""
    from .assets import sniff_asset
    from .png_check import check_png

    png = _resolve(resolve, asset_id, path)
    if sniff_asset(png) != "png":
        raise AssetError(path, f"texture asset {asset_id!r} is not a PNG image", code="asset_type")
    check_png(png, path)
    return png


def _resolve(resolve: Callable[[str], bytes], asset_id: str, path: str) -> bytes:
    try:
        return resolve(asset_id)
    except AssetError as exc:
        # Re-anchor the resolver's message at the place in the description that asked for the asset; a limit it
        # says was passed (a file over the upload limit) stays one, and so does a path it may not read (the CLI's:
        # one leaving the description's folder), anything else it could not give is not found.
        kept = exc.issues[0].code if exc.issues else ""
        code = kept if kept in {"limit_exceeded", "asset_outside_folder"} else "asset_not_found"
        raise AssetError(path, exc.issues[0].message if exc.issues else str(exc), code=code) from None


def _retarget(surfaces: list[Surface], material: str | None) -> list[Surface]:
    if material is None:
        return surfaces
    return [Surface(material, s.positions, s.normals, s.uvs, s.indices) for s in surfaces]


def description_to_ir(desc: SceneDescription, resolve_asset: Callable[[str], bytes], limits: Limits) -> SceneIR:
    """Lower a validated description to the IR. Raises :class:`SceneInvalid` / :class:`AssetError`."""
    from ..geometry.doors import place_doors
    from ..validate import instance_extent

    # Every asset that cannot be used is reported, each where it is named (all errors at once); an
    # asset is resolved and read once, its failure repeated at every later place that names it.
    asset_issues: list[Issue] = []
    materials = {DEFAULT_MATERIAL: Material(DEFAULT_MATERIAL)}
    textures: dict[str, bytes | Issue] = {}
    for material_id, spec in sorted(desc.materials.items()):
        try:
            materials[material_id] = _material(material_id, spec, resolve_asset, textures)
        except AssetError as exc:
            asset_issues.extend(exc.issues)

    asset_cache: dict[str, list[Surface]] = {}
    asset_failed: dict[str, Issue] = {}

    def asset_surfaces(mesh_id: str, path: str) -> list[Surface]:
        asset_id = mesh_id.removeprefix(ASSET_PREFIX)
        if asset_id in asset_failed:
            failed = asset_failed[asset_id]
            raise AssetError(path, failed.message, code=failed.code)
        try:
            return _asset_surfaces(asset_id, path)
        except AssetError as exc:
            asset_failed[asset_id] = exc.issues[0]
            raise

    def _asset_surfaces(asset_id: str, path: str) -> list[Surface]:
        from .assets import GlbBounds, load_mesh_asset

        if asset_id not in asset_cache:
            data = _resolve(resolve_asset, asset_id, path)
            loaded = load_mesh_asset(
                data,
                path=path,
                default_material=DEFAULT_MATERIAL,
                max_triangles=limits.max_triangles,
                max_bytes=limits.max_upload_bytes,
                bounds=GlbBounds.of(limits),
                max_materials=limits.max_materials,
            )
            reach = max((float(np.abs(s.positions).max(initial=0.0)) for s in loaded), default=0.0)
            if reach > MAX_COORDINATE:
                message = (
                    f"asset {asset_id!r} reaches {past_extent(reach)} m from its origin, beyond ±{MAX_COORDINATE:g} m"
                )
                raise AssetError(path, message, code="asset_out_of_range")
            asset_cache[asset_id] = loaded
        return asset_cache[asset_id]

    cells: list[Cell] = []
    auto_index = 0
    # Every box room's outline from one batch (views of one array), in cell order.
    boxes = [c.room for c in desc.cells if c.room is not None and c.room.floor is None]
    outlines = iter(_box_outlines(boxes))
    # And every floor room's, simplified together.
    floor_outlines = iter(_floor_outlines([c.room for c in desc.cells if c.room is not None and c.room.floor]))
    for i, cell_spec in enumerate(desc.cells):
        cell = Cell(cell_spec.cell_id, path=f"/cells/{i}")
        if cell_spec.room is not None:
            outline = next(outlines) if cell_spec.room.floor is None else next(floor_outlines)
            cell.room = room_from_spec(cell_spec.room, DEFAULT_MATERIAL, outline)
        for j, mesh in enumerate(cell_spec.meshes):
            if mesh.mesh_id == AUTO_MESH:
                if cell.room is None:
                    cell.room = _auto_room(auto_index)
                    auto_index += 1
                continue
            try:
                surfaces = asset_surfaces(mesh.mesh_id, f"/cells/{i}/meshes/{j}/meshId")
                if mesh.transform is not None:
                    from .assets import transform_surfaces  # loaded with the first asset, above

                    surfaces = transform_surfaces(surfaces, mesh.transform, path=f"/cells/{i}/meshes/{j}/transform")
            except AssetError as exc:
                asset_issues.extend(exc.issues)
                continue
            cell.surfaces.extend(_retarget(surfaces, mesh.material_id))
        cells.append(cell)

    by_id = {c.cell_id: c for c in cells}
    for k, inst in enumerate(desc.instances):
        try:
            surfaces = _retarget(asset_surfaces(inst.mesh_id, f"/instances/{k}/meshId"), inst.material_id)
        except AssetError as exc:
            asset_issues.extend(exc.issues)
            continue
        given = np.asarray(inst.transforms, dtype=np.float64).reshape(-1, 16)
        projective = non_affine(given)
        if projective.size:
            j = int(projective[0])
            raise AssetError(f"/instances/{k}/transforms/{j}", not_affine_message(given[j]), code="transform_invalid")
        transforms = given.reshape(-1, 4, 4).transpose(0, 2, 1)
        reach = instance_extent(surfaces, transforms)
        if not (reach <= MAX_COORDINATE).all():
            j = int(np.argmax(~(reach <= MAX_COORDINATE)))
            raise AssetError(
                f"/instances/{k}/transforms/{j}",
                f"the transform places the asset {past_extent(float(reach[j]))} m from the origin,"
                f" beyond ±{MAX_COORDINATE:g} m",
                code="transform_invalid",
            )
        key = f"{inst.mesh_id}#{inst.material_id or ''}"
        by_id[inst.cell_id].instances.append(InstanceGroup(inst.cell_id, key, tuple(surfaces), transforms))
    if asset_issues:
        raise SceneInvalid(asset_issues)

    # Every door between two rooms placed in one vectorized call.
    doors = [
        (k, by_id[p.between[0]].room, by_id[p.between[1]].room, p.door or DoorSpec())
        for k, p in enumerate(desc.portals)
        if p.between is not None
    ]
    placeable = [(k, a, b, d) for k, a, b, d in doors if a is not None and b is not None]
    placed = place_doors(
        [a for _, a, _, _ in placeable],
        [b for _, _, b, _ in placeable],
        [d.width for *_, d in placeable],
        [d.height for *_, d in placeable],
        [d.offset for *_, d in placeable],
    )
    door_quads = {k: quad for (k, *_), quad in zip(placeable, placed, strict=True)}
    portals: list[Portal] = []
    door_issues: list[Issue] = []
    # Every explicit quad from one conversion: (4, 3) views of one array, in portal order.
    written = [p.quad for p in desc.portals if p.between is None]
    quads = iter(np.array(written, dtype=np.float64).reshape(-1, 4, 3) if written else ())
    misplaced: list[tuple[str, str, Room, Room, DoorSpec]] = []  # cells, rooms, door of each unplaced door
    for k, p in enumerate(desc.portals):
        if p.between is not None:
            a, b = by_id[p.between[0]], by_id[p.between[1]]
            door = p.door or DoorSpec()
            if a.room is None or b.room is None:
                door_issues.append(
                    Issue(
                        f"/portals/{k}/between",
                        "door_needs_rooms",
                        "a door portal joins two cells that both have rooms",
                    )
                )
                continue
            quad = door_quads[k]
            if quad is None:
                misplaced.append((a.cell_id, b.cell_id, a.room, b.room, door))
                door_issues.append(Issue(f"/portals/{k}/between", "no_shared_wall", ""))
                continue
        else:
            quad = next(quads)
        portals.append(Portal(k, p.source, p.target, quad, p.one_way))
    messages = iter(_misplaced_doors(misplaced))
    door_issues = [Issue(i.path, i.code, next(messages)) if i.code == "no_shared_wall" else i for i in door_issues]
    if door_issues:
        raise SceneInvalid(door_issues)

    return SceneIR(desc.scene_id, cells, portals, materials, dict(sorted(desc.props.items())))


#: How far apart (m) two rooms' facing walls may lie for the message of a door that found no shared wall to say so
#: (they were meant to be one wall): 5 cm.
_NEAR_WALL = 0.05


def _misplaced_doors(doors: list[tuple[str, str, Room, Room, DoorSpec]]) -> list[str]:
    """Why each ``between`` door (cells, rooms, door) could not be placed: no shared wall with room for
    its width, or room at the wall's middle but not at its ``offset`` (saying how far it may go), or rooms
    whose open heights (floor top to ceiling underside) leave no room for its height, saying which heights;
    or both. The wall is tested again for all of them at once, with
    the second room standing at the first's height."""
    from dataclasses import replace

    from ..geometry.doors import facing_wall_gaps, place_doors
    from ..tolerances import CONTACT_EPS, ON_WALL_EPS

    firsts = [ra for _, _, ra, _, _ in doors]
    level = [replace(rb, y=ra.y, height=ra.height, wall_thickness=ra.wall_thickness) for _, _, ra, rb, _ in doors]
    widths, floors = [d.width for *_, d in doors], [0.0] * len(doors)
    walls = place_doors(firsts, level, widths, floors, [d.offset for *_, d in doors])
    # And centred (offset 0): a door that fits there is refused for its offset; the largest offset that way
    # that fits is found by bisection, to half a millimetre (about 12 rounds for offsets of metres).
    lo, hi = np.zeros(len(doors)), np.array([d.offset for *_, d in doors], dtype=np.float64)
    centred = place_doors(firsts, level, widths, floors, floors)
    search = np.array([middle is not None for middle in centred], dtype=bool) & (hi != 0.0)
    while search.any() and (np.abs(hi - lo)[search] > 5e-4).any():
        mid = np.where(search, (lo + hi) / 2.0, 0.0)
        fits = np.array([q is not None for q in place_doors(firsts, level, widths, floors, mid.tolist())], bool)
        lo, hi = np.where(search & fits, mid, lo), np.where(search & ~fits, mid, hi)
    # Walls that face each other but lie farther apart than a shared wall's sides may (a plan turned and written to
    # centimetres): the message says how far.
    gaps = facing_wall_gaps(firsts, level, widths, _NEAR_WALL)
    out = []
    for (a, b, ra, rb, door), wall, middle, most, gap in zip(doors, walls, centred, lo.tolist(), gaps, strict=True):
        spans = [(r.y + r.wall_thickness, r.y + r.height - r.wall_thickness) for r in (ra, rb)]
        bottom, ceiling = max(lo for lo, _ in spans), min(hi for _, hi in spans)
        size = f"{door.width:g} × {door.height:g} m door"
        if bottom + door.height <= ceiling + CONTACT_EPS:  # place_doors' test: the heights leave room
            if door.offset != 0.0 and middle is not None:
                out.append(
                    f"cells {a!r} and {b!r} share a wall with room for a {size} at its middle, but its offset"
                    f" {door.offset:g} m moves it past the end of the stretch the rooms share: it fits up to an"
                    f" offset of {math.trunc(most * 1e3) / 1e3:g} m"
                )
            elif gap is not None:
                out.append(
                    f"cells {a!r} and {b!r} share no wall with room for a {size}: their walls facing each other lie"
                    f" up to {gap * 1e3:.1f} mm apart, and a shared wall's two sides may lie at most"
                    f" {ON_WALL_EPS * 1e3:g} mm apart (a plan turned and written to centimetres moves its walls that"
                    " far: write its coordinates to millimetres or finer)"
                )
            else:
                out.append(f"cells {a!r} and {b!r} share no wall with room for a {size}")
            continue
        heights = (
            f"{a!r} is open from y = {spans[0][0]:g} to {spans[0][1]:g} m and {b!r} from y = {spans[1][0]:g}"
            f" to {spans[1][1]:g} m (floor top to ceiling underside), "
            + ("which do not overlap" if ceiling <= bottom else f"which overlap by only {ceiling - bottom:g} m")
        )
        if wall is not None:
            out.append(f"cells {a!r} and {b!r} share a wall, but their heights leave no room for a {size}: {heights}")
        else:
            out.append(f"cells {a!r} and {b!r} share no wall with room for a {size}, nor do their heights: {heights}")
    return out
