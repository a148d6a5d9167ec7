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

Where the parts live: the options and format number (:mod:`.options`); the document's nodes,
meshes and materials (:mod:`.document`); the primitives' data written at once (:mod:`.primitives`,
:mod:`.batch`) in each cell's BVH order (:mod:`.cell_trees`, :mod:`.bvh`), with the stream chunks
of earlier builds (:mod:`.cell_streams`); the portal nodes (:mod:`.portal_nodes`); the streaming
index (:mod:`.index_writer`, :mod:`.stream_index`); buffer views, codecs, JSON text and the GLB
container (:mod:`.buffers`). This module checks the arguments and joins the index to the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import PassError
from ..model.ir import SceneIR
from .buffers import glb_container, json_text
from .bvh import TreeStore
from .document import Encoder
from .options import FORMAT_VERSION, NAME, EncodeOptions
from .stream_index import index_offsets, patch_offsets_joined

__all__ = ["FORMAT_VERSION", "EncodeOptions", "encode_glb", "encode_glb_indexed"]

F64 = npt.NDArray[np.float64]


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
    encoder = Encoder(ir, options, meta_digest, trees, cell_keys, boxes, plans)
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
