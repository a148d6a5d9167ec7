"""Bounding volume hierarchies over triangles, in three-mesh-bvh's packed node layout (docs/streaming.md).

:func:`build_bvhs` builds one tree per *root* (a primitive: a run of consecutive triangles) for
many roots at once, level by level: every node of a level that holds more than ``leaf_size``
triangles is split at the median of its triangles' centroids along the longest side of their
centroid bounds, with one stable sort over all triangles being split at that level by (node, centroid
rank on the node's axis), ties in their order: the ranks, dense per axis, computed once by a radix
sort of the centroids' bits. Sorts are radix passes over 16-bit digits where the keys allow (numpy
sorts wider integers and floats by comparisons, ~4× slower here); otherwise (node, rank, position)
packed into int64 keys, or two stable argsorts where those would not fit — the same order each way.
No loop per triangle or per node. A tree of ``n`` triangles has ``ceil(log2(n / leaf_size))`` levels.

Output: the triangle order the trees need (each root's triangles reordered inside its run, so
every leaf is one contiguous run of the index buffer), and the nodes of every root in depth-first
order, 32 bytes each, exactly as three-mesh-bvh 0.9 stores them (``MeshBVH.serialize`` /
``deserialize``, ``core/build/buildTree.js``): bounds ``float32 × 6`` (min xyz, max xyz); then a
leaf holds ``uint32`` offset (first triangle, in the index the tree is handed with) and
``uint16`` count, ``uint16`` 0xFFFF; an inner node holds ``uint32`` the right child's position
relative to its own (in nodes; the left child follows directly) and ``uint32`` its split axis.
Bounds are rounded outwards to float32, so a box always contains its triangles.

Cost: O(T) numpy work per level (two or three radix passes), ~15 levels for 10⁵ triangles, and
four passes an axis for the ranks. Trees are independent per
root, so one cell's trees can be kept between builds (:func:`pack_trees` / :func:`unpack_trees`,
used by the encoder's tree store) and the others built alone.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["LEAF_SIZE", "NODE_BYTES", "BvhForest", "TreeStore", "build_bvhs", "pack_trees", "unpack_trees"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
#: Most triangles in a leaf: three-mesh-bvh's default ``maxLeafSize``.
LEAF_SIZE = 10
#: Bytes per node (three-mesh-bvh ``BYTES_PER_NODE``).
NODE_BYTES = 32
_LEAF_FLAG = 0xFFFF << 16
#: Bits of the int64 sort keys (node, centroid rank, position) of :func:`build_bvhs`; past ~2·10⁶
#: triangles they do not fit and each level sorts with two stable sorts instead (same order).
_PACKED_BITS = 63
#: Most bits of a (node, centroid rank) key sorted by stable 16-bit radix passes (three at most) rather
#: than as a packed int64 (a comparison sort here: ~3.6 ms for 98,000 keys against ~1 ms); same order.
_KEYED_BITS = 48


_SIGN_BIT = np.uint64(1 << 63)
_TREES_MAGIC = b"SFBV"
_I4, _U4 = np.dtype("<i4"), np.dtype("<u4")


class TreeStore(Protocol):
    """Where the encoder finds and leaves the trees of cells (a build's cell cache): keyed by what a
    cell's trees depend on, values from :func:`pack_trees`."""

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]: ...

    def put_many(self, entries: Mapping[str, bytes]) -> None: ...


def pack_trees(order: I64, nodes: npt.NDArray[np.uint32], roots: Sequence[int]) -> bytes:
    """One cell's trees: its triangle order (relative to its first triangle), nodes and node count per root."""
    head = struct.pack("<4sIII", _TREES_MAGIC, len(roots), order.shape[0], nodes.shape[0])
    return b"".join([head, np.asarray(roots, "<i4").tobytes(), order.astype("<i4").tobytes(),
                     np.ascontiguousarray(nodes, "<u4").tobytes()])  # fmt: skip


def unpack_trees(data: bytes) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint32], list[int]] | None:
    """:func:`pack_trees` undone (read-only views of ``data``, one ``ndarray`` call each), or None
    when ``data`` is not such an entry. The order's values are not checked here: the encoder
    checks all cells' at once."""
    if len(data) < 16 or data[:4] != _TREES_MAGIC:
        return None
    _, r, t, n = struct.unpack_from("<4sIII", data)
    if len(data) != 16 + 4 * r + 4 * t + NODE_BYTES * n:
        return None
    roots = list(struct.unpack_from(f"<{r}i", data, 16))
    if sum(roots) != n:
        return None
    order = np.ndarray((t,), _I4, data, 16 + 4 * r)
    nodes = np.ndarray((n, 8), _U4, data, 16 + 4 * r + 4 * t)
    return order, nodes, roots


@dataclass(frozen=True, slots=True)
class BvhForest:
    """Trees of many roots: ``order`` (T,) the new triangle order (new triangle j is old ``order[j]``,
    each root's triangles staying in their run); ``nodes`` (N, 8) uint32, root after root, each in
    depth-first order; ``root_nodes`` (R,) the node count of each root."""

    order: I64
    nodes: npt.NDArray[np.uint32]
    root_nodes: I64


def _starts(counts: I64) -> I64:
    starts = np.zeros(counts.shape[0], np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def _gather(starts: I64, counts: I64) -> I64:
    """Positions ``starts[i] .. starts[i] + counts[i] - 1`` of every segment, concatenated."""
    total = int(counts.sum())
    return np.repeat(starts - _starts(counts), counts) + np.arange(total, dtype=np.int64)


def _stable_argsort(values: I64, bound: int) -> I64:
    """``np.argsort(values, kind="stable")`` for integers in ``[0, bound)``, ``bound`` ≤ 2⁶³: numpy's
    stable sort is a radix sort for 16-bit keys, so an LSD radix sort of those, a pass per 16 bits of
    ``bound`` (low digits first), instead of a merge sort of int64 keys (3x faster at 5·10⁵ keys)."""
    perm: I64 | None = None
    for shift in range(0, max(bound - 1, 1).bit_length(), 16):
        digit = (values if perm is None else values.take(perm)) >> shift
        digit &= 0xFFFF
        step = np.argsort(digit.astype(np.uint16), kind="stable")
        perm = step if perm is None else perm.take(step)
    assert perm is not None
    return perm.astype(np.int64, copy=False)


def _dense_ranks(values: F64) -> I64:
    """Each value's rank among the distinct values of ``values`` (0 for the smallest; equal values, equal
    ranks; -0.0 equals 0.0). An LSD radix sort of the floats' bits, four stable 16-bit passes: numpy
    sorts 16-bit keys by radix, float64 by comparisons (a sort and an argsort of 98,000 centroids took
    ~9.5 ms an axis, these passes ~2.5 ms)."""
    bits = (values + 0.0).view(np.uint64)  # + 0.0: -0.0 becomes 0.0
    # Order-preserving unsigned keys: negatives' bits inverted, positives' sign bit set.
    key = np.where(bits >= _SIGN_BIT, ~bits, bits | _SIGN_BIT)
    perm: I64 | None = None
    for shift in (0, 16, 32, 48):
        digit = (key >> np.uint64(shift)).astype(np.uint16)
        if digit.min() == digit.max():  # a digit every value shares orders nothing (round coordinates' low bits)
            continue
        step = np.argsort(digit if perm is None else digit.take(perm), kind="stable")
        perm = step if perm is None else perm.take(step)
    if perm is None:
        return np.zeros(values.shape[0], np.int64)
    ascending = key.take(perm)
    distinct = np.empty(values.shape[0], np.int64)
    distinct[:1] = 0
    np.not_equal(ascending[1:], ascending[:-1], out=distinct[1:])
    ranks = np.empty(values.shape[0], np.int64)
    ranks[perm] = np.cumsum(distinct)
    return ranks


def _outward32(lo: F64, hi: F64) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Float32 bounds containing the float64 ones."""
    lo32, hi32 = lo.astype(np.float32), hi.astype(np.float32)
    lo32 = np.where(lo32.astype(np.float64) > lo, np.nextafter(lo32, np.float32(-np.inf)), lo32)
    hi32 = np.where(hi32.astype(np.float64) < hi, np.nextafter(hi32, np.float32(np.inf)), hi32)
    return lo32.astype(np.float32), hi32.astype(np.float32)


def build_bvhs(
    corners: F64, counts: I64, bases: I64, leaf_size: int = LEAF_SIZE, *, axis_major: bool = False
) -> BvhForest:
    """Trees over ``corners`` (T, 3, 3) float64, the triangles of all roots back to back; with
    ``axis_major`` the same numbers as (3 axes, 3 corners, T) (what the builder reads: gathered
    that way from vertex columns, it needs no transposing copy).

    ``counts`` (R,) triangles per root (each ≥ 1); ``bases`` (R,) the triangle offset a root's
    first triangle has in the index the tree is used with (its leaves store ``bases[r]`` plus
    the position inside the root's run).
    """
    counts = np.asarray(counts, np.int64)
    bases = np.asarray(bases, np.int64)
    roots = counts.shape[0]
    # Per-triangle bounds and centroids axis by axis, (3, T): every reduction below runs along
    # contiguous rows (a reduceat over the rows of a (T, 3) array is several times slower).
    by_axis = np.ascontiguousarray(corners if axis_major else corners.transpose(2, 1, 0), np.float64)
    tris = by_axis.shape[2]
    if roots == 0:
        return BvhForest(np.zeros(0, np.int64), np.zeros((0, 8), np.uint32), np.zeros(0, np.int64))
    p, q, r = by_axis[:, 0], by_axis[:, 1], by_axis[:, 2]
    lo_tri = np.minimum(np.minimum(p, q), r)  # elementwise on contiguous rows: 10x faster than min(axis=1)
    hi_tri = np.maximum(np.maximum(p, q), r)
    centroid = (lo_tri + hi_tri) * 0.5
    order = np.arange(tris, dtype=np.int64)
    root_start = _starts(counts)
    # Per axis, each centroid's dense rank (equal coordinates, equal ranks): comparing ranks is
    # comparing coordinates, and ranks fit in ``width`` bits.
    rank: I64 | None = None  # axis a's rank of triangle t at a * T + t
    width = tris.bit_length()
    if (counts > leaf_size).any() and 3 * width <= _PACKED_BITS:
        rank = np.empty(3 * tris, np.int64)
        for a in range(3):
            rank[a * tris : (a + 1) * tris] = _dense_ranks(centroid[a])

    # Per node: start (in ``order``), count, root; children and axis of inner nodes.
    starts, sizes, owners = [root_start], [counts], [np.arange(roots, dtype=np.int64)]
    level_ids = [np.arange(roots, dtype=np.int64)]
    parents: list[I64] = []
    axes: list[I64] = []
    next_id = roots
    cur_start, cur_count, cur_id, cur_root = root_start, counts, level_ids[0], owners[0]
    while True:
        split = cur_count > leaf_size
        if not split.any():
            break
        s, c, pid, rid = cur_start[split], cur_count[split], cur_id[split], cur_root[split]
        where: I64 | slice
        if int(c.sum()) == tris:  # every triangle is in a node split here (the first levels): no gather
            where, members = slice(None), order.copy()
        else:
            where = _gather(s, c)
            members = np.take(order, where)
        node_of = np.repeat(np.arange(s.shape[0], dtype=np.int64), c)
        first = _starts(c)
        cen = np.take(centroid, members, axis=1)
        extent = np.maximum.reduceat(cen, first, axis=1) - np.minimum.reduceat(cen, first, axis=1)
        axis = np.argmax(extent, axis=0).astype(np.int64)
        n, k = members.shape[0], s.shape[0]
        if rank is not None and k.bit_length() + 2 * width <= _PACKED_BITS:
            # The order of the two stable sorts below: (node, centroid rank) keys by stable radix passes, or
            # past _KEYED_BITS node, rank and position packed in one int64 and sorted (distinct values; the
            # position comes back in the low bits).
            keyed_bits = k.bit_length() + width
            if keyed_bits <= _KEYED_BITS:  # stable radix passes: positions keep their order
                keyed = node_of << width
                keyed |= np.take(rank, np.take(axis, node_of) * tris + members)
                order[where] = np.take(members, _stable_argsort(keyed, 1 << keyed_bits))
            else:
                packed = node_of << (2 * width)
                packed |= np.take(rank, np.take(axis, node_of) * tris + members) << width
                packed |= np.arange(n)
                packed.sort()
                order[where] = np.take(members, packed & ((1 << width) - 1))
        else:
            key = cen[axis[node_of], np.arange(n)]
            by_key = np.argsort(key, kind="stable")  # two stable sorts: lexsort's order, 10x faster here
            order[where] = members[by_key[_stable_argsort(node_of[by_key], k)]]
        half = c // 2
        k = s.shape[0]
        child_start = np.empty(2 * k, np.int64)
        child_start[0::2], child_start[1::2] = s, s + half
        child_count = np.empty(2 * k, np.int64)
        child_count[0::2], child_count[1::2] = half, c - half
        child_id = np.arange(next_id, next_id + 2 * k, dtype=np.int64)
        next_id += 2 * k
        parents.append(pid)
        axes.append(axis)
        cur_start, cur_count, cur_id, cur_root = child_start, child_count, child_id, np.repeat(rid, 2)
        starts.append(cur_start)
        sizes.append(cur_count)
        owners.append(cur_root)
        level_ids.append(cur_id)

    total = next_id
    node_start = np.concatenate(starts)
    node_count = np.concatenate(sizes)
    node_root = np.concatenate(owners)
    left = np.full(total, -1, np.int64)
    node_axis = np.zeros(total, np.int64)
    for level, (pid, axis) in enumerate(zip(parents, axes, strict=True)):
        children = level_ids[level + 1]
        left[pid] = children[0::2]
        node_axis[pid] = axis
    leaf = left < 0

    # Leaf bounds: leaves partition every root's run, so one reduceat over them in start order.
    leaf_ids = np.nonzero(leaf)[0]
    leaf_ids = leaf_ids[_stable_argsort(node_start[leaf_ids], tris)]
    lo = np.empty((total, 3), np.float64)
    hi = np.empty((total, 3), np.float64)
    lo[leaf_ids] = np.minimum.reduceat(np.take(lo_tri, order, axis=1), node_start[leaf_ids], axis=1).T
    hi[leaf_ids] = np.maximum.reduceat(np.take(hi_tri, order, axis=1), node_start[leaf_ids], axis=1).T
    # Inner bounds and subtree sizes, deepest level first.
    subtree = np.ones(total, np.int64)
    for pid in reversed(parents):
        lc = left[pid]
        rc = lc + 1
        lo[pid] = np.minimum(lo[lc], lo[rc])
        hi[pid] = np.maximum(hi[lc], hi[rc])
        subtree[pid] = 1 + subtree[lc] + subtree[rc]
    # Depth-first positions: the left child follows its parent, the right one its left subtree.
    pre = np.zeros(total, np.int64)
    for pid in parents:
        lc = left[pid]
        pre[lc] = pre[pid] + 1
        pre[lc + 1] = pre[pid] + 1 + subtree[lc]
    root_nodes = subtree[:roots]
    position = _starts(root_nodes)[node_root] + pre

    lo32, hi32 = _outward32(lo, hi)
    nodes = np.zeros((total, 8), np.uint32)
    nodes[position, 0:3] = lo32.view(np.uint32)
    nodes[position, 3:6] = hi32.view(np.uint32)
    inner = ~leaf
    nodes[position[inner], 6] = (1 + subtree[left[inner]]).astype(np.uint32)
    nodes[position[inner], 7] = node_axis[inner].astype(np.uint32)
    offsets = bases[node_root[leaf]] + node_start[leaf] - root_start[node_root[leaf]]
    nodes[position[leaf], 6] = offsets.astype(np.uint32)
    nodes[position[leaf], 7] = (node_count[leaf] | _LEAF_FLAG).astype(np.uint32)
    return BvhForest(order, nodes, root_nodes.astype(np.int64))
