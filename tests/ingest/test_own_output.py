"""The project's own GLB output builds again (tagged-GLB ingest): the same cells, portals and PVS.

Every output mode: plain, quantized, compressed (EXT_meshopt_compression decoded on the way in),
compressed with fallback, and instanced (EXT_mesh_gpu_instancing read back as instance groups).
Blender's import and re-export of these files is in ``test_blender.py``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.config import Limits
from sceneforge.encode.buffers import EXT_MESHOPT
from sceneforge.errors import LimitExceeded
from sceneforge.generate import turned
from sceneforge.ingest.tagged_glb import tagged_glb_to_ir
from tests.level_builders import poly, scene, z_door
from tests.support.glb_reader import read_glb

from .blender_fixture import pack_glb
from .test_blender import _apartment_with_instances, _build, _same_build, _same_floors

LEVELS = Path(__file__).resolve().parents[1] / "data" / "levels"

MODES = {
    "plain": BuildOptions(),
    "quantized": BuildOptions(quantize=True),
    "compressed": BuildOptions(quantize=True, compress=True),
    "compressed-float": BuildOptions(compress=True),
    "compressed-fallback": BuildOptions(quantize=True, compress=True, fallback=True),
    "no-instancing": BuildOptions(instancing=False),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_own_output_builds_again_the_same(mode: str) -> None:
    options = MODES[mode]
    first = _build(_apartment_with_instances(), options)
    again = compile_scene(first.glb, options)
    assert again.warnings == []
    assert again.scene_id == first.scene_id
    _same_build(first, again, aabb_atol=2e-3 if options.quantize else 1e-6)
    assert again.meta["stats"]["triangles"] == first.meta["stats"]["triangles"]
    if options.instancing:
        ir, _ = tagged_glb_to_ir(first.glb, Limits())
        assert sum(len(g.transforms) for c in ir.cells for g in c.instances) == 2


def test_own_output_of_rooms_locked_into_each_other_builds_again_without_a_warning() -> None:
    """Two L-shaped rooms tiling a rectangle, each one's arm in the other's notch (a polyomino plan): their boxes'
    centres are in line with the doorway where one's arm meets the other's wall, which was told as a doorway left
    lying flat or turned into its wall's line (``portal_not_between``) once rebuilt from the GLB; their plans hold
    the ground behind and in front of it, one each."""
    level = scene(
        "locked",
        [
            poly("a", [(0, 0), (6, 0), (6, 4), (2, 4), (2, 6), (0, 6)], t=0.2),
            poly("b", [(2, 4), (6, 4), (6, 0), (8, 0), (8, 6), (2, 6)], t=0.2),
        ],
        [z_door("a", "b", 4.0, 3.0, 4.0, 0.0, 2.1)],
    )
    first = compile_scene(json.dumps(level).encode())
    assert first.warnings == []
    for options in (BuildOptions(), BuildOptions(quantize=True, compress=True)):
        built = compile_scene(json.dumps(level).encode(), options)
        again = compile_scene(built.glb, options)
        assert again.warnings == []
        _same_build(built, again, aabb_atol=2e-3 if options.quantize else 1e-6)


def test_own_output_of_an_office_level_builds_again_the_same() -> None:
    first = compile_scene((LEVELS / "office-small.json").read_bytes())
    _same_build(first, compile_scene(first.glb), aabb_atol=1e-6)


@pytest.mark.parametrize("name", ["l-u-t", "hexagons", "turned-l-u-t", "far-l-u-t", "storeys", "many-sided"])
def test_own_output_keeps_each_room_s_outline(name: str) -> None:
    """Rebuilt from the GLB, every cell is a cell of meshes: its outline is its triangles' shadow, which is the
    room's floor polygon (to float32's precision), so a client still finds the camera in the right cell."""
    from tests.test_awkward_levels import LEVELS as AWKWARD
    from tests.test_awkward_levels import resolve

    first = compile_scene(json.dumps(AWKWARD[name]()).encode(), resolve_asset=resolve)
    again = compile_scene(first.glb)
    assert any("floor" in c for c in first.meta["visibility"]["cells"])
    reach = max(abs(v) for c in first.meta["visibility"]["cells"] for v in c["aabb"])
    _same_floors(first.meta["visibility"], again.meta["visibility"], atol=1e-6 + reach * 2.0**-22)
    floors = {row[0]: row[1:] for row in read_glb(again.glb).json["extras"]["sceneforgeIndex"].get("floors", [])}
    for k, cell in enumerate(again.meta["visibility"]["cells"]):  # the streaming index holds the same outlines
        assert floors.get(k) == (None if "floor" not in cell else [v for point in cell["floor"] for v in point])


@pytest.mark.parametrize("degrees", [0.0, 41.0])
def test_own_output_keeps_the_outline_of_rooms_with_floor_to_ceiling_doorways(degrees: float) -> None:
    """44 doorways in one wall, some cut from the floor slab's underside to the ceiling: the wall's passage has
    no face above it, so the triangles' shadow had a notch the wall's thickness deep at each (a camera standing
    in the doorway was in neither room, and box rooms gained an outline). Rebuilt, each room keeps its plan:
    none for the box rooms, the turned rectangle for the turned ones."""
    from sceneforge.generate import turned
    from tests.test_awkward_levels import LEVELS as AWKWARD

    level = AWKWARD["many-doors"]()
    first = compile_scene(json.dumps(turned(level, degrees) if degrees else level).encode())
    again = compile_scene(first.glb)
    assert again.warnings == []
    assert [("floor" in c) for c in again.meta["visibility"]["cells"]] == [bool(degrees)] * 2
    # Every corner of the room's outline is one of the rebuilt outline's (which may keep a point along a wall,
    # off its line by float32's rounding), and every point of the rebuilt outline lies on the room's.
    _same_floors(again.meta["visibility"], first.meta["visibility"], atol=1e-5)
    for cell, rebuilt in zip(first.meta["visibility"]["cells"], again.meta["visibility"]["cells"], strict=True):
        if "floor" in cell:
            ring, points = np.asarray(cell["floor"]), np.asarray(rebuilt["floor"])
            start, edge = ring, np.roll(ring, -1, axis=0) - ring
            t = np.clip(((points[:, None] - start) * edge).sum(2) / (edge * edge).sum(1), 0, 1)
            gap = np.linalg.norm(points[:, None] - (start + t[..., None] * edge), axis=2).min(axis=1)
            assert gap.max() < 1e-5, cell["cellId"]


def test_compressed_input_counts_its_decoded_size_against_the_upload_limit() -> None:
    glb = _build(_apartment_with_instances(), MODES["compressed"]).glb
    views = read_glb(glb).json["bufferViews"]
    decoded = sum(e["count"] * e["byteStride"] for v in views if (e := v.get("extensions", {}).get(EXT_MESHOPT)))
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(glb, Limits(max_upload_bytes=decoded - 1))
    assert err.value.limit == "SCENEFORGE_MAX_UPLOAD_BYTES" and err.value.value == decoded
    tagged_glb_to_ir(glb, Limits(max_upload_bytes=decoded))


def test_own_output_props_survive() -> None:
    description = json.loads(_apartment_with_instances())
    description["props"] = {"author": "ana"}
    first = _build(json.dumps(description).encode(), BuildOptions())
    ir, _ = tagged_glb_to_ir(first.glb, Limits())
    assert ir.props["author"] == "ana"


@pytest.mark.parametrize("name", ["mezzanine-l", "stairwell"])
def test_own_output_of_storeys_joined_by_floor_openings_alone_is_not_taken_for_a_z_up_export(name: str) -> None:
    """Storeys joined only by openings in their slabs (a mezzanine's void drawn past the walls of one arm, a stair
    well against a wall): a floor opening flush with a wall reads, along Z, like a doorway standing on a floor,
    and each voted Z-up (no doorway there to vote Y). Rebuilt from its own GLB, such a level said to re-export
    with +Y up a file that is +Y up; only doorways facing X vote (they stand in a wall whichever axis is up)."""
    from tests.levels_new_kinds import NEW_KINDS, box, hatch, scene

    if name == "stairwell":
        cells = [box(f"s{k}", (0, 3.0 * k, 0), (4, 3.0 * k + 3, 6)) for k in range(3)]
        portals = [hatch(f"s{k - 1}", f"s{k}", 3.0 * k, 0.0, 1.2, 0.0, 3.5) for k in range(1, 3)]
        level = scene("stairwell", cells, portals)
    else:
        level = NEW_KINDS[name]()
    first = compile_scene(json.dumps(level))
    assert first.warnings == []
    again = compile_scene(first.glb)
    assert again.warnings == []
    _same_build(first, again, aabb_atol=1e-6)


def test_own_output_keeps_the_passage_of_a_doorway_as_wide_as_its_wall() -> None:
    """Rooms joined end to end by doorways from corner to corner, floor to ceiling (a corridor of rooms): each
    wall's passage lies between the side walls' tops, with the outside past the quad's ends. Rebuilt, each room
    keeps its plan, the passage in it (its plan was notched there: a camera in the doorway was in no cell)."""
    from tests.level_builders import box, scene, x_door

    cells = [box(f"c{i}", (3 * i, 0, 0), (3 * i + 3, 3, 2.4)) for i in range(3)]
    portals = [x_door(f"c{i - 1}", f"c{i}", 3 * i, 0, 2.4, 0, 3) for i in range(1, 3)]
    first = compile_scene(json.dumps(scene("rooms-end-to-end", cells, portals)).encode())
    again = compile_scene(first.glb)
    assert ["floor" in c for c in again.meta["visibility"]["cells"]] == [False] * 3


ROWS_QUANTIZED = [(17.0, 2, True), (30.0, 3, True), (41.0, 5, True)]


@pytest.mark.parametrize(
    ("degrees", "rooms", "quantize"),
    [(17.0, 2, False), (30.0, 3, False), (41.0, 5, False), (30.0, 5, False), (17.0, 5, False), *ROWS_QUANTIZED],
)
def test_own_output_of_a_turned_row_keeps_every_passage_of_its_doorways_as_wide_as_their_walls(
    degrees: float, rooms: int, quantize: bool
) -> None:
    """Rooms joined end to end by doorways from corner to corner, floor to ceiling, turned off the axes: the side
    walls' outer faces run along the band swept from a doorway into its room, and float32's rounding of their
    corners left slivers between the two that joined the doorway's notch to the outside past the room, so the notch
    was not taken for a passage (a room at an end of the row, or between, lost it: a camera standing in the doorway
    was in no cell). Rebuilt, every room's plan is its turned rectangle again (every point of it on the room's
    outline: one along a wall may stay, off the line by float32's rounding), and a point halfway through each
    doorway's wall lies in the plan of the room whose wall it is. Quantized, the corners are off their lines by the
    grid's step (~0.2 mm here), and the slivers were as wide: every room but the first lost its passages."""
    from tests.level_builders import box, scene, x_door

    cells = [box(f"c{i}", (3 * i, 0, 0), (3 * i + 3, 3, 2.4)) for i in range(rooms)]
    portals = [x_door(f"c{i - 1}", f"c{i}", 3 * i, 0, 2.4, 0, 3) for i in range(1, rooms)]
    level = json.dumps(turned(scene("row", cells, portals), degrees)).encode()
    first = compile_scene(level, MODES["quantized" if quantize else "plain"])
    again = compile_scene(first.glb)
    atol = 5e-4 if quantize else 1e-5  # a grid step of 16 bits over the row's extent, or float32's
    _same_floors(again.meta["visibility"], first.meta["visibility"], atol=atol)
    rooms_floors = {c["cellId"]: np.asarray(c["floor"], np.float64) for c in first.meta["visibility"]["cells"]}
    plans = {c["cellId"]: np.asarray(c["floor"], np.float64) for c in again.meta["visibility"]["cells"]}
    for cell_id, ring in rooms_floors.items():
        start, edge = ring, np.roll(ring, -1, axis=0) - ring
        points = plans[cell_id]
        t = np.clip(((points[:, None] - start) * edge).sum(2) / (edge * edge).sum(1), 0, 1)
        assert np.linalg.norm(points[:, None] - (start + t[..., None] * edge), axis=2).min(axis=1).max() < atol
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    half = 0.05  # halfway through the walls (0.1 m thick, inside each room's outline)
    for i in range(1, rooms):
        for x, cell_id in ((3 * i - half, f"c{i - 1}"), (3 * i + half, f"c{i}")):
            for z in (0.4, 1.2, 2.0):
                assert _inside(plans[cell_id], (x * c - z * s, x * s + z * c)), (cell_id, z)


def _inside(ring: np.ndarray, point: tuple[float, float]) -> bool:
    """Whether ``point`` lies inside the polygon ``ring`` ((n, 2) x, z; even-odd)."""
    x, z = point
    inside = False
    for (x0, z0), (x1, z1) in zip(ring, np.roll(ring, -1, axis=0), strict=True):
        if (z0 > z) != (z1 > z) and x < x0 + (z - z0) * (x1 - x0) / (z1 - z0):
            inside = not inside
    return inside


@pytest.mark.parametrize("degrees", [17.3, 61.7])
def test_own_output_of_a_turned_plan_written_to_millimetres_keeps_its_pvs(degrees: float) -> None:
    """A corridor with six rooms along one wall, turned and written to millimetres: each doorway's quad leans
    off the wall by its corners' rounding. Built again from its GLB (cells of meshes, no rooms), each doorway
    still takes its wall's plane, now from the cell's plan outline, so the rooms along the wall do not see each
    other (they did: 19 pairs became 36)."""
    from sceneforge.generate import turned
    from tests.level_builders import box, scene, x_door
    from tests.levels_new_kinds import to_mm

    cells = [box("cor", (0, 0, 0), (1.8, 3, 30))] + [box(f"r{i}", (1.8, 0, 5 * i), (6, 3, 5 * i + 5)) for i in range(6)]
    portals = [x_door("cor", f"r{i}", 1.8, 5 * i + 1, 5 * i + 2, 0.1, 2.1) for i in range(6)]
    level = to_mm(turned(scene("closets-along-a-wall", cells, portals), degrees))
    first = compile_scene(json.dumps(level).encode())
    assert {c["cellId"]: len(c["pvs"]) for c in first.meta["visibility"]["cells"]}["r0"] == 2  # itself, the corridor
    again = compile_scene(first.glb)
    _same_build(first, again, aabb_atol=1e-5)  # float32 positions ~30 m out: 2 µm steps


def _lying_on_its_side(glb: bytes) -> bytes:
    """``glb`` with its scene turned 90° about X under a new root (y → z): as an exporter without +Y up writes it."""
    n = struct.unpack_from("<I", glb, 12)[0]
    gltf, rest = json.loads(glb[20 : 20 + n]), glb[20 + n :]
    scene = gltf["scenes"][gltf.get("scene", 0)]
    gltf["nodes"].append({"name": "ZUp", "rotation": [0.5**0.5, 0.0, 0.0, 0.5**0.5], "children": scene["nodes"]})
    scene["nodes"] = [len(gltf["nodes"]) - 1]
    return pack_glb(gltf, rest[8:] if rest else b"")


def _rooms_opened_wall_to_wall(layout: str, height: float) -> dict:
    """A row of 3 rooms or a grid of 3 × 3, 3 m across and ``height`` tall, joined by doorways as wide as their walls
    and from floor to ceiling."""
    from tests.level_builders import box, scene, x_door, z_door

    if layout == "row":
        cells = [box(f"c{i}", (3 * i, 0, 0), (3 * i + 3, height, 2.4)) for i in range(3)]
        portals = [x_door(f"c{i - 1}", f"c{i}", 3 * i, 0, 2.4, 0, height) for i in range(1, 3)]
        return scene("row", cells, portals)
    cells = [box(f"c{i}{j}", (3 * i, 0, 3 * j), (3 * i + 3, height, 3 * j + 3)) for i in range(3) for j in range(3)]
    portals = [x_door(f"c{i - 1}{j}", f"c{i}{j}", 3 * i, 3 * j, 3 * j + 3, 0, height) for i in (1, 2) for j in range(3)]
    portals += [
        z_door(f"c{i}{j - 1}", f"c{i}{j}", 3 * j, 3 * i, 3 * i + 3, 0, height) for i in range(3) for j in (1, 2)
    ]
    return scene("grid", cells, portals)


@pytest.mark.parametrize(
    ("layout", "degrees", "height"),
    [
        *[("row", 5.0, 3.0), ("row", 17.0, 3.0), ("row", 30.0, 8.0), ("row", 41.0, 1.2), ("row", 60.0, 3.0)],
        *[("grid", 17.0, 3.0), ("grid", 30.0, 6.0), ("grid", 60.0, 3.0)],
    ],
)
def test_own_output_of_turned_rooms_opened_wall_to_wall_is_not_taken_for_a_z_up_export(
    layout: str, degrees: float, height: float
) -> None:
    """Rooms joined by doorways as wide as their walls and from floor to ceiling, turned off the axes: along Y such a
    doorway stands on no floor (its top is the ceiling), and along Z, measured against its turned room's box, it
    did: rebuilt from its own +Y-up GLB the level was told to re-export with +Y up. The rooms' floors and ceilings
    face Y, and along Z their boxes end at corners of turned walls: not Z-up. The same file lying on its side (Y
    and Z swapped, as an exporter without +Y up writes it) is told, where nothing was (its doorways stand on no
    floor either way)."""
    first = compile_scene(json.dumps(turned(_rooms_opened_wall_to_wall(layout, height), degrees)).encode())
    assert compile_scene(first.glb).warnings == []
    assert [(w.code, w.severity) for w in compile_scene(_lying_on_its_side(first.glb)).warnings] == [
        ("z_up", "warning")
    ]


@pytest.mark.parametrize(("height", "door_height", "door_width"), [(3.0, 3.0, 1.5), (10.0, 2.5, 2.0)])
def test_own_output_with_a_doorway_in_a_corner_is_not_taken_for_a_z_up_export(
    height: float, door_height: float, door_width: float
) -> None:
    """Two rooms 4 m deep joined by a doorway at one end of their wall: from floor to ceiling (it stands on no floor
    along Y), or in a 10 m tall hall (a quarter of its height: too short a share to stand along Y). Along Z it meets
    the side wall as it meets the floor along Y, and stood there: the level was told to re-export with +Y up. A
    doorway whose bottom meets its room's bottom along both axes stands in a corner in either reading: no vote."""
    from tests.level_builders import box, scene, x_door

    cells = [box("a", (0, 0, 0), (4, height, 4)), box("b", (4, 0, 0), (8, height, 4))]
    level = scene("corner", cells, [x_door("a", "b", 4, 0, door_width, 0, door_height)])
    first = compile_scene(json.dumps(level).encode())
    assert compile_scene(first.glb).warnings == []


@pytest.mark.parametrize("name", ["wall-ends", "open-grid", "corridor", "raked-theatre", "castle"])
def test_own_output_of_awkward_levels_turned_off_the_axes_says_which_way_up_it_stands(name: str) -> None:
    """Awkward levels turned 23° off the axes (walls ending in open space, a grid of rooms open to each other, a
    corridor of doorways, a raked theatre, a castle) rebuilt from their own +Y-up GLB: not told to re-export with +Y
    up (three were); lying on their side, told (none was: their doorways did not stand along Z, or stood in corners)."""
    from tests.levels_new_kinds import NEW_KINDS
    from tests.test_awkward_levels import LEVELS as AWKWARD
    from tests.test_awkward_levels import resolve

    level = (AWKWARD | NEW_KINDS)[name]()
    first = compile_scene(json.dumps(turned(level, 23.0)).encode(), resolve_asset=resolve)
    assert compile_scene(first.glb).warnings == []
    assert [w.code for w in compile_scene(_lying_on_its_side(first.glb)).warnings] == ["z_up"]
