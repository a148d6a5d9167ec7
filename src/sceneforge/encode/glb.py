"""Encode a :class:`~sceneforge.model.ir.SceneIR` as a deterministic GLB (docs/scene-format.md).

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
Vertex attributes are separate streams (not interleaved). Streaming by visibility
(docs/streaming.md): every cell's data (its own vertex and index views, compressed per cell, its
instance attributes and its ``SCENEFORGE_bvh`` nodes, see :mod:`.bvh`) is one contiguous range of
the BIN chunk, cells in scene order after the shared data (instanced meshes, images); the
triangles of each cell primitive are in the order of its BVH. The JSON document starts with the
streaming index (``extras.sceneforgeIndex``, :mod:`.stream_index`): cell ranges, bounds, views,
primitives, portals and PVS, all a client needs to draw a cell from its bytes.

Sizes, 1,000-cell maze (``generate maze --cells 1000 --seed 1``; 69,960 triangles, no textures),
bytes of the GLB, with the index (~250 KB) and BVHs (623,360 bytes) included:

=====================  ==========================  ==================================
mode                   whole-file views            one range per cell (now)
=====================  ==========================  ==================================
plain                  3,537,200                   4,742,852 (JSON 1,257,656)
quantize               2,464,560                   3,652,108 (JSON 1,387,936)
compress               1,623,772                   3,158,800 (JSON 1,811,876)
quantize + compress    1,340,804                   2,896,920 (JSON 1,960,864)
=====================  ==========================  ==================================

What grew: per-cell buffer views in the JSON (4 a cell, ~180 bytes each with the meshopt
extension), the BVHs, the index, and meshopt restarting per cell. A streaming client reads the
index and the cells it sees, never the rest of the JSON (docs/streaming.md has the measured
first-frame bytes).

Incremental builds hand the encoder a tree store and each cell's key (:func:`encode_glb_indexed`):
a cell's BVH (its triangle order and nodes) depends only on its stored positions and indices,
so it is keyed by the cell's key and the position grid, taken from the store when there and
built and left there otherwise; the bytes are those of an encode without a store. The store
also holds the written streams of runs of ~32 cells (:mod:`.cell_streams`: rows, indices in tree
order, nodes, ``min``/``max`` text): the cells of a run found there are neither checked, gathered
nor ordered again (office-1000, one room resized: writing the primitives 25 → 13 ms CPU).

Deterministic: the JSON is written in a fixed key order with compact separators and ASCII
escapes, floats through ``repr`` (shortest round-trip), and nothing depends on time,
hashing or memory addresses. Cost: O(vertices + indices) numpy work plus the codecs.

Batching (1,000-cell maze, CPU time, one core): nodes and meshes are laid out cell by cell, but
a primitive's accessors are only reserved there and every primitive's data is written at once
by :mod:`.batch` (one concatenation, quantization and ``reduceat`` per attribute, one chunk per
view), then numbered in write order, so the file is byte for byte what one writer call per
accessor gave. Encode 0.064 s → 0.024 s: per-cell ``Cell.aabb`` → one
:func:`~sceneforge.geometry.bounds.cell_boxes` (−0.020 s), per-primitive checks and numpy calls
→ batched (−0.025 s), portal quads from one array. Of what was left then, ~0.013 s was
``json.dumps`` of the 0.7 MB JSON (nodes 6.5 ms, accessors 3.8 ms; float ``repr`` dominated),
then building the accessor and node objects (~5 ms) and ``cell_boxes`` (~2 ms): the accessors
are now written as text by the buffer writer, see below.

Per-cell work for thousands of cells (office levels, ``generate_office(12, 200, seed=1)``: 5,756
cells, 476,330 triangles): the writer makes the views of a stream for every cell in one run and
lays the BIN chunk out from one cumulative sum (:mod:`.buffers`); the BVHs read their triangles
axis by axis (:mod:`.bvh`); the big JSON arrays are formatted from their numbers (``bufferViews``,
the primitives' accessors, portal nodes, the index's portal rows) and the floats of boxes, quads
and bounds once per distinct value, into the text ``json.dumps`` gives. ``encode_glb_indexed``
CPU time, medians: that office 0.77 s → 0.55 s, ``tests/data/levels/office-1000.json`` 123 →
76 ms, the 1,000-cell maze 85 → 60 ms (same bytes).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from itertools import accumulate, chain
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import PassError
from ..geometry.bounds import cell_boxes
from ..geometry.footprint import cell_plans
from ..model.ir import Cell, InstanceGroup, Material, SceneIR, Surface
from .buffers import (
    EXT_MESHOPT,
    SLOT,
    BufferWriter,
    RawJSON,
    fill_slots,
    float_rows,
    float_texts,
    glb_container,
    json_text,
)
from .bvh import TreeStore
from .cell_trees import CellTrees, tree_keys
from .options import FORMAT_VERSION, NAME, EncodeOptions
from .portal_nodes import PortalNodes
from .primitives import PrimitiveWriter
from .quantize import Dequantize, position_grid
from .stream_index import INDEX_VERSION, encode_pvs_flat, index_offsets, patch_offsets_joined, placeholder
from .text_record import TextRecord, chunked, save, text_key

__all__ = ["FORMAT_VERSION", "EncodeOptions", "encode_glb", "encode_glb_indexed"]

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


class _Encoder:
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
        self.plans = cell_plans(ir.cells) if plans is None else plans
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
        """``extras.sceneforgeIndex`` (docs/streaming.md): per cell its byte range in the BIN chunk,
        bounds, views, primitives and BVH roots; portals; the PVS; materials. ``end`` and ``bin``
        are placeholders until :func:`.stream_index.patch_offsets_joined`."""
        w = self.writer
        places = w.view_places
        cell_ids = {c.cell_id: i for i, c in enumerate(self.ir.cells)}

        def placed(view: int, start: int) -> list[Any]:
            offset, length, count = places[view]
            return [offset - start, length, count]

        section_views, section_prims, section_bvh = (
            self.primitives.section_views,
            self.primitives.section_prims,
            self.primitives.section_bvh,
        )

        aabb_array = np.round(np.asarray(boxes, np.float64).reshape(-1, 6), 6) + 0.0
        aabbs = aabb_array.tolist()
        cells: list[list[Any]] = []
        last = w.sections[-1][1] if -1 in w.sections else 0
        for i, cell in enumerate(self.ir.cells):
            start, end = w.sections.get(i, (last, last))
            last = end
            views = section_views.get(i, ())
            cell_views = [[kind, places[v][0] - start, places[v][1], places[v][2]] for kind, v in views]
            prims = section_prims.get(i, [])
            cells.append([cell.cell_id, start, end - start, aabbs[i], cell_views, prims, section_bvh.get(i, [])])
        portals = self.ir.portals
        raw_quads, raw_texts = self.portal_nodes.quads
        if raw_quads is None:
            raw_quads = np.array([p.quad for p in portals], np.float64).reshape(-1, 12)
        quads_array = np.round(raw_quads, 6) + 0.0
        quads = quads_array.tolist()
        portal_rows = [
            [cell_ids[p.from_cell], cell_ids[p.to_cell], *quad, *([1] if p.one_way else [])]
            for p, quad in zip(portals, quads, strict=True)
        ]
        if portals and np.isfinite(quads_array).all() and "portals" not in self.index_text:
            # The same rows as text: cell numbers, then the coordinates as json.dumps writes them.
            n = len(portals)
            values: list[Any] = [None] * (14 * n)
            values[0::14] = [row[0] for row in portal_rows]
            values[1::14] = [row[1] for row in portal_rows]
            # The portal nodes' texts when rounding changed no quad (bit for bit), else formatted here.
            same = raw_texts is not None and np.array_equal(quads_array.view(np.int64), raw_quads.view(np.int64))
            texts = raw_texts if same and raw_texts is not None else float_texts(quads_array)
            for k in range(12):
                values[2 + k :: 14] = texts[k::12]
            row = "[%d,%d," + ",".join(["%s"] * 12)
            templates = (row + ",1]", row + "]")
            text = ",".join([templates[0] if p.one_way else templates[1] for p in portals])
            self.index_text["portals"] = RawJSON(("[" + text % tuple(values) + "]").encode("ascii"))
        index: dict[str, Any] = {"end": placeholder("end"), "bin": placeholder("bin"), "version": INDEX_VERSION}
        if self.cell_grid is not None:
            index["quantized"] = [*self.cell_grid.offset, self.cell_grid.scale]
        if self.options.compress:
            index["compressed"] = True
        if -1 in w.sections:
            first, end = w.sections[-1]
            index["shared"] = [first, end - first]
        if self._instanced:
            index["instanced"] = True
        index["materials"] = self.materials
        if self.images:
            index["textures"] = [t["source"] for t in self.textures]
            index["images"] = [[*placed(im["bufferView"], 0)[:2], im["mimeType"]] for im in self.images]
        index["cells"] = cells
        if cells and np.isfinite(aabb_array).all():
            # The rows as json_text writes them, their aabb formatted at once (each distinct number once).
            slotted = [[row[0], row[1], row[2], SLOT, *row[4:]] for row in cells]
            aabb_rows = float_rows(aabb_array)
            if np.array_equal(aabb_array.view(np.int64), np.asarray(boxes, np.float64).view(np.int64)):
                self._box_rows = aabb_rows  # the cell nodes' boxes are these numbers (bit for bit)
            cells_text = fill_slots(json_text(slotted), aabb_rows)
            if cells_text is not None:
                self.index_text["cells"] = RawJSON(cells_text)
        plans = [(i, plan) for i, plan in enumerate(self.plans) if plan]
        if plans:  # cells that are not their box: a point in the box may lie outside the cell
            from ..visibility.result import rounded_array  # the meta's numbers (imported only for such rooms)

            values = rounded_array(np.concatenate([p for _, p in plans])).tolist()
            ends = list(accumulate(len(p) for _, p in plans))
            index["floors"] = [[i, *values[end - len(p) : end]] for (i, p), end in zip(plans, ends, strict=True)]
        index["portals"] = portal_rows
        if self.pvs is not None:
            # Names to indices in one lookup over all sets (or the caller's indices of those names,
            # when the cell ids are unique), each set sorted by one sort of (set, index) keys.
            sets = self.pvs_sets if len(cell_ids) == len(self.ir.cells) else None
            if sets is not None:
                counts = np.array([a.shape[0] for a in sets], np.int64)
                flat = np.concatenate(sets).astype(np.int64) if sets else np.zeros(0, np.int64)
            else:
                counts = np.array([len(ids) for ids in self.pvs], np.int64)
                total = int(counts.sum())
                flat = np.fromiter(map(cell_ids.__getitem__, chain.from_iterable(self.pvs)), np.int64, total)
            base = np.repeat(np.arange(counts.shape[0], dtype=np.int64) * len(cell_ids), counts)
            flat += base
            if flat.size > 1 and not (flat[1:] >= flat[:-1]).all():
                flat.sort()
            flat -= base
            if self.portal_nodes.texts is None:
                index["pvs"] = encode_pvs_flat(flat, counts)
            else:
                key = hashlib.sha256(b"pvs" + struct.pack("<Q", counts.nbytes) + counts.tobytes() + flat.tobytes())
                pvs_text = chunked(
                    [key.digest()],
                    lambda _: encode_pvs_flat(flat, counts),
                    self.portal_nodes.texts_previous,
                    self.portal_nodes.texts,
                )
                index["pvs"] = pvs_text[0]
        if self.portal_nodes.texts is not None and self.trees is not None:
            save(
                self.trees,
                text_key(self.ir.scene_id, "encode"),
                TextRecord(self.portal_nodes.texts),
                self.portal_nodes.texts_previous,
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


def encode_glb(
    ir: SceneIR,
    options: EncodeOptions | None = None,
    *,
    meta_digest: str | None = None,
    pvs: Sequence[Sequence[str]] | None = None,
) -> bytes:
    """The GLB bytes of ``ir`` (see the module docstring); the same IR gives the same bytes.

    ``meta_digest`` (16 hex characters from :func:`~.meta.meta_digest`) goes into the scene extras.
    ``pvs``: every cell's potentially visible set (cell ids), written into the streaming index;
    without it a client streams the cells reachable through portals.

    Raises :class:`~sceneforge.errors.PassError` (``encode: …``) for IR the optimize stage
    should never hand over: indices past the vertex arrays, non-finite values, a non-PNG texture;
    with ``quantize``, :class:`~.quantize.GridTooCoarse` when the position grid would collapse a
    triangle (the compiler then encodes float positions).
    """
    return encode_glb_indexed(ir, options, meta_digest=meta_digest, pvs=pvs)[0]


def encode_glb_indexed(
    ir: SceneIR,
    options: EncodeOptions | None = None,
    *,
    meta_digest: str | None = None,
    pvs: Sequence[Sequence[str]] | None = None,
    trees: TreeStore | None = None,
    cell_keys: Sequence[str] | None = None,
    boxes: F64 | None = None,
    pvs_sets: Sequence[npt.NDArray[np.int64]] | None = None,
    plans: Sequence[tuple[float, ...] | None] | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """:func:`encode_glb`, and the streaming index it wrote (``end`` and ``bin`` filled in): what
    :func:`.stream_index.read_index` would parse back out of the bytes, without parsing them.

    ``trees`` and ``cell_keys`` (one per cell: a key of everything its surfaces depend on, see
    :func:`sceneforge.incremental.cell_keys`): cells whose BVHs the store holds reuse them, the
    others' are left there; the bytes are the same as without a store. ``boxes``: the cells'
    :func:`~sceneforge.geometry.bounds.cell_boxes` when the caller has them (the compiler computes
    them once for visibility and encode); the bytes are the same as without. ``pvs_sets``: ``pvs``
    as each name's position in ``ir.cells`` when the caller has them (the visibility stage's
    ``sets``), read instead of looking the names up; the bytes are the same as without. ``plans``: the
    cells' :func:`~sceneforge.geometry.footprint.cell_plans` when the caller has them (the index's ``floors``)."""
    options = options or EncodeOptions()
    if not isinstance(options, EncodeOptions):
        raise PassError(NAME, f"options must be EncodeOptions, got {type(options).__name__}")
    if meta_digest is not None and not (
        isinstance(meta_digest, str) and len(meta_digest) == 16 and all(c in "0123456789abcdef" for c in meta_digest)
    ):
        raise PassError(NAME, f"meta_digest must be 16 lowercase hex characters, got {meta_digest!r}")
    if pvs is not None and len(pvs) != len(ir.cells):
        raise PassError(NAME, f"pvs lists {len(pvs)} cells, the scene has {len(ir.cells)}")
    if boxes is not None and boxes.shape != (len(ir.cells), 6):
        raise PassError(NAME, f"boxes has shape {boxes.shape}, the scene has {len(ir.cells)} cells")
    if plans is not None and len(plans) != len(ir.cells):
        raise PassError(NAME, f"plans lists {len(plans)} cells, the scene has {len(ir.cells)}")
    encoder = _Encoder(ir, options, meta_digest, trees, cell_keys, boxes, plans)
    if pvs_sets is not None and (pvs is None or len(pvs_sets) != len(pvs)):
        raise PassError(NAME, "pvs_sets needs pvs, with one set per cell")
    encoder.pvs = pvs
    encoder.pvs_sets = pvs_sets
    document = encoder.document()
    # The index is serialized once, ahead of the rest of the document (its first member).
    index: dict[str, Any] = document.pop("extras")["sceneforgeIndex"]
    index_text = json_text({**index, **encoder.index_text})
    head = b'{"extras":{"sceneforgeIndex":' + index_text + b"},"

    def prepare(text: bytes) -> bytes:
        index["end"], index["bin"] = index_offsets(len(head) + len(text) - 1, len(index_text))
        return patch_offsets_joined(head, text, 1, len(index_text))

    return glb_container(document, encoder.writer.bin_chunk, prepare), index
