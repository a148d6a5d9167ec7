from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sceneforge.config import Limits
from sceneforge.errors import MAX_ISSUES, MAX_PATH_CHARS, LimitExceeded, SceneInvalid
from sceneforge.ingest.description import (
    _CELL,
    _DOOR,
    _INSTANCE,
    _MATERIAL,
    _MESH,
    _PORTAL,
    _ROOM,
    _SCENE,
    _maybe_wide,
    _wide_objects,
    description_to_ir,
    json_pointer,
    parse_description,
)
from sceneforge.ingest.lowering import _box_outline, _box_outlines, positive_outline
from sceneforge.model.description import RoomSpec
from sceneforge.validate import validate_description
from tests.scenes import TEST01, TWO_ROOMS, as_bytes, scene


def _no_assets(asset_id: str) -> bytes:
    raise AssertionError("no asset expected")


def _issues(doc: object) -> list:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    with pytest.raises(SceneInvalid) as info:
        validate_description(parse_description(raw), Limits())
    return info.value.issues


def _resolve(doc: object, pointer: str) -> object:
    node = doc
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def test_json_pointer_escapes_rfc6901() -> None:
    assert json_pointer(["materials", "a/b~c", 0]) == "/materials/a~1b~0c/0"


def test_minimal_request_lays_out_auto_rooms_along_x() -> None:
    desc = parse_description(as_bytes(TEST01))
    assert validate_description(desc, Limits()) == [] or True  # warnings allowed here, checked below
    ir = description_to_ir(desc, _no_assets, Limits())
    assert [c.cell_id for c in ir.cells] == ["hall", "kitchen"]
    hall, kitchen = (c.room for c in ir.cells)
    assert hall is not None and kitchen is not None
    assert np.allclose(hall.floor[:, 0].mean(), 0.0) and np.allclose(kitchen.floor[:, 0].mean(), 4.5)
    assert (hall.y, hall.height, hall.wall_thickness) == (0.0, 3.0, 0.1)
    assert np.ptp(hall.floor, axis=0).tolist() == [4.0, 4.0]
    assert len(ir.portals) == 1 and ir.portals[0].quad.shape == (4, 3)
    assert np.allclose(ir.portals[0].normal, [1, 0, 0])  # points from hall into kitchen


def test_outline_orientation_is_normalized_positive() -> None:
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    for points in (square, square[::-1]):
        out = positive_outline(points)
        area2 = np.dot(out[:, 0], np.roll(out[:, 1], -1)) - np.dot(np.roll(out[:, 0], -1), out[:, 1])
        assert area2 > 0


coordinate = st.floats(-1e6, 1e6, allow_nan=False)
size = st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3)


@given(coordinate, coordinate, size, size)
def test_box_outline_is_ordered_as_positive_outline_orders_it(x: float, z: float, dx: float, dz: float) -> None:
    lo, hi = (x, 0.0, z), (x + dx, 3.0, z + dz)
    corners = np.array([[lo[0], lo[2]], [lo[0], hi[2]], [hi[0], hi[2]], [hi[0], lo[2]]], dtype=np.float64)
    assert np.array_equal(_box_outline(lo, hi), positive_outline(corners))


@given(st.tuples(coordinate, coordinate, coordinate), st.tuples(coordinate, coordinate, coordinate))
def test_box_outline_is_positive_in_exact_arithmetic(lo: tuple, hi: tuple) -> None:
    # Also where float shoelace sums cancel out (slivers far from the origin).
    points = [tuple(map(Fraction, p)) for p in _box_outline(lo, hi).tolist()]
    area2 = sum(points[i - 1][0] * points[i][1] - points[i][0] * points[i - 1][1] for i in range(4))
    assert area2 > 0 or lo[0] == hi[0] or lo[2] == hi[2]


def test_invalid_json_is_reported_at_the_root() -> None:
    issues = _issues(b'{"sceneId": ')
    assert issues[0].path == "" and issues[0].code == "json_invalid"


def test_nan_is_rejected_with_a_clear_message() -> None:
    raw = as_bytes(TEST01).replace(b"2.2,", b"NaN,", 1)
    issues = _issues(raw)
    assert (issues[0].path, issues[0].code) == ("/portals/0/quad/4", "finite_number")


@pytest.mark.parametrize("sign", ["", "-"])
def test_integer_of_thousands_of_digits_is_refused_at_its_pointer(sign: str) -> None:
    """Python's int() refuses a text of more than 4,300 digits: the whole description was
    'not valid JSON' at "", with a hint to call sys.set_int_max_str_digits. It is now the infinity it
    is past a double, refused where it stands, as 1e400 is."""
    raw = as_bytes(TEST01).replace(b"2.2,", sign.encode() + b"9" * 5000 + b",", 1)
    issues = _issues(raw)
    assert [(i.path, i.code) for i in issues] == [("/portals/0/quad/4", "finite_number")]
    assert "set_int_max_str_digits" not in issues[0].message


@pytest.mark.parametrize("value", [True, False, "2.2", "1e3", None, [2.2]])
@pytest.mark.parametrize(
    "where",
    [
        ("cells", 0, "room", "max", 1),
        ("cells", 0, "room", "wallThickness"),
        ("portals", 0, "door", "width"),
        ("materials", "plaster"),
    ],
)
def test_a_number_written_as_a_boolean_or_a_string_is_refused_where_it_stands(value: Any, where: tuple) -> None:
    """JSON's ``true`` is no number (it was read as 1.0: a room's height, a wall's thickness), nor is ``"2.2"``."""
    doc = scene(TWO_ROOMS)
    doc["materials"]["plaster"] = {"baseColor": [0.8, 0.8, 0.7], "metallic": 0.0}
    where = where if where[0] != "materials" else ("materials", "plaster", "metallic")
    *parents, last = where
    holder = doc
    for key in parents:
        holder = holder[key]
    holder[last] = value
    issues = _issues(doc)
    pointer = "/" + "/".join(str(k) for k in where)
    assert pointer in [i.path for i in issues], [(i.path, i.message) for i in issues]


@pytest.mark.parametrize(
    ("value", "words"), [(1e39, "float32 range"), (-2e6, "beyond ±1e+06 m"), (3.5e38, "float32 range")]
)
def test_out_of_range_coordinate_names_the_limit_it_passes(value: float, words: str) -> None:
    doc = scene(TEST01)
    doc["portals"][0]["quad"][4] = value
    issues = _issues(doc)
    assert [i.path for i in issues] == ["/portals/0/quad/4"]
    assert words in issues[0].message


def test_missing_field_is_reported_at_its_parent() -> None:
    doc = scene(TEST01)
    del doc["portals"][0]["to"]
    issues = _issues(doc)
    assert [i.path for i in issues] == ["/portals/0"]
    assert "to" in issues[0].message


def test_bad_scene_id_and_unknown_field() -> None:
    doc = scene(TEST01, sceneId="-bad id")
    doc["cells"][0]["colour"] = "red"
    paths = {i.path: i.code for i in _issues(doc)}
    assert paths["/sceneId"] == "string_pattern_mismatch"
    assert paths["/cells/0/colour"] == "extra_forbidden"


@pytest.mark.parametrize(
    ("mutate", "path", "code"),
    [
        (lambda d: d["cells"][1].update(cellId="hall"), "/cells/1/cellId", "duplicate_id"),
        (lambda d: d["portals"][0].update(to="attic"), "/portals/0/to", "unknown_id"),
        (lambda d: d["portals"][0].update(to="hall"), "/portals/0/to", "self_portal"),
        (lambda d: d["portals"][0].update(quad=[2, 0, 0] * 4), "/portals/0/quad", "degenerate"),
        (
            lambda d: d["portals"][0].update(quad=[2, 0.2, -0.6, 2, 2.2, -0.6, 2.5, 2.2, 0.6, 2, 0.2, 0.6]),
            "/portals/0/quad",
            "non_planar",
        ),
        (
            lambda d: d["portals"][0].update(quad=[2, 0.2, -0.6, 2, 2.2, 0.6, 2, 2.2, -0.6, 2, 0.2, 0.6]),
            "/portals/0/quad",
            "self_intersecting",
        ),
        (
            lambda d: d["portals"][0].update(quad=[2, 0.2, -0.6, 2, 2.2, -0.6, 2, 1.0, 0.0, 2, 0.2, 0.6]),
            "/portals/0/quad",
            "non_convex",
        ),
        (
            lambda d: d["cells"][0].update(room={"floor": [[0, 0], [4, 0], [0, 4], [4, 4]]}),
            "/cells/0/room/floor",
            "self_intersecting",
        ),
        (
            lambda d: d["cells"][0].update(room={"min": [0, 0, 0], "max": [4, 0.1, 4]}),
            "/cells/0/room",
            "room_too_small",
        ),
        (
            lambda d: d["cells"][0].update(room={"min": [0, 0, 0], "max": [4, 3, 4], "material": "oak"}),
            "/cells/0/room/material",
            "unknown_material",
        ),
        # a colour with a final line break is not #rrggbb (a regex's $ would have let it through)
        (lambda d: d.update(materials={"oak": "#d8d0c0\n"}), "/materials/oak", "value_error"),
    ],
)
def test_semantic_errors_name_their_place(mutate, path: str, code: str) -> None:
    doc = scene(TEST01)
    mutate(doc)
    issues = _issues(doc)
    assert (path, code) in {(i.path, i.code) for i in issues}


@pytest.mark.parametrize(
    ("room", "says"),
    [
        # max and min given the wrong way round on y: not a room too thin for its walls
        ({"min": [0, 3, 0], "max": [4, 0, 4]}, "room box max is below its min on y (max - min = [4.0, -3.0, 4.0] m)"),
        ({"min": [4, 3, 4], "max": [0, 0, 0]}, "max is below its min on x, y, z"),
        ({"min": [0, 0, 0], "max": [4, 0.1, 4]}, "not larger than twice its wall thickness (0.1 m) on y:"),
        ({"min": [0, 0, 0], "max": [0.2, 3, 0.15], "wallThickness": 0.1}, "wall thickness (0.1 m) on x, z:"),
    ],
)
def test_a_box_room_too_small_says_on_which_axes_and_why(room: dict, says: str) -> None:
    doc = scene(TEST01)
    doc["cells"][0]["room"] = room
    (issue,) = [i for i in _issues(doc) if i.code == "room_too_small"]
    assert issue.path == "/cells/0/room"
    assert says in issue.message


@settings(max_examples=30, deadline=None)
@given(wall=st.floats(0.01, 10), share=st.floats(0.001, 1.0))
def test_a_floor_room_too_low_for_its_walls_gives_its_height_and_wall_thickness(wall: float, share: float) -> None:
    """A floor room whose ``height`` is not more than twice its ``wallThickness`` was told "room height must exceed
    twice the wall thickness" and neither number, as a box room too small is: both are given, in metres."""
    height = 2 * wall * share
    doc = scene(TEST01)
    doc["cells"][0]["room"] = {"floor": [[0, 0], [40, 0], [40, 40], [0, 40]], "height": height, "wallThickness": wall}
    (issue,) = [i for i in _issues(doc) if i.code == "room_too_small"]
    assert issue.path == "/cells/0/room/height"
    assert f"room height {height:g} m is not more than twice its wall thickness ({wall:g} m)" in issue.message


def test_all_errors_are_reported_not_just_the_first() -> None:
    doc = scene(TEST01)
    doc["cells"][1]["cellId"] = "hall"
    doc["portals"][0]["from"] = "nowhere"
    assert len(_issues(doc)) >= 2


def test_cell_limit_names_the_setting() -> None:
    with pytest.raises(LimitExceeded) as info:
        validate_description(parse_description(as_bytes(TEST01)), Limits(max_cells=1))
    assert info.value.limit == "SCENEFORGE_MAX_CELLS"
    assert "SCENEFORGE_MAX_CELLS" in info.value.issues[0].message


def test_portal_limit_names_the_setting() -> None:
    count = len(TEST01["portals"])
    with pytest.raises(LimitExceeded) as info:
        validate_description(parse_description(as_bytes(TEST01)), Limits(max_portals=count - 1))
    assert (info.value.limit, info.value.value, info.value.maximum) == ("SCENEFORGE_MAX_PORTALS", count, count - 1)
    assert info.value.issues[0].path == "/portals" and "SCENEFORGE_MAX_PORTALS" in info.value.issues[0].message
    validate_description(parse_description(as_bytes(TEST01)), Limits(max_portals=count))


def test_instance_group_limit_names_the_setting() -> None:
    """Each entry of ``instances`` is a node and mesh of its own (~0.25 ms of a build apiece): 32 MiB held
    377,000 of them. The entries are counted before the schema reads one, and again by validation."""
    one = {"meshId": "asset:a.obj", "cellId": "hall", "transforms": [[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]]}
    doc = scene(TEST01, instances=[one] * 3)
    with pytest.raises(LimitExceeded) as info:
        parse_description(as_bytes(doc), Limits(max_instance_groups=2))
    assert (info.value.limit, info.value.value, info.value.maximum) == ("SCENEFORGE_MAX_INSTANCE_GROUPS", 3, 2)
    issue = info.value.issues[0]
    assert issue.path == "/instances" and "instance group count is 3" in issue.message
    desc = parse_description(as_bytes(doc), Limits(max_instance_groups=3))
    with pytest.raises(LimitExceeded) as again:
        validate_description(desc, Limits(max_instance_groups=2))
    assert again.value.limit == "SCENEFORGE_MAX_INSTANCE_GROUPS"
    validate_description(desc, Limits(max_instance_groups=3))
    assert Limits().max_instance_groups == 20_000


def test_material_limit_counts_before_the_schema_reads_one() -> None:
    """32 MiB held 1.5 million materials, 12 s of a build to read and lower: they are counted first."""
    doc = scene(TWO_ROOMS, materials={"plaster": "#d8d0c0", "wood": "#806040", "bad": "not a colour"})
    with pytest.raises(LimitExceeded) as info:
        parse_description(as_bytes(doc), Limits(max_materials=2))
    assert (info.value.limit, info.value.value, info.value.maximum) == ("SCENEFORGE_MAX_MATERIALS", 3, 2)
    assert info.value.issues[0].path == "/materials" and "material count is 3" in info.value.issues[0].message
    with pytest.raises(SceneInvalid) as schema:  # within the limit, the schema reads them
        parse_description(as_bytes(doc), Limits(max_materials=3))
    assert not isinstance(schema.value, LimitExceeded)
    desc = parse_description(as_bytes(TWO_ROOMS))
    with pytest.raises(LimitExceeded):
        validate_description(desc, Limits(max_materials=0))
    validate_description(desc, Limits(max_materials=1))
    assert Limits().max_materials == 20_000


_EYE = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]


@pytest.mark.parametrize(
    ("setting", "field", "path", "what", "over", "within"),
    [
        # 32 MiB held 2.4 million props, each copied by every patch of a draft (4 s of each).
        (
            "SCENEFORGE_MAX_PROPS",
            "max_props",
            "/props",
            "prop count",
            {"props": {"a": "1", "b": "2", "c": 3}},
            {"props": {"a": "1", "b": "2"}},
        ),
        # 1.6 million {"meshId": "auto"}: 9 s to read, 4 s of every patch.
        (
            "SCENEFORGE_MAX_MESHES",
            "max_meshes",
            "/cells",
            "mesh count",
            {"cells": [{"cellId": "hall", "meshes": [{"meshId": "auto"}] * 2}, {"cellId": "kitchen", "meshes": [{}]}]},
            {"cells": [{"cellId": "hall", "meshes": [{"meshId": "auto"}] * 2}, {"cellId": "kitchen", "meshes": []}]},
        ),
        # 900,000 transforms: 7 s of every patch.
        (
            "SCENEFORGE_MAX_INSTANCE_TRANSFORMS",
            "max_instance_transforms",
            "/instances",
            "instance transform count",
            {"instances": [{"meshId": "asset:a", "cellId": "hall", "transforms": [_EYE, _EYE, [0]]}]},
            {"instances": [{"meshId": "asset:a", "cellId": "hall", "transforms": [_EYE, _EYE]}]},
        ),
    ],
)
def test_containers_without_a_schema_bound_are_counted_before_the_schema_reads_them(
    setting: str, field: str, path: str, what: str, over: dict, within: dict
) -> None:
    """Every container of a description has a limit: props, the meshes of all cells and the transforms of all
    instances had none, and a draft holding millions of them cost seconds of every patch (the JSON work holds the
    GIL). Counted as soon as the JSON parses (the third item here is invalid: the schema never reads it), named
    with the count and the limit, and again by validation; within the limit the schema reads them."""
    doc = scene(TEST01, **over)
    with pytest.raises(LimitExceeded) as info:
        parse_description(as_bytes(doc), Limits(**{field: 2}))
    assert (info.value.limit, info.value.value, info.value.maximum) == (setting, 3, 2)
    (issue,) = info.value.issues
    assert (issue.path, issue.code) == (path, "limit_exceeded")
    assert f"{what} is 3, above the limit of 2 ({setting})" in issue.message
    with pytest.raises(SceneInvalid) as schema:
        parse_description(as_bytes(doc), Limits(**{field: 3}))
    assert not isinstance(schema.value, LimitExceeded)
    desc = parse_description(as_bytes(scene(TEST01, **within)))
    with pytest.raises(LimitExceeded) as again:
        validate_description(desc, Limits(**{field: 1}))
    assert (again.value.limit, again.value.value, again.value.issues[0].path) == (setting, 2, path)
    validate_description(desc, Limits(**{field: 2}))


def test_container_limit_defaults_scale_with_the_cell_limit() -> None:
    assert (Limits().max_props, Limits().max_meshes, Limits().max_instance_transforms) == (10_000, 100_000, 200_000)
    assert Limits().max_meshes >= 5 * Limits().max_cells and Limits().max_instance_transforms >= 10 * Limits().max_cells


def test_cell_portal_limit_names_the_cell_before_any_geometry() -> None:
    """The openings of one wall are triangulated together, in time growing with their square (60,000
    doorways in one wall took over 5 minutes): the portals of each cell, either side, are counted by
    validation, before geometry, and the cell with the most is named."""
    door = TWO_ROOMS["portals"][0]
    doc = scene(TWO_ROOMS, portals=[door] * 3)
    desc = parse_description(as_bytes(doc))
    with pytest.raises(LimitExceeded) as info:
        validate_description(desc, Limits(max_cell_portals=2))
    assert (info.value.limit, info.value.value, info.value.maximum) == ("SCENEFORGE_MAX_CELL_PORTALS", 3, 2)
    issue = info.value.issues[0]
    assert issue.path == "/cells/0" and "portal count of cell 'a' is 3" in issue.message, issue
    validate_description(desc, Limits(max_cell_portals=3))
    # A portal counts once for each cell it joins: two portals between a and b are two for each.
    other = scene(TWO_ROOMS, portals=[door, {"between": ["b", "a"]}])
    validate_description(parse_description(as_bytes(other)), Limits(max_cell_portals=2))
    assert Limits().max_cell_portals == 1_000


def _floor_rooms(points: list[int]) -> dict:
    """A description of rooms with star-shaped floors of the given point counts, stacked in height."""

    def star(k: int) -> list[list[float]]:
        a = np.linspace(0.0, 2 * np.pi, k, endpoint=False)
        r = np.where(np.arange(k) % 2 == 0, 10.0, 6.0)
        return np.round(np.c_[r * np.cos(a), r * np.sin(a)], 3).tolist()

    cells = [{"cellId": f"c{i}", "room": {"floor": star(k), "y": 4.0 * i}} for i, k in enumerate(points)]
    return {"sceneId": "floors", "cells": cells}


def test_floor_point_limit_counts_every_floor_before_any_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checking and building floors costs ~40 µs a point: 32 MiB of short numbers held a build for minutes.
    The points of all floors together are counted on the parsed JSON, before the schema or the polygon
    check reads one."""
    doc = _floor_rooms([256, 256, 100])
    limits = Limits(max_floor_points=611)
    with pytest.raises(LimitExceeded) as info:
        parse_description(as_bytes(doc), limits)
    assert (info.value.limit, info.value.value, info.value.maximum) == ("SCENEFORGE_MAX_FLOOR_POINTS", 612, 611)
    issue = info.value.issues[0]
    assert issue.path == "/cells" and "floor point count is 612" in issue.message
    assert "SCENEFORGE_MAX_FLOOR_POINTS" in issue.message
    # Counted before the schema: points it would refuse one by one still count.
    broken = scene(doc)
    broken["cells"][0]["room"]["floor"] = [["x", "y"]] * 512
    with pytest.raises(LimitExceeded):
        parse_description(as_bytes(broken), Limits(max_floor_points=611))
    # A description made in code is held to it by validation, before any outline is checked.
    import sceneforge.validate.description as validation

    desc = parse_description(as_bytes(doc), Limits(max_floor_points=612))

    def no_check(floors: object) -> list:
        raise AssertionError("floors checked past the floor point limit")

    with monkeypatch.context() as patched:
        patched.setattr(validation, "check_polygons", no_check)
        with pytest.raises(LimitExceeded) as again:
            validate_description(desc, limits)
    assert again.value.limit == "SCENEFORGE_MAX_FLOOR_POINTS"
    validate_description(desc, Limits(max_floor_points=612))
    # Box rooms have no floor points: only floor polygons count.
    assert Limits().max_floor_points == 100_000
    validate_description(parse_description(as_bytes(TEST01), Limits(max_floor_points=0)), Limits(max_floor_points=0))


@pytest.mark.parametrize(
    ("key", "setting"),
    [
        ("portals", "SCENEFORGE_MAX_PORTALS"),
        ("cells", "SCENEFORGE_MAX_CELLS"),
        ("instances", "SCENEFORGE_MAX_INSTANCE_GROUPS"),
    ],
)
def test_parse_with_limits_counts_before_the_schema_reads_each_item(key: str, setting: str) -> None:
    doc = scene(TEST01)
    doc[key] = [{"not": "valid"}] * 5  # the schema would list five errors
    with pytest.raises(LimitExceeded) as info:
        parse_description(as_bytes(doc), Limits(max_portals=4, max_cells=4, max_instance_groups=4))
    assert (info.value.limit, info.value.value, info.value.issues[0].path) == (setting, 5, f"/{key}")
    with pytest.raises(SceneInvalid) as schema:
        parse_description(as_bytes(doc), Limits(max_portals=5, max_cells=5, max_instance_groups=5))
    assert not isinstance(schema.value, LimitExceeded)


def test_warnings_for_empty_and_unreachable_cells() -> None:
    doc = scene(TEST01)
    doc["cells"].append({"cellId": "attic"})
    warnings = validate_description(parse_description(as_bytes(doc)), Limits())
    codes = {(w.path, w.code) for w in warnings}
    assert ("/cells/2", "empty_cell") in codes and ("/cells/2", "unreachable_cell") in codes
    assert all(w.severity == "warning" for w in warnings)


def test_a_portal_into_an_empty_cell_is_not_measured_against_its_box() -> None:
    """An empty cell has no box (zeros, at the origin): the quad was said to lie '4 m from' it."""
    from sceneforge.compile import compile_scene

    doc = {
        "sceneId": "e",
        "cells": [{"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4]}}, {"cellId": "b", "meshes": []}],
        "portals": [{"from": "a", "to": "b", "quad": [4, 0.2, 1.5, 4, 2.2, 1.5, 4, 2.2, 2.5, 4, 0.2, 2.5]}],
    }
    result = compile_scene(as_bytes(doc))
    assert [(w.path, w.code) for w in result.warnings] == [("/cells/1", "empty_cell")]
    doc["portals"][0]["quad"] = [5, 0.2, 1.5, 5, 2.2, 1.5, 5, 2.2, 2.5, 5, 0.2, 2.5]  # off the room: still told
    result = compile_scene(as_bytes(doc))
    assert [(w.path, w.code) for w in result.warnings] == [
        ("/cells/1", "empty_cell"),
        ("/portals/0", "portal_not_touching"),
    ]
    assert "from its source cell 'a'" in result.warnings[1].message


def test_empty_cells_do_not_each_scan_the_instances() -> None:
    """A cell with no meshes and no room is empty unless an instance is placed in it: each such cell
    scanned every instance (20,000 of each, a 2.5 MB description, took 68 s). The instances are now
    read a fixed number of times, whatever the number of cells; an instanced cell is still not empty."""
    identity = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    doc = {
        "sceneId": "many-empty",
        "cells": [{"cellId": f"c{i}"} for i in range(200)],
        "instances": [{"meshId": "asset:chair", "cellId": f"c{i}", "transforms": [identity]} for i in (0, 7)],
    }
    desc = parse_description(as_bytes(doc))
    passes = []

    class Counted(list[object]):
        def __iter__(self) -> Iterator[object]:
            passes.append(1)
            return super().__iter__()

    warnings = validate_description(desc.model_copy(update={"instances": Counted(desc.instances)}), Limits())
    assert len(passes) <= 3
    empty = {w.path for w in warnings if w.code == "empty_cell"}
    assert empty == {f"/cells/{i}" for i in range(200) if i not in (0, 7)}


def test_hex_material_and_door_portal_lower_to_ir() -> None:
    desc = parse_description(as_bytes(TWO_ROOMS))
    validate_description(desc, Limits())
    ir = description_to_ir(desc, _no_assets, Limits())
    assert ir.materials["plaster"].base_color[:3] == pytest.approx((0xD8 / 255, 0xD0 / 255, 0xC0 / 255))
    quad = ir.portals[0].quad
    assert np.allclose(quad[:, 0], 4.0)  # on the shared wall
    assert np.allclose(ir.portals[0].normal, [1, 0, 0])  # from a into b
    assert ir.props == {"author": "tests"}


def test_door_between_rooms_without_shared_wall_is_an_error() -> None:
    doc = scene(TWO_ROOMS)
    doc["cells"][1]["room"] = {"min": [10, 0, 0], "max": [14, 3, 4]}
    desc = parse_description(as_bytes(doc))
    with pytest.raises(SceneInvalid) as info:
        description_to_ir(desc, _no_assets, Limits())
    assert info.value.issues[0].path == "/portals/0/between"
    assert info.value.issues[0].message == "cells 'a' and 'b' share no wall with room for a 1.2 × 2.1 m door"


@pytest.mark.parametrize(
    ("b_room", "message"),
    [
        # b one storey up: the two rooms' open heights do not overlap at all.
        (
            {"min": [4, 3, 0], "max": [8, 6, 4]},
            "cells 'a' and 'b' share a wall, but their heights leave no room for a 1.2 × 2.1 m door:"
            " 'a' is open from y = 0.1 to 2.9 m and 'b' from y = 3.1 to 5.9 m (floor top to ceiling"
            " underside), which do not overlap",
        ),
        # b a metre up: they overlap, but by less than the door is high.
        (
            {"min": [4, 1, 0], "max": [8, 4, 4]},
            "cells 'a' and 'b' share a wall, but their heights leave no room for a 1.2 × 2.1 m door:"
            " 'a' is open from y = 0.1 to 2.9 m and 'b' from y = 1.1 to 3.9 m (floor top to ceiling"
            " underside), which overlap by only 1.8 m",
        ),
        # b up and away: neither the wall nor the heights.
        (
            {"min": [10, 3, 0], "max": [14, 6, 4]},
            "cells 'a' and 'b' share no wall with room for a 1.2 × 2.1 m door, nor do their heights:"
            " 'a' is open from y = 0.1 to 2.9 m and 'b' from y = 3.1 to 5.9 m (floor top to ceiling"
            " underside), which do not overlap",
        ),
    ],
)
def test_a_door_the_heights_leave_no_room_for_says_which_heights(b_room: dict, message: str) -> None:
    """A door between rooms that share a wall but stand at different heights was refused as sharing
    no wall; the message now gives each room's open height and how they fall short."""
    doc = scene(TWO_ROOMS)
    doc["cells"][1]["room"] = {**b_room, "material": "plaster"}
    desc = parse_description(as_bytes(doc))
    with pytest.raises(SceneInvalid) as info:
        description_to_ir(desc, _no_assets, Limits())
    [issue] = info.value.issues
    assert (issue.path, issue.code, issue.message) == ("/portals/0/between", "no_shared_wall", message)


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (1.6, "its offset 1.6 m moves it past the end of the stretch the rooms share: it fits up to an offset of 1 m"),
        (-4.0, "its offset -4 m moves it past the end of the stretch the rooms share: it fits up to an offset of -1 m"),
    ],
)
def test_a_door_its_offset_moves_off_the_shared_wall_says_how_far_it_may_go(offset: float, message: str) -> None:
    """b shares 3 m of a's 4 m wall: a 1 m door fits centred on it, and up to 1 m either way. One moved
    further was refused as if the rooms shared no wall with room for it."""
    doc = scene(TWO_ROOMS)
    doc["cells"][1]["room"] = {"min": [4, 0, 1], "max": [8, 3, 4]}
    doc["portals"] = [{"between": ["a", "b"], "door": {"width": 1.0, "offset": offset}}]
    with pytest.raises(SceneInvalid) as info:
        description_to_ir(parse_description(as_bytes(doc)), _no_assets, Limits())
    [issue] = info.value.issues
    assert (issue.path, issue.code) == ("/portals/0/between", "no_shared_wall")
    assert issue.message == (
        f"cells 'a' and 'b' share a wall with room for a 1 × 2.1 m door at its middle, but {message}"
    )


def test_a_door_between_walls_a_few_millimetres_apart_says_how_far_apart_they_lie() -> None:
    """Two rooms whose walls were meant as one but lie 5 mm apart (a plan turned and written to centimetres moves
    them so): the door was refused as if the rooms shared no wall at all."""
    doc = scene(TWO_ROOMS)
    doc["cells"][1]["room"] = {"min": [4.005, 0, 0], "max": [8, 3, 4]}
    with pytest.raises(SceneInvalid) as info:
        description_to_ir(parse_description(as_bytes(doc)), _no_assets, Limits())
    [issue] = info.value.issues
    assert (issue.path, issue.code) == ("/portals/0/between", "no_shared_wall")
    assert issue.message == (
        "cells 'a' and 'b' share no wall with room for a 1.2 × 2.1 m door: their walls facing each other lie up to"
        " 5.0 mm apart, and a shared wall's two sides may lie at most 2 mm apart (a plan turned and written to"
        " centimetres moves its walls that far: write its coordinates to millimetres or finer)"
    )
    doc["cells"][1]["room"] = {"min": [4.5, 0, 0], "max": [8, 3, 4]}  # half a metre apart: no wall meant
    with pytest.raises(SceneInvalid) as info:
        description_to_ir(parse_description(as_bytes(doc)), _no_assets, Limits())
    assert info.value.issues[0].message == "cells 'a' and 'b' share no wall with room for a 1.2 × 2.1 m door"


@pytest.mark.parametrize(("value", "shown"), [(1000000.001, "1000000.001"), (-1000000.5, "-1000000.5")])
def test_a_coordinate_just_past_the_extent_is_shown_as_written(value: float, shown: str) -> None:
    """A coordinate a millimetre past ±1e6 m was shown in six digits, "coordinate 1e+06 is beyond ±1e+06 m"."""
    doc = scene(TWO_ROOMS)
    doc["cells"][1]["room"] = {"min": [4, 0, 0], "max": [value, 3, 4]}
    with pytest.raises(SceneInvalid) as info:
        parse_description(as_bytes(doc))
    [issue] = info.value.issues
    assert (issue.path, issue.message) == (
        "/cells/1/room/max/0",
        f"coordinate {shown} is beyond ±1e+06 m, the extent scenes may span",
    )


@pytest.mark.parametrize(
    ("reach", "shown"),
    [(1000000.5, "1000000.5"), (1e6 + 1e-9, "1000000.000000001"), (2.5e6, "2.5e+06"), (3e38, "3e+38")],
)
def test_reaches_past_the_extent_are_shown_past_it(reach: float, shown: str) -> None:
    """The messages of geometry placed past ±1e6 m (an asset, a transform, an instance, a tagged GLB's
    cell or portal) gave the reach in three digits: 1000000.5 m read "1e+06 m ..., beyond ±1e+06 m"."""
    from sceneforge.model.description import past_extent

    assert past_extent(reach) == shown


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False, width=32) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _mutations(doc: dict) -> st.SearchStrategy:
    """Replace one value anywhere in ``doc`` (found by walking it) with an arbitrary JSON value."""
    pointers: list[list] = []

    def walk(node: object, path: list) -> None:
        pointers.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, [*path, k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, [*path, i])

    walk(doc, [])
    return st.tuples(st.sampled_from(pointers[1:]), json_values)


@given(_mutations(TWO_ROOMS))
def test_mutated_descriptions_fail_cleanly_at_existing_paths(change) -> None:
    pointer, value = change
    doc = json.loads(json.dumps(TWO_ROOMS))
    node = doc
    for token in pointer[:-1]:
        node = node[token]
    node[pointer[-1]] = value
    try:
        validate_description(parse_description(json.dumps(doc).encode()), Limits())
    except SceneInvalid as exc:
        assert exc.issues
        for issue in exc.issues:
            _resolve(doc, issue.path)  # raises if the path is not in the input
            assert issue.message


@given(json_values)
def test_arbitrary_json_never_crashes_the_parser(value) -> None:
    try:
        parse_description(json.dumps(value).encode())
    except SceneInvalid as exc:
        for issue in exc.issues:
            _resolve(value, issue.path)


def test_a_member_named_like_a_schema_tag_is_reported_at_its_pointer() -> None:
    """pydantic writes its schema tags (``function-after[…]``, ``[key]``) into an error's location: a member of the
    description named like one (``[]``) is no tag. ``{"[]": 0}`` had crashed the parser (an IndexError)."""
    with pytest.raises(SceneInvalid) as info:
        parse_description(b'{"[]": 0}')
    assert [(i.path, i.code) for i in info.value.issues] == [
        ("", "missing"),
        ("", "missing"),
        ("/[]", "extra_forbidden"),
    ]
    doc = scene(TEST01)
    doc["cells"][0]["[x]"] = 1
    doc["materials"] = {"m": {"a[b]": 1}}
    with pytest.raises(SceneInvalid) as info:
        parse_description(json.dumps(doc).encode())
    assert [(i.path, i.code, i.message) for i in info.value.issues] == [
        ("/cells/0/[x]", "extra_forbidden", "unknown field '[x]'"),
        ("/materials/m/a[b]", "extra_forbidden", "unknown field 'a[b]'"),
    ]


def test_every_build_error_code_is_documented() -> None:
    """Every code the build's stages raise or warn (ingest, validation, geometry, passes, encode,
    visibility) is named in docs/scene-format.md: out_of_range, room_too_small, transform_invalid,
    asset_empty, asset_too_large, asset_out_of_range and type_error were not."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    package = root / "src" / "sceneforge"
    build = ["ingest", "geometry", "passes", "encode", "visibility", "model", "validate", "compile.py"]
    codes: set[str] = set()
    for part in build:
        for path in [package / part] if part.endswith(".py") else sorted((package / part).rglob("*.py")):
            text = path.read_text()
            codes |= set(
                re.findall(r'Issue\(\s*[^()]*?(?:\([^()]*\)[^()]*?)*,\s*"([a-z][a-z0-9_]+)"', text, flags=re.S)
            )
            codes |= set(re.findall(r'code\s*=\s*"([a-z][a-z0-9_]+)"', text))
            codes |= set(
                re.findall(r'glb_error\([^()]*?(?:\([^()]*\)[^()]*?)*,\s*"([a-z][a-z0-9_]+)"\)', text, flags=re.S)
            )
    codes -= {"glb_no_cells"}  # read_built_glb: previews and exports of built scenes, not a build's input
    documented = set(re.findall(r"`([a-z_]+)`", (root / "docs" / "scene-format.md").read_text()))
    assert {"out_of_range", "room_too_small", "json_invalid", "glb_invalid"} <= codes
    assert codes - documented == set()


@pytest.mark.parametrize("where", ["mesh", "instance"])
@pytest.mark.parametrize("row", [[0.0, 0.0, 0.25, 1.0], [0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
def test_a_projective_transform_is_refused_at_its_pointer(where: str, row: list[float]) -> None:
    """A transform's last row (elements 3, 7, 11 and 15, column-major) was ignored: a projective one
    placed its asset where no renderer draws it, without a word. It is refused, as a tagged GLB's
    node ``matrix`` is."""
    triangle = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    affine = [1.0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1.0, 0.5, 1.0, 1]
    projective = [v for k in range(4) for v in (*affine[4 * k : 4 * k + 3], row[k])]
    doc = {"sceneId": "tf", "cells": [{"cellId": "a", "meshes": [{"meshId": "auto"}]}]}
    if where == "mesh":
        doc["cells"][0]["meshes"].append({"meshId": "asset:tri", "transform": projective})
        pointer = "/cells/0/meshes/1/transform"
    else:
        doc["instances"] = [{"meshId": "asset:tri", "cellId": "a", "transforms": [affine, affine, projective]}]
        pointer = "/instances/0/transforms/2"
    data = json.dumps(doc).encode()
    with pytest.raises(SceneInvalid) as err:
        description_to_ir(parse_description(data), lambda _: triangle, Limits())
    assert [(i.path, i.code) for i in err.value.issues] == [(pointer, "transform_invalid")]
    assert "affine" in err.value.issues[0].message
    doc = json.loads(data)  # the affine transforms build
    if where == "mesh":
        doc["cells"][0]["meshes"][1]["transform"] = affine
    else:
        doc["instances"][0]["transforms"][2] = affine
    ir = description_to_ir(parse_description(json.dumps(doc).encode()), lambda _: triangle, Limits())
    assert ir.cells[0].cell_id == "a"


def test_box_outline_of_a_room_too_thin_for_the_product_of_its_sides() -> None:
    # (hi_x − lo_x)·(hi_z − lo_z) underflows to 0 here: the order comes from the sides' signs.
    lo, hi = (0.0, 0.0, 4.0860158081901496e-225), (4.0860158081901496e-225, 3.0, -4.036046889953698e-195)
    points = [tuple(map(Fraction, p)) for p in _box_outline(lo, hi).tolist()]
    assert sum(points[i - 1][0] * points[i][1] - points[i][0] * points[i - 1][1] for i in range(4)) > 0
    spec = RoomSpec.model_construct(min=lo, max=hi)
    assert np.array_equal(_box_outlines([spec])[0], _box_outline(lo, hi))


def test_every_missing_asset_is_named_at_once() -> None:
    """Two materials with missing textures, a missing mesh named by two cells and an instance, a texture
    that is not a PNG: each is reported where it is named, in one answer (the first one alone was)."""
    from sceneforge.compile import compile_scene
    from sceneforge.errors import AssetError

    resolved: list[str] = []

    def resolve(asset_id: str) -> bytes:
        resolved.append(asset_id)
        if asset_id == "notes.txt":
            return b"not an image"
        raise AssetError("", f"asset {asset_id!r} has not been uploaded", code="asset_not_found")

    level = {
        "sceneId": "missing",
        "cells": [
            {"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4], "material": "brick"}},
            {"cellId": "b", "meshes": [{"meshId": "asset:chair.obj"}]},
            {"cellId": "c", "meshes": [{"meshId": "auto"}, {"meshId": "asset:chair.obj"}]},
        ],
        "portals": [],
        "materials": {
            "brick": {"baseColorTexture": "asset:brick.png"},
            "glass": {"baseColorTexture": "asset:glass.png"},
            "paper": {"baseColorTexture": "asset:notes.txt"},
        },
        "instances": [
            {
                "meshId": "asset:chair.obj",
                "cellId": "a",
                "transforms": [[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]],
            }
        ],
    }
    with pytest.raises(SceneInvalid) as caught:
        compile_scene(json.dumps(level).encode(), resolve_asset=resolve)
    assert [(i.path, i.code) for i in caught.value.issues] == [
        ("/materials/brick/baseColorTexture", "asset_not_found"),
        ("/materials/glass/baseColorTexture", "asset_not_found"),
        ("/materials/paper/baseColorTexture", "asset_type"),
        ("/cells/1/meshes/0/meshId", "asset_not_found"),
        ("/cells/2/meshes/1/meshId", "asset_not_found"),
        ("/instances/0/meshId", "asset_not_found"),
    ]
    assert "'chair.obj' has not been uploaded" in caught.value.issues[-1].message
    assert sorted(resolved) == ["brick.png", "chair.obj", "glass.png", "notes.txt"]  # each asked for once


def _textured(paths: list[str]) -> bytes:
    """A one-room level whose materials show the textures ``paths`` (one material each, the room's the first)."""
    level = scene(TEST01)
    level["cells"][0]["room"] = {"min": [0, 0, 0], "max": [4, 3, 4], "material": "m0"}
    level["materials"] = {f"m{i}": {"baseColorTexture": f"asset:{p}"} for i, p in enumerate(paths)}
    return json.dumps(level).encode()


def _damaged(png: bytes, cut: int, flip: int | None) -> bytes:
    """``png`` cut to ``cut`` bytes (its 8-byte signature kept), or with bit 0 of byte ``flip`` past it turned."""
    if flip is None:
        return png[: max(8, cut % len(png))]
    damaged = bytearray(png)
    damaged[8 + flip % (len(png) - 8)] ^= 1
    return bytes(damaged)


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(0, 10**6), flip=st.none() | st.integers(0, 10**6))
def test_a_texture_png_that_does_not_read_is_refused_where_it_is_named_not_written_out(
    cut: int, flip: int | None
) -> None:
    """A description's PNG texture is read whole, as an uploaded one and a GLB's embedded one are (chunks, CRCs, its
    size): one cut short or damaged (a file copied in part, a bit turned) was only told apart by its signature and
    written into the GLB as it came, which every viewer then failed to decode."""
    from sceneforge.compile import compile_scene

    from .blender_fixture import tiny_png

    broken = _damaged(tiny_png(4, 4), cut, flip)
    with pytest.raises(SceneInvalid) as caught:
        compile_scene(_textured(["broken.png"]), resolve_asset={"broken.png": broken}.__getitem__)
    [issue] = caught.value.issues
    assert (issue.path, issue.code) == ("/materials/m0/baseColorTexture", "asset_invalid")
    assert issue.message.startswith("the PNG does not decode")


def test_a_texture_png_too_large_to_decode_is_refused_and_each_texture_is_read_once() -> None:
    """A decompression bomb (a PNG declaring 100,000 × 100,000 pixels) is ``asset_too_large``, at each material that
    shows it; a texture several materials show is resolved and read once."""
    import struct
    import zlib

    from sceneforge.compile import compile_scene

    from .blender_fixture import tiny_png

    bomb = bytearray(tiny_png(4, 4))
    bomb[16:24] = struct.pack(">II", 100_000, 100_000)
    bomb[29:33] = struct.pack(">I", zlib.crc32(bytes(bomb[12:29])))
    assets = {"bomb.png": bytes(bomb), "fine.png": tiny_png(4, 4)}
    resolved: list[str] = []

    def resolve(asset_id: str) -> bytes:
        resolved.append(asset_id)
        return assets[asset_id]

    with pytest.raises(SceneInvalid) as caught:
        compile_scene(_textured(["bomb.png", "fine.png", "bomb.png", "fine.png"]), resolve_asset=resolve)
    assert [(i.path, i.code) for i in caught.value.issues] == [
        ("/materials/m0/baseColorTexture", "asset_too_large"),
        ("/materials/m2/baseColorTexture", "asset_too_large"),
    ]
    assert sorted(resolved) == ["bomb.png", "fine.png"]
    result = compile_scene(_textured(["fine.png", "fine.png"]), resolve_asset=assets.__getitem__)
    assert result.glb.count(assets["fine.png"]) == 1


def test_a_schema_error_per_member_lists_the_first_ones_and_counts_the_rest() -> None:
    """3,000 unknown members of a cell are 3,000 schema errors: the first MAX_ISSUES are listed, then one
    ``issues_truncated`` at the document counting the others (each one listed had cost a Python walk and
    ~100 bytes of answer: a 14 MB body of them took 13 s and 1.2 GB to refuse)."""
    doc = scene(TEST01)
    doc["cells"][0].update({f"x{i}": 1 for i in range(3000)})
    with pytest.raises(SceneInvalid) as info:
        parse_description(json.dumps(doc).encode())
    issues = info.value.issues
    assert len(issues) == MAX_ISSUES + 1
    assert {i.code for i in issues[:-1]} == {"extra_forbidden"} and issues[0].path == "/cells/0/x0"
    last = issues[-1]
    assert (last.path, last.code) == ("", "issues_truncated")
    assert last.message == f"{3000 - MAX_ISSUES:,} more problems are not listed (at most {MAX_ISSUES:,} are)"


@pytest.mark.parametrize("stage", ["validate", "compile"])
def test_a_validation_error_per_room_lists_the_first_ones_and_counts_the_rest(stage: str) -> None:
    """2,500 rooms too small for their walls are 2,500 validation errors (not schema ones): listed like those, the
    first MAX_ISSUES then one ``issues_truncated`` (every one had been listed: 20,000 such rooms, 20,000 issues)."""
    from sceneforge.compile import compile_scene

    cells = [{"cellId": f"c{i}", "room": {"min": [i * 10, 0, 0], "max": [i * 10 + 0.1, 3, 4]}} for i in range(2500)]
    raw = json.dumps({"sceneId": "small", "cells": cells, "portals": []}).encode()
    if stage == "validate":
        issues = _issues(raw)
    else:
        with pytest.raises(SceneInvalid) as info:
            compile_scene(raw)
        issues = info.value.issues
    assert len(issues) == MAX_ISSUES + 1
    assert {i.code for i in issues[:-1]} == {"room_too_small"} and issues[0].path == "/cells/0/room"
    assert (issues[-1].path, issues[-1].code) == ("", "issues_truncated")
    assert issues[-1].message.startswith(f"{2500 - MAX_ISSUES:,} more problems")


def test_an_issue_path_past_its_bound_names_its_ancestor() -> None:
    """A pointer longer than MAX_PATH_CHARS (a 100 kB member name) is cut to its longest ancestor within the bound,
    still a pointer into the input; the message names what was cut, cut too."""
    name = "k" * 100_000
    doc = scene(TEST01)
    doc["cells"][1][name] = {"a": 1}
    doc["cells"][0]["meshes"][0]["m" * 300] = 1
    with pytest.raises(SceneInvalid) as info:
        parse_description(json.dumps(doc).encode())
    by_path = {i.path: i for i in info.value.issues}
    assert set(by_path) == {"/cells/0/meshes/0/" + "m" * 300, "/cells/1"}
    assert by_path["/cells/1"].message.startswith("k" * 40 + "…: unknown field 'kkk")
    for issue in info.value.issues:
        assert len(issue.path) <= MAX_PATH_CHARS
        _resolve(doc, issue.path)


def test_a_material_name_too_long_is_refused_once_not_under_every_member() -> None:
    """The schema refuses a material name past 128 characters; what its value holds is not listed (each of those
    errors repeated the name: a 100 kB name over 2,000 members had been 200 MB of errors and as much answer)."""
    doc = scene(TEST01)
    doc["materials"] = {"k" * 100_000: {f"x{i}": 1 for i in range(2000)}, "ok": {"bogus": 1}}
    with pytest.raises(SceneInvalid) as info:
        parse_description(json.dumps(doc).encode())
    issues = info.value.issues
    assert [(i.path, i.code) for i in issues] == [
        ("/materials", "string_too_long"),
        ("/materials/ok/bogus", "extra_forbidden"),
    ]
    assert sum(len(i.path) + len(i.message) for i in issues) < 1000


def test_an_object_with_more_members_than_its_kind_has_fields_is_refused_before_the_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cell of 20,000 members (and a portal's door, a mesh, an instance of a few hundred) is refused from the
    members' names alone, listed as the schema would (``extra_forbidden`` at each unknown one, at most
    MAX_ISSUES): pydantic made ~1 kB of error of each before any could be refused (2 GB for a 24 MiB body)."""
    from sceneforge.model.description import SceneDescription

    doc = scene(TWO_ROOMS)
    doc["cells"][1].update({f"k{i}": 0 for i in range(20_000)})
    doc["portals"][0]["door"] = {f"d{i}": 0 for i in range(300)}

    def schema(*_: object, **__: object) -> None:
        raise AssertionError("the schema was asked")

    monkeypatch.setattr(SceneDescription, "model_validate", schema)
    with pytest.raises(SceneInvalid) as info:
        parse_description(json.dumps(doc).encode())
    issues = info.value.issues
    assert len(issues) == MAX_ISSUES + 1 and issues[-1].code == "issues_truncated"
    assert (issues[0].path, issues[0].code, issues[0].message) == (
        "/cells/1/k0",
        "extra_forbidden",
        "unknown field 'k0'",
    )
    assert issues[-1].message.startswith(f"{20_300 - MAX_ISSUES:,} more problems")
    # Among items that are not objects (which the schema refuses) too.
    doc["cells"].insert(0, 5)
    doc["materials"] = ["not", "a", "map"]
    with pytest.raises(SceneInvalid) as info:
        parse_description(json.dumps(doc).encode())
    assert info.value.issues[0].path == "/cells/2/k0"
    # A valid description, and an object of as many members as fields, are left to the schema.
    monkeypatch.undo()
    parse_description(as_bytes(TWO_ROOMS))


def _members_of(names: frozenset[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of up to all of ``names`` and one more (``x0``): wide by that one member when ``names`` are all the
    kind allows, besides those the caller adds."""
    return st.integers(0, len(names) + 1).map(lambda n: dict.fromkeys([*sorted(names), "x0"][:n], 1))


def _with(base: dict[str, Any], **members: Any) -> dict[str, Any]:
    return {**base, **{k: v for k, v in members.items() if v is not None}}


def _descriptions(junk: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Descriptions whose objects have as many members as their kinds have fields, or more, and ``junk`` where a
    value may be of any other type."""
    meshes = st.one_of(st.lists(st.one_of(_members_of(_MESH), junk), max_size=4), junk)
    cell = st.builds(
        lambda c, r, m: _with(c, room=r, meshes=m),
        _members_of(_CELL - {"room", "meshes"}),
        st.one_of(_members_of(_ROOM), junk),
        meshes,
    )
    door = st.one_of(_members_of(_DOOR), junk)
    portal = st.builds(lambda p, d: _with(p, door=d), _members_of(_PORTAL - {"door"}), door)
    material = st.one_of(_members_of(_MATERIAL), st.just("#6f7f99"), junk)
    return st.builds(
        lambda d, c, p, i, m: _with(d, cells=c, portals=p, instances=i, materials=m),
        _members_of(_SCENE - {"cells", "portals", "instances", "materials"}),
        st.one_of(st.lists(st.one_of(cell, junk), max_size=4), junk),
        st.one_of(st.lists(st.one_of(portal, junk), max_size=3), junk),
        st.one_of(st.lists(st.one_of(_members_of(_INSTANCE), junk), max_size=3), junk),
        st.one_of(st.dictionaries(st.text(max_size=3), material, max_size=3), junk),
    )


_JUNK = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=9),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), min_size=1, max_size=2),
)


_ONE_MORE_MESH = {**dict.fromkeys(sorted(_MESH), 1), "x0": 1}
_ONE_MORE_DOOR = {**dict.fromkeys(sorted(_DOOR), 1), "x0": 1}


@settings(max_examples=300)  # a millisecond each
@example((True, {"sceneId": "a", "cells": [{"meshes": [{}]}, {"room": {}, "meshes": [{}, _ONE_MORE_MESH]}]}))
@example((True, {"sceneId": "a", "portals": [{}, {"door": _ONE_MORE_DOOR}], "materials": {"m": "#6f7f99"}}))
@given(st.booleans().flatmap(lambda typed: st.tuples(st.just(typed), _descriptions(st.just({}) if typed else _JUNK))))
def test_the_wide_objects_are_those_past_their_kinds_fields_and_maybe_wide_never_misses_one(
    typed_doc: tuple[bool, dict[str, Any]],
) -> None:
    """Every object of a description's kinds with more members than its kind has fields is found, at its pointer, in
    the schema's order, whatever else is malformed; ``_maybe_wide`` (which spares a valid description the walk) is
    True whenever one is, and only then where every value has its type."""
    typed, doc = typed_doc
    expected: list[tuple[list[Any], frozenset[str]]] = []

    def check(path: list[Any], value: Any, kind: frozenset[str]) -> None:
        if isinstance(value, dict) and len(value) > len(kind):
            expected.append((path, kind))

    def items(value: Any) -> Any:
        return enumerate(value) if isinstance(value, list) else ()

    check([], doc, _SCENE)
    for i, cell in items(doc.get("cells")):
        check(["cells", i], cell, _CELL)
        if isinstance(cell, dict):
            check(["cells", i, "room"], cell.get("room"), _ROOM)
            for j, mesh in items(cell.get("meshes")):
                check(["cells", i, "meshes", j], mesh, _MESH)
    for i, portal in items(doc.get("portals")):
        check(["portals", i], portal, _PORTAL)
        if isinstance(portal, dict):
            check(["portals", i, "door"], portal.get("door"), _DOOR)
    for i, instance in items(doc.get("instances")):
        check(["instances", i], instance, _INSTANCE)
    materials = doc.get("materials")
    for name, material in materials.items() if isinstance(materials, dict) else ():
        check(["materials", name], material, _MATERIAL)
    found = list(_wide_objects(doc))
    assert [(path, allowed) for path, _, allowed in found] == expected
    for path, value, _ in found:
        assert _resolve(doc, json_pointer(path)) is value
    assert _maybe_wide(doc) == bool(found) if typed else _maybe_wide(doc) or not found


def test_a_description_of_as_many_members_as_fields_is_not_walked() -> None:
    """A material may be a colour string longer than a material has fields: that is no wide object."""
    doc = scene(TWO_ROOMS)
    doc["materials"] = {"paint": "#6f7f99", "tile": dict.fromkeys(sorted(_MATERIAL), 1)}
    doc["cells"][0]["room"] = dict.fromkeys(sorted(_ROOM), 1)
    assert not _maybe_wide(doc)


def test_a_long_list_of_bad_numbers_reports_its_first_bad_item() -> None:
    """Instance transforms and floor points stop at their first bad item (``fail_fast``): 1,000 transforms of 16
    strings each had been 16,000 schema errors (200,000 of them took 15 s and 3.3 GB to refuse)."""
    doc = scene(TEST01)
    cell = doc["cells"][0]["cellId"]
    doc["instances"] = [{"meshId": "asset:x.obj", "cellId": cell, "transforms": [["a"] * 16] * 1000}]
    doc["cells"][0]["room"] = {"floor": [["a", "b"]] * 500}
    with pytest.raises(SceneInvalid) as info:
        parse_description(json.dumps(doc).encode())
    paths = [i.path for i in info.value.issues]
    assert paths == [
        *(f"/cells/0/room/floor/0/{k}" for k in range(2)),
        *(f"/instances/0/transforms/0/{k}" for k in range(16)),
    ]


def test_lengths_past_their_bounds_say_the_unit() -> None:
    """A scene written in centimetres: each length past its bound names itself, its value and bound in metres,
    and the likely cause, at its own pointer; the code stays the schema's."""
    doc = {
        "sceneId": "cm",
        "cells": [
            {"cellId": "a", "room": {"min": [0, 0, 0], "max": [400, 300, 400], "wallThickness": 20}},
            {"cellId": "b", "room": {"floor": [[400, 0], [800, 0], [800, 400]], "height": 1500}},
        ],
        "portals": [{"between": ["a", "b"], "door": {"width": 120, "height": 210}}],
    }
    with pytest.raises(SceneInvalid) as caught:
        parse_description(json.dumps(doc))
    got = {i.path: (i.code, i.message) for i in caught.value.issues}
    assert set(got) == {"/cells/0/room/wallThickness", "/cells/1/room/height", "/portals/0/door/width",
                        "/portals/0/door/height"}  # fmt: skip
    assert {code for code, _ in got.values()} == {"less_than_equal"}
    assert got["/cells/0/room/wallThickness"][1].startswith("wallThickness 20 m is more than 10 m")
    assert got["/cells/1/room/height"][1].startswith("height 1500 m is more than 1000 m")
    assert got["/portals/0/door/width"][1].startswith("width 120 m is more than 100 m")
    assert all("lengths are in metres" in message for _, message in got.values())


@pytest.mark.parametrize(
    ("room", "said"),
    [
        ({"floor": [[0, 0], [4, 0], [4, 4]], "height": 1000.001}, "height 1000.001 m is more than 1000 m"),
        (
            {"min": [0, 0, 0], "max": [4, 3, 4], "wallThickness": 10.0000004},
            "wallThickness 10.0000004 m is more than 10 m",
        ),
        ({"floor": [[0, 0], [4, 0], [4, 4]], "height": 1001}, "height 1001 m is more than 1000 m"),
        ({"floor": [[0, 0], [4, 0], [4, 4]], "height": 1e30}, "height 1e+30 m is more than 1000 m"),
    ],
)
def test_a_length_just_past_its_bound_is_not_shown_rounded_onto_it(room: dict[str, object], said: str) -> None:
    """A length a hair past its bound was shown to 6 significant digits: "height 1000 m is more than 1000 m"."""
    with pytest.raises(SceneInvalid) as caught:
        parse_description(json.dumps({"sceneId": "s", "cells": [{"cellId": "a", "room": room}], "portals": []}))
    assert [i.message.startswith(said) for i in caught.value.issues] == [True], caught.value.issues


# -- names: no control or invisible format characters ------------------------------------------------------------

#: Characters no name holds, one of each kind: C0 (a tab, a line break), DEL, C1 (NEL, CSI), the bidi embeddings,
#: overrides, isolates and marks (Trojan Source), zero-width space, word joiner, soft hyphen, BOM, a tag character,
#: the line and paragraph separators.
_UNPRINTABLE_CHARS = [
    "\x00", "\t", "\n", "\x1b", "\x7f", "\x85", "\x9b", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
    "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\u2060", "\xad", "\ufeff", "\U000e0041",
    "\u2028", "\u2029",
]  # fmt: skip


def _named(doc: dict[str, Any], field: str, name: str) -> str:
    """``doc`` (TWO_ROOMS) with ``name`` written where ``field`` says (its references too, so the name is the only
    fault); the pointer of the first place that holds it."""
    if field == "cellId":
        doc["cells"][0]["cellId"] = doc["portals"][0]["between"][0] = name
        return "/cells/0/cellId"
    if field == "material":
        doc["materials"] = {name: "#d8d0c0"}
        for cell in doc["cells"]:
            cell["room"]["material"] = name
        return "/cells/0/room/material"
    if field == "materialKey":
        doc["materials"][name] = "#d8d0c0"
        return "/materials/" + json_pointer([name]).lstrip("/")
    if field == "between":
        doc["portals"][0]["between"][1] = name
        return "/portals/0/between/1"
    if field == "meshId":
        doc["cells"][0]["meshes"] = [{"meshId": f"asset:{name}"}]
        return "/cells/0/meshes/0/meshId"
    if field == "instance":
        doc["instances"] = [{"meshId": f"asset:{name}", "cellId": "a", "transforms": [np.eye(4).ravel().tolist()]}]
        return "/instances/0/meshId"
    if field == "texture":
        doc["materials"]["plaster"] = {"baseColorTexture": f"asset:{name}"}
        return "/materials/plaster/baseColorTexture"
    assert field == "prop"
    doc["props"] = {name: "v"}
    return "/props/" + json_pointer([name]).lstrip("/")


_NAME_FIELDS = ["cellId", "material", "materialKey", "between", "meshId", "instance", "texture", "prop"]


@settings(max_examples=150, deadline=None)
@given(
    field=st.sampled_from(_NAME_FIELDS),
    char=st.sampled_from(_UNPRINTABLE_CHARS),
    before=st.text(st.characters(categories=["L", "N", "Zs"]), max_size=20),
    after=st.text(st.characters(categories=["L", "N", "Zs"]), max_size=20),
)
@example(field="cellId", char="\u202e", before="ha", after="ll")
def test_a_name_holding_a_control_or_invisible_format_character_is_refused_naming_it(
    field: str, char: str, before: str, after: str
) -> None:
    """Cell, material, asset and prop names took C1 controls, bidi overrides and isolates and other invisible format
    characters (only C0 and DEL were refused, by a pattern the message quoted): a name that reads as other text than
    it is (Trojan Source) in every message, log and node name. Each is refused where it is written, the character
    named as U+XXXX with where it is in the name."""
    name = before + char + after
    doc = scene(TWO_ROOMS)
    pointer = _named(doc, field, name)
    with pytest.raises(SceneInvalid) as info:
        parse_description(json.dumps(doc).encode())
    at = {i.path: i for i in info.value.issues}
    assert pointer in at, info.value.issues
    issue = at[pointer]
    assert issue.code == "unprintable_character"
    offset = len("asset:") if field in {"meshId", "instance", "texture"} else 0
    assert f"U+{ord(char):04X} " in issue.message and f"at character {offset + len(before) + 1} " in issue.message
    assert all(c not in issue.message for c in _UNPRINTABLE_CHARS), issue.message  # the message shows none
    assert {i.code for i in info.value.issues} == {"unprintable_character"}


@pytest.mark.parametrize(
    "name",
    ["Küche", "厨房", "salle à manger", "غرفة", "می\u200cخواهم", "👩\u200d🍳 kitchen", "A\u00a0B", "k" * 128],
    ids=["umlaut", "han", "spaces", "arabic", "zwnj", "zwj emoji", "nbsp", "128 characters"],
)
def test_names_of_every_script_are_taken(name: str) -> None:
    """Letters, marks and spaces of any script are a name's own, and so are the zero-width (non-)joiners that spell
    Persian and Indic words and emoji sequences."""
    for field in _NAME_FIELDS:
        doc = scene(TWO_ROOMS)
        _named(doc, field, name)
        parse_description(json.dumps(doc).encode())  # no error


def test_the_unprintable_class_is_unicodes_control_format_and_separator_characters() -> None:
    """The class spelled out in the model is Unicode's Cc, Cf, Zl, Zp and Cs for the running Python, less the
    zero-width non-joiner and joiner: a Python of a later Unicode adds format characters to it here."""
    import sys
    import unicodedata

    from sceneforge.model.description import UNPRINTABLE

    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    found = {ord(c) for c in UNPRINTABLE.findall(everything)}
    expected = {
        p for p in range(sys.maxunicode + 1) if unicodedata.category(chr(p)) in {"Cc", "Cf", "Zl", "Zp", "Cs"}
    } - {0x200C, 0x200D}
    assert found == expected


def test_a_too_long_or_empty_id_is_the_schemas_length_error() -> None:
    doc = scene(TWO_ROOMS)
    doc["cells"][0]["cellId"] = doc["portals"][0]["between"][0] = "k" * 129
    doc["cells"][1]["cellId"] = doc["portals"][0]["between"][1] = ""
    with pytest.raises(SceneInvalid) as info:
        parse_description(json.dumps(doc).encode())
    codes = {i.path: i.code for i in info.value.issues}
    assert codes["/cells/0/cellId"] == "string_too_long" and codes["/cells/1/cellId"] == "string_too_short"


def test_an_asset_name_without_its_prefix_says_so() -> None:
    doc = scene(TWO_ROOMS)
    doc["materials"]["plaster"] = {"baseColorTexture": "wood.png"}
    with pytest.raises(SceneInvalid) as info:
        parse_description(json.dumps(doc).encode())
    [issue] = info.value.issues
    assert (issue.path, issue.code) == ("/materials/plaster/baseColorTexture", "string_pattern_mismatch")
    assert issue.message == "must be 'asset:<id>', got 'wood.png'"
