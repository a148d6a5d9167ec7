"""The face collector: triangles built as 2D ones in per-face frames and lifted to 3D in one pass.

A face is a frame (origin, two axes, normal: 3D = origin + u·axis_u + v·axis_v) and 2D triangles or
convex quads in it (:meth:`Faces.add`, :meth:`Faces.add_quads`), wound counter-clockwise about the
face's normal (out of the solid) whatever way they come, degenerate ones dropped. The faces for earcut
(several openings, notched or concave floors, hatches) are queued (:meth:`Faces.add_earcut`) and
triangulated together by :meth:`Faces.finish`, one :func:`~.triangulate.earcut_many` call for every
room's walls and slabs, each batch's triangles put in the place it was queued at.

Also the frame helpers the face builders share: the axes :data:`UP`, :data:`X`, :data:`Z` and
:func:`plan3` (plan vectors (x, z) into 3D).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .triangulate import earcut_many

__all__ = ["UP", "Faces", "X", "Z", "plan3"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


UP = np.array([0.0, 1.0, 0.0])
_SPLIT_02 = np.array([0, 1, 2, 0, 2, 3])  # a quad's two triangles, split along its diagonal (0, 2)
_SPLIT_13 = np.array([1, 2, 3, 1, 3, 0])  # ... along (1, 3), wound the same way
X = np.array([1.0, 0.0, 0.0])
Z = np.array([0.0, 0.0, 1.0])


#: A queued earcut batch of :class:`Faces`: its place in the lists, its jobs and their frames.
_EarcutBatch = tuple[int, list[tuple[F64, list[int], int]], tuple[F64, F64, F64, F64, I64]]


@dataclass(slots=True)
class Faces:
    """Triangles (m, 3, 3) built from 2D ones in face frames (3D = origin + u·axis_u + v·axis_v),
    wound counter-clockwise about their face's normal (out of the solid), with normals and rooms.

    Faces for earcut are queued (:meth:`add_earcut`) and triangulated together by :meth:`finish`, in
    the places they were queued at."""

    corners: list[F64]
    normal: list[F64]
    room: list[I64]
    earcut: list[_EarcutBatch] = field(default_factory=list)

    def add(
        self, tris: F64, origin: F64, axis_u: F64, axis_v: F64, normal: F64, room: I64, at: int | None = None
    ) -> None:
        """``tris`` (m, 3, 2); frame arrays (m, 3) or (3,); ``room`` (m,) or a scalar array. Appended, or put
        in place ``at`` (a queued earcut batch's, :meth:`finish`)."""
        m = tris.shape[0]
        if m == 0:
            return
        corners = _in_frame(tris.reshape(m, 3, 2), origin, axis_u, axis_v)
        self._add_corners(corners, np.broadcast_to(normal, (m, 3)), np.broadcast_to(room, (m,)), at)

    def add_quads(self, quads: F64, origin: F64, axis_u: F64, axis_v: F64, normal: F64, room: I64) -> None:
        """Convex quads (n, 4, 2), two triangles each; frame arrays per quad (n, 3) or broadcastable.

        The quad's corners are placed in 3D once, then split along its shorter diagonal, (0, 1, 2), (0, 2, 3)
        unless (1, 3) is the shorter: the same numbers as placing each triangle's corners, without repeating
        the frame arrays per triangle. Split along the longer diagonal, a picture frame's side piece beside
        an opening a centimetre from the wall's end (1 cm wide, the wall's height tall) made a triangle as
        thin as 1 cm × the opening's height / the wall's height: 0.2 mm in a shaft 100 m tall."""
        n = quads.shape[0]
        if n == 0:
            return
        d02, d13 = quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1]
        other = np.einsum("nk,nk->n", d13, d13) < np.einsum("nk,nk->n", d02, d02) * (1.0 - 1e-9)
        split = np.where(other[:, None], _SPLIT_13, _SPLIT_02)
        corners = np.take_along_axis(_in_frame(quads, origin, axis_u, axis_v), split[:, :, None], axis=1)
        corners = corners.reshape(-1, 3, 3)
        normal = np.asarray(normal)
        normals = np.broadcast_to(normal, (2 * n, 3)) if normal.ndim == 1 else np.repeat(normal, 2, axis=0)
        self._add_corners(corners, normals, np.repeat(np.broadcast_to(room, (n,)), 2))

    def _add_corners(self, corners: F64, normals: F64, room: I64, at: int | None = None) -> None:
        """Triangles (m, 3, 3) with their face normals (m, 3): wound to face along them, degenerate ones dropped.
        Appended, or put in place ``at``.

        A batch is usually wound one way throughout, without degenerate triangles: then it is kept
        as it is (or as a reversed view), with no copies."""
        cross = _cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        facing = np.einsum("mk,mk->m", cross, normals)
        back = facing < 0
        if back.all():
            corners = corners[:, ::-1]
        elif back.any():
            corners = np.where(back[:, None, None], corners[:, ::-1], corners)
        live = facing != 0.0
        if not live.all():
            corners, normals, room = corners[live], normals[live], room[live]
        if at is None:
            self.corners.append(corners)
            self.normal.append(normals)
            self.room.append(room)
        else:
            self.corners[at], self.normal[at], self.room[at] = corners, normals, room

    def add_earcut(self, jobs: list[tuple[F64, list[int], int]], frames: tuple[F64, F64, F64, F64, I64]) -> None:
        """Queue each polygon ``(points, ring ends, frame row)`` for earcut; ``frames`` (origin, u, v,
        normal, room) rows. Its triangles take this place among the faces' (:meth:`finish`)."""
        if not jobs:
            return
        self.earcut.append((len(self.corners), jobs, frames))
        self.corners.append(np.zeros((0, 3, 3)))
        self.normal.append(np.zeros((0, 3)))
        self.room.append(np.zeros(0, dtype=np.int64))

    def finish(self) -> None:
        """Triangulate every queued earcut face in one :func:`~.triangulate.earcut_many` call, each face as it would
        be alone, its triangles put where its batch was queued. (The T-junction and flip passes cost a
        dozen numpy calls per round whatever the batch: six calls, one per wall side and slab face,
        took about 1.6× what one takes on an office: docs/benchmarks.md.)"""
        if not self.earcut:
            return
        batches, self.earcut = self.earcut, []
        tris, job = earcut_many([one for _, jobs, _ in batches for one in jobs])
        first_job = np.cumsum([0, *(len(jobs) for _, jobs, _ in batches)])
        cut = np.searchsorted(job, first_job)  # jobs ascend: each batch's triangles are one run
        for k, (at, jobs, frames) in enumerate(batches):
            lo, hi = int(cut[k]), int(cut[k + 1])
            rows = np.array([row for _, _, row in jobs], np.int64)[job[lo:hi] - first_job[k]]
            origin, axis_u, axis_v, normal, room = frames
            origin, axis_u, axis_v, normal = (np.take(a, rows, axis=0) for a in (origin, axis_u, axis_v, normal))
            self.add(tris[lo:hi], origin, axis_u, axis_v, normal, np.take(room, rows), at)


def _cross(a: F64, b: F64) -> F64:
    """``np.cross`` of (m, 3) rows: the same products and differences, without its axis moves."""
    out = np.empty(a.shape)
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        np.multiply(a[:, j], b[:, k], out=out[:, i])
        out[:, i] -= a[:, k] * b[:, j]
    return out


def _in_frame(points: F64, origin: F64, axis_u: F64, axis_v: F64) -> F64:
    """(n, k, 2) face-frame points → (n, k, 3): origin + u·axis_u + v·axis_v; frame arrays (n, 3) or (3,).

    One coordinate at a time over all the points, summed in that order: numpy's loops then run along
    the points (an (n, k, 3) broadcast ran them along the three coordinates, ~5–15× slower)."""
    u, v = points[..., 0], points[..., 1]
    out = np.empty((*points.shape[:-1], 3))
    frames = [np.asarray(a, dtype=np.float64) for a in (origin, axis_u, axis_v)]
    for c in range(3):
        o, au, av = (a[:, c, None] if a.ndim == 2 else a[c] for a in frames)
        coordinate = out[..., c]
        np.multiply(u, au, out=coordinate)
        coordinate += o
        coordinate += v * av
    return out


def plan3(xz: F64) -> F64:
    """(…, 2) plan vectors → (…, 3) with y = 0."""
    out = np.zeros((*xz.shape[:-1], 3))
    out[..., 0], out[..., 2] = xz[..., 0], xz[..., 1]
    return out
