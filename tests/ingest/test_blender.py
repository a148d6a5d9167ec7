"""Blender, the real authoring path: levels made and exported by Debian's Blender 3.4 headless,
and the project's own output imported into Blender and exported again.

Needs ``blender`` (``apt-get install blender python3-numpy``): skipped without it, failed without
it when CI=true.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sceneforge.compile import BuildOptions, BuildResult, compile_scene
from sceneforge.errors import SceneInvalid
from sceneforge.generate import generate_apartment
from tests.support.blender import needs_blender, reexport, run_blender
from tests.support.glb_reader import read_glb

pytestmark = pytest.mark.usefixtures("blender")

LEVELS = Path(__file__).resolve().parents[1] / "data" / "levels"

#: Three box rooms in a row along Blender's X (Z up), joined by a Grid, a 32-gon and a subdivided plane.
_MAKE_LEVEL = """
from math import pi
out, extras, yup = ARGS[0], ARGS[1] == "extras", ARGS[2] == "yup"
bpy.ops.wm.read_factory_settings(use_empty=True)
for name, x in (("Hall", 0), ("Kitchen", 4), ("Pantry", 8)):
    bpy.ops.mesh.primitive_cube_add(size=1, location=(x, 0, 1.5))
    room = bpy.context.object
    room.name, room.scale = name, (4, 4, 3)
    room["type"], room["cellId"] = "cell", name.lower()

def portal(name, source, target, one_way=False):
    o = bpy.context.object
    o.name, o.scale = name, (o.scale[0], o.scale[1] * 2, 1)
    o["type"], o["from"], o["to"] = "portal", source, target
    if one_way:
        o["oneWay"] = True

upright = (pi / 2, 0, pi / 2)  # local x → Blender +Y (across the wall), local y → +Z (up)
bpy.ops.mesh.primitive_grid_add(x_subdivisions=5, y_subdivisions=4, size=1, location=(2, 0, 1.1), rotation=upright)
portal("GridDoor", "hall", "kitchen")
bpy.ops.mesh.primitive_circle_add(vertices=32, radius=1, fill_type="NGON", location=(6, 1, 1.1), rotation=upright)
bpy.context.object.scale = (0.5, 0.5, 1)
portal("RoundDoor", "kitchen", "pantry")
bpy.ops.mesh.primitive_plane_add(size=1, location=(6, -1, 1.1), rotation=upright)
bpy.ops.object.mode_set(mode="EDIT")
bpy.ops.mesh.subdivide(number_cuts=3)
bpy.ops.object.mode_set(mode="OBJECT")
portal("Hatch", "pantry", "kitchen", one_way=True)
bpy.ops.export_scene.gltf(filepath=out, export_format="GLB", export_extras=extras, export_yup=yup)
"""

#: The quads the level's portals must give (glTF +Y up: Blender (x, y, z) → (x, z, −y)), lowest edge first.
EXPECTED = {
    ("hall", "kitchen"): ([[2, 0.1, 0.5], [2, 0.1, -0.5], [2, 2.1, -0.5], [2, 2.1, 0.5]], False),
    ("kitchen", "pantry"): ([[6, 0.1, -0.5], [6, 0.1, -1.5], [6, 2.1, -1.5], [6, 2.1, -0.5]], False),
    ("pantry", "kitchen"): ([[6, 0.1, 0.5], [6, 0.1, 1.5], [6, 2.1, 1.5], [6, 2.1, 0.5]], True),
}


@pytest.fixture(scope="module")
def blender() -> None:
    needs_blender()


def _strict(value: Any) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(json.dumps(value), parse_constant=refuse)


def _made(tmp_path: Path, *, extras: bool = True, yup: bool = True) -> bytes:
    out = tmp_path / "level.glb"
    run_blender(_MAKE_LEVEL, str(out), "extras" if extras else "plain", "yup" if yup else "zup")
    return out.read_bytes()


def test_blender_level_with_grid_ngon_and_subdivided_portals(tmp_path: Path) -> None:
    result = compile_scene(_made(tmp_path))
    # A correct export triggers no warning: not the plane's vertex order, not the portals' facing.
    assert result.warnings == []
    meta = _strict(result.meta)
    assert meta["Meta"]["cells"] == ["hall", "kitchen", "pantry"]
    portals = {(p["from"], p["to"]): p for p in meta["visibility"]["portals"]}
    assert set(portals) == set(EXPECTED)
    for key, (quad, one_way) in EXPECTED.items():
        np.testing.assert_allclose(np.reshape(portals[key]["quad"], (4, 3)), quad, atol=1e-5)
        assert portals[key].get("oneWay", False) is one_way
    pvs = {c["cellId"]: set(c["pvs"]) for c in meta["visibility"]["cells"]}
    assert pvs["hall"] == {"hall", "kitchen", "pantry"}


def test_blender_export_without_custom_properties_says_to_turn_them_on(tmp_path: Path) -> None:
    with pytest.raises(SceneInvalid) as err:
        compile_scene(_made(tmp_path, extras=False))
    (issue,) = err.value.issues
    assert issue.code == "no_extras" and "export_extras" in issue.message


def test_blender_z_up_export_is_a_warning(tmp_path: Path) -> None:
    result = compile_scene(_made(tmp_path, yup=False))
    assert [(w.code, w.severity) for w in result.warnings] == [("z_up", "warning")]
    assert _made(tmp_path, yup=True) != _made(tmp_path, yup=False)


# -- the project's own output, through Blender and back ---------------------------------------

_CHAIR_OBJ = b"v 0 0 0\nv 0.5 0 0\nv 0.5 0 0.5\nv 0 0 0.5\nv 0 0.5 0\nf 1 3 2\nf 1 4 3\nf 1 2 5\n"


def _apartment_with_instances() -> bytes:
    description = generate_apartment(6, seed=3)
    description["portals"][0]["oneWay"] = True
    first = description["cells"][0]["cellId"]
    moved = [[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, x, 0.0, 1.0, 1] for x in (1.0, 2.0)]
    description["instances"] = [{"meshId": "asset:chair", "cellId": first, "transforms": moved}]
    return json.dumps(description).encode()


def _build(data: bytes, options: BuildOptions) -> BuildResult:
    return compile_scene(data, options, resolve_asset=lambda asset_id: _CHAIR_OBJ)


def _same_build(a: BuildResult, b: BuildResult, *, aabb_atol: float) -> None:
    """The same cells, portals (ends, oneWay, quad) and PVS; boxes within ``aabb_atol``."""
    va, vb = a.meta["visibility"], b.meta["visibility"]
    assert sorted(a.meta["Meta"]["cells"]) == sorted(b.meta["Meta"]["cells"])
    assert {c["cellId"]: set(c["pvs"]) for c in va["cells"]} == {c["cellId"]: set(c["pvs"]) for c in vb["cells"]}
    boxes = {c["cellId"]: c["aabb"] for c in vb["cells"]}
    for cell in va["cells"]:
        np.testing.assert_allclose(boxes[cell["cellId"]], cell["aabb"], atol=aabb_atol)

    def portals(v: dict[str, Any]) -> list[tuple[Any, ...]]:
        return sorted((p["from"], p["to"], p.get("oneWay", False), *np.round(p["quad"], 4)) for p in v["portals"])

    assert len(va["portals"]) == len(vb["portals"])
    for pa, pb in zip(portals(va), portals(vb), strict=True):
        assert pa[:3] == pb[:3]
        np.testing.assert_allclose(pa[3:], pb[3:], atol=1e-4)


MODES = {
    "plain": BuildOptions(instancing=False),
    "quantized": BuildOptions(quantize=True, instancing=False),
    "compressed-fallback": BuildOptions(quantize=True, compress=True, fallback=True, instancing=False),
}


@pytest.mark.parametrize("mode", list(MODES))
def test_own_output_through_blender_builds_the_same(tmp_path: Path, mode: str) -> None:
    """Blender 3.4 imports the fallback and no-instancing files; its re-export builds the same scene."""
    first = _build(_apartment_with_instances(), MODES[mode])
    doc = read_glb(first.glb).json
    assert "EXT_mesh_gpu_instancing" not in doc.get("extensionsUsed", [])
    assert "EXT_meshopt_compression" not in doc.get("extensionsRequired", [])
    again = compile_scene(reexport(first.glb, tmp_path))
    assert again.warnings == []
    assert again.scene_id == first.scene_id
    _same_build(first, again, aabb_atol=2e-3 if MODES[mode].quantize else 1e-5)


def test_office_level_through_blender_builds_the_same(tmp_path: Path) -> None:
    first = compile_scene((LEVELS / "office-small.json").read_bytes())
    again = compile_scene(reexport(first.glb, tmp_path))
    _same_build(first, again, aabb_atol=1e-5)


def test_turned_storeys_through_blender_build_the_same(tmp_path: Path) -> None:
    """Walls at an angle to the axes, stacked storeys and atrium openings survive Blender's round trip."""
    from tests.test_awkward_levels import LEVELS as AWKWARD

    first = compile_scene(json.dumps(AWKWARD["turned-storeys"]()).encode())
    again = compile_scene(reexport(first.glb, tmp_path))
    assert again.warnings == []
    _same_build(first, again, aabb_atol=1e-5)
