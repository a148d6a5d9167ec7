"""USDZ (usd-core's validators) and OBJ exports: the same triangles as the GLB."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sceneforge.exports import to_obj_zip, to_usdz, validation_errors
from tests.support.hostile_names import HOSTILE_IDS


def _stage(usdz: bytes, tmp: Path):
    from pxr import Usd

    path = tmp / "scene.usdz"
    path.write_bytes(usdz)
    return Usd.Stage.Open(str(path))


def test_usdz_passes_usd_validators(office):
    scene, _ = office
    assert validation_errors(to_usdz(scene)) == []


def test_usdz_validators_catch_a_broken_package():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("scene.usda", '#usda 1.0\n(\n)\ndef Xform "A" {}\n')
        z.writestr("notes.txt", "not an asset USDZ allows")
    assert validation_errors(buf.getvalue())


def test_usdz_layout_cells_materials_triangles(office):
    from pxr import UsdGeom, UsdShade

    scene, meta = office
    with tempfile.TemporaryDirectory() as tmp:
        stage = _stage(to_usdz(scene), Path(tmp))
        assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
        assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
        cells = list(stage.GetPrimAtPath("/Scene/Cells").GetChildren())
        assert [p.GetCustomData()["cellId"] for p in cells] == [c.cell_id for c in scene.cells]
        assert all(p.GetTypeName() == "Xform" for p in cells)
        assert list(cells[0].GetCustomData()["aabb"]) == pytest.approx(scene.cells[0].aabb)
        triangles = 0
        for cell in cells:
            for child in cell.GetChildren():
                mesh = UsdGeom.Mesh(child)
                counts = np.asarray(mesh.GetFaceVertexCountsAttr().Get())
                assert (counts == 3).all()
                triangles += counts.size
                bound = UsdShade.MaterialBindingAPI(child).ComputeBoundMaterial()[0]
                shader = UsdShade.Shader(bound.GetSurfaceOutput().GetConnectedSources()[0][0].source.GetPrim())
                assert shader.GetIdAttr().Get() == "UsdPreviewSurface"
        assert triangles == meta["stats"]["triangles"] == scene.triangle_count
        portals = list(stage.GetPrimAtPath("/Scene/Portals").GetChildren())
        assert len(portals) == len(scene.portals)
        del stage


def test_usdz_prim_names_from_awkward_ids():
    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene
    from tests.support.scenes import box_surfaces

    cells = [BuiltCell(cid, (0, 0, 0, 1, 1, 1), box_surfaces("m-1", (0, 0, 0), 1.0)) for cid in ("1-a", "1_a", "x")]
    usdz = to_usdz(BuiltScene("s", cells, [], {}))
    assert validation_errors(usdz) == []
    with tempfile.TemporaryDirectory() as tmp:
        stage = _stage(usdz, Path(tmp))
        ids = [p.GetCustomData()["cellId"] for p in stage.GetPrimAtPath("/Scene/Cells").GetChildren()]
        assert ids == ["1-a", "1_a", "x"]
        del stage


def test_obj_zip_groups_and_counts(office):
    scene, meta = office
    with zipfile.ZipFile(io.BytesIO(to_obj_zip(scene))) as z:
        names = sorted(z.namelist())
        obj = z.read(f"{scene.scene_id}.obj").decode()
        mtl = z.read(f"{scene.scene_id}.mtl").decode()
    assert names == sorted([f"{scene.scene_id}.obj", f"{scene.scene_id}.mtl"])
    groups = re.findall(r"^g cell:(\S+)$", obj, re.M)
    assert groups == meta["Meta"]["cells"]
    faces = re.findall(r"^f (\d+)//\1 (\d+)//\2 (\d+)//\3$", obj, re.M)
    assert len(faces) == meta["stats"]["triangles"]
    vertices = len(re.findall(r"^v ", obj, re.M))
    assert vertices == len(re.findall(r"^vn ", obj, re.M))
    assert max(int(i) for f in faces for i in f) == vertices
    used = set(re.findall(r"^usemtl (\S+)$", obj, re.M))
    assert used <= set(re.findall(r"^newmtl (\S+)$", mtl, re.M))
    assert f"mtllib {scene.scene_id}.mtl" in obj


def test_obj_zip_deterministic(apartment):
    scene, _ = apartment
    assert to_obj_zip(scene) == to_obj_zip(scene)


def _hostile_scene():
    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene
    from sceneforge.model.ir import Material
    from tests.support.scenes import quad_surface

    cells = [BuiltCell(cid, (2 * i, 0, 0, 2 * i + 1, 1, 1), [quad_surface(cid, (2 * i, 0, 0))])
             for i, cid in enumerate(HOSTILE_IDS)]  # fmt: skip
    colours = {cid: Material(cid, (i / len(HOSTILE_IDS), 0.5, 0.25, 1.0)) for i, cid in enumerate(HOSTILE_IDS)}
    return BuiltScene("s", cells, [], colours)


def test_usdz_hostile_ids_each_a_distinct_prim():
    """Ids that are markup, differ only by case or normalization, or collide once made identifiers: every cell
    and material is its own prim, with the exact id in customData and its own colour."""
    from pxr import UsdGeom, UsdShade

    scene = _hostile_scene()
    usdz = to_usdz(scene)
    assert validation_errors(usdz) == []
    with tempfile.TemporaryDirectory() as tmp:
        stage = _stage(usdz, Path(tmp))
        cells = list(stage.GetPrimAtPath("/Scene/Cells").GetChildren())
        assert [p.GetCustomData()["cellId"] for p in cells] == HOSTILE_IDS
        assert len({p.GetName() for p in cells}) == len(HOSTILE_IDS)
        names = {p.GetCustomData()["cellId"]: p.GetName() for p in cells}
        assert names["1abc"] == "_1abc" and names["_1abc"] == "_1abc_2" and names["a-b"] != names["a_b"]
        for cell, built in zip(cells, scene.cells, strict=True):
            (mesh,) = cell.GetChildren()
            assert UsdGeom.Mesh(mesh).GetFaceVertexCountsAttr().Get() is not None
            bound = UsdShade.MaterialBindingAPI(mesh).ComputeBoundMaterial()[0]
            shader = UsdShade.Shader(bound.GetSurfaceOutput().GetConnectedSources()[0][0].source.GetPrim())
            assert tuple(shader.GetInput("diffuseColor").Get()) == pytest.approx(
                scene.materials[built.cell_id].base_color[:3]
            )
        del stage


def test_usdz_fallback_material_keeps_off_a_material_named_default():
    from pxr import UsdShade

    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene
    from sceneforge.model.ir import Material
    from tests.support.scenes import quad_surface

    cells = [BuiltCell("red", (0, 0, 0, 1, 1, 1), [quad_surface("_default", (0, 0, 0))]),
             BuiltCell("grey", (2, 0, 0, 3, 1, 1), [quad_surface("missing", (2, 0, 0))])]  # fmt: skip
    usdz = to_usdz(BuiltScene("s", cells, [], {"_default": Material("_default", (1.0, 0.0, 0.0, 1.0))}))
    assert validation_errors(usdz) == []
    with tempfile.TemporaryDirectory() as tmp:
        stage = _stage(usdz, Path(tmp))
        colours = []
        for cell in stage.GetPrimAtPath("/Scene/Cells").GetChildren():
            bound = UsdShade.MaterialBindingAPI(cell.GetChildren()[0]).ComputeBoundMaterial()[0]
            shader = UsdShade.Shader(bound.GetSurfaceOutput().GetConnectedSources()[0][0].source.GetPrim())
            colours.append(tuple(shader.GetInput("diffuseColor").Get()))
        assert colours == [(1.0, 0.0, 0.0), pytest.approx((0.8, 0.8, 0.8))]
        del stage


def test_obj_hostile_ids_one_token_per_name_and_distinct():
    """A group or material name is one whitespace-free token on its own line (OBJ readers split on spaces and
    on NEL/U+2028 as line breaks, strip `#` comments, join a line ending in `\\`), distinct for distinct ids;
    the comment before each group gives the exact id."""
    import json

    scene = _hostile_scene()
    with zipfile.ZipFile(io.BytesIO(to_obj_zip(scene))) as z:
        obj = z.read("s.obj").decode()
        mtl = z.read("s.mtl").decode()
    lines = obj.split("\n")
    assert lines == [*obj.splitlines(), ""]  # no other line break (NEL, U+2028, …) anywhere
    groups = [line[2:] for line in lines if line.startswith("g ")]
    assert len(groups) == len(set(groups)) == len(HOSTILE_IDS)
    for name in groups:
        assert name.startswith("cell:") and name.isprintable() and not any(c in name for c in " #\\")
    ids = [json.loads(line[len("# cellId ") :]) for line in lines if line.startswith("# cellId ")]
    assert ids == HOSTILE_IDS
    used = re.findall(r"^usemtl (.*)$", obj, re.M)
    defined = re.findall(r"^newmtl (.*)$", mtl, re.M)
    assert len(used) == len(set(used)) == len(HOSTILE_IDS) and sorted(used) == sorted(defined)
    assert all(re.fullmatch(r"\S+", name) for name in defined)
    # each material keeps its own colour: the Kd of the name used by cell i is material i's
    kd = dict(re.findall(r"^newmtl (\S+)\nKd (\S+)", mtl, re.M))
    for name, cell in zip(used, scene.cells, strict=True):
        assert float(kd[name]) == pytest.approx(scene.materials[cell.cell_id].base_color[0], abs=1e-4)


def test_usdz_cells_and_portals_composed_at_once_not_one_by_one():
    """The stage takes its cells and portals in one change: defined one at a time, each new prim recomposed its
    scope's whole children list (O(n²): 5,000 cells and their portals took 15 s, 20,000 passed the job's timeout)."""
    from pxr import Sdf, Tf, Usd

    from sceneforge.ingest.built_glb import BuiltCell, BuiltPortal, BuiltScene
    from tests.support.scenes import quad_surface

    n = 60
    cells = [BuiltCell(f"c{i}", (i, 0, 0, i + 1, 1, 1), [quad_surface("m", (i, 0, 0))]) for i in range(n)]
    quad = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 0, 1]], dtype=np.float64)
    portals = [BuiltPortal(f"c{i}", f"c{i + 1}", quad + np.array([i, 0, 0])) for i in range(n - 1)]
    scopes = {Sdf.Path("/Scene/Cells"), Sdf.Path("/Scene/Portals")}
    above = {Sdf.Path("/Scene"), *scopes}
    adding: list[list[str]] = []  # per change that recomposed a cell or a portal (or a prim above them)

    def seen(notice, sender):
        added = [str(p) for p in notice.GetResyncedPaths() if p in above or p.GetParentPath() in scopes]
        if added:
            adding.append(added)

    listener = Tf.Notice.RegisterGlobally(Usd.Notice.ObjectsChanged, seen)
    try:
        usdz = to_usdz(BuiltScene("s", cells, portals, {}))
    finally:
        listener.Revoke()
    assert adding == [["/Scene"]]  # one change made every cell and portal
    with tempfile.TemporaryDirectory() as tmp:
        stage = _stage(usdz, Path(tmp))
        assert len(stage.GetPrimAtPath("/Scene/Cells").GetChildren()) == n
        assert len(stage.GetPrimAtPath("/Scene/Portals").GetChildren()) == n - 1
        del stage


def _textured_scene():
    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene
    from sceneforge.model.ir import Material, Texture
    from tests.support.scenes import png_bytes, quad_surface

    cells = [BuiltCell("a b", (0, 0, 0, 1, 1, 1), [quad_surface("brick", (0, 0, 0)), quad_surface("plain", (0, 0, 0))]),
             BuiltCell("a_b", (2, 0, 0, 3, 1, 1), [quad_surface("glass", (2, 0, 0), 0.5)])]  # fmt: skip
    png = png_bytes(8, 4)
    materials = {
        "brick": Material("brick", (1.0, 0.5, 0.25, 1.0), texture=Texture("asset:my brick.png", png)),
        "glass": Material("glass", (1.0, 1.0, 1.0, 0.5), texture=Texture("asset:my brick.png", png)),
        "plain": Material("plain", (0.2, 0.3, 0.4, 1.0)),
    }
    return BuiltScene("s", cells, [], materials), png


def test_usdz_textured_material_reads_its_image_from_the_package():
    """A textured material's base colour is its image (inside the package, one file per image) times the
    factor, read at the surface's texture coordinates with v turned up (glTF's v runs down the image)."""
    from pxr import UsdGeom, UsdShade

    scene, png = _textured_scene()
    usdz = to_usdz(scene)
    assert validation_errors(usdz) == []
    with zipfile.ZipFile(io.BytesIO(usdz)) as z:
        images = [n for n in z.namelist() if n.endswith(".png")]
        assert len(images) == 1 and z.read(images[0]) == png
    with tempfile.TemporaryDirectory() as tmp:
        stage = _stage(usdz, Path(tmp))
        for cell, built in zip(stage.GetPrimAtPath("/Scene/Cells").GetChildren(), scene.cells, strict=True):
            for mesh, surface in zip(cell.GetChildren(), built.surfaces, strict=True):
                material = scene.materials[surface.material]
                bound = UsdShade.MaterialBindingAPI(mesh).ComputeBoundMaterial()[0]
                shader = UsdShade.Shader(bound.GetSurfaceOutput().GetConnectedSources()[0][0].source.GetPrim())
                st = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("st")
                sources = shader.GetInput("diffuseColor").GetConnectedSources()[0]
                if material.texture is None:
                    assert not sources and not st
                    assert tuple(shader.GetInput("diffuseColor").Get()) == pytest.approx(material.base_color[:3])
                    continue
                image = UsdShade.Shader(sources[0].source.GetPrim())
                assert image.GetIdAttr().Get() == "UsdUVTexture"
                assert image.GetInput("file").Get().path == images[0]
                assert tuple(image.GetInput("scale").Get()) == pytest.approx(material.base_color)
                opacity = shader.GetInput("opacity")  # the image's alpha, only where glTF blends
                assert bool(opacity) == (material.base_color[3] < 1)
                assert not opacity or opacity.GetConnectedSources()[0][0].sourceName == "a"
                reader = UsdShade.Shader(image.GetInput("st").GetConnectedSources()[0][0].source.GetPrim())
                assert reader.GetInput("varname").Get() == st.GetPrimvarName() == "st"
                uv = np.asarray(st.Get())
                np.testing.assert_allclose(uv, np.column_stack([surface.uvs[:, 0], 1 - surface.uvs[:, 1]]))
        del stage


# trimesh's OBJ reader takes the median of each face's missing texture indices (NaN) when a file mixes ``v//vn`` faces
# with ``v/vt/vn`` ones, as this one does (a valid OBJ), and numpy warns about the all-NaN columns and their cast.
@pytest.mark.filterwarnings("ignore:All-NaN slice encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_obj_textured_material_maps_its_image_in_the_zip():
    """A textured material's MTL names its image (in the zip, one file per image) with ``map_Kd``; its faces
    carry texture coordinates, v turned up (``vt u 1-v``); an untextured one's faces stay ``v//vn``."""
    import trimesh

    scene, png = _textured_scene()
    data = to_obj_zip(scene)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        images = [n for n in z.namelist() if n.endswith(".png")]
        assert len(images) == 1 and z.read(images[0]) == png
        obj, mtl = z.read("s.obj").decode(), z.read("s.mtl").decode()
    maps = dict(re.findall(r"^newmtl (\S+)\n(?:(?!newmtl).*\n)*?map_Kd (\S+)$", mtl, re.M))
    assert maps == {"brick": images[0], "glass": images[0]}
    uvs = np.array(re.findall(r"^vt (\S+) (\S+)$", obj, re.M), dtype=np.float64)
    textured = [s for c in scene.cells for s in c.surfaces if s.material in maps]
    np.testing.assert_allclose(uvs, np.concatenate([np.column_stack([s.uvs[:, 0], 1 - s.uvs[:, 1]]) for s in textured]))
    blocks = re.findall(r"^usemtl (\S+)\n((?:[^u].*\n)*)", obj, re.M)
    for name, block in blocks:
        faces = re.findall(r"^f (.*)$", block, re.M)
        pattern = r"(\d+)/\d+/\1" if name in maps else r"(\d+)//\1"
        assert faces and all(re.fullmatch(pattern, corner) for f in faces for corner in f.split(" "))
        if name in maps:  # each corner's vt is its own vertex's: one shift between the two numberings
            corners = [c.split("/") for f in faces for c in f.split(" ")]
            assert len({int(v) - int(vt) for v, vt, _ in corners}) == 1
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            z.extractall(tmp)
        loaded = trimesh.load(Path(tmp) / "s.obj", process=False, maintain_order=True, group_material=False)
        sizes = {g.visual.material.name: getattr(g.visual.material, "image", None) for g in loaded.geometry.values()}
        assert sizes["brick"].size == sizes["glass"].size == (8, 4) and sizes["plain"] is None


def _png(mode: str, transparency: bool = False) -> bytes:
    from PIL import Image

    image = Image.new(mode, (4, 2), (10, 200, 30, 128)[: len(mode)] if mode != "P" else 1)
    out = io.BytesIO()
    image.save(out, format="PNG", **({"transparency": 1} if transparency else {}))
    return out.getvalue()


def test_obj_blended_texture_with_alpha_maps_its_opacity():
    """A textured material the GLB blends (alpha under 1) whose image has alpha (RGBA, grey + alpha, a tRNS
    chunk) names that image with ``map_d`` after ``d`` (the factor), so OBJ viewers show it see-through; an
    opaque material's image alpha (glTF ignores it) and an image without alpha get no ``map_d``."""
    import trimesh

    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene
    from sceneforge.model.ir import Material, Texture
    from tests.support.scenes import quad_surface

    pngs = {"rgba": _png("RGBA"), "la": _png("LA"), "trns": _png("P", transparency=True), "rgb": _png("RGB")}
    materials = {f"{k}-{alpha}": Material(f"{k}-{alpha}", (1.0, 1.0, 1.0, alpha), texture=Texture(f"asset:{k}", png))
                 for k, png in pngs.items() for alpha in (0.5, 1.0)}  # fmt: skip
    cells = [BuiltCell("c", (0, 0, 0, 1, 1, 1), [quad_surface(name, (0, 0, 0)) for name in materials])]
    with zipfile.ZipFile(io.BytesIO(to_obj_zip(BuiltScene("s", cells, [], materials)))) as z:
        mtl = z.read("s.mtl").decode()
    parsed = trimesh.exchange.obj.parse_mtl(mtl)
    images = dict(re.findall(r"^newmtl (\S+)\n(?:(?!newmtl).*\n)*?map_Kd (\S+)$", mtl, re.M))
    for name in materials:
        kind, alpha = name.rsplit("-", 1)
        assert float(parsed[name]["d"][0]) == float(alpha)
        wants_map = alpha == "0.5" and kind != "rgb"
        assert parsed[name].get("map_d") == ([images[name]] if wants_map else None), name


def _instanced_glb(copies: int, quantize: bool) -> tuple[bytes, int]:
    """The sample scene with ``copies`` chairs in the hall, each turned, scaled and moved its own way."""
    from sceneforge.encode.glb import encode_glb
    from sceneforge.encode.options import EncodeOptions
    from sceneforge.model.ir import InstanceGroup
    from tests.support.scenes import sample_scene

    ir = sample_scene(textured=True)
    group = ir.cells[0].instances[0]
    rng = np.random.default_rng(7)
    transforms = np.tile(np.eye(4), (copies, 1, 1))
    angles = rng.uniform(-np.pi, np.pi, copies)
    c, s = np.cos(angles), np.sin(angles)
    scales = rng.uniform(0.5, 2.0, (copies, 3))
    rotation = np.zeros((copies, 3, 3))
    rotation[:, 0, 0], rotation[:, 0, 2], rotation[:, 1, 1], rotation[:, 2, 0], rotation[:, 2, 2] = c, s, 1, -s, c
    transforms[:, :3, :3] = rotation * scales[:, None, :]
    transforms[:, :3, 3] = rng.uniform(0, 3, (copies, 3))
    ir.cells[0].instances[0] = InstanceGroup(group.cell_id, group.mesh_key, group.surfaces, transforms)
    own = sum(s.triangle_count for cell in ir.cells for s in cell.surfaces)
    return encode_glb(ir, EncodeOptions(quantize=quantize)), own + copies * sum(
        s.triangle_count for s in group.surfaces
    )


def _gltf_instances(glb: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The instancing node's TRANSLATION, ROTATION (unit, x y z w) and SCALE as the GLB stores them."""
    from sceneforge.ingest.gltf_read import parse_glb

    doc = parse_glb(glb)
    (node,) = [n for n in doc.nodes if "EXT_mesh_gpu_instancing" in n.get("extensions", {})]
    attrs = node["extensions"]["EXT_mesh_gpu_instancing"]["attributes"]
    t, q, s = (np.asarray(doc.accessor(attrs[k]), np.float64) for k in ("TRANSLATION", "ROTATION", "SCALE"))
    return t, q / np.linalg.norm(q, axis=1, keepdims=True), s


@pytest.mark.parametrize("quantize", [False, True])
def test_usdz_instances_stay_instanced_with_the_gltf_transforms(quantize):
    """EXT_mesh_gpu_instancing copies become instanceable prims referencing one prototype (the mesh once, not
    once a copy), each with the glTF copy's translation, rotation and scale; the package passes the validators
    and the triangles drawn are the GLB's."""
    from pxr import Usd, UsdGeom

    from sceneforge.config import Limits
    from sceneforge.ingest.built_glb import trs_matrices
    from sceneforge.jobs.export import make_export

    copies = 300
    glb, triangles = _instanced_glb(copies, quantize)
    usdz = make_export(glb, {"format": "usdz"}, Limits(), lambda stage, fraction: None)["exports/usdz"]
    assert validation_errors(usdz) == []
    t, q, s = _gltf_instances(glb)
    with tempfile.TemporaryDirectory() as tmp:
        stage = _stage(usdz, Path(tmp))
        hall = next(
            p for p in stage.GetPrimAtPath("/Scene/Cells").GetChildren() if p.GetCustomData()["cellId"] == "hall"
        )
        (group,) = [p for p in hall.GetChildren() if p.GetCustomData().get("type") == "instances"]
        instances = group.GetChildren()
        assert len(instances) == copies and all(p.IsInstance() for p in instances)
        assert len({p.GetPrototype().GetPath() for p in instances}) == 1
        # the mesh is written once: meshes in the layer are the cells' own and the prototype's
        layer_meshes = [p for p in stage.Traverse(Usd.TraverseInstanceProxies(Usd.PrimIsDefined | Usd.PrimIsAbstract))
                        if p.IsA(UsdGeom.Mesh) and not p.IsInstanceProxy()]  # fmt: skip
        assert len([p for p in layer_meshes if str(p.GetPath()).startswith("/Scene/Prototypes/")]) == 2
        got_t = np.array([p.GetAttribute("xformOp:translate").Get() for p in instances])
        got_q = np.array(
            [[*o.GetImaginary(), o.GetReal()] for o in (p.GetAttribute("xformOp:orient").Get() for p in instances)]
        )
        got_s = np.array([p.GetAttribute("xformOp:scale").Get() for p in instances])
        np.testing.assert_array_equal(got_t, t)
        np.testing.assert_allclose(got_q, q, rtol=0, atol=1e-15)
        np.testing.assert_array_equal(got_s, s)
        # the copies land where the GLB puts them: USD's composed matrix is glTF's T·R·S (on row vectors)
        world = np.array([np.array(UsdGeom.Xformable(p).ComputeLocalToWorldTransform(Usd.TimeCode.Default())).T
                          for p in instances])  # fmt: skip
        np.testing.assert_allclose(world, trs_matrices(t, q, s), rtol=0, atol=1e-12)
        drawn = 0
        for prim in stage.Traverse(Usd.TraverseInstanceProxies()):
            if prim.IsA(UsdGeom.Mesh):
                drawn += len(UsdGeom.Mesh(prim).GetFaceVertexCountsAttr().Get())
        assert drawn == triangles
        del stage


def test_obj_texture_that_is_no_png_exports_without_map_d():
    """The alpha check reads the PNG's header bytes: bytes that are no PNG (or a cut one) have no alpha, and the
    export does not fail on them (Pillow refused them: UnidentifiedImageError)."""
    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene
    from sceneforge.model.ir import Material, Texture
    from tests.support.scenes import quad_surface

    for data in (b"\xff\xd8\xff\xe0 a JPEG", _png("RGBA")[:30], b""):
        scene = BuiltScene("s", [BuiltCell("c", (0, 0, 0, 1, 1, 1), [quad_surface("m", (0, 0, 0))])], [],
                           {"m": Material("m", (1.0, 1.0, 1.0, 0.5), texture=Texture("asset:x", data))})  # fmt: skip
        with zipfile.ZipFile(io.BytesIO(to_obj_zip(scene))) as z:
            assert "map_d" not in z.read("s.mtl").decode()


def _one_surface_scene(surface, scene_id: str = "s"):
    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene

    cells = [BuiltCell("ok", (0, 0, 0, 1, 1, 1), []), BuiltCell("кухня", (0, 0, 0, 1, 1, 1), [surface])]
    return BuiltScene(scene_id, cells, [], {})


def _broken_surfaces():
    from sceneforge.model.ir import Surface
    from tests.support.scenes import quad_surface

    q = quad_surface("tile", (0, 0, 0))
    nan = q.positions.copy()
    nan[1, 2] = np.nan
    return {
        "non-finite": (Surface("tile", nan, q.normals, q.uvs, q.indices), "positions hold non-finite"),
        "index past": (
            Surface("tile", q.positions, q.normals, q.uvs, q.indices + 2),
            "indices run from 2 to 5, past its 4",
        ),
        "shapes": (Surface("tile", q.positions, q.normals[:3], q.uvs, q.indices), "not (n, 3), (n, 3), (n, 2), (m, 3)"),
    }


@pytest.mark.parametrize("case", ["non-finite", "index past", "shapes"])
@pytest.mark.parametrize("kind", ["usdz", "obj"])
def test_export_of_broken_arrays_names_the_cell_and_surface(case, kind):
    """Arrays that are not whole (non-finite coordinates, indices past the vertices, shapes that disagree) are a
    PassError naming the cell and the surface's material, before anything is written: the OBJ pointed at
    vertices it lacked and the USDZ held nan, both passing usd-core's validators."""
    from sceneforge.errors import PassError

    surface, says = _broken_surfaces()[case]
    with pytest.raises(PassError) as info:
        (to_usdz if kind == "usdz" else to_obj_zip)(_one_surface_scene(surface))
    message = str(info.value)
    assert message.startswith(f"export {kind}: cell 'кухня' (cell 1), surface of material 'tile'") and says in message


def test_obj_export_refuses_a_scene_id_that_is_no_file_name():
    """The OBJ zip's entries are named after the scene id: one that is not an id (``../x``, a space) is refused
    by name, not written as a path that leaves the folder it is unpacked in."""
    from sceneforge.errors import PassError
    from tests.support.scenes import quad_surface

    for scene_id in ("../x", "a b", "сцена", "x" * 65):
        with pytest.raises(PassError, match=r"export obj: scene id .* is not 1–64 of"):
            to_obj_zip(_one_surface_scene(quad_surface("tile", (0, 0, 0)), scene_id))


def test_exports_of_empty_cells_and_surfaces():
    """A cell with no triangles, a surface with no vertices and a scene without materials export whole: the
    USDZ's empty mesh has an empty extent (its min over no points failed the export with a numpy error)."""
    from sceneforge.model.ir import Surface

    empty = Surface("tile", *(np.zeros((0, k), np.float32) for k in (3, 3, 2)), np.zeros((0, 3), np.uint32))
    scene = _one_surface_scene(empty)
    assert validation_errors(to_usdz(scene)) == []
    with zipfile.ZipFile(io.BytesIO(to_obj_zip(scene))) as z:
        obj = z.read("s.obj").decode()
    assert "g cell:ok" in obj and not re.search(r"^[vf] ", obj, re.M)


def test_obj_export_refuses_kept_instances_rather_than_leave_them_out():
    from sceneforge.errors import PassError
    from sceneforge.ingest.built_glb import read_built_glb

    glb, _ = _instanced_glb(3, quantize=False)
    with pytest.raises(PassError, match=r"export obj: cell 'hall' \(cell 0\) holds instanced meshes kept as such"):
        to_obj_zip(read_built_glb(glb, keep_instances=True))
    with zipfile.ZipFile(io.BytesIO(to_obj_zip(read_built_glb(glb)))) as z:
        assert z.read("sample.obj")


def test_usdz_prototype_mesh_of_a_material_named_materials_keeps_off_its_materials_scope():
    """A prototype holds its meshes (named after their materials) and the scope ``Materials`` of its own
    materials: a material named ``Materials`` made its mesh the very prim of that scope."""
    from pxr import UsdGeom

    from sceneforge.ingest.built_glb import BuiltCell, BuiltInstances, BuiltScene
    from sceneforge.model.ir import Material
    from tests.support.scenes import quad_surface

    one = np.ones((1, 3))
    group = BuiltInstances("instances:c/x", 0, [quad_surface("Materials", (0, 0, 0))], np.eye(4),
                           np.zeros((1, 3)), np.array([[0.0, 0.0, 0.0, 1.0]]), one)  # fmt: skip
    scene = BuiltScene("s", [BuiltCell("c", (0, 0, 0, 1, 1, 1), [], [group])], [],
                       {"Materials": Material("Materials", (1.0, 0.0, 0.0, 1.0))})  # fmt: skip
    usdz = to_usdz(scene)
    assert validation_errors(usdz) == []
    with tempfile.TemporaryDirectory() as tmp:
        stage = _stage(usdz, Path(tmp))
        prototype = stage.GetPrimAtPath("/Scene/Prototypes/x")
        kinds = {p.GetName(): p.GetTypeName() for p in prototype.GetAllChildren()}
        assert kinds == {"Materials_2": "Mesh", "Materials": "Scope"}
        assert UsdGeom.Mesh(prototype.GetChild("Materials_2")).GetPointsAttr().Get() is not None
        del stage


def test_usdz_same_scene_same_bytes_entries_aligned():
    """usd-core stamps each entry with the time it packaged it, so one scene exported twice gave two files (two
    ETags); the times are now 1980-01-01, as the OBJ zip's, and the entries keep USDZ's 64-byte alignment."""
    import time

    scene, _ = _textured_scene()
    first = to_usdz(scene)
    time.sleep(2.1)  # a DOS time counts in 2 s steps: a later packaging stamps another time
    second = to_usdz(scene)
    assert first == second and validation_errors(first) == []
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        for info in z.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            assert start % 64 == 0


@pytest.mark.parametrize("where", ["cell", "material", "portal"])
def test_usdz_export_of_an_id_with_a_lone_surrogate_names_it(where):
    """An id holding a lone surrogate (no character: the GLB reader refuses one) failed the USDZ with a
    UnicodeEncodeError from usd-core's string conversion; it is a PassError naming the id's place."""
    from sceneforge.errors import PassError
    from sceneforge.ingest.built_glb import BuiltCell, BuiltPortal, BuiltScene
    from tests.support.scenes import quad_surface

    bad = "a\ud800"
    cell_id, material = (bad, "m") if where == "cell" else ("c", bad if where == "material" else "m")
    portals = [BuiltPortal("c", bad, np.zeros((4, 3)))] if where == "portal" else []
    scene = BuiltScene("s", [BuiltCell(cell_id, (0, 0, 0, 1, 1, 1), [quad_surface(material, (0, 0, 0))])], portals, {})
    with pytest.raises(PassError, match=r"export usdz: .*lone surrogate"):
        to_usdz(scene)
