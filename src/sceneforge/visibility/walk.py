"""The portal flow's walks: every walk of one depth, from every source of a batch at once, stepped together.

What: :func:`flow_batch` walks from a batch of directed source portals depth by depth, within the budget
(:mod:`.budget`), and returns the (cell, visible cell) pair keys it found; :mod:`.pvs` is the entry.

How (Teller & Séquin 1991, "Visibility preprocessing for interactive walkthroughs", SIGGRAPH;
the separating-plane / anti-penumbra clipping of id Software's Quake ``vis`` tool, 1996): a
line leaving A crosses some portal S of A first. From every *directed* portal S (see
:mod:`.portal_graph`) the flow walks portal sequences S → P → T … through the graph. A state
holds the source polygon (S, shrunk as the walk narrows), the pass polygon (the portal just
crossed, clipped) and the portals already used (:class:`~.frontier.Frontier`). Stepping to a portal T
leaving the current cell (an exit of the pass, ahead of the planes the walk crossed: :mod:`.flow_graph`):

1. T is clipped to the front of the planes of S and of the pass (a line crosses a plane once);
2. T is clipped by the separating planes of (source, pass) (:mod:`.separators`): a plane through an edge of the pass
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

Vectorized breadth-first: all walks of one depth, from every source at once, advance together
as numpy batches (of at most ``_CHUNK`` walks). The separating planes of (source, pass), which
do not depend on the target, are computed once per walk and shared by all its candidate targets. The
source's and the pass's planes clip only the targets not wholly in front of them (168 of office-1000's
127,000 targets, none on the maze: in a convex cell there are none; for the pass the test is made once
per graph, for the source while the exits are listed). Every target is classified against its walk's
separators at once and clipped only where a plane crosses it (:func:`~.clipping.clip_all`). In large
batches the walks whose source and pass are both quads get their separators apart from the others (no
padded slot). A batch holds at most ``_CHUNK`` walks and ``PAIRS`` candidate steps (walks of hundreds of
exits each go in smaller batches); a step lists the exits of the walks it makes and keeps only those
with one.

Cost: ~1.1 µs a walk in large batches and ~0.45 ms a step of fixed numpy overhead (~300 numpy calls;
the office's 39 depths, 30 of them under 500 walks: its corridors). Memory O(batch · V²) for the
separating-plane candidates and ~4 KB per walk held. Rejected (docs/benchmarks.md, PVS): one walk state
at a time (the depth-first shape of Quake's ``RecursiveLeafFlow``) with the same numpy clipping, 850 µs
a state: 5.4 s at 1,000 cells against 0.20 s batched; the mirror set clipped inside the targets' array
(it widened every target by a slot: office-1000 +15 %) or added as columns of every walk's separators
(+39 %).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import numpy.typing as npt

from .budget import FlowBudget, within_budget
from .clipping import clip, clip_all, clip_rows, gather_clipped, trim
from .flow_graph import KEEP_ALL, PAIRS, Graph, ahead_of_planes, ranges, run_bounds, walk_exits
from .frontier import Exits, Frontier, concat, empty_frontier, forget, merge
from .separators import separators

__all__ = ["flow_batch"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


#: Walks advanced per numpy batch: bounds the (batch, V, V) separating-plane arrays. 16,384 rather than 4,096:
#: a 1,000-cell office's widest depths (~8,600 walks) go in one step, not three (−7 % on office-1000 and a
#: 32 × 32 grid of doorways; peak memory of their flows +10 MB, the open grids' unchanged).
_CHUNK = 16384
#: Walks with targets in one step from which quad walks' separators are computed apart (_walk_separators).
_SPLIT = 1024


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


def flow_batch(
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
        frontier = forget(merge(gg, frontier))
        merged += before - len(frontier)
        frontier = within_budget(frontier, spent, fallback, budget)
        if not len(frontier):
            break
        peak = max(peak, len(frontier))
        depth += 1
        if depth > gg.portals:
            # A straight line crosses a portal's plane once: no line passes more portals than the level has.
            # Walks this deep are merged ones crossing again portals their merge forgot (two rooms joined by
            # 23 doorways walked 2,500 depths, 9 s of per-depth overhead, under the step budget): their
            # sources take the fallback, which holds every cell they could reach.
            fallback[frontier.srow] = True
            break
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


def _batches(gg: Graph, f: Frontier) -> list[int]:
    """Bounds of the step batches of ``f`` (:func:`run_bounds` of at most ``_CHUNK`` walks): a walk's exits are
    its listed ones, or at most the graph's exits of the row it entered by."""
    if f.exits is not None:
        need = np.bincount(f.exits[0], minlength=len(f))
    else:
        need = gg.exit_start[f.prow + 1] - gg.exit_start[f.prow]
    return run_bounds(need, _CHUNK)
