"""Conservative potentially-visible sets by portal flow with separating planes: the entry.

What: for every cell A, the cells B such that some straight line from a point of A reaches a
point of B passing through portals only (walls are everything that is not a portal).
:func:`potentially_visible` gives the sets; :func:`portal_flow` the sets and what they cost
(:class:`FlowStats`), for every cell or for some source cells alone (the incremental build's).

How (Teller & Séquin 1991, "Visibility preprocessing for interactive walkthroughs", SIGGRAPH;
the separating-plane / anti-penumbra clipping of id Software's Quake ``vis`` tool, 1996): from every
directed portal leaving a cell the flow walks portal sequences through the portal graph, clipping each
next portal by the planes the walk crossed and the separating planes of its source and the portal just
crossed; the cell behind a portal left non-empty is visible. Where it rounds, skips a plane or gives up
(a clip's slack, a degenerate plane, the budget's fallback) a set can only grow, so the PVS is
conservative. The modules, each importing only from those above it in this list:

* :mod:`.clipping` — Sutherland–Hodgman clipping of batches of convex polygons (coordinate-major);
* :mod:`.separators` — the separating planes of two polygons;
* :mod:`.flow_graph` — the portal graph laid out for the flow: every portal's exits, the planes-crossed test;
* :mod:`.frontier` — the walks of one depth and the merging of walks with the same source and pass;
* :mod:`.budget` — the work budget, the flow's counters and the conservative fallback;
* :mod:`.walk` — the walks, depth by depth, and the steps from portal to portal;
* this module — sources in batches of ``SOURCES`` (so the walks held at once follow the batch), the
  visible (cell, cell) pairs gathered and the sets cut from them.

Throughout: rows are gathered with ``ndarray.take`` (an ``a[:, idx]`` index took ~10× as long;
``np.take`` and ``np.flatnonzero`` add ~0.8 µs of Python wrapper a call) and distinct keys found by a
sort (numpy 2's ``np.unique`` took 80× as long on 325,000 keys), or by a dense table of flags while it
fits ``_DENSE_KEYS``. A dot product of stacked coordinates is their product summed over the coordinate
axis: x·a + y·b + z·c in that order, the same bits as three elementwise adds.

A 1,000-cell maze takes 13,712 candidate steps (5,948 walks over 10 depths); mean PVS 9.4
cells. The 1,032-cell office level: 140,405 steps, 49,470 walks, 39 depths (its corridors), at
most 301 steps for one source; mean PVS 50.2. CPU, in process: ~80 ms on office-1000 and ~8.5 ms on
the maze (0.5× and 0.55× of the flow before the gathers and the clips in rounds; 5,756-cell office 0.47×,
32×32 grid of rooms 0.5×, same sets), ~1.1 µs a walk in large batches and ~0.45 ms a step of fixed
numpy overhead (~300 numpy calls; the office's 39 depths, 30 of them under 500 walks: its corridors).
Memory is O(batch · V²) for the separating-plane candidates and ~4 KB per walk held; a batch holds at
most ``_CHUNK`` walks (:mod:`.walk`) and ``PAIRS`` candidate steps (walks of hundreds of exits each go in
smaller batches). Tightness against dense sampled sight lines (``tests/visibility``, ``bench/pvs.py``):
mean PVS 1.01–1.03× the sampled-visible mean on mazes, apartments and office levels, no sampled line
missed. Clipped polygons reached at most 6 vertices on 2,000-cell levels.

Rejected: line-space (Plücker) stabbing with a linear program per portal sequence (Teller's exact 5D
method): exact, but one LP per walk step needs a solver the compiler does not carry, and the separating
planes already come within the 1.5× tightness target; overlapping source batches (4 % on office-5000,
padding the paths costs as much).

Layout and profile history, and the approaches rejected with their numbers: docs/benchmarks.md (PVS).
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from ..arrays import distinct
from .budget import FlowBudget, FlowStats, fallback_keys, fallback_reaches, pvs_too_large
from .flow_graph import Graph, run_bounds
from .portal_graph import PortalGraph, Reach, reachable
from .walk import flow_batch

__all__ = ["SOURCES", "FlowBudget", "FlowStats", "portal_flow", "potentially_visible", "pvs_too_large"]

I64 = npt.NDArray[np.int64]


#: Directed source portals whose walks run together (one batch of the depth-by-depth flow).
SOURCES = 4096
#: Visible-pair tables up to this many (cells²) flags (bytes) may be dense; past it, sorted (:func:`.arrays.distinct`).
_DENSE_KEYS = 1 << 24


def potentially_visible(graph: PortalGraph, budget: FlowBudget | None = None, sources: I64 | None = None) -> list[I64]:
    """The conservative PVS of every cell: sorted cell indices, the cell itself included.

    Cost: see the module docstring; bounded by ``budget`` (:class:`FlowBudget` defaults). Safe on
    any input the portal graph accepts; a degenerate portal (zero area: no plane) joins its two cells
    and passes no line further (lines through it are of measure zero). ``sources``: see :func:`portal_flow`.
    """
    return portal_flow(graph, budget, sources)[0]


def portal_flow(
    graph: PortalGraph, budget: FlowBudget | None = None, sources: I64 | None = None, max_pairs: int | None = None
) -> tuple[list[I64], FlowStats]:
    """:func:`potentially_visible` and what it cost (:class:`FlowStats`).

    ``sources`` (distinct cell indices): walk only from the portals leaving those cells and return
    their sets alone, in that order (the incremental build's recomputed cells). A source's walks
    read nothing of the other sources', so its set is the one a flow over every cell gives, as long
    as the whole-flow limits (:meth:`FlowBudget.whole_flow`, ``frontier``) are not reached by either.
    ``max_pairs``: the most (cell, visible cell) pairs the sets may hold together
    (``SCENEFORGE_MAX_PVS_ENTRIES``): :func:`pvs_too_large` is raised as soon as the pairs found
    pass it, before they fill memory (cells that all see each other make n² of them).
    """
    budget = budget or FlowBudget()
    budget = replace(budget, total_steps=budget.whole_flow(graph.size), portal_steps=0)
    n = graph.cell_count
    chosen = np.arange(n, dtype=np.int64) if sources is None else np.asarray(sources, np.int64)
    keys = [chosen * (n + 1)]
    stats = FlowStats()
    selected = np.arange(graph.size) if sources is None else np.isin(graph.src, chosen).nonzero()[0]
    here = graph.dst
    if selected.size and int((graph.out_start[here + 1] - graph.out_start[here]).sum()) > budget.graph_pairs:
        # Too many (portal, next portal) pairs to hold: every chosen cell sees what it can reach.
        reach = reachable(graph)
        listed = reach.listed(chosen)
        if max_pairs is not None and listed > max_pairs:
            raise pvs_too_large(listed, max_pairs)
        keys.append(reach.keys(chosen, n))
        stats = FlowStats(fallback_sources=int(selected.size))
    elif selected.size:
        gg = Graph(graph)
        spent = np.zeros(graph.size, np.int64)
        fallback = np.zeros(graph.size, bool)
        walks = merged = depth = peak = 0
        held = int(keys[0].size)
        reached: Reach | None = None  # reachable(graph), made once a flow where the fallback needs it
        # Sources in batches: the walks held at once stay proportional to the batch, not the level (and
        # their first steps under PAIRS).
        runs = run_bounds(gg.exit_start[selected + 1] - gg.exit_start[selected], SOURCES)
        for lo, hi in pairwise(runs):
            batch = selected[lo:hi]
            if spent.sum() > budget.total_steps:
                fallback[batch] = True
                continue
            found, counts = flow_batch(gg, batch, spent, fallback, budget)
            keys.append(_distinct(np.concatenate(found), n * n))
            held += keys[-1].size
            if max_pairs is not None and held > max_pairs:  # batches repeat pairs: count the distinct ones
                keys = [_distinct(np.concatenate(keys), n * n)]
                held = keys[0].size
                if held > max_pairs:
                    raise pvs_too_large(held, max_pairs, at_least=hi < selected.size)
            if max_pairs is not None and hi < selected.size:
                reached, listed = _fallback_floor(graph, gg, fallback, reached)
                if listed > max_pairs:
                    raise pvs_too_large(listed, max_pairs, at_least=True)
            walks, merged = walks + counts[0], merged + counts[1]
            depth, peak = max(depth, counts[2]), max(peak, counts[3])
        cut = fallback.nonzero()[0]
        fb_steps = 0
        if cut.size:
            fb_keys, fb_steps = fallback_keys(gg, cut, max_pairs, reached)
            keys.append(fb_keys)
        stats = FlowStats(int(spent.sum()), int(spent.max()), walks, merged, depth, peak, int(cut.size), fb_steps)
    pairs = _distinct(np.concatenate(keys), n * n)
    src, dst = np.divmod(pairs, n)
    bounds = np.searchsorted(src, np.arange(n + 1))
    return [dst[bounds[i] : bounds[i + 1]] for i in chosen.tolist()], stats


def _fallback_floor(
    graph: PortalGraph, gg: Graph, fallback: npt.NDArray[np.bool_], reach: Reach | None
) -> tuple[Reach | None, int]:
    """How many cells the fallback will list for the sources cut so far, once it is sure to list every
    cell they reach (:func:`~.budget.fallback_reaches`; cut sources are never restored, so the final
    fallback lists these and more), else 0; with ``reach``, the graph's :func:`~.portal_graph.reachable`
    (made here when first needed, then passed back in and on to the fallback; its sizes summed by numpy,
    where a Python loop over the cut cells ran once a batch). A flow whose budget cut
    most sources of an open hall refuses here, after its first batch, not after walking the rest
    (a 70 × 70 hall of open walls: 24 million pairs, found past its whole-flow budget)."""
    cut = fallback.nonzero()[0]
    if not cut.size or not fallback_reaches(gg, cut.size):
        return reach, 0
    reach = reachable(graph) if reach is None else reach
    return reach, reach.listed(distinct(graph.src[cut]))


def _distinct(keys: I64, size: int) -> I64:
    """The distinct values of ``keys`` (all in ``[0, size)``), sorted: through a dense table of flags
    while ``size`` fits ``_DENSE_KEYS`` and the keys fill more than 1/64 of it (one pass, no sort),
    else by a sort (:func:`~sceneforge.arrays.distinct`)."""
    if size > _DENSE_KEYS or size > 64 * keys.shape[0]:
        return distinct(keys)
    seen = np.zeros(size, bool)
    seen[keys] = True
    return seen.nonzero()[0]
