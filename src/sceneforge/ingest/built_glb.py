"""Read a GLB that sceneforge built back into world-space triangles per cell, for previews and exports.

``read_built_glb(bytes) -> BuiltScene``: every cell node (extras ``type: cell``) with the
triangles of the meshes below it, in world space, one :class:`~sceneforge.model.ir.Surface`
per material; instanced props (EXT_mesh_gpu_instancing) are expanded, or with ``keep_instances`` kept as
:class:`BuiltInstances` (the mesh once, in its own space, and each copy's translation, rotation and scale as
the file gives them: for exports to formats that instance); portal nodes give their quads. Any file the
compiler writes is accepted — plain, ``KHR_mesh_quantization``, and ``EXT_meshopt_compression`` (decoded
with meshoptimizer's own decoders); other GLBs are read with the same checks
as assets (:mod:`sceneforge.ingest.gltf_read`).

Cost: O(file) for decoding plus O(triangles) numpy work; the only Python loops run per node,
per primitive and per buffer view, never per vertex.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import Issue, LimitExceeded, SceneInvalid
from ..model.ir import Material, Surface
from .glb_container import data_uri, split_chunks
from .gltf_document import INSTANCING, GltfDocument, quat_matrices
from .gltf_json import glb_error, index, json_int, json_list, load_json, obj
from .gltf_read import gltf_document, parse_glb
from .surfaces import apply_matrix, fits_float32, make_surface, merge_by_material, unit_rows

__all__ = [
    "BuiltCell",
    "BuiltInstances",
    "BuiltPortal",
    "BuiltScene",
    "decode_meshopt",
    "instance_count",
    "instance_matrices",
    "instance_trs",
    "read_built_glb",
    "trs_matrices",
]

F64 = npt.NDArray[np.float64]

_MESHOPT = "EXT_meshopt_compression"
#: Decoded views larger than this are refused: no sceneforge build comes near it (bounded memory).
_MAX_DECODED_VIEW = 1 << 30
_INDEX_DTYPE: dict[int, np.dtype[Any]] = {2: np.dtype("<u2"), 4: np.dtype("<u4")}


@dataclass(frozen=True, slots=True)
class BuiltInstances:
    """Copies of one mesh that a node with EXT_mesh_gpu_instancing draws (kept by ``keep_instances``).

    Copy ``j`` is placed by ``matrix @ T(translations[j]) @ R(rotations[j]) @ S(scales[j])``, as glTF places it.
    """

    #: The node's name (``instances:<cellId>/<meshId>`` in sceneforge's files), else ``node<i>``.
    name: str
    #: The glTF mesh index: groups drawing one mesh share it (and ``surfaces``).
    mesh: int
    #: The mesh's triangles in its own space, one surface per material.
    surfaces: list[Surface]
    #: (4, 4) the node's world matrix.
    matrix: F64
    #: (k, 3) per-copy translations, (k, 4) unit rotation quaternions (x, y, z, w), (k, 3) scales.
    translations: F64
    rotations: F64
    scales: F64

    @property
    def count(self) -> int:
        return int(self.translations.shape[0])

    @property
    def triangle_count(self) -> int:
        return self.count * sum(s.triangle_count for s in self.surfaces)

    def matrices(self) -> F64:
        """(k, 4, 4) world matrices of the copies."""
        return self.matrix @ trs_matrices(self.translations, self.rotations, self.scales)


@dataclass(frozen=True, slots=True)
class BuiltCell:
    cell_id: str
    #: ``(minx, miny, minz, maxx, maxy, maxz)`` as the cell's extras give it.
    aabb: tuple[float, float, float, float, float, float]
    #: World-space triangles, one surface per material.
    surfaces: list[Surface]
    #: Instanced meshes kept as such (``read_built_glb(..., keep_instances=True)``); else expanded into ``surfaces``.
    instances: list[BuiltInstances] = field(default_factory=list)

    @property
    def triangle_count(self) -> int:
        """Triangles drawn: the surfaces' and every kept instance's copies."""
        return sum(s.triangle_count for s in self.surfaces) + sum(g.triangle_count for g in self.instances)


@dataclass(frozen=True, slots=True)
class BuiltPortal:
    source: str
    target: str
    #: (4, 3) world-space corners.
    quad: F64


@dataclass(frozen=True, slots=True)
class BuiltScene:
    scene_id: str
    cells: list[BuiltCell]
    portals: list[BuiltPortal]
    materials: dict[str, Material]

    @property
    def triangle_count(self) -> int:
        return sum(c.triangle_count for c in self.cells)


# -- EXT_meshopt_compression -------------------------------------------------------------


def _decode_view(ext: dict[str, Any], buffers: list[bytes], path: str) -> tuple[bytes, int, int]:
    """The view's decoded bytes (its filter not undone), its stride and its count."""
    import meshoptimizer

    try:
        source = buffers[int(ext["buffer"])]
        offset, length = int(ext.get("byteOffset", 0)), int(ext["byteLength"])
        stride, count, mode = int(ext["byteStride"]), int(ext["count"]), str(ext["mode"])
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):  # OverflowError: int() of an infinity
        raise glb_error(path, "EXT_meshopt_compression needs buffer, byteLength, byteStride, count and mode") from None
    if mode != "ATTRIBUTES" and stride not in _INDEX_DTYPE:
        raise glb_error(f"{path}/byteStride", f"index stride {stride} is not 2 or 4")
    if stride * count > _MAX_DECODED_VIEW or offset + length > len(source) or min(offset, length, count) < 0:
        raise glb_error(path, f"compressed view ({count} × {stride} bytes) is out of bounds")
    data = source[offset : offset + length]
    try:
        if mode == "ATTRIBUTES":
            # dtype left unset: the wrapper's typed outputs are unsafe (see docs/compatibility.md).
            out = np.asarray(meshoptimizer.decode_vertex_buffer(count, stride, data))
        elif mode == "TRIANGLES":
            # Decoded as 32-bit (the wrapper mis-sizes 16-bit output), then narrowed to the stride.
            out = np.asarray(meshoptimizer.decode_index_buffer(count, 4, data)).astype(_INDEX_DTYPE[stride])
        elif mode == "INDICES":
            out = np.asarray(meshoptimizer.decode_index_sequence(count, 4, data)).astype(_INDEX_DTYPE[stride])
        else:
            raise glb_error(f"{path}/mode", f"unknown meshopt mode {mode!r}")
    except (ValueError, RuntimeError) as exc:
        raise glb_error(path, f"meshopt data does not decode: {exc}") from None
    raw = out.tobytes()
    if len(raw) != stride * count:
        raise glb_error(path, f"meshopt data decoded to {len(raw)} bytes, expected {stride * count}")
    return raw, stride, count


def _unfilter_octahedral(out: bytearray, stride: int, spans: list[tuple[int, int]]) -> None:
    """Undo the meshopt OCTAHEDRAL filter (spec: EXT_meshopt_compression §Filters; the one other than NONE that
    sceneforge and gltfpack write) in place, on every ``(offset, count)`` view of ``out`` of this ``stride`` at
    once: each row's arithmetic is its own, so one pass over all the views gives each view's bytes (unfiltered
    a view at a time, 5,000 cells' normals took 1.3 s of numpy calls; at once 0.05 s)."""
    dtype = np.int8 if stride == 4 else np.int16
    one = float(np.iinfo(dtype).max)
    rows = np.concatenate([np.frombuffer(out, dtype, count * 4, offset).reshape(count, 4) for offset, count in spans])
    v = rows.astype(np.float64)
    x, y = v[:, 0] / one, v[:, 1] / one
    z = 1.0 - np.abs(x) - np.abs(y)
    t = np.minimum(z, 0.0)
    x = x - np.copysign(t, x)
    y = y - np.copysign(t, y)
    n = np.stack([x, y, z], axis=1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-30)
    v[:, :3] = np.round(n * one)
    done = v.astype(dtype).tobytes()
    at = 0
    for offset, count in spans:
        size = count * stride
        out[offset : offset + size] = done[at : at + size]
        at += size


def _decoded_size(gltf: Any) -> int:
    """Bytes the EXT_meshopt_compression views of a glTF document decode to (``count × byteStride``)."""
    views = gltf.get("bufferViews") if isinstance(gltf, dict) else None
    total = 0
    for i, view in enumerate(views if isinstance(views, list) else []):
        extensions = view.get("extensions") if isinstance(view, dict) else None
        ext = extensions.get(_MESHOPT) if isinstance(extensions, dict) else None
        if isinstance(ext, dict):
            count, stride = ext.get("count"), ext.get("byteStride")
            if not (isinstance(count, int) and isinstance(stride, int)) or min(count, stride) < 0:
                given = f"count {count!r:.40}, byteStride {stride!r:.40}"
                message = f"EXT_meshopt_compression needs integers >= 0 for count and byteStride; got {given}"
                raise glb_error(f"/bufferViews/{i}/extensions/{_MESHOPT}", message)
            total += count * stride
    return total


def decode_meshopt(data: bytes, max_bytes: int | None = None) -> bytes:
    """GLB bytes with every EXT_meshopt_compression view decoded in place: an uncompressed GLB.

    Files without the extension come back unchanged (a JSON chunk that does not name it is not
    even parsed). The decoded views go into one new BIN chunk; fallback buffers
    (``EXT_meshopt_compression.fallback``) are dropped. With ``max_bytes``, views that would decode
    to more bytes in all raise :class:`~sceneforge.errors.LimitExceeded`
    (``SCENEFORGE_MAX_UPLOAD_BYTES``) before anything is decoded.
    """
    decoded = _decoded(data, max_bytes)
    out = None if decoded is None else decoded[2]
    if decoded is None or out is None:
        return bytes(data)
    gltf = decoded[0]
    text = json.dumps(gltf, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + len(out)
    header = struct.pack("<4sII", b"glTF", 2, total)
    chunks = [header, struct.pack("<II", len(text), 0x4E4F534A), text, struct.pack("<II", len(out), 0x004E4942)]
    return b"".join(chunks) + out


def _decoded(data: bytes, max_bytes: int | None) -> tuple[Any, bytes | None, bytes | None] | None:
    """:func:`decode_meshopt`'s work before the file is written again: None for a JSON chunk that does not name
    the extension (not parsed), else the parsed JSON, the file's BIN chunk and, where the file uses the
    extension, the decoded BIN (the JSON then rewritten to point into it) — else None in its place."""
    raw_json, binary = split_chunks(bytes(data))
    if _MESHOPT.encode() not in raw_json:
        return None
    gltf = load_json(raw_json)
    if max_bytes is not None and (total := _decoded_size(gltf)) > max_bytes:
        raise LimitExceeded("SCENEFORGE_MAX_UPLOAD_BYTES", total, max_bytes, path="/bufferViews", what="decoded bytes")
    if not isinstance(gltf, dict) or _MESHOPT not in json_list(gltf, "extensionsUsed", ""):
        return gltf, binary, None
    # Each buffer as parse_glb reads it: a data: URI's bytes, else the BIN chunk (every buffer was
    # the BIN chunk here, so a view of a data: URI buffer read the BIN chunk's bytes instead).
    buffers = []
    for b, entry in enumerate(json_list(gltf, "buffers", "")):
        uri = entry.get("uri") if isinstance(entry, dict) else None
        buffers.append((data_uri(uri, f"/buffers/{b}/uri") or b"") if uri is not None else (binary or b""))
    out = bytearray()
    octahedral: dict[int, list[tuple[int, int]]] = {}  # stride → (offset, count) of views to unfilter at once
    views = json_list(gltf, "bufferViews", "")
    for i, view in enumerate(views):
        view = obj(view, f"/bufferViews/{i}")
        extensions = view.get("extensions")
        ext = extensions.get(_MESHOPT) if isinstance(extensions, dict) else None
        out += b"\x00" * (-len(out) % 4)
        if ext is not None:
            path = f"/bufferViews/{i}/extensions/{_MESHOPT}"
            chunk, stride, count = _decode_view(ext, buffers, path)
            name = str(ext.get("filter", "NONE"))
            if name == "OCTAHEDRAL" and stride in (4, 8):
                octahedral.setdefault(stride, []).append((len(out), count))
            elif name != "NONE":
                raise glb_error(f"{path}/filter", f"meshopt filter {name!r} with stride {stride} is not supported here")
        else:
            path = f"/bufferViews/{i}"  # typed as parse_glb reads a view: a pointer, not a KeyError at the root
            b, off, length = (
                json_int(view, "buffer", path),
                json_int(view, "byteOffset", path, 0),
                json_int(view, "byteLength", path),
            )
            if b >= len(buffers) or off + length > len(buffers[b]):
                raise glb_error(f"/bufferViews/{i}", "buffer view runs past its buffer")
            chunk = buffers[b][off : off + length]
        new = {k: v for k, v in view.items() if k != "extensions"}
        new.update(buffer=0, byteOffset=len(out), byteLength=len(chunk))
        views[i] = new
        out += chunk
    for stride, spans in octahedral.items():
        _unfilter_octahedral(out, stride, spans)
    out += b"\x00" * (-len(out) % 4)
    gltf["buffers"] = [{"byteLength": len(out)}]
    for key in ("extensionsUsed", "extensionsRequired"):
        names = [n for n in json_list(gltf, key, "") if n != _MESHOPT]
        if names:
            gltf[key] = names
        else:
            gltf.pop(key, None)
    return gltf, binary, bytes(out)


# -- scene walk -----------------------------------------------------------------------------


def instance_count(doc: GltfDocument, i: int) -> int:
    """How many copies node ``i`` draws, from its EXT_mesh_gpu_instancing accessors' counts alone (nothing
    decoded: a limit on the triangles its copies make is checked before any is read); 1 without the extension."""
    ext = doc.instancing(i)
    attrs = None if ext is None else ext.get("attributes")
    if not isinstance(attrs, dict) or not attrs:
        return 1
    counts = []
    for value in attrs.values():
        acc = doc.accessors[value] if isinstance(value, int) and 0 <= value < len(doc.accessors) else None
        count = acc.get("count") if isinstance(acc, dict) else None
        counts.append(count if isinstance(count, int) and count >= 0 else 0)
    return max(counts, default=1)


def instance_matrices(doc: GltfDocument, node: dict[str, Any], path: str) -> F64 | None:
    """(k, 4, 4) per-instance local transforms of a node with EXT_mesh_gpu_instancing, else None."""
    trs = instance_trs(doc, node, path)
    return None if trs is None else trs_matrices(*trs)


def trs_matrices(t: F64, q: F64, s: F64) -> F64:
    """(k, 4, 4) matrices ``T @ R @ S`` of (k, 3) translations, (k, 4) unit quaternions (x, y, z, w), (k, 3) scales."""
    k = t.shape[0]
    m = np.zeros((k, 4, 4))
    m[:, :3, :3] = quat_matrices(q) * s[:, None, :]
    m[:, :3, 3] = t
    m[:, 3, 3] = 1.0
    return m


def instance_trs(doc: GltfDocument, node: dict[str, Any], path: str) -> tuple[F64, F64, F64] | None:
    """(k, 3) translations, (k, 4) unit rotations (x, y, z, w) and (k, 3) scales of a node with
    EXT_mesh_gpu_instancing (float64, as the file gives them; rotations scaled to unit length), else None."""
    extensions = node.get("extensions")
    ext = extensions.get(INSTANCING) if isinstance(extensions, dict) else None
    if not isinstance(ext, dict):
        return None
    attrs = ext.get("attributes")
    if not isinstance(attrs, dict):
        attrs = {}
    apath = f"{path}/extensions/{INSTANCING}/attributes"
    wanted = [k for k in attrs if k in ("TRANSLATION", "ROTATION", "SCALE")]
    # index, not int(): "3" or -1 (the last accessor, read from the end) is an error at its pointer.
    arrays = {k: doc.accessor(index(attrs, k, apath, doc.accessors, "accessor")) for k in wanted}
    if not arrays:
        raise glb_error(f"{path}/extensions/{INSTANCING}", "instancing without TRANSLATION, ROTATION or SCALE")
    k = next(iter(arrays.values())).shape[0]
    t = arrays.get("TRANSLATION", np.zeros((k, 3)))
    q = arrays.get("ROTATION", np.tile([0.0, 0.0, 0.0, 1.0], (k, 1)))
    s = arrays.get("SCALE", np.ones((k, 3)))
    if not (t.shape == (k, 3) and q.shape == (k, 4) and s.shape == (k, 3)):
        raise glb_error(f"{path}/extensions/{INSTANCING}", "instancing attributes disagree in count or width")
    rotations = _unit_quaternions(np.asarray(q, dtype=np.float64), f"{apath}/ROTATION")
    return np.asarray(t, dtype=np.float64), rotations, np.asarray(s, dtype=np.float64)


def _unit_quaternions(q: F64, path: str) -> F64:
    """(k, 4) rotations scaled to unit length, as a renderer takes them (a quaternion of length 2 would
    otherwise scale its copy 4×); a zero or non-finite one turns no definite way: an error at ``path``."""
    norms = np.sqrt(np.einsum("ij,ij->i", q, q))
    bad = np.flatnonzero(~(np.isfinite(norms) & (norms > 0)))
    if bad.size:
        k = int(bad[0])
        shown = ", ".join(f"{v:g}" for v in q[k])
        raise glb_error(path, f"instance {k}'s rotation ({shown}) is not a rotation: a quaternion must be non-zero")
    out: F64 = q / norms[:, None]
    return out


#: A placed primitive before it is a :class:`Surface`: material, positions, triangles, normals (or None), uvs.
_Placed = tuple[str, F64, npt.NDArray[np.integer[Any]], Any, Any]


def _surfaces(placed: list[_Placed]) -> list[Surface]:
    """:func:`~.surfaces.make_surface` of each placed primitive, those with normals all at once: their rows
    concatenated, normalized and narrowed to float32 in one pass, then cut apart again (each row's arithmetic is
    its own, so the bytes are make_surface's). A call per primitive cost 5,000 cells 0.4 s of numpy overhead."""
    batch = [k for k, p in enumerate(placed) if p[3] is not None]
    out: list[Surface | None] = [None if p[3] is not None else make_surface(*p) for p in placed]
    if batch:
        rows = [np.asarray(placed[k][1], dtype=np.float64).reshape(-1, 3) for k in batch]
        cuts = np.cumsum([r.shape[0] for r in rows])[:-1]
        positions = np.split(np.concatenate(rows).astype(np.float32), cuts)
        normals = np.concatenate([np.asarray(placed[k][3], dtype=np.float64).reshape(-1, 3) for k in batch])
        normals32 = np.split(unit_rows(normals).astype(np.float32), cuts)
        uvs = [
            np.zeros((r.shape[0], 2)) if placed[k][4] is None else np.asarray(placed[k][4], dtype=np.float64)
            for k, r in zip(batch, rows, strict=True)
        ]
        uvs32 = np.split(np.concatenate(uvs).reshape(-1, 2).astype(np.float32), cuts)
        for j, k in enumerate(batch):
            tri = np.ascontiguousarray(np.asarray(placed[k][2], dtype=np.int64).reshape(-1, 3), dtype=np.uint32)
            out[k] = Surface(placed[k][0], positions[j], normals32[j], uvs32[j], tri)
    return [s for s in out if s is not None]


def _placed(doc: GltfDocument, m: int, matrices: list[F64]) -> list[_Placed]:
    """Mesh ``m``'s primitives placed by each (4, 4) matrix (:func:`_surfaces` makes them surfaces). Our own
    files place cell geometry by a uniform scale and a translation (the quantization grid): those take a
    multiply-add and keep their normals; any other matrix goes through :func:`~.surfaces.apply_matrix`."""
    out: list[_Placed] = []
    for prim in doc.primitives(m):
        if prim.triangles.shape[0] == 0:
            continue
        name = "default" if prim.material is None else doc.material_name(prim.material)
        for mat in matrices:
            linear = mat[:3, :3]
            scale = float(linear[0, 0])
            tri: npt.NDArray[np.integer[Any]] = prim.triangles
            if scale > 0 and np.array_equal(linear, np.eye(3) * scale):
                positions, normals = prim.positions * scale + mat[:3, 3], prim.normals
            else:
                positions, normals, tri = apply_matrix(mat, prim.positions, prim.normals, prim.triangles)
            if not fits_float32(positions, prim.uvs):
                raise glb_error(f"/meshes/{m}", f"mesh {m} has non-finite (NaN or infinite) coordinates")
            out.append((name, positions, tri, normals, prim.uvs))
    return out


def _aabb(value: Any) -> tuple[float, float, float, float, float, float]:
    if isinstance(value, list) and len(value) == 6 and all(isinstance(v, (int, float)) for v in value):
        a = [float(v) for v in value]
        return (a[0], a[1], a[2], a[3], a[4], a[5])
    return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def _kept(doc: GltfDocument, i: int, m: int, world: F64, meshes: dict[int, list[Surface]]) -> BuiltInstances:
    """Node ``i``'s copies of mesh ``m`` as :class:`BuiltInstances` (the mesh read once however many nodes
    draw it). Every copy is checked to lie within float32, as an expanded copy's positions are: the mesh's
    box corners placed by each copy's matrix."""
    path = f"/nodes/{i}"
    trs = instance_trs(doc, doc.node(i), path)
    assert trs is not None
    if m not in meshes:
        meshes[m] = merge_by_material(_surfaces(_placed(doc, m, [np.eye(4)])))
    group = BuiltInstances(
        str(doc.node(i).get("name") or f"node{i}"), m, meshes[m], np.array(world, dtype=np.float64), *trs
    )
    points = [s.positions for s in group.surfaces]
    if points:
        box = np.concatenate(points).astype(np.float64)
        lo, hi = box.min(axis=0), box.max(axis=0)
        corners = np.stack(np.meshgrid(*zip(lo, hi, strict=True), indexing="ij"), -1).reshape(-1, 3)
        copies = group.matrices()  # (k, 4, 4), made once
        placed = np.einsum("kij,cj->kci", copies[:, :3, :3], corners) + copies[:, None, :3, 3]
        if not fits_float32(placed.reshape(-1, 3), None):
            raise glb_error(f"{path}/extensions/{INSTANCING}", f"node {i}'s copies of mesh {m} lie beyond float32")
    return group


def read_built_glb(data: bytes, *, keep_instances: bool = False) -> BuiltScene:
    """World-space geometry per cell of a GLB in sceneforge's output format (see docs/scene-format.md).

    With ``keep_instances`` a node drawn with EXT_mesh_gpu_instancing becomes one :class:`BuiltInstances` of
    its cell instead of its copies' triangles. Raises :class:`~sceneforge.errors.SceneInvalid` when the bytes
    are not such a file.
    """
    decoded = _decoded(data, None)  # its JSON parsed once, not again from the file decode_meshopt writes
    if decoded is None:
        doc = parse_glb(data)
    else:
        gltf, binary, out = decoded
        doc = gltf_document(gltf, binary if out is None else out)
    materials = doc.read_materials()
    scene_extras: dict[str, Any] = {}
    scene = doc.scene_index()
    if scene is not None:
        scene_extras = GltfDocument.extras(doc.scenes[scene]).get("sceneforge") or {}
    cells: dict[int, tuple[str, tuple[float, float, float, float, float, float], list[_Placed]]] = {}
    kept: dict[int, list[BuiltInstances]] = {}
    meshes: dict[int, list[Surface]] = {}  # kept instances' meshes, by glTF mesh index
    portals: list[BuiltPortal] = []
    nearest: dict[int, int | None] = {}  # node → its nearest cell node (itself included)
    for i, world, parent in doc.walk():
        node = doc.node(i)
        extras = GltfDocument.extras(node)
        if extras.get("type") == "cell" and isinstance(extras.get("cellId"), str):
            cells[i] = (extras["cellId"], _aabb(extras.get("aabb")), [])
        owner = i if i in cells else None if parent is None else nearest[parent]
        nearest[i] = owner
        if extras.get("type") == "portal" and isinstance(extras.get("quad"), list) and len(extras["quad"]) == 12:
            quad = np.asarray(extras["quad"], dtype=np.float64).reshape(4, 3)
            portals.append(BuiltPortal(str(extras.get("from", "")), str(extras.get("to", "")), quad))
            continue
        m = doc.node_mesh(i)
        if m is None or owner is None:
            continue
        path = f"/nodes/{i}"
        if keep_instances and doc.instancing(i) is not None:
            group = _kept(doc, i, m, world, meshes)
            if group.triangle_count:  # nothing drawn: left out, as its expanded copies would add nothing
                kept.setdefault(owner, []).append(group)
            continue
        instances = instance_matrices(doc, node, path)
        mats = [world] if instances is None else list(world @ instances)
        cells[owner][2].extend(_placed(doc, m, mats))
    if not cells:
        raise SceneInvalid([Issue("", "glb_no_cells", "the GLB has no cell nodes: it was not built by sceneforge")])
    made = iter(_surfaces([p for _, _, placed in cells.values() for p in placed]))
    built = [
        BuiltCell(cid, aabb, merge_by_material([next(made) for _ in placed]), kept.get(i, []))
        for i, (cid, aabb, placed) in cells.items()
    ]
    scene_id = scene_extras.get("sceneId") if isinstance(scene_extras, dict) else None
    return BuiltScene(str(scene_id or "scene"), built, portals, materials)
