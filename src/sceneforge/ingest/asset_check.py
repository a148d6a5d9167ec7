"""The upload check of an asset: refuse before it is stored what every build using it would refuse.

:func:`check_asset` reads a GLB as a build reads it (:mod:`.asset_glb`), from the accessors' headers and their
stored values, without placing its surfaces: the same pointer and message as the build's refusal. A PNG's chunks
and an OBJ's statements are checked by their own readers (:mod:`.png_check`, :mod:`.obj_read`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import LimitExceeded
from .asset_glb import GlbBounds, Placement, bounded_glb, decoding, glb_triangles, instances, reach
from .gltf_accessors import ACCESSOR_WIDTHS, widened
from .gltf_json import finite_number, index, json_int, json_list, obj
from .gltf_read import GltfDocument, glb_error
from .obj_read import check_obj_statements
from .png_check import check_png
from .surfaces import fits_float32

__all__ = ["check_asset"]


def check_asset(
    data: bytes,
    kind: str,
    *,
    max_triangles: int | None = None,
    max_bytes: int | None = None,
    path: str = "",
    bounds: GlbBounds = GlbBounds(),
    max_materials: int | None = None,
) -> None:
    """Refuse an upload a build could not use, before it is stored.

    GLB: the container, buffers and node tree (:func:`parse_glb`), the triangle count against
    ``max_triangles`` (from the accessors' headers, before anything is decoded), every accessor
    against its buffer view (read one at a time as the file stores it, not widened: transient memory about
    the largest accessor's bytes), the triangle primitives of the meshes a build places as it decodes them
    (:func:`_check_primitives`) and where the nodes place them (:func:`_check_placed`), the materials and their
    embedded PNG textures, and the skins as a build places by them.
    PNG: every chunk and its CRC up to ``IEND``, and a size within Pillow's decompression-bomb
    bound (``Image.MAX_IMAGE_PIXELS``). OBJ: its statements as the build's reader reads them
    (:func:`.obj_read.check_obj_statements`: every line an OBJ statement, a face somewhere, no NUL byte, its
    triangles within ``max_triangles`` and its ``usemtl`` names within ``max_materials``); its numbers
    are read only by a build (in a worker process, in bounded windows). :class:`AssetError` /
    :class:`LimitExceeded` at ``path``.
    """
    if kind == "png":
        check_png(data, path)
        return
    if kind == "obj":
        check_obj_statements(data, path, max_triangles=max_triangles, max_materials=max_materials)
        return
    if kind != "glb":
        return
    with decoding(path, "the GLB asset"):
        doc, placed, _ = bounded_glb(data, path, bounds, max_bytes)  # meshopt views decoded, reads counted
        # The count reads only accessor headers: an upload past the limit is refused before any decoding.
        if max_triangles is not None and (count := glb_triangles(doc, placed)) > max_triangles:
            raise LimitExceeded("SCENEFORGE_MAX_TRIANGLES", count, max_triangles, path=path, what="asset triangles")
        meshes = sorted({m for m, _, _ in placed})
        indices, positions = _named_accessors(doc, meshes, "indices"), _named_accessors(doc, meshes, "POSITION")
        ranges: dict[int, tuple[int, int]] = {}
        boxes: dict[int, np.ndarray] = {}
        for a in range(len(doc.accessors)):  # as stored: widened to int64 / float64, bytes took 8 times theirs
            values, ctype, normalized = doc.reads.decode_stored(a)
            if a in indices and ctype != 5126 and values.size:  # read once: the least and greatest index it holds
                ranges[a] = (int(values.min()), int(values.max()))
            if a in positions and values.size and values.ndim == 2 and values.shape[1] >= 3:
                # The least and greatest of each coordinate (NaN when one is): the corners of the box they span.
                rows = values[:, :3]
                boxes[a] = widened(np.stack([rows.min(axis=0), rows.max(axis=0)]), ctype, normalized)
        _check_primitives(doc, meshes, ranges)
        _check_placed(doc, placed, boxes)
        doc.read_materials()
        _check_skins(doc)


def _named_accessors(doc: GltfDocument, meshes: list[int], name: str) -> set[int]:
    """The accessors a primitive of ``meshes`` names as its ``indices`` or as its attribute ``name`` (those that
    name one: the rest is :func:`_check_primitives`' to refuse)."""
    out: set[int] = set()
    for m in meshes:
        for prim in doc.primitive_json(m):
            attrs = prim if name == "indices" else prim.get("attributes")
            a = attrs.get(name) if isinstance(attrs, dict) else None
            if isinstance(a, int) and not isinstance(a, bool) and 0 <= a < len(doc.accessors):
                out.add(a)
    return out


#: The eight corners of a box as picks of its (least, greatest) rows, per coordinate.
_CORNERS = np.array([[(k >> c) & 1 for c in range(3)] for k in range(8)])


def _box(positions: np.ndarray) -> np.ndarray:
    """(2, 3) the least and greatest of each coordinate of (n, 3) ``positions`` (NaN where one is)."""
    return np.stack([positions.min(axis=0), positions.max(axis=0)])


def _check_placed(doc: GltfDocument, placed: list[Placement], boxes: dict[int, np.ndarray]) -> None:
    """What a build refuses once it places the triangle primitives (:meth:`GltfDocument.mesh_surfaces`), refused
    at upload with its pointer and message: a coordinate NaN or infinite, or placed by the nodes' transforms
    beyond float32 (``asset_non_finite``). ``boxes``: the least and greatest coordinates of each POSITION
    accessor; an affine transform takes a box's points within its corners' span, so the corners alone tell.
    A morphed mesh's boxes are those of its primitives decoded as a build decodes them (moved by their targets at
    the mesh's weights), once a mesh. Skinned nodes (placed by their joints) are left to the build. ``placed``:
    :func:`placements`."""
    morphed: dict[int, list[np.ndarray]] = {}
    for m, world, i in placed:
        if i is not None and "skin" in doc.node(i):
            continue
        copies = instances(doc, i, None)  # decoded and checked as a build does
        if any("targets" in prim for prim in doc.primitive_json(m)):
            if m not in morphed:
                morphed[m] = [_box(p.positions) for p in doc.primitives(m) if p.positions.shape[0]]
            mesh_boxes = morphed[m]
        else:  # a triangle primitive's POSITION: checked to be there
            triangles = [p for p in doc.primitive_json(m) if p.get("mode", 4) in (4, 5, 6)]
            mesh_boxes = [box for p in triangles if (box := boxes.get(p["attributes"]["POSITION"])) is not None]
        for box in mesh_boxes:
            if copies is None:
                corners = box[_CORNERS, np.arange(3)] @ world[:3, :3].T + world[:3, 3]
            else:  # each instance's farthest corner, (k, 3): not the (k, 8, 3) corners of a million copies
                corners = reach(box[0], box[1], world @ copies)
            if not fits_float32(box, corners):
                raise doc.non_finite(m, f"/meshes/{m}")


def _check_primitives(doc: GltfDocument, meshes: list[int], ranges: dict[int, tuple[int, int]]) -> None:
    """What a build's decoding of the triangle primitives of ``meshes`` (:meth:`GltfDocument.primitives`) refuses
    before it places them, refused at upload with the build's pointer and message, from the accessors' headers
    and ``ranges`` (the least and greatest value of each integer ``indices`` accessor, read as stored): a mode that
    is none, no ``POSITION`` or one of fewer than 3 components, indices that are no SCALAR integers or name a
    vertex ``POSITION`` lacks, a material that does not exist or whose texture's ``texCoord`` or
    ``KHR_texture_transform`` is malformed, a ``NORMAL`` that is not one 3-vector a vertex, a
    ``TEXCOORD_n`` that is not one 2-vector a vertex, morph targets and skin influences (:func:`_check_targets`,
    :func:`_check_influences`), a Draco-compressed primitive.
    Such an upload was stored, and every build using it was refused. Points and lines are skipped, as the build
    skips them."""
    for m in meshes:
        for j, prim in enumerate(doc.primitive_json(m)):
            path = f"/meshes/{m}/primitives/{j}"
            mode = json_int(prim, "mode", path, 4)
            if mode in (0, 1, 2, 3):
                continue
            if mode not in (4, 5, 6):
                raise glb_error(f"{path}/mode", f"unknown primitive mode {mode}")
            apath = f"{path}/attributes"
            attrs = obj(prim.get("attributes"), apath)
            doc.not_draco(prim, attrs, path)
            if "POSITION" not in attrs:
                raise glb_error(apath, "a primitive needs a POSITION attribute")
            a = index(attrs, "POSITION", apath, doc.accessors, "accessor")
            vertices = doc.accessors[a]  # read by decode_stored already: its members are checked
            if vertices["type"] in ("SCALAR", "VEC2"):
                raise glb_error(f"{apath}/POSITION", f"accessor {a} must hold n × 3 values")
            if "indices" in prim:
                i = index(prim, "indices", path, doc.accessors, "accessor")
                acc = doc.accessors[i]
                if acc["type"] != "SCALAR" or acc["componentType"] == 5126 or acc.get("normalized") is True:
                    raise glb_error(f"{path}/indices", "indices must be a SCALAR accessor of unsigned integers")
                least, most = ranges.get(i, (0, -1))
                if most >= vertices["count"] or least < 0:
                    message = f"an index is outside the {vertices['count']} vertices of POSITION"
                    raise glb_error(f"{path}/indices", message)
            if "material" in prim:  # and the coordinates its texture reads (texCoord, KHR_texture_transform)
                doc.uv_mapping(index(prim, "material", path, doc.materials, "material"))
            for name in sorted(k for k in attrs if isinstance(k, str) and k.startswith("TEXCOORD_")):
                # A build reads the set the material's texture names (or TEXCOORD_0); glTF holds every attribute
                # of a primitive to POSITION's count.
                a = index(attrs, name, apath, doc.accessors, "accessor")
                uvs = doc.accessors[a]
                if uvs["type"] == "SCALAR" or uvs["count"] != vertices["count"]:
                    raise glb_error(f"{apath}/{name}", f"accessor {a} must hold {vertices['count']} × 2 values")
            if "NORMAL" in attrs and "targets" not in prim:  # a morphed primitive's normals are made again
                a = index(attrs, "NORMAL", apath, doc.accessors, "accessor")
                normals = doc.accessors[a]
                if normals["type"] in ("SCALAR", "VEC2") or normals["count"] != vertices["count"]:
                    raise glb_error(f"{apath}/NORMAL", f"accessor {a} must hold {vertices['count']} × 3 values")
            if "targets" in prim:
                _check_targets(doc, m, prim, path, vertices["count"])
            _check_influences(doc, attrs, apath, vertices["count"])


def _check_influences(doc: GltfDocument, attrs: dict[str, Any], path: str, count: int) -> None:
    """What a build's reading of a primitive's ``JOINTS_k`` / ``WEIGHTS_k`` pairs refuses (skinned or not: it reads
    them for every triangle primitive), from the accessors' headers: joints that are not 4 unsigned integers a
    vertex, weights that are not 4 values a vertex."""
    k = 0
    while f"JOINTS_{k}" in attrs and f"WEIGHTS_{k}" in attrs:
        a = index(attrs, f"JOINTS_{k}", path, doc.accessors, "accessor")
        joints = doc.accessors[a]  # read by decode_stored already: its members are checked
        integers = joints["componentType"] != 5126 and joints.get("normalized") is not True
        if not integers or ACCESSOR_WIDTHS[joints["type"]] != 4 or joints["count"] != count:
            raise glb_error(f"{path}/JOINTS_{k}", f"accessor {a} must hold {count} × 4 unsigned integers")
        w = index(attrs, f"WEIGHTS_{k}", path, doc.accessors, "accessor")
        weights = doc.accessors[w]
        if ACCESSOR_WIDTHS[weights["type"]] < 4 or weights["count"] != count:
            raise glb_error(f"{path}/WEIGHTS_{k}", f"accessor {w} must hold {count} × 4 values")
        k += 1


def _check_targets(doc: GltfDocument, m: int, prim: dict[str, Any], path: str, count: int) -> None:
    """What a build's morphing of primitive ``path`` of mesh ``m`` (:meth:`GltfDocument._morphed`) refuses: mesh
    weights that are not one finite number a target, a target's ``POSITION`` that is not one 3-vector a vertex."""
    targets = json_list(prim, "targets", path)
    weights = doc.meshes[m].get("weights", [0.0] * len(targets))
    if not isinstance(weights, list) or len(weights) != len(targets) or not all(finite_number(w) for w in weights):
        raise glb_error(f"/meshes/{m}/weights", f"weights must be {len(targets)} finite numbers, one per target")
    for k, target in enumerate(targets):
        tpath = f"{path}/targets/{k}"
        if "POSITION" in obj(target, tpath):
            a = index(target, "POSITION", tpath, doc.accessors, "accessor")
            delta = doc.accessors[a]  # read by decode_stored already: its members are checked
            if delta["type"] in ("SCALAR", "VEC2") or delta["count"] != count:
                raise glb_error(f"{tpath}/POSITION", f"accessor {a} must hold {count} × 3 values")


def _check_skins(doc: GltfDocument) -> None:
    """What a build's skinning would refuse (:meth:`GltfDocument.skin_matrices`, :func:`skinned`), refused at
    upload: a joint outside the scene, inverse bind matrices not one per joint, a vertex naming a joint past its
    skin's, a mesh its joints place past float32 (``asset_non_finite``). Only the skinned nodes' meshes are
    decoded and placed, one at a time."""
    if not any(isinstance(n, dict) and "skin" in n for n in doc.nodes):
        return
    walked = list(doc.walk())
    worlds = {i: world for i, world, _ in walked}
    for i, _, _ in walked:
        m = doc.node_mesh(i)
        skin = doc.skin_matrices(i, worlds) if m is not None else None
        if skin is None or m is None:
            continue
        for prim in doc.primitives(m):
            least, most = prim.influences.joint_range() if prim.influences is not None else (0, 0)
            if most >= skin.shape[0] or least < 0:
                message = f"a vertex names joint {least if least < 0 else most} of a skin of {skin.shape[0]} joints"
                raise glb_error(f"/meshes/{m}", message)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # range-checked, as a build's
            doc.mesh_surfaces(m, worlds[i], "", f"/meshes/{m}", skin)  # placed as a build places it, and dropped
