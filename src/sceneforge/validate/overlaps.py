"""Rooms drawn over each other (:func:`overlapping_rooms`): the ``rooms_overlap`` warning.

What: pairs of room cells where one room's outer shape reaches more than
:data:`~sceneforge.tolerances.CONTACT_EPS` (on every axis) into the space inside the other's walls.
Rooms that touch share a wall, and outer shapes may meet inside walls (a niche drawn into the wall of
the room next door, no deeper than it; docs/scene-format.md, "Rooms"); a room reaching into another's
space stands its walls there, and a point of it lies in two cells, so which cell a camera is in (whose
PVS it draws) is up to the client. A room copied and not moved, a corridor drawn over the rooms along
it, a closet drawn inside its hall: one warning per pair, at the later cell's room, naming both and the
extent of the overlap. Cells without a room are not asked.

How: candidate pairs from a uniform grid of buckets as large as the median room (each room in the
buckets its box reaches, a pair taken in the bucket of its overlap's low corner only), or, where rooms
reach too many buckets (a few halls hundreds of rooms large), by a sort-and-sweep of the rooms' boxes
along the axis that gives fewest (counted per axis by binary search before any is made). Each pair is
decided each way round, the box inside one's walls against the other's box, vectorized: that decides a
pair of rectangular rooms. A pair with a room drawn as a polygon is decided on the plans:
the space inside one's walls (its outline offset inwards by its wall thickness, mitred) and the other's
outline, each shrunk by half the tolerance, must share area (manifold's ``CrossSection``: Clipper2's
offset and intersection; each room's made once).

Bounded: about :data:`MAX_PAIRS` candidate pairs are made at most (in chunks from 4,096 up to
:data:`_CHUNK`; the chunk that passes it is finished), at most :data:`MAX_PLAN_WORK` of comparing plans
(about a microsecond of Clipper's each: :func:`_pair_work`, :func:`_offset_work`, each pair's counted before it
is compared, so no pair passes it), and the check stops once more than
:data:`MAX_LISTED` overlaps are found; a last warning says which bound it reached. Thousands of rooms
drawn at one place cost milliseconds, not millions of warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ..arrays import ranges
from ..errors import Issue
from ..model.ir import Cell, Room
from ..tolerances import CONTACT_EPS

__all__ = ["MAX_LISTED", "MAX_PAIRS", "MAX_PLAN_WORK", "overlapping_rooms"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Overlapping pairs listed, one warning each.
MAX_LISTED = 100
#: Candidate pairs (rooms whose boxes overlap along the sweep's axis) made, at most.
MAX_PAIRS = 2_000_000
#: Work of comparing plans (one room a polygon, or turned), at most: :func:`_pair_work` per pair and
#: :func:`_offset_work` per plan made, each about a microsecond of Clipper's: ~2 s in all.
MAX_PLAN_WORK = 2_000_000
_CHUNK = 1 << 18
#: Buckets a room may reach on average before the sweep pairs the rooms instead (:func:`_buckets`).
_BUCKET_ROWS = 16


def _room_boxes(rooms: Sequence[Room]) -> tuple[F64, F64, F64, npt.NDArray[np.bool_]]:
    """(3, n) low and high corners of each room's outer shape, (n,) its wall thickness, and whether its plan is a
    polygon (not an axis-aligned rectangle, :meth:`~sceneforge.model.ir.Room.plan`)."""
    counts = np.array([r.floor.shape[0] for r in rooms])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    points = np.concatenate([r.floor for r in rooms])
    y = np.array([r.y for r in rooms])
    top = y + np.array([r.height for r in rooms])
    x_lo, z_lo = np.minimum.reduceat(points[:, 0], starts), np.minimum.reduceat(points[:, 1], starts)
    x_hi, z_hi = np.maximum.reduceat(points[:, 0], starts), np.maximum.reduceat(points[:, 1], starts)
    from ..geometry.doors import box_outlines

    boxed = box_outlines(rooms, np.stack([x_lo, z_lo], axis=1), np.stack([x_hi, z_hi], axis=1))
    t = np.array([r.wall_thickness for r in rooms])
    return np.stack([x_lo, y, z_lo]), np.stack([x_hi, top, z_hi]), t, ~boxed


class _Candidates(NamedTuple):
    """Rows to pair, in order: each row's room, how many rows after it it is paired with (those after it in its
    bucket, or along the sweep), and each row's bucket ((3, rows); None for the sweep, which pairs each pair once)."""

    room: I64
    partners: I64
    bucket: I64 | None
    first: I64 | None  # (3, n) each room's lowest bucket


def _sweep(lo: F64, hi: F64) -> _Candidates:
    """The sweep along the axis with fewest candidates: the rooms in order of their low side on it and, for
    each, how many of those after it start more than the tolerance before its high side."""
    best: tuple[I64, I64] | None = None
    for axis in range(3):
        order = np.argsort(lo[axis], kind="stable")
        reach = np.searchsorted(lo[axis].take(order), hi[axis].take(order) - CONTACT_EPS, side="left")
        count = np.maximum(reach - np.arange(1, order.shape[0] + 1), 0)
        if best is None or count.sum() < best[1].sum():
            best = (order, count)
    assert best is not None
    return _Candidates(best[0], best[1], None, None)


def _buckets(lo: F64, hi: F64) -> _Candidates | None:
    """Rooms put in the buckets of a uniform grid (a bucket as large as the median room on each axis) that their
    boxes, shrunk by half the tolerance, reach; each row paired with the rows after it in its bucket. None when the
    rooms reach more than :data:`_BUCKET_ROWS` per room (a few halls as large as hundreds of rooms: the sweep).
    A tower of 20,000 rooms sweeps 7.4 million pairs along any axis and 0.2 million here."""
    n = lo.shape[1]
    # The middle room's size on each axis (np.partition: np.median imports numpy.ma, ~12 ms a build does not use).
    middle = np.partition(hi - lo, n // 2, axis=1)[:, n // 2]
    size = np.maximum(middle, CONTACT_EPS)[:, None]
    first = np.floor((lo + CONTACT_EPS / 2) / size).astype(np.int64)
    last = np.maximum(np.floor((hi - CONTACT_EPS / 2) / size).astype(np.int64), first)
    span = last - first + 1
    # In floats first: a room 2,000 km across among rooms under a metre spans millions of buckets a side, whose
    # product passes int64 (negative counts, wrapped).
    if float((span.astype(np.float64).prod(axis=0)).sum()) > _BUCKET_ROWS * n + 65536:
        return None
    reached = span[0] * span[1] * span[2]
    room, at = ranges(np.zeros(n, np.int64), reached)
    sx, sy = span[0].take(room), span[1].take(room)
    bucket = np.stack(
        [first[0].take(room) + at % sx, first[1].take(room) + at // sx % sy, first[2].take(room) + at // (sx * sy)]
    )
    order = np.lexsort(bucket[::-1])
    bucket = bucket[:, order]
    # The rows after each in its bucket: up to the end of its run of equal buckets.
    starts = np.ones(order.shape[0], bool)
    starts[1:] = (bucket[:, 1:] != bucket[:, :-1]).any(axis=0)
    ends = np.append(starts.nonzero()[0][1:], order.shape[0])
    run_end = np.repeat(ends, np.diff(np.append(starts.nonzero()[0], order.shape[0])))
    return _Candidates(room.take(order), run_end - np.arange(order.shape[0]) - 1, bucket, first)


def _into(lo: F64, hi: F64, t: F64, a: I64, b: I64) -> tuple[F64, F64]:
    """Where the outer box of each ``b`` meets the space inside the walls of box ``a`` ((3, n) corners): (3, k) low
    and high corners (axis by axis: a gather of whole (n, 3) rows costs ten times as much)."""
    low, high = np.empty((3, a.shape[0])), np.empty((3, a.shape[0]))
    ta = t.take(a)
    for axis in range(3):
        np.maximum(lo[axis].take(a) + ta, lo[axis].take(b), out=low[axis])
        np.minimum(hi[axis].take(a) - ta, hi[axis].take(b), out=high[axis])
    return low, high


class _Plans:
    """The rooms' plans as manifold ``CrossSection`` s, shrunk by half the tolerance (and the space inside the walls
    by the walls' thickness too, in one offset), each made once when a pair first needs it: a plan of thousands of
    corners is offset once, not once per pair it is in."""

    def __init__(self, rooms: Sequence[Room]) -> None:
        self.rooms = rooms
        self.made: dict[tuple[int, bool], Any] = {}

    def _shape(self, i: int, cavity: bool) -> Any:
        """Room ``i``'s outer shape (or the space inside its walls), shrunk by half the tolerance."""
        from manifold3d import CrossSection, JoinType

        made = self.made.get((i, cavity))
        if made is None:
            room = self.rooms[i]
            inset = CONTACT_EPS / 2 + (room.wall_thickness if cavity else 0.0)
            made = self.made[(i, cavity)] = CrossSection([room.floor]).offset(-inset, JoinType.Miter)
        return made

    def to_make(self, inside: int, outer: int) -> list[int]:
        """The rooms of :meth:`overlap` ``(inside, outer)`` whose shape it would make (not made yet)."""
        return [r for r, cavity in ((inside, True), (outer, False)) if (r, cavity) not in self.made]

    def overlap(self, inside: int, outer: int) -> tuple[F64, F64] | None:
        """The (x, z) bounds of where room ``outer``'s plan meets the space inside room ``inside``'s walls, or None
        when they share no area once each is shrunk by half the tolerance."""
        both = self._shape(inside, True) ^ self._shape(outer, False)
        if not both.area() > 0.0:
            return None
        bounds = both.bounds()  # grown back by what the shrinking took (exactly so along the axes)
        return np.array(bounds[:2], np.float64) - CONTACT_EPS / 2, np.array(bounds[2:], np.float64) + CONTACT_EPS / 2


def _pair_work(n: int, m: int, wn: float, wm: float) -> int:
    """What comparing plans of ``n`` and ``m`` corners (offset already), turning ``wn`` and ``wm`` times
    (:func:`_turns`), counts against :data:`MAX_PLAN_WORK`, about in microseconds on this machine's measures: a
    call's ~8 µs, ~0.1 µs a corner (a 4,096-gon court against a room of 4 corners: 0.37 ms), and a term for the
    crossings, which grow with the corners of each times the turns of the other (two zigzag stars of 1,000 corners:
    25 ms; of 4,096: 0.2 s; of 8,192: 1.1 s; two circles of 8,192: 1 ms). A large plan against small rooms costs
    its corners, not their square."""
    return int(8 + (n + m) / 10 + (n * wm + m * wn) / 35)


def _offset_work(corners: int, turns: float) -> int:
    """What offsetting a plan of ``corners`` corners turning ``turns`` times counts, made once per plan and side:
    ~1.5 µs a corner, growing with their number (a circle of 256: 0.3 ms, 4,096: 6.9 ms, 16,384: 97 ms) and with
    the turns past the first: a zigzag star's narrow valleys, closed by the offset, cross each other (1,000 corners
    11 ms, 4,096 0.18 s, 8,192 1 s to 2.3 s)."""
    return int(1.5 * corners + corners * corners / 2730 + corners * (turns - 1.0) / 25)


def _turns(rooms: Sequence[Room]) -> F64:
    """(r,) how many times each outline turns round, at least 1: its corners' turning angles, summed as magnitudes,
    over a full turn (a convex outline 1, an L 1.5, a zigzag star of n corners about n / 2)."""
    counts = np.array([r.floor.shape[0] for r in rooms], dtype=np.int64)
    turns = np.ones(len(rooms))
    if not counts.any():
        return turns
    points = np.concatenate([r.floor for r in rooms]).astype(np.float64, copy=False)
    first = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(rooms)), counts)
    index = np.arange(points.shape[0])
    last = index == (first + counts - 1)[owner]
    nxt = np.where(last, first[owner], index + 1)
    edge = points[nxt] - points
    prev = np.empty_like(nxt)
    prev[nxt] = index
    before = edge[prev]
    angle = np.abs(
        np.arctan2(before[:, 0] * edge[:, 1] - before[:, 1] * edge[:, 0], np.einsum("ij,ij->i", before, edge))
    )
    filled = counts > 0
    turns[filled] = np.maximum(1.0, np.add.reduceat(angle, first[filled]) / (2.0 * np.pi))
    return turns


_Found = tuple[int, int, F64, F64]
STOPPED = "the check stopped before every pair of rooms was compared"


def _found(
    rooms: Sequence[Room], polygon: npt.NDArray[np.bool_], lo: F64, hi: F64, t: F64
) -> tuple[list[_Found], str | None]:
    """The overlaps found (the room whose inside is met, the other, the low and high corner of where), at most a
    few more than MAX_LISTED, and the bound the search reached (None: every pair was decided)."""
    rows = _buckets(lo, hi) or _sweep(lo, hi)
    order, count = rows.room, rows.partners
    n = order.shape[0]
    cum = np.concatenate([[0], np.cumsum(count)])
    found: list[_Found] = []
    plans = _Plans(rooms)
    corners = np.array([r.floor.shape[0] for r in rooms])
    turns: F64 | None = None  # made when a pair is first compared on the plans
    plan_work = 0
    begin = chunks = 0
    while begin < n and cum[n] > cum[begin]:
        if len(found) > MAX_LISTED:
            return found, "more pairs of rooms overlap than are listed"
        if cum[begin] >= MAX_PAIRS or plan_work >= MAX_PLAN_WORK:
            return found, STOPPED
        # Chunks from 4,096 pairs up: rooms drawn at one place are found in the first.
        chunk = min(_CHUNK, 4096 << min(chunks, 6))
        chunks += 1
        end = min(max(int(np.searchsorted(cum, cum[begin] + chunk, side="right")) - 1, begin + 1), n)
        owner, at = ranges(np.arange(begin + 1, end + 1), count[begin:end])
        one, two = order[owner + begin], order[at]
        if rows.bucket is not None and rows.first is not None:
            # Two rooms share every bucket their overlap reaches: the pair is taken in the one holding its low corner.
            own = np.all(rows.bucket[:, owner + begin] == np.maximum(rows.first[:, one], rows.first[:, two]), axis=0)
            one, two = one[own], two[own]
        one, two = np.minimum(one, two), np.maximum(one, two)  # the earlier room first: the same words either path
        plain = ~polygon[one] & ~polygon[two]
        # Each way round: the space inside the walls of the first met by the second's outer shape. A pair met
        # both ways is found once (the first way).
        ways = [(a, b, *_into(lo, hi, t, a, b)) for a, b in ((one, two), (two, one))]
        deep: list[npt.NDArray[np.bool_]] = [np.all((high - low) > CONTACT_EPS, axis=0) for _, _, low, high in ways]
        for way, (a, b, low, high) in enumerate(ways):
            boxes = (deep[way] & plain & (~deep[0] if way else True)).nonzero()[0][: MAX_LISTED + 1]
            found.extend((int(a[k]), int(b[k]), low[:, k], high[:, k]) for k in boxes.tolist())
        # Pairs with a polygon room: decided on the plans, each way round until one meets.
        for k in ((deep[0] | deep[1]) & ~plain).nonzero()[0].tolist():
            if len(found) > MAX_LISTED:
                break
            for way, (a, b, low, high) in enumerate(ways):
                if not deep[way][k]:
                    continue
                i, j = int(a[k]), int(b[k])
                if turns is None:
                    turns = _turns(rooms)
                work = _pair_work(int(corners[i]), int(corners[j]), float(turns[i]), float(turns[j]))
                work += sum(_offset_work(int(corners[r]), float(turns[r])) for r in plans.to_make(i, j))
                # Counted before it is spent: one pair of large plans could take far more than the whole budget.
                if plan_work + work > MAX_PLAN_WORK:
                    return found, STOPPED
                plan_work += work
                plan = plans.overlap(i, j)
                if plan is not None:  # x and z from the plans, y from the boxes
                    where = (
                        np.array([plan[0][0], low[1, k], plan[0][1]]),
                        np.array([plan[1][0], high[1, k], plan[1][1]]),
                    )
                    found.append((i, j, *where))
                    break
        begin = end
    return found, ("more pairs of rooms overlap than are listed" if len(found) > MAX_LISTED else None)


def overlapping_rooms(cells: Sequence[Cell]) -> list[Issue]:
    """A ``rooms_overlap`` warning for each pair of room cells where the space inside the walls of one meets the
    other's outer shape more than :data:`~sceneforge.tolerances.CONTACT_EPS` deep on every axis (module
    docstring), at the later cell's room, in the cells' order."""
    which = [i for i, c in enumerate(cells) if c.room is not None]
    if len(which) < 2:
        return []
    rooms = [r for c in cells if (r := c.room) is not None]
    lo, hi, t, polygon = _room_boxes(rooms)
    found, bound = _found(rooms, polygon, lo, hi, t)
    pairs = {(max(hit[0], hit[1]), min(hit[0], hit[1])): hit for hit in found}  # each pair is found once
    issues = []
    for key in sorted(pairs)[:MAX_LISTED]:
        inside, other, low, high = pairs[key]
        room, into = cells[which[inside]], cells[which[other]]
        size = " × ".join(f"{v:.3g}" for v in (high - low))
        message = (
            f"the rooms of cells {cells[which[key[1]]].cell_id!r} and {cells[which[key[0]]].cell_id!r} overlap:"
            f" {size} m (x × y × z) of the space inside the walls of {room.cell_id!r} lies in the room of"
            f" {into.cell_id!r}, whose walls or space stand there (rooms that touch share a wall)"
        )
        issues.append(Issue(f"{cells[which[key[0]]].path}/room", "rooms_overlap", message, "warning"))
    if bound is not None:
        bounds = (
            f"at most {MAX_LISTED} pairs are listed; {MAX_PAIRS:,} pairs of rooms are compared by their boxes at most,"
            f" and plans for about {MAX_PLAN_WORK / 1e6:g} s of polygon clipping"
        )
        issues.append(Issue("/cells", "rooms_overlap", f"{bound} ({bounds})", "warning"))
    return issues
