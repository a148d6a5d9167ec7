"""Uploaded assets: recognise them from their bytes, and turn meshes into world-ready surfaces.

An asset is a GLB, an OBJ or a PNG (docs/scene-format.md "Assets", docs/api.md ``POST /assets``). Its type is read from
its bytes, never from a file name. Meshes become :class:`Surface` lists, one per material, in
the asset's own space; :func:`transform_surfaces` then places them in a cell.

Every function here is safe on untrusted bytes: malformed input raises
:class:`~sceneforge.errors.AssetError` pointing at ``path`` (the JSON pointer of the request
field that named the asset), with the position inside the asset in the message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import DECODE_ERRORS, AssetError, LimitExceeded, SceneInvalid
from ..model.description import MAX_COORDINATE, past_extent
from ..model.ir import Material, Surface
from .built_glb import instance_count, instance_matrices
from .gltf_accessors import ACCESSOR_WIDTHS, widened
from .gltf_json import finite_number, index, json_int, json_list, obj
from .gltf_read import GLB_MAGIC, GltfDocument, glb_error, parse_glb
from .obj_read import check_obj_statements, parse_obj
from .obj_statements import clean, has_geometry, unknown_line
from .png_check import check_png
from .surfaces import fits_float32, matrix_from_column_major, merge_by_material, surface_copies, transform_surface

if TYPE_CHECKING:
    from ..config import Limits

__all__ = [
    "AssetKind",
    "GlbBounds",
    "asset_materials",
    "check_asset",
    "load_mesh_asset",
    "obj_text_problem",
    "sniff_asset",
    "transform_surfaces",
]

AssetKind = Literal["glb", "obj", "png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: How much of a text file :func:`sniff_asset` reads to decide that it is an OBJ.
_SNIFF_BYTES = 64 * 1024


def sniff_asset(data: bytes) -> AssetKind | None:
    """The asset type of ``data`` from its content: GLB (``glTF`` magic, container version 2),
    PNG (its 8-byte signature) or OBJ (text whose statements are all OBJ keywords); else None."""
    head = bytes(data[:_SNIFF_BYTES])
    if len(head) >= 12 and head[:4] == GLB_MAGIC and int.from_bytes(head[4:8], "little") == 2:
        return "glb"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if not head or b"\x00" in head:
        return None
    return "obj" if obj_text_problem(data) is None else None


def obj_text_problem(data: bytes) -> str | None:
    """Why ``data`` is not taken for OBJ (:func:`sniff_asset`), or None when it is: its first
    :data:`_SNIFF_BYTES` must be UTF-8 text without NUL bytes whose lines are OBJ statements (read as the build's
    reader reads them: :mod:`.obj_statements`), one of geometry or grouping among them when that is the whole
    file (comments alone are not OBJ; a longer file may open with a long header: its reader finds its faces)."""
    head = bytes(data[:_SNIFF_BYTES])
    if not head or b"\x00" in head:
        return "it is empty or holds a NUL byte" if head else "it is empty"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the sniff boundary is fine
        if exc.start < len(head) - 4 or len(data) <= _SNIFF_BYTES:
            return f"byte {exc.start} is not UTF-8 text"
        head = head[: exc.start]
    if len(data) > _SNIFF_BYTES and b"\n" in head:
        head = head[: head.rfind(b"\n") + 1]  # the last line may be cut
    text = clean(head)
    unknown = unknown_line(text)
    if unknown is not None:
        return unknown
    if not has_geometry(text) and len(data) <= _SNIFF_BYTES:  # a longer file may open with a long header
        return f"its first {_SNIFF_BYTES // 1024} KiB hold no OBJ geometry (v, f, o, g, usemtl or mtllib)"
    return None


def _rewrap(exc: SceneInvalid, path: str, what: str) -> AssetError:
    issue = exc.issues[0] if exc.issues else None
    where = f" at {issue.path}" if issue is not None and issue.path else ""
    message = issue.message if issue is not None else "it does not decode"
    return AssetError(path, f"{what} is malformed{where}: {message}")


@contextmanager
def _decoding(path: str, what: str) -> Iterator[None]:
    """Errors reading ``what`` as :class:`AssetError` at ``path``: a reader's :class:`SceneInvalid`
    re-aimed at the asset, any other failure to decode (``DECODE_ERRORS``) with its message;
    :class:`AssetError` and :class:`LimitExceeded` pass as raised."""
    try:
        yield
    except AssetError:
        raise
    except LimitExceeded as exc:
        inner = exc.issues[0].path if exc.issues else ""
        if not inner.startswith(("/accessors/", "/images/")):
            raise
        # the zeros of an accessor without a bufferView, or bytes read again (GltfDocument.bound_reads): at the asset
        if inner.endswith("/count"):
            what = f"{what}'s bytes with the zeros its accessors declare without a bufferView (at {inner})"
        else:
            what = f"{what}'s bytes with those read again (a view read by many accessors or images, at {inner})"
        raise LimitExceeded(exc.limit, exc.value, exc.maximum, path, what) from None
    except SceneInvalid as exc:
        raise _rewrap(exc, path, what) from None
    except DECODE_ERRORS as exc:
        raise AssetError(path, f"the asset does not decode: {exc}") from None


#: Where a build places a mesh of a GLB asset: (mesh, world matrix, the node drawing it, or None for a mesh of a file
#: without nodes).
Placement = tuple[int, np.ndarray, int | None]


def _placements(doc: GltfDocument) -> tuple[list[Placement], dict[int, np.ndarray]]:
    """The meshes a build places, once per node drawing them (every mesh of a file without nodes, a mesh library,
    once, in its own space), from one walk of the nodes; and every node's world matrix when a drawing node is
    skinned (its joints place it), else nothing."""
    if not doc.nodes:
        return [(m, np.eye(4), None) for m in range(len(doc.meshes))], {}
    walked = list(doc.walk())
    placed: list[Placement] = [(m, world, i) for i, world, _ in walked if (m := doc.node_mesh(i)) is not None]
    skinned = any(i is not None and "skin" in doc.node(i) for _, _, i in placed)
    return placed, ({i: world for i, world, _ in walked} if skinned else {})


def _glb_triangles(doc: GltfDocument, placed: list[Placement]) -> int:
    """Triangles the placed meshes make, a node's once per EXT_mesh_gpu_instancing instance (accessors' headers)."""
    return sum(doc.primitive_triangles(m) * (1 if i is None else instance_count(doc, i)) for m, _, i in placed)


def _instances(doc: GltfDocument, i: int | None, skin: np.ndarray | None) -> np.ndarray | None:
    """(k, 4, 4) local transforms of the copies node ``i`` draws with EXT_mesh_gpu_instancing (gltfpack ``-mi``,
    glTF-Transform ``instance``), else None. A skinned node is placed by its joints alone."""
    if i is None or skin is not None:
        return None
    return instance_matrices(doc, doc.node(i), f"/nodes/{i}")


def _copies(doc: GltfDocument, m: int, worlds: np.ndarray, default_material: str) -> list[Surface]:
    """Mesh ``m`` drawn once per (k, 4, 4) world matrix (an instanced node's world times each instance's), as one
    surface per primitive: a mirroring copy's triangles turned round, its normals by the inverse transpose. A copy
    placed beyond float32 is ``asset_non_finite``, as a node's is."""
    path = f"/meshes/{m}"
    out = []
    for surface in doc.mesh_surfaces(m, np.eye(4), default_material, path):
        # Refused before the copies are made, from the surface's box: no (k, n, 3) arrays for copies out of range.
        if not fits_float32(_reach(surface.positions.min(axis=0), surface.positions.max(axis=0), worlds)):
            raise doc.non_finite(m, path)
        copies = surface_copies(surface, worlds)
        if copies is None:  # within the box's bound, but a copy rounded past float32
            raise doc.non_finite(m, path)
        out.append(copies)
    return out


def _reach(lo: np.ndarray, hi: np.ndarray, worlds: np.ndarray) -> np.ndarray:
    """(k, 3) how far the box ``lo``..``hi`` placed by each (k, 4, 4) matrix reaches from the origin on each axis
    (NaN where a matrix or the box is not finite): |M·centre + t| + |M|·half, its farthest corner."""
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    linear = worlds[:, :3, :3]
    out: np.ndarray = np.abs(linear @ centre + worlds[:, :3, 3]) + np.abs(linear) @ half
    return out


@dataclass(frozen=True, slots=True)
class GlbBounds:
    """What a GLB asset is held to before its nodes are walked, as a tagged GLB is (docs/scene-format.md,
    "Limits"): its JSON chunk (``SCENEFORGE_MAX_BODY_BYTES``, before it is parsed) and its node count
    (``SCENEFORGE_MAX_GLB_NODES``, before any is walked). None: not bounded."""

    max_json_bytes: int | None = None
    max_nodes: int | None = None

    @classmethod
    def of(cls, limits: Limits) -> GlbBounds:
        """The bounds ``limits`` set (``max_body_bytes``, ``max_glb_nodes``)."""
        return cls(limits.max_body_bytes, limits.max_glb_nodes)


def _bounded_glb(
    data: bytes, path: str, bounds: GlbBounds
) -> tuple[GltfDocument, list[Placement], dict[int, np.ndarray]]:
    """``parse_glb(data)`` within ``bounds`` and its :func:`_placements`: :class:`LimitExceeded` at the asset's
    ``path`` past them."""
    text = int.from_bytes(data[12:16], "little") if len(data) >= 20 else 0
    if bounds.max_json_bytes is not None and bounds.max_json_bytes < text <= len(data) - 20:
        what = "the GLB asset's JSON chunk (bytes)"  # past the file's end: the reader says so
        raise LimitExceeded("SCENEFORGE_MAX_BODY_BYTES", text, bounds.max_json_bytes, path, what)
    doc = parse_glb(data)
    if bounds.max_nodes is not None and len(doc.nodes) > bounds.max_nodes:  # each walked and placed (~0.2 ms)
        what = "the GLB asset's node count"
        raise LimitExceeded("SCENEFORGE_MAX_GLB_NODES", len(doc.nodes), bounds.max_nodes, path, what)
    placed, worlds = _placements(doc)
    # Each primitive a node draws is placed on its own (~0.15 ms), however few triangles it holds: counted with
    # the nodes (a mesh of 1,000 one-triangle primitives drawn by 100 nodes took 9 s).
    if bounds.max_nodes is not None:
        count = sum(n * len(doc.primitive_json(m)) for m, n in Counter(m for m, _, _ in placed).items())
        if count > bounds.max_nodes:
            what = "the primitives the GLB asset's nodes draw (a node counted once per primitive of its mesh)"
            raise LimitExceeded("SCENEFORGE_MAX_GLB_NODES", count, bounds.max_nodes, path, what)
    return doc, placed, worlds


def _glb_surfaces(
    data: bytes,
    path: str,
    default_material: str,
    max_triangles: int | None,
    max_bytes: int | None,
    bounds: GlbBounds,
) -> list[Surface]:
    doc, placed, worlds = _bounded_glb(data, path, bounds)
    doc.bound_reads(len(data), max_bytes)
    if max_triangles is not None and (count := _glb_triangles(doc, placed)) > max_triangles:
        raise LimitExceeded("SCENEFORGE_MAX_TRIANGLES", count, max_triangles, path=path, what="asset triangles")
    drawn = Counter(m for m, _, _ in placed)
    doc.shared_meshes = {m for m, n in drawn.items() if n > 1}  # decoded once, however many nodes draw them
    surfaces: list[Surface] = []
    for m, world, i in placed:
        skin = None if i is None else doc.skin_matrices(i, worlds)
        copies = _instances(doc, i, skin)
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
    with _decoding(path, f"the {kind.upper() if kind else ''} asset"):
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
    with _decoding(path, "the GLB asset"):
        doc, placed, _ = _bounded_glb(data, path, bounds)
        doc.bound_reads(len(data), max_bytes)  # zeros of accessors without a bufferView
        # The count reads only accessor headers: an upload past the limit is refused before any decoding.
        if max_triangles is not None and (count := _glb_triangles(doc, placed)) > max_triangles:
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
    :func:`_placements`."""
    morphed: dict[int, list[np.ndarray]] = {}
    for m, world, i in placed:
        if i is not None and "skin" in doc.node(i):
            continue
        copies = _instances(doc, i, None)  # decoded and checked as a build does
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
                corners = _reach(box[0], box[1], world @ copies)
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
    skin's. Only the skinned nodes' meshes are decoded, one at a time."""
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


def asset_materials(data: bytes, *, path: str = "") -> dict[str, Material]:
    """Materials an asset defines, by the names :func:`load_mesh_asset` gives its surfaces.

    GLB: base colour, metallic, roughness and embedded PNG base-colour textures. OBJ: none
    (its ``.mtl`` file is not part of the upload). A scene description's own materials take
    precedence over these. ``AssetError`` at ``path`` for a malformed GLB.
    """
    if sniff_asset(data) != "glb":
        return {}
    with _decoding(path, "the GLB asset"):
        return parse_glb(data).read_materials()


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
