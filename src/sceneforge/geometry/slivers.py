"""Sliver triangles of a boolean's shell removed without changing its surface.

Where a cutting prism's face is coplanar with a face of the room (a doorway up to the ceiling's
underside, a jamb in line with a wall's end), manifold's symbolic perturbation resolves the
contact exactly but may leave vertices a fraction of a millimetre apart on one plane or crease,
and triangles a fraction of a millimetre high between them — faces the float32 output draws as
cracks or collapses. :func:`remove_slivers` takes them away with two moves that leave every face
in its plane:

* **collapse** an edge of the sliver (the shortest first): one end merges into the other when every other triangle
  around it keeps its plane and its winding with the other end in its place, and the two ends share
  exactly the two neighbours of the edge's triangles (the collapse keeps a 2-manifold);
* **flip** the longest edge of a cap (a corner close to its opposite edge) when the triangle across
  it lies in the same plane and the flip leaves both new triangles wound as before.

Only triangles under :data:`SLIVER` high are touched, one move at a time; a sliver neither move can
take (an input feature that thin, or a corner of two faces) stays. The result is kept only when it
is still closed and wound alike with the same volume; otherwise the shell comes back as it was.

Cost: a loop over the slivers in Python (a few per room that needs the boolean fallback), each
step vectorized over the shell's triangles, at most eight tries per sliver found at the start (a
sliver refused once is not tried again as it stands), and none when that could pass :data:`WORK`
comparisons; rooms on the panel path never come here.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..arrays import distinct

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


def remove_slivers(vertices: F64, triangles: I64) -> tuple[F64, I64]:
    """``(vertices, triangles)`` of a closed shell with its slivers collapsed or flipped away (see
    the module docstring); unused vertices dropped. The input comes back unchanged when nothing
    could be removed or the result would not be the same closed solid."""
    if triangles.shape[0] == 0:
        return vertices, triangles
    scale = 1.0 + float(np.abs(vertices).max())
    t = triangles.copy()
    changed = False
    # Bounded work: each sliver is tried at most once as it stands (a refused one is remembered by
    # its corners), and the tries are capped by the slivers there were to begin with.
    refused: set[tuple[int, ...]] = set()
    tries = 8 * int((_heights(vertices, t) < SLIVER).sum()) + 16
    if tries * t.shape[0] > WORK:
        return vertices, triangles
    while tries > 0:
        step = None
        for i in np.flatnonzero(_heights(vertices, t) < SLIVER).tolist():
            corners = tuple(t[i].tolist())
            if corners in refused:
                continue
            tries -= 1
            step = _step(vertices, t, i, scale)
            if step is not None or tries <= 0:
                break
            refused.add(corners)
        if step is None:
            break
        t = step
        changed = True
    if not changed:
        return vertices, triangles
    if not is_closed(t) or abs(signed_volume(vertices, t) - signed_volume(vertices, triangles)) > 1e-9 * scale**3:
        return vertices, triangles
    used, compact = np.unique(t, return_inverse=True)
    return vertices[used], compact.reshape(-1, 3).astype(np.int64)


def _step(vertices: F64, t: I64, i: int, scale: float) -> I64 | None:
    """The triangles after one move that removes sliver ``i``, or None when neither move may."""
    p = vertices[t[i]]
    lengths = np.linalg.norm(p[[1, 2, 0]] - p, axis=1)  # edge k runs from corner k to k + 1
    for k in np.argsort(lengths, kind="stable").tolist():  # shortest edge first: the smallest move
        a, b = int(t[i, k]), int(t[i, (k + 1) % 3])
        for keep, gone in ((a, b), (b, a)):
            out = _collapse(vertices, t, keep, gone, scale)
            if out is not None:
                return out
    return _flip(vertices, t, i, int(np.argmax(lengths)), scale)


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
    if abs(float(normal @ (vertices[d] - vertices[m]))) > _PLANAR * scale:
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


def signed_volume(vertices: F64, t: I64) -> float:
    """The volume a closed shell wound outwards encloses (negative wound inwards)."""
    p = vertices[t]
    return float(np.einsum("tk,tk->t", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0)
