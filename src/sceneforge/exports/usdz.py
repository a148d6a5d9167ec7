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
The package is made with ``UsdUtils.CreateNewARKitUsdzPackage`` (its entries' times then set to 1980-01-01, as
the OBJ zip's: one scene gives the same bytes however often it is exported) and must pass every validator
usd-core registers (the engine of ``usdchecker``, ARKit package rules included): :func:`validation_errors` runs them.

Instanced meshes (the GLB's EXT_mesh_gpu_instancing nodes, a description's ``instances``) stay instanced, with
USD's scene-graph instancing (what AR Quick Look draws): each mesh once, as a prototype under the abstract
``class`` prim ``/Scene/Prototypes`` (its meshes bound to its own copies of the materials it uses: a binding
may not leave an instance); each instancing node an ``Xform`` in its cell (customData ``type: instances``,
``node``; ``xformOp:transform`` its node's world matrix where that is not the identity) holding one
instanceable ``Xform`` a copy (``i0``, ``i1``, …) that references the prototype, placed by
``xformOp:translate`` (double3), ``xformOp:orient`` (quatd, unit: a quatf turned copies up to 6e-6 of their size
off) and ``xformOp:scale`` (float3): the glTF copy's own translation, rotation and scale.
5,000 copies of a mesh cost 5,000 small prims, not 5,000 meshes.

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

import io
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..ingest.built_glb import BuiltInstances, BuiltScene
from ..model.ir import Surface
from .check import check_scene
from .names import Names, unique_name

__all__ = ["to_usdz", "validation_errors"]


def _identifier(name: str, taken: Names) -> str:
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


class _Paths:
    """Prim paths of everything the stage holds, named once (:func:`_identifier`, distinct per scope)."""

    def __init__(self, scene: BuiltScene) -> None:
        names = Names()
        #: Materials by id, and the grey one for surfaces whose material the GLB lacks.
        self.materials = {mid: f"/Scene/Materials/{_identifier(mid, names)}" for mid in scene.materials}
        self.fallback = f"/Scene/Materials/{_identifier('_default', names)}"
        self.cells: list[str] = []
        self.meshes: list[list[str]] = []  # per cell, per surface
        self.groups: list[list[str]] = []  # per cell, per kept instance group
        #: Per glTF mesh index: its prototype's path (its meshes and materials are named in it by :func:`_author`).
        self.prototypes: dict[int, str] = {}
        cell_names = Names()
        prototype_names = Names()
        for cell in scene.cells:
            cpath = f"/Scene/Cells/{_identifier(cell.cell_id, cell_names)}"
            children = Names()
            self.cells.append(cpath)
            self.meshes.append([f"{cpath}/{_identifier(s.material, children)}" for s in cell.surfaces])
            self.groups.append([f"{cpath}/{_identifier(g.name, children)}" for g in cell.instances])
            for g in cell.instances:
                if g.mesh not in self.prototypes:
                    name = _identifier(g.name.rpartition("/")[2] or f"mesh{g.mesh}", prototype_names)
                    self.prototypes[g.mesh] = f"/Scene/Prototypes/{name}"
        portal_names = Names()
        self.portals = [f"/Scene/Portals/{_identifier(f'{p.source}__{p.target}', portal_names)}" for p in scene.portals]


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


def _mesh(stage: Any, path: str, s: Surface, textured: bool) -> Any:
    """A ``Mesh`` at ``path`` (defined already) with ``s``'s triangles; its binding API applied."""
    from pxr import Gf, Sdf, UsdGeom, UsdShade, Vt

    mesh = UsdGeom.Mesh.Define(stage, path)
    points = np.ascontiguousarray(s.positions, dtype=np.float32)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(points))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(s.triangle_count, 3, dtype=np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(s.indices.astype(np.int32).ravel()))
    mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(s.normals, dtype=np.float32)))
    mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
    lo, hi = points.min(axis=0, initial=np.inf), points.max(axis=0, initial=-np.inf)
    if not points.size:  # a surface without vertices: an empty box at the origin
        lo, hi = np.zeros(3, np.float32), np.zeros(3, np.float32)
    mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(*map(float, lo)), Gf.Vec3f(*map(float, hi))]))
    if textured:  # glTF's v runs down the image, USD's t up it
        st = np.column_stack([s.uvs[:, 0], 1.0 - s.uvs[:, 1]]).astype(np.float32)
        primvar = UsdGeom.PrimvarsAPI(mesh).CreatePrimvar(
            "st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex
        )
        primvar.Set(Vt.Vec2fArray.FromNumpy(st))
    return UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim())


def _copies(layer: Any, path: str, prototype: str, group: BuiltInstances) -> None:
    """The group's copies as instanceable ``Xform`` children of ``path`` (defined already) referencing
    ``prototype``, authored as layer specs in one change block (one Python call per value, no composition)."""
    from pxr import Gf, Sdf, Vt

    parent = layer.GetPrimAtPath(Sdf.Path(path))
    if not np.array_equal(group.matrix, np.eye(4)):
        op = Sdf.AttributeSpec(parent, "xformOp:transform", Sdf.ValueTypeNames.Matrix4d)
        op.default = Gf.Matrix4d(group.matrix.T.tolist())  # USD's matrices act on row vectors
        order = Sdf.AttributeSpec(parent, "xformOpOrder", Sdf.ValueTypeNames.TokenArray, Sdf.VariabilityUniform)
        order.default = Vt.TokenArray(["xformOp:transform"])
    parent.customData = {"type": "instances", "node": group.name}
    ops = Vt.TokenArray(["xformOp:translate", "xformOp:orient", "xformOp:scale"])
    reference = Sdf.Reference(primPath=prototype)
    x, y, z, w = group.rotations.T.tolist()
    with Sdf.ChangeBlock():
        for j, (t, s) in enumerate(zip(group.translations.tolist(), group.scales.tolist(), strict=True)):
            spec = Sdf.PrimSpec(parent, f"i{j}", Sdf.SpecifierDef, "Xform")
            spec.instanceable = True
            spec.referenceList.Prepend(reference)
            Sdf.AttributeSpec(spec, "xformOp:translate", Sdf.ValueTypeNames.Double3).default = Gf.Vec3d(*t)
            Sdf.AttributeSpec(spec, "xformOp:orient", Sdf.ValueTypeNames.Quatd).default = Gf.Quatd(
                w[j], x[j], y[j], z[j]
            )
            Sdf.AttributeSpec(spec, "xformOp:scale", Sdf.ValueTypeNames.Float3).default = Gf.Vec3f(*s)
            order = Sdf.AttributeSpec(spec, "xformOpOrder", Sdf.ValueTypeNames.TokenArray, Sdf.VariabilityUniform)
            order.default = ops


def _write_stage(scene: BuiltScene, path: Path) -> None:
    paths = _Paths(scene)
    layer = _author(scene, path, paths)  # its stage is gone: the copies' specs compose nothing as they are made
    for cell, group_paths in zip(scene.cells, paths.groups, strict=True):
        for group, gpath in zip(cell.instances, group_paths, strict=True):
            _copies(layer, gpath, paths.prototypes[group.mesh], group)
    layer.Save()


def _author(scene: BuiltScene, path: Path, paths: _Paths) -> Any:
    """Every prim but the instances' copies, through a stage; the root layer, unsaved."""
    from pxr import Sdf, Usd, UsdGeom, Vt

    layer = Sdf.Layer.CreateNew(str(path))  # held here: the stage's own handle dies with it
    stage = Usd.Stage.Open(layer)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    prims = [("/Scene", "Xform"), ("/Scene/Materials", "Scope")]
    textures = _textures(scene, path.parent)

    def material_prims(mpath: str, mid: str) -> list[tuple[str, str]]:
        out = [(mpath, "Material"), (f"{mpath}/PreviewSurface", "Shader")]
        return out + ([(f"{mpath}/TexCoords", "Shader"), (f"{mpath}/Texture", "Shader")] if mid in textures else [])

    for mid, mpath in paths.materials.items():
        prims += material_prims(mpath, mid)
    # One prototype a mesh: its surfaces, and its own materials (a binding may not leave an instance).
    groups = {g.mesh: g for cell in scene.cells for g in cell.instances}
    prototype_meshes: dict[int, list[str]] = {}
    prototype_materials: dict[int, dict[str, str]] = {}
    if groups:
        prims.append(("/Scene/Prototypes", "Scope"))
    for m, ppath in paths.prototypes.items():
        names = Names()
        names.add("Materials")  # the scope of its own materials: a material named so gives its mesh Materials_2
        surfaces = groups[m].surfaces
        prototype_meshes[m] = [f"{ppath}/{_identifier(s.material, names)}" for s in surfaces]
        used = sorted({s.material for s in surfaces})
        material_names = Names()
        prototype_materials[m] = {mid: f"{ppath}/Materials/{_identifier(mid, material_names)}" for mid in used}
        prims += [(ppath, "Xform"), *((p, "Mesh") for p in prototype_meshes[m]), (f"{ppath}/Materials", "Scope")]
        for mid, mpath in prototype_materials[m].items():
            prims += material_prims(mpath, mid)
    prims.append(("/Scene/Cells", "Scope"))
    for cpath, mesh_paths, group_paths in zip(paths.cells, paths.meshes, paths.groups, strict=True):
        prims += [(cpath, "Xform"), *((p, "Mesh") for p in mesh_paths), *((p, "Xform") for p in group_paths)]
    prims += [("/Scene/Portals", "Scope"), *((p, "Xform") for p in paths.portals)]
    _define_all(layer, prims)
    if groups:  # abstract: its meshes are drawn only where instances reference them
        layer.GetPrimAtPath("/Scene/Prototypes").specifier = Sdf.SpecifierClass
    root = UsdGeom.Xform.Define(stage, "/Scene")
    stage.SetDefaultPrim(root.GetPrim())
    root.GetPrim().SetCustomDataByKey("sceneforge:sceneId", scene.scene_id)
    fallback: dict[str, Any] = {}  # made when first used: its prims are defined there

    def material_at(mpath: str, mid: str) -> Any:
        m = scene.materials.get(mid)
        if m is None:
            if mpath not in fallback:
                fallback[mpath] = _material(stage, mpath, (0.8, 0.8, 0.8, 1.0), 0.0, 0.9)
            return fallback[mpath]
        return _material(stage, mpath, m.base_color, m.metallic, m.roughness, textures.get(mid))

    UsdGeom.Scope.Define(stage, "/Scene/Materials")
    materials = {mid: material_at(mpath, mid) for mid, mpath in paths.materials.items()}
    for m in paths.prototypes:
        own = {mid: material_at(mpath, mid) for mid, mpath in prototype_materials[m].items()}
        for s, mpath in zip(groups[m].surfaces, prototype_meshes[m], strict=True):
            _mesh(stage, mpath, s, s.material in textures).Bind(own[s.material])
    UsdGeom.Scope.Define(stage, "/Scene/Cells")
    for cell, cpath, mesh_paths in zip(scene.cells, paths.cells, paths.meshes, strict=True):
        xform = UsdGeom.Xform.Define(stage, cpath)
        prim = xform.GetPrim()
        prim.SetCustomData({"type": "cell", "cellId": cell.cell_id, "aabb": Vt.DoubleArray(list(cell.aabb))})
        for s, mpath in zip(cell.surfaces, mesh_paths, strict=True):
            binding = _mesh(stage, mpath, s, s.material in textures)
            binding.Bind(materials[s.material] if s.material in materials else material_at(paths.fallback, s.material))
    UsdGeom.Scope.Define(stage, "/Scene/Portals")
    for portal, ppath in zip(scene.portals, paths.portals, strict=True):
        prim = UsdGeom.Xform.Define(stage, ppath).GetPrim()
        quad = Vt.DoubleArray([float(v) for v in portal.quad.ravel()])
        prim.SetCustomData({"type": "portal", "from": portal.source, "to": portal.target, "quad": quad})
    layer.documentation = f"sceneforge export of {scene.scene_id}"
    return layer


def to_usdz(scene: BuiltScene) -> bytes:
    """The scene as USDZ bytes (an ARKit-compliant package holding one binary ``.usdc`` layer);
    :class:`~sceneforge.errors.PassError` for arrays that are not whole (:func:`.check.check_scene`)."""
    from pxr import UsdUtils

    check_scene(scene, "usdz")

    with tempfile.TemporaryDirectory(prefix="sceneforge-usdz-") as tmp:
        layer = Path(tmp) / "scene.usdc"
        package = Path(tmp) / "scene.usdz"
        _write_stage(scene, layer)
        if not UsdUtils.CreateNewARKitUsdzPackage(str(layer), str(package)):
            raise RuntimeError("usd-core could not package the stage as USDZ")
        return _fixed_times(package.read_bytes())


#: DOS date 1980-01-01, time 00:00:00: what the OBJ zip's entries carry too.
_DOS_TIME_DATE = struct.pack("<HH", 0, (0 << 9) | (1 << 5) | 1)


def _fixed_times(package: bytes) -> bytes:
    """``package`` with every entry's modification time set to 1980-01-01 00:00, in its local header and its
    central directory record: usd-core writes the time it packaged, so one scene exported twice gave two files
    (two ETags). Patched in place, not rewritten: the entries keep the 64-byte alignment USDZ asks of them."""
    import zipfile

    out = bytearray(package)
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        for info in z.infolist():
            assert out[info.header_offset : info.header_offset + 4] == b"PK\x03\x04"
            out[info.header_offset + 10 : info.header_offset + 14] = _DOS_TIME_DATE
        at, entries = z.start_dir, len(z.infolist())  # where zipfile found the central directory
    for _ in range(entries):
        assert out[at : at + 4] == b"PK\x01\x02"
        out[at + 12 : at + 16] = _DOS_TIME_DATE
        names, extra, comment = struct.unpack_from("<HHH", out, at + 28)
        at += 46 + names + extra + comment
    return bytes(out)


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
