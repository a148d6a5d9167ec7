"""Incremental PVS: reuse the sets of an earlier flow for the cells no edit can have changed.

A :class:`FlowRecord` keeps what a later build needs of a flow: the cell ids in order, every
portal (cells, one-way flag, and the quad and plane the portal graph holds for it), the sets
(cell indices) and the flow's work counters. :func:`flow_sets` compares the scene's portals with
the record's and walks only from the cells whose set may differ (:func:`~.pvs.portal_flow` with ``sources=``).

The rule (conservative, hence byte-identical output). Let *changed portals* be the portals of
the old or the new scene that the other does not hold with the same cells, one-way flag, quad
and plane as the graph holds them (a multiset difference), and *touched* the cells at either end
of one of them. A cell A present in both scenes keeps its old set S(A) when neither A nor any
cell of S(A) is touched.

Proof. The flow from A reads only the portal graph — cell geometry, materials and assets do
not enter it but through the rows' planes (:func:`~.portal_graph.build_portal_graph` reads cell
ids, portals, and the outlines of the rooms a portal lies in, to put it in its wall's plane),
which the comparison reads bit for bit. Its
walks start at the directed portals leaving A; a walk in cell C only examines the directed
portals leaving C (their quads, planes and far cells), and it enters C only through a step that
left a non-empty clipped target, which is what puts C in S(A). So by induction on depth every
directed portal the old walk examined leaves a cell of S(A) ∪ {A}. No such cell is touched, so
the directed portals leaving each of them are the same in the new scene (same quads and planes,
same far cells by id): the new walk examines the same candidates with the same geometry, takes the same
steps, and finds the same cells — by id; the indices are remapped when cells were added,
removed or reordered. The walks of one source read nothing of another source's (merges fold
walks of one source only), so walking from a subset gives the same sets as the whole flow,
provided neither flow reaches a whole-flow limit of :class:`~.pvs.FlowBudget`: the record and the
partial flow must have no fallback source, no source of the record may have taken more steps
than ``source_steps`` allows, the total candidate steps (bounded by the old total
plus the partial flow's) must stay within ``whole_flow``, and the walks held at one depth
(bounded by the old peak plus every walk of the partial flow, when the old flow ran as one batch)
within ``frontier``. Otherwise the whole flow runs. The stats recorded after a partial flow are
those bounds, so they only grow until a whole flow resets them.

Cost: O(cells + portals) Python for the comparison (one tuple per portal; a list and a bytes
comparison when the portals are the record's, as after edits of rooms or assets), one numpy pass
over the old sets (one sort of all kept sets when cells were reordered, none otherwise), and the
flow of the recomputed cells only.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..model.ir import SceneIR
from .portal_graph import PortalGraph
from .pvs import SOURCES, FlowBudget, FlowStats, portal_flow

__all__ = ["FlowRecord", "flow_sets"]

I64 = npt.NDArray[np.int64]
#: Bumped when a record's layout changes; older records are ignored.
RECORD_FORMAT = 2
_MAGIC = b"SFFR"

PortalKey = tuple[str, str, bool, bytes]
#: Bytes of a portal's geometry in a record and a key: its quad (12 float64) and plane (4).
_KEY_BYTES = 128


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """A flow's sets and what they were computed from. ``portals``: (from, to, one_way) per portal,
    ``quads`` (P, 16) float64 in the same order: the quad and the plane the portal graph holds for it
    (:func:`_scene_portals`); ``sets``: sorted cell indices per cell; ``rows``:
    the directed portals of its graph."""

    cells: list[str]
    portals: list[tuple[str, str, bool]]
    quads: npt.NDArray[np.float64]
    sets: list[I64]
    stats: FlowStats
    rows: int

    def same_graph(self, other: FlowRecord) -> bool:
        """Whether ``other`` was made from the same cells (in order) and portals as this record."""
        return (
            self.cells == other.cells
            and self.portals == other.portals
            and np.array_equal(self.quads, other.quads)
            and self.rows == other.rows
        )

    def pack(self) -> bytes:
        sizes = np.array([s.shape[0] for s in self.sets], np.int64)
        values = np.concatenate(self.sets).astype("<i4") if self.sets else np.zeros(0, "<i4")
        head = json.dumps(
            {
                "format": RECORD_FORMAT,
                "cells": self.cells,
                "portals": self.portals,
                "stats": [getattr(self.stats, f) for f in FlowStats.__slots__],
                "rows": self.rows,
            }
        ).encode()
        quads = np.ascontiguousarray(self.quads, "<f8").tobytes()
        return b"".join([_MAGIC, struct.pack("<I", len(head)), head, quads, sizes.astype("<i4").tobytes(),
                         values.tobytes()])  # fmt: skip

    @staticmethod
    def unpack(data: bytes) -> FlowRecord | None:
        """The record in ``data``, or None when it is not one this version reads."""
        if len(data) < 8 or data[:4] != _MAGIC:
            return None
        (n,) = struct.unpack_from("<I", data, 4)
        try:
            head = json.loads(data[8 : 8 + n])
            cells = [str(c) for c in head["cells"]]
            portals = [(str(a), str(b), bool(w)) for a, b, w in head["portals"]]
            stats = FlowStats(*(int(v) for v in head["stats"]))
            rows = int(head["rows"])
            if head["format"] != RECORD_FORMAT:
                return None
        except (ValueError, KeyError, TypeError):
            return None
        offset = 8 + n
        end_quads = offset + _KEY_BYTES * len(portals)
        end_sizes = end_quads + 4 * len(cells)
        if end_sizes > len(data):
            return None
        quads = np.frombuffer(data[offset:end_quads], "<f8").reshape(-1, _KEY_BYTES // 8)
        sizes = np.frombuffer(data[end_quads:end_sizes], "<i4").astype(np.int64)
        if (sizes < 0).any() or end_sizes + 4 * int(sizes.sum()) != len(data):
            return None
        values = np.frombuffer(data[end_sizes:], "<i4").astype(np.int64)
        if values.size and (values.min() < 0 or values.max() >= len(cells)):
            return None
        bounds = np.zeros(len(cells) + 1, np.int64)
        np.cumsum(sizes, out=bounds[1:])
        edges = bounds.tolist()
        sets = [values[edges[i] : edges[i + 1]] for i in range(len(cells))]
        return FlowRecord(cells, portals, quads, sets, stats, rows)


def _portal_keys(portals: list[tuple[str, str, bool]], quads: npt.NDArray[np.float64]) -> list[PortalKey]:
    raw = np.ascontiguousarray(quads, "<f8").tobytes()
    return [(a, b, w, raw[_KEY_BYTES * k : _KEY_BYTES * (k + 1)]) for k, (a, b, w) in enumerate(portals)]


def _scene_portals(ir: SceneIR, graph: PortalGraph) -> tuple[list[tuple[str, str, bool]], npt.NDArray[np.float64]]:
    """(from, to, one_way) of every portal naming known cells, and (P, 16): the quad (flattened) and
    the plane the graph holds for it, its forward row (the graph's first P rows, in this order). The
    plane is the quad's own or that of the wall it lies along (a room's outline enters it): comparing
    what the flow reads, not the quad as written, keeps the rule of the module docstring exact."""
    index = ir.cell_index()
    known = [p for p in ir.portals if p.from_cell in index and p.to_cell in index]
    count = len(known)
    geometry = np.concatenate([graph.poly[:count].reshape(count, 12), graph.plane[:count]], axis=1)
    return [(p.from_cell, p.to_cell, bool(p.one_way)) for p in known], geometry


def flow_sets(
    ir: SceneIR,
    graph: PortalGraph,
    previous: FlowRecord | None,
    budget: FlowBudget | None = None,
    max_pairs: int | None = None,
) -> tuple[list[I64], FlowRecord, int]:
    """The PVS of every cell of ``ir`` (``graph`` its portal graph), reusing ``previous`` where the
    module's rule allows. Returns the sets, the record for the next build, and how many cells
    were walked from (all of them when nothing could be reused)."""
    budget = budget or FlowBudget()
    cells = [c.cell_id for c in ir.cells]
    portals, quads = _scene_portals(ir, graph)
    n = len(cells)
    reused = _reusable(cells, portals, quads, previous)
    if reused is not None and previous is not None:
        keep, remapped = reused
        redo = np.flatnonzero(~keep)
        part, stats = portal_flow(graph, budget, sources=redo, max_pairs=max_pairs)
        old = previous.stats
        steps, walks = old.steps + stats.steps, old.walks + stats.walks
        peak = old.peak_frontier + stats.walks if previous.rows <= SOURCES else old.walks + stats.walks
        if (
            old.fallback_sources == 0
            and stats.fallback_sources == 0
            and old.max_source_steps <= budget.source_steps  # the record may come from another budget
            and steps <= budget.whole_flow(graph.size)
            and peak <= budget.frontier
        ):
            sets: list[I64] = [np.zeros(0, np.int64)] * n
            for c, s in zip(np.flatnonzero(keep).tolist(), remapped, strict=True):
                sets[c] = s
            for c, s in zip(redo.tolist(), part, strict=True):
                sets[c] = s
            bound = FlowStats(
                steps, max(old.max_source_steps, stats.max_source_steps), walks, old.merged + stats.merged,
                max(old.depth, stats.depth), peak, 0, 0,
            )  # fmt: skip
            return sets, FlowRecord(cells, portals, quads, sets, bound, graph.size), int(redo.size)
    sets, stats = portal_flow(graph, budget, max_pairs=max_pairs)
    return sets, FlowRecord(cells, portals, quads, sets, stats, graph.size), n


def _in_order(sets: list[I64], n: int) -> list[I64]:
    """``sets`` with each set sorted (a record's are; one check of all of them at once)."""
    if not sets:
        return []
    sizes = np.array([x.shape[0] for x in sets], np.int64)
    flat = np.concatenate(sets)
    if flat.size > 1:
        keyed = flat + np.repeat(np.arange(len(sets), dtype=np.int64) * n, sizes)
        if not (keyed[1:] >= keyed[:-1]).all():
            return [np.sort(x) for x in sets]
    return list(sets)


def _reusable(
    cells: list[str], portals: list[tuple[str, str, bool]], quads: npt.NDArray[np.float64], previous: FlowRecord | None
) -> tuple[npt.NDArray[np.bool_], list[I64]] | None:
    """Which cells keep their old set (the module's rule), and those sets in new indices, in cell order;
    None when nothing can be reused."""
    if previous is None or len(set(cells)) != len(cells):
        return None
    old_index = {c: i for i, c in enumerate(previous.cells)}
    if len(old_index) != len(previous.cells):
        return None
    new_quads, old_quads = np.ascontiguousarray(quads, "<f8"), np.ascontiguousarray(previous.quads, "<f8")
    if portals == previous.portals and new_quads.tobytes() == old_quads.tobytes():
        if cells == previous.cells:  # the same cells and portals: every set is kept as it is, in order
            return np.ones(len(cells), bool), _in_order(previous.sets, len(cells))
        touched: set[str] = set()  # the same portals in the same order (quads compared bit for bit)
    else:
        new_keys = Counter(_portal_keys(portals, new_quads))
        old_keys = Counter(_portal_keys(previous.portals, old_quads))
        changed = (new_keys - old_keys) + (old_keys - new_keys)
        touched = {c for key in changed for c in key[:2]}
    old_n = len(previous.cells)
    hit = np.zeros(old_n + 1, bool)  # slot old_n: an empty set
    hit[[old_index[c] for c in touched if c in old_index]] = True
    sizes = np.array([s.shape[0] for s in previous.sets], np.int64)
    values = np.concatenate(previous.sets) if previous.sets else np.zeros(0, np.int64)
    starts = np.cumsum(sizes) - sizes
    padded = np.concatenate([hit[values], [False]])
    any_hit = np.logical_or.reduceat(padded, np.minimum(starts, values.size)) & (sizes > 0)
    any_hit |= hit[:old_n]
    to_new = np.full(old_n, -1, np.int64)
    index = {c: i for i, c in enumerate(cells)}
    for c, i in old_index.items():
        to_new[i] = index.get(c, -1)
    old_of = np.array([old_index.get(c, -1) for c in cells], np.int64)
    keep = old_of >= 0
    keep[keep] = ~any_hit[old_of[keep]]
    olds = old_of[keep]
    if not olds.size:
        return keep, []
    # Remap the kept sets to new indices, each sorted: one sort of (set, index) keys over all of them,
    # none when the remapping kept every set in order (cells only edited, not reordered).
    lengths = sizes[olds]
    members = np.concatenate([previous.sets[o] for o in olds.tolist()])
    mapped = to_new[members]
    if (mapped < 0).any():  # a cell gone from the scene in a kept set: cannot happen (its portals left)
        return None
    base = np.repeat(np.arange(olds.size, dtype=np.int64) * len(cells), lengths)
    mapped += base
    if mapped.size > 1 and not (mapped[1:] >= mapped[:-1]).all():
        mapped.sort()
    mapped -= base
    bounds = np.zeros(olds.size + 1, np.int64)
    np.cumsum(lengths, out=bounds[1:])
    edges = bounds.tolist()
    return keep, [mapped[edges[k] : edges[k + 1]] for k in range(olds.size)]
