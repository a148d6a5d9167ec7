"""Sliver triangles of a boolean's shell removed without changing its surface.

Where a cutting prism's face is coplanar with a face of the room (a doorway up to the ceiling's
underside, a jamb in line with a wall's end), manifold's symbolic perturbation resolves the
contact exactly but may leave vertices a fraction of a millimetre apart on one plane or crease,
and triangles a fraction of a millimetre high between them — faces the float32 output draws as
cracks or collapses. :func:`remove_slivers` takes them away with three moves that leave every face
in its plane:

* **collapse** an edge of the sliver (the shortest first): one end merges into the other when every other triangle
  around it keeps its plane and its winding with the other end in its place, and the two ends share
  exactly the two neighbours of the edge's triangles (the collapse keeps a 2-manifold);
* **flip** the longest edge of a cap (a corner close to its opposite edge) when the triangle across
  it lies in the same plane and the flip leaves both new triangles wound as before;
* **split** where neither does: a cap whose apex has no vertex across from it on its face's border
  (a window's head 1 mm under the ceiling's underside, the ceiling's line running from corner to
  corner above it: every triangulation without such a vertex joins the head's corners to the far
  corners, 0.33 mm high in a hexagonal room) gets one. The line from the apex square to its long
  edge is followed across the triangles of its plane to the face's border (an edge with another
  face beyond: a crease); a vertex goes there, across from the apex (its foot on the border, or the
  edge's nearer end, where no vertex is put), in both triangles holding that edge, and the
  triangles crossed are flipped to the Delaunay triangulation of their corners in their plane
  (:func:`~.delaunay.flip_to_delaunay`). A half of the triangle beyond left a sliver (the
  long top of a thin wall) is flipped with its neighbour. The new vertex lies on an edge and the
  flips stay in one plane, so every face keeps its surface; it is not collapsed away again (that
  would undo the split).

Only triangles under :data:`SLIVER` high are touched, one move at a time; a flip or a split is
taken only where the lowest triangle it makes is higher than the lowest it replaces. A sliver no
move can take (an input feature that thin, or a corner of two faces) stays. The result is kept only
when it is still closed and wound alike with the same volume; otherwise the shell comes back as it
was. Not taken yet: a split whose vertex on a crease leaves the face beyond a sliver its flips do
not undo (windows 2 cm apart, each 2 mm under the top of a wall 5 cm thick: about 1 in 1,500 of the
random walls of ``tests/geometry/test_margins.py``).

Cost: a loop over the slivers in Python (a few per room that needs the boolean fallback), each
step vectorized over the shell's triangles, at most eight tries per sliver found at the start (a
sliver refused once is not tried again as it stands, nor until a triangle at one of its corners
changes; a split walks at most :data:`_WALK` triangles and flips those alone), and none when that
could pass :data:`WORK` comparisons; rooms on the panel path never come here.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..arrays import distinct
from .delaunay import flip_to_delaunay

__all__ = ["SLIVER", "WORK", "is_closed", "remove_slivers", "signed_volume"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Triangles less high than this (m) are slivers (docs/geometry.md, "Output guarantees").
SLIVER = 5e-4
#: Most (vertex, plane) or (try, triangle) comparisons a shell's clean-up may cost; past it the
#: shell is kept as the boolean made it (a room of thousands of openings): bounded time.
WORK = 1 << 25
#: How far (m, per metre of the scene's scale) a moved corner may leave a face's plane.
_PLANAR = 1e-9
#: How thick (m, per metre of the scene's scale) the change a flip makes may be, on average over its
#: two triangles: under half a float32 step, so no output can tell.
_FLIP_THICK = 2.0**-24


def remove_slivers(vertices: F64, triangles: I64) -> tuple[F64, I64]:
    """``(vertices, triangles)`` of a closed shell with its slivers collapsed or flipped away (see
    the module docstring); unused vertices dropped. The input comes back unchanged when nothing
    could be removed or the result would not be the same closed solid."""
    if triangles.shape[0] == 0:
        return vertices, triangles
    scale = 1.0 + float(np.abs(vertices).max())
    v, t = vertices, triangles.copy()
    changed = False
    # Bounded work: each sliver is tried at most once as it stands (a refused one is remembered by
    # its corners), and the tries are capped by the slivers there were to begin with.
    refused: set[tuple[int, ...]] = set()
    tries = 8 * int((_heights(vertices, t) < SLIVER).sum()) + 16
    if tries * t.shape[0] > WORK:
        return vertices, triangles
    # Closed as written: with vertices at one float32 position taken for one. A move that would leave two vertices
    # at one place with edges of four faces (a thin part of the solid folded against a face across the margin the
    # booleans keep) is refused, once the shell is closed so.
    written = closed_as_written(v, t)
    while tries > 0:
        step = None
        for i in np.flatnonzero(_heights(v, t) < SLIVER).tolist():
            corners = tuple(t[i].tolist())
            if corners in refused:
                continue
            tries -= 1
            step = _step(v, t, i, scale, vertices.shape[0])
            if step is not None and written and not closed_as_written(step[0], step[1]):
                step = None
            if step is not None or tries <= 0:
                break
            refused.add(corners)
        if step is None:
            break
        v, t, touched = step
        written = written or closed_as_written(v, t)
        # A refused sliver may be taken once a triangle at one of its corners changed (the one across its
        # long edge no longer a sliver itself): it is tried again.
        refused = {r for r in refused if touched.isdisjoint(r)}
        changed = True
    if not changed:
        return vertices, triangles
    if not is_closed(t) or abs(signed_volume(v, t) - signed_volume(vertices, triangles)) > 1e-9 * scale**3:
        return vertices, triangles
    if not closed_as_written(v, t) and closed_as_written(vertices, triangles):
        return vertices, triangles
    used, compact = np.unique(t, return_inverse=True)
    return v[used], compact.reshape(-1, 3).astype(np.int64)


def _step(vertices: F64, t: I64, i: int, scale: float, placed: int) -> tuple[F64, I64, set[int]] | None:
    """The vertices and triangles after one move that removes sliver ``i``, and the corners of the
    triangles it changed; None when no move may. Vertices from ``placed`` on were put by splits and
    are not collapsed away (along the edge they lie on that would undo the split, round after round)."""
    p = vertices[t[i]]
    lengths = np.linalg.norm(p[[1, 2, 0]] - p, axis=1)  # edge k runs from corner k to k + 1
    for k in np.argsort(lengths, kind="stable").tolist():  # shortest edge first: the smallest move
        a, b = int(t[i, k]), int(t[i, (k + 1) % 3])
        for keep, gone in ((a, b), (b, a)):
            if gone >= placed:
                continue
            out = _collapse(vertices, t, keep, gone, scale)
            if out is not None:
                return vertices, out, set(t[(t == gone).any(axis=1)].ravel().tolist())
    longest = int(np.argmax(lengths))
    moved = _flip(vertices, t, i, longest, scale)
    step = (vertices, moved) if moved is not None else _split(vertices, t, i, longest, scale)
    if step is None:
        return None
    out_v, out = step
    # A flip rewrites two rows, a split three and adds two: every corner of those, before and after.
    rows = np.flatnonzero((out[: t.shape[0]] != t).any(axis=1))
    touched = set(t[rows].ravel().tolist()) | set(out[rows].ravel().tolist()) | set(out[t.shape[0] :].ravel().tolist())
    return out_v, out, touched


def _collapse(vertices: F64, t: I64, keep: int, gone: int, scale: float) -> I64 | None:
    around = np.flatnonzero((t == gone).any(axis=1))
    both = around[(t[around] == keep).any(axis=1)]
    rest = around[~(t[around] == keep).any(axis=1)]
    if both.size != 2:
        return None
    # The two ends may share only the corners of the edge's two triangles (the link condition).
    ring_keep = set(t[(t == keep).any(axis=1)].ravel().tolist()) - {keep, gone}
    ring_gone = set(t[around].ravel().tolist()) - {keep, gone}
    opposite = set(t[both].ravel().tolist()) - {keep, gone}
    if ring_keep & ring_gone != opposite:
        return None
    before = vertices[t[rest]]
    moved = t[rest].copy()
    moved[moved == gone] = keep
    after = vertices[moved]
    n0 = np.cross(before[:, 1] - before[:, 0], before[:, 2] - before[:, 0])
    n1 = np.cross(after[:, 1] - after[:, 0], after[:, 2] - after[:, 0])
    unit = n0 / np.maximum(np.linalg.norm(n0, axis=1), 1e-300)[:, None]
    off_plane = np.abs(np.einsum("tk,k->t", unit, vertices[keep] - vertices[gone]))
    if (off_plane > _PLANAR * scale).any() or (np.einsum("tk,tk->t", n0, n1) <= 0.0).any():
        return None
    out = t.copy()
    out[rest] = moved
    return np.delete(out, both, axis=0)


def _flip(vertices: F64, t: I64, i: int, k: int, scale: float) -> I64 | None:
    p, q, m = int(t[i, k]), int(t[i, (k + 1) % 3]), int(t[i, (k + 2) % 3])
    across = np.flatnonzero(
        ((t[:, 0] == q) & (t[:, 1] == p)) | ((t[:, 1] == q) & (t[:, 2] == p)) | ((t[:, 2] == q) & (t[:, 0] == p))
    )
    if across.size != 1:
        return None
    j = int(across[0])
    d = int(next(v for v in t[j].tolist() if v not in (p, q)))
    if d == m:
        return None
    old = vertices[t[[i, j]]]
    normal = np.cross(old[:, 1] - old[:, 0], old[:, 2] - old[:, 0]).sum(axis=0)
    normal /= max(float(np.linalg.norm(normal)), 1e-300)
    if abs(float(normal @ (vertices[d] - vertices[m]))) > _PLANAR * scale or not _one_plane(old, scale):
        return None  # the triangle across is not in the sliver's plane
    new = np.array([[p, d, m], [d, q, m]], dtype=t.dtype)
    # The edge d-m must not exist already (the flip would double it).
    if (((t == d).any(axis=1)) & ((t == m).any(axis=1))).any():
        return None
    corners = vertices[new]
    n_new = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    if (n_new @ normal <= 0.0).any():
        return None  # the quad is not convex at d-m: a flip would fold a triangle over
    if _heights(vertices, new).min() <= _heights(vertices, t[[i, j]]).min():
        return None  # no better than before: flipping back and forth would never end
    out = t.copy()
    out[i], out[j] = new
    return out


#: Most triangles of its face the line from a cap's apex crosses on its way to the face's border.
_WALK = 16


def _split(vertices: F64, t: I64, i: int, k: int, scale: float) -> tuple[F64, I64] | None:
    """Sliver ``i`` (long edge p→q, apex m) taken away by a new vertex on its face's border: the line
    from m square to p–q is followed across the triangles of m's plane until it leaves the face by an
    edge with another face beyond (a crease); a vertex s goes there, in both triangles holding that
    edge, and the triangles crossed (the sliver among them) are flipped to the Delaunay triangulation
    of their corners and s, in their plane. The apex of a cap whose neighbours lie on no vertex near
    it (a window's head 1 mm under the ceiling's underside, the ceiling's line above it running from
    corner to corner) gets a partner across the gap: no triangle of that strip need span it from the
    far corners. s lies on an edge and the flips stay in one plane, so every face keeps its surface.
    A half of the triangle beyond left a sliver (the long top of a thin wall) is flipped with its
    neighbour there. None when the line meets a vertex, no crease within :data:`_WALK` triangles, an
    edge without exactly two triangles, or the lowest triangle made is no higher than the lowest of
    those replaced (no move that ends worse)."""
    p, q, m = int(t[i, k]), int(t[i, (k + 1) % 3]), int(t[i, (k + 2) % 3])
    j = _row_with_edge(t, q, p)
    if j is None:
        return None
    pair = vertices[t[[i, j]]]
    normal = np.cross(pair[1, 1] - pair[1, 0], pair[1, 2] - pair[1, 0])  # the face's, from the triangle across
    normal /= max(float(np.linalg.norm(normal)), 1e-300)
    origin = vertices[p]
    along = vertices[q] - origin
    length = float(np.linalg.norm(along))
    along /= max(length, 1e-300)
    across = np.cross(normal, along)  # in the plane, square to p–q, away from m
    if float((vertices[m] - origin) @ across) > 0.0:
        across = -across
    foot = float((vertices[m] - origin) @ along)
    if not 0.0 < foot < length:
        return None
    # Walk: the line x = foot (in the plane's (along, across) frame) enters ``row`` by edge (u, w).
    crossed = [i]
    row, u, w, beyond = j, q, p, -1
    for _ in range(_WALK):
        z = int(next(c for c in t[row].tolist() if c not in (u, w)))
        if z == m or not _one_plane(vertices[t[[crossed[-1], row]]], scale):
            return None
        if abs(float((vertices[z] - origin) @ normal)) > _PLANAR * scale:
            return None  # off the sliver's plane
        crossed.append(row)
        xu, xz = ((vertices[c] - origin) @ along for c in (u, z))
        if xz == foot:
            split = False  # the line meets a vertex: the triangles crossed are flipped alone
            break
        a, b = (u, z) if (xu - foot) * (xz - foot) < 0.0 else (z, w)
        xa, xb = float((vertices[a] - origin) @ along), float((vertices[b] - origin) @ along)
        if (xa - foot) * (xb - foot) >= 0.0:
            return None
        at = (foot - xa) / (xb - xa)
        if min(at, 1.0 - at) * float(np.linalg.norm(vertices[b] - vertices[a])) < SLIVER:
            split = False  # or passes as near one as the apex was to its edge
            break
        # The edge a–b as ``row`` holds it, and the triangle beyond.
        forward = _row_with_edge(t, b, a) if _holds(t[row], a, b) else _row_with_edge(t, a, b)
        if not _holds(t[row], a, b):
            a, b, at = b, a, 1.0 - at
        if forward is None or forward in crossed:
            return None
        far = int(next(c for c in t[forward].tolist() if c not in (a, b)))
        if abs(float((vertices[far] - origin) @ normal)) > _PLANAR * scale:
            # A crease: the face's border. The vertex goes across from the apex (its foot on the border)
            # where that lies on this edge, and none where the edge's end is as near as that.
            edge = vertices[b] - vertices[a]
            square = float((vertices[m] - vertices[a]) @ edge) / max(float(edge @ edge), 1e-300)
            at = square if 0.0 < square < 1.0 else at
            split, beyond = min(at, 1.0 - at) * float(np.linalg.norm(edge)) >= SLIVER, forward
            break
        row, u, w = forward, b, a
    else:
        return None
    out_v, region = vertices, t[crossed]
    if split:
        point = vertices[a] + at * (vertices[b] - vertices[a])
        # Where another vertex of the shell lies as near (a thin part of the solid folded against this face, across
        # the margin the booleans keep), the new one would stand on it: one place, two vertices, edges of four faces
        # once positions are merged (a hatch over a reflex corner's block, its ceiling slab 0.1 m thick).
        if bool((np.linalg.norm(vertices - point, axis=1) < SLIVER).any()):
            return None
        s = vertices.shape[0]
        out_v = np.concatenate([vertices, point[None]])
        region = np.concatenate([t[crossed[:-1]], np.array(_halves(t[row], a, b, s), dtype=t.dtype)])
    # The triangles crossed (the last cut at s) flipped to Delaunay in their plane, then wound as the face.
    flat = np.stack([(out_v - origin) @ along, (out_v - origin) @ across], axis=1)
    region = flip_to_delaunay(flat, region)
    corners = out_v[region]
    wound = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]) @ normal
    if (wound == 0.0).any():
        return None
    region = np.where((wound < 0.0)[:, None], region[:, ::-1], region)
    out = t.copy()
    out[crossed] = region[: len(crossed)]
    if split:
        b_first, b_second = _halves(t[beyond], b, a, s)
        out[beyond] = b_first
        out = np.concatenate([out, region[len(crossed) :], np.array([b_second], dtype=t.dtype)])
        for r in (beyond, out.shape[0] - 1):
            if _heights(out_v, out[[r]])[0] < SLIVER:
                p_row = out_v[out[r]]
                longest = int(np.argmax(np.linalg.norm(p_row[[1, 2, 0]] - p_row, axis=1)))
                flipped = _flip(out_v, out, r, longest, scale)
                if flipped is not None:
                    out = flipped
    rows = np.flatnonzero((out[: t.shape[0]] != t).any(axis=1))
    after = np.concatenate([out[rows], out[t.shape[0] :]])
    if rows.size == 0 or _heights(out_v, after).min() <= _heights(vertices, t[rows]).min():
        return None  # no better than before
    return out_v, out


def _holds(row: I64, a: int, b: int) -> bool:
    """Whether triangle ``row`` holds the directed edge a→b."""
    c = row.tolist()
    return (c[0], c[1]) == (a, b) or (c[1], c[2]) == (a, b) or (c[2], c[0]) == (a, b)


def _one_plane(pair: F64, scale: float) -> bool:
    """Whether two triangles ``pair`` (2, 3, 3) sharing an edge lie in one plane as far as the output
    can tell: a flip of that edge changes the solid by the tetrahedron of their four corners, which
    must be thinner over their area than half a float32 step at the scene's scale (:data:`_FLIP_THICK`).
    Asked besides the far corner against the pair's summed normal: a sliver on a crease tilts that
    normal, and a far corner as far off the plane as the tilt brings it back passed that alone (a
    wall's face and a window's head 0.5 mm under its apex, flipped: 2e-6 m³ lost, the surface moved
    0.5 mm on average); a sliver nanometres thin on a crease is flipped as before."""
    a, b, c = pair[0]
    far = next((p for p in pair[1] if not ((p == a).all() or (p == b).all() or (p == c).all())), None)
    if far is None:
        return False  # one triangle twice (corners at one place): no flip
    volume6 = abs(float(np.linalg.det(np.stack([b - a, c - a, far - a]))))
    area2 = np.linalg.norm(np.cross(pair[:, 1] - pair[:, 0], pair[:, 2] - pair[:, 0]), axis=1).sum()
    return volume6 <= _FLIP_THICK * scale * float(area2)


def _row_with_edge(t: I64, a: int, b: int) -> int | None:
    """The one triangle holding the directed edge a→b, or None when there is none or several."""
    rows = np.flatnonzero(
        ((t[:, 0] == a) & (t[:, 1] == b)) | ((t[:, 1] == a) & (t[:, 2] == b)) | ((t[:, 2] == a) & (t[:, 0] == b))
    )
    return int(rows[0]) if rows.size == 1 else None


def _halves(row: I64, a: int, b: int, s: int) -> tuple[list[int], list[int]]:
    """Triangle ``row`` holding the directed edge a→b cut in two at a new vertex ``s`` on that edge."""
    corners = row.tolist()
    c = next(v for v in corners if v not in (a, b))
    return [a, s, c], [s, b, c]


def _heights(vertices: F64, t: I64) -> F64:
    p = vertices[t]
    area2 = np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
    longest = np.linalg.norm(p[:, [1, 2, 0]] - p, axis=2).max(axis=1)
    heights: F64 = area2 / np.maximum(longest, 1e-300)
    return heights


def is_closed(t: I64) -> bool:
    """Every directed edge once, and its reverse once: a closed, consistently wound 2-manifold."""
    if t.shape[0] == 0:
        return False
    edges = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
    n = int(t.max()) + 1
    forward = edges[:, 0] * n + edges[:, 1]
    if distinct(forward).size != forward.size:
        return False
    return bool(np.isin(edges[:, 1] * n + edges[:, 0], forward, assume_unique=True).all())


def closed_as_written(vertices: F64, t: I64) -> bool:
    """:func:`is_closed` with vertices at one float32 position taken for one (as a viewer or a weld reads the
    output), triangles left with two corners at one place dropped (the output drops them)."""
    _, merged = np.unique(vertices.astype(np.float32), axis=0, return_inverse=True)
    m = merged.reshape(-1)[t]
    m = m[(m[:, 0] != m[:, 1]) & (m[:, 1] != m[:, 2]) & (m[:, 2] != m[:, 0])]
    return is_closed(m)


def signed_volume(vertices: F64, t: I64) -> float:
    """The volume a closed shell wound outwards encloses (negative wound inwards)."""
    p = vertices[t]
    return float(np.einsum("tk,tk->t", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0)
