"""The portal graph as the flow walks it: coordinate-major quads and planes, and every directed portal's exits.

What: :class:`Graph` lays a :class:`~.portal_graph.PortalGraph` out for the batched flow — quads (3, D, 4)
and (3, 4, D), planes (4, D + 1) whose last column every point is in front of, an in-plane frame of
``DIRECTIONS`` directions per row for merges, the rows that lie in a slab — and lists once, as CSR, the
*exits* of every row: the rows leaving the cell it enters that lie ahead of its plane. Every walk and the
fallback step only through these. :func:`walk_exits` narrows a walk's exits to those ahead of its
source's plane too; :func:`ahead_of_planes` tests portals against the planes of a whole path.
:func:`ranges` and :func:`run_bounds` expand and batch (walk, exit) pairs, at most ``PAIRS`` a batch.

Planes crossed. A straight line crosses a plane once, so the portal T a walk steps to next (:mod:`.walk`) must have a
vertex strictly ahead (by ``_AHEAD_TOL``: the planarity tolerance, 1 mm) of the plane of every portal the walk has
crossed (or by ``SIDE_TOL``, 0.1 µm, for a portal lying behind that plane by more than ``_AHEAD_TOL``
somewhere: a doorway of a room wrapping round the crossed one may end just past its plane, and lines
through that sliver are free): a portal coplanar with one already crossed (the other doorways of the same wall, each
as flat and as aligned as validation asks: exported quads carry float32 noise of µm, which a
0.1 µm test took for "ahead", walking back and forth through the wall to the budget), or behind
it, is never next. This also means a portal is never reused. The test against the source and the pass is made on every
candidate; against the earlier portals of the path on the targets left after clipping. (Before
it, two rooms joined by n doorways in one wall walked every back-and-forth sequence of them:
2 s at 8 doorways, minutes and gigabytes at 10; now 2·n² candidate steps and no walk.)

Cost: building the graph takes one extent per (row, row leaving the cell it enters) pair, ``_GRAPH_CHUNK``
pairs at a time so that the gathered corners (~150 bytes a pair) stay bounded; a graph of more pairs than
``FlowBudget.graph_pairs`` is never built (:mod:`.budget`). With the exits listed once, the test against
the pass's plane is made once per graph and the one against the source's while a walk's exits are listed:
168 of office-1000's 127,000 targets are not wholly in front of both, none on the maze (in a convex cell
there are none). Rejected (docs/benchmarks.md, PVS): every candidate tested against every plane of its
path (70 % of 14 s on a corridor of 120 segments; 2.0–2.5 s with the tests split as above); the
planes-crossed test as a stacked (N, 4, 3) @ (N, 3, K) matmul of tiny matrices (4× as much); its answers
kept per (plane, quad) pair for a flow (152,266 asked on office-1000, 17,955 distinct: a dense int8
table's page faults ate the gain, 0.99–1.05×). Listing the exits once per graph rather than per step:
maze-1000 −7 %, office-1000 −4 %.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..arrays import distinct
from ..tolerances import PLANARITY_EPS, PVS_EPS
from .portal_graph import PortalGraph
from .separators import DEGENERATE, SIDE_TOL

__all__ = ["DIRECTIONS", "KEEP_ALL", "PAIRS", "Graph", "ahead_of_planes", "ranges", "run_bounds", "walk_exits"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


#: A portal is ahead of a plane crossed only with a vertex farther than this (m) in front of it:
#: within the planarity tolerance it lies in that plane (a line along a wall's plane is of measure zero).
_AHEAD_TOL = PLANARITY_EPS


def _walkable(low: F64, high: F64) -> B8:
    """Whether a portal whose corners lie between ``low`` and ``high`` from a crossed plane can be
    crossed after it: a corner more than ``_AHEAD_TOL`` in front, or — lying behind the plane by more
    than that somewhere, so not in it — more than ``SIDE_TOL`` in front (a doorway of a room that
    wraps round the crossed one, ending just past its plane)."""
    return (high > _AHEAD_TOL) | ((high > SIDE_TOL) & (low < -_AHEAD_TOL))


#: The plane 0·x + 1 ≥ 0, (4, 1): every point is in front of it (the plane of an edge that gave none).
KEEP_ALL = np.array([[0.0], [0.0], [0.0], [1.0]])
#: (row, exit) pairs of the graph tested at once when it is built (:class:`Graph`).
_GRAPH_CHUNK = 1 << 18
#: Candidate steps (walk, exit) one batch may hold: with hundreds of portals between the same two
#: cells each walk has hundreds of exits, and a batch of _CHUNK walks (:mod:`.walk`) held ~10⁷ of them (1.2 GB for 100
#: random portals between two rooms, an allocation of 28 GB for 300). Walks are batched so their exits
#: stay under it, and the exits of the walks a step makes are listed only while they do too.
PAIRS = 1 << 16
#: In-plane directions of the polygon that stands for several merged walks (an octagon around them).
#: A 16-gon made open grids ~20 % slower; the octagon changed no bench level's sets and grew those of
#: 60 random small levels by 0.02 % (docs/benchmarks.md).
DIRECTIONS = 8
#: A portal counts as lying in a slab (not vertical) when its normal's vertical part exceeds this.
_SLAB_NORMAL = 1e-3


def ranges(starts: I64, counts: I64) -> tuple[I64, I64]:
    """Expand ``counts[i]`` consecutive integers from ``starts[i]``: (owner index, value) per item."""
    owner = np.repeat(np.arange(counts.shape[0]), counts)
    first = np.cumsum(counts) - counts
    values = np.arange(owner.shape[0]) - np.repeat(first, counts) + np.repeat(starts, counts)
    return owner, values


class Graph:
    """The portal graph's polygons and planes in coordinate-major layout: (3, D, 4) and (4, D + 1).

    Column ``D`` of ``plane`` is a plane every point is in front of, and ``portal[D]`` is -1: a
    path entry of -1 (a row forgotten by a merge) then passes every test.
    ``dirs`` (3, D, K): ``DIRECTIONS`` unit directions in each row's plane, for merges.
    """

    def __init__(self, g: PortalGraph) -> None:
        self.g = g
        self.poly = np.ascontiguousarray(g.poly.transpose(2, 0, 1))
        self.corners = np.ascontiguousarray(g.poly.transpose(2, 1, 0))  # (3, 4, D): a vertex per row
        self.plane = np.concatenate([g.plane.T, KEEP_ALL], axis=1)
        self.neg_plane = -self.plane
        self.plane_rows = np.ascontiguousarray(self.plane.T)
        self.portal = np.concatenate([g.portal, [-1]])
        #: The level's portals (each one or two rows): the most a straight line, so a walk, can pass.
        self.portals = int(distinct(g.portal).shape[0])
        # Rows in a slab (stair openings), and the plane that keeps everything in none.
        self.slab = np.abs(self.plane[1]) > _SLAB_NORMAL
        self.slab[-1] = False
        # An in-plane frame per row: u along the quad's longest edge, v = normal × u.
        edges = np.roll(g.poly, -1, axis=1) - g.poly  # (D, 4, 3)
        lengths = np.linalg.norm(edges, axis=2)
        longest = np.argmax(lengths, axis=1)
        rows = np.arange(g.size)
        u = edges[rows, longest] / np.maximum(lengths[rows, longest], 1e-300)[:, None]
        v = np.cross(g.plane[:, :3], u)
        usable = (lengths[rows, longest] > DEGENERATE) & (np.linalg.norm(v, axis=1) > 0.5)
        angle = np.arange(DIRECTIONS) * (2.0 * np.pi / DIRECTIONS)
        dirs = np.cos(angle)[None, None, :] * u[:, :, None] + np.sin(angle)[None, None, :] * v[:, :, None]
        dirs[~usable] = 0.0  # no frame: the merge keeps the whole portal
        self.dirs = np.ascontiguousarray(dirs.transpose(1, 0, 2))
        # Exits of each row: the rows leaving the cell it enters that lie ahead of its plane (CSR,
        # sorted by row). Every walk and the fallback step only through these.
        here = g.dst
        owner, at = ranges(g.out_start[here], g.out_start[here + 1] - g.out_start[here])
        # Tested a run of pairs at a time: the gathered corners (~150 bytes a pair) stay bounded.
        kept, inside = [], []
        for lo in range(0, owner.size, _GRAPH_CHUNK):
            low, high = _extent(self, g.out_rows[at[lo : lo + _GRAPH_CHUNK]], owner[lo : lo + _GRAPH_CHUNK])
            ok = _walkable(low, high)
            kept.append(lo + ok.nonzero()[0])
            # Whether clipping the exit by the row's plane keeps it whole (the usual case: a convex cell).
            inside.append(low[ok] + PVS_EPS >= 0.0)
        ok_at = np.concatenate(kept) if kept else np.empty(0, np.int64)
        self.exit_rows = g.out_rows[at[ok_at]]
        self.exit_start = np.concatenate([[0], np.cumsum(np.bincount(owner[ok_at], minlength=g.size))])
        self.exit_inside = np.concatenate(inside) if inside else np.empty(0, bool)


def ahead_of_planes(gg: Graph, trow: I64, rows: I64) -> B8:
    """Whether quad ``trow[i]`` has a vertex strictly (``_AHEAD_TOL``) in front of the plane of every
    row ``rows[i, :]`` (-1: no plane). A line that crossed those planes can cross ``trow[i]``
    only there: a portal coplanar with one already crossed, or behind it, is never next."""
    if not rows.shape[1]:
        return np.ones(trow.shape[0], bool)
    # Elementwise over (3, N, K) per quad vertex, summed over the coordinates (x·a + y·b + z·c in that
    # order): a stacked (N, 4, 3) @ (N, 3, K) matmul of tiny matrices cost 4× as much.
    plane = gg.plane.take(rows, axis=1)  # (4, N, K)
    normal = plane[:3]
    q = gg.corners.take(trow, axis=2)[:, :, :, None]  # (3, 4, N, 1)
    top = (q[:, 0] * normal).sum(axis=0)
    bottom = top.copy()
    for v in range(1, 4):
        dist = (q[:, v] * normal).sum(axis=0)
        np.maximum(top, dist, out=top)
        np.minimum(bottom, dist, out=bottom)
    top += plane[3]
    bottom += plane[3]
    return np.asarray(_walkable(bottom, top).all(axis=1), bool)


def _extent(gg: Graph, trow: I64, rows: I64) -> tuple[F64, F64]:
    """The lowest and highest signed distance of quad ``trow[i]``'s vertices to the plane of row
    ``rows[i]``: two (N,) arrays."""
    plane = gg.plane.take(rows, axis=1)  # (4, N)
    q = gg.corners.take(trow, axis=2)  # (3, 4, N): one gather (np.take: ~10× a ``[:, idx]`` index)
    q *= plane[:3, None]
    # Summed over the coordinate axis: x·a + y·b + z·c in that order, as three elementwise adds would; the
    # extremes over the outer axis (a reduction over a short inner axis costs several times as much).
    dist = q.sum(axis=0)  # (4, N)
    low, high = dist.min(axis=0), dist.max(axis=0)
    low += plane[3]
    high += plane[3]
    return low, high


def walk_exits(gg: Graph, srow: I64, prow: I64) -> tuple[I64, I64, B8]:
    """The rows leaving the cell each walk is in (``prow`` the row it entered by), ahead of the planes
    of its source ``srow`` and of ``prow``: (walk index, row) pairs, sorted by walk, and whether
    clipping the row by those two planes keeps it whole. (A row of the same portal as either is
    coplanar with it.) The rows ahead of ``prow`` are the graph's static exits of ``prow``; only the
    source's plane is tested here."""
    owner, at = ranges(gg.exit_start[prow], gg.exit_start[prow + 1] - gg.exit_start[prow])
    trow = gg.exit_rows[at]
    low, high = _extent(gg, trow, srow[owner])
    ok = _walkable(low, high)
    inside = gg.exit_inside[at[ok]] & (low[ok] + PVS_EPS >= 0.0)
    return owner[ok], trow[ok], inside


def run_bounds(need: I64, most: int) -> list[int]:
    """Bounds of consecutive runs of at most ``most`` items whose ``need`` adds up to at most ``PAIRS``
    (an item needing more goes alone): ``[0, …, len(need)]``."""
    n = need.shape[0]
    if n <= most and int(need.sum()) <= PAIRS:  # the usual case: one run
        return [0, n]
    total = np.cumsum(need)
    bounds = [0]
    while bounds[-1] < n:
        lo = bounds[-1]
        base = int(total[lo - 1]) if lo else 0
        hi = int(np.searchsorted(total, base + PAIRS, side="right"))
        bounds.append(min(max(hi, lo + 1), lo + most, n))
    return bounds
