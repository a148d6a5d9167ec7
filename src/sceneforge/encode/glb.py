"""Encode a :class:`~sceneforge.model.ir.SceneIR` as a deterministic GLB (DESIGN §3).

Layout of the document:

- one root node per cell, in scene order, named ``cell:<cellId>`` with extras
  ``{"type": "cell", "cellId", "aabb": [minx, miny, minz, maxx, maxy, maxz]}``. Its geometry is
  one mesh with one primitive per material (``Cell.surfaces``, merged by the optimize passes).
  Plain output puts the mesh on the cell node itself. Quantized output puts it on a child node
  ``cell:<cellId>/geometry`` whose translation and uniform scale dequantize the uint16
  positions (the scene-global grid, the same transform on every cell), so the cell node keeps
  an identity transform, its name and its extras. A cell without triangles has no mesh.
  ``TEXCOORD_0`` is written only for materials with a base-colour texture: nothing reads the
  UVs of an untextured material, and they were 40 % of the compressed maze below.
- one child node per instance group, ``instances:<cellId>/<meshKey>``, drawing its mesh with
  EXT_mesh_gpu_instancing (TRANSLATION / ROTATION / SCALE accessors; with quantization the
  dequantizing transform is folded into each instance). Groups that share the very same
  surfaces share one glTF mesh.
- one root node per portal, ``portal:<from>-><to>``, no mesh, extras
  ``{"type": "portal", "from", "to", "quad": [12 floats]}``.
- scene extras ``{"sceneforge": {"formatVersion": 1, "sceneId"}}``, plus ``"props"`` (keys sorted)
  when the description has props, so that a change of props changes the bytes and the ETag.
- materials (those used, sorted by id) as pbrMetallicRoughness; a base-colour texture is an
  embedded PNG; ``alphaMode`` is ``BLEND`` when the base colour's alpha is below 1.

Options: ``quantize`` (KHR_mesh_quantization: uint16 positions on a power-of-two grid over the
scene's box, error at most ``extent / 65534``; int8 normals; float UVs; see :mod:`.quantize`)
and ``compress`` (EXT_meshopt_compression of every vertex and index view, normals through the
``OCTAHEDRAL`` filter when quantized; see :mod:`.buffers`). Both extensions are then required.
Vertex attributes are separate streams (not interleaved), each packed into one buffer view for
the whole file with the cells in scene order, so a cell is one contiguous range of each view:
meshopt compresses a long stream of like values best, and the JSON needs 3 views instead of
one per attribute per primitive.

Sizes, 1,000-cell maze (``generate maze --cells 1000 --seed 1``; 67,960 triangles, 100,752
vertices, no textures), bytes of the GLB (JSON + BIN):

=====================  ==========================  ==========================
mode                   before (view per array)     now
=====================  ==========================  ==========================
plain                  4,695,780                   3,537,200 (711,364 + 2,825,816)
quantize               —                           2,464,560 (847,748 + 1,616,792)
compress               —                           1,623,772 (711,964 + 911,788)
quantize + compress    3,098,248                   1,340,804 (848,328 + 492,456)
=====================  ==========================  ==========================

gltfpack ``-cc -kn -ke`` on the plain file: 1,267,120 (804,300 + 462,800), 14-bit positions
(step 1/128 m here), no UVs; ours is 5.8 % bigger with twice its position precision (step
1/256 m, error ≤ 2 mm). Steps tried for quantize + compress: one view per array 3,098,248;
packed views 2,026,376 (JSON −0.8 MB, BIN −0.25 MB: the codec no longer restarts per
primitive); UVs only where textured 1,340,804. Grid bits: 14 → 1,239,484 (error ≤ 7.8 mm),
15 → 1,310,680 (≤ 3.9 mm), 16 → 1,340,804 (≤ 2 mm, kept). Normals as plain int8 XYZ instead of
the octahedral filter: 1,368,040. The remaining JSON is mostly per-cell nodes, extras and
accessors, which DESIGN §3 asks for.

Deterministic: the JSON is written in a fixed key order with compact separators and ASCII
escapes, floats through ``repr`` (shortest round-trip), and nothing depends on time,
hashing or memory addresses. Cost: O(vertices + indices) numpy work plus the codecs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import PassError
from ..model.ir import Cell, InstanceGroup, Material, Portal, SceneIR, Surface
from .buffers import EXT_MESHOPT, BufferWriter, glb_container
from .quantize import Dequantize, octahedral_normals, position_grid, quantize_normals, quantize_positions

__all__ = ["FORMAT_VERSION", "EncodeOptions", "encode_glb"]

NAME = "encode"
#: ``scene.extras.sceneforge.formatVersion``: bumped when the node/extras layout changes.
FORMAT_VERSION = 1
EXT_QUANTIZATION = "KHR_mesh_quantization"
EXT_INSTANCING = "EXT_mesh_gpu_instancing"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OCTAHEDRAL = "OCTAHEDRAL"
LINEAR, LINEAR_MIPMAP_LINEAR = 9729, 9987


@dataclass(frozen=True, slots=True)
class EncodeOptions:
    """Options of :func:`encode_glb`.

    ``quantize``: KHR_mesh_quantization, int16 positions and int8 normals (default ``False``).
    ``compress``: EXT_meshopt_compression on vertex and index data (default ``False``).
    ``all_uvs``: write TEXCOORD_0 for every primitive, not only textured ones, for engines that
    apply their own textures to the world-scaled UVs (default ``False``).
    """

    quantize: bool = False
    compress: bool = False
    all_uvs: bool = False

    def __post_init__(self) -> None:
        for name in ("quantize", "compress", "all_uvs"):
            if not isinstance(getattr(self, name), bool):
                raise PassError(NAME, f"{name} must be a bool, got {getattr(self, name)!r}")


def _floats(values: npt.ArrayLike) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]


class _Encoder:
    def __init__(self, ir: SceneIR, options: EncodeOptions) -> None:
        self.ir, self.options = ir, options
        self.writer = BufferWriter(compress=options.compress)
        self.nodes: list[dict[str, Any]] = []
        self.meshes: list[dict[str, Any]] = []
        self.extensions: set[str] = set()
        self.material_index = {m: i for i, m in enumerate(self._used_materials())}
        #: Materials whose primitives carry TEXCOORD_0: the textured ones, or all with ``all_uvs``.
        self.textured = {
            m
            for m in self.material_index
            if options.all_uvs or ((mat := ir.materials.get(m)) and mat.texture is not None)
        }
        self.materials: list[dict[str, Any]] = []
        self.textures: list[dict[str, Any]] = []
        self.images: list[dict[str, Any]] = []
        self._image_index: dict[str, int] = {}
        self._instanced: list[tuple[tuple[Surface, ...], int, Dequantize | None]] = []
        #: The one position grid of every cell's geometry (quantized output): the scene's box.
        self.cell_grid = (
            position_grid([s.positions for c in ir.cells for s in c.surfaces if s.triangle_count])
            if options.quantize
            else None
        )

    def _used_materials(self) -> list[str]:
        used = {s.material for c in self.ir.cells for s in c.surfaces if s.triangle_count}
        used |= {s.material for c in self.ir.cells for g in c.instances for s in g.surfaces if s.triangle_count}
        return sorted(used)

    # -- geometry ---------------------------------------------------------------------------

    def _check(self, surface: Surface, where: str) -> None:
        n = surface.vertex_count
        if surface.normals.shape != (n, 3) or surface.uvs.shape != (n, 2) or surface.positions.shape != (n, 3):
            raise PassError(NAME, f"{where}: attribute arrays of material {surface.material!r} disagree in shape")
        if int(surface.indices.max()) >= n:
            raise PassError(NAME, f"{where}: material {surface.material!r} indexes past its {n} vertices")
        if not (np.isfinite(surface.positions).all() and np.isfinite(surface.normals).all()):
            raise PassError(NAME, f"{where}: material {surface.material!r} has non-finite vertices")
        if not np.isfinite(surface.uvs).all():
            raise PassError(NAME, f"{where}: material {surface.material!r} has non-finite UVs")

    def _primitive(self, surface: Surface, grid: Dequantize | None) -> dict[str, Any]:
        w = self.writer
        positions = np.ascontiguousarray(surface.positions, dtype=np.float32)
        if grid is None:
            bounds = (_floats(positions.min(axis=0)), _floats(positions.max(axis=0)))
            position = w.vertex_accessor("POSITION", positions, 3, bounds=bounds)
            normals = np.ascontiguousarray(surface.normals, dtype=np.float32)
            normal = w.vertex_accessor("NORMAL", normals, 3)
        else:
            q = quantize_positions(positions, grid)
            bounds = ([int(v) for v in q[:, :3].min(axis=0)], [int(v) for v in q[:, :3].max(axis=0)])
            position = w.vertex_accessor("POSITION", q, 3, bounds=bounds)
            qn = quantize_normals(surface.normals)
            octahedral = octahedral_normals(surface.normals) if w.compress else None
            normal = w.vertex_accessor("NORMAL", qn, 3, normalized=True, filter=OCTAHEDRAL, stored=octahedral)
        attributes = {"POSITION": position, "NORMAL": normal}
        if surface.material in self.textured:
            uvs = np.ascontiguousarray(surface.uvs, dtype=np.float32)
            attributes["TEXCOORD_0"] = w.vertex_accessor("TEXCOORD_0", uvs, 2)
        indices = w.index_accessor(surface.indices, surface.vertex_count)
        return {
            "attributes": attributes,
            "indices": indices,
            "material": self.material_index[surface.material],
        }

    def _mesh(self, name: str, surfaces: list[Surface], grid: Dequantize | None) -> int:
        self.meshes.append({"name": name, "primitives": [self._primitive(s, grid) for s in surfaces]})
        return len(self.meshes) - 1

    def _add_node(self, node: dict[str, Any]) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def _cell(self, cell: Cell) -> int:
        node: dict[str, Any] = {
            "name": f"cell:{cell.cell_id}",
            "extras": {"type": "cell", "cellId": cell.cell_id, "aabb": _floats(cell.aabb())},
        }
        index = self._add_node(node)
        children: list[int] = []
        surfaces = [s for s in cell.surfaces if s.triangle_count]
        if surfaces:
            for surface in surfaces:
                self._check(surface, f"cell:{cell.cell_id}")
            grid = self.cell_grid
            mesh = self._mesh(f"cell:{cell.cell_id}", surfaces, grid)
            if grid is None:
                node["mesh"] = mesh
            else:
                child = {
                    "name": f"cell:{cell.cell_id}/geometry",
                    "mesh": mesh,
                    "translation": list(grid.offset),
                    "scale": [grid.scale] * 3,
                }
                children.append(self._add_node(child))
        for group in cell.instances:
            child_index = self._instances(cell, group)
            if child_index is not None:
                children.append(child_index)
        if children:
            node["children"] = children
        return index

    def _instances(self, cell: Cell, group: InstanceGroup) -> int | None:
        from .instancing import decompose_trs

        surfaces = [s for s in group.surfaces if s.triangle_count]
        transforms = np.asarray(group.transforms, dtype=np.float64).reshape(-1, 4, 4)
        if not surfaces or transforms.shape[0] == 0:
            return None
        if not np.isfinite(transforms).all():
            raise PassError(NAME, f"instances {group.mesh_key!r} in cell {cell.cell_id!r}: non-finite transform")
        shared = next(((m, b) for s, m, b in self._instanced if s is group.surfaces), None)
        if shared is None:
            for surface in surfaces:
                self._check(surface, f"instance:{group.mesh_key}")
            grid = position_grid([s.positions for s in surfaces]) if self.options.quantize else None
            shared = (self._mesh(f"instance:{group.mesh_key}", surfaces, grid), grid)
            self._instanced.append((group.surfaces, *shared))
        mesh, box = shared
        offset, scale = (box.offset, box.scale) if box is not None else ((0.0, 0.0, 0.0), 1.0)
        translations, rotations, scales = decompose_trs(transforms, offset, scale)
        attributes = {}
        for key, values in (("TRANSLATION", translations), ("ROTATION", rotations), ("SCALE", scales)):
            attributes[key] = self.writer.data_accessor(np.ascontiguousarray(values, dtype=np.float32))
        self.extensions.add(EXT_INSTANCING)
        return self._add_node(
            {
                "name": f"instances:{cell.cell_id}/{group.mesh_key}",
                "mesh": mesh,
                "extensions": {EXT_INSTANCING: {"attributes": attributes}},
            }
        )

    def _portal(self, portal: Portal) -> int:
        return self._add_node(
            {
                "name": f"portal:{portal.from_cell}->{portal.to_cell}",
                "extras": {
                    "type": "portal",
                    "from": portal.from_cell,
                    "to": portal.to_cell,
                    "quad": _floats(portal.quad),
                },
            }
        )

    # -- materials --------------------------------------------------------------------------

    def _material(self, material_id: str) -> dict[str, Any]:
        material = self.ir.materials.get(material_id) or Material(material_id)
        pbr: dict[str, Any] = {
            "baseColorFactor": _floats(material.base_color),
            "metallicFactor": float(material.metallic),
            "roughnessFactor": float(material.roughness),
        }
        texture = material.texture
        if texture is not None:
            pbr["baseColorTexture"] = {"index": self._texture(material_id, texture.asset_id, texture.png)}
        out: dict[str, Any] = {"name": material_id, "pbrMetallicRoughness": pbr}
        if material.base_color[3] < 1.0:
            out["alphaMode"] = "BLEND"
        return out

    def _texture(self, material_id: str, asset_id: str, png: bytes) -> int:
        if asset_id not in self._image_index:
            if not png.startswith(PNG_SIGNATURE):
                raise PassError(NAME, f"material {material_id!r}: texture {asset_id!r} is not a PNG image")
            view = self.writer.blob_view(png)
            self.images.append({"name": asset_id, "bufferView": view, "mimeType": "image/png"})
            self._image_index[asset_id] = len(self.textures)
            self.textures.append({"sampler": 0, "source": len(self.images) - 1})
        return self._image_index[asset_id]

    # -- document ---------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        from .. import __version__

        roots = [self._cell(c) for c in self.ir.cells] + [self._portal(p) for p in self.ir.portals]
        self.materials = [self._material(m) for m in self.material_index]
        self.writer.finish()
        if self.options.quantize and self.meshes:
            self.extensions.add(EXT_QUANTIZATION)
        if self.writer.compressed_views:
            self.extensions.add(EXT_MESHOPT)
        extras: dict[str, Any] = {"sceneforge": {"formatVersion": FORMAT_VERSION, "sceneId": self.ir.scene_id}}
        if self.ir.props:
            extras["props"] = {k: self.ir.props[k] for k in sorted(self.ir.props)}
        scene: dict[str, Any] = {"name": self.ir.scene_id}
        if roots:
            scene["nodes"] = roots
        scene["extras"] = extras
        doc: dict[str, Any] = {"asset": {"version": "2.0", "generator": f"sceneforge {__version__}"}}
        if self.extensions:
            doc["extensionsUsed"] = sorted(self.extensions)
            doc["extensionsRequired"] = sorted(self.extensions)
        doc["scene"] = 0
        doc["scenes"] = [scene]
        optional: list[tuple[str, list[dict[str, Any]]]] = [
            ("nodes", self.nodes),
            ("meshes", self.meshes),
            ("materials", self.materials),
            ("textures", self.textures),
            ("images", self.images),
            ("samplers", [{"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR}] if self.textures else []),
            ("accessors", self.writer.accessors),
            ("bufferViews", self.writer.buffer_views),
            ("buffers", self.writer.buffers()),
        ]
        doc.update((key, value) for key, value in optional if value)
        return doc


def encode_glb(ir: SceneIR, options: EncodeOptions | None = None) -> bytes:
    """The GLB bytes of ``ir`` (see the module docstring); the same IR gives the same bytes.

    Raises :class:`~sceneforge.errors.PassError` (``encode: …``) for IR the optimize stage
    should never hand over: indices past the vertex arrays, non-finite values, a non-PNG texture.
    """
    options = options or EncodeOptions()
    if not isinstance(options, EncodeOptions):
        raise PassError(NAME, f"options must be EncodeOptions, got {type(options).__name__}")
    encoder = _Encoder(ir, options)
    document = encoder.document()
    return glb_container(document, encoder.writer.binary)
