"""Uploaded assets: recognise them from their bytes, and turn meshes into world-ready surfaces.

An asset is a GLB, an OBJ or a PNG (docs/scene-format.md "Assets", docs/api.md ``POST /assets``). Its type is read from
its bytes, never from a file name. Meshes become :class:`Surface` lists, one per material, in
the asset's own space; :func:`transform_surfaces` then places them in a cell. An upload is checked before it is
stored by :func:`.asset_check.check_asset`, which reads a GLB as :func:`load_mesh_asset` does (:mod:`.asset_glb`).

Every function here is safe on untrusted bytes: malformed input raises
:class:`~sceneforge.errors.AssetError` pointing at ``path`` (the JSON pointer of the request
field that named the asset), with the position inside the asset in the message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np

from ..errors import AssetError, LimitExceeded
from ..model.description import MAX_COORDINATE, past_extent
from ..model.ir import Material, Surface
from .asset_glb import GlbBounds, bounded_glb, decoding, glb_triangles, instances, reach
from .gltf_read import GLB_MAGIC, GltfDocument, parse_glb
from .obj_read import parse_obj
from .obj_statements import obj_text_problem
from .surfaces import fits_float32, matrix_from_column_major, merge_by_material, surface_copies, transform_surface

__all__ = [
    "AssetKind",
    "GlbBounds",
    "asset_materials",
    "load_mesh_asset",
    "obj_text_problem",
    "sniff_asset",
    "transform_surfaces",
]

AssetKind = Literal["glb", "obj", "png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sniff_asset(data: bytes) -> AssetKind | None:
    """The asset type of ``data`` from its content: GLB (the ``glTF`` magic: a container of another version or cut
    short is a GLB its reader refuses, naming why, as a tagged GLB's is, never text read as OBJ), PNG (its 8-byte
    signature) or OBJ (text whose statements are all OBJ keywords); else None."""
    head = bytes(data[: len(PNG_SIGNATURE)])
    if head[:4] == GLB_MAGIC:
        return "glb"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    return "obj" if obj_text_problem(data) is None else None


def _copies(doc: GltfDocument, m: int, worlds: np.ndarray, default_material: str) -> list[Surface]:
    """Mesh ``m`` drawn once per (k, 4, 4) world matrix (an instanced node's world times each instance's), as one
    surface per primitive: a mirroring copy's triangles turned round, its normals by the inverse transpose. A copy
    placed beyond float32 is ``asset_non_finite``, as a node's is."""
    path = f"/meshes/{m}"
    out = []
    for surface in doc.mesh_surfaces(m, np.eye(4), default_material, path):
        # Refused before the copies are made, from the surface's box: no (k, n, 3) arrays for copies out of range.
        if not fits_float32(reach(surface.positions.min(axis=0), surface.positions.max(axis=0), worlds)):
            raise doc.non_finite(m, path)
        copies = surface_copies(surface, worlds)
        if copies is None:  # within the box's bound, but a copy rounded past float32
            raise doc.non_finite(m, path)
        out.append(copies)
    return out


def _glb_surfaces(
    data: bytes,
    path: str,
    default_material: str,
    max_triangles: int | None,
    max_bytes: int | None,
    bounds: GlbBounds,
) -> list[Surface]:
    doc, placed, worlds = bounded_glb(data, path, bounds, max_bytes)
    if max_triangles is not None and (count := glb_triangles(doc, placed)) > max_triangles:
        raise LimitExceeded("SCENEFORGE_MAX_TRIANGLES", count, max_triangles, path=path, what="asset triangles")
    drawn = Counter(m for m, _, _ in placed)
    doc.shared_meshes = {m for m, n in drawn.items() if n > 1}  # decoded once, however many nodes draw them
    surfaces: list[Surface] = []
    for m, world, i in placed:
        skin = None if i is None else doc.skin_matrices(i, worlds)
        copies = instances(doc, i, skin)
        if copies is None:
            surfaces.extend(doc.mesh_surfaces(m, world, default_material, f"/meshes/{m}", skin))
        else:  # drawn once per instance, as a viewer draws it (the node alone draws nothing)
            surfaces.extend(_copies(doc, m, world @ copies, default_material))
    return surfaces


def load_mesh_asset(
    data: bytes,
    *,
    path: str,
    default_material: str,
    max_triangles: int | None = None,
    max_bytes: int | None = None,
    bounds: GlbBounds = GlbBounds(),
    max_materials: int | None = None,
) -> list[Surface]:
    """A GLB or OBJ asset as surfaces, one per material (the asset's material name, else
    ``default_material``), in the asset's space: a GLB's node hierarchy is flattened with each
    node's world transform (a node drawn with EXT_mesh_gpu_instancing once per instance). Missing
    normals are computed (flat for GLB, as glTF asks; see :mod:`.obj_read` for OBJ), missing texture
    coordinates are zeros (a GLB material whose texture names a coordinate set its primitive lacks reads
    ``TEXCOORD_0``, as a tagged GLB does).

    Raises :class:`AssetError` at ``path`` for bytes of another or unknown type, bytes that do
    not decode, non-finite coordinates and assets without triangles, and
    :class:`LimitExceeded` (``SCENEFORGE_MAX_TRIANGLES``) before decoding a GLB that would
    produce more than ``max_triangles``, (``SCENEFORGE_MAX_UPLOAD_BYTES``) for a GLB whose
    accessors without a bufferView declare more zeros than ``max_bytes`` less its own size, and
    past ``bounds`` (its JSON chunk, its nodes) before its JSON is parsed or its nodes walked;
    (``SCENEFORGE_MAX_MATERIALS``) for an OBJ whose ``usemtl`` statements name more than ``max_materials``.
    """
    kind = sniff_asset(data)
    with decoding(path, f"the {kind.upper() if kind else ''} asset"):
        if kind == "glb":
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # outputs are range-checked
                surfaces = _glb_surfaces(data, path, default_material, max_triangles, max_bytes, bounds)
        elif kind == "obj":
            surfaces = parse_obj(
                data,
                default_material=default_material,
                path=path,
                max_triangles=max_triangles,
                max_materials=max_materials,
            )
        elif kind == "png":
            raise AssetError(path, "the asset is a PNG image, not a mesh (GLB or OBJ)", code="asset_type")
        else:
            why = obj_text_problem(data)
            more = f" (read as OBJ text, {why})" if why and why.startswith("OBJ line") else ""
            raise AssetError(path, f"the asset is not a GLB, OBJ or PNG file{more}", code="asset_type")
    surfaces = merge_by_material(surfaces)
    if max_triangles is not None and (count := sum(s.triangle_count for s in surfaces)) > max_triangles:
        raise LimitExceeded("SCENEFORGE_MAX_TRIANGLES", count, max_triangles, path=path, what="asset triangles")
    if not any(s.triangle_count for s in surfaces):
        raise AssetError(path, "the asset has no triangles", code="asset_empty")
    return surfaces


def asset_materials(data: bytes, *, path: str = "", max_bytes: int | None = None) -> dict[str, Material]:
    """Materials an asset defines, by the names :func:`load_mesh_asset` gives its surfaces.

    GLB: base colour, metallic, roughness and embedded PNG base-colour textures. OBJ: none
    (its ``.mtl`` file is not part of the upload). A scene description's own materials take
    precedence over these. ``AssetError`` at ``path`` for a malformed GLB; its ``EXT_meshopt_compression`` views are
    decoded first, within ``max_bytes``.
    """
    if sniff_asset(data) != "glb":
        return {}
    from .built_glb import decode_meshopt

    with decoding(path, "the GLB asset"):
        return parse_glb(decode_meshopt(data, max_bytes=max_bytes)).read_materials()


def transform_surfaces(
    surfaces: Iterable[Surface], matrix16_column_major: Sequence[float], *, path: str = ""
) -> list[Surface]:
    """``surfaces`` moved by a glTF-style column-major 4×4: positions by the matrix, normals by
    its inverse transpose (renormalized), winding reversed when it mirrors (negative
    determinant). ``AssetError`` at ``path`` unless the matrix is 16 finite numbers."""
    m = matrix_from_column_major(matrix16_column_major, path=path)
    with np.errstate(over="ignore", invalid="ignore"):
        moved = [transform_surface(s, m) for s in surfaces]
    if not all(fits_float32(s.positions) for s in moved):
        raise AssetError(path, "the transform moves the asset beyond float32 range", code="transform_invalid")
    reach = max((float(np.abs(s.positions).max(initial=0.0)) for s in moved), default=0.0)
    if reach > MAX_COORDINATE:
        message = f"the transform moves the asset {past_extent(reach)} m from the origin, beyond ±{MAX_COORDINATE:g} m"
        raise AssetError(path, message, code="transform_invalid")
    return moved
