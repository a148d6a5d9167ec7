"""Tagged GLBs a hostile or unusual exporter writes: each is refused with a clear error at its glTF
pointer, or builds as a renderer would draw it — never a crash, a silent loss or unbounded memory."""

from __future__ import annotations

import base64
import json
import re
import struct
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge import jsontext
from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.config import Limits
from sceneforge.errors import MAX_ISSUES, LimitExceeded, SceneInvalid
from sceneforge.ingest.gltf_accessors import AccessorReader
from sceneforge.ingest.gltf_read import GltfDocument, quat_matrices
from sceneforge.ingest.tagged_glb import tagged_glb_to_ir
from sceneforge.jsontext import JsonTextError
from sceneforge.model.description import UNPRINTABLE

from .blender_fixture import DOOR_QUAD, blender_scene, pack_glb, tiny_png

LIMITS = Limits()
FIXTURE = blender_scene()


def _split(glb: bytes) -> tuple[dict[str, Any], bytes]:
    n = struct.unpack_from("<I", glb, 12)[0]
    rest = glb[20 + n :]
    return json.loads(glb[20 : 20 + n]), rest[8:] if rest else b""


def _edit(change: Any, glb: bytes = FIXTURE) -> bytes:
    gltf, binary = _split(glb)
    change(gltf)
    return pack_glb(gltf, binary)


def _calls(monkeypatch: pytest.MonkeyPatch, method: str, owner: type = GltfDocument) -> list[int]:
    """The index arguments of every call of ``owner.<method>`` from now on, in order."""
    calls: list[int] = []
    original = getattr(owner, method)

    def counting(self: Any, index: int) -> Any:
        calls.append(index)
        return original(self, index)

    monkeypatch.setattr(owner, method, counting)
    return calls


def _node(gltf: dict[str, Any], name: str) -> int:
    return next(i for i, n in enumerate(gltf["nodes"]) if n.get("name") == name)


def _issues(glb: bytes) -> list[tuple[str, str, str]]:
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(glb, LIMITS)
    return [(i.path, i.code, i.message) for i in err.value.issues]


def _with_text(glb: bytes, old: str, new: str) -> bytes:
    """``glb`` with ``old`` replaced by ``new`` in its JSON text (for escapes json.dumps never writes)."""
    gltf, binary = _split(glb)
    text = json.dumps(gltf, separators=(",", ":"))
    assert old in text
    raw = text.replace(old, new).encode()
    raw += b" " * (-len(raw) % 4)
    body = struct.pack("<II", len(raw), 0x4E4F534A) + raw
    binary += b"\x00" * (-len(binary) % 4)
    body += struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


# -- ids and text ------------------------------------------------------------------------------


def test_ids_with_a_trailing_newline_are_refused_as_descriptions_refuse_them() -> None:
    def kitchen(gltf: dict[str, Any]) -> None:
        gltf["nodes"][_node(gltf, "Kitchen")]["extras"]["cellId"] = "kitchen\n"

    found = _issues(_edit(kitchen))
    assert ("/nodes/6/extras/cellId", "cell_id_invalid") in [(p, c) for p, c, _ in found]
    found = _issues(_edit(lambda g: g["scenes"][0].update(extras={"sceneId": "level\n"})))
    assert [(p, c) for p, c, _ in found] == [("/scenes/0/extras/sceneId", "scene_id_invalid")]


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\x85", "\u200b"], ids=["RLO", "LRI", "NEL", "ZWSP"])
def test_ids_and_prop_names_with_an_invisible_character_are_refused_as_descriptions_refuse_them(char: str) -> None:
    """A cellId or scene prop name holding a bidi override or isolate, a C1 control or a zero-width space was taken
    from a tagged GLB (only C0 and DEL were refused): a description refuses them, and so does the GLB, naming the
    character and escaping it in the message."""

    def kitchen(gltf: dict[str, Any]) -> None:
        gltf["nodes"][_node(gltf, "Kitchen")]["extras"]["cellId"] = f"kit{char}chen"

    found = _issues(_edit(kitchen))
    [message] = [m for p, c, m in found if (p, c) == ("/nodes/6/extras/cellId", "cell_id_invalid")]
    assert f"U+{ord(char):04X} " in message and "at character 4 " in message and char not in message, message
    found = _issues(_edit(lambda g: g["scenes"][0].update(extras={"props": {f"fl{char}oor": "2"}})))
    assert [(p, c) for p, c, _ in found] == [(f"/scenes/0/extras/props/fl{char}oor", "props_invalid")]
    assert f"U+{ord(char):04X} " in found[0][2] and char not in found[0][2]
    ir, _ = tagged_glb_to_ir(_edit(lambda g: g["scenes"][0].update(extras={"props": {"Küche": "厨房\n"}})), LIMITS)
    assert ir.props == {"Küche": "厨房\n"}


LONE_SURROGATES = [
    ('"cellId":"kitchen"', '"cellId":"kit\\ud800chen"', "/nodes/6/extras/cellId"),
    ('"name":"Table"', '"name":"Ta\\udc00ble"', "/nodes/2/name"),
    ('"name":"Scene"', '"name":"Scene","extras":{"props":{"note":"\\udfff"}}', "/scenes/0/extras/props/note"),
    ('"name":"Scene"', '"name":"Scene","extras":{"props":{"\\ud83d":"x"}}', "/scenes/0/extras/props"),
]
LONE_SURROGATE_IDS = ["cellId", "node name", "prop value", "prop name"]


@pytest.mark.parametrize(("old", "new", "pointer"), LONE_SURROGATES, ids=LONE_SURROGATE_IDS)
def test_lone_surrogate_escapes_are_refused_at_their_pointer(old: str, new: str, pointer: str, tmp_path: Path) -> None:
    glb = _with_text(FIXTURE, old, new)
    found = _issues(glb)
    assert [(p, c) for p, c, _ in found] == [(pointer, "glb_invalid")], found
    assert "surrogate" in found[0][2]
    # the build and its cache (which hashes ids and names as UTF-8) say the same, with no traceback
    with pytest.raises(SceneInvalid):
        compile_scene(glb)
    from sceneforge.storage.cellcache import DirCellCache

    with pytest.raises(SceneInvalid):
        compile_scene(glb, BuildOptions(cache=DirCellCache(tmp_path / "cache")))


@pytest.mark.parametrize(("old", "new", "pointer"), LONE_SURROGATES, ids=LONE_SURROGATE_IDS)
def test_a_glb_refuses_a_lone_surrogate_with_the_request_bodies_check(old: str, new: str, pointer: str) -> None:
    """One check, jsontext's: the same JSON text is refused at the same pointer, in the same words, whether it is a
    GLB's JSON chunk or a request body (only the code differs: every unreadable GLB is ``glb_invalid``)."""
    text = json.dumps(_split(FIXTURE)[0], separators=(",", ":")).replace(old, new)  # the JSON chunk _with_text makes
    with pytest.raises(JsonTextError) as refused:
        jsontext.loads(text)
    assert refused.value.code == "json_lone_surrogate"
    found = _issues(_with_text(FIXTURE, old, new))
    assert found == [(pointer, "glb_invalid", refused.value.message)] and refused.value.pointer == pointer


def test_surrogate_pairs_are_characters_and_build() -> None:
    glb = _with_text(FIXTURE, '"cellId":"kitchen"', '"cellId":"kitchen \\ud83d\\udeaa"')
    glb = _with_text(glb, '"to":"kitchen"', '"to":"kitchen \\ud83d\\udeaa"')
    glb = _with_text(glb, '"from":"kitchen"', '"from":"kitchen \\ud83d\\udeaa"')
    result = compile_scene(glb)
    assert "kitchen \U0001f6aa" in json.dumps(result.meta, ensure_ascii=False)


# -- materials ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("floor_name", "wall_name"), [("Paint", "Paint"), ("material1", None)], ids=["same name", "name of a fallback id"]
)
def test_materials_sharing_an_id_keep_their_own_colour_and_texture(floor_name: str, wall_name: str | None) -> None:
    def rename(gltf: dict[str, Any]) -> None:
        gltf["materials"][0]["name"] = floor_name  # Floor: brown, untextured
        if wall_name is None:
            gltf["materials"][1].pop("name")  # Wall: white, textured; its fallback id is material1
        else:
            gltf["materials"][1]["name"] = wall_name

    ir, _ = tagged_glb_to_ir(_edit(rename), LIMITS)
    looks = {
        (ir.materials[s.material].base_color, ir.materials[s.material].texture is not None)
        for c in ir.cells
        for s in c.surfaces
    }
    assert looks == {((0.5, 0.4, 0.3, 1.0), False), ((0.9, 0.9, 0.85, 1.0), True)}
    assert len(ir.materials) == 2


# -- transforms --------------------------------------------------------------------------------


def _no_room_meshes(gltf: dict[str, Any]) -> None:
    """Cells with no geometry: a portal's facing comes from its mesh's own front face then."""
    for name in ("HallRoom", "KitchenRoom", "Table"):
        gltf["nodes"][_node(gltf, name)].pop("mesh")


def _door_normal(glb: bytes) -> np.ndarray:
    ir, _ = tagged_glb_to_ir(glb, LIMITS)
    door = next(p for p in ir.portals if p.from_cell == "hall")
    q = door.quad
    n = np.cross(q[2] - q[0], q[3] - q[1])
    return np.round(n / np.linalg.norm(n), 6)


@pytest.mark.parametrize("how", ["scale", "matrix", "parent"])
def test_mirrored_portal_mesh_faces_the_side_a_renderer_draws_as_its_front(how: str) -> None:
    """glTF draws a mirrored node's triangles clockwise (§3.7.4): the door plane, flipped along its
    own width, still shows its front to the kitchen, so its portal still faces into ``to``."""

    def mirror(gltf: dict[str, Any]) -> None:
        _no_room_meshes(gltf)
        door = gltf["nodes"][_node(gltf, "Door")]
        if how == "scale":
            door["scale"] = [-1.0, 1.0, 1.0]
        elif how == "matrix":  # the same transform as one column-major matrix
            rot_y = np.array([[0.0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 1]])
            m = rot_y @ np.diag([-1.0, 1, 1, 1])
            m[:3, 3] = door.pop("translation")
            door.pop("rotation")
            door["matrix"] = m.T.reshape(-1).tolist()
        else:  # a mirroring empty above it, and the door mirrored back inside it along x
            level = gltf["nodes"][_node(gltf, "Level")]
            i = level["children"].index(_node(gltf, "Door"))
            gltf["nodes"].append({"name": "Mirror", "scale": [1.0, 1.0, -1.0], "children": [_node(gltf, "Door")]})
            level["children"][i] = len(gltf["nodes"]) - 1

    plain = _door_normal(_edit(_no_room_meshes))
    assert plain.tolist() == [1.0, 0.0, 0.0]
    np.testing.assert_array_equal(_door_normal(_edit(mirror)), plain)


# -- counts that claim more than the file holds ---------------------------------------------------


def _zero_accessor(gltf: dict[str, Any], count: int, component: int, kind: str) -> int:
    """An accessor without a bufferView: ``count`` zeros the reader allocates, from a few bytes of JSON."""
    gltf["accessors"].append({"componentType": component, "count": count, "type": kind})
    return len(gltf["accessors"]) - 1


def test_accessor_without_buffer_view_counts_its_bytes_against_the_upload_limit() -> None:
    def table_of_zeros(gltf: dict[str, Any]) -> None:
        prim = gltf["meshes"][gltf["nodes"][_node(gltf, "Table")]["mesh"]]["primitives"][0]
        prim["attributes"] = {"POSITION": _zero_accessor(gltf, 300_000, 5126, "VEC3")}  # 3.6 MB of zeros
        prim.pop("indices")

    glb = _edit(table_of_zeros)
    assert len(glb) < 10_000
    limits = Limits(max_upload_bytes=1_000_000)
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(glb, limits)
    assert err.value.limit == "SCENEFORGE_MAX_UPLOAD_BYTES"
    assert err.value.value == len(glb) + 3_600_000
    [issue] = err.value.issues
    assert issue.path == f"/accessors/{len(_split(glb)[0]['accessors']) - 1}/count"
    assert "no bufferView" in issue.message
    tagged_glb_to_ir(glb, Limits(max_upload_bytes=4_000_000))  # within the limit it is read (all degenerate)


def test_portal_mesh_triangles_count_against_the_triangle_limit_before_decoding() -> None:
    """A doorway drawn as a strip of a million zero indices: it used to be decoded whole (the
    triangle limit counted cell geometry only), ~200 bytes per triangle — 12 GB from a 7 kB file."""

    def strip(gltf: dict[str, Any]) -> None:
        prim = gltf["meshes"][gltf["nodes"][_node(gltf, "Hatch")]["mesh"]]["primitives"][0]
        prim["indices"], prim["mode"] = _zero_accessor(gltf, 60_000_000, 5125, "SCALAR"), 5

    glb = _edit(strip)
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(glb, LIMITS)
    assert err.value.limit == "SCENEFORGE_MAX_TRIANGLES" and err.value.value > 59_999_998
    assert "portal meshes" in err.value.issues[0].message


@pytest.mark.parametrize(("mode", "indexed"), [(0, False), (0, True), (1, True), (2, False), (3, True)])
def test_portal_mesh_points_and_lines_count_against_the_triangle_limit_before_decoding(
    mode: int, indexed: bool
) -> None:
    """A doorway drawn as points or lines is read and outlined vertex by vertex (a wire outline is a doorway), yet
    only triangles were counted: a doorway of 100,000 points drawn by ten portal nodes took 5 s from a 1 MB file,
    and a mesh of the limit's points drawn by each of 60,000 portal nodes would run for hours. Each vertex such a
    primitive draws now counts as a triangle, before anything is decoded."""
    count = 1_000

    def wire(gltf: dict[str, Any]) -> None:
        prim = gltf["meshes"][gltf["nodes"][_node(gltf, "Door")]["mesh"]]["primitives"][0]
        prim["mode"] = mode
        if indexed:
            prim["indices"] = _zero_accessor(gltf, count, 5125, "SCALAR")
        else:
            prim.pop("indices")
            prim["attributes"] = {"POSITION": _zero_accessor(gltf, count, 5126, "VEC3")}

    glb = _edit(wire)
    hatch = 2  # the other doorway's triangles
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(glb, Limits(max_triangles=count + hatch - 1))
    assert err.value.limit == "SCENEFORGE_MAX_TRIANGLES" and err.value.value == count + hatch
    assert err.value.issues[0].path == "/meshes" and "points and lines" in err.value.issues[0].message
    with pytest.raises(SceneInvalid) as within:  # within the limit it is read: every point at the origin
        tagged_glb_to_ir(glb, Limits(max_triangles=count + hatch))
    assert [i.code for i in within.value.issues] == ["degenerate"]


# -- node hierarchies ----------------------------------------------------------------------------


def _deep_chains(chains: int, depth: int) -> bytes:
    """The fixture with ``chains`` chains of ``depth`` empties below the hall, a rotated leaf at each end."""

    def grow(gltf: dict[str, Any]) -> None:
        nodes, hall = gltf["nodes"], gltf["nodes"][_node(gltf, "Hall")]
        for _ in range(chains):
            first = len(nodes)
            hall["children"].append(first)
            nodes.extend({"children": [first + k + 1]} for k in range(depth - 1))
            nodes.append({"rotation": [0.0, 0.6, 0.0, 0.8]})

    return _edit(grow)


def test_deep_node_chains_cost_memory_per_node_not_per_node_times_depth() -> None:
    """Each node used to carry the tuple of all its ancestors (and look its owning cell up along
    it): 20 chains 500 deep peaked at 147 bytes per file byte (31 for as many nodes side by side),
    growing with the depth; each node now knows its parent only (~50)."""
    glb = _deep_chains(20, 500)
    tracemalloc.start()
    try:
        ir, _ = tagged_glb_to_ir(glb, LIMITS)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [c.cell_id for c in ir.cells] == ["hall", "kitchen"]
    assert peak / len(glb) < 80, peak / len(glb)
    with pytest.raises(SceneInvalid) as err:  # past the depth limit: still refused
        tagged_glb_to_ir(_deep_chains(1, 513), LIMITS)
    assert "deeper than 512 levels" in err.value.issues[0].message


@settings(max_examples=60, deadline=None)
@given(
    rotation=st.lists(st.floats(-2, 2), min_size=4, max_size=4) | st.none(),
    scale=st.lists(st.floats(-3, 3), min_size=3, max_size=3) | st.none(),
    translation=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3) | st.none(),
)
def test_node_transform_is_translation_rotation_scale_bit_for_bit(
    rotation: list[float] | None, scale: list[float] | None, translation: list[float] | None
) -> None:
    """local_matrix (Python floats per node) gives exactly T·R·S of the array formula; a zero rotation
    is refused at its pointer."""
    node = {k: v for k, v in (("rotation", rotation), ("scale", scale), ("translation", translation)) if v is not None}
    doc = GltfDocument({"nodes": [node]}, [])
    q = np.asarray(rotation if rotation is not None else [0.0, 0.0, 0.0, 1.0])
    norm = float(np.linalg.norm(q))
    if not norm > 0:
        with pytest.raises(SceneInvalid) as err:
            doc.local_matrix(0)
        assert [i.path for i in err.value.issues] == ["/nodes/0/rotation"]
        return
    expected = np.eye(4)
    expected[:3, :3] = quat_matrices((q / norm)[None])[0] * np.asarray(scale if scale is not None else [1.0, 1.0, 1.0])
    expected[:3, 3] = translation if translation is not None else [0.0, 0.0, 0.0]
    assert doc.local_matrix(0).tobytes() == expected.tobytes()


@pytest.mark.parametrize(("key", "n"), [("translation", 3), ("rotation", 4), ("scale", 3), ("matrix", 16)])
def test_node_transform_given_as_null_is_refused_at_its_pointer(key: str, n: int) -> None:
    """``"translation": null`` was read as an empty array: numpy's broadcast error (or, for a rotation,
    '() is not a rotation') reported as 'the GLB does not decode' at the root."""

    def null(gltf: dict[str, Any]) -> None:
        table = gltf["nodes"][_node(gltf, "Table")]
        if key == "matrix":
            for k in ("translation", "rotation", "scale"):
                table.pop(k)
        table[key] = None

    table = _node(_split(FIXTURE)[0], "Table")
    assert _issues(_edit(null)) == [(f"/nodes/{table}/{key}", "glb_invalid", f"must be {n} finite numbers")]


@pytest.mark.parametrize("size", [1e155, 9e299])
def test_node_rotation_of_any_finite_length_is_the_same_turn(size: float) -> None:
    """A rotation whose parts square past a double had an infinite length, and divided by it every part
    became 0: the node silently took no rotation at all (the identity), where a renderer turns it."""
    s, c = float(np.sin(np.pi / 8)), float(np.cos(np.pi / 8))
    huge = GltfDocument({"nodes": [{"rotation": [0.0, s * size, 0.0, c * size]}]}, [])
    unit = GltfDocument({"nodes": [{"rotation": [0.0, s, 0.0, c]}]}, [])
    np.testing.assert_allclose(huge.local_matrix(0), unit.local_matrix(0), atol=1e-15)
    assert not np.allclose(huge.local_matrix(0), np.eye(4))


# -- numbers beyond a double --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "pointer", "code"),
    [
        ("metallic", "/materials/0/pbrMetallicRoughness/metallicFactor", "glb_invalid"),
        ("roughness", "/materials/1/pbrMetallicRoughness/roughnessFactor", "glb_invalid"),
        ("quad", "/nodes/3/extras/quad", "portal_invalid"),
    ],
)
def test_integer_beyond_a_double_is_refused_at_its_pointer(where: str, pointer: str, code: str) -> None:
    """JSON integers have no limit; one of 400 digits used to raise inside numpy (a TypeError or
    OverflowError), reported as 'the GLB does not decode' at the root."""
    huge = 10**400

    def change(gltf: dict[str, Any]) -> None:
        if where == "metallic":
            gltf["materials"][0]["pbrMetallicRoughness"]["metallicFactor"] = huge
        elif where == "roughness":
            gltf["materials"][1]["pbrMetallicRoughness"]["roughnessFactor"] = -huge
        else:
            gltf["nodes"][_node(gltf, "Hatch")]["extras"]["quad"] = [huge] + [0.0] * 11

    found = _issues(_edit(change))
    assert [(p, c) for p, c, _ in found] == [(pointer, code)], found
    assert len(found[0][2]) < 300


# -- scene props ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extras", "pointer"),
    [
        ({"props": {"floor": 2, "name": "lobby"}}, "/scenes/0/extras/props/floor"),
        ({"props": {"a/b": True}}, "/scenes/0/extras/props/a~1b"),
        ({"props": ["lobby"]}, "/scenes/0/extras/props"),
        ({"sceneforge": {"props": {"level": None}}}, "/scenes/0/extras/sceneforge/props/level"),
    ],
    ids=["number", "boolean", "not an object", "null under sceneforge"],
)
def test_scene_props_that_are_not_strings_are_refused_not_dropped(extras: dict[str, Any], pointer: str) -> None:
    """A Blender scene property ``floor = 2`` was left out of the output's props without a word."""
    found = _issues(_edit(lambda g: g["scenes"][0].update(extras=extras)))
    assert [(p, c) for p, c, _ in found] == [(pointer, "props_invalid")], found
    ir, _ = tagged_glb_to_ir(_edit(lambda g: g["scenes"][0].update(extras={"props": {"floor": "2"}})), LIMITS)
    assert ir.props == {"floor": "2"}


@pytest.mark.parametrize(
    ("props", "pointer"),
    [({"k" * 257: "v"}, "/scenes/0/extras/props/" + "k" * 257), ({"note": "v" * 65537}, "/scenes/0/extras/props/note")],
    ids=["long name", "long value"],
)
def test_scene_props_longer_than_a_description_holds_are_refused(props: dict[str, str], pointer: str) -> None:
    """A description's props hold names of at most 256 characters and values of at most 65,536
    (docs/scene-format.md, Limits); a tagged GLB's were taken at any length, into the output a
    description could not have written."""
    found = _issues(_edit(lambda g: g["scenes"][0].update(extras={"props": props})))
    assert [(p, c) for p, c, _ in found] == [(pointer, "props_invalid")]
    assert "at most 256" in found[0][2] and len(found[0][2]) < 400
    fits = {"k" * 256: "v" * 65536}
    ir, _ = tagged_glb_to_ir(_edit(lambda g: g["scenes"][0].update(extras={"props": fits})), LIMITS)
    assert ir.props == fits


def test_scene_props_are_counted_against_the_prop_limit_before_any_is_read() -> None:
    """A tagged GLB's scene props meet SCENEFORGE_MAX_PROPS, as a description's do: both objects together, each
    counted before its props are read (the third prop here is not a string: read, it would be refused)."""
    extras = {"props": {"a": "1", "b": "2"}, "sceneforge": {"props": {"c": 3}}}
    glb = _edit(lambda g: g["scenes"][0].update(extras=extras))
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(glb, Limits(max_props=2))
    assert (err.value.limit, err.value.value, err.value.maximum) == ("SCENEFORGE_MAX_PROPS", 3, 2)
    assert [(i.path, i.code) for i in err.value.issues] == [("/scenes/0/extras/sceneforge/props", "limit_exceeded")]
    found = _issues(glb)  # within the limit they are read
    assert [(p, c) for p, c, _ in found] == [("/scenes/0/extras/sceneforge/props/c", "props_invalid")], found


def _kitchen_room_matrix(last_row: list[float]) -> Any:
    """An edit giving the kitchen's room node its translation as a matrix whose last row is ``last_row``."""

    def change(gltf: dict[str, Any]) -> None:
        room = gltf["nodes"][_node(gltf, "KitchenRoom")]
        m = np.eye(4)
        m[:3, 3] = room.pop("translation")
        m[3] = last_row
        room["matrix"] = m.T.reshape(-1).tolist()

    return change


@pytest.mark.parametrize(
    "last_row", [[0.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]], ids=["projective", "w 2", "zero"]
)
def test_matrix_that_is_not_affine_is_refused_at_its_pointer(last_row: list[float]) -> None:
    """glTF asks for a node matrix made of translation, rotation and scale (§5.25). The reader
    dropped the last row of a projective one, but not from the product with its parent's, so the
    kitchen's geometry was sheared by its parent's translation: placed where no viewer draws it."""
    found = _issues(_edit(_kitchen_room_matrix(last_row)))
    room = _node(_split(FIXTURE)[0], "KitchenRoom")
    assert [(p, c) for p, c, _ in found] == [(f"/nodes/{room}/matrix", "glb_invalid")]
    assert "affine" in found[0][2]


def test_matrix_with_float_noise_in_its_last_row_builds_as_its_translation_does() -> None:
    ir, _ = tagged_glb_to_ir(_edit(_kitchen_room_matrix([0.0, 1e-9, 0.0, 1.0 + 1e-9])), LIMITS)
    plain, _ = tagged_glb_to_ir(FIXTURE, LIMITS)
    np.testing.assert_array_equal(ir.cells[1].aabb(), plain.cells[1].aabb())


# -- textures -------------------------------------------------------------------------------------


def _wall_image(change: Any) -> bytes:
    def edit(gltf: dict[str, Any]) -> None:
        change(gltf["images"][0], gltf["textures"][0])

    return _edit(edit)


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda image, _t: (image.pop("bufferView"), image.update(uri="textures/wall.png")), "/images/0"),
        (lambda image, _t: (image.pop("bufferView"), image.update(uri="file:///etc/passwd")), "/images/0"),
        (lambda _i, texture: texture.pop("source"), "/textures/0"),
    ],
    ids=["relative file", "file URL", "no source"],
)
def test_texture_not_embedded_is_dropped_with_a_warning_as_documented(change: Any, pointer: str) -> None:
    """docs/scene-format.md: a texture that is not an embedded PNG is dropped (texture_unsupported).
    An image beside the GLB refused the whole build instead, and a texture with no source image
    (an extension's KTX2 or WebP) was dropped without a warning. The file is never opened."""
    ir, warnings = tagged_glb_to_ir(_wall_image(change), LIMITS)
    assert [(w.path, w.code, w.severity) for w in warnings] == [(pointer, "texture_unsupported", "warning")]
    assert ir.materials["Wall"].texture is None and ir.materials["Wall"].base_color == (0.9, 0.9, 0.85, 1.0)


def test_a_jpeg_texture_is_dropped_saying_how_blender_writes_a_png() -> None:
    def jpeg(image: dict[str, Any], _texture: dict[str, Any]) -> None:
        image.pop("bufferView")
        image.update(uri="data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==", mimeType="image/jpeg")

    _ir, warnings = tagged_glb_to_ir(_wall_image(jpeg), LIMITS)
    (warning,) = warnings
    assert (warning.path, warning.code) == ("/images/0", "texture_unsupported")
    assert "(image/jpeg) is not a PNG" in warning.message and "Images → Automatic" in warning.message


def test_an_image_many_materials_show_is_told_once_and_its_name_shown_short() -> None:
    """An image that is dropped was told once per material showing it, its name whole each time: 1,000 materials
    showing one JPEG named with a million characters made 954 MiB of warnings (and of meta JSON) from 1 MB."""

    def shown_by_many(gltf: dict[str, Any]) -> None:
        image = gltf["images"][0]
        image.pop("bufferView")
        image.update(uri="data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==", mimeType="image/jpeg", name="x" * 100_000)
        wall = gltf["materials"][1]
        gltf["materials"] += [dict(wall, name=f"Wall{k}") for k in range(50)]

    _ir, warnings = tagged_glb_to_ir(_edit(shown_by_many), LIMITS)
    (warning,) = warnings
    assert (warning.path, warning.code) == ("/images/0", "texture_unsupported")
    assert f"image {'x' * 60!r} (image/jpeg) is not a PNG" in warning.message and len(warning.message) < 400


def test_an_image_many_materials_show_is_read_once_and_images_naming_one_view_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every material copied and hashed its texture's image again: 100 materials showing one 10 MB
    image took 1.5 s, and the material limit allows 20,000 (used or not). An image is read once; distinct
    images naming one view each read it, which counts against SCENEFORGE_MAX_UPLOAD_BYTES as the
    accessors' reads do (at the image's bufferView)."""

    def materials(count: int, images: bool) -> Any:
        def edit(gltf: dict[str, Any]) -> None:
            for k in range(count):
                if images:
                    gltf["images"].append(dict(gltf["images"][0]))
                    gltf["textures"].append({"source": len(gltf["images"]) - 1})
                texture = len(gltf["textures"]) - 1
                pbr = {"baseColorTexture": {"index": texture}}
                gltf["materials"].append({"name": f"Tile{k}", "pbrMetallicRoughness": pbr})

        return edit

    shown = _edit(materials(100, images=False))
    read = _calls(monkeypatch, "view_bytes", AccessorReader)
    ir, _ = tagged_glb_to_ir(shown, LIMITS)
    image_view = _split(shown)[0]["images"][0]["bufferView"]
    assert read.count(image_view) == 1
    assert {ir.materials[f"Tile{k}"].texture for k in range(100)} == {ir.materials["Wall"].texture}
    monkeypatch.undo()

    many = _edit(materials(100, images=True))
    limits = Limits(max_upload_bytes=len(many) + 500)
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(many, limits)
    assert err.value.limit == "SCENEFORGE_MAX_UPLOAD_BYTES"
    assert re.fullmatch(r"/images/\d+/bufferView", err.value.issues[0].path), err.value.issues[0].path
    tagged_glb_to_ir(_edit(materials(100, images=False)), limits)  # one image: within the same limit


@pytest.mark.parametrize("component", [5120, 5121, 5122, 5123, 5125])
def test_normalized_accessor_reads_as_gltf_defines_or_is_refused_at_its_pointer(component: int) -> None:
    """glTF normalizes 8- and 16-bit integers only: a normalized unsigned 32-bit accessor failed on a
    missing table entry, reported as 'the GLB does not decode: 5125' at the root."""

    def normalized(gltf: dict[str, Any]) -> None:
        gltf["accessors"][0].update(componentType=component, normalized=True)

    glb = _edit(normalized)
    if component != 5125:
        tagged_glb_to_ir(glb, LIMITS)
        return
    message = "normalized integers are 8- or 16-bit (componentType 5120–5123), not unsigned 32-bit (5125)"
    assert _issues(glb) == [("/accessors/0/normalized", "glb_invalid", message)]


def test_embedded_png_that_does_not_read_is_dropped_with_a_warning() -> None:
    """An image with the PNG signature and broken chunks after it was written into the output as it
    came (a texture no renderer decodes), without a word; a description's PNG asset is checked."""
    png = tiny_png()
    glb = FIXTURE.replace(png, png[:8] + bytes(len(png) - 8))
    assert glb != FIXTURE
    ir, warnings = tagged_glb_to_ir(glb, LIMITS)
    [(path, code, message)] = [(w.path, w.code, w.message) for w in warnings]
    assert (path, code) == ("/images/0", "texture_unsupported") and "not a readable PNG" in message, message
    assert ir.materials["Wall"].texture is None


def test_data_uri_that_is_not_base64_says_so() -> None:
    found = _issues(_wall_image(lambda image, _t: (image.pop("bufferView"), image.update(uri="data:image/png,%89PNG"))))
    assert found == [("/images/0/uri", "glb_invalid", "a data URI must hold base64 (data:<type>;base64,<data>)")]


# -- scenes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("default", [None, 0], ids=["no scene", "scene 0"])
def test_cells_in_another_scene_than_the_one_read_say_which_scene_was_read(default: int | None) -> None:
    """A file whose first scene is empty (and names no default ``scene``) said only 'no node is tagged
    as a cell ... none on nodes', though its second scene holds both cells."""

    def empty_first(gltf: dict[str, Any]) -> None:
        gltf.pop("scene")
        gltf["scenes"].insert(0, {"name": "Empty", "nodes": []})
        if default is not None:
            gltf["scene"] = default

    [(pointer, code, message)] = _issues(_edit(empty_first))
    assert (pointer, code) == ("/nodes", "no_cells")
    assert "scene 0 'Empty' of 2 scenes is read" in message
    assert ("names no default 'scene'" in message) == (default is None)


@pytest.mark.parametrize("stride", [-4, 2.5, "12"])
def test_meshopt_view_with_a_bad_stride_is_refused_at_its_pointer(stride: Any) -> None:
    def compress(gltf: dict[str, Any]) -> None:
        ext = {"buffer": 0, "byteLength": 16, "byteStride": stride, "count": 4, "mode": "ATTRIBUTES"}
        gltf["bufferViews"][1]["extensions"] = {"EXT_meshopt_compression": ext}
        gltf["extensionsUsed"] = ["EXT_meshopt_compression"]

    found = _issues(_edit(compress))
    assert [(p, c) for p, c, _ in found] == [("/bufferViews/1/extensions/EXT_meshopt_compression", "glb_invalid")]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda views: views[0].pop("byteLength"), "/bufferViews/0/byteLength"),
        (lambda views: views[0].update(byteOffset=-4), "/bufferViews/0/byteOffset"),
        (lambda views: views[0].update(buffer=-1), "/bufferViews/0/buffer"),
        (lambda views: views[1]["extensions"]["EXT_meshopt_compression"].update(buffer=float("inf")), "/bufferViews/1"),
    ],
    ids=["no byteLength", "negative offset", "buffer -1", "infinite buffer"],
)
def test_views_of_a_meshopt_file_are_refused_at_their_pointer(change: Any, pointer: str) -> None:
    """A meshopt file's views are rewritten before the file is read: a plain view without byteLength
    raised a KeyError there, and a compressed view naming buffer Infinity an OverflowError, both reported
    as 'the GLB does not decode' at the root; buffer -1 read the last buffer."""

    def compress(gltf: dict[str, Any]) -> None:
        ext = {"buffer": 0, "byteLength": 16, "byteStride": 12, "count": 4, "mode": "ATTRIBUTES"}
        gltf["bufferViews"][1]["extensions"] = {"EXT_meshopt_compression": ext}
        gltf["extensionsUsed"] = ["EXT_meshopt_compression"]
        change(gltf["bufferViews"])

    [(found, code, message)] = _issues(_edit(compress))
    assert found.startswith(pointer) and code == "glb_invalid", (found, message)
    assert "does not decode" not in message


@pytest.mark.parametrize(
    ("key", "value", "pointer"),
    [
        ("buffers", 1.5, "/buffers"),
        ("bufferViews", 1.5, "/bufferViews"),
        ("bufferViews", ["view"], "/bufferViews/0"),
    ],
)
def test_arrays_of_a_meshopt_file_that_are_not_arrays_are_refused_at_their_pointer(
    key: str, value: Any, pointer: str
) -> None:
    """``"buffers": 1.5`` in a meshopt file raised a TypeError while its views were rewritten ('the GLB does
    not decode' at the root); a view that is a string was 'a buffer view is not a JSON object' at /bufferViews."""

    def compress(gltf: dict[str, Any]) -> None:
        ext = {"buffer": 0, "byteLength": 16, "byteStride": 12, "count": 4, "mode": "ATTRIBUTES"}
        gltf["bufferViews"][1]["extensions"] = {"EXT_meshopt_compression": ext}
        gltf["extensionsUsed"] = ["EXT_meshopt_compression"]
        gltf[key] = value

    [(found, code, message)] = _issues(_edit(compress))
    assert (found, code) == (pointer, "glb_invalid") and message == "must be a JSON " + (
        "object" if pointer == "/bufferViews/0" else "array"
    )


# -- instancing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reference", ["string", "negative"])
def test_instancing_accessor_reference_that_is_not_an_index_is_refused_at_its_pointer(reference: str) -> None:
    """EXT_mesh_gpu_instancing attributes were read with int(): "7" was accepted (and the instances
    left out of the triangle count made before decoding), -1 read the file's last accessor."""

    def instance(gltf: dict[str, Any]) -> None:
        table = gltf["nodes"][_node(gltf, "Table")]
        value: Any = "0" if reference == "string" else -1
        table["extensions"] = {"EXT_mesh_gpu_instancing": {"attributes": {"TRANSLATION": value}}}
        gltf["extensionsUsed"] = ["EXT_mesh_gpu_instancing"]

    found = _issues(_edit(instance))
    table = _node(_split(FIXTURE)[0], "Table")
    pointer = f"/nodes/{table}/extensions/EXT_mesh_gpu_instancing/attributes/TRANSLATION"
    assert [(p, c) for p, c, _ in found] == [(pointer, "glb_invalid")], found


# -- portal outlines ------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "indices"), [(2, [0, 1, 2, 3]), (1, [0, 1, 1, 2, 2, 3, 3, 0]), (0, None)])
def test_doorway_drawn_as_a_wire_outline_gives_the_same_portal(mode: int, indices: list[int] | None) -> None:
    """A doorway modelled as four edges (Blender's Loose Edges) or four points is a line or point
    primitive; only triangles were read, so it was 'degenerate: 0 vertices span no area'."""

    def wire(gltf: dict[str, Any]) -> None:
        prim = gltf["meshes"][gltf["nodes"][_node(gltf, "Door")]["mesh"]]["primitives"][0]
        prim["mode"] = mode
        prim.pop("indices")
        if indices is not None:  # line strip / lines over the plane's 4 corners, as a data: URI buffer
            data = np.asarray(indices, "<u2").tobytes()
            uri = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
            gltf["buffers"].append({"byteLength": len(data), "uri": uri})
            gltf["bufferViews"].append({"buffer": len(gltf["buffers"]) - 1, "byteLength": len(data)})
            view = len(gltf["bufferViews"]) - 1
            gltf["accessors"].append(
                {"bufferView": view, "componentType": 5123, "count": len(indices), "type": "SCALAR"}
            )
            prim["indices"] = len(gltf["accessors"]) - 1

    ir, warnings = tagged_glb_to_ir(_edit(wire), LIMITS)
    assert warnings == []
    door = next(p for p in ir.portals if p.from_cell == "hall")
    np.testing.assert_allclose(door.quad, DOOR_QUAD, atol=1e-6)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda g: g["nodes"][_node(g, "Door")].update(translation=[2e6, 1.1, 0.0]), "door mesh"),
        (lambda g: g["nodes"][_node(g, "Door")].update(translation=[1e39, 1.1, 0.0]), "door beyond float32"),
        # scaled far out, the outline's rounding (1e-16 of 1e100) read as non_planar or degenerate
        (lambda g: g["nodes"][_node(g, "Door")].update(scale=[1e100, 1e100, 1e100]), "door scaled far"),
        (lambda g: g["nodes"][_node(g, "Door")].update(scale=[1e100, 1.0, 1.0]), "door stretched far"),
        (
            lambda g: g["nodes"][_node(g, "Hatch")]["extras"].update(
                quad=[1e200, 0, 0, 1e200, 1, 0, 1e200, 1, 1, 1e200, 0, 1]
            ),
            "quad",
        ),
    ],
)
def test_portal_beyond_the_coordinate_range_is_refused_as_a_description_quad_is(change: Any, where: str) -> None:
    """A description's quad must lie within ±1e6 m (docs/limits.md); a GLB portal's did not: a door
    node at x = 1e39 wrote a quad of 1e+39, beyond float32, into the output."""
    found = _issues(_edit(change))
    pointer = "/nodes/3/extras/quad" if where == "quad" else "/nodes/4"
    assert [(p, c) for p, c, _ in found] == [(pointer, "out_of_range")], found


@pytest.mark.parametrize(
    ("old", "new", "pointer"),
    [
        ('"cellId":"kitchen"', '"cellId":"kitchen","cellId":"pantry"', "/nodes/6/extras"),
        ('"scene":0', '"scene":0,"scene":1', ""),
    ],
)
def test_json_member_named_twice_is_refused_as_in_a_description(old: str, new: str, pointer: str) -> None:
    """Parsers disagree on which of two members counts (Python's json takes the last, others the
    first): two viewers could read two scenes from the same file. Descriptions are refused for it
    (json_duplicate_key, docs/limits.md); a GLB's JSON chunk took the last one without a word."""
    found = _issues(_with_text(FIXTURE, old, new))
    assert [(p, c) for p, c, _ in found] == [(pointer, "json_duplicate_key")], found


def test_json_member_named_twice_in_a_meshopt_file_is_refused_before_it_is_rewritten() -> None:
    glb = _with_text(FIXTURE, '"asset":{', '"extensionsUsed":["EXT_meshopt_compression"],"asset":{')
    found = _issues(_with_text(glb, '"cellId":"kitchen"', '"cellId":"kitchen","cellId":"pantry"'))
    assert [(p, c) for p, c, _ in found] == [("/nodes/6/extras", "json_duplicate_key")], found


def _instanced_table_under_stretched_kitchen() -> bytes:
    """The table drawn twice (EXT_mesh_gpu_instancing), turned 45° about z inside a kitchen
    stretched 2× along y: its world transforms hold a shear, as Blender shows such a child."""

    def instance(gltf: dict[str, Any]) -> None:
        data = np.array([[0.0, 0.0, 0.0], [0.3, 0.0, 0.0]], "<f4").tobytes()
        uri = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
        gltf["buffers"].append({"byteLength": len(data), "uri": uri})
        gltf["bufferViews"].append({"buffer": len(gltf["buffers"]) - 1, "byteLength": len(data)})
        view = len(gltf["bufferViews"]) - 1
        gltf["accessors"].append({"bufferView": view, "componentType": 5126, "count": 2, "type": "VEC3"})
        table = gltf["nodes"][_node(gltf, "Table")]
        table["extensions"] = {"EXT_mesh_gpu_instancing": {"attributes": {"TRANSLATION": len(gltf["accessors"]) - 1}}}
        table["rotation"] = [0.0, 0.0, float(np.sin(np.pi / 8)), float(np.cos(np.pi / 8))]
        gltf["nodes"][_node(gltf, "Kitchen")]["scale"] = [1.0, 2.0, 1.0]
        gltf["extensionsUsed"] = ["EXT_mesh_gpu_instancing"]

    return _edit(instance)


def _corners(glb: bytes) -> dict[str, np.ndarray]:
    from sceneforge.ingest.built_glb import read_built_glb

    return {
        c.cell_id: np.unique(
            np.round(np.concatenate([s.positions[s.indices].reshape(-1, 3) for s in c.surfaces]), 4), axis=0
        )
        for c in read_built_glb(glb).cells
    }


def test_sheared_instances_are_built_where_the_scene_puts_them(tmp_path: Path) -> None:
    """EXT_mesh_gpu_instancing stores translation, rotation and scale per instance: a sheared
    transform was written without its shear, so the instanced build drew the table elsewhere than
    the expanded build (--no-instancing) and the scene do. Such copies are geometry now."""
    glb = _instanced_table_under_stretched_kitchen()
    expanded = _corners(compile_scene(glb, BuildOptions(instancing=False)).glb)
    instanced = compile_scene(glb)
    assert "EXT_mesh_gpu_instancing" not in json.dumps(_split(instanced.glb)[0])
    for cell, corners in _corners(instanced.glb).items():
        np.testing.assert_array_equal(corners, expanded[cell])
    # a cell cache gives the same file, built fresh or reused
    from sceneforge.storage.cellcache import DirCellCache

    options = BuildOptions(cache=DirCellCache(tmp_path / "cache"))
    assert compile_scene(glb, options).etag == instanced.etag
    again = compile_scene(glb, options)
    assert again.meta["stats"]["cellsReused"] == 2 and again.etag == instanced.etag


def test_instances_without_shear_stay_instances() -> None:
    glb = _edit(lambda g: None, _instanced_table_under_stretched_kitchen())
    plain = _edit(lambda g: g["nodes"][_node(g, "Kitchen")].update(scale=[2.0, 2.0, 2.0]), glb)
    assert "EXT_mesh_gpu_instancing" in json.dumps(_split(compile_scene(plain).glb)[0])


def _table_instances(rotations: list[list[float]], node_rotation: list[float] | None = None) -> bytes:
    """The table drawn once per rotation (EXT_mesh_gpu_instancing ROTATION), 0.5 m apart along x."""

    def instance(gltf: dict[str, Any]) -> None:
        table = gltf["nodes"][_node(gltf, "Table")]
        attributes = {
            "TRANSLATION": _data_accessor(gltf, [[0.5 * k, 0.0, 0.0] for k in range(len(rotations))], "VEC3"),
            "ROTATION": _data_accessor(gltf, rotations, "VEC4"),
        }
        table["extensions"] = {"EXT_mesh_gpu_instancing": {"attributes": attributes}}
        if node_rotation is not None:
            table["rotation"] = node_rotation
        gltf["extensionsUsed"] = ["EXT_mesh_gpu_instancing"]

    return _edit(instance)


def test_instance_rotations_are_normalised_and_a_zero_one_is_refused_at_its_pointer() -> None:
    """A ROTATION of length 2 scaled its copy 4× (the rotation matrix was built from the quaternion as
    given); renderers normalise it. A zero quaternion, which turns no definite way, is refused at its
    accessor, as is a zero node rotation (it had silently become no rotation)."""
    s, c = float(np.sin(np.pi / 8)), float(np.cos(np.pi / 8))
    unit = [[0.0, 0.0, 0.0, 1.0], [0.0, s, 0.0, c]]
    scaled = [[0.0, 0.0, 0.0, 2.0], [0.0, 3 * s, 0.0, 3 * c]]

    def transforms(glb: bytes) -> np.ndarray:
        ir, _ = tagged_glb_to_ir(glb, LIMITS)
        return np.concatenate([g.transforms for cell in ir.cells for g in cell.instances])

    expected = transforms(_table_instances(unit))
    np.testing.assert_allclose(np.linalg.det(expected[:, :3, :3]), np.linalg.det(expected[0, :3, :3]))
    np.testing.assert_allclose(transforms(_table_instances(scaled)), expected, atol=1e-6)
    table = _node(_split(FIXTURE)[0], "Table")
    pointer = f"/nodes/{table}/extensions/EXT_mesh_gpu_instancing/attributes/ROTATION"
    found = _issues(_table_instances([unit[0], [0.0, 0.0, 0.0, 0.0]]))
    assert [(p, c) for p, c, _ in found] == [(pointer, "glb_invalid")] and "instance 1" in found[0][2]
    found = _issues(_table_instances(unit, node_rotation=[0.0, 0.0, 0.0, 0.0]))
    assert [(p, c) for p, c, _ in found] == [(f"/nodes/{table}/rotation", "glb_invalid")]
    # a node rotation of any length is the same turn (as it always was)
    np.testing.assert_allclose(
        transforms(_table_instances(unit, node_rotation=[0.0, 2 * s, 0.0, 2 * c])),
        transforms(_table_instances(unit, node_rotation=[0.0, s, 0.0, c])),
        atol=1e-6,
    )


def _wall_uvs(glb: bytes) -> np.ndarray:
    """(position, uv) rows of every Wall-material vertex, in the IR's order (the same for the same mesh)."""
    ir, _ = tagged_glb_to_ir(glb, LIMITS)
    rows = [np.concatenate([s.positions, s.uvs], axis=1) for c in ir.cells for s in c.surfaces if s.material == "Wall"]
    return np.concatenate(rows).astype(np.float64)


def test_texture_transform_moves_the_coordinates_the_texture_reads() -> None:
    """KHR_texture_transform (gltfpack writes one to undo its quantization of texture coordinates)
    was ignored: the wall texture came out tiled 16 times too large."""
    offset, rotation, scale = [0.25, -0.5], 0.5, [4.0, 2.0]

    def transform(gltf: dict[str, Any]) -> None:
        info = gltf["materials"][1]["pbrMetallicRoughness"]["baseColorTexture"]
        ext = {"offset": offset, "rotation": rotation, "scale": scale}
        info["extensions"] = {"KHR_texture_transform": ext}

    plain, moved = _wall_uvs(FIXTURE), _wall_uvs(_edit(transform))
    u, v = plain[:, 3], plain[:, 4]
    c, s = np.cos(rotation), np.sin(rotation)  # the extension's T · R · S, written out
    su, sv = u * scale[0], v * scale[1]
    expected = np.stack([c * su + s * sv + offset[0], -s * su + c * sv + offset[1]], axis=1)
    np.testing.assert_array_equal(moved[:, :3], plain[:, :3])
    np.testing.assert_allclose(moved[:, 3:], expected, atol=1e-6)


def test_base_colour_texture_reads_the_coordinate_set_it_names() -> None:
    """texCoord: 1 names TEXCOORD_1; TEXCOORD_0 was read whatever the material said."""

    def second_set(gltf: dict[str, Any]) -> None:
        prim = gltf["meshes"][0]["primitives"][1]  # the walls
        count = gltf["accessors"][prim["attributes"]["TEXCOORD_0"]]["count"]
        gltf["accessors"].append({"componentType": 5126, "count": count, "type": "VEC2"})  # zeros
        prim["attributes"]["TEXCOORD_1"] = prim["attributes"]["TEXCOORD_0"]
        prim["attributes"]["TEXCOORD_0"] = len(gltf["accessors"]) - 1
        gltf["materials"][1]["pbrMetallicRoughness"]["baseColorTexture"]["texCoord"] = 1

    np.testing.assert_array_equal(_wall_uvs(_edit(second_set)), _wall_uvs(FIXTURE))


def test_a_texture_coordinate_set_the_primitive_lacks_is_a_warning_and_reads_the_first_set() -> None:
    """texCoord: 1 on a primitive with only TEXCOORD_0 gave every vertex the coordinates (0, 0), the
    wall drawn in one texel's colour, without a word. It reads TEXCOORD_0 now, with a warning at the
    primitive's attributes; with no coordinate set at all, the zeros stay and the warning says so."""

    def second_set_named(gltf: dict[str, Any]) -> None:
        gltf["materials"][1]["pbrMetallicRoughness"]["baseColorTexture"]["texCoord"] = 1

    def no_set(gltf: dict[str, Any]) -> None:
        del gltf["meshes"][0]["primitives"][1]["attributes"]["TEXCOORD_0"]

    pointer = "/meshes/0/primitives/1/attributes"
    _, warnings = tagged_glb_to_ir(_edit(second_set_named), LIMITS)
    assert [(w.path, w.code, w.severity) for w in warnings] == [(pointer, "texcoord_missing", "warning")]
    assert "TEXCOORD_1" in warnings[0].message and "'Wall'" in warnings[0].message
    np.testing.assert_array_equal(_wall_uvs(_edit(second_set_named)), _wall_uvs(FIXTURE))

    _, warnings = tagged_glb_to_ir(_edit(no_set), LIMITS)
    assert [(w.path, w.code) for w in warnings] == [(pointer, "texcoord_missing")]
    assert "TEXCOORD_0" in warnings[0].message and "all 0" in warnings[0].message
    assert not _wall_uvs(_edit(no_set))[:, 3:].any()
    # the build reports it with its other warnings (strict JSON in the meta)
    built = compile_scene(_edit(second_set_named))
    assert ("texcoord_missing", pointer) in [(w["code"], w["path"]) for w in built.meta["warnings"]]
    # no warning where the material has no texture, or the set is there
    assert tagged_glb_to_ir(FIXTURE, LIMITS)[1] == []


def test_json_chunk_is_held_to_the_description_limit_before_it_is_parsed() -> None:
    """A GLB may hold 256 MiB (SCENEFORGE_MAX_UPLOAD_BYTES); all of it could be JSON, which parsed
    costs ~25 bytes of memory per byte and ~25 µs per node. Its JSON chunk now meets the limit a
    JSON description does, and is refused before it is parsed."""
    size = struct.unpack_from("<I", FIXTURE, 12)[0]  # the JSON chunk's length
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(FIXTURE, Limits(max_body_bytes=size - 1))
    assert err.value.limit == "SCENEFORGE_MAX_BODY_BYTES" and err.value.value == size
    tagged_glb_to_ir(FIXTURE, Limits(max_body_bytes=size))
    # not parsed first: a chunk of that size that is no JSON at all gets the same answer
    broken = FIXTURE[:20] + b"{" * size + FIXTURE[20 + size :]
    with pytest.raises(LimitExceeded):
        tagged_glb_to_ir(broken, Limits(max_body_bytes=size - 1))


def test_the_scene_id_a_request_s_glb_is_asked_for_holds_its_json_chunk_to_the_description_limit() -> None:
    """Enqueueing a GLB reads its scene id in the API process: its JSON chunk is refused past
    SCENEFORGE_MAX_BODY_BYTES before it is parsed, as the build refuses it (a chunk of the upload limit's
    256 MiB parsed there cost gigabytes)."""
    from sceneforge.jobs.service import check_description

    size = struct.unpack_from("<I", FIXTURE, 12)[0]
    broken = FIXTURE[:20] + b"[" * size + FIXTURE[20 + size :]  # not parsed first: no JSON at all
    for glb in (FIXTURE, broken):
        with pytest.raises(LimitExceeded) as err:
            check_description(glb, Limits(max_body_bytes=size - 1))
        assert err.value.limit == "SCENEFORGE_MAX_BODY_BYTES" and err.value.value == size
    assert check_description(FIXTURE, Limits(max_body_bytes=size)) == "Scene"


def test_the_scene_id_of_a_compressed_glb_is_read_as_the_build_reads_it() -> None:
    """The project's own --compress output requires EXT_meshopt_compression, which the build decodes: asking it
    for its scene id (enqueue) does not refuse it as a file of meshes sceneforge cannot read."""
    from sceneforge.jobs.service import check_description

    first = compile_scene(FIXTURE, BuildOptions(quantize=True, compress=True))
    assert "EXT_meshopt_compression" in _split(first.glb)[0]["extensionsRequired"]
    assert check_description(first.glb, LIMITS) == first.scene_id == compile_scene(first.glb).scene_id


def test_materials_are_counted_against_the_material_limit_before_any_is_read() -> None:
    """Every material of a tagged GLB is read and lowered, used or not: a million empty ones ({}, 3 bytes
    each) took 7 s and 540 MB, and the 32 MiB JSON chunk holds ten million. They meet
    SCENEFORGE_MAX_MATERIALS, as a description's do, counted before any is read (the extra ones here
    would not read: their pbrMetallicRoughness is no object)."""
    glb = _edit(lambda g: g["materials"].extend({"pbrMetallicRoughness": 5} for _ in range(2)))
    count = len(_split(glb)[0]["materials"])
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(glb, Limits(max_materials=count - 1))
    assert (err.value.limit, err.value.value, err.value.maximum) == ("SCENEFORGE_MAX_MATERIALS", count, count - 1)
    assert [(i.path, i.code) for i in err.value.issues] == [("/materials", "limit_exceeded")]
    found = _issues(glb)  # within the limit they are read, and refused at the first one's pointer
    assert [(p, c) for p, c, _ in found] == [(f"/materials/{count - 2}/pbrMetallicRoughness", "glb_invalid")], found


def test_instanced_nodes_are_counted_against_the_instance_group_limit_before_any_is_read() -> None:
    """Each node drawn with EXT_mesh_gpu_instancing becomes an instance group: 20,000 of them (1.8 MB)
    took 8 s to build into a 30 MB file, and the 32 MiB JSON chunk holds 360,000. They meet
    SCENEFORGE_MAX_INSTANCE_GROUPS, as a description's instances do, counted before any is read (the
    copies here name an accessor that does not exist). Instanced nodes outside every cell are not counted."""

    def copies(gltf: dict[str, Any]) -> None:
        table = gltf["nodes"][_node(gltf, "Table")]
        bad = {"EXT_mesh_gpu_instancing": {"attributes": {"TRANSLATION": 10_000}}}
        start = len(gltf["nodes"])
        gltf["nodes"].extend({"mesh": table["mesh"], "extensions": bad} for _ in range(3))
        gltf["nodes"][_node(gltf, "Kitchen")]["children"].extend(range(start, start + 3))
        outside = {"mesh": table["mesh"], "extensions": bad}
        gltf["nodes"].append(outside)
        gltf["scenes"][0]["nodes"].append(len(gltf["nodes"]) - 1)
        gltf["extensionsUsed"] = ["EXT_mesh_gpu_instancing"]

    glb = _edit(copies)
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(glb, Limits(max_instance_groups=2))
    assert (err.value.limit, err.value.value, err.value.maximum) == ("SCENEFORGE_MAX_INSTANCE_GROUPS", 3, 2)
    assert [(i.path, i.code) for i in err.value.issues] == [("/nodes", "limit_exceeded")]
    with pytest.raises(SceneInvalid) as invalid:  # within the limit they are read, and refused at their pointer
        tagged_glb_to_ir(glb, Limits(max_instance_groups=3))
    assert not isinstance(invalid.value, LimitExceeded)
    assert all(i.code == "glb_invalid" for i in invalid.value.issues), invalid.value.issues


# -- required extensions ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["KHR_gaussian_splatting", "EXT_mesh_features", "ADOBE_materials_thin_transparency"])
def test_a_required_extension_sceneforge_does_not_read_is_refused_by_name(name: str) -> None:
    """glTF §3.12: a loader that does not support a required extension must fail to load the file.
    It was built without the extension, as if what it changes were not there."""
    found = _issues(_edit(lambda g: g.update(extensionsUsed=[name], extensionsRequired=[name])))
    assert [(p, c) for p, c, _ in found] == [("/extensionsRequired/0", "glb_invalid")]
    assert repr(name) in found[0][2]


@pytest.mark.parametrize("used", [None, [], ["KHR_mesh_quantization"]])
def test_meshopt_required_but_not_used_is_refused_saying_so_not_as_unsupported(used: list[str] | None) -> None:
    """A file listing EXT_meshopt_compression in extensionsRequired but not in extensionsUsed (glTF §3.12: every
    required extension is used) was told "meshopt-compressed meshes are not supported", though the build reads
    them: the message says which list lacks it."""

    def change(gltf: dict[str, Any]) -> None:
        gltf["extensionsRequired"] = ["EXT_meshopt_compression"]
        gltf.pop("extensionsUsed", None)
        if used is not None:
            gltf["extensionsUsed"] = used

    [(pointer, code, message)] = _issues(_edit(change))
    assert (pointer, code) == ("/extensionsRequired/0", "glb_invalid")
    assert "not supported" not in message and "not listed in extensionsUsed" in message


@pytest.mark.parametrize(
    "name", ["KHR_mesh_quantization", "KHR_texture_transform", "KHR_texture_basisu", "KHR_materials_clearcoat"]
)
def test_required_extensions_read_or_about_what_is_not_kept_still_build(name: str) -> None:
    ir, _ = tagged_glb_to_ir(_edit(lambda g: g.update(extensionsUsed=[name], extensionsRequired=[name])), LIMITS)
    assert [c.cell_id for c in ir.cells] == ["hall", "kitchen"]


# -- vertices no triangle draws --------------------------------------------------------------------


def _data_accessor(gltf: dict[str, Any], rows: list[list[float]], kind: str) -> int:
    data = np.asarray(rows, "<f4").tobytes()
    gltf["buffers"].append({"byteLength": len(data), "uri": "data:;base64," + base64.b64encode(data).decode()})
    gltf["bufferViews"].append({"buffer": len(gltf["buffers"]) - 1, "byteLength": len(data)})
    gltf["accessors"].append(
        {"bufferView": len(gltf["bufferViews"]) - 1, "componentType": 5126, "count": len(rows), "type": kind}
    )
    return len(gltf["accessors"]) - 1


def _with_stray_vertex(mesh_name: str, stray: list[float]) -> Any:
    """An edit giving the first primitive of ``mesh_name`` one more vertex, which no index names."""

    def change(gltf: dict[str, Any]) -> None:
        mesh = next(m for m in gltf["meshes"] if m["name"] == mesh_name)
        prim = mesh["primitives"][0]
        n = gltf["accessors"][prim["attributes"]["POSITION"]]["count"]
        door = [[-0.6, -1.0, 0.0], [0.6, -1.0, 0.0], [0.6, 1.0, 0.0], [-0.6, 1.0, 0.0]]
        floor = [[-2.0, -1.5, -2.0], [2.0, -1.5, -2.0], [2.0, -1.5, 2.0], [-2.0, -1.5, 2.0]]
        positions = door if mesh_name == "DoorPlane" else floor
        assert len(positions) == n
        normals = [[0.0, 0.0, 1.0]] * (n + 1)  # given normals: the surface keeps the vertices as they are
        prim["attributes"] = {
            "POSITION": _data_accessor(gltf, [*positions, stray], "VEC3"),
            "NORMAL": _data_accessor(gltf, normals, "VEC3"),
        }

    return change


def test_cell_beyond_the_coordinate_range_is_refused_naming_the_cell() -> None:
    """At /nodes/<i> alone an artist could not tell which room lay 2,000 km out: the message names its cellId."""
    glb = _edit(lambda g: g["nodes"][_node(g, "KitchenRoom")].update(translation=[2e6, 1.5, 0.0]))
    with pytest.raises(SceneInvalid) as err:
        compile_scene(glb)
    (issue,) = err.value.issues
    assert (issue.code, issue.path) == ("out_of_range", f"/nodes/{_node(_split(glb)[0], 'Kitchen')}")
    assert "cell 'kitchen'" in issue.message and "2e+06 m" in issue.message


@pytest.mark.parametrize("stray", [[3e6, 0.0, 0.0], [float("nan"), 0.0, 0.0]], ids=["far", "NaN"])
def test_vertex_no_triangle_draws_is_left_out_of_the_cell(stray: list[float]) -> None:
    """A vertex no index names is drawn by no renderer, but it counted in the cell's extent and
    checks: one 3,000 km out made the room out_of_range, a NaN one asset_non_finite."""
    plain, _ = tagged_glb_to_ir(_edit(_with_stray_vertex("RoomBox", [0.0, -1.5, 0.0])), LIMITS)
    glb = _edit(_with_stray_vertex("RoomBox", stray))
    if np.isnan(stray[0]):  # JSON has no NaN: write it as the file would hold it, a float32 in the buffer
        glb = _edit(_with_stray_vertex("RoomBox", [1e30, 0.0, 0.0]))
        glb = glb.replace(np.float32(1e30).tobytes(), np.float32("nan").tobytes())
    ir, _ = tagged_glb_to_ir(glb, LIMITS)
    for got, want in zip(ir.cells, plain.cells, strict=True):
        np.testing.assert_array_equal(got.aabb(), want.aabb())
    compile_scene(glb)


def test_vertex_no_triangle_draws_is_left_out_of_a_doorway() -> None:
    """A stray vertex off the door plane made the doorway non_planar; one beside it, a wider door."""
    ir, _ = tagged_glb_to_ir(_edit(_with_stray_vertex("DoorPlane", [0.0, 0.0, 0.5])), LIMITS)  # off the plane
    door = next(p for p in ir.portals if p.from_cell == "hall")
    np.testing.assert_allclose(door.quad, DOOR_QUAD, atol=1e-6)


def test_integer_of_thousands_of_digits_in_the_json_chunk_is_refused_at_its_pointer() -> None:
    found = _issues(_with_text(FIXTURE, '"count":4,', '"count":' + "7" * 5000 + ","))
    assert [(p, c) for p, c, _ in found] == [("/accessors/0/count", "glb_invalid")], found


def test_meshopt_file_reads_a_data_uri_buffer_as_its_own_bytes() -> None:
    """Decoding EXT_meshopt_compression rewrote every buffer as the BIN chunk: a view of a data: URI
    buffer read the BIN chunk's bytes at its offset instead (here the door plane's corners)."""

    def door_in_a_data_uri(gltf: dict[str, Any]) -> None:
        prim = gltf["meshes"][gltf["nodes"][_node(gltf, "Door")]["mesh"]]["primitives"][0]
        corners = [[-0.6, -1.0, 0.0], [0.6, -1.0, 0.0], [0.6, 1.0, 0.0], [-0.6, 1.0, 0.0]]
        prim["attributes"] = {"POSITION": _data_accessor(gltf, corners, "VEC3")}
        gltf["extensionsUsed"] = ["EXT_meshopt_compression"]  # decoded first, with no view to decode

    ir, _ = tagged_glb_to_ir(_edit(door_in_a_data_uri), LIMITS)
    door = next(p for p in ir.portals if p.from_cell == "hall")
    np.testing.assert_allclose(door.quad, DOOR_QUAD, atol=1e-6)


# -- many nodes ------------------------------------------------------------------------------------


def test_a_mesh_many_nodes_draw_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A level of props: 200 nodes drawing one table mesh decoded its accessors 200 times (with
    np.cross's overhead per node's matrix, ~0.2 ms a node: 32 MiB of such nodes took minutes)."""

    def props(gltf: dict[str, Any]) -> None:
        table = gltf["nodes"][_node(gltf, "Table")]
        kitchen = gltf["nodes"][_node(gltf, "Kitchen")]
        first = len(gltf["nodes"])
        gltf["nodes"].extend({"mesh": table["mesh"], "translation": [0.0, 0.01 * k, 0.0]} for k in range(200))
        kitchen["children"].extend(range(first, first + 200))

    glb = _edit(props)
    decoded = _calls(monkeypatch, "accessor")
    ir, _ = tagged_glb_to_ir(glb, LIMITS)
    table = _split(glb)[0]["meshes"][_split(glb)[0]["nodes"][_node(_split(glb)[0], "Table")]["mesh"]]
    attributes = table["primitives"][0]["attributes"]
    assert decoded.count(attributes["POSITION"]) == 1
    kitchen = next(c for c in ir.cells if c.cell_id == "kitchen")
    assert sum(s.triangle_count for s in kitchen.surfaces) == 12 + 12 * 201  # the room, the table and its 200 copies


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=9, max_size=9))
def test_written_out_cross_product_is_numpys_bit_for_bit(values: list[float]) -> None:
    from sceneforge.ingest.surfaces import cross3, det3

    a = np.asarray(values).reshape(3, 3)
    assert cross3(a[:, 0], a[:, 1]).tobytes() == np.cross(a[:, 0], a[:, 1]).tobytes()
    expected = np.einsum("...i,...i->...", a[:, 0], np.cross(a[:, 1], a[:, 2]))
    assert det3(a).tobytes() == expected.tobytes()


def test_nodes_are_counted_against_the_node_limit_before_any_is_walked() -> None:
    """Every node is walked (~25 µs) and a mesh node read (~0.1 ms): 200,000 plain mesh nodes (3.5 MB) held
    validate for 17 s, and the 32 MiB JSON chunk holds 2 million. They meet SCENEFORGE_MAX_GLB_NODES,
    counted before any is walked, whether a scene holds them or not."""
    glb = _edit(lambda g: g["nodes"].extend({} for _ in range(2)))
    count = len(_split(glb)[0]["nodes"])
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(glb, Limits(max_glb_nodes=count - 1))
    assert (err.value.limit, err.value.value, err.value.maximum) == ("SCENEFORGE_MAX_GLB_NODES", count, count - 1)
    assert [(i.path, i.code) for i in err.value.issues] == [("/nodes", "limit_exceeded")]
    ir, _ = tagged_glb_to_ir(glb, Limits(max_glb_nodes=count))  # within it, the same scene as without them
    assert [c.cell_id for c in ir.cells] == [c.cell_id for c in tagged_glb_to_ir(FIXTURE, LIMITS)[0].cells]


def test_primitives_the_nodes_draw_are_counted_against_the_node_limit() -> None:
    """Each primitive a node draws is placed on its own (~0.15 ms), however few triangles it holds: a mesh of 1,000
    one-triangle primitives drawn by 200 nodes (a 56 KB file) took 27 s, and a file under 1 MB reached minutes
    within the triangle limit. A node counts once per primitive of its mesh, before any is placed; a GLB asset's
    nodes likewise."""
    from sceneforge.ingest.asset_check import check_asset
    from sceneforge.ingest.asset_glb import GlbBounds

    def many(g: dict[str, Any]) -> None:  # the rooms' mesh, drawn by both cells, holds 25 copies of its primitives
        room = g["nodes"][_node(g, "HallRoom")]["mesh"]
        g["meshes"][room]["primitives"] *= 25

    glb = _edit(many)
    gltf = _split(glb)[0]
    room = gltf["nodes"][_node(gltf, "HallRoom")]["mesh"]
    drawn = [n["mesh"] for n in gltf["nodes"] if "mesh" in n]  # every mesh node lies in the scene here
    placed = sum(len(gltf["meshes"][m]["primitives"]) for m in drawn)
    assert placed > 2 * len(gltf["meshes"][room]["primitives"]) > len(gltf["nodes"])
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(glb, Limits(max_glb_nodes=placed - 1))
    assert (err.value.limit, err.value.value, err.value.maximum) == ("SCENEFORGE_MAX_GLB_NODES", placed, placed - 1)
    assert "primitives the nodes draw" in err.value.issues[0].message
    tagged_glb_to_ir(glb, Limits(max_glb_nodes=placed))
    with pytest.raises(LimitExceeded) as err:
        check_asset(glb, "glb", path="/a", bounds=GlbBounds(max_nodes=placed - 1))
    assert (err.value.limit, err.value.value) == ("SCENEFORGE_MAX_GLB_NODES", placed)
    check_asset(glb, "glb", path="/a", bounds=GlbBounds(max_nodes=placed))


def test_errors_of_many_nodes_are_listed_as_a_description_s_are() -> None:
    """One error a node, every one listed: 20,000 nodes tagged with a numeric cellId (1.1 MB) were refused with 20,000
    errors (3.3 MB of messages, in the problem and the job); 200,000, the node limit, ten times that. The first
    MAX_ISSUES are listed, then a count of the others, as for a description."""
    extra = MAX_ISSUES + 500

    def tagged_badly(g: dict[str, Any]) -> None:
        first = len(g["nodes"])
        g["nodes"].extend({"name": f"N{k}", "extras": {"type": "cell", "cellId": k}} for k in range(extra))
        g["scenes"][0]["nodes"].extend(range(first, first + extra))

    issues = _issues(_edit(tagged_badly))
    assert len(issues) == MAX_ISSUES + 1
    assert {code for _, code, _ in issues[:-1]} == {"cell_id_invalid"}
    assert issues[-1] == ("", "issues_truncated", f"500 more problems are not listed (at most {MAX_ISSUES:,} are)")


def test_meshes_outside_every_cell_are_named_up_to_a_hundred_and_the_others_counted() -> None:
    """One warning a stray mesh node, each in the build's meta, stored and served with the scene: 20,000 such nodes
    (0.7 MB) made a meta of 3 MB, and the node limit allows ten times that."""
    strays = 250

    def scattered(g: dict[str, Any]) -> None:
        first = len(g["nodes"])
        g["nodes"].extend({"name": f"Stray{k}", "mesh": 1} for k in range(strays))
        g["scenes"][0]["nodes"].extend(range(first, first + strays))

    ir, warnings = tagged_glb_to_ir(_edit(scattered), LIMITS)
    outside = [w for w in warnings if w.code == "mesh_outside_cell"]
    assert len(outside) == 101
    assert [w.message for w in outside[:2]] == [
        f"mesh 'Stray{k}' (node {8 + k}, mesh 'Cube') is not below a cell node; it is ignored" for k in range(2)
    ]
    assert (outside[-1].path, outside[-1].message) == (
        "/nodes",
        "150 more meshes are not below a cell node and are ignored (the first 100 are named)",
    )
    assert [c.cell_id for c in ir.cells] == [c.cell_id for c in tagged_glb_to_ir(FIXTURE, LIMITS)[0].cells]


def test_morph_targets_move_by_default_weights_and_malformed_weights_are_refused() -> None:
    """A morph target moves its mesh by the mesh's default weight (a renderer's rest pose); weights that
    are not one finite number per target are glb_invalid at /meshes/<m>/weights."""
    gltf, _ = _split(FIXTURE)
    m = gltf["nodes"][_node(gltf, "HallRoom")]["mesh"]

    def morph(weights: Any) -> Any:
        def change(doc: dict[str, Any]) -> None:
            for prim in doc["meshes"][m]["primitives"]:
                prim["targets"] = [{"POSITION": prim["attributes"]["POSITION"]}]  # a delta of the positions: ×(1 + w)
            if weights is not None:
                doc["meshes"][m]["weights"] = weights

        return _edit(change)

    def box(glb: bytes) -> Any:
        ir, _ = tagged_glb_to_ir(glb, LIMITS)
        return next(c for c in ir.cells if c.cell_id == "hall").aabb()

    plain = box(FIXTURE)
    np.testing.assert_allclose(box(morph(None)), plain)  # no weights: 0, nothing moves
    np.testing.assert_allclose(box(morph([0.0])), plain)
    size = plain[3:] - plain[:3]
    grown = box(morph([1.0]))
    np.testing.assert_allclose(grown[3:] - grown[:3], 2 * size, rtol=1e-6)  # each position doubled
    for bad in ([1.0, 2.0], ["1"], [float("inf")], 1.0):
        with pytest.raises(SceneInvalid) as err:
            tagged_glb_to_ir(morph(bad), LIMITS)
        assert [(i.path, i.code) for i in err.value.issues] == [(f"/meshes/{m}/weights", "glb_invalid")]


@pytest.mark.parametrize("named_by", ["morph targets", "influence sets"])
def test_an_accessor_one_primitive_names_again_counts_as_read_again(named_by: str) -> None:
    """Thousands of morph targets (or JOINTS_n / WEIGHTS_n sets) naming one accessor cost a few bytes of JSON each,
    but each is applied over every vertex: 2,000 targets of a million vertices took 13 s, 500 influence sets of
    100,000 vertices passed 4 GB. A primitive naming an accessor again reads it again: counted against
    SCENEFORGE_MAX_UPLOAD_BYTES as a view several accessors name is, before it is applied."""
    from .test_skins import _skinned_level

    times = 1_000
    if named_by == "morph targets":
        gltf, binary = _split(FIXTURE)
        prim = gltf["meshes"][gltf["nodes"][_node(gltf, "HallRoom")]["mesh"]]["primitives"][0]
        positions = prim["attributes"]["POSITION"]
        prim["targets"] = [{"POSITION": positions}] * times
        gltf["meshes"][gltf["nodes"][_node(gltf, "HallRoom")]["mesh"]]["weights"] = [0.0] * times
    else:
        gltf, binary = _split(_skinned_level())
        attributes = gltf["meshes"][0]["primitives"][0]["attributes"]
        for k in range(1, times):
            attributes[f"JOINTS_{k}"], attributes[f"WEIGHTS_{k}"] = attributes["JOINTS_0"], attributes["WEIGHTS_0"]
        positions = attributes["WEIGHTS_0"]
    glb = pack_glb(gltf, binary)
    accessor = gltf["accessors"][positions]
    again = (times - 1) * accessor["count"] * {"VEC3": 12, "VEC4": 16}[accessor["type"]]
    with pytest.raises(LimitExceeded) as err:
        tagged_glb_to_ir(glb, Limits(max_upload_bytes=len(glb) + again // 2))
    assert err.value.limit == "SCENEFORGE_MAX_UPLOAD_BYTES" and err.value.issues[0].path.startswith("/accessors/")
    assert "read again" in err.value.issues[0].message
    tagged_glb_to_ir(glb, Limits(max_upload_bytes=len(glb) + 3 * again))  # within the limit it builds


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=30) | st.dictionaries(st.text(max_size=70), inner, max_size=10),
    max_leaves=200,
)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_a_value_shown_in_a_message_reads_as_its_whole_json_cut_at_60_characters(value: Any) -> None:
    from sceneforge.ingest.glb_tags import value_text

    whole = json.dumps(value, ensure_ascii=False, allow_nan=True)
    whole = "".join(json.dumps(c)[1:-1] if UNPRINTABLE.match(c) else c for c in whole)  # escaped, as JSON writes them
    assert value_text(value) == (whole if len(whole) <= 60 else whole[:57] + "...")


@pytest.mark.parametrize(
    "char",
    ["\u202e", "\u2066", "\x85", "\x7f", "\u200b", "\U000e0041"],
    ids=["RLO", "LRI", "NEL", "DEL", "ZWSP", "tag"],
)
def test_a_value_shown_in_a_message_escapes_invisible_characters_and_keeps_letters(char: str) -> None:
    """A tagged GLB's extras value echoed in a message (JSON written with ensure_ascii=False) carried a bidi override,
    a C1 control or a tag character raw into the API's JSON problem: the message read as other text than the file
    held (Trojan Source). They are shown as JSON escapes; letters of every script as they are."""
    found = _issues(_edit(lambda g: g["scenes"][0].update(extras={"sceneId": f"Küche{char}厨房"})))
    [(pointer, code, message)] = found
    assert (pointer, code) == ("/scenes/0/extras/sceneId", "scene_id_invalid")
    assert char not in message and json.dumps(char)[1:-1] in message and "Küche" in message and "厨房" in message
    assert UNPRINTABLE.search(message) is None


def test_a_long_value_shown_in_a_message_is_not_rendered_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cellId (or a portal's end) of a million numbers on a mesh a hundred nodes draw is shown in each node's
    message: rendered whole and then cut, 100 nodes took 11 s from a 2 MB file. Only what the 60 characters show
    is rendered."""
    from sceneforge.ingest import glb_tags

    cell_id = [[0] * 100_000, {"a": "x" * 100_000}]

    def shared_tag(gltf: dict[str, Any]) -> None:
        room = gltf["nodes"][_node(gltf, "HallRoom")]["mesh"]
        gltf["meshes"][room]["extras"] = {"type": "cell", "cellId": cell_id}

    glb, expected = _edit(shared_tag), f"got {json.dumps(cell_id)[:57]}..."
    rendered: list[int] = []
    dumps = json.dumps

    def measured(value: Any, **kwargs: Any) -> str:
        text = dumps(value, **kwargs)
        rendered.append(len(text))
        return text

    monkeypatch.setattr(glb_tags.json, "dumps", measured)
    found = _issues(glb)
    messages = [m for _, code, m in found if code == "cell_id_invalid"]
    assert len(messages) == 2 and all(m.endswith(expected) for m in messages), messages  # both nodes drawing it
    assert rendered and max(rendered) < 1_000, max(rendered)


def test_a_long_name_many_messages_name_is_quoted_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name is quoted in the message of every node it names: a mesh named with a million characters that 1,000
    nodes outside the cells draw made 953 MiB of warnings from 1 MB, and a first cell node so named was quoted
    (and searched for Blender's ``.001``) in each of 1,000 duplicates' errors: 13 s. Names past 64 characters
    (Blender's are at most 63 bytes) are quoted by their first 64."""
    from sceneforge.ingest import glb_tags

    long_name = "m" * 100_000

    def named_long(gltf: dict[str, Any]) -> None:
        table, hall, level = (gltf["nodes"][_node(gltf, name)] for name in ("Table", "Hall", "Level"))
        gltf["meshes"][table["mesh"]]["name"] = long_name
        hall["name"] = long_name
        for k in range(20):  # drawing the long-named mesh outside the cells; tagging the hall's cellId again
            level["children"] += [len(gltf["nodes"]), len(gltf["nodes"]) + 1]
            gltf["nodes"] += [{"mesh": table["mesh"]}, {"name": f"Hall.{k:03d}", "extras": hall["extras"]}]

    searched: list[int] = []

    class Suffix:
        def sub(self, new: str, name: str) -> str:
            searched.append(len(name))
            return glb_tags.re.sub(r"\.\d{3,}$", new, name)

    glb = _edit(named_long)
    monkeypatch.setattr(glb_tags, "_COPY_SUFFIX", Suffix())
    quoted = f"{long_name[:64]!r}…"
    with pytest.raises(SceneInvalid) as err:
        tagged_glb_to_ir(glb, LIMITS)
    duplicates = [i.message for i in err.value.issues if i.code == "duplicate_cell_id"]
    assert len(duplicates) == 20 and all(quoted in m and len(m) < 400 for m in duplicates), duplicates[0][:500]
    assert max(searched, default=0) < 100, max(searched)

    def untagged(gltf: dict[str, Any]) -> None:
        named_long(gltf)
        gltf["nodes"] = [
            {k: v for k, v in n.items() if not n.get("name", "").startswith("Hall.")} for n in gltf["nodes"]
        ]

    _ir, warnings = tagged_glb_to_ir(_edit(untagged), LIMITS)
    outside = [w.message for w in warnings if w.code == "mesh_outside_cell"]
    assert len(outside) == 20 and all(f"mesh {quoted}" in m and len(m) < 400 for m in outside), outside[0][:500]


@pytest.mark.parametrize("where", ["to", "key"])
def test_a_long_tag_on_a_mesh_many_portal_nodes_draw_is_told_short(where: str) -> None:
    """A doorway mesh's tag is read for every node drawing it: a 'to' of a million characters (or a key of a million
    spaces and 'TYPE') was quoted whole in each node's message, its path too — 1,000 nodes made 2–3 GB of errors
    from a 1 MB file. A name no cellId can be is quoted by its start; a key that long is no 'type' spelt otherwise."""

    def long_tag(gltf: dict[str, Any]) -> None:
        door, level = gltf["nodes"][_node(gltf, "Door")], gltf["nodes"][_node(gltf, "Level")]
        if where == "to":
            gltf["meshes"][door["mesh"]]["extras"]["to"] = "k" * 100_000
        else:
            gltf["meshes"][door["mesh"]]["extras"] = {" " * 100_000 + "TYPE": "door", "from": "a", "to": "b"}
        for _ in range(20):
            level["children"].append(len(gltf["nodes"]))
            gltf["nodes"].append({"mesh": door["mesh"]})

    found = _issues(_edit(long_tag))
    told = [(p, m) for p, code, m in found if code == ("unknown_cell" if where == "to" else "tag_invalid")]
    assert len(told) == 21, found[:3]
    assert all(len(p) + len(m) < 600 for p, m in told), max(len(p) + len(m) for p, m in told)
    if where == "to":
        assert all(f"names cell {'k' * 64!r}… (100,000 characters) in 'to'" in m for _, m in told), told[0]


def test_cell_geometry_past_the_coordinate_bound_is_refused_not_a_crash_in_the_portal_checks() -> None:
    """A cell mesh whose positions decode to values up to 1e38 (its view's offset one byte off: every float is
    another's bytes) reached the portals' side tests, whose floor plans (Clipper's integer grid) raised
    ``RuntimeError: Values exceed permitted range``. Each cell so damaged is refused as the scene checks refuse
    geometry past ±MAX_COORDINATE (``out_of_range``, naming the cell), or as non-finite (``asset_non_finite``)."""
    from sceneforge.generate import generate_office

    built = compile_scene(json.dumps(generate_office(1, 10, seed=1)).encode()).glb
    gltf, _ = _split(built)
    codes = {}
    for mesh in gltf["meshes"]:
        view = gltf["accessors"][mesh["primitives"][0]["attributes"]["POSITION"]]["bufferView"]

        def shift(g: dict[str, Any], view: int = view) -> None:
            g["bufferViews"][view]["byteOffset"] = g["bufferViews"][view].get("byteOffset", 0) + 1

        with pytest.raises(SceneInvalid) as err:
            compile_scene(_edit(shift, built))
        codes[mesh["name"]] = {i.code for i in err.value.issues}
    assert all(found in ({"out_of_range"}, {"asset_non_finite"}) for found in codes.values()), codes
    assert codes["cell:s0_6"] == {"out_of_range"}
