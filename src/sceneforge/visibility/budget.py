"""The portal flow's work budget (:class:`FlowBudget`), its counters (:class:`FlowStats`) and the conservative fallback.

Budget. The work counter is the number of candidate steps (walk, next
portal). A directed source portal past ``source_steps``, all sources once the flow is past
:meth:`FlowBudget.whole_flow` (linear in the portals), and the sources holding the most walks while
one depth holds more than ``frontier`` walks (:func:`within_budget`), and the sources of walks deeper than the
level's portal count (no line passes more portals than there are: such walks are merged ones crossing again
portals their merge forgot; :func:`~.walk.flow_batch`) stop walking; their cells come from the fallback instead
(:func:`fallback_keys`):

* the plane-monotone reach of the source portal S: the cells reached through portals U each
  ahead of S's plane and of the plane of the portal before U (every line through S crosses such
  a chain), a breadth-first search over (source, portal) pairs, each visited once — O(sources ·
  portals) with a dense visited table while that fits ``_FALLBACK_PAIRS``;
* past that, the cells reachable from S's cell through the portal graph.

Both are supersets of what the walk would have found, so the PVS stays conservative, only
coarser. A graph whose (portal, next portal) pairs pass ``graph_pairs`` is not built at all: every
source takes the reachable cells at once (:func:`~.pvs.portal_flow`). :func:`pvs_too_large` is the
refusal of sets that list more cells than ``SCENEFORGE_MAX_PVS_ENTRIES`` allows, raised by the fallback
and the flow as soon as the pairs pass it.

Cost: the plane-monotone search is O(sources · portals · out-degree) work, its (pair, exit) tests
``PAIRS`` at a time; the budget's checks are O(portals) a depth. Rejected (docs/benchmarks.md,
docs/visibility.md): a fixed bound on the whole flow's steps (a 12,000-cell office and a 64 × 64 grid of
rooms with a doorway in every wall passed a million and fell back for most sources, their sets then past
the PVS entries limit; the bound grows with the portals now); a depth cap with a fallback (the 32 × 32
grid's walks stay wide past depth 40: its sets would grow far).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from ..arrays import distinct
from ..errors import LimitExceeded
from .flow_graph import Graph, ahead_of_planes, ranges, run_bounds
from .frontier import Frontier
from .portal_graph import Reach, reachable

__all__ = ["FlowBudget", "FlowStats", "fallback_keys", "fallback_reaches", "pvs_too_large", "within_budget"]

I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


#: Most (source, portal) pairs the plane-monotone fallback may visit (its dense visited table, in
#: bytes); past it the fallback is the portal graph's reachable set.
_FALLBACK_PAIRS = 4_000_000


@dataclass(frozen=True, slots=True)
class FlowBudget:
    """Work limits of the portal flow; past them a source portal's walks stop and its cells come
    from the conservative fallback instead (see the module docstring).

    ``source_steps``: candidate steps (walk, next portal) one directed source portal may take;
    ``total_steps`` and ``portal_steps``: candidate steps of the whole flow, the larger of
    ``total_steps`` and ``portal_steps`` per directed portal (:meth:`whole_flow`: the work grows with
    the level — a 1,000-cell maze takes 6 a portal, a 1,032-cell office 48, a 32 × 32 grid of rooms
    with a doorway in every wall 164, a 64 × 64 one 340 — so that a 12,000-cell office or that 64 × 64
    grid no longer passes a fixed bound and falls back for most of its sources, their sets then past the
    PVS entries limit); ``frontier``: walks held at one depth (the
    memory bound: ~4 KB each with the temporaries of a step); ``graph_pairs``: (portal, next portal)
    pairs the exact flow's graph would test, past which every source takes the fallback at once (two
    rooms joined by 3,000 doorways: 18 million pairs, 3.6 GB and 8 s to build the graph; the office
    of 5,756 cells has 70,000).
    """

    source_steps: int = 20_000
    total_steps: int = 1_000_000
    portal_steps: int = 500
    frontier: int = 50_000
    graph_pairs: int = 4_000_000

    def whole_flow(self, portals: int) -> int:
        """Candidate steps the whole flow over a graph of ``portals`` directed portals may take."""
        return max(self.total_steps, self.portal_steps * portals)


@dataclass(frozen=True, slots=True)
class FlowStats:
    """What one flow did. ``steps``: candidate steps evaluated (the work the budget counts);
    ``walks``: walk states created; ``merged``: walks folded into another with the same source and
    pass portal; ``depth``: portals on the longest walk; ``peak_frontier``: most walks held at one
    depth; ``fallback_sources``: directed source portals cut short by the budget;
    ``fallback_steps``: (source, portal) pairs the fallback visited."""

    steps: int = 0
    max_source_steps: int = 0
    walks: int = 0
    merged: int = 0
    depth: int = 0
    peak_frontier: int = 0
    fallback_sources: int = 0
    fallback_steps: int = 0


def pvs_too_large(listed: int, maximum: int, *, pvs: bool = True, at_least: bool = False) -> LimitExceeded:
    """The refusal of sets listing more cells together than ``SCENEFORGE_MAX_PVS_ENTRIES`` allows;
    ``at_least``: ``listed`` is what the flow has found so far, before it ended."""
    what = "the cells listed in every cell's PVS together" if pvs else "the cells every cell reaches, together"
    return LimitExceeded("SCENEFORGE_MAX_PVS_ENTRIES", listed, maximum, path="/cells", what=what, at_least=at_least)


def within_budget(f: Frontier, spent: I64, fallback: B8, budget: FlowBudget) -> Frontier:
    """Mark for fallback the sources past their budget (all of them past the total, the largest
    ones while the frontier is too large) and drop their walks."""
    fallback |= spent > budget.source_steps
    if spent.sum() > budget.total_steps:
        fallback[f.srow] = True
    held = np.bincount(f.srow, minlength=spent.shape[0])
    held[fallback] = 0
    if held.sum() > budget.frontier:
        order = np.argsort(-held, kind="stable")
        over = held.sum() - np.cumsum(held[order]) + held[order] > budget.frontier
        fallback[order[over]] = True
    keep = (~fallback[f.srow]).nonzero()[0]
    return f if keep.size == len(f) else f.take(keep)


def fallback_reaches(gg: Graph, sources: int) -> bool:
    """Whether the fallback of ``sources`` directed source portals takes the reachable cells (too many
    (source, portal) pairs for the plane-monotone search). Once true it stays true as sources are cut."""
    # Its work is at most sources × (row, exit) pairs: bounded like its visited table.
    return sources * max(gg.g.size, gg.exit_rows.size) > _FALLBACK_PAIRS


def fallback_keys(gg: Graph, sources: I64, max_pairs: int | None = None, reach: Reach | None = None) -> tuple[I64, int]:
    """Visible pair keys for the directed source portals cut short by the budget: their
    plane-monotone reach when (sources × portals) and (sources × exits) pairs fit ``_FALLBACK_PAIRS``, else every cell
    reachable from their cells through the portal graph (``reach``: its :func:`~.portal_graph.reachable` where
    the caller has it already). Both are conservative."""
    g = gg.g
    if not fallback_reaches(gg, sources.size):
        return _plane_monotone_reach(gg, sources)
    reach = reachable(g) if reach is None else reach
    cells = distinct(g.src[sources])
    listed = reach.listed(cells)
    if max_pairs is not None and listed > max_pairs:
        raise pvs_too_large(listed, max_pairs)
    return reach.keys(cells, g.cell_count), 0


def _plane_monotone_reach(gg: Graph, sources: I64) -> tuple[I64, int]:
    """The cells reached from each source portal through portals U that lie (partly) ahead of the
    source's plane and of the plane of the portal before U. A straight line crosses each plane once,
    so every line leaving through the source crosses such a chain; the chain is searched
    breadth-first over (source, portal) pairs, each visited once (a dense visited table):
    O(sources · portals · out-degree) work. Returns visible pair keys and the pairs visited."""
    g = gg.g
    d, n = g.size, g.cell_count
    visited = np.zeros((sources.size, d), bool)
    si, r = np.arange(sources.size), sources.copy()
    visited[si, r] = True
    keys = [g.src[sources] * n + g.dst[sources]]
    total = 0
    while si.size:
        need = gg.exit_start[r + 1] - gg.exit_start[r]
        bounds = run_bounds(need, si.size)  # (pair, exit) tests PAIRS at a time
        found = []
        for lo, hi in pairwise(bounds):
            owner, at = ranges(gg.exit_start[r[lo:hi]], need[lo:hi])
            u, so = gg.exit_rows[at], si[lo:hi][owner]
            ok = ~visited[so, u]
            u, so = u[ok], so[ok]
            ok = ahead_of_planes(gg, u, sources[so, None])
            found.append(so[ok] * d + u[ok])
        new = distinct(np.concatenate(found))
        si, r = np.divmod(new, d)
        visited[si, r] = True
        total += int(new.size)
        keys.append(g.src[sources[si]] * n + g.dst[r])
    return np.concatenate(keys), total
