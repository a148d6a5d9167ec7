"""The glTF document of a scene: its nodes, meshes, materials and buffers, laid out in a fixed order (:mod:`.glb`).

:class:`Encoder` lays the document out: one root node per cell in scene order (its geometry on the
node, or with quantization on a ``/geometry`` child carrying the dequantizing transform), one
child node per instance group (EXT_mesh_gpu_instancing, meshes shared by groups with the very same
surfaces), then one root node per portal (:mod:`.portal_nodes`); the materials used, sorted by id,
their textures embedded PNGs. Primitives are reserved while the nodes are laid out and their data
written at once (:mod:`.primitives`); the streaming index is then made from the written layout
(:mod:`.index_writer`) and becomes the document's first member. The big members (``nodes``,
``accessors``, ``bufferViews``) are handed to the serializer as text where they were formatted from
arrays (:class:`~.buffers.RawJSON`). The layout and its extras are the contract of :mod:`.glb`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import PassError
from ..geometry.bounds import cell_boxes
from ..geometry.footprint import cell_plans
from ..model.ir import Cell, InstanceGroup, Material, SceneIR, Surface
from .buffers import EXT_MESHOPT, SLOT, BufferWriter, RawJSON, fill_slots, float_rows, json_text
from .bvh import TreeStore
from .cell_trees import CellTrees, tree_keys
from .index_writer import stream_index
from .options import FORMAT_VERSION, NAME, EncodeOptions
from .portal_nodes import PortalNodes
from .primitives import PrimitiveWriter
from .quantize import Dequantize, position_grid

__all__ = ["Encoder"]

F64 = npt.NDArray[np.float64]
EXT_QUANTIZATION = "KHR_mesh_quantization"
EXT_INSTANCING = "EXT_mesh_gpu_instancing"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LINEAR, LINEAR_MIPMAP_LINEAR = 9729, 9987


def _floats(values: npt.ArrayLike) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]


def _all_positions(surfaces: list[Surface]) -> npt.NDArray[np.float32]:
    """Every position of ``surfaces`` as one (n, 3) array (what :func:`position_grid` needs of them)."""
    if not surfaces:
        return np.zeros((0, 3), np.float32)
    return np.concatenate([s.positions for s in surfaces])


class Encoder:
    """The glTF document of one encode: its nodes, meshes, materials and the buffer writer holding
    their data, laid out by :meth:`document` (see :mod:`.glb`)."""

    def __init__(
        self,
        ir: SceneIR,
        options: EncodeOptions,
        meta_digest: str | None = None,
        trees: TreeStore | None = None,
        cell_keys: Sequence[str] | None = None,
        boxes: F64 | None = None,
        plans: Sequence[tuple[float, ...] | None] | None = None,
    ) -> None:
        self.ir, self.options, self.meta_digest = ir, options, meta_digest
        #: ``cell_boxes`` of the cells when the caller already has it (computed in :meth:`document` otherwise).
        self.boxes = boxes
        #: Each cell's plan outline or None (:func:`~sceneforge.geometry.footprint.cell_plans`).
        self.plans = cell_plans(ir.cells, ir.portals) if plans is None else plans
        self.trees = trees
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
        self.pvs: Sequence[Sequence[str]] | None = None
        #: ``pvs`` as each name's position in ``ir.cells`` (:func:`~.glb.encode_glb_indexed`'s ``pvs_sets``).
        self.pvs_sets: Sequence[npt.NDArray[np.int64]] | None = None
        self.textures: list[dict[str, Any]] = []
        self.images: list[dict[str, Any]] = []
        self._image_index: dict[str, int] = {}
        #: Each instanced surface tuple's mesh and grid, by the tuple's ``id`` (the tuple held in the value, so
        #: the id stays its own): a scan of every earlier group per group took 3.4 s for 10,000 groups.
        self._instanced: dict[int, tuple[tuple[Surface, ...], int, Dequantize | None]] = {}
        #: The node object of every cell, in scene order.
        self._cell_nodes: list[dict[str, Any]] = []
        #: The text of each cell box, when :meth:`stream_index` formatted exactly ``boxes`` (the nodes' extras).
        self._box_rows: list[str] | None = None
        #: The streaming index's members as JSON text, where formatted from arrays (:meth:`stream_index`).
        self.index_text: dict[str, RawJSON] = {}
        #: Extensions used but not required.
        self.extensions_used: set[str] = set()
        #: The one position grid of every cell's geometry (quantized output): the scene's box.
        self.cell_grid = (
            position_grid([_all_positions([s for c in ir.cells for s in c.surfaces if s.triangle_count])])
            if options.quantize
            else None
        )
        #: The cells' trees, and per cell the tree store's key: its cell key (what its surfaces depend on) and the grid.
        self.cell_trees = CellTrees(
            trees,
            tree_keys(cell_keys, self.cell_grid)
            if trees is not None and cell_keys is not None and len(cell_keys) == len(ir.cells)
            else None,
        )
        #: The primitives reserved while the nodes are laid out (:meth:`_mesh`), written at once in :meth:`document`.
        self.primitives = PrimitiveWriter(self.writer, options, self.material_index, self.cell_trees, len(ir.cells))
        #: The portal nodes (their JSON text follows :attr:`nodes`) and the index's portal rows.
        self.portal_nodes = PortalNodes(ir, trees, self.index_text)

    def _used_materials(self) -> list[str]:
        used = {s.material for c in self.ir.cells for s in c.surfaces if s.triangle_count}
        used |= {s.material for c in self.ir.cells for g in c.instances for s in g.surfaces if s.triangle_count}
        return sorted(used)

    # -- geometry ---------------------------------------------------------------------------
    #
    # Nodes, meshes and primitives are laid out cell by cell; a primitive's accessors are only
    # reserved (``primitives.pending``) and written for all primitives at once by
    # ``primitives.write`` (:mod:`.primitives`). ``primitives.order`` keeps the write order of
    # primitives and instance attributes, which numbers the accessors exactly as one writer call
    # per accessor would.

    def _mesh(
        self,
        name: str,
        surfaces: list[Surface],
        grid: Dequantize | None,
        where: str,
        section: int,
        inside: list[float] | None = None,
    ) -> int:
        """A mesh of one primitive per surface, each reserved in ``primitives.pending`` (accessors numbered later)."""
        textured, material_index, pending = self.textured, self.material_index, self.primitives.pending
        primitives: list[dict[str, Any]] = []
        for surface in surfaces:
            material = surface.material
            primitive: dict[str, Any] = {"attributes": {}, "indices": -1, "material": material_index[material]}
            pending.append((surface, grid, material in textured, where, primitive, section))
            primitives.append(primitive)
        self.primitives.inside += [inside] * len(surfaces)
        self.primitives.order += [None] * len(surfaces)
        self.meshes.append({"name": name, "primitives": primitives})
        return len(self.meshes) - 1

    def _add_node(self, node: dict[str, Any]) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def _cell(self, cell: Cell, aabb: list[float]) -> int:
        name = f"cell:{cell.cell_id}"
        node: dict[str, Any] = {"name": name, "extras": {"type": "cell", "cellId": cell.cell_id, "aabb": aabb}}
        index = len(self.nodes)
        self.nodes.append(node)
        section = len(self._cell_nodes)
        self._cell_nodes.append(node)
        children: list[int] = []
        surfaces = [s for s in cell.surfaces if s.triangle_count]
        if surfaces:
            grid = self.cell_grid
            mesh = self._mesh(name, surfaces, grid, name, section, aabb)
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
            child_index = self._instances(cell, group, section)
            if child_index is not None:
                children.append(child_index)
        if children:
            node["children"] = children
        return index

    def _instances(self, cell: Cell, group: InstanceGroup, section: int) -> int | None:
        from .instancing import decompose_trs

        surfaces = [s for s in group.surfaces if s.triangle_count]
        transforms = np.asarray(group.transforms, dtype=np.float64).reshape(-1, 4, 4)
        if not surfaces or transforms.shape[0] == 0:
            return None
        if not np.isfinite(transforms).all():
            self.primitives.check_pending()  # a bad primitive written before this group is reported first
            raise PassError(NAME, f"instances {group.mesh_key!r} in cell {cell.cell_id!r}: non-finite transform")
        known = self._instanced.get(id(group.surfaces))
        if known is None:
            grid = position_grid([s.positions for s in surfaces]) if self.options.quantize else None
            where = f"instance:{group.mesh_key}"
            known = (group.surfaces, self._mesh(where, surfaces, grid, where, -1), grid)
            self._instanced[id(group.surfaces)] = known
        _, mesh, box = known
        offset, scale = (box.offset, box.scale) if box is not None else ((0.0, 0.0, 0.0), 1.0)
        translations, rotations, scales = decompose_trs(transforms, offset, scale)
        attributes: dict[str, int] = {}
        self.primitives.order.append((attributes, (translations, rotations, scales), section))
        self.extensions.add(EXT_INSTANCING)
        return self._add_node(
            {
                "name": f"instances:{cell.cell_id}/{group.mesh_key}",
                "mesh": mesh,
                "extensions": {EXT_INSTANCING: {"attributes": attributes}},
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

    def stream_index(self, boxes: F64) -> dict[str, Any]:
        """``extras.sceneforgeIndex`` (:func:`.index_writer.stream_index`), once every primitive is
        written; keeps the text of ``boxes`` when the index formatted exactly them (the cell nodes')."""
        index, self._box_rows = stream_index(
            self.ir,
            boxes,
            self.writer,
            self.primitives,
            self.portal_nodes,
            self.index_text,
            options=self.options,
            cell_grid=self.cell_grid,
            instanced=bool(self._instanced),
            materials=self.materials,
            textures=self.textures,
            images=self.images,
            floor_plans=self.plans,
            pvs=self.pvs,
            pvs_sets=self.pvs_sets,
            trees=self.trees,
        )
        return index

    def _accessors_member(self) -> list[dict[str, Any] | str] | RawJSON:
        """``accessors``: the primitives' as the writer formatted them, instance attributes' objects."""
        accessors = self.writer.accessors
        if not any(isinstance(a, str) for a in accessors):
            return accessors
        texts = [a if isinstance(a, str) else json_text(a).decode("ascii") for a in accessors]
        return RawJSON(("[" + ",".join(texts) + "]").encode("ascii"))

    def _nodes_member(self, boxes: F64) -> list[dict[str, Any]] | RawJSON:
        """``nodes``: the cell nodes (and their children), their ``aabb`` formatted from ``boxes``
        at once, then the portal nodes' text."""
        cells = self._cell_nodes
        text = None
        if cells and np.isfinite(boxes).all():
            for node in cells:
                node["extras"]["aabb"] = SLOT
            text = fill_slots(json_text(self.nodes), self._box_rows or float_rows(boxes))
            for node, box in zip(cells, boxes.tolist(), strict=True):
                node["extras"]["aabb"] = box
        if text is None:
            if not self.portal_nodes.text:
                return self.nodes
            text = json_text(self.nodes)
        if self.portal_nodes.text:
            text = (text[:-1] + b"," if self.nodes else b"[") + self.portal_nodes.text.encode("ascii") + b"]"
        return RawJSON(text)

    def document(self) -> dict[str, Any]:
        from ..version import __version__

        boxes = self.boxes = cell_boxes(self.ir.cells) if self.boxes is None else self.boxes
        roots = [self._cell(c, box) for c, box in zip(self.ir.cells, boxes.tolist(), strict=True)]
        self.primitives.write(boxes, self._cell_nodes, self.extensions_used)
        roots += self.portal_nodes.append_to(self.nodes)
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
        # The streaming index first: a client reads it from the file's first bytes (.stream_index).
        doc: dict[str, Any] = {"extras": {"sceneforgeIndex": self.stream_index(boxes)}}
        doc["asset"] = {"version": "2.0", "generator": f"sceneforge {__version__}"}
        if self.extensions or self.extensions_used:
            doc["extensionsUsed"] = sorted(self.extensions | self.extensions_used)
        if self.extensions:
            required = self.extensions - {EXT_MESHOPT} if self.options.fallback else self.extensions
            if required:
                doc["extensionsRequired"] = sorted(required)
        doc["scene"] = 0
        doc["scenes"] = [scene]
        optional: list[tuple[str, list[dict[str, Any]] | list[dict[str, Any] | str] | RawJSON]] = [
            ("nodes", self._nodes_member(boxes)),
            ("meshes", self.meshes),
            ("materials", self.materials),
            ("textures", self.textures),
            ("images", self.images),
            ("samplers", [{"magFilter": LINEAR, "minFilter": LINEAR_MIPMAP_LINEAR}] if self.textures else []),
            ("accessors", self._accessors_member()),
            ("bufferViews", self.writer.buffer_views),
            ("buffers", self.writer.buffers()),
        ]
        doc.update((key, value) for key, value in optional if value)
        return doc
