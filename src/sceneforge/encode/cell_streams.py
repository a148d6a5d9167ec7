"""The encoded streams of a run of cells, kept between builds of a scene (the encoder's tree store).

A cell's own primitives are written from its surfaces by :func:`~.batch.check_surfaces`,
:func:`~.batch.gather_primitives` and the BVH order (:mod:`.bvh`): positions held in the cell's
box (or quantized on the scene's grid), normals, UVs, the indices in tree order, the tree nodes,
and each primitive's ``min``/``max`` text. All of it depends only on the cell's surfaces (its
cell key), the position grid (both in the cell's tree key), the cell's box, which primitives
carry UVs and the encode options. A :class:`StreamChunk` holds those results for every cell of a
run of consecutive cells, in write order, under :func:`chunk_key` of exactly those inputs; the
encoder takes the chunks it finds instead of computing their cells again and leaves the others it
computes, so an edit recomputes the chunks of the cells it changed. Runs start where a cell's tree
key says so (:func:`chunk_starts`: ~32 cells a run), not at fixed positions, so a removed or added
cell changes the runs around it only, not every run after it.

An entry is bounded like the others in the cache (its LRU); a chunk is about the size of its
cells' part of the BIN chunk. :func:`StreamChunk.unpack` rejects other formats and sizes that
disagree, and the encoder checks the counts against the surfaces and the indices against the
vertex counts (:func:`chunk_fits`), so a damaged entry is recomputed, never written.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .batch import run_bounds

__all__ = ["STREAMS_FORMAT", "StreamChunk", "chunk_fits", "chunk_key", "chunk_starts"]

#: Bumped when what a chunk holds, or how its streams are computed, changes.
STREAMS_FORMAT = 1
MAGIC = b"SFCS"
_HEAD = struct.Struct("<4sIIIIIIIII")
I64 = npt.NDArray[np.int64]
#: Cells a run holds on average (a run starts at a cell whose key is a multiple of it) ...
RUN = 32
#: ... and at most.
LONGEST = 4 * RUN


def chunk_starts(tree_keys: Sequence[str]) -> npt.NDArray[np.int64]:
    """The first cell of each run: cell 0, each cell whose tree key (hex) falls on a multiple of
    :data:`RUN`, and the cell after :data:`LONGEST` cells without one."""
    starts = [0]
    for i, key in enumerate(tree_keys):
        if i - starts[-1] >= LONGEST or (i and int(key[:8], 16) % RUN == 0):
            starts.append(i)
    return np.array(starts, np.int64)


def chunk_key(
    tree_keys: Sequence[str], flags: str, textured: npt.NDArray[np.bool_], boxes: npt.NDArray[np.float64]
) -> str:
    """The cache key of a chunk: its cells' tree keys (cell key and grid), the options' ``flags``, which
    of its primitives carry UVs, and its cells' boxes (what positions are held in)."""
    h = hashlib.sha256(f"streams {STREAMS_FORMAT} {flags} {' '.join(tree_keys)}".encode())
    for part in (np.ascontiguousarray(textured, np.uint8).tobytes(), np.ascontiguousarray(boxes, "<f8").tobytes()):
        h.update(struct.pack("<Q", len(part)))
        h.update(part)
    return h.hexdigest()


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """The streams of the primitives of a run of cells, in write order.

    Per primitive (``m``): ``counts`` vertices, ``index_counts``, ``textured``, ``roots`` (its tree's node
    count), ``bounds`` (the ``min`` and ``max`` JSON text, 2 m strings: mins then maxes); per cell of the
    run that has primitives: ``cells`` (its position in the run) and ``cell_prims`` (how many). Rows:
    ``positions`` (N, 3) float32 or (N, 4) uint16, ``normals`` (N, 3) float32 or (N, 4) int8,
    ``stored_normals`` (N, 4) int8 or None, ``uvs`` (K, 2) float32, ``indices16``/``indices32`` (tree
    order, narrow primitives then wide ones, each in write order), ``nodes`` (n, 8) uint32 cell after cell."""

    counts: I64
    index_counts: I64
    textured: npt.NDArray[np.bool_]
    roots: I64
    bounds: list[str]
    cells: I64
    cell_prims: I64
    positions: npt.NDArray[np.generic]
    normals: npt.NDArray[np.generic]
    stored_normals: npt.NDArray[np.int8] | None
    uvs: npt.NDArray[np.float32]
    indices16: npt.NDArray[np.uint16]
    indices32: npt.NDArray[np.uint32]
    nodes: npt.NDArray[np.uint32]

    def pack(self) -> bytes:
        m, c = self.counts.shape[0], self.cells.shape[0]
        text = "\n".join(self.bounds).encode("ascii")
        head = _HEAD.pack(
            MAGIC,
            STREAMS_FORMAT,
            m,
            c,
            self.positions.shape[0],
            self.uvs.shape[0],
            self.indices16.shape[0],
            self.indices32.shape[0],
            self.nodes.shape[0],
            len(text),
        )
        ints = np.concatenate([self.counts, self.index_counts, self.roots, self.textured, self.cells, self.cell_prims])
        parts = [head, ints.astype("<i4").tobytes(), _pad(self.positions.tobytes()), _pad(self.normals.tobytes())]
        parts += [self.stored_normals.tobytes() if self.stored_normals is not None else b""]
        parts += [self.uvs.tobytes(), _pad(self.indices16.tobytes()), self.indices32.tobytes(), self.nodes.tobytes()]
        return b"".join([*parts, text])

    @staticmethod
    def unpack(data: bytes, quantized: bool, octahedral: bool) -> StreamChunk | None:
        """:meth:`pack` undone (read-only views of ``data``), or None when ``data`` is not such a chunk
        (another format, sizes that disagree)."""
        if len(data) < _HEAD.size or data[:4] != MAGIC:
            return None
        _, version, m, c, n, k, n16, n32, x, t = _HEAD.unpack_from(data)
        if version != STREAMS_FORMAT:
            return None
        pos_type, pos_width = (np.dtype("<u2"), 4) if quantized else (np.dtype("<f4"), 3)
        nor_type, nor_width = (np.dtype("i1"), 4) if quantized else (np.dtype("<f4"), 3)
        sizes = [
            4 * (4 * m + 2 * c),
            _pad4(n * pos_width * pos_type.itemsize),
            _pad4(n * nor_width * nor_type.itemsize),
            4 * n if octahedral else 0,
            8 * k,
            _pad4(2 * n16),
            4 * n32,
            32 * x,
            t,
        ]
        if len(data) != _HEAD.size + sum(sizes):
            return None
        at = np.cumsum([_HEAD.size, *sizes]).tolist()
        ints = np.ndarray((4 * m + 2 * c,), "<i4", data, at[0]).astype(np.int64)
        try:
            bounds = data[at[8] :].decode("ascii").split("\n") if m else []
        except UnicodeDecodeError:
            return None
        if len(bounds) != 2 * m:
            return None
        return StreamChunk(
            ints[:m],
            ints[m : 2 * m],
            ints[3 * m : 4 * m] != 0,
            ints[2 * m : 3 * m],
            bounds,
            ints[4 * m : 4 * m + c],
            ints[4 * m + c :],
            np.ndarray((n, pos_width), pos_type, data, at[1]),
            np.ndarray((n, nor_width), nor_type, data, at[2]),
            np.ndarray((n, 4), np.int8, data, at[3]) if octahedral else None,
            np.ndarray((k, 2), "<f4", data, at[4]),
            np.ndarray((n16,), "<u2", data, at[5]),
            np.ndarray((n32,), "<u4", data, at[6]),
            np.ndarray((x, 8), "<u4", data, at[7]),
        )


def _pad4(n: int) -> int:
    return (n + 3) & ~3


def chunk_fits(
    got: StreamChunk,
    counts: npt.NDArray[np.int64],
    index_counts: npt.NDArray[np.int64],
    textured: npt.NDArray[np.bool_],
    cells: npt.NDArray[np.int64],
) -> bool:
    """Whether a stored chunk holds primitives of these vertex and index counts, UV flags and cells
    (positions in the run), with its rows, nodes and indices in range (else it is recomputed)."""
    if not (
        np.array_equal(got.counts, counts)
        and np.array_equal(got.index_counts, index_counts)
        and np.array_equal(got.textured, textured)
    ):
        return False
    held, per_cell = np.unique(cells, return_counts=True)
    if not (np.array_equal(got.cells, held) and np.array_equal(got.cell_prims, per_cell)):
        return False
    narrow = counts <= 0xFFFF
    if (
        got.positions.shape[0] != counts.sum()
        or got.uvs.shape[0] != counts[textured].sum()
        or got.indices16.shape[0] != index_counts[narrow].sum()
        or got.indices32.shape[0] != index_counts[~narrow].sum()
        or got.nodes.shape[0] != got.roots.sum()
        or (got.roots < 0).any()
    ):
        return False
    for flat, which in ((got.indices16, narrow), (got.indices32, ~narrow)):
        if flat.shape[0]:
            sizes = index_counts[which]
            starts = run_bounds(sizes)[:-1][sizes > 0]
            if (np.maximum.reduceat(flat, starts) >= counts[which][sizes > 0]).any():
                return False
    return True
