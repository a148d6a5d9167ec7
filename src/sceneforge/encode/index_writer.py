"""The streaming index of a laid-out document: ``extras.sceneforgeIndex`` (docs/streaming.md, :mod:`.stream_index`).

Written after every primitive's data is in the buffer writer: per cell its byte range in the BIN
chunk (cells in scene order after the shared data), rounded bounds, views, primitives and BVH
roots (from :class:`~.primitives.PrimitiveWriter`); the portals as (from, to) cell numbers and
rounded quads; the cells whose plan is not their box (``floors``); the PVS; materials, textures
and images. ``end`` and ``bin`` are placeholders until :func:`.stream_index.patch_offsets_joined`.
The long members (cells, portals, PVS) are formatted from their arrays into the text ``json_text``
gives (:mod:`.buffers`), each distinct float once, and with a tree store the PVS and portal rows
are taken chunk by chunk from an earlier build's text record (:mod:`.text_record`).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from itertools import accumulate, chain
from typing import Any

import numpy as np
import numpy.typing as npt

from ..model.ir import SceneIR
from .buffers import SLOT, BufferWriter, RawJSON, fill_slots, float_rows, float_texts, json_text
from .bvh import TreeStore
from .options import EncodeOptions
from .portal_nodes import PortalNodes
from .primitives import PrimitiveWriter
from .quantize import Dequantize
from .stream_index import INDEX_VERSION, encode_pvs_flat, placeholder
from .text_record import TextRecord, chunked, save, text_key

__all__ = ["stream_index"]

F64 = npt.NDArray[np.float64]


def stream_index(
    ir: SceneIR,
    boxes: F64,
    writer: BufferWriter,
    primitives: PrimitiveWriter,
    portal_nodes: PortalNodes,
    index_text: dict[str, RawJSON],
    *,
    options: EncodeOptions,
    cell_grid: Dequantize | None,
    instanced: bool,
    materials: list[dict[str, Any]],
    textures: list[dict[str, Any]],
    images: list[dict[str, Any]],
    floor_plans: Sequence[tuple[float, ...] | None],
    pvs: Sequence[Sequence[str]] | None,
    pvs_sets: Sequence[npt.NDArray[np.int64]] | None,
    trees: TreeStore | None,
) -> tuple[dict[str, Any], list[str] | None]:
    """``extras.sceneforgeIndex`` (docs/streaming.md): per cell its byte range in the BIN chunk,
    bounds, views, primitives and BVH roots; portals; the PVS; materials. ``end`` and ``bin``
    are placeholders until :func:`.stream_index.patch_offsets_joined`.

    ``boxes``: the cells' boxes; ``writer`` holds every view (laid out), ``primitives`` what each
    cell section holds, ``portal_nodes`` the portals' quads (and their text) and the text record;
    members formatted as text go into ``index_text``. ``instanced``: whether any mesh is instanced;
    ``floor_plans``: each cell's plan outline or ``None``; ``pvs`` / ``pvs_sets`` as
    :func:`~.glb.encode_glb_indexed` takes them. Returns the index and, when the boxes were
    formatted exactly as given (bit for bit), each box's text (the cell nodes' ``aabb``)."""
    box_rows: list[str] | None = None
    w = writer
    places = w.view_places
    cell_ids = {c.cell_id: i for i, c in enumerate(ir.cells)}

    def placed(view: int, start: int) -> list[Any]:
        offset, length, count = places[view]
        return [offset - start, length, count]

    section_views, section_prims, section_bvh = (
        primitives.section_views,
        primitives.section_prims,
        primitives.section_bvh,
    )

    aabb_array = np.round(np.asarray(boxes, np.float64).reshape(-1, 6), 6) + 0.0
    aabbs = aabb_array.tolist()
    cells: list[list[Any]] = []
    last = w.sections[-1][1] if -1 in w.sections else 0
    for i, cell in enumerate(ir.cells):
        start, end = w.sections.get(i, (last, last))
        last = end
        views = section_views.get(i, ())
        cell_views = [[kind, places[v][0] - start, places[v][1], places[v][2]] for kind, v in views]
        prims = section_prims.get(i, [])
        cells.append([cell.cell_id, start, end - start, aabbs[i], cell_views, prims, section_bvh.get(i, [])])
    portals = ir.portals
    raw_quads, raw_texts = portal_nodes.quads
    if raw_quads is None:
        raw_quads = np.array([p.quad for p in portals], np.float64).reshape(-1, 12)
    quads_array = np.round(raw_quads, 6) + 0.0
    quads = quads_array.tolist()
    portal_rows = [
        [cell_ids[p.from_cell], cell_ids[p.to_cell], *quad, *([1] if p.one_way else [])]
        for p, quad in zip(portals, quads, strict=True)
    ]
    if portals and np.isfinite(quads_array).all() and "portals" not in index_text:
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
        index_text["portals"] = RawJSON(("[" + text % tuple(values) + "]").encode("ascii"))
    index: dict[str, Any] = {"end": placeholder("end"), "bin": placeholder("bin"), "version": INDEX_VERSION}
    if cell_grid is not None:
        index["quantized"] = [*cell_grid.offset, cell_grid.scale]
    if options.compress:
        index["compressed"] = True
    if -1 in w.sections:
        first, end = w.sections[-1]
        index["shared"] = [first, end - first]
    if instanced:
        index["instanced"] = True
    index["materials"] = materials
    if images:
        index["textures"] = [t["source"] for t in textures]
        index["images"] = [[*placed(im["bufferView"], 0)[:2], im["mimeType"]] for im in images]
    index["cells"] = cells
    if cells and np.isfinite(aabb_array).all():
        # The rows as json_text writes them, their aabb formatted at once (each distinct number once).
        slotted = [[row[0], row[1], row[2], SLOT, *row[4:]] for row in cells]
        aabb_rows = float_rows(aabb_array)
        if np.array_equal(aabb_array.view(np.int64), np.asarray(boxes, np.float64).view(np.int64)):
            box_rows = aabb_rows  # the cell nodes' boxes are these numbers (bit for bit)
        cells_text = fill_slots(json_text(slotted), aabb_rows)
        if cells_text is not None:
            index_text["cells"] = RawJSON(cells_text)
    plans = [(i, plan) for i, plan in enumerate(floor_plans) if plan]
    if plans:  # cells that are not their box: a point in the box may lie outside the cell
        from ..visibility.result import rounded_array  # the meta's numbers (imported only for such rooms)

        values = rounded_array(np.concatenate([p for _, p in plans])).tolist()
        ends = list(accumulate(len(p) for _, p in plans))
        index["floors"] = [[i, *values[end - len(p) : end]] for (i, p), end in zip(plans, ends, strict=True)]
    index["portals"] = portal_rows
    if pvs is not None:
        # Names to indices in one lookup over all sets (or the caller's indices of those names,
        # when the cell ids are unique), each set sorted by one sort of (set, index) keys.
        sets = pvs_sets if len(cell_ids) == len(ir.cells) else None
        if sets is not None:
            counts = np.array([a.shape[0] for a in sets], np.int64)
            flat = np.concatenate(sets).astype(np.int64) if sets else np.zeros(0, np.int64)
        else:
            counts = np.array([len(ids) for ids in pvs], np.int64)
            total = int(counts.sum())
            flat = np.fromiter(map(cell_ids.__getitem__, chain.from_iterable(pvs)), np.int64, total)
        base = np.repeat(np.arange(counts.shape[0], dtype=np.int64) * len(cell_ids), counts)
        flat += base
        if flat.size > 1 and not (flat[1:] >= flat[:-1]).all():
            flat.sort()
        flat -= base
        if portal_nodes.texts is None:
            index["pvs"] = encode_pvs_flat(flat, counts)
        else:
            key = hashlib.sha256(b"pvs" + struct.pack("<Q", counts.nbytes) + counts.tobytes() + flat.tobytes())
            pvs_text = chunked(
                [key.digest()], lambda _: encode_pvs_flat(flat, counts), portal_nodes.texts_previous, portal_nodes.texts
            )
            index["pvs"] = pvs_text[0]
    if portal_nodes.texts is not None and trees is not None:
        save(trees, text_key(ir.scene_id, "encode"), TextRecord(portal_nodes.texts), portal_nodes.texts_previous)
    return index, box_rows
