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
