"""Each cell's BVH order (:mod:`.bvh`), with the trees an earlier build left in the tree store.

The triangles of every cell's own primitives are written in the order of the cell's BVH, and the
cell's nodes go into its ``SCENEFORGE_bvh`` view (:mod:`.primitives`). A cell's trees (its
triangle order and nodes) depend only on its stored positions and indices, so they are keyed by
the cell's key and the position grid (:func:`tree_keys`), taken from the store when there (and
checked: as many roots as primitives, as many triangles, each order a permutation of its cell's
triangles) and built and left there otherwise; the bytes are those of an encode without a store.
:class:`CellTrees` holds what one encode knows of them: the store, the keys, the trees found and
those made, and every cell's nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from ..model.ir import Surface
from .batch import PrimitiveBatch, run_bounds
from .bvh import TreeStore, build_bvhs, pack_trees, unpack_trees
from .options import FORMAT_VERSION
from .quantize import Dequantize

__all__ = ["TREE_FORMAT", "CellTrees", "tree_keys"]

#: Part of a stored tree's key: bumped when the positions trees are built from change for the same cell
#: (2: plain positions held inside their cell's box), so an incremental build never takes an older tree.
TREE_FORMAT = 2


def _gather_runs(starts: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``starts[i] .. starts[i] + counts[i] - 1`` for every run, concatenated."""
    first = run_bounds(counts)[:-1]
    return np.repeat(starts - first, counts) + np.arange(int(counts.sum()), dtype=np.int64)


def tree_keys(cell_keys: Sequence[str], cell_grid: Dequantize | None) -> list[str]:
    """The SHA-256 of ``bvh {FORMAT_VERSION}.{TREE_FORMAT} {cell key} {grid}`` per cell (the grid's text made
    once): the tree store's key of each cell, ``cell_keys`` what its surfaces depend on, ``cell_grid`` the
    position grid of every cell's geometry (``None``: float positions)."""
    grid = f" {cell_grid}".encode()
    head = f"bvh {FORMAT_VERSION}.{TREE_FORMAT} ".encode()
    return [hashlib.sha256(head + key.encode() + grid).hexdigest() for key in cell_keys]


class CellTrees:
    """The cells' trees of one encode: the store and each cell's key in it (``None`` without a store or
    keys), the trees found there and those made here, and every cell's BVH nodes."""

    def __init__(self, store: TreeStore | None, keys: list[str] | None) -> None:
        self.store = store
        #: Per cell, the tree store's key (:func:`tree_keys`): its cell key (what its surfaces depend on) and the grid.
        self.keys = keys
        #: The triangle orders of the cells whose trees came from the store, concatenated (:meth:`stored_trees`).
        self.found_order = np.zeros(0, np.int64)
        #: Store entries made in this encode (trees, stream chunks), left in the store at once.
        self.made: dict[str, bytes] = {}
        #: Per cell section: its BVH nodes, (n, 8) uint32.
        self.nodes: dict[int, npt.NDArray[np.uint32]] = {}

    def bvh_order(
        self, b: PrimitiveBatch, surfaces: list[Surface], sections: npt.NDArray[np.int64]
    ) -> tuple[PrimitiveBatch, list[int]]:
        """Reorder the triangles of every cell's own primitives for their BVHs (:mod:`.bvh`) and
        keep the nodes per cell; returns the batch with the new index streams and, per primitive,
        its root's node count (0 for shared meshes). With a tree store, the trees of cells found in
        it are taken from it (a cell's trees depend only on its stored positions and indices:
        :func:`tree_keys`) and the others built, then left there."""
        own = sections >= 0
        roots = [0] * len(surfaces)
        if not own.any():
            return b, roots
        tri_counts = b.index_counts // 3
        vstart = run_bounds(b.counts)
        # Each primitive's own indices (the batch's when all are narrow: the same numbers), and per
        # triangle its primitive's first vertex in the batch: global corners are their sum.
        local = b.indices16 if b.narrow.all() else np.concatenate([s.indices.reshape(-1) for s in surfaces])
        local = local.reshape(-1, 3)
        vertex_base = np.repeat(vstart[:-1], tri_counts)
        first_own = int(np.argmax(own))  # shared (-1) primitives sort first
        tstart = run_bounds(tri_counts)
        # Leaves count triangles in the cell's merged index: offset of the primitive inside its cell.
        cell_first = np.concatenate([[0], np.flatnonzero(np.diff(sections)) + 1])
        cell_end = np.append(cell_first[1:], len(surfaces))
        group_first = cell_first[np.searchsorted(cell_first, np.arange(len(surfaces)), side="right") - 1]
        bases = tstart[:-1] - tstart[group_first]
        runs = [(int(a), int(e)) for a, e in zip(cell_first.tolist(), cell_end.tolist(), strict=True) if a >= first_own]
        found = self.stored_trees(sections, runs, tstart)
        section_list = sections.tolist()
        found_runs = [(a, e) for a, e in runs if section_list[a] in found]
        build = np.ones(len(surfaces), bool)
        build[:first_own] = False
        for a, e in found_runs:
            build[a:e] = False
        sub = np.flatnonzero(build)
        slots = _gather_runs(tstart[sub], tri_counts[sub])
        # Corners of the triangles to build as (axis, corner, triangle), as the builder reads them: gathered
        # axis by axis from the vertex columns, or (few triangles: a warm cache) row by row from the positions.
        built = np.take(local, slots, axis=0).astype(np.int64) + vertex_base[slots, None]
        if 3 * slots.shape[0] < b.positions.shape[0]:
            picked = np.take(b.positions, built.T.reshape(-1), axis=0)[:, :3].astype(np.float64)
            corners = np.ascontiguousarray(picked.reshape(3, -1, 3).transpose(2, 0, 1))
        else:
            columns = np.ascontiguousarray(b.positions[:, :3].T, np.float64)
            corners = np.take(columns, np.ascontiguousarray(built.T), axis=1)
        forest = build_bvhs(corners, tri_counts[sub], bases[sub], axis_major=True)
        perm = np.arange(local.shape[0], dtype=np.int64)
        perm[slots] = slots[forest.order]
        if found:
            first_tris = tstart[[a for a, _ in found_runs]]
            lengths = np.array([found[section_list[a]][0].shape[0] for a, _ in found_runs], np.int64)
            perm[_gather_runs(first_tris, lengths)] = self.found_order + np.repeat(first_tris, lengths)
        if np.array_equal(vertex_base[perm], vertex_base):  # every triangle stays in its primitive (trees do)
            local_tris = np.take(local, perm, axis=0).reshape(-1)
        else:  # a stored order moving triangles between a cell's primitives: as global corners, as before
            tris = np.take(local.astype(np.int64) + vertex_base[:, None], perm, axis=0)
            local_tris = (tris - vertex_base[:, None]).reshape(-1)
        nodes = forest.nodes
        node_start = run_bounds(forest.root_nodes).tolist()
        root_list = forest.root_nodes.tolist()
        position = np.full(len(surfaces), -1, np.int64)
        position[sub] = np.arange(sub.shape[0])
        places, tri_start = position.tolist(), tstart.tolist()
        made: dict[str, bytes] = {}
        for a, e in runs:
            section = section_list[a]
            if section in found:
                _, cell_nodes, cell_roots = found[section]
                self.nodes[section] = cell_nodes
                roots[a:e] = cell_roots
                continue
            lo, hi = places[a], places[e - 1] + 1
            self.nodes[section] = nodes[node_start[lo] : node_start[hi]]
            roots[a:e] = root_list[lo:hi]
            if self.keys is not None:
                order = perm[tri_start[a] : tri_start[e]] - tri_start[a]
                made[self.keys[section]] = pack_trees(order, nodes[node_start[lo] : node_start[hi]], roots[a:e])
        self.made.update(made)  # left in the store with the stream chunks (:mod:`.primitives`)
        if b.narrow.all():
            batch = replace(b, indices16=local_tris.astype(np.uint16), indices32=np.zeros(0, np.uint32))
        else:
            wide_rows = np.repeat(~b.narrow, b.index_counts)
            batch = replace(
                b,
                indices16=local_tris[~wide_rows].astype(np.uint16),
                indices32=local_tris[wide_rows].astype(np.uint32),
            )
        return batch, roots

    def stored_trees(
        self, sections: npt.NDArray[np.int64], runs: list[tuple[int, int]], tstart: npt.NDArray[np.int64]
    ) -> dict[int, tuple[npt.NDArray[np.int32], npt.NDArray[np.uint32], list[int]]]:
        """The trees the store holds for the cells of ``runs`` (primitive ranges), by cell, when
        they fit the cell (as many roots as primitives, as many triangles)."""
        keys = self.keys
        if keys is None or self.store is None:
            return {}
        section_list, first_tri = sections.tolist(), tstart.tolist()
        wanted = {section_list[a]: (a, e) for a, e in runs}
        entries = self.store.get_many([keys[c] for c in wanted])
        out = {}
        for c, (a, e) in wanted.items():
            data = entries.get(keys[c])
            trees = unpack_trees(data) if data is not None else None
            if trees is not None and len(trees[2]) == e - a and trees[0].shape[0] == first_tri[e] - first_tri[a]:
                out[c] = trees
        # Every order must be a permutation of its cell's triangles: checked for all cells at once.
        if out:
            cells = list(out)
            lengths = np.array([out[c][0].shape[0] for c in cells], np.int64)
            starts = run_bounds(lengths)[:-1]
            local = np.concatenate([out[c][0] for c in cells]).astype(np.int64)
            owner = np.repeat(np.arange(len(cells)), lengths)
            inside = (local >= 0) & (local < lengths[owner])
            seen = np.zeros(local.shape[0], bool)
            seen[(local + starts[owner])[inside]] = True
            good = np.logical_and.reduceat(seen, starts) & (np.bincount(owner[~inside], minlength=len(cells)) == 0)
            if not good.all():
                out = {c: out[c] for c, g in zip(cells, good.tolist(), strict=True) if g}
                local = local[good[owner]]
            self.found_order = local
        return out
