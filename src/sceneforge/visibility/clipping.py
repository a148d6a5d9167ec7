"""Clipping of batches of convex portal polygons by planes (Sutherland–Hodgman, vectorized).

What: the part of each polygon in front of a plane, ``n·x + d >= -PVS_EPS`` — one plane per row
(:func:`clip`), or each row by its own list of planes in order (:func:`clip_all`, :func:`clip_rows`) — and
the helpers the portal flow (:mod:`.pvs`) shares with it: :func:`next_slot` / :func:`prev_slot` (a
row's neighbouring vertices), :func:`trim` and :func:`gather_clipped`. Safe on any finite input; a row with
no vertex left has count 0.

Layout: polygons are coordinate-major (3, B, V) arrays — each coordinate a contiguous (B, V) plane, so
cross and dot products are plain elementwise arithmetic — with a vertex count per row and V the widest row
of the batch (not a fixed maximum). Clipping is Sutherland–Hodgman with a cumulative-sum compaction
(I. E. Sutherland and G. W. Hodgman, "Reentrant polygon clipping", Communications of the ACM 17(1),
1974); a clip rebuilds only the rows its plane crosses (a tenth of them on the maze). Every row is
classified against its planes at once ((P, B) distances a vertex slot at a time, lowest and highest over
V kept) and clipped only where a plane crosses it (:func:`clip_all`: ~4 % of the (target, plane) pairs on
office levels, 56–61 % of the targets wholly outside one), in rounds (round k: each row's k-th crossing
plane). A clip that would pass ``_MAX_VERTS`` vertices leaves its row unclipped (conservative; not seen on
mazes or apartments). Clipped polygons reached at most 6 vertices on 2,000-cell levels.

Conservative: every clip keeps points up to :data:`~sceneforge.tolerances.PVS_EPS` outside the plane,
and a row is dropped without clipping only when all its vertices are ``_OUT_MARGIN`` beyond that slack,
so rounding can only grow the PVS.

Cost: O(rows · V) elementwise passes per plane; ~30–35 % of the flow's time on office levels (its target
clips). Rows are gathered with ``ndarray.take`` (an ``a[:, idx]`` index took ~10× as long; ``np.take``
and ``np.flatnonzero`` add ~0.8 µs of Python wrapper a call). A dot product of stacked coordinates is
their product summed over the coordinate axis: x·a + y·b + z·c in that order, the same bits as three
elementwise adds. Rejected (docs/benchmarks.md, PVS): the classification as a (3, V, P, B) product
summed over the coordinates (~1.5× as much, memory traffic; the slot-by-slot form took the flow −7.5 %),
one pass per plane column instead of rounds, polygons of a fixed 16 vertices (the 1,000-cell maze's flow
0.154 s against 0.079 s with the batch's own width).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..tolerances import PVS_EPS

__all__ = ["SLOTS", "clip", "clip_all", "clip_rows", "gather_clipped", "next_slot", "prev_slot", "trim"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]


#: Most vertices a clipped portal polygon may have (a quad clipped by planes gains one per plane).
_MAX_VERTS = 16
SLOTS = np.arange(2 * _MAX_VERTS)
#: A row is dropped by a plane without clipping only when all its vertices are this far (m) beyond
#: the plane's slack: rounding in a sequence of clips can never bring one of them back inside.
_OUT_MARGIN = 1e-9


def next_slot(a: F64, count: I64) -> F64:
    """``a`` (..., B, V): the value at slot ``(j + 1) mod count`` for every valid slot ``j``."""
    out = np.empty_like(a)
    out[..., :-1] = a[..., 1:]
    out[..., -1] = a[..., 0]
    short = (count < a.shape[-1]).nonzero()[0]  # rows whose last vertex is not in the last slot
    if short.size:
        out[..., short, count[short] - 1] = a[..., short, 0]
    return out


def prev_slot(a: F64, count: I64) -> F64:
    """``a`` (..., B, V): the value at slot ``(j - 1) mod count`` for every valid slot ``j``."""
    out = np.empty_like(a)
    out[..., 1:] = a[..., :-1]
    out[..., 0] = a[..., -1]
    short = (count < a.shape[-1]).nonzero()[0]
    if short.size:
        out[..., short, 0] = a[..., short, count[short] - 1]
    return out


def trim(poly: F64, count: I64) -> F64:
    """``poly`` (3, B, V) cut to the widest row's vertex count (at least 1)."""
    return poly[:, :, : max(int(count.max(initial=0)), 1)]


def clip(poly: F64, count: I64, plane: F64) -> tuple[F64, I64]:
    """Keep the part of each polygon with ``n·x + d >= -PVS_EPS``.

    ``poly`` (3, B, V) (coordinate, row, vertex), ``count`` (B,), ``plane`` (4, B). Returns a
    (3, B, V') array, V' ≥ V the widest result, and counts (``poly`` itself when no row changes
    shape); a row whose result would exceed ``_MAX_VERTS`` vertices is returned unclipped. Only
    the rows that the plane crosses are rebuilt (a tenth of them on the maze); the others are
    kept whole or emptied.
    """
    _, b, v = poly.shape
    dist, dist_n, inside, cross = _sides(poly, count, plane)
    counts = np.where(inside.any(axis=1), count, 0)
    rows = np.flatnonzero(cross.any(axis=1))
    if not rows.size:
        return poly, counts
    sub, sub_count = _rebuild(poly.take(rows, axis=1), count[rows], dist[rows], dist_n[rows], inside[rows], cross[rows])
    width = max(v, sub.shape[2])
    out = np.empty((3, b, width))
    out[:, :, :v] = poly
    out[:, :, v:] = 0.0
    out[:, rows, : sub.shape[2]] = sub
    counts[rows] = sub_count
    return out, counts


def _clip_crossed(poly: F64, count: I64, plane: F64) -> tuple[F64, I64]:
    """:func:`clip` for rows that the plane is known to cross, most of them: every row is rebuilt
    (a row wholly inside comes out the same, one wholly outside empty), without picking the crossed
    rows first."""
    return _rebuild(poly, count, *_sides(poly, count, plane))


def _sides(poly: F64, count: I64, plane: F64) -> tuple[F64, F64, B8, B8]:
    """Each vertex against the plane, widened by ``PVS_EPS``: its distance, the next vertex's, whether it
    is inside, and whether the edge to the next vertex crosses the plane (padded slots neither)."""
    valid = SLOTS[: poly.shape[2]] < count[:, None]
    dist = poly[0] * plane[0][:, None] + poly[1] * plane[1][:, None] + poly[2] * plane[2][:, None]
    dist += plane[3][:, None]
    dist += PVS_EPS
    inside = (dist >= 0.0) & valid
    dist_n = next_slot(dist, count)
    return dist, dist_n, inside, valid & (inside != (dist_n >= 0.0))


def _rebuild(poly: F64, count: I64, dist: F64, dist_n: F64, inside: B8, cross: B8) -> tuple[F64, I64]:
    """Sutherland–Hodgman output of rows that a plane crosses: the inside vertices and the
    crossing points in order, compacted by a cumulative sum. (3, R, V'), V' the widest result."""
    _, r, v = poly.shape
    t = dist / np.where(cross, dist - dist_n, 1.0)
    # Each vertex and the crossing point after it, interleaved: (3, R, V, 2) and (R, V, 2) filled in place.
    both = np.empty((3, r, v, 2))
    both[..., 0] = poly
    hit = next_slot(poly, count)
    hit -= poly
    hit *= t
    np.add(hit, poly, out=both[..., 1])
    pairs = np.empty((r, v, 2), bool)
    pairs[..., 0] = inside
    pairs[..., 1] = cross
    emit = pairs.reshape(r, 2 * v)
    new_count = emit.sum(axis=1)
    fits = new_count <= _MAX_VERTS
    counts = np.where(fits, new_count, count)
    width = max(int(counts.max()), v)
    # Flat indices into the (R, 2V) candidates: gathers and scatters along one axis (np.take).
    flat = np.flatnonzero(emit & fits[:, None])
    pos = (np.cumsum(emit, axis=1) - 1).ravel().take(flat)
    pos += (flat // (2 * v)) * width
    out = np.zeros((3, r * width))
    out[:, pos] = both.reshape(3, r * 2 * v).take(flat, axis=1)
    out = out.reshape(3, r, width)
    if not fits.all():
        out[:, ~fits, :v] = poly[:, ~fits]
    return out, counts


def clip_all(poly: F64, count: I64, planes: F64) -> tuple[F64, I64]:
    """Clip each row of ``poly`` (3, B, V) by its own planes ``planes`` (4, P, B), in plane order, as
    :func:`clip` one plane at a time would: keep ``n·x + d >= -PVS_EPS``.

    Every (row, plane) pair is classified first, in one batch, against the row as given: a plane the
    whole row is inside is skipped (clipping only shrinks a convex polygon, so it stays inside), a
    plane the whole row is outside of (by more than ``_OUT_MARGIN``) empties the row, and only the
    pairs a plane crosses are clipped (a twentieth of the pairs on the office levels), in rounds: the
    k-th round clips each row by the k-th plane crossing it. Skipping a clip can only keep more, so
    this stays conservative.
    Returns (polygons, counts); ``poly`` is not modified.
    """
    _, b, v = poly.shape
    count, hit, sub = clip_rows(poly, count, planes)
    if not hit.size:
        return poly, count
    width = max(v, int(count[hit].max()))
    out = np.empty((3, b, width))
    out[:, :, :v] = poly
    out[:, :, v:] = 0.0
    out[:, hit] = sub[:, :, :width]
    return out, count


def clip_rows(poly: F64, count: I64, planes: F64) -> tuple[I64, I64, F64]:
    """:func:`clip_all` without putting the rows back: the new counts (B,), the rows a plane crossed
    (``hit``, increasing) and their clipped polygons (3, H, V'), zeros past each row's count. Every other
    row is ``poly``'s as given (or emptied: count 0)."""
    _, b, v = poly.shape
    if not b or not planes.shape[1]:
        return count, np.zeros(0, np.int64), np.zeros((3, 0, v))
    # Every vertex slot's distance to every plane, one slot at a time into (P, B) buffers (rows innermost),
    # summed over the coordinates in order (x·a + y·b + z·c, the bits of a stacked product summed over its
    # coordinate axis); the lowest and highest over the row's vertices kept as they come. A (3, V, P, B)
    # product and its sum cost ~1.5× as much (memory traffic: ten times the buffers).
    a, b_, c = planes[0], planes[1], planes[2]
    offset = planes[3] + PVS_EPS
    padded = int(count.min()) < v  # padded slots count neither as inside nor as outside
    low, high = np.empty_like(offset), np.empty_like(offset)
    dist, term = np.empty_like(offset), np.empty_like(offset)
    pt = np.ascontiguousarray(poly.transpose(0, 2, 1))  # (3, V, B): each vertex slot's coordinates contiguous
    for j in range(v):
        np.multiply(a, pt[0, j], out=dist)
        np.multiply(b_, pt[1, j], out=term)
        dist += term
        np.multiply(c, pt[2, j], out=term)
        dist += term
        dist += offset
        lo, hi = dist, dist
        if padded:
            real = j < count
            lo, hi = np.where(real, dist, np.inf), np.where(real, dist, -np.inf)
        if j:
            np.minimum(low, lo, out=low)
            np.maximum(high, hi, out=high)
        else:
            np.copyto(low, lo)
            np.copyto(high, hi)
    count = np.where((high < -_OUT_MARGIN).any(axis=0), 0, count)
    cross = low < 0.0
    cross &= count > 0
    crossed = cross.sum(axis=0)
    hit = crossed.nonzero()[0]
    if not hit.size:
        return count, hit, np.zeros((3, 0, v))
    # Round k clips every row by the k-th plane that crosses it (plane order kept): as many rounds as
    # the most planes crossing one row (one or two), not one per plane column. The crossing rows are
    # clipped apart and put back once.
    crossed = crossed[hit]
    rounds = int(crossed.max())
    sub_cross = cross.take(hit, axis=1)
    rank = np.cumsum(sub_cross, axis=0)
    flat = planes.reshape(4, -1)
    # Room for one vertex more per round (a convex polygon gains at most one per clip).
    sub = np.zeros((3, hit.size, v + rounds))
    sub[:, :, :v] = poly.take(hit, axis=1)
    sub_count = count[hit]
    for k in range(1, rounds + 1):
        sel = ((crossed >= k) & (sub_count > 0)).nonzero()[0]
        if not sel.size:
            break
        col = np.argmax((rank.take(sel, axis=1) == k) & sub_cross.take(sel, axis=1), axis=0)
        # Only the slots the selected rows use (the buffer is rounds slots wider): the clip's passes run over
        # half as many. The rows' slots up to the width clipped are all rewritten (zeros past their count).
        now = sub_count[sel]
        part, part_count = _clip_crossed(
            sub[:, :, : int(now.max())].take(sel, axis=1), now, flat.take(col * b + hit[sel], axis=1)
        )
        if part.shape[2] > sub.shape[2]:
            sub = np.concatenate([sub, np.zeros((3, hit.size, part.shape[2] - sub.shape[2]))], axis=2)
        sub[:, sel, : part.shape[2]] = part
        sub_count[sel] = part_count
    count[hit] = sub_count
    return count, hit, sub


def gather_clipped(poly: F64, rows: I64, count: I64, hit: I64, sub: F64) -> F64:
    """Rows ``rows`` (increasing) of ``poly`` (3, B, V) as :func:`clip_rows` left them, trimmed to the
    widest of ``count`` (theirs): ``hit`` holds the rows it rebuilt (increasing) and ``sub`` their polygons,
    zeros past each row's count; the others are ``poly``'s, zeros past its width. (Putting every row
    back first, as :func:`clip_all` does, copied all the targets where a third of them go on.)"""
    width = max(int(count.max(initial=0)), 1)
    out = np.zeros((3, rows.shape[0], width))
    out[:, :, : min(poly.shape[2], width)] = poly[:, :, :width].take(rows, axis=1)
    if hit.size:
        at = np.searchsorted(hit, rows)
        found = at < hit.shape[0]
        found[found] = hit[at[found]] == rows[found]
        pick = found.nonzero()[0]
        if pick.size:
            w = min(sub.shape[2], width)
            out[:, pick, :w] = sub[:, :, :w].take(at[pick], axis=1)
            out[:, pick, w:] = 0.0
    return out
