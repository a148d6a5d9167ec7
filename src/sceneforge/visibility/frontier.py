"""Walks of one depth (:class:`Frontier`) and the merging of walks that share source and pass portal (:func:`merge`).

What: a :class:`Frontier` holds, per walk, its source cell, its source row and polygon (the source
portal, shrunk as the walk narrows), its pass row and polygon (the portal just crossed, clipped), the
portals on its path, and its exits when the step that made it listed them. Polygons are coordinate-major
(3, B, V) arrays with a vertex count per walk (:mod:`.clipping`). :func:`concat` joins the parts the
batches of a depth make.

Merging. Walks of one depth with the same source and pass portal are folded into one: its
source and pass polygons the octagons (``DIRECTIONS`` in-plane directions) around the union of
theirs, clipped to the portals, and its path the portals on all their paths. Every line one of
them admitted is still admitted (conservative), and the walks per source and depth never
exceed the number of portals: on a grid whose neighbours all open into each other the monotone
staircases of portals are exponentially many, but end at few portals.

Cost: one sort of the walks' (source row, pass row) keys a depth; when no two share a key (the usual
case) the frontier is returned as it is. The groups' sources' and passes' octagons are clipped in one
batch and the walks that fold nothing gathered straight into the new frontier (office-1000's three
merging depths 2.05/1.62/1.17 → 1.74/1.36/0.85 ms; the maze merges nothing). ~4 KB a walk held, with the
temporaries of a step. Rejected (docs/benchmarks.md, PVS): 16-gons instead of octagons (16 × 16 open grid
3.63 → 2.80 s with octagons, −23 %; the octagon changed no bench level's sets and grew those of 60
random small levels by 2 pairs of 10,024, +0.02 %; 4 directions took the same time as 8 on the open
grids); walks merged only by the portal they are at, not by their source (a "might see" flood:
polynomial too, but a walk would then stand for lines from many source portals at once, and its
anti-penumbra would be that of their union).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..arrays import distinct
from .clipping import SLOTS, clip, trim
from .flow_graph import DIRECTIONS, Graph, walk_exits

__all__ = ["Exits", "Frontier", "concat", "empty_frontier", "forget", "merge"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


Exits = tuple[I64, I64, B8]


class Frontier:
    """Walks of one depth: source cell, source row and polygon, pass row and polygon, portals used.

    Polygons are (3, B, V) arrays (coordinate, walk, vertex) with a vertex count per walk.
    ``exits``: the walks' :func:`walk_exits` when already listed (by the step that made them), else None.
    """

    def __init__(
        self,
        cell: I64,
        srow: I64,
        src: F64,
        ns: I64,
        prow: I64,
        pas: F64,
        np_: I64,
        path: I64,
        exits: Exits | None = None,
    ) -> None:
        self.cell, self.srow, self.src, self.ns = cell, srow, src, ns
        self.prow, self.pas, self.np_, self.path = prow, pas, np_, path
        self.exits = exits

    def __len__(self) -> int:
        return int(self.cell.shape[0])

    def taken_exits(self, idx: I64) -> Exits | None:
        """The exits of the walks ``idx`` as :meth:`take` keeps them (None unless listed and ``idx`` increasing)."""
        if self.exits is None or not (idx[1:] > idx[:-1]).all():  # increasing: the exits stay sorted by walk
            return None
        where = np.full(len(self), -1)
        where[idx] = np.arange(idx.shape[0])
        owner = where[self.exits[0]]
        kept = owner >= 0
        return owner[kept], self.exits[1][kept], self.exits[2][kept]

    def take(self, idx: I64) -> Frontier:
        ns, np_ = self.ns[idx], self.np_[idx]
        exits = self.taken_exits(idx)
        return Frontier(
            self.cell[idx],
            self.srow[idx],
            trim(self.src.take(idx, axis=1), ns),
            ns,
            self.prow[idx],
            trim(self.pas.take(idx, axis=1), np_),
            np_,
            self.path[idx],
            exits,
        )


def merge(gg: Graph, f: Frontier) -> Frontier:
    """Fold the walks of one depth that share source and pass portal into one walk: its source and
    pass polygons the octagons around the union of theirs (clipped to the portals), its path the
    portals on all of theirs. Every line the walks admitted is still admitted (conservative), and
    walks per source and depth stay below the number of portals (polynomial cost: a grid's
    monotone staircases, exponentially many paths, end at a few portals)."""
    d = gg.g.size
    key = f.srow * d + f.prow
    if distinct(key).shape[0] == key.shape[0]:  # no two walks to fold (the usual case): a plain sort
        return f
    # Group by key; the walks that fold nothing keep their order (and their listed exits).
    order = np.argsort(key)
    k = key[order]
    first = np.ones(k.shape[0], bool)
    np.not_equal(k[1:], k[:-1], out=first[1:])
    gid = np.cumsum(first) - 1
    size = np.bincount(gid)
    heads = order[first]
    multi = size[gid] > 1
    members = order[multi]  # grouped by key
    singles = np.sort(order[~multi])
    groups = (size > 1).nonzero()[0]
    mg = np.searchsorted(groups, gid[multi])  # 0..G-1 per member, sorted
    starts = np.concatenate([[True], mg[1:] != mg[:-1]]).nonzero()[0]
    srow, prow = f.srow[heads[groups]], f.prow[heads[groups]]
    # The sources' and the passes' octagons in one batch (groups G..2G-1 the passes): a row's clips read
    # nothing of the others', so each comes out as it would alone.
    g, m = groups.shape[0], members.shape[0]
    both, counts = _dop(
        gg,
        _stack_polys([f.src.take(members, axis=1), f.pas.take(members, axis=1)]),
        np.concatenate([f.ns[members], f.np_[members]]),
        np.concatenate([mg, mg + g]),
        np.concatenate([starts, starts + m]),
        np.concatenate([srow, prow]),
    )
    ns, np_ = counts[:g], counts[g:]
    src, pas = trim(both[:, :g], ns), trim(both[:, g:], np_)
    # Path: the rows on every member's path (-1 elsewhere).
    path = f.path[members]
    width = path.shape[1]
    ids = mg[:, None] * (d + 1) + (path + 1)
    # How many members hold each (group, row): the size of its run in the sorted ids.
    flat = ids.ravel()
    order = np.argsort(flat)
    ordered = flat[order]
    first = np.ones(ordered.shape[0], bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    run = np.cumsum(first) - 1
    held = np.empty(flat.shape[0], np.int64)
    held[order] = np.bincount(run)[run]
    common = (held.reshape(path.shape) == size[groups][mg][:, None]) & (path >= 0)
    merged_path = np.where(common, path, -1)[starts].reshape(-1, width)
    keep = ((ns > 0) & (np_ > 0)).nonzero()[0]
    joined = Frontier(gg.g.src[srow], srow, src, ns, prow, pas, np_, merged_path).take(keep)
    # The walks that fold nothing, then the folded ones: f.take(singles) and the two concatenated, with
    # each polygon gathered once into the result.
    n = singles.shape[0]
    exits = f.taken_exits(singles)
    if exits is not None:  # list the folded walks' exits too, so that the frontier keeps them
        more = walk_exits(gg, joined.srow, joined.prow)
        exits = (
            np.concatenate([exits[0], more[0] + n]),
            np.concatenate([exits[1], more[1]]),
            np.concatenate([exits[2], more[2]]),
        )
    ns_s, np_s = f.ns[singles], f.np_[singles]
    return Frontier(
        np.concatenate([f.cell[singles], joined.cell]),
        np.concatenate([f.srow[singles], joined.srow]),
        _take_stack(f.src, singles, ns_s, joined.src),
        np.concatenate([ns_s, joined.ns]),
        np.concatenate([f.prow[singles], joined.prow]),
        _take_stack(f.pas, singles, np_s, joined.pas),
        np.concatenate([np_s, joined.np_]),
        np.concatenate([f.path[singles], joined.path]),
        exits,
    )


def forget(f: Frontier) -> Frontier:
    """``f`` without the path's middle columns every walk has forgotten (-1, which passes every test,
    :class:`~.flow_graph.Graph`): the same walks. A merge forgets the rows its members do not all hold, so folded
    walks may cross those portals again and go on for as long as the budget lets them; without this their paths
    grew a column a depth, every one of them -1 on all walks, and each depth's merge sorted them all (two rooms
    joined by 23 doorways walked 2,500 depths: 28 s, nearly all of it sorting -1s)."""
    middle = f.path[:, 1:-1]
    held = (middle >= 0).any(axis=0)
    if held.all():
        return f
    path = np.concatenate([f.path[:, :1], middle[:, held], f.path[:, -1:]], axis=1)
    return Frontier(f.cell, f.srow, f.src, f.ns, f.prow, f.pas, f.np_, path, f.exits)


def _take_stack(poly: F64, idx: I64, count: I64, other: F64) -> F64:
    """``_stack_polys([trim(poly.take(idx, axis=1), count), other])`` (``count``: the taken rows'),
    gathering the rows straight into the result."""
    taken = max(int(count.max(initial=0)), 1)
    width, n = max(taken, other.shape[2]), idx.shape[0]
    out = np.empty((3, n + other.shape[1], width))
    out[:, :n, :taken] = poly[:, :, :taken].take(idx, axis=1)
    out[:, :n, taken:] = 0.0
    out[:, n:, : other.shape[2]] = other
    out[:, n:, other.shape[2] :] = 0.0
    return out


def _dop(gg: Graph, poly: F64, count: I64, group: I64, starts: I64, row: I64) -> tuple[F64, I64]:
    """Per group, the portal ``row`` clipped to the ``DIRECTIONS``-gon around its members' polygons."""
    dirs = gg.dirs.take(row, axis=1)  # (3, G, K)
    dm = dirs.take(group, axis=1)  # (3, M, K)
    proj = np.einsum("cmv,cmk->mvk", poly, dm)
    proj[~(SLOTS[: poly.shape[2]] < count[:, None])] = -np.inf
    support = np.maximum.reduceat(proj.max(axis=1), starts, axis=0)  # (G, K)
    out, nout = gg.poly.take(row, axis=1), np.full(row.shape[0], 4, np.int64)
    for j in range(DIRECTIONS):
        # keep dirs·x <= support: plane (-dirs, support)
        plane = np.concatenate([-dirs[:, :, j], support[None, :, j]], axis=0)
        out, nout = clip(out, nout, plane)
    return trim(out, nout), nout


def _stack_polys(polys: list[F64]) -> F64:
    width = max(p.shape[2] for p in polys)
    if all(p.shape[2] == width for p in polys):
        return np.concatenate(polys, axis=1)
    out = np.zeros((3, sum(p.shape[1] for p in polys), width))
    lo = 0
    for p in polys:
        out[:, lo : lo + p.shape[1], : p.shape[2]] = p
        lo += p.shape[1]
    return out


def concat(parts: list[Frontier]) -> Frontier:
    if len(parts) == 1:
        return parts[0]
    exits = None
    if all(p.exits is not None for p in parts):
        listed = [p.exits for p in parts if p.exits is not None]
        offsets = np.cumsum([0] + [len(p) for p in parts[:-1]])
        exits = (
            np.concatenate([e[0] + o for e, o in zip(listed, offsets.tolist(), strict=True)]),
            np.concatenate([e[1] for e in listed]),
            np.concatenate([e[2] for e in listed]),
        )
    return Frontier(
        np.concatenate([p.cell for p in parts]),
        np.concatenate([p.srow for p in parts]),
        _stack_polys([p.src for p in parts]),
        np.concatenate([p.ns for p in parts]),
        np.concatenate([p.prow for p in parts]),
        _stack_polys([p.pas for p in parts]),
        np.concatenate([p.np_ for p in parts]),
        np.concatenate([p.path for p in parts]),
        exits,
    )


def empty_frontier(depth: int) -> tuple[I64, I64, F64, I64, I64, F64, I64, I64]:
    z = np.zeros(0, np.int64)
    poly = np.zeros((3, 0, 1))
    return z, z, poly, z, z, poly.copy(), z, np.zeros((0, depth), np.int64)
