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
  ``{"type": "portal", "from", "to", "oneWay": true, "quad": [12 floats]}`` (``oneWay`` only
  when set, as in the meta JSON), so that a change of ``oneWay`` changes the bytes and the ETag.
- scene extras ``{"sceneforge": {"formatVersion": 1, "sceneId"}}``, plus ``"props"`` (keys sorted)
  when the description has props, so that a change of props changes the bytes and the ETag, and
  ``"metaDigest"`` when the compiler gives one (:func:`~.meta.meta_digest`: the PVS, warnings
  and stats of the meta JSON), so that builds whose meta differ never share an ETag.
- materials (those used, sorted by id) as pbrMetallicRoughness; a base-colour texture is an
  embedded PNG; ``alphaMode`` is ``BLEND`` when the base colour's alpha is below 1.

Options: ``quantize`` (KHR_mesh_quantization: uint16 positions on a power-of-two grid over the
scene's box, error at most ``extent / 65534``; int8 normals; float UVs; see :mod:`.quantize`)
and ``compress`` (EXT_meshopt_compression of every vertex and index view, normals through the
``OCTAHEDRAL`` filter when quantized; see :mod:`.buffers`). Both extensions are then required,
except with ``fallback`` (like gltfpack ``-cf``): the uncompressed bytes are stored too and
EXT_meshopt_compression is only used, so viewers without a meshopt decoder still open the file.
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

Batching (1,000-cell maze, CPU time, one core): nodes and meshes are laid out cell by cell, but
a primitive's accessors are only reserved there and every primitive's data is written at once
by :mod:`.batch` (one concatenation, quantization and ``reduceat`` per attribute, one chunk per
view), then numbered in write order, so the file is byte for byte what one writer call per
accessor gave. Encode 0.064 s → 0.024 s: per-cell ``Cell.aabb`` → one
:func:`~sceneforge.geometry.bounds.cell_boxes` (−0.020 s), per-primitive checks and numpy calls
→ batched (−0.025 s), portal quads from one array. Of what is left, ~0.013 s is
``json.dumps`` of the 0.7 MB JSON (nodes 6.5 ms, accessors 3.8 ms; float ``repr`` dominates),
then building the accessor and node objects (~5 ms) and ``cell_boxes`` (~2 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import PassError
from ..geometry.bounds import cell_boxes
from ..model.ir import Cell, InstanceGroup, Material, SceneIR, Surface
from .batch import check_surfaces, gather_primitives
from .buffers import EXT_MESHOPT, BufferWriter, glb_container
from .quantize import Dequantize, position_grid

__all__ = ["FORMAT_VERSION", "EncodeOptions", "encode_glb"]

NAME = "encode"
F64 = npt.NDArray[np.float64]
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
    ``fallback``: with ``compress``, also store the uncompressed bytes and make
    EXT_meshopt_compression optional (default ``False``; no effect without ``compress``).
    """

    quantize: bool = False
    compress: bool = False
    all_uvs: bool = False
    fallback: bool = False

    def __post_init__(self) -> None:
        for name in ("quantize", "compress", "all_uvs", "fallback"):
            if not isinstance(getattr(self, name), bool):
                raise PassError(NAME, f"{name} must be a bool, got {getattr(self, name)!r}")


def _floats(values: npt.ArrayLike) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]


def _all_positions(surfaces: list[Surface]) -> npt.NDArray[np.float32]:
    """Every position of ``surfaces`` as one (n, 3) array (what :func:`position_grid` needs of them)."""
    if not surfaces:
        return np.zeros((0, 3), np.float32)
    return np.concatenate([s.positions for s in surfaces])


class _Encoder:
    def __init__(self, ir: SceneIR, options: EncodeOptions, meta_digest: str | None = None) -> None:
        self.ir, self.options, self.meta_digest = ir, options, meta_digest
        self.writer = BufferWriter(compress=options.compress, fallback=options.fallback)
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
        #: Primitives reserved, in write order: (surface, grid, textured, where, primitive object).
        self._pending: list[tuple[Surface, Dequantize | None, bool, str, dict[str, Any]]] = []
        #: Per pending primitive, the cell box its quantized vertices are clamped into (``None``: instances).
        self._inside: list[list[float] | None] = []
        #: Write order: ``None`` for the next pending primitive, or (attributes, TRS arrays) of a group.
        self._order: list[tuple[dict[str, int], tuple[F64, F64, F64]] | None] = []
        #: Views in first-use order, as one writer call per accessor would create them.
        self._stream_order: dict[str, None] = {}
        #: The one position grid of every cell's geometry (quantized output): the scene's box.
        self.cell_grid = (
            position_grid([_all_positions([s for c in ir.cells for s in c.surfaces if s.triangle_count])])
            if options.quantize
            else None
        )

    def _used_materials(self) -> list[str]:
        used = {s.material for c in self.ir.cells for s in c.surfaces if s.triangle_count}
        used |= {s.material for c in self.ir.cells for g in c.instances for s in g.surfaces if s.triangle_count}
        return sorted(used)

    # -- geometry ---------------------------------------------------------------------------
    #
    # Nodes, meshes and primitives are laid out cell by cell; a primitive's accessors are only
    # reserved (``_pending``) and written for all primitives at once by ``_write_primitives``
    # (:mod:`.batch`). ``_order`` keeps the write order of primitives and instance attributes,
    # which numbers the accessors exactly as one writer call per accessor would.

    def _primitive(
        self, surface: Surface, grid: Dequantize | None, where: str, inside: list[float] | None = None
    ) -> dict[str, Any]:
        textured = surface.material in self.textured
        streams = self._stream_order
        streams["POSITION"] = streams["NORMAL"] = None
        if textured:
            streams["TEXCOORD_0"] = None
        streams["indices:2" if surface.vertex_count <= 0xFFFF else "indices:4"] = None
        primitive: dict[str, Any] = {
            "attributes": {},
            "indices": -1,
            "material": self.material_index[surface.material],
        }
        self._pending.append((surface, grid, textured, where, primitive))
        self._inside.append(inside)
        self._order.append(None)
        return primitive

    def _mesh(
        self, name: str, surfaces: list[Surface], grid: Dequantize | None, where: str, inside: list[float] | None = None
    ) -> int:
        primitives = [self._primitive(s, grid, where, inside) for s in surfaces]
        self.meshes.append({"name": name, "primitives": primitives})
        return len(self.meshes) - 1

    def _add_node(self, node: dict[str, Any]) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def _cell(self, cell: Cell, aabb: list[float]) -> int:
        name = f"cell:{cell.cell_id}"
        node: dict[str, Any] = {"name": name, "extras": {"type": "cell", "cellId": cell.cell_id, "aabb": aabb}}
        index = self._add_node(node)
        children: list[int] = []
        surfaces = [s for s in cell.surfaces if s.triangle_count]
        if surfaces:
            grid = self.cell_grid
            mesh = self._mesh(name, surfaces, grid, name, aabb)
            if grid is None:
                node["mesh"] = mesh
            else:
                child = {
                    "name": f"{name}/geometry",
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
            self._check_pending()  # a bad primitive written before this group is reported first
            raise PassError(NAME, f"instances {group.mesh_key!r} in cell {cell.cell_id!r}: non-finite transform")
        shared = next(((m, b) for s, m, b in self._instanced if s is group.surfaces), None)
        if shared is None:
            grid = position_grid([s.positions for s in surfaces]) if self.options.quantize else None
            where = f"instance:{group.mesh_key}"
            shared = (self._mesh(where, surfaces, grid, where), grid)
            self._instanced.append((group.surfaces, *shared))
        mesh, box = shared
        offset, scale = (box.offset, box.scale) if box is not None else ((0.0, 0.0, 0.0), 1.0)
        translations, rotations, scales = decompose_trs(transforms, offset, scale)
        attributes: dict[str, int] = {}
        self._stream_order["data"] = None
        self._order.append((attributes, (translations, rotations, scales)))
        self.extensions.add(EXT_INSTANCING)
        return self._add_node(
            {
                "name": f"instances:{cell.cell_id}/{group.mesh_key}",
                "mesh": mesh,
                "extensions": {EXT_INSTANCING: {"attributes": attributes}},
            }
        )

    def _check_pending(self) -> None:
        check_surfaces([p[0] for p in self._pending], [p[3] for p in self._pending])

    def _write_primitives(self) -> None:
        """Write every reserved primitive's data and number all accessors in write order."""
        self._check_pending()
        w = self.writer
        quantized = self.options.quantize
        strides = {
            "POSITION": ("vertex", 8 if quantized else 12, None),
            "NORMAL": ("vertex", 4 if quantized else 12, OCTAHEDRAL if quantized else None),
            "TEXCOORD_0": ("vertex", 8, None),
            "indices:2": ("index", 2, None),
            "indices:4": ("index", 4, None),
            "data": ("data", 0, None),
        }
        for key in self._stream_order:
            w.declare(key, *strides[key])
        pending = self._pending
        per_primitive: list[list[dict[str, Any]]] = []
        if pending:
            b = gather_primitives(
                [p[0] for p in pending],
                [p[1] for p in pending],
                [p[2] for p in pending],
                octahedral=quantized and w.compress,
                inside=self._inside,
            )
            position = w.block_accessors("POSITION", b.positions, b.counts, 3, bounds=(b.pos_min, b.pos_max))
            normal_rows = b.stored_normals if b.stored_normals is not None else b.normals
            normal = w.block_accessors("NORMAL", normal_rows, b.counts, 3, normalized=quantized)
            textured, narrow = b.textured.tolist(), b.narrow.tolist()
            uv = iter(w.block_accessors("TEXCOORD_0", b.uvs, b.counts[b.textured], 2) if any(textured) else [])
            short = iter(
                w.block_accessors("indices:2", b.indices16, b.index_counts[b.narrow], 1) if any(narrow) else []
            )
            wide = iter(
                [] if all(narrow) else w.block_accessors("indices:4", b.indices32, b.index_counts[~b.narrow], 1)
            )
            per_primitive = [
                [pos, nor, next(uv), next(short) if n else next(wide)]
                if t
                else [pos, nor, next(short) if n else next(wide)]
                for pos, nor, t, n in zip(position, normal, textured, narrow, strict=True)
            ]
        # Number the accessors in write order: primitives and instance attributes interleaved.
        out = w.accessors
        primitives = zip(pending, per_primitive, strict=True)
        for item in self._order:
            if item is None:
                (_, _, _, _, primitive), accessors = next(primitives)
                first = len(out)
                out.extend(accessors)
                attributes = primitive["attributes"]
                attributes["POSITION"] = first
                attributes["NORMAL"] = first + 1
                if len(accessors) == 4:
                    attributes["TEXCOORD_0"] = first + 2
                primitive["indices"] = first + len(accessors) - 1
            else:
                attributes, trs = item
                for key, values in zip(("TRANSLATION", "ROTATION", "SCALE"), trs, strict=True):
                    attributes[key] = w.data_accessor(np.ascontiguousarray(values, dtype=np.float32))

    def _portals(self) -> list[int]:
        portals = self.ir.portals
        if not portals:
            return []
        quads = np.array([p.quad for p in portals], np.float64).reshape(len(portals), 12).tolist()
        first = len(self.nodes)
        self.nodes.extend(
            {
                "name": f"portal:{p.from_cell}->{p.to_cell}",
                "extras": {"type": "portal", "from": p.from_cell, "to": p.to_cell, "oneWay": True, "quad": quad}
                if p.one_way
                else {"type": "portal", "from": p.from_cell, "to": p.to_cell, "quad": quad},
            }
            for p, quad in zip(portals, quads, strict=True)
        )
        return list(range(first, len(self.nodes)))

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

        boxes = cell_boxes(self.ir.cells).tolist()
        roots = [self._cell(c, box) for c, box in zip(self.ir.cells, boxes, strict=True)]
        self._write_primitives()
        roots += self._portals()
        self.materials = [self._material(m) for m in self.material_index]
        self.writer.finish()
        if self.options.quantize and self.meshes:
            self.extensions.add(EXT_QUANTIZATION)
        if self.writer.compressed_views:
            self.extensions.add(EXT_MESHOPT)
        extras: dict[str, Any] = {"sceneforge": {"formatVersion": FORMAT_VERSION, "sceneId": self.ir.scene_id}}
        if self.ir.props:
            extras["props"] = {k: self.ir.props[k] for k in sorted(self.ir.props)}
        if self.meta_digest is not None:
            extras["sceneforge"]["metaDigest"] = self.meta_digest
        scene: dict[str, Any] = {"name": self.ir.scene_id}
        if roots:
            scene["nodes"] = roots
        scene["extras"] = extras
        doc: dict[str, Any] = {"asset": {"version": "2.0", "generator": f"sceneforge {__version__}"}}
        if self.extensions:
            doc["extensionsUsed"] = sorted(self.extensions)
            required = self.extensions - {EXT_MESHOPT} if self.options.fallback else self.extensions
            if required:
                doc["extensionsRequired"] = sorted(required)
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


def encode_glb(ir: SceneIR, options: EncodeOptions | None = None, *, meta_digest: str | None = None) -> bytes:
    """The GLB bytes of ``ir`` (see the module docstring); the same IR gives the same bytes.

    ``meta_digest`` (16 hex characters from :func:`~.meta.meta_digest`) goes into the scene extras.

    Raises :class:`~sceneforge.errors.PassError` (``encode: …``) for IR the optimize stage
    should never hand over: indices past the vertex arrays, non-finite values, a non-PNG texture.
    """
    options = options or EncodeOptions()
    if not isinstance(options, EncodeOptions):
        raise PassError(NAME, f"options must be EncodeOptions, got {type(options).__name__}")
    if meta_digest is not None and not (
        isinstance(meta_digest, str) and len(meta_digest) == 16 and all(c in "0123456789abcdef" for c in meta_digest)
    ):
        raise PassError(NAME, f"meta_digest must be 16 lowercase hex characters, got {meta_digest!r}")
    encoder = _Encoder(ir, options, meta_digest)
    document = encoder.document()
    return glb_container(document, encoder.writer.bin_chunk)
