"""Conservative potentially-visible sets by portal flow with separating planes.

What: for every cell A, the cells B such that some straight line from a point of A reaches a
point of B passing through portals only (walls are everything that is not a portal).

How (Teller & Séquin 1991, "Visibility preprocessing for interactive walkthroughs", SIGGRAPH;
the separating-plane / anti-penumbra clipping of id Software's Quake ``vis`` tool, 1996): a
line leaving A crosses some portal S of A first. From every *directed* portal S (see
:mod:`.portal_graph`) the flow walks portal sequences S → P → T … through the graph. A state
holds the source polygon (S, shrunk as the walk narrows), the pass polygon (the portal just
crossed, clipped) and the portals already used. Stepping to a portal T leaving the current cell:

1. T is clipped to the front of the planes of S and of the pass (a line crosses a plane once);
2. T is clipped by the separating planes of (source, pass): a plane through an edge of the pass
   and a vertex of the source with the source on one side and the pass on the other. Every line
   through both polygons ends on the pass side, so this is conservative (the region kept is a
   superset of the exact anti-penumbra, whose boundary is ruled quadric patches). The mirror set
   (an edge of the source, a vertex of the pass; Quake clips by both) is used only for the walks
   whose pass lies in a slab (a portal that is not vertical: a stair opening; ``_clip_mirror``).
   On flat levels it never removed a cell and cost a quarter of the flow; through a slab opening it
   cuts off lines that climb through it and leave by a doorway: the three-storey plan
   ``floor_plan(4230)`` of ``tests/test_awkward_levels.py`` 202 → 198 pairs where sight lines join
   132 (1.53× → 1.50×), 46 random plans 1.089× → 1.083× mean, 1.42× → 1.40× worst (14 changed,
   none grew, no sampled line missed). A level without slab openings (mazes, grids, apartments,
   office-small) does the same work; office-1000's 3 stair openings cost ~2 ms of its flow and
   change no set. (Using the set also for walks whose source lies in a slab removed 16 pairs more
   of 8,455 on those plans, on every walk 42);
3. if T is not empty, T's cell is visible from A; the source is clipped back by T's plane and
   the walk goes on with T as the pass. (Clipping it also by the separating planes of (T, pass)
   tightened office PVS by 0.4 % for a third of the flow's time: not done; a clip left out can
   only grow the PVS.)

Planes crossed. A straight line crosses a plane once, so T must have a vertex strictly ahead
(by ``_AHEAD_TOL``: the planarity tolerance, 1 mm) of the plane of every portal the walk has
crossed (or by ``SIDE_TOL``, 0.1 µm, for a portal lying behind that plane by more than ``_AHEAD_TOL``
somewhere: a doorway of a room wrapping round the crossed one may end just past its plane, and lines
through that sliver are free): a portal coplanar with one already crossed (the other doorways of the same wall, each
as flat and as aligned as validation asks: exported quads carry float32 noise of µm, which a
0.1 µm test took for "ahead", walking back and forth through the wall to the budget), or behind
it, is never next. This also means a portal is never reused. The test against the source and the pass is made on every
candidate; against the earlier portals of the path on the targets left after clipping. (Before
it, two rooms joined by n doorways in one wall walked every back-and-forth sequence of them:
2 s at 8 doorways, minutes and gigabytes at 10; now 2·n² candidate steps and no walk.)

Merging. Walks of one depth with the same source and pass portal are folded into one: its
source and pass polygons the octagons (``DIRECTIONS`` in-plane directions) around the union of
theirs, clipped to the portals, and its path the portals on all their paths. Every line one of
them admitted is still admitted (conservative), and the walks per source and depth never
exceed the number of portals: on a grid whose neighbours all open into each other the monotone
staircases of portals are exponentially many, but end at few portals.

Budget (:class:`FlowBudget`). The work counter is the number of candidate steps (walk, next
portal). A directed source portal past ``source_steps``, all sources once the flow is past
:meth:`FlowBudget.whole_flow` (linear in the portals), and the sources holding the most walks while
one depth holds more than ``frontier`` walks stop walking; their cells come from the fallback instead:

* the plane-monotone reach of the source portal S: the cells reached through portals U each
  ahead of S's plane and of the plane of the portal before U (every line through S crosses such
  a chain), a breadth-first search over (source, portal) pairs, each visited once — O(sources ·
  portals) with a dense visited table while that fits ``_FALLBACK_PAIRS``;
* past that, the cells reachable from S's cell through the portal graph.

Both are supersets of what the walk would have found, so the PVS stays conservative, only
coarser. Sources run in batches of ``_SOURCES`` so the walks held at once follow the batch.
Every clip keeps points up to :data:`~sceneforge.tolerances.PVS_EPS` outside the plane, and a
separating plane is used only if it separates exactly (up to ``SIDE_TOL``), so rounding can
only grow the PVS. Degenerate candidate planes (a near-zero edge, a vertex on the edge's line, a
plane containing a polygon) are skipped, which can also only grow it.

Vectorized breadth-first: all walks of one depth, from every source at once, advance together
as numpy batches (chunks of ``_CHUNK`` candidate steps). Polygons are coordinate-major
(3, B, V) arrays — each coordinate a contiguous (B, V) plane, so cross and dot products are
plain elementwise arithmetic — with a vertex count per row and V the widest row of the batch
(not a fixed maximum). Clipping is Sutherland–Hodgman with a cumulative-sum compaction. The
separating planes of (source, pass), which do not depend on the target, are computed once per
walk and shared by all its candidate targets; per edge, the separating vertex is the one of
smallest angle about the edge's line (``separators``), found by one ratio per (edge, vertex)
and checked by the exact tests on that vertex alone (an exhaustive search over every vertex on
the few rows where Y touches X's plane or the check fails). The source's and the pass's planes
clip only the targets not wholly in front of them (168 of office-1000's 127,000 targets, none on the
maze: in a convex cell there are none; for the pass the test is made once per graph, for the source
while the exits are listed). Every
target is classified against its walk's separators at once ((P, B) distances a vertex slot at a time,
lowest and highest over V kept) and clipped only where a plane crosses it (``clip_all``:
~4 % of the (target, plane) pairs on office levels, 56–61 % of the targets wholly outside one), in
rounds (round k: each row's k-th crossing plane). A clip that would pass ``_MAX_VERTS`` vertices
leaves its row unclipped (conservative; not seen on mazes or apartments). In large batches the
walks whose source and pass are both quads get their separators apart from the others (no padded
slot). Rows are gathered with ``ndarray.take`` (an ``a[:, idx]`` index took ~10× as long; ``np.take``
and ``np.flatnonzero`` add ~0.8 µs of Python wrapper a call) and distinct keys found by a sort (numpy 2's
``np.unique`` took 80× as long on 325,000 keys). A dot product of stacked coordinates is their product
summed over the coordinate axis: x·a + y·b + z·c in that order, the same bits as three elementwise adds.

A 1,000-cell maze takes 13,712 candidate steps (5,948 walks over 10 depths); mean PVS 9.4
cells. The 1,032-cell office level: 140,405 steps, 49,470 walks, 39 depths (its corridors), at
most 301 steps for one source; mean PVS 50.2. CPU, in process: ~80 ms on office-1000 and ~8.5 ms on
the maze (0.5× and 0.55× of the flow before the gathers and clips above; 5,756-cell office 0.47×,
32×32 grid of rooms 0.5×, same sets), ~1.1 µs a walk in large batches and ~0.45 ms a step of fixed
numpy overhead (~300 numpy calls; the office's 39 depths, 30 of them under 500 walks: its corridors).
Memory is O(batch · V²) for the separating-plane candidates and ~4 KB per walk held; a batch holds at
most ``_CHUNK`` walks and ``PAIRS`` candidate steps (walks of hundreds of exits each go in smaller batches). Tightness
against dense sampled sight lines (``tests/visibility``, ``bench/pvs.py``): mean PVS 1.01–1.03× the
sampled-visible mean on mazes, apartments and office levels, no sampled line missed. Clipped polygons reached at most 6
vertices on 2,000-cell levels.

Layout and profile history, and the approaches rejected with their numbers: docs/benchmarks.md (PVS).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from ..arrays import distinct
from ..errors import LimitExceeded
from .clipping import clip, clip_all, clip_rows, gather_clipped, trim
from .flow_graph import KEEP_ALL, PAIRS, Graph, ahead_of_planes, ranges, run_bounds, walk_exits
from .frontier import Exits, Frontier, concat, empty_frontier, merge
from .portal_graph import PortalGraph, reachable_sets
from .separators import separators

__all__ = ["FlowBudget", "FlowStats", "portal_flow", "potentially_visible"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]

#: Walks advanced per numpy batch: bounds the (batch, V, V) separating-plane arrays. 16,384 rather than 4,096:
#: a 1,000-cell office's widest depths (~8,600 walks) go in one step, not three (−7 % on office-1000 and a
#: 32 × 32 grid of doorways; peak memory of their flows +10 MB, the open grids' unchanged).
_CHUNK = 16384


#: Walks with targets in one step from which quad walks' separators are computed apart (_walk_separators).
_SPLIT = 1024
#: Directed source portals whose walks run together (one batch of the depth-by-depth flow).
_SOURCES = 4096
#: Most (source, portal) pairs the plane-monotone fallback may visit (its dense visited table, in
#: bytes); past it the fallback is the portal graph's reachable set.
_FALLBACK_PAIRS = 4_000_000
#: Visible-pair tables up to this many (cells²) flags (bytes) may be dense; past it, sorted (:func:`.arrays.distinct`).
_DENSE_KEYS = 1 << 24


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


def _walk_separators(f: Frontier, walks: I64, gg: Graph) -> tuple[F64, I64]:
    """The separating planes of (source, pass) through the pass's edges, keeping the pass's side, of
    each walk in ``walks``: (4, P, W), the columns that gave no plane for any walk left out (an edge
    without a plane keeps everything), and the column of each walk. The other set, through the
    source's edges, is not used: on every level measured it never removed a cell the pass-edge set
    kept (docs/benchmarks.md), and leaving a plane out can only grow the PVS."""
    ns, np_ = f.ns[walks], f.np_[walks]
    # The walks whose source and pass are both quads (most of them) run apart from the others in large
    # batches: their arrays need no padded vertex slot (one slot more for a few pentagons costs every
    # row a quarter). In small batches the second call would cost more than the slot.
    quad = (ns == 4) & (np_ == 4)
    if quad.all() or not quad.any() or walks.shape[0] < _SPLIT:
        planes, found = _separators_of(f, walks, ns, np_, gg)
        return planes[:, found.any(axis=1)], np.arange(walks.shape[0])
    parts = [quad.nonzero()[0], (~quad).nonzero()[0]]
    done = [_separators_of(f, walks[k], ns[k], np_[k], gg) for k in parts]
    # Side by side in one (4, P, W) array, the narrower part's extra columns planes that keep everything.
    width = max(p.shape[1] for p, _ in done)
    planes = np.empty((4, width, walks.shape[0]))
    found = np.zeros((width, walks.shape[0]), bool)
    lo = 0
    for part, part_found in done:
        hi = lo + part.shape[2]
        planes[:, : part.shape[1], lo:hi] = part
        planes[:, part.shape[1] :, lo:hi] = KEEP_ALL[:, :, None]
        found[: part.shape[1], lo:hi] = part_found
        lo = hi
    column = np.empty(walks.shape[0], np.int64)
    column[np.concatenate(parts)] = np.arange(walks.shape[0])
    return planes[:, found.any(axis=1)], column


def _separators_of(f: Frontier, walks: I64, ns: I64, np_: I64, gg: Graph) -> tuple[F64, B8]:
    # ``walks`` is increasing: as many as the frontier holds is every walk (a step's walks all have exits).
    every = walks.shape[0] == len(f)
    src = trim(f.src if every else f.src.take(walks, axis=1), ns)
    pas = trim(f.pas if every else f.pas.take(walks, axis=1), np_)
    return separators(pas, np_, gg.plane[:3].take(f.prow[walks], axis=1), src, ns, keep_x_side=True)


def _first_steps(gg: Graph, rows: I64) -> tuple[Frontier, I64, I64]:
    """Walks S → T for every directed row S in ``rows`` and every T leaving S's cell (T not S's
    portal, ahead of S's plane); also the visible pair keys and the candidate steps per source row."""
    g = gg.g
    dst = g.dst[rows]
    # Every row leaving S's cell is a candidate step (the budget's count); the ones ahead of S's plane
    # are the graph's exits of S.
    spent = np.bincount(rows, weights=g.out_start[dst + 1] - g.out_start[dst], minlength=g.size).astype(np.int64)
    owner, at = ranges(gg.exit_start[rows], gg.exit_start[rows + 1] - gg.exit_start[rows])
    srow, trow = rows[owner], gg.exit_rows[at]
    four = np.full(srow.shape[0], 4, np.int64)
    # T clipped by S's plane: only the exits the graph did not find wholly in front of it (``exit_inside``:
    # the same test, so the others would come out unchanged).
    tgt, nt = gg.poly.take(trow, axis=1), four.copy()
    cut = (~gg.exit_inside[at]).nonzero()[0]
    if cut.size:
        sub, nt[cut] = clip(tgt.take(cut, axis=1), four[cut], gg.plane.take(srow[cut], axis=1))
        if sub.shape[2] > 4:
            tgt = np.concatenate([tgt, np.zeros((3, tgt.shape[1], sub.shape[2] - 4))], axis=2)
        tgt[:, cut, : sub.shape[2]] = sub
    src, ns = clip(gg.poly.take(srow, axis=1), four, gg.neg_plane.take(trow, axis=1))
    live = (nt > 0) & (ns > 0)
    path = np.stack([srow, trow], axis=1)
    frontier = Frontier(g.src[srow], srow, src, ns, trow, tgt, nt, path).take(live.nonzero()[0])
    seen = np.concatenate([g.src[rows] * g.cell_count + dst, frontier.cell * g.cell_count + g.dst[frontier.prow]])
    return frontier, seen, spent


def _step(gg: Graph, f: Frontier) -> tuple[Frontier, I64, I64]:
    """Advance a batch of walks by one portal; return the surviving walks, the visible pair keys and
    the candidate steps taken per source row."""
    g = gg.g
    owner, trow, inside = f.exits if f.exits is not None else walk_exits(gg, f.srow, f.prow)
    charge = np.bincount(f.srow[owner], minlength=g.size)
    # Each target is clipped by the planes of the source and the pass (only the few it is not wholly in
    # front of), then by the separating planes of its walk (computed once per walk that has targets),
    # all classified at once (clip_all).
    first = np.ones(owner.shape[0], bool)
    np.not_equal(owner[1:], owner[:-1], out=first[1:])
    inv = np.cumsum(first) - 1
    seps, column = _walk_separators(f, owner[first], gg)
    tgt, nt = gg.poly.take(trow, axis=1), np.full(trow.shape[0], 4, np.int64)
    cut = (~inside).nonzero()[0]
    if cut.size:
        own = gg.plane.take(f.srow[owner[cut]], axis=1), gg.plane.take(f.prow[owner[cut]], axis=1)
        sub, nt[cut] = clip_all(tgt.take(cut, axis=1), nt[cut], np.stack(own, axis=1))
        tgt = np.concatenate([tgt, np.zeros((3, tgt.shape[1], sub.shape[2] - 4))], axis=2)
        tgt[:, cut, : sub.shape[2]] = sub
    # The rows a plane crossed are kept apart (by target); only the targets that go on are put together,
    # at the end (gather_clipped).
    nt, hit, sub = clip_rows(tgt, nt, seps.take(column[inv], axis=2))
    # Walks just through a slab opening: also the mirror set of separating planes (module docstring, 2).
    hit, sub = _clip_mirror(gg, f, owner, first, tgt, nt, hit, sub)
    # The targets left are picked by index (``live``); their polygons are gathered once, at the end.
    live = (nt > 0).nonzero()[0]
    owner, trow = owner[live], trow[live]
    # Ahead of every earlier portal on the path too (checked on the few targets left, not on all).
    ahead = ahead_of_planes(gg, trow, f.path[:, 1:-1].take(owner, axis=0))
    if not ahead.all():
        live, owner, trow = live[ahead], owner[ahead], trow[ahead]
    keys = f.cell[owner] * g.cell_count + g.dst[trow]
    # Only walks into a cell with an exit they have not used go on (a third of the maze's end here); their
    # exits are kept for the next step — unless there could be more than PAIRS of them: then every walk
    # goes on and the next step lists their exits batch by batch (a walk without any takes no step).
    exits: Exits | None = None
    if int((gg.exit_start[trow + 1] - gg.exit_start[trow]).sum()) <= PAIRS:
        exits = walk_exits(gg, f.srow[owner], trow)
        go_on = np.bincount(exits[0], minlength=trow.shape[0]).nonzero()[0]
        where = np.zeros(trow.shape[0], np.int64)
        where[go_on] = np.arange(go_on.shape[0])
        exits = (where[exits[0]], exits[1], exits[2])
    else:
        go_on = np.arange(trow.shape[0])
    live, walk, trow = live[go_on], owner[go_on], trow[go_on]
    nt = nt[live]
    tgt = gather_clipped(tgt, live, nt, hit, sub)
    path = np.concatenate([f.path.take(walk, axis=0), trow[:, None]], axis=1)
    # Back-clip the source by the target's plane: lines from the part of the source behind it cannot
    # reach the target. (It only ever shrinks, which tightens later steps.)
    ns = f.ns[walk]
    src, ns = clip(trim(f.src.take(walk, axis=1), ns), ns, gg.neg_plane.take(trow, axis=1))
    nxt = Frontier(f.cell[walk], f.srow[walk], src, ns, trow, tgt, nt, path, exits)
    go = (ns > 0).nonzero()[0]
    return (nxt if go.size == len(nxt) else nxt.take(go)), keys, charge


def _clip_mirror(
    gg: Graph, f: Frontier, owner: I64, first: B8, tgt: F64, nt: I64, hit: I64, sub: F64
) -> tuple[I64, F64]:
    """The targets of the walks whose pass lies in a slab (a portal that is not vertical: a stair opening),
    clipped by the mirror set of separating planes of (source, pass): through the source's edges and a
    vertex of the pass, keeping the pass's side. ``owner``: the walk of each target, ``first``: the first
    target of each walk; the targets as :func:`clip_rows` left them (``tgt``, counts ``nt``, updated in
    place, and the rows it rebuilt ``hit`` with their polygons ``sub``). Returns ``hit`` and ``sub`` with
    the rows clipped here among them. (The few rows it clips are gathered and put back among the rebuilt
    ones: clipping them in the targets, which widened every target, cost office-1000 15 %.)"""
    slab = gg.slab.take(f.prow)
    if not slab.any():
        return hit, sub
    rows = (slab.take(owner) & (nt > 0)).nonzero()[0]
    if not rows.size:
        return hit, sub
    walks = owner[first]
    walks = walks[slab.take(walks)]
    ns, np_ = f.ns[walks], f.np_[walks]
    src, pas = trim(f.src.take(walks, axis=1), ns), trim(f.pas.take(walks, axis=1), np_)
    planes, found = separators(src, ns, gg.plane[:3].take(f.srow[walks], axis=1), pas, np_, keep_x_side=False)
    planes = planes[:, found.any(axis=1)]
    if not planes.shape[1]:
        return hit, sub
    where = np.zeros(len(f), np.int64)
    where[walks] = np.arange(walks.shape[0])
    cur = gather_clipped(tgt, rows, nt[rows], hit, sub)
    new, nt[rows] = clip_all(cur, nt[rows], planes.take(where[owner[rows]], axis=2))
    # Into ``sub`` where ``hit`` holds the row already, inserted (in row order) where it does not.
    width = max(sub.shape[2], new.shape[2])
    if width > sub.shape[2]:
        sub = np.concatenate([sub, np.zeros((3, sub.shape[1], width - sub.shape[2]))], axis=2)
    padded = np.zeros((3, rows.shape[0], width))
    padded[:, :, : new.shape[2]] = new
    at = np.searchsorted(hit, rows)
    known = at < hit.shape[0]
    known[known] = hit[at[known]] == rows[known]
    sub[:, at[known]] = padded[:, known]
    fresh = (~known).nonzero()[0]
    if fresh.size:
        hit = np.insert(hit, at[fresh], rows[fresh])
        sub = np.insert(sub, at[fresh], padded[:, fresh], axis=1)
    return hit, sub


def potentially_visible(graph: PortalGraph, budget: FlowBudget | None = None, sources: I64 | None = None) -> list[I64]:
    """The conservative PVS of every cell: sorted cell indices, the cell itself included.

    Cost: see the module docstring; bounded by ``budget`` (:class:`FlowBudget` defaults). Safe on
    any input the portal graph accepts; a degenerate portal (zero area: no plane) joins its two cells
    and passes no line further (lines through it are of measure zero). ``sources``: see :func:`portal_flow`.
    """
    return portal_flow(graph, budget, sources)[0]


def pvs_too_large(listed: int, maximum: int, *, pvs: bool = True) -> LimitExceeded:
    """The refusal of sets listing more cells together than ``SCENEFORGE_MAX_PVS_ENTRIES`` allows."""
    what = "the cells listed in every cell's PVS together" if pvs else "the cells every cell reaches, together"
    return LimitExceeded("SCENEFORGE_MAX_PVS_ENTRIES", listed, maximum, path="/cells", what=what)


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
        sets = reachable_sets(graph)
        listed = sum(int(sets[c].size) for c in chosen.tolist())
        if max_pairs is not None and listed > max_pairs:
            raise pvs_too_large(listed, max_pairs)
        keys.extend(c * n + sets[c] for c in chosen.tolist())
        stats = FlowStats(fallback_sources=int(selected.size))
    elif selected.size:
        gg = Graph(graph)
        spent = np.zeros(graph.size, np.int64)
        fallback = np.zeros(graph.size, bool)
        walks = merged = depth = peak = 0
        held = int(keys[0].size)
        # Sources in batches: the walks held at once stay proportional to the batch, not the level (and
        # their first steps under PAIRS).
        runs = run_bounds(gg.exit_start[selected + 1] - gg.exit_start[selected], _SOURCES)
        for lo, hi in pairwise(runs):
            batch = selected[lo:hi]
            if spent.sum() > budget.total_steps:
                fallback[batch] = True
                continue
            found, counts = _flow_batch(gg, batch, spent, fallback, budget)
            keys.append(_distinct(np.concatenate(found), n * n))
            held += keys[-1].size
            if max_pairs is not None and held > max_pairs:  # batches repeat pairs: count the distinct ones
                keys = [_distinct(np.concatenate(keys), n * n)]
                held = keys[0].size
                if held > max_pairs:
                    raise pvs_too_large(held, max_pairs)
            walks, merged = walks + counts[0], merged + counts[1]
            depth, peak = max(depth, counts[2]), max(peak, counts[3])
        cut = fallback.nonzero()[0]
        fb_steps = 0
        if cut.size:
            reach, fb_steps = _fallback(gg, cut, max_pairs)
            keys.append(reach)
        stats = FlowStats(int(spent.sum()), int(spent.max()), walks, merged, depth, peak, int(cut.size), fb_steps)
    pairs = _distinct(np.concatenate(keys), n * n)
    src, dst = np.divmod(pairs, n)
    bounds = np.searchsorted(src, np.arange(n + 1))
    return [dst[bounds[i] : bounds[i + 1]] for i in chosen.tolist()], stats


def _distinct(keys: I64, size: int) -> I64:
    """The distinct values of ``keys`` (all in ``[0, size)``), sorted: through a dense table of flags
    while ``size`` fits ``_DENSE_KEYS`` and the keys fill more than 1/64 of it (one pass, no sort),
    else by a sort (:func:`~sceneforge.arrays.distinct`)."""
    if size > _DENSE_KEYS or size > 64 * keys.shape[0]:
        return distinct(keys)
    seen = np.zeros(size, bool)
    seen[keys] = True
    return seen.nonzero()[0]


def _flow_batch(
    gg: Graph, rows: I64, spent: I64, fallback: B8, budget: FlowBudget
) -> tuple[list[I64], tuple[int, int, int, int]]:
    """All walks from the source rows ``rows``, depth by depth; ``spent`` and ``fallback`` are
    updated. Returns the visible pair keys and (walks, merged, depth, peak frontier)."""
    frontier, seen, charge = _first_steps(gg, rows)
    spent += charge
    keys = [seen]
    walks, merged, depth, peak = len(frontier), 0, 2, 0
    while len(frontier):
        before = len(frontier)
        frontier = merge(gg, frontier)
        merged += before - len(frontier)
        frontier = _within_budget(frontier, spent, fallback, budget)
        if not len(frontier):
            break
        peak = max(peak, len(frontier))
        depth += 1
        parts: list[Frontier] = []
        held = 0
        bounds = _batches(gg, frontier)
        for lo, hi in pairwise(bounds):
            whole = hi - lo == len(frontier)
            chunk = frontier if whole else frontier.take(np.arange(lo, hi))
            nxt, found, charge = _step(gg, chunk)
            spent += charge
            keys.append(found)
            if len(nxt):
                parts.append(nxt)
                walks += len(nxt)
            held += len(nxt)
            if hi < len(frontier) and (spent.sum() > budget.total_steps or held > budget.frontier):
                # Over the flow's budget within a depth (hundreds of exits a walk): the rest falls back.
                fallback[frontier.srow[hi:]] = True
                break
        frontier = concat(parts) if parts else Frontier(*empty_frontier(frontier.path.shape[1] + 1))
    return keys, (walks, merged, depth, peak)


def _within_budget(f: Frontier, spent: I64, fallback: B8, budget: FlowBudget) -> Frontier:
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


def _batches(gg: Graph, f: Frontier) -> list[int]:
    """Bounds of the step batches of ``f`` (:func:`run_bounds` of at most ``_CHUNK`` walks): a walk's exits are
    its listed ones, or at most the graph's exits of the row it entered by."""
    if f.exits is not None:
        need = np.bincount(f.exits[0], minlength=len(f))
    else:
        need = gg.exit_start[f.prow + 1] - gg.exit_start[f.prow]
    return run_bounds(need, _CHUNK)


def _fallback(gg: Graph, sources: I64, max_pairs: int | None = None) -> tuple[I64, int]:
    """Visible pair keys for the directed source portals cut short by the budget: their
    plane-monotone reach when (sources × portals) and (sources × exits) pairs fit ``_FALLBACK_PAIRS``, else every cell
    reachable from their cells through the portal graph. Both are conservative."""
    g = gg.g
    # Its work is at most sources × (row, exit) pairs: bounded like its visited table.
    if sources.size * max(g.size, gg.exit_rows.size) <= _FALLBACK_PAIRS:
        return _plane_monotone_reach(gg, sources)
    sets = reachable_sets(g)
    cells = distinct(g.src[sources])
    listed = sum(int(sets[c].size) for c in cells.tolist())
    if max_pairs is not None and listed > max_pairs:
        raise pvs_too_large(listed, max_pairs)
    return np.concatenate([c * g.cell_count + sets[c] for c in cells.tolist()]), 0


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
