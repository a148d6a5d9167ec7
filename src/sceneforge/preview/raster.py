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
    cut_y: float | None = None,
    background: tuple[float, float, float] = (0.93, 0.94, 0.96),
    outline: bool = True,
) -> npt.NDArray[np.uint8]:
    """(height, width, 3) uint8 sRGB image of ``triangles`` (T, 3, 3) coloured by ``colors`` (T, 3) 0..1."""
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


def _draw(
    sx: F64, sy: F64, sz: F64, inv_w: F64, wy: F64, keep: npt.NDArray[np.bool_], width: int, height: int,
    cut_y: float | None, zbuf: npt.NDArray[np.int64], ids: npt.NDArray[np.int64],
) -> None:  # fmt: skip
    """Scan-convert the kept triangles into ``zbuf`` / ``ids`` in bounded batches."""
    x0 = np.clip(np.ceil(sx.min(axis=1) - 0.5), 0, width).astype(np.int64)
    x1 = np.clip(np.floor(sx.max(axis=1) - 0.5), -1, width - 1).astype(np.int64)
    y0 = np.clip(np.ceil(sy.min(axis=1) - 0.5), 0, height).astype(np.int64)
    y1 = np.clip(np.floor(sy.max(axis=1) - 0.5), -1, height - 1).astype(np.int64)
    bw, bh = x1 - x0 + 1, y1 - y0 + 1
    area = (sx[:, 1] - sx[:, 0]) * (sy[:, 2] - sy[:, 0]) - (sx[:, 2] - sx[:, 0]) * (sy[:, 1] - sy[:, 0])
    live = np.flatnonzero(keep & (bw > 0) & (bh > 0) & (np.abs(area) > 1e-12))
    if live.size == 0:
        return
    # Edge function coefficients: l_i(x, y) = a_i x + b_i y + c_i, normalized so l_0 + l_1 + l_2 = 1.
    xs, ys = sx[live], sy[live]
    inv_area = 1.0 / area[live]
    nxt, prv = [1, 2, 0], [2, 0, 1]
    a = (ys[:, nxt] - ys[:, prv]) * inv_area[:, None]
    b = (xs[:, prv] - xs[:, nxt]) * inv_area[:, None]
    c = (xs[:, nxt] * ys[:, prv] - xs[:, prv] * ys[:, nxt]) * inv_area[:, None]
    counts = (bw[live] * bh[live]).astype(np.int64)
    ends = np.cumsum(counts)
    start = 0
    while start < live.size:
        base = ends[start - 1] if start else 0
        stop = max(int(np.searchsorted(ends, base + BATCH_FRAGMENTS, side="right")), start + 1)
        sel = np.arange(start, stop)
        _fragments(sel, live, counts, x0, y0, bw, a, b, c, sz, inv_w, wy, width, cut_y, zbuf, ids)
        start = stop


def _fragments(
    sel: npt.NDArray[np.int64], live: npt.NDArray[np.int64], counts: npt.NDArray[np.int64],
    x0: npt.NDArray[np.int64], y0: npt.NDArray[np.int64], bw: npt.NDArray[np.int64],
    a: F64, b: F64, c: F64, sz: F64, inv_w: F64, wy: F64, width: int, cut_y: float | None,
    zbuf: npt.NDArray[np.int64], ids: npt.NDArray[np.int64],
) -> None:  # fmt: skip
    k = counts[sel]
    owner = np.repeat(sel, k)
    offsets = np.cumsum(k) - k
    local = np.arange(int(k.sum()), dtype=np.int64) - np.repeat(offsets, k)
    t = live[owner]
    w_box = bw[t]
    px = x0[t] + local % w_box
    py = y0[t] + local // w_box
    cx, cy = px + 0.5, py + 0.5
    l0 = a[owner, 0] * cx + b[owner, 0] * cy + c[owner, 0]
    l1 = a[owner, 1] * cx + b[owner, 1] * cy + c[owner, 1]
    l2 = 1.0 - l0 - l1
    inside = (l0 >= 0) & (l1 >= 0) & (l2 >= 0)
    owner, t, px, py, l0, l1, l2 = owner[inside], t[inside], px[inside], py[inside], l0[inside], l1[inside], l2[inside]
    depth = l0 * sz[t, 0] + l1 * sz[t, 1] + l2 * sz[t, 2]
    if cut_y is not None:
        iw = l0 * inv_w[t, 0] + l1 * inv_w[t, 1] + l2 * inv_w[t, 2]
        y = (l0 * wy[t, 0] * inv_w[t, 0] + l1 * wy[t, 1] * inv_w[t, 1] + l2 * wy[t, 2] * inv_w[t, 2]) / iw
        below = y <= cut_y
        t, px, py, depth = t[below], px[below], py[below], depth[below]
    q = np.clip((depth * 0.5 + 0.5) * _DEPTH_STEPS, 0, _DEPTH_STEPS).astype(np.int64)
    pix = py * width + px
    np.minimum.at(zbuf, pix, q)
    win = q == zbuf[pix]
    ids[pix[win]] = t[win]


def _compose(
    zbuf: npt.NDArray[np.int64], ids: npt.NDArray[np.int64], shade: F64, width: int, height: int,
    background: F64, outline: bool,
) -> npt.NDArray[np.uint8]:  # fmt: skip
    covered = ids >= 0
    rgb = np.tile(background, (width * height, 1))
    rgb[covered] = shade[ids[covered]]
    if outline and covered.any():
        # Depth and surface discontinuities drawn dark: crisp room and wall edges.
        z = np.where(covered, zbuf, _DEPTH_STEPS).astype(np.float64).reshape(height, width) / _DEPTH_STEPS
        idg = ids.reshape(height, width)
        edge = np.zeros((height, width), dtype=bool)
        dz = np.abs(np.diff(z, axis=1)) > 2e-3 * (1.0 - np.minimum(z[:, 1:], z[:, :-1]) + 1e-3)
        edge[:, 1:] |= dz
        dz = np.abs(np.diff(z, axis=0)) > 2e-3 * (1.0 - np.minimum(z[1:], z[:-1]) + 1e-3)
        edge[1:] |= dz
        normal_change = np.zeros_like(edge)
        same = shade[np.maximum(idg, 0)]
        normal_change[:, 1:] |= np.abs(same[:, 1:] - same[:, :-1]).sum(axis=2) > 0.12
        normal_change[1:] |= np.abs(same[1:] - same[:-1]).sum(axis=2) > 0.12
        edge = (edge | normal_change).reshape(-1) & covered
        rgb[edge] *= 0.55
    srgb = np.where(rgb <= 0.0031308, rgb * 12.92, 1.055 * np.power(np.clip(rgb, 0, 1), 1 / 2.4) - 0.055)
    return np.ascontiguousarray((np.clip(srgb, 0, 1) * 255 + 0.5).astype(np.uint8).reshape(height, width, 3))
