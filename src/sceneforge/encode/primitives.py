"""The primitives' data: reserved while the nodes are laid out, written for every primitive at once.

Nodes, meshes and primitives are laid out cell by cell (:mod:`.document`); a primitive's
accessors are only reserved there (:attr:`PrimitiveWriter.pending`) and written for all
primitives at once by :meth:`PrimitiveWriter.write` (:mod:`.batch`: one concatenation,
quantization and ``reduceat`` per attribute, one chunk per view), section by section: shared
(instanced) meshes first in the BIN chunk, then each cell's own primitives, their triangles in
the order of the cell's BVH (:mod:`.cell_trees`), and the cell's ``SCENEFORGE_bvh`` view.
:attr:`PrimitiveWriter.order` keeps the write order of primitives and instance attributes, which
numbers the accessors exactly as one writer call per accessor would, so the file is byte for byte
what one writer call per accessor gave. What each cell section holds (views, primitives, BVH
roots) is kept for the streaming index (:mod:`.index_writer`).

With a tree store, the store also holds the written streams of runs of ~32 cells
(:mod:`.cell_streams`: rows, indices in tree order, nodes, ``min``/``max`` text): the cells of a
run found there are neither checked, gathered nor ordered again (office-1000, one room resized:
writing the primitives 25 → 13 ms CPU); the others are, and their chunks are left in the store.
The bytes are those of an encode without a store.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

from ..model.ir import Surface
from .batch import Joined, PrimitiveBatch, check_surfaces, gather_primitives, run_bounds
from .buffers import BufferWriter, float_rows
from .bvh import NODE_BYTES
from .cell_streams import StreamChunk, chunk_fits, chunk_key, chunk_starts
from .cell_trees import TREE_FORMAT, CellTrees
from .options import FORMAT_VERSION, EncodeOptions
from .quantize import Dequantize

__all__ = ["EXT_BVH", "PrimitiveWriter"]

F64 = npt.NDArray[np.float64]
#: Each cell's BVH (docs/streaming.md): used, never required.
EXT_BVH = "SCENEFORGE_bvh"
OCTAHEDRAL = "OCTAHEDRAL"


def _number_rows(values: npt.NDArray[Any]) -> list[str]:
    """The JSON text of each row of ``values`` (integers, or finite floats) as a list of numbers."""
    if values.dtype.kind == "f":
        return float_rows(values.astype(np.float64))
    row = "[" + ",".join(["%d"] * values.shape[1]) + "]"
    return ("\0".join([row] * values.shape[0]) % tuple(values.reshape(-1).tolist())).split("\0")


def _bounds_rows(b: PrimitiveBatch) -> tuple[list[str], list[str]]:
    """The ``min`` and ``max`` text of every primitive of ``b``."""
    low, high = np.asarray(b.pos_min), np.asarray(b.pos_max)
    if low.dtype.kind == "f" and not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise ValueError("Out of range float values are not JSON compliant")  # as json.dumps says
    return _number_rows(low.reshape(-1, 3)), _number_rows(high.reshape(-1, 3))


class PrimitiveWriter:
    """The primitives of one encode: those reserved (``pending``, ``inside``, ``order``, filled by the
    node layout), then written into ``writer`` by :meth:`write`, and per cell section what it holds.
    ``material_index`` numbers the materials; ``trees`` the cells' trees and the store;
    ``cell_count`` the scene's cells."""

    def __init__(
        self,
        writer: BufferWriter,
        options: EncodeOptions,
        material_index: dict[str, int],
        trees: CellTrees,
        cell_count: int,
    ) -> None:
        self.writer, self.options, self.material_index = writer, options, material_index
        self.trees, self.cell_count = trees, cell_count
        #: Primitives reserved, in write order: (surface, grid, textured, where, primitive object,
        #: section: the cell's position for a cell's own geometry, -1 for shared instanced meshes).
        self.pending: list[tuple[Surface, Dequantize | None, bool, str, dict[str, Any], int]] = []
        #: Per pending primitive, the cell box its quantized vertices are clamped into (``None``: instances).
        self.inside: list[list[float] | None] = []
        #: Write order: ``None`` for the next pending primitive, or (attributes, TRS arrays, cell) of a group.
        self.order: list[tuple[dict[str, int], tuple[F64, F64, F64], int] | None] = []
        #: Per cell section: (kind letter, view index) of its views in layout order (the streaming index).
        self.section_views: dict[int, list[tuple[str, int]]] = {}
        #: Per cell section: its primitives as [material, vertices, indices, has UVs] and its BVH roots.
        self.section_prims: dict[int, list[list[int]]] = {}
        self.section_bvh: dict[int, list[int]] = {}

    def check_pending(self) -> Joined | None:
        """:func:`~.batch.check_surfaces` of every primitive reserved so far, in reserved order."""
        return check_surfaces([p[0] for p in self.pending], [p[3] for p in self.pending])

    def write(self, boxes: F64, cell_nodes: list[dict[str, Any]], extensions_used: set[str]) -> None:
        """Write every reserved primitive's data, section by section, and number all accessors in
        write order. Each cell's own primitives get their triangles in BVH order and the cell its
        ``SCENEFORGE_bvh`` view; shared (instanced) meshes come first in the BIN chunk. ``boxes``: the
        cells' boxes (part of a stored chunk's key); ``cell_nodes``: every cell's node object, given its
        ``SCENEFORGE_bvh`` extension, which is then added to ``extensions_used``."""
        w = self.writer
        quantized = self.options.quantize
        strides = {
            "POSITION": ("vertex", 8 if quantized else 12, None),
            "NORMAL": ("vertex", 4 if quantized else 12, OCTAHEDRAL if quantized else None),
            "TEXCOORD_0": ("vertex", 8, None),
            "indices:2": ("index", 2, None),
            "indices:4": ("index", 4, None),
        }
        pending = self.pending
        per_primitive: list[list[str]] = [[] for _ in pending]
        if pending:
            section_of = np.array([p[5] for p in pending], np.int64)
            sort = np.argsort(section_of, kind="stable")
            ordered = [pending[i] for i in sort.tolist()]
            sections = section_of[sort]
            if self.trees.store is not None and self.trees.keys is not None:
                b, roots, bounds = self._recorded_streams(ordered, sections, sort, boxes)
            else:
                joined = self.check_pending()
                b = gather_primitives(
                    [p[0] for p in ordered],
                    [p[1] for p in ordered],
                    [p[2] for p in ordered],
                    octahedral=quantized and w.compress,
                    inside=[self.inside[i] for i in sort.tolist()],
                    # The checked concatenations serve when the write order is the reserved order (no instances).
                    joined=joined if (sort[1:] > sort[:-1]).all() else None,
                )
                b, roots = self.trees.bvh_order(b, [p[0] for p in ordered], sections)
                bounds = _bounds_rows(b)
            normal_rows = b.stored_normals if b.stored_normals is not None else b.normals
            textured, narrow = b.textured.tolist(), b.narrow.tolist()
            # One call per stream for every section: each section gets its own view of each stream.
            stream_views: dict[str, dict[int, int]] = {}

            def write(key: str, rows: npt.NDArray[Any], counts: npt.NDArray[np.int64], mask: Any, **kw: Any) -> Any:
                accessors, stream_views[key] = w.section_accessors(
                    key,
                    *strides[key],
                    rows,
                    counts[mask],
                    sections[mask],
                    2 if key == "TEXCOORD_0" else (1 if key.startswith("indices") else 3),
                    **kw,
                )
                return iter(accessors)

            every = np.ones(len(ordered), bool)
            position = write("POSITION", b.positions, b.counts, every, bounds=bounds)
            normal = write("NORMAL", normal_rows, b.counts, every, normalized=quantized)
            uv = write("TEXCOORD_0", b.uvs, b.counts, b.textured)
            short = write("indices:2", b.indices16, b.index_counts, b.narrow)
            wide = write("indices:4", b.indices32, b.index_counts, ~b.narrow)
            sorted_accessors: list[list[str]] = [
                [next(position), next(normal), next(uv), next(short) if n else next(wide)]
                if t
                else [next(position), next(normal), next(short) if n else next(wide)]
                for t, n in zip(textured, narrow, strict=True)
            ]
            letters = {"POSITION": "P", "NORMAL": "N", "TEXCOORD_0": "T", "indices:2": "I2", "indices:4": "I4"}
            materials = [self.material_index[p[0].material] for p in ordered]
            rows_of = list(
                zip(materials, b.counts.tolist(), b.index_counts.tolist(), textured, sections.tolist(), strict=True)
            )
            for i, (material, vertices, indices, has_uv, section) in enumerate(rows_of):
                if section < 0:
                    continue
                if section not in self.section_prims:
                    self.section_prims[section] = []
                    self.section_bvh[section] = []
                    self.section_views[section] = [
                        (letters[k], stream_views[k][section]) for k in letters if section in stream_views[k]
                    ]
                self.section_prims[section].append([material, vertices, indices, int(has_uv)])
                self.section_bvh[section].append(roots[i])
            for i, accessors in zip(sort.tolist(), sorted_accessors, strict=True):
                per_primitive[i] = accessors
        # Number the accessors in write order: primitives and instance attributes interleaved.
        out = w.accessors
        primitives = zip(pending, per_primitive, strict=True)
        for item in self.order:
            if item is None:
                (_, _, _, _, primitive, _), accessors = next(primitives)
                first = len(out)
                out.extend(accessors)
                attributes = primitive["attributes"]
                attributes["POSITION"] = first
                attributes["NORMAL"] = first + 1
                if len(accessors) == 4:
                    attributes["TEXCOORD_0"] = first + 2
                primitive["indices"] = first + len(accessors) - 1
            else:
                attributes, trs, section = item
                for key, values in zip(("TRANSLATION", "ROTATION", "SCALE"), trs, strict=True):
                    values32 = np.ascontiguousarray(values, dtype=np.float32)
                    attributes[key] = w.data_accessor(values32, section)
                views = self.section_views.setdefault(section, [])
                data_view = ("D", w.view_index(f"{section}/data"))
                if data_view not in views:
                    views.append(data_view)
        self._write_bvh_views(cell_nodes, extensions_used)

    def _recorded_streams(
        self, ordered: list[Any], sections: npt.NDArray[np.int64], sort: npt.NDArray[np.int64], boxes: F64
    ) -> tuple[PrimitiveBatch, list[int], tuple[list[str], list[str]]]:
        """:meth:`write`'s batch, roots and bounds text with a tree store: the primitives of
        every run of cells (:func:`~.cell_streams.chunk_starts`) whose :class:`~.cell_streams.StreamChunk`
        the store holds are taken from it (checked, gathered and ordered by the build that left it); the
        others (and the shared meshes) are checked, gathered and ordered here, and their chunks left in
        the store."""
        assert self.trees.store is not None and self.trees.keys is not None
        quantized = self.options.quantize
        octahedral = quantized and self.options.compress
        m = len(ordered)
        textured = np.array([p[2] for p in ordered], bool)
        first_cell = chunk_starts(self.trees.keys)  # by content: a removed cell moves no other boundary
        chunk_of = np.where(sections >= 0, np.searchsorted(first_cell, sections, side="right") - 1, -1)
        cell_range = np.append(first_cell, self.cell_count).tolist()
        cuts = (np.flatnonzero(np.diff(chunk_of)) + 1).tolist()
        runs = [(int(chunk_of[a]), a, e) for a, e in zip([0, *cuts], [*cuts, m], strict=True)]
        flags = f"{FORMAT_VERSION}.{TREE_FORMAT} quantize={quantized} octahedral={octahedral}"
        keys = {
            c: chunk_key(
                self.trees.keys[cell_range[c] : cell_range[c + 1]],
                flags,
                textured[a:e],
                boxes[cell_range[c] : cell_range[c + 1]],
            )
            for c, a, e in runs
            if c >= 0
        }
        found = self.trees.store.get_many(list(keys.values())) if keys else {}
        recorded: dict[int, StreamChunk] = {}
        if found:
            counts = np.array([p[0].positions.shape[0] for p in ordered], np.int64)
            index_counts = np.array([p[0].indices.size for p in ordered], np.int64)
            for c, a, e in runs:
                data = found.get(keys[c]) if c >= 0 else None
                got = StreamChunk.unpack(data, quantized, octahedral) if data is not None else None
                if got is not None and chunk_fits(
                    got, counts[a:e], index_counts[a:e], textured[a:e], sections[a:e] - cell_range[c]
                ):
                    recorded[c] = got
        # The others, as without a store (checked in reserved order: the first bad one is reported).
        made_here = ~np.isin(chunk_of, np.array(list(recorded), np.int64))
        fresh = np.flatnonzero(made_here)
        nodes = self.trees.nodes
        if fresh.shape[0]:
            reserved = sort[fresh]
            ascending = bool((reserved[1:] > reserved[:-1]).all())
            checked = np.sort(reserved).tolist()
            joined = check_surfaces([self.pending[i][0] for i in checked], [self.pending[i][3] for i in checked])
            subset = [ordered[i] for i in fresh.tolist()]
            b = gather_primitives(
                [p[0] for p in subset],
                [p[1] for p in subset],
                [p[2] for p in subset],
                octahedral=octahedral,
                inside=[self.inside[i] for i in reserved.tolist()],
                joined=joined if ascending else None,
            )
            b, fresh_roots = self.trees.bvh_order(b, [p[0] for p in subset], sections[fresh])
            fresh_bounds = _bounds_rows(b)
            rows, uv_rows = run_bounds(b.counts).tolist(), run_bounds(b.counts * b.textured).tolist()
            short, wide = (
                run_bounds(b.index_counts * b.narrow).tolist(),
                run_bounds(b.index_counts * ~b.narrow).tolist(),
            )
        self.trees.nodes = {}
        place = np.cumsum(made_here).tolist()  # fresh ones up to each
        parts: list[StreamChunk] = []
        for c, a, e in runs:
            got = recorded.get(c)
            if got is None:  # this run's primitives are fresh[f:g] of the batch made here
                f = place[a] - 1
                g = f + e - a
                got = StreamChunk(
                    b.counts[f:g],
                    b.index_counts[f:g],
                    b.textured[f:g],
                    np.array(fresh_roots[f:g], np.int64),
                    fresh_bounds[0][f:g] + fresh_bounds[1][f:g],
                    *np.unique(sections[a:e] - cell_range[c], return_counts=True),
                    b.positions[rows[f] : rows[g]],
                    b.normals[rows[f] : rows[g]],
                    b.stored_normals[rows[f] : rows[g]] if b.stored_normals is not None else None,
                    b.uvs[uv_rows[f] : uv_rows[g]],
                    b.indices16[short[f] : short[g]],
                    b.indices32[wide[f] : wide[g]],
                    np.concatenate([nodes[s] for s in dict.fromkeys(sections[a:e].tolist())])
                    if c >= 0
                    else np.zeros((0, 8), np.uint32),
                )
                if c >= 0:
                    self.trees.made[keys[c]] = got.pack()
            if c >= 0 and recorded:  # the cells' nodes, in section order
                per_cell = (
                    np.add.reduceat(got.roots, run_bounds(got.cell_prims)[:-1]) if got.roots.shape[0] else got.roots
                )
                cut = run_bounds(per_cell).tolist()
                for k, cell in enumerate((got.cells + cell_range[c]).tolist()):
                    self.trees.nodes[cell] = got.nodes[cut[k] : cut[k + 1]]
            parts.append(got)
        if self.trees.made:
            self.trees.store.put_many(self.trees.made)
        if not recorded:  # every primitive made here (a first build): the batch as it is
            self.trees.nodes = nodes
            return b, fresh_roots, fresh_bounds
        counts = np.concatenate([p.counts for p in parts])
        index_counts = np.concatenate([p.index_counts for p in parts])
        batch = PrimitiveBatch(
            counts,
            np.concatenate([p.positions for p in parts]),
            [],
            [],
            np.concatenate([p.normals for p in parts]),
            np.concatenate([p.stored_normals for p in parts]) if octahedral else None,
            np.concatenate([p.textured for p in parts]),
            np.concatenate([p.uvs for p in parts]),
            counts <= 0xFFFF,
            index_counts,
            np.concatenate([p.indices16 for p in parts]),
            np.concatenate([p.indices32 for p in parts]),
        )
        roots = np.concatenate([p.roots for p in parts]).tolist()
        texts = [(p.bounds[: p.counts.shape[0]], p.bounds[p.counts.shape[0] :]) for p in parts]
        return (
            batch,
            roots,
            (list(chain.from_iterable(t[0] for t in texts)), list(chain.from_iterable(t[1] for t in texts))),
        )

    def _write_bvh_views(self, cell_nodes: list[dict[str, Any]], extensions_used: set[str]) -> None:
        """Every cell's BVH nodes in a view of its own, all views made by one writer call."""
        if not self.trees.nodes:
            return
        sections = list(self.trees.nodes)
        chunks = list(self.trees.nodes.values())
        data = np.ascontiguousarray(np.concatenate(chunks), np.uint32).view(np.uint8).reshape(-1)
        bounds = run_bounds(np.array([c.shape[0] for c in chunks], np.int64) * NODE_BYTES)
        first = self.writer.records_views(data, bounds, np.array(sections, np.int64), NODE_BYTES)
        for view, section in enumerate(sections, first):
            self.section_views[section].append(("B", view))
            bvh = {"bufferView": view, "roots": self.section_bvh[section]}
            cell_nodes[section]["extensions"] = {EXT_BVH: bvh}
        extensions_used.add(EXT_BVH)
