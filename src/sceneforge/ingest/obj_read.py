"""Read Wavefront OBJ text into :class:`Surface` values, one per ``usemtl`` material.

Reads ``v``, ``vt``, ``vn``, ``f`` (polygons are fan-triangulated, indices may be negative =
relative), ``usemtl`` and ``s``; every other statement (``o``, ``g``, ``l``, ``p``, ``mtllib``,
free-form curves) is skipped. ``mtllib`` files are not fetched: an OBJ upload is one file, so
colours come from the scene description's materials.

Cost: one Python pass over the lines to split them, then numpy for everything numeric (parsing,
index resolution, triangulation, de-duplication of ``v/vt/vn`` corners with ``np.unique``).

Choices: texture ``v`` is flipped (OBJ's origin is bottom-left, glTF's top-left). A material
group whose corners all carry ``vn`` keeps them; otherwise its normals are computed — smooth
(area-weighted per position) when a smoothing group (``s 1``) is on for any of its faces, flat
otherwise, which suits architectural assets (boxes, walls) exported without normals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ..errors import AssetError
from ..model.ir import Surface
from .surfaces import fits_float32, make_surface

__all__ = ["parse_obj"]

I64 = npt.NDArray[np.int64]


@dataclass
class _Lines:
    """Statements split by kind, with the line number (1-based) of each for messages."""

    v: list[list[str]] = field(default_factory=list)
    vt: list[list[str]] = field(default_factory=list)
    vn: list[list[str]] = field(default_factory=list)
    v_lines: list[int] = field(default_factory=list)
    corners: list[str] = field(default_factory=list)
    face_sizes: list[int] = field(default_factory=list)
    #: Per face: (vertices, texcoords, normals) defined before it, to resolve negative indices.
    face_counts: list[tuple[int, int, int]] = field(default_factory=list)
    face_material: list[int] = field(default_factory=list)
    face_smooth: list[bool] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)


def _split(text: str, default_material: str, path: str) -> _Lines:
    out = _Lines(materials=[default_material])
    material, smooth = 0, False
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = raw.split("#", 1)[0].split()
        if not tokens:
            continue
        head, rest = tokens[0], tokens[1:]
        if head == "v":
            if len(rest) < 3:
                raise AssetError(path, f"OBJ line {number}: a vertex needs 3 coordinates")
            out.v.append(rest[:3])
            out.v_lines.append(number)
        elif head == "vt":
            out.vt.append([*rest, "0", "0"][:2])
        elif head == "vn":
            if len(rest) < 3:
                raise AssetError(path, f"OBJ line {number}: a normal needs 3 components")
            out.vn.append(rest[:3])
        elif head == "f":
            if len(rest) < 3:
                raise AssetError(path, f"OBJ line {number}: a face needs at least 3 vertices")
            out.corners.extend(rest)
            out.face_sizes.append(len(rest))
            out.face_counts.append((len(out.v), len(out.vt), len(out.vn)))
            out.face_material.append(material)
            out.face_smooth.append(smooth)
        elif head == "usemtl":
            name = " ".join(rest) or default_material
            if name not in out.materials:
                out.materials.append(name)
            material = out.materials.index(name)
        elif head == "s":
            smooth = bool(rest) and rest[0].lower() not in ("off", "0")
    return out


def _floats(rows: list[list[str]], what: str, path: str, width: int) -> npt.NDArray[np.float64]:
    if not rows:
        return np.zeros((0, width))
    try:
        arr = np.array(rows, dtype=np.float64)
    except ValueError:
        raise AssetError(path, f"OBJ {what} contain a value that is not a number") from None
    if not fits_float32(arr):
        raise AssetError(path, f"OBJ {what} contain non-finite (NaN or infinite) values", code="asset_non_finite")
    return arr


def _resolve(raw: I64, before: I64, total: int, what: str, path: str, required: bool) -> I64:
    """1-based / negative OBJ indices → 0-based; 0 (absent) → -1."""
    idx = np.where(raw > 0, raw - 1, np.where(raw < 0, before + raw, -1))
    bad = (raw != 0) & ((idx < 0) | (idx >= total))
    if bad.any() or (required and (raw == 0).any()):
        raise AssetError(path, f"OBJ face refers to a {what} that does not exist ({total} defined)")
    return idx


def _corner_indices(lines: _Lines, path: str) -> I64:
    """(corners, 3) resolved (v, vt, vn) indices, -1 where a corner has no vt / vn."""
    parts = [c.split("/") for c in lines.corners]
    columns = [[p[k] if len(p) > k and p[k] else "0" for p in parts] for k in range(3)]
    try:
        raw = np.array(columns, dtype=np.int64).T
    except (ValueError, OverflowError):
        raise AssetError(path, "OBJ face indices must be integers (v, v/vt, v//vn or v/vt/vn)") from None
    before = np.repeat(np.array(lines.face_counts, dtype=np.int64), lines.face_sizes, axis=0)
    totals = (len(lines.v), len(lines.vt), len(lines.vn))
    names = ("vertex", "texture coordinate", "normal")
    return np.stack(
        [_resolve(raw[:, k], before[:, k], totals[k], names[k], path, required=k == 0) for k in range(3)], axis=1
    )


def _fan(sizes: I64) -> tuple[I64, I64]:
    """(t, 3) corner indices of a fan triangulation of faces with ``sizes`` corners, and each triangle's face."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    per_face = sizes - 2
    face = np.repeat(np.arange(sizes.shape[0]), per_face)
    local = np.arange(face.shape[0]) - np.repeat(np.cumsum(per_face) - per_face, per_face)
    s = starts[face]
    return np.stack([s, s + local + 1, s + local + 2], axis=1), face


def parse_obj(data: bytes, *, default_material: str, path: str) -> list[Surface]:
    """OBJ bytes → one surface per material (order of first use). ``AssetError`` at ``path`` when
    the text does not decode, a number or index is malformed, or there are no faces."""
    if b"\x00" in data:
        raise AssetError(path, "OBJ data must be text (it contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    lines = _split(text, default_material, path)
    if not lines.face_sizes:
        raise AssetError(path, "the OBJ has no faces", code="asset_empty")
    try:
        positions = _floats(lines.v, "vertices", path, 3)
    except AssetError:
        bad = next(n for row, n in zip(lines.v, lines.v_lines, strict=True) if not _is_finite_row(row))
        raise AssetError(path, f"OBJ line {bad}: vertex coordinates must be finite numbers") from None
    uvs = _floats(lines.vt, "texture coordinates", path, 2)
    uvs[:, 1] = 1.0 - uvs[:, 1]
    normals = _floats(lines.vn, "normals", path, 3)
    corners = _corner_indices(lines, path)
    tri_corners, tri_face = _fan(np.array(lines.face_sizes, dtype=np.int64))
    tri_material = np.array(lines.face_material, dtype=np.int64)[tri_face]
    smooth = np.array(lines.face_smooth, dtype=bool)[tri_face]
    surfaces = []
    for m in np.unique(tri_material):  # per material (in order of first use), not per vertex
        mine = tri_material == m
        keys, inverse = np.unique(corners[tri_corners[mine].reshape(-1)], axis=0, return_inverse=True)
        triangles = inverse.reshape(-1, 3)
        uv = np.zeros((keys.shape[0], 2))
        textured = keys[:, 1] >= 0
        uv[textured] = uvs[keys[textured, 1]]
        has_normals = len(normals) > 0 and bool((keys[:, 2] >= 0).all())
        surfaces.append(
            make_surface(
                lines.materials[int(m)],
                positions[keys[:, 0]],
                triangles,
                normals[keys[:, 2]] if has_normals else None,
                uv,
                smooth_groups=keys[:, 0] if not has_normals and smooth[mine].any() else None,
            )
        )
    return surfaces


def _is_finite_row(row: list[str]) -> bool:
    try:
        return fits_float32(np.array(row, dtype=np.float64))
    except ValueError:
        return False
