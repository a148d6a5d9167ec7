"""USDZ export of a built scene with Pixar's USD (``usd-core``): for AR Quick Look and USD tools.

Layout: stage Y-up, metres (``metersPerUnit = 1``), default prim ``/Scene``; one ``Xform`` per
cell under ``/Scene/Cells`` whose ``customData`` carries the cell's GLB extras (``type``,
``cellId``, ``aabb``); below it one ``Mesh`` per material with the very triangles of the GLB
(``faceVertexCounts`` all 3, face-varying normals are not needed: vertex normals as in the GLB)
bound to a ``UsdPreviewSurface`` material under ``/Scene/Materials``. A textured material's
``diffuseColor`` (and its ``opacity`` where the GLB blends, alpha under 1) reads its PNG, packed once per
image, through a ``UsdUVTexture`` (``scale``: the base colour factor, as glTF multiplies them; wrap
``repeat``) at the mesh's ``st`` primvar: the GLB's texture coordinates with v turned up. Portals are ``Xform``
prims under ``/Scene/Portals`` with their extras (``from``, ``to``, ``quad``) as customData.
The package is made with ``UsdUtils.CreateNewARKitUsdzPackage`` and must pass every validator
usd-core registers (the engine of ``usdchecker``, ARKit package rules included): :func:`validation_errors` runs them.

Prim names are ids made valid USD identifiers (ASCII letters, digits and ``_``): every other character
becomes ``_`` (one per UTF-8 byte: ``é`` gives ``__``), an id starting with a digit is prefixed with
``_``, and names that come out the same in one scope (``a-b`` and ``a.b``) are kept apart with a suffix
``_2``, ``_3``, …; the exact id always stays in ``customData.cellId``. Materials are named the same
way; a surface whose material the GLB lacks gets a grey one of its own, ``_default`` (``_default_2`` when a
material's name took that).
Cost: O(triangles) array copies into USD's Vt arrays; one temporary directory for the package. Every prim is
defined in one change block before its attributes are written, so the stage composes once (O(prims), not
O(n²) in the children of one scope).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..ingest.built_glb import BuiltScene
from .names import unique_name

__all__ = ["to_usdz", "validation_errors"]


def _identifier(name: str, taken: set[str]) -> str:
    from pxr import Tf

    return unique_name(
        Tf.MakeValidIdentifier("_" + name if name[:1].isascii() and name[:1].isdigit() else name) or "_", taken
    )


def _material(
    stage: Any,
    path: str,
    color: tuple[float, float, float, float],
    metallic: float,
    rough: float,
    texture: str | None = None,
) -> Any:
    from pxr import Gf, Sdf, UsdShade

    material = UsdShade.Material.Define(stage, path)
    shader = UsdShade.Shader.Define(stage, f"{path}/PreviewSurface")
    shader.CreateIdAttr("UsdPreviewSurface")
    diffuse = shader.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f)
    shader.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(float(metallic))
    shader.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(float(rough))
    opacity = shader.CreateInput("opacity", Sdf.ValueTypeNames.Float) if color[3] < 1.0 else None
    if texture is None:
        diffuse.Set(Gf.Vec3f(*color[:3]))
        if opacity is not None:
            opacity.Set(float(color[3]))
    else:
        # glTF's base colour: the texture times the factor (the texture's alpha counts only when blending)
        reader = UsdShade.Shader.Define(stage, f"{path}/TexCoords")
        reader.CreateIdAttr("UsdPrimvarReader_float2")
        reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("st")
        image = UsdShade.Shader.Define(stage, f"{path}/Texture")
        image.CreateIdAttr("UsdUVTexture")
        image.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(Sdf.AssetPath(texture))
        image.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(
            reader.CreateOutput("result", Sdf.ValueTypeNames.Float2)
        )
        image.CreateInput("wrapS", Sdf.ValueTypeNames.Token).Set("repeat")
        image.CreateInput("wrapT", Sdf.ValueTypeNames.Token).Set("repeat")
        image.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set("sRGB")
        image.CreateInput("scale", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(*color))
        diffuse.ConnectToSource(image.CreateOutput("rgb", Sdf.ValueTypeNames.Float3))
        if opacity is not None:
            opacity.ConnectToSource(image.CreateOutput("a", Sdf.ValueTypeNames.Float))
    material.CreateSurfaceOutput().ConnectToSource(shader.ConnectableAPI(), "surface")
    return material


def _textures(scene: BuiltScene, folder: Path) -> dict[str, str]:
    """Each textured material's image written once (by asset id) as ``textures/<k>.png`` under ``folder``;
    the asset path by material id. Numbered, not named after the asset id: any id is a safe file name so."""
    files: dict[str, str] = {}
    out: dict[str, str] = {}
    for mid, m in scene.materials.items():
        if m.texture is None:
            continue
        if m.texture.asset_id not in files:
            name = files[m.texture.asset_id] = f"textures/texture{len(files)}.png"
            (folder / "textures").mkdir(exist_ok=True)
            (folder / name).write_bytes(m.texture.png)
        out[mid] = files[m.texture.asset_id]
    return out


def _prim_paths(scene: BuiltScene) -> tuple[dict[str, str], str, list[str], list[list[str]], list[str]]:
    """Prim paths of the materials (by id), the fallback material, the cells, their meshes and the portals."""
    names: set[str] = set()
    materials = {mid: f"/Scene/Materials/{_identifier(mid, names)}" for mid in scene.materials}
    fallback = f"/Scene/Materials/{_identifier('_default', names)}"
    cell_names: set[str] = set()
    cells, meshes = [], []
    for cell in scene.cells:
        cpath = f"/Scene/Cells/{_identifier(cell.cell_id, cell_names)}"
        mesh_names: set[str] = set()
        cells.append(cpath)
        meshes.append([f"{cpath}/{_identifier(s.material, mesh_names)}" for s in cell.surfaces])
    portal_names: set[str] = set()
    portals = [f"/Scene/Portals/{_identifier(f'{p.source}__{p.target}', portal_names)}" for p in scene.portals]
    return materials, fallback, cells, meshes, portals


def _define_all(layer: Any, prims: list[tuple[str, str]]) -> None:
    """Each ``(path, type name)`` defined in ``layer`` (parents first), in one change block: the stage
    composes once. Defined through the stage one at a time, each new prim recomposed its parent's children
    list, so a scope of n children cost O(n²) (5,000 cells and their portals: 15 s; 20,000: past the job's
    timeout); the schemas' ``Define`` then finds each prim made."""
    from pxr import Sdf

    with Sdf.ChangeBlock():
        for path, type_name in prims:
            spec = Sdf.CreatePrimInLayer(layer, path)
            spec.specifier = Sdf.SpecifierDef
            spec.typeName = type_name


def _write_stage(scene: BuiltScene, path: Path) -> None:
    from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade, Vt

    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    material_paths, fallback_path, cell_paths, mesh_paths, portal_paths = _prim_paths(scene)
    prims = [("/Scene", "Xform"), ("/Scene/Materials", "Scope")]
    textures = _textures(scene, path.parent)
    for mid, mpath in material_paths.items():
        prims += [(mpath, "Material"), (f"{mpath}/PreviewSurface", "Shader")]
        if mid in textures:
            prims += [(f"{mpath}/TexCoords", "Shader"), (f"{mpath}/Texture", "Shader")]
    prims.append(("/Scene/Cells", "Scope"))
    for cpath, paths in zip(cell_paths, mesh_paths, strict=True):
        prims += [(cpath, "Xform"), *((p, "Mesh") for p in paths)]
    prims += [("/Scene/Portals", "Scope"), *((p, "Xform") for p in portal_paths)]
    _define_all(stage.GetRootLayer(), prims)
    root = UsdGeom.Xform.Define(stage, "/Scene")
    stage.SetDefaultPrim(root.GetPrim())
    root.GetPrim().SetCustomDataByKey("sceneforge:sceneId", scene.scene_id)
    materials: dict[str, Any] = {}
    UsdGeom.Scope.Define(stage, "/Scene/Materials")
    for mid, m in scene.materials.items():
        texture = textures.get(mid)
        materials[mid] = _material(stage, material_paths[mid], m.base_color, m.metallic, m.roughness, texture)
    fallback = None
    UsdGeom.Scope.Define(stage, "/Scene/Cells")
    for cell, cpath, paths in zip(scene.cells, cell_paths, mesh_paths, strict=True):
        xform = UsdGeom.Xform.Define(stage, cpath)
        prim = xform.GetPrim()
        prim.SetCustomData({"type": "cell", "cellId": cell.cell_id, "aabb": Vt.DoubleArray(list(cell.aabb))})
        for s, mpath in zip(cell.surfaces, paths, strict=True):
            mesh = UsdGeom.Mesh.Define(stage, mpath)
            points = np.ascontiguousarray(s.positions, dtype=np.float32)
            mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(points))
            mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(s.triangle_count, 3, dtype=np.int32)))
            mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(s.indices.astype(np.int32).ravel()))
            mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(s.normals, dtype=np.float32)))
            mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
            mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
            mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
            lo, hi = points.min(axis=0), points.max(axis=0)
            mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
            if s.material in textures:  # glTF's v runs down the image, USD's t up it
                st = np.column_stack([s.uvs[:, 0], 1.0 - s.uvs[:, 1]]).astype(np.float32)
                primvar = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar(
                    "st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex
                )
                primvar.Set(Vt.Vec2fArray.FromNumpy(st))
            material = materials.get(s.material)
            if material is None:
                if fallback is None:  # made when first used: its prims are defined here
                    fallback = _material(stage, fallback_path, (0.8, 0.8, 0.8, 1.0), 0.0, 0.9)
                material = fallback
            UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)
    UsdGeom.Scope.Define(stage, "/Scene/Portals")
    for portal, ppath in zip(scene.portals, portal_paths, strict=True):
        prim = UsdGeom.Xform.Define(stage, ppath).GetPrim()
        quad = Vt.DoubleArray([float(v) for v in portal.quad.ravel()])
        prim.SetCustomData({"type": "portal", "from": portal.source, "to": portal.target, "quad": quad})
    stage.GetRootLayer().documentation = f"sceneforge export of {scene.scene_id}"
    stage.GetRootLayer().Save()


def to_usdz(scene: BuiltScene) -> bytes:
    """The scene as USDZ bytes (an ARKit-compliant package holding one binary ``.usdc`` layer)."""
    from pxr import UsdUtils

    with tempfile.TemporaryDirectory(prefix="sceneforge-usdz-") as tmp:
        layer = Path(tmp) / "scene.usdc"
        package = Path(tmp) / "scene.usdz"
        _write_stage(scene, layer)
        if not UsdUtils.CreateNewARKitUsdzPackage(str(layer), str(package)):
            raise RuntimeError("usd-core could not package the stage as USDZ")
        return package.read_bytes()


def validation_errors(usdz: bytes) -> list[str]:
    """Messages of every validator usd-core registers (what ``usdchecker`` runs) on the ``usdz`` package."""
    from pxr import Usd, UsdValidation

    with tempfile.TemporaryDirectory(prefix="sceneforge-usdz-") as tmp:
        path = Path(tmp) / "scene.usdz"
        path.write_bytes(usdz)
        stage = Usd.Stage.Open(str(path))
        registry = UsdValidation.ValidationRegistry()
        context = UsdValidation.ValidationContext(registry.GetOrLoadAllValidators())
        found = [f"{e.GetName()}: {e.GetMessage()}" for e in context.Validate(stage)]
        del stage
        return found
