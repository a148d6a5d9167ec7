from __future__ import annotations

import numpy as np
import pytest

import sceneforge
from sceneforge.encode import EncodeOptions, encode_glb
from sceneforge.errors import PassError
from sceneforge.model.ir import Material, SceneIR, Texture
from sceneforge.passes import optimize
from tests.support.glb_reader import read_glb, triangle_set
from tests.support.scenes import sample_scene

MODES = [
    EncodeOptions(),
    EncodeOptions(quantize=True),
    EncodeOptions(compress=True),
    EncodeOptions(quantize=True, compress=True),
]


def _built(**kwargs) -> SceneIR:
    ir = sample_scene(**kwargs)
    optimize(ir)
    return ir


def _cell_mesh(glb, name: str):
    node = glb.node(f"cell:{name}")
    if "mesh" in node:
        return node, glb.json["meshes"][node["mesh"]], None
    child = next(
        glb.json["nodes"][i]
        for i in node.get("children", [])
        if "mesh" in glb.json["nodes"][i] and "extensions" not in glb.json["nodes"][i]
    )
    return node, glb.json["meshes"][child["mesh"]], child


@pytest.mark.parametrize("options", MODES, ids=["plain", "quantized", "compressed", "quantized+compressed"])
def test_glb_nodes_and_extras_as_specified(options):
    ir = _built()
    glb = read_glb(encode_glb(ir, options))
    doc = glb.json
    assert doc["asset"] == {"version": "2.0", "generator": f"sceneforge {sceneforge.__version__}"}
    scene = doc["scenes"][doc["scene"]]
    assert scene["extras"]["sceneforge"] == {"formatVersion": 1, "sceneId": "sample"}
    assert scene["extras"]["props"] == {"author": "tests", "floor": "1"}
    roots = [doc["nodes"][i]["name"] for i in scene["nodes"]]
    assert roots == ["cell:hall", "cell:kitchen", "cell:closet", "portal:hall->kitchen", "portal:kitchen->closet"]
    for cell in ir.cells:
        node = glb.node(f"cell:{cell.cell_id}")
        assert node["extras"] == {"type": "cell", "cellId": cell.cell_id, "aabb": [float(v) for v in cell.aabb()]}
        assert "translation" not in node and "scale" not in node and "matrix" not in node
    for portal in ir.portals:
        node = glb.node(f"portal:{portal.from_cell}->{portal.to_cell}")
        assert "mesh" not in node
        assert node["extras"] == {
            "type": "portal",
            "from": portal.from_cell,
            "to": portal.to_cell,
            **({"oneWay": True} if portal.one_way else {}),
            "quad": [float(v) for v in portal.quad.reshape(-1)],
        }
        assert list(node["extras"])[-1] == "quad"
    closet = glb.node("cell:closet")
    assert "mesh" not in closet and "children" not in closet


@pytest.mark.parametrize("options", MODES, ids=["plain", "quantized", "compressed", "quantized+compressed"])
def test_glb_one_primitive_per_material_and_same_triangles(options):
    ir = _built()
    glb = read_glb(encode_glb(ir, options))
    materials = [m["name"] for m in glb.json["materials"]]
    assert materials == ["plaster", "wood"]
    for cell in ir.cells[:2]:
        _, mesh, child = _cell_mesh(glb, cell.cell_id)
        assert [materials[p["material"]] for p in mesh["primitives"]] == [s.material for s in cell.surfaces]
        for primitive, surface in zip(mesh["primitives"], cell.surfaces, strict=True):
            positions = glb.accessor(primitive["attributes"]["POSITION"])
            if child is not None:
                positions = positions * child["scale"][0] + np.asarray(child["translation"])
                assert options.quantize
            indices = glb.accessor(primitive["indices"])
            assert glb.json["accessors"][primitive["indices"]]["componentType"] == 5123  # uint16 fits
            expected = triangle_set(surface.positions, surface.indices, decimals=3)
            assert triangle_set(positions, indices, decimals=3) == expected
            normals = glb.accessor(primitive["attributes"]["NORMAL"])
            np.testing.assert_allclose(normals[indices], surface.normals[surface.indices.reshape(-1)], atol=0.01)
            # UVs only serve textures: an untextured material's primitives carry none.
            if ir.materials[surface.material].texture is None:
                assert "TEXCOORD_0" not in primitive["attributes"]
            else:
                np.testing.assert_array_equal(glb.accessor(primitive["attributes"]["TEXCOORD_0"]), surface.uvs)


def test_glb_plain_positions_exact_with_bounds():
    ir = _built()
    glb = read_glb(encode_glb(ir, EncodeOptions()))
    _, mesh, _ = _cell_mesh(glb, "hall")
    for primitive, surface in zip(mesh["primitives"], ir.cells[0].surfaces, strict=True):
        acc = glb.json["accessors"][primitive["attributes"]["POSITION"]]
        np.testing.assert_array_equal(glb.accessor(primitive["attributes"]["POSITION"]), surface.positions)
        assert acc["min"] == [float(v) for v in surface.positions.min(axis=0)]
        assert acc["max"] == [float(v) for v in surface.positions.max(axis=0)]
        np.testing.assert_array_equal(glb.accessor(primitive["indices"]), surface.indices.reshape(-1))


def test_glb_textured_material_embeds_png():
    ir = _built()
    glb = read_glb(encode_glb(ir, EncodeOptions()))
    wood = next(m for m in glb.json["materials"] if m["name"] == "wood")
    texture = glb.json["textures"][wood["pbrMetallicRoughness"]["baseColorTexture"]["index"]]
    image = glb.json["images"][texture["source"]]
    assert image["mimeType"] == "image/png"
    assert glb.view_bytes(image["bufferView"]) == ir.materials["wood"].texture.png
    assert wood["pbrMetallicRoughness"]["baseColorFactor"] == [0.6, 0.4, 0.2, 1.0]
    plaster = next(m for m in glb.json["materials"] if m["name"] == "plaster")
    assert "baseColorTexture" not in plaster["pbrMetallicRoughness"]


def test_glb_uint32_indices_when_needed():
    from tests.support.scenes import soup

    ir = _built(instances=False)
    big = soup(np.random.default_rng(0), 70_000, 30_000, material="plaster", grid=10_000)
    ir.cells[2].surfaces = [big]
    glb = read_glb(encode_glb(ir, EncodeOptions(compress=True)))
    _, mesh, _ = _cell_mesh(glb, "closet")
    acc = glb.json["accessors"][mesh["primitives"][0]["indices"]]
    assert acc["componentType"] == 5125
    decoded = glb.accessor(mesh["primitives"][0]["indices"]).reshape(-1, 3)
    # The index codec may rotate a triangle's corners (winding kept), and the cell's BVH orders
    # the triangles (docs/streaming.md): compare rotation-free, as sorted rows.
    np.testing.assert_array_equal(_sorted_rows(_rotated(decoded)), _sorted_rows(_rotated(big.indices)))


@pytest.mark.parametrize("y", [0.1, 0.3, 1234.567])
def test_glb_a_flat_cell_off_the_float32_grid_keeps_its_vertices_in_its_aabb(y: float) -> None:
    """A cell that is one horizontal plane at a height no float32 is (0.1): its box rounded to 1 µm was
    [0.1, 0.1] in y, which holds no float32, and its vertices, held inside their box, fell a float32 step
    below it (found by mutating a maze's GLB). That axis is now rounded outwards and holds them."""
    from tests.support.scenes import quad_surface

    ir = _built(instances=False)
    ir.cells[2].surfaces = [quad_surface("plaster", (2.25, y, -1.5), 1.5)]
    glb = read_glb(encode_glb(ir, EncodeOptions()))
    node, mesh, _ = _cell_mesh(glb, "closet")
    lo, hi = np.array(node["extras"]["aabb"][:3]), np.array(node["extras"]["aabb"][3:])
    positions = glb.accessor(mesh["primitives"][0]["attributes"]["POSITION"]).astype(np.float64)
    assert (positions >= lo).all() and (positions <= hi).all(), (node["extras"]["aabb"], positions[:, 1])
    assert lo[1] <= float(np.float32(y)) <= hi[1] and hi[1] - lo[1] <= 1.000001e-6  # a µm, no wider


def _sorted_rows(triangles: np.ndarray) -> np.ndarray:
    return triangles[np.lexsort(triangles.T[::-1])]


def _rotated(triangles: np.ndarray) -> np.ndarray:
    start = np.argmin(triangles, axis=1)
    order = (start[:, None] + np.arange(3)) % 3
    return np.take_along_axis(triangles, order, axis=1)


@pytest.mark.parametrize("quantize", [False, True])
def test_glb_instances_decompose_transforms(quantize):
    ir = _built()
    group = ir.cells[0].instances[0]
    glb = read_glb(encode_glb(ir, EncodeOptions(quantize=quantize)))
    assert "EXT_mesh_gpu_instancing" in glb.json["extensionsRequired"]
    node = glb.node("instances:hall/asset:chair")
    assert node in [glb.json["nodes"][i] for i in glb.node("cell:hall")["children"]]
    attrs = node["extensions"]["EXT_mesh_gpu_instancing"]["attributes"]
    t, r, s = (glb.accessor(attrs[k]).astype(np.float64) for k in ("TRANSLATION", "ROTATION", "SCALE"))
    mesh = glb.json["meshes"][node["mesh"]]
    local = glb.accessor(mesh["primitives"][0]["attributes"]["POSITION"])
    x, y, z, w = r.T
    rot = np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        1,
    )
    world = np.einsum("kij,knj->kni", rot, local[None] * s[:, None, :]) + t[:, None, :]
    expected = (
        np.einsum("kij,nj->kni", group.transforms[:, :3, :3], group.surfaces[0].positions)
        + group.transforms[:, None, :3, 3]
    )
    np.testing.assert_allclose(world, expected, atol=1e-3)


def test_glb_empty_scene_is_minimal():
    ir = SceneIR("empty", [], [], {})
    glb = read_glb(encode_glb(ir, EncodeOptions(quantize=True, compress=True)))
    assert glb.bin == b""
    assert "buffers" not in glb.json and "extensionsUsed" not in glb.json
    assert glb.json["scenes"][0]["extras"] == {"sceneforge": {"formatVersion": 1, "sceneId": "empty"}}


def test_glb_rejects_bad_input_with_pass_name():
    ir = _built()
    ir.materials["wood"] = Material("wood", texture=Texture("notpng", b"GIF89a...."))
    with pytest.raises(PassError, match=r"^encode: material 'wood': texture 'notpng' is not a PNG"):
        encode_glb(ir, EncodeOptions())
    with pytest.raises(PassError, match=r"^encode: quantize must be a bool"):
        EncodeOptions(quantize=1)  # type: ignore[arg-type]
