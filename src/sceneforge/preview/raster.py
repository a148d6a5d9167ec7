"""A vectorized triangle rasterizer: world-space triangles in, a shaded RGB image out, on the CPU.

``rasterize(triangles, colors, camera, width, height, cut_y=…)`` draws (T, 3, 3) triangles with
a depth buffer, flat Lambert shading from two lights, back faces as solid "cut" caps, an
optional horizontal cutting plane (everything above ``cut_y`` is removed, per pixel, so rooms
can be seen from above) and depth-edge outlines. Perspective or orthographic.

Method: every triangle's pixel bounding box is expanded into candidate fragments with
``np.repeat`` (in batches of at most :data:`BATCH_FRAGMENTS`, so memory stays bounded whatever
the scene), barycentric edge functions keep the inside ones, depth is resolved with
``np.minimum.at`` on an integer depth buffer, and the winning triangle id per pixel is kept.
Cost O(T + covered bounding-box pixels); no Python loop per triangle or pixel.

Measured against Mesa's software OpenGL (llvmpipe through EGL with moderngl): that needs
system GL libraries that a plain ``pip install`` does not bring, while this needs numpy alone
and renders a 1,000-cell office at 512×512 well inside the preview budget (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BATCH_FRAGMENTS", "Camera", "look_at", "orthographic", "perspective", "rasterize"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

#: Candidate fragments expanded at once; bounds peak memory (~40 bytes each) whatever the scene.
BATCH_FRAGMENTS = 1 << 21
#: Depth buffer resolution (integer depth keeps ``np.minimum.at`` exact and fast).
_DEPTH_STEPS = (1 << 30) - 1
#: Colour of the inside of cut walls and slabs (back faces), linear RGB.
CAP_COLOR = np.array([0.22, 0.23, 0.26])


@dataclass(frozen=True, slots=True)
class Camera:
    #: (4, 4) world → clip transform (row-major, column vectors).
    view_proj: F64
    #: Eye position for perspective cameras; None for orthographic ones.
    eye: F64 | None
    #: Unit view direction (for orthographic back-face tests and shading).
    forward: F64


def look_at(eye: F64, target: F64, up: F64) -> F64:
    """(4, 4) view matrix: camera at ``eye`` looking at ``target`` (right-handed, -Z forward)."""
    f = target - eye
    f = f / np.linalg.norm(f)
    s = np.cross(f, up)
    s = s / np.linalg.norm(s)
    u = np.cross(s, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = s, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def perspective(eye: F64, target: F64, fov_y_deg: float, near: float, far: float, aspect: float = 1.0) -> Camera:
    f = 1.0 / np.tan(np.radians(fov_y_deg) / 2.0)
    proj = np.zeros((4, 4))
    proj[0, 0], proj[1, 1] = f / aspect, f
    proj[2, 2], proj[2, 3] = (far + near) / (near - far), 2.0 * far * near / (near - far)
    proj[3, 2] = -1.0
    forward = (target - eye) / np.linalg.norm(target - eye)
    return Camera(proj @ look_at(eye, target, np.array([0.0, 1.0, 0.0])), np.asarray(eye, float), forward)


def orthographic(bounds_xz: tuple[float, float, float, float], y_top: float, y_bottom: float) -> Camera:
    """A camera looking straight down (-Y) at the rectangle ``(minx, minz, maxx, maxz)``; +X right, -Z up."""
    x0, z0, x1, z1 = bounds_xz
    sx, sz = 2.0 / max(x1 - x0, 1e-9), 2.0 / max(z1 - z0, 1e-9)
    depth = max(y_top - y_bottom, 1e-9)
    m = np.zeros((4, 4))
    m[0, 0], m[0, 3] = sx, -(x0 + x1) / 2 * sx
    m[1, 2], m[1, 3] = -sz, (z0 + z1) / 2 * sz  # screen up = -Z (north)
    m[2, 1], m[2, 3] = -2.0 / depth, -1.0 + 2.0 * y_top / depth  # y_top → -1 (near), y_bottom → +1 (far)
    m[3, 3] = 1.0
    return Camera(m, None, np.array([0.0, -1.0, 0.0]))


def _shade(normals: F64, colors: F64, front: npt.NDArray[np.bool_], camera: Camera) -> F64:
    """Per-triangle linear RGB: key light + sky fill + ambient on front faces, the cap colour behind."""
    key = np.array([0.45, 0.8, 0.35])
    key /= np.linalg.norm(key)
    fill = -camera.forward
    lambert = 0.58 * np.clip(normals @ key, 0, None) + 0.22 * np.clip(normals @ fill, 0, None)
    sky = 0.5 + 0.5 * normals[:, 1]
    light = 0.30 + lambert + 0.12 * sky
    out: F64 = colors * light[:, None]
    out[~front] = CAP_COLOR
    return np.clip(out, 0.0, 1.0, out=out)


def rasterize(
    triangles: F32 | F64,
    colors: F32 | F64,
    camera: Camera,
    width: int,
    height: int,
    *,
    cut_y: float | F64 | None = None,
    background: tuple[float, float, float] = (0.93, 0.94, 0.96),
    outline: bool = True,
) -> npt.NDArray[np.uint8]:
    """(height, width, 3) uint8 sRGB image of ``triangles`` (T, 3, 3) coloured by ``colors`` (T, 3) 0..1;
    ``cut_y`` one height for all, or (T,) one per triangle (a plan's cells cut at heights of their own)."""
    tri = np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)
    col = np.asarray(colors, dtype=np.float64).reshape(-1, 3)
    n_px = width * height
    zbuf = np.full(n_px, _DEPTH_STEPS + 1, dtype=np.int64)
    ids = np.full(n_px, -1, dtype=np.int64)
    shade = np.zeros((0, 3))
    if tri.shape[0]:
        clip = np.einsum("ij,tvj->tvi", camera.view_proj[:, :3], tri) + camera.view_proj[:, 3]
        w = clip[..., 3]
        keep = np.all(w > 1e-6, axis=1)
        ndc = clip[..., :3] / np.where(keep[:, None], w, 1.0)[..., None]
        keep &= np.all(ndc[..., 2] >= -1.0, axis=1) & np.all(ndc[..., 2] <= 1.0, axis=1)
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        lengths = np.linalg.norm(normals, axis=1)
        keep &= lengths > 1e-12
        normals = normals / np.maximum(lengths, 1e-300)[:, None]
        if camera.eye is not None:
            front = np.einsum("ij,ij->i", normals, camera.eye - tri[:, 0]) > 0
        else:
            front = normals @ camera.forward < 0
        if cut_y is not None:
            keep &= tri[:, :, 1].min(axis=1) <= cut_y
        shade = _shade(normals, col, front, camera)
        sx = (ndc[..., 0] * 0.5 + 0.5) * width
        sy = (0.5 - ndc[..., 1] * 0.5) * height
        _draw(sx, sy, ndc[..., 2], 1.0 / np.where(keep[:, None], w, 1.0), tri[:, :, 1], keep, width, height,
              cut_y, zbuf, ids)  # fmt: skip
    return _compose(zbuf, ids, shade, width, height, np.asarray(background), outline)


def _plane(xs: F64, ys: F64, values: F64) -> tuple[F64, F64, F64]:
    """Per triangle, ``(A, B, C)`` with ``A x + B y + C`` equal to ``values`` (T, 3) at the screen corners."""
    area = (xs[:, 1] - xs[:, 0]) * (ys[:, 2] - ys[:, 0]) - (xs[:, 2] - xs[:, 0]) * (ys[:, 1] - ys[:, 0])
    inv = 1.0 / area
    nxt, prv = [1, 2, 0], [2, 0, 1]
    a = (ys[:, nxt] - ys[:, prv]) * inv[:, None]
    b = (xs[:, prv] - xs[:, nxt]) * inv[:, None]
    c = (xs[:, nxt] * ys[:, prv] - xs[:, prv] * ys[:, nxt]) * inv[:, None]
    return (a * values).sum(axis=1), (b * values).sum(axis=1), (c * values).sum(axis=1)


def _draw(
    sx: F64, sy: F64, sz: F64, inv_w: F64, wy: F64, keep: npt.NDArray[np.bool_], width: int, height: int,
    cut_y: float | F64 | None, zbuf: npt.NDArray[np.int64], ids: npt.NDArray[np.int64],
) -> None:  # fmt: skip
    """Scan-convert the kept triangles into ``zbuf`` / ``ids``: spans per (triangle, pixel row), then
    the pixels of the spans in bounded batches. A pixel belongs to a triangle when its centre is
    inside (left-closed, right-open spans, rows by centre), so shared edges are drawn once."""
    y0 = np.clip(np.ceil(sy.min(axis=1) - 0.5), 0, height).astype(np.int64)
    y1 = np.clip(np.ceil(sy.max(axis=1) - 0.5) - 1, -1, height - 1).astype(np.int64)
    area = (sx[:, 1] - sx[:, 0]) * (sy[:, 2] - sy[:, 0]) - (sx[:, 2] - sx[:, 0]) * (sy[:, 1] - sy[:, 0])
    live = np.flatnonzero(keep & (y1 >= y0) & (np.abs(area) > 1e-12) & (sx.max(axis=1) > 0) & (sx.min(axis=1) < width))
    if live.size == 0:
        return
    xs, ys = sx[live], sy[live]
    za, zb, zc = _plane(xs, ys, sz[live])
    cut = None
    if cut_y is not None:
        # The cut is a line across each triangle in screen space (height over w and 1 / w are both affine
        # there): the pixels below it have ``a * x + b * y + c <= 0``.
        ia, ib, ic = _plane(xs, ys, inv_w[live])
        ya, yb, yc = _plane(xs, ys, wy[live] * inv_w[live])
        level = np.broadcast_to(np.asarray(cut_y, dtype=np.float64), (sx.shape[0],))[live]
        cut = (ya - level * ia, yb - level * ib, yc - level * ic)
    # One row per (triangle, pixel row it covers).
    rows = (y1[live] - y0[live] + 1).astype(np.int64)
    tri = np.repeat(np.arange(live.size), rows)
    py = y0[live][tri] + (np.arange(int(rows.sum())) - np.repeat(np.cumsum(rows) - rows, rows))
    cy = py + 0.5
    left = np.full(tri.size, np.inf)
    right = np.full(tri.size, -np.inf)
    for e0, e1 in ((0, 1), (1, 2), (2, 0)):
        ya, yb, xa, xb = ys[tri, e0], ys[tri, e1], xs[tri, e0], xs[tri, e1]
        crosses = (np.minimum(ya, yb) <= cy) & (cy < np.maximum(ya, yb))
        x = xa + (cy - ya) * (xb - xa) / np.where(crosses, yb - ya, 1.0)
        left = np.where(crosses, np.minimum(left, x), left)
        right = np.where(crosses, np.maximum(right, x), right)
    first, last = np.ceil(left - 0.5), np.ceil(right - 0.5) - 1
    if cut is not None:
        # per row, the pixels whose centres lie below the cut: ``a * x + b <= 0``
        a, b = cut[0][tri], cut[1][tri] * cy + cut[2][tri]
        with np.errstate(divide="ignore", invalid="ignore"):
            edge_x = -b / a
        first = np.where(a < 0, np.maximum(first, np.ceil(edge_x - 0.5)), first)
        last = np.where(a > 0, np.minimum(last, np.floor(edge_x - 0.5)), last)
        last = np.where(((a == 0) & (b > 0)) | np.isnan(a) | np.isnan(b), -1.0, last)
    px0 = np.clip(first, 0, width).astype(np.int64)
    px1 = np.clip(last, -1, width - 1).astype(np.int64)
    counts = np.maximum(px1 - px0 + 1, 0)
    nonempty = np.flatnonzero(counts)
    tri, py, cy, px0, counts = tri[nonempty], py[nonempty], cy[nonempty], px0[nonempty], counts[nonempty]
    z_row = zb[tri] * cy + zc[tri]
    ends = np.cumsum(counts)
    start = 0
    while start < tri.size:
        base = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, base + BATCH_FRAGMENTS, side="right")), start + 1)
        k = counts[start:stop]
        # Per-row values spread over the row's pixels with repeats (sequential), not gathers.
        spans = tri[start:stop]
        t = np.repeat(spans, k)
        px = np.arange(int(k.sum())) + np.repeat(px0[start:stop] - (np.cumsum(k) - k), k)
        cx = px + 0.5
        depth = np.repeat(z_row[start:stop], k) + np.repeat(za[spans], k) * cx
        pix = np.repeat(py[start:stop] * width, k) + px
        q = np.clip((depth * 0.5 + 0.5) * _DEPTH_STEPS, 0, _DEPTH_STEPS).astype(np.int64)
        np.minimum.at(zbuf, pix, q)
        win = q == zbuf[pix]
        ids[pix[win]] = live[t[win]]
        start = stop


def _compose(
    zbuf: npt.NDArray[np.int64], ids: npt.NDArray[np.int64], shade: F64, width: int, height: int,
    background: F64, outline: bool,
) -> npt.NDArray[np.uint8]:  # fmt: skip
    covered = ids >= 0
    palette = np.vstack([shade, background[None, :]]).astype(np.float32)
    index = np.where(covered, ids, len(shade))
    if outline and covered.any():
        # Depth and shading discontinuities drawn dark: crisp room and wall edges.
        z = np.where(covered, zbuf, _DEPTH_STEPS).astype(np.float32).reshape(height, width) / _DEPTH_STEPS
        luma = np.append(shade @ np.array([0.3, 0.59, 0.11]), -1.0).astype(np.float32)[index].reshape(height, width)
        edge = np.zeros((height, width), dtype=bool)
        # Depth is affine in screen space on a plane, so its second difference is zero there whatever
        # the slope; a step or a crease (a silhouette, a wall meeting a floor) makes it jump.
        tol = 4e-4 * (1.0 - z[:, 1:-1] + 1e-3)
        edge[:, 1:-1] |= np.abs(z[:, 2:] - 2 * z[:, 1:-1] + z[:, :-2]) > tol
        tol = 4e-4 * (1.0 - z[1:-1] + 1e-3)
        edge[1:-1] |= np.abs(z[2:] - 2 * z[1:-1] + z[:-2]) > tol
        edge[:, 1:] |= np.abs(np.diff(luma, axis=1)) > 0.04
        edge[1:] |= np.abs(np.diff(luma, axis=0)) > 0.04
        edge = edge.reshape(-1) & covered
        # An edge pixel is its colour darkened: one more palette entry per colour, chosen by index.
        index = index + edge * len(palette)
        palette = np.vstack([palette, palette * np.float32(0.55)])
    # Every pixel is a palette entry: sRGB-encode the palette, not each pixel.
    srgb = np.where(palette <= 0.0031308, palette * 12.92, 1.055 * np.power(np.clip(palette, 0, 1), 1 / 2.4) - 0.055)
    encoded = (np.clip(srgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(encoded[index].reshape(height, width, 3))
