"""A parsed GLB (:class:`GltfDocument`): node hierarchy, accessors, meshes, materials and textures, read checked.

Every length, offset, index and type is checked before it is used, and every failure is a
:class:`~sceneforge.errors.SceneInvalid` whose issue path is a JSON pointer into the glTF JSON. Interleaved
and sparse accessors and normalized integer attributes (``KHR_mesh_quantization``) are read; accessors
without a buffer view (zeros) and bytes read again are counted against ``max_bytes`` (a few bytes of JSON
cost what the bytes they stand for would); node hierarchies deeper than :data:`_MAX_DEPTH` are refused.
Morph targets are applied at the mesh's default ``weights``, their ``POSITION`` deltas only. Textures are
PNG images checked as a description's PNG asset is. :func:`quat_matrices` turns quaternions into rotations.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import AssetError, Issue, LimitExceeded
from ..model.ir import Material, Surface, Texture
from .glb_container import data_uri
from .gltf_json import finite_number, floats, glb_error, index, json_int, json_list, obj, unit_number
from .gltf_primitives import Primitive, as_triangle_list, unreferenced_dropped
from .surfaces import AFFINE_EPS, apply_matrix, fits_float32, make_surface

__all__ = ["GltfDocument", "quat_matrices"]

F64 = npt.NDArray[np.float64]


_COMPONENTS: dict[int, np.dtype[Any]] = {
    5120: np.dtype("<i1"), 5121: np.dtype("<u1"), 5122: np.dtype("<i2"), 5123: np.dtype("<u2"),
    5125: np.dtype("<u4"), 5126: np.dtype("<f4"),
}  # fmt: skip


_NORMALIZE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}


_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}


#: Accessors without a buffer view are zeros we allocate ourselves: bound them (elements).
_MAX_ZERO_ELEMENTS = 1 << 26


#: Deepest node hierarchy accepted; deeper is almost certainly hostile.
_MAX_DEPTH = 512


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def quat_matrices(q: F64) -> F64:
    """(k, 3, 3) rotation matrices of (k, 4) quaternions (x, y, z, w), taken as they are (unit)."""
    x, y, z, w = q.T
    out: F64 = np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=1),
        ],
        axis=1,
    )
    return out


class GltfDocument:
    """A parsed GLB: the glTF JSON plus its resolved binary buffers. Read with the methods below."""

    def __init__(self, gltf: dict[str, Any], buffers: list[bytes]) -> None:
        self.json = gltf
        self.buffers = buffers
        self.nodes = json_list(gltf, "nodes", "")
        self.meshes = json_list(gltf, "meshes", "")
        self.accessors = json_list(gltf, "accessors", "")
        self.views = json_list(gltf, "bufferViews", "")
        self.materials = json_list(gltf, "materials", "")
        self.scenes = json_list(gltf, "scenes", "")
        self._material_ids: list[str] | None = None
        self._uv_mappings: dict[int, tuple[int | None, F64 | None]] = {}
        #: Each image read so far: its texture (None when it is not a readable PNG) and what is wrong with it.
        self._images: dict[int, tuple[Texture | None, str]] = {}
        #: Meshes more than one node draws (set by the caller): decoded once, kept until the document goes.
        self.shared_meshes: set[int] = set()
        self._decoded: dict[tuple[int, bool], list[Primitive]] = {}
        #: With a limit (a tagged GLB build sets ``SCENEFORGE_MAX_UPLOAD_BYTES``): an accessor without a
        #: bufferView, zeros allocated here rather than read, adds its bytes to ``counted_bytes`` (the
        #: file's, to begin with) once, as if the file held them, and past ``max_bytes`` is refused — a
        #: few bytes of JSON declaring a huge count cost no more than a file at the limit would.
        self.counted_bytes: int = 0
        self.max_bytes: int | None = None
        self._zero_filled: set[int] = set()
        self._zero_bytes = 0
        #: Bytes every accessor decode has copied out of a view or zero-filled, each decode counted. What
        #: passes the buffers' bytes and those zeros is bytes read again (a view many accessors name, an
        #: accessor many meshes draw): added to ``counted_bytes`` as if the file held a copy of each, so
        #: a few bytes of JSON naming one view a thousand times cost what a thousand copies would.
        self.read_bytes: int = 0
        self._held_bytes = sum(len(b) for b in buffers)
        #: Accessors decoded for the mesh being decoded (primitives sharing a vertex buffer read it once).
        self._mesh_reads: dict[int, npt.NDArray[Any]] | None = None
        #: Warnings found while decoding (``texcoord_missing``), each once: the caller reports them.
        self.warnings: list[Issue] = []
        self._warned: set[str] = set()

    # nodes and scenes

    def scene_index(self) -> int | None:
        """The default scene (``scene``, else the first), or None when the file has no scenes."""
        if not self.scenes:
            return None
        return index(self.json, "scene", "", self.scenes, "scene") if "scene" in self.json else 0

    def roots(self) -> list[int]:
        """Root nodes of the default scene; without scenes, every node that is no node's child."""
        scene = self.scene_index()
        if scene is not None:
            path = f"/scenes/{scene}"
            entries = json_list(obj(self.scenes[scene], path), "nodes", path)
            return [index({"n": v}, "n", f"{path}/nodes/{i}", self.nodes, "node") for i, v in enumerate(entries)]
        children = {c for i in range(len(self.nodes)) for c in self.children(i)}
        return [i for i in range(len(self.nodes)) if i not in children]

    def node(self, i: int) -> dict[str, Any]:
        return obj(self.nodes[i], f"/nodes/{i}")

    def children(self, i: int) -> list[int]:
        path = f"/nodes/{i}"
        entries = json_list(self.node(i), "children", path)
        return [index({"c": v}, "c", f"{path}/children/{k}", self.nodes, "node") for k, v in enumerate(entries)]

    def local_matrix(self, i: int) -> F64:
        """(4, 4) row-major local transform of node ``i`` (``matrix`` or T·R·S).

        Built from Python floats, not numpy calls, per node (a file may hold 10⁵ empties): a node
        with no transform costs a dictionary lookup. The values are those of :func:`quat_matrices`
        (the same float64 operations in the same order).
        """
        node, path = self.node(i), f"/nodes/{i}"
        if "matrix" in node:
            m = floats(node, "matrix", path, 16).reshape(4, 4).T.copy()
            if np.abs(m[3] - (0.0, 0.0, 0.0, 1.0)).max() > AFFINE_EPS:  # glTF §5.25: translation, rotation, scale
                row = ", ".join(f"{v:g}" for v in m[3])
                message = (
                    f"matrix must be affine: its elements 3, 7, 11 and 15 (the last row) must be 0, 0, 0, 1, got {row}"
                )
                raise glb_error(f"{path}/matrix", message)
            m[3] = (0.0, 0.0, 0.0, 1.0)
            return m
        m = np.eye(4)
        if "rotation" in node:
            rot = floats(node, "rotation", path, 4)
            largest = max(map(abs, rot.tolist()))
            if largest > 1e150:  # its squares would pass a double (an infinite length): the same turn, scaled
                rot = rot / largest
            norm = float(np.linalg.norm(rot))
            if not norm > 0:  # a zero quaternion turns no definite way (its squares may underflow too)
                shown = ", ".join(f"{v:g}" for v in rot)
                raise glb_error(f"{path}/rotation", f"({shown}) is not a rotation: a quaternion must be non-zero")
            x, y, z, w = (rot / norm).tolist()
            m[:3, :3] = [
                [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
            ]
        if "scale" in node:
            m[:3, :3] *= floats(node, "scale", path, 3)
        if "translation" in node:
            m[:3, 3] = floats(node, "translation", path, 3)
        return m

    def walk(self) -> Iterator[tuple[int, F64, int | None]]:
        """Depth-first over the default scene, parents before their children: (node index, world
        matrix, parent node index or None for a root).

        A node reached twice (a cycle, or two parents) is an error, as glTF requires a forest; so is
        a hierarchy deeper than ``_MAX_DEPTH``. Cost: O(nodes), whatever the depth.
        """
        seen: set[int] = set()
        identity = np.eye(4)
        stack: list[tuple[int, F64, int | None, int]] = [(r, identity, None, 0) for r in reversed(self.roots())]
        while stack:
            i, parent_world, parent, depth = stack.pop()
            if i in seen:
                raise glb_error(f"/nodes/{i}", "node is reached twice: the node hierarchy must be a tree")
            if depth > _MAX_DEPTH:
                raise glb_error(f"/nodes/{i}", f"node hierarchy is deeper than {_MAX_DEPTH} levels")
            seen.add(i)
            node = self.node(i)
            local = self.local_matrix(i)
            world = local if parent is None else parent_world @ local
            yield i, world, parent
            if "children" in node:
                stack.extend((c, world, i, depth + 1) for c in reversed(self.children(i)))

    @staticmethod
    def extras(item: Any) -> dict[str, Any]:
        """The ``extras`` object of a glTF item (node, mesh, scene); {} when absent or not an object."""
        value = item.get("extras") if isinstance(item, dict) else None
        return value if isinstance(value, dict) else {}

    def node_mesh(self, i: int) -> int | None:
        node = self.node(i)
        return index(node, "mesh", f"/nodes/{i}", self.meshes, "mesh") if "mesh" in node else None

    # accessors and meshes

    def _view_bytes(self, v: int) -> tuple[bytes, int, int, int | None]:
        path = f"/bufferViews/{v}"
        view = obj(self.views[v], path)
        b = index(view, "buffer", path, self.buffers, "buffer")
        offset, length = json_int(view, "byteOffset", path, 0), json_int(view, "byteLength", path, lo=1)
        stride = json_int(view, "byteStride", path, 0) or None
        if offset + length > len(self.buffers[b]):
            size = len(self.buffers[b])
            raise glb_error(path, f"bytes {offset}..{offset + length} run past buffer {b} ({size} bytes)")
        return self.buffers[b], offset, length, stride

    def _strided(self, view: int, offset: int, dtype: np.dtype[Any], count: int, width: int, path: str) -> Any:
        buf, v_off, v_len, stride = self._view_bytes(view)
        elem = dtype.itemsize * width
        stride = stride or elem
        if stride < elem:
            raise glb_error(path, f"byteStride {stride} is smaller than one element ({elem} bytes)")
        if offset + stride * (count - 1) + elem > v_len:
            raise glb_error(path, f"{count} elements from byte {offset} run past the end of bufferView {view}")
        arr = np.ndarray((count, width), dtype, buffer=buf, offset=v_off + offset, strides=(stride, dtype.itemsize))
        return arr.copy()

    def accessor(self, a: int) -> npt.NDArray[Any]:
        """Accessor ``a`` as a (count, components) array: float64 when float or normalized, else int64."""
        if self._mesh_reads is not None and a in self._mesh_reads:
            return self._mesh_reads[a]
        out = self._decode_accessor(a)
        if self._mesh_reads is not None:
            self._mesh_reads[a] = out
        return out

    def _decode_accessor(self, a: int) -> npt.NDArray[Any]:
        path = f"/accessors/{a}"
        acc = obj(self.accessors[a], path)
        ctype = json_int(acc, "componentType", path)
        if ctype not in _COMPONENTS:
            raise glb_error(f"{path}/componentType", f"unknown component type {ctype}")
        kind = acc.get("type")
        if not isinstance(kind, str) or kind not in _WIDTH:  # a list or object is not hashable: no lookup
            shown = repr(kind) if isinstance(kind, str) else type(kind).__name__
            raise glb_error(f"{path}/type", f"unknown accessor type {shown}: must be one of {', '.join(_WIDTH)}")
        if acc.get("normalized") is True and ctype == 5125:  # glTF §3.6.2.3: no normalized 32-bit integers
            message = "normalized integers are 8- or 16-bit (componentType 5120–5123), not unsigned 32-bit (5125)"
            raise glb_error(f"{path}/normalized", message)
        dtype, width, count = _COMPONENTS[ctype], _WIDTH[kind], json_int(acc, "count", path, lo=1)
        if "bufferView" in acc:
            view = index(acc, "bufferView", path, self.views, "bufferView")
            data = self._strided(view, json_int(acc, "byteOffset", path, 0), dtype, count, width, path)
        else:
            if count * width > _MAX_ZERO_ELEMENTS:
                raise glb_error(f"{path}/count", f"{count} elements without a bufferView is too many")
            self._count_zero_fill(a, count * width * dtype.itemsize, path)
            data = np.zeros((count, width), dtype)
        self._count_read(count * width * dtype.itemsize, path)
        if "sparse" in acc:
            data = self._sparse(acc, data, dtype, width, path)
        out: npt.NDArray[Any]
        if ctype == 5126:
            out = data.astype(np.float64)
        elif acc.get("normalized") is True:
            out = np.maximum(data.astype(np.float64) / _NORMALIZE[ctype], -1.0)
        else:
            out = data.astype(np.int64)
        return out

    def _count_zero_fill(self, a: int, size: int, path: str) -> None:
        if self.max_bytes is None or a in self._zero_filled:
            return
        if self.counted_bytes + size > self.max_bytes:
            what = f"the file's bytes with accessor {a}'s {size:,} zero bytes (it has no bufferView)"
            raise LimitExceeded(
                "SCENEFORGE_MAX_UPLOAD_BYTES", self.counted_bytes + size, self.max_bytes, f"{path}/count", what
            )
        self.counted_bytes += size
        self._zero_bytes += size
        self._zero_filled.add(a)

    def _count_read(self, size: int, path: str) -> None:
        """Add a decode's ``size`` bytes to :attr:`read_bytes`; refused when what was read beyond the
        buffers and the zeros they declare, with ``counted_bytes``, passes ``max_bytes``."""
        self.read_bytes += size
        if self.max_bytes is None:
            return
        again = self.read_bytes - self._held_bytes - self._zero_bytes
        if again > 0 and self.counted_bytes + again > self.max_bytes:  # the file's own size is checked where it is read
            what = (
                f"the file's bytes with the {again:,} bytes its accessors read again (a view or accessor read by many)"
            )
            raise LimitExceeded("SCENEFORGE_MAX_UPLOAD_BYTES", self.counted_bytes + again, self.max_bytes, path, what)

    def _sparse(self, acc: dict[str, Any], data: Any, dtype: np.dtype[Any], width: int, path: str) -> Any:
        sp_path = f"{path}/sparse"
        sparse = obj(acc["sparse"], sp_path)
        n = json_int(sparse, "count", sp_path, lo=1)
        if n > data.shape[0]:
            raise glb_error(f"{sp_path}/count", f"{n} sparse values for {data.shape[0]} elements")
        ipath, vpath = f"{sp_path}/indices", f"{sp_path}/values"
        ind, val = obj(sparse.get("indices"), ipath), obj(sparse.get("values"), vpath)
        itype = json_int(ind, "componentType", ipath)
        if itype not in (5121, 5123, 5125):
            raise glb_error(f"{ipath}/componentType", f"sparse indices must be unsigned integers, got {itype}")
        iview = index(ind, "bufferView", ipath, self.views, "bufferView")
        idx = self._strided(iview, json_int(ind, "byteOffset", ipath, 0), _COMPONENTS[itype], n, 1, ipath)[:, 0]
        vview = index(val, "bufferView", vpath, self.views, "bufferView")
        values = self._strided(vview, json_int(val, "byteOffset", vpath, 0), dtype, n, width, vpath)
        if idx.size and int(idx.max()) >= data.shape[0]:
            raise glb_error(ipath, f"sparse index {int(idx.max())} is out of range ({data.shape[0]} elements)")
        data[idx.astype(np.int64)] = values
        return data

    def _attribute(self, attrs: dict[str, Any], name: str, path: str, width: int, count: int | None) -> F64 | None:
        if name not in attrs:
            return None
        a = index(attrs, name, path, self.accessors, "accessor")
        data = self.accessor(a)
        if data.shape[1] < width or (count is not None and data.shape[0] != count):
            raise glb_error(f"{path}/{name}", f"accessor {a} must hold {count or 'n'} × {width} values")
        return np.asarray(data[:, :width], dtype=np.float64)

    def _uvs(self, attrs: dict[str, Any], path: str, n: int, material: int | None, quiet: bool = False) -> F64 | None:
        """The texture coordinates the material's base-colour texture reads: the set its ``texCoord``
        names (0 by default), moved by its KHR_texture_transform (gltfpack writes one to undo its
        quantization of the coordinates: left out, a texture tiled 16 times too large).

        A textured material on a primitive without that set gets a ``texcoord_missing`` warning
        (once per primitive) and reads ``TEXCOORD_0`` instead when the primitive has it; with no
        set at all, the coordinates are zeros (the texture's corner colour, as a renderer draws it).
        """
        texcoord, matrix = self._uv_mapping(material)
        name = f"TEXCOORD_{0 if texcoord is None else texcoord}"
        if texcoord is not None and name not in attrs and material is not None:
            fallback = "TEXCOORD_0" if texcoord != 0 and "TEXCOORD_0" in attrs else None
            if not quiet:
                self._texcoord_missing(path, name, material, fallback)
            if fallback is not None:
                name = fallback
        uvs = self._attribute(attrs, name, path, 2, n)
        if uvs is None or matrix is None:
            return uvs
        out: F64 = uvs @ matrix[:2, :2].T + matrix[:2, 2]
        return out

    def _texcoord_missing(self, path: str, name: str, material: int, fallback: str | None) -> None:
        if path in self._warned:  # a mesh drawn by several nodes is decoded once per node
            return
        self._warned.add(path)
        instead = f"it reads {fallback} instead" if fallback else "its texture coordinates are all 0 (one texel)"
        message = (
            f"the primitive has no {name}, which the base-colour texture of material "
            f"{self.material_name(material)!r} reads: {instead}"
        )
        self.warnings.append(Issue(path, "texcoord_missing", message, "warning"))

    def _uv_mapping(self, material: int | None) -> tuple[int | None, F64 | None]:
        """(texture coordinate set, 3 × 3 KHR_texture_transform matrix or None) of the material's
        base-colour texture; (None, None) without one."""
        if material is None:
            return None, None
        if material in self._uv_mappings:
            return self._uv_mappings[material]
        path = f"/materials/{material}/pbrMetallicRoughness"
        pbr = obj(obj(self.materials[material], f"/materials/{material}").get("pbrMetallicRoughness", {}), path)
        info = pbr.get("baseColorTexture")
        found: tuple[int | None, F64 | None] = (None, None)
        if info is not None:
            ipath = f"{path}/baseColorTexture"
            info = obj(info, ipath)
            texcoord = json_int(info, "texCoord", ipath, 0)
            extensions = info.get("extensions")
            ext = extensions.get("KHR_texture_transform") if isinstance(extensions, dict) else None
            matrix = None
            if ext is not None:
                epath = f"{ipath}/extensions/KHR_texture_transform"
                ext = obj(ext, epath)
                texcoord = json_int(ext, "texCoord", epath, texcoord)
                ox, oy = floats(ext, "offset", epath, 2, (0.0, 0.0))
                sx, sy = floats(ext, "scale", epath, 2, (1.0, 1.0))
                rotation = ext.get("rotation", 0.0)
                if not finite_number(rotation):
                    raise glb_error(f"{epath}/rotation", f"must be a finite number (radians), got {rotation!r:.40}")
                c, r = np.cos(float(rotation)), np.sin(float(rotation))
                # T · R · S, as the extension defines it (R turns the other way from a rotation in x, y).
                matrix = np.array([[c * sx, r * sy, ox], [-r * sx, c * sy, oy], [0.0, 0.0, 1.0]])
            found = (texcoord, matrix)
        self._uv_mappings[material] = found
        return found

    def primitive_triangles(self, m: int) -> int:
        """Triangles mesh ``m`` will produce, read from accessor counts only (nothing decoded)."""
        total = 0
        for j, prim in enumerate(self._primitives(m)):
            path = f"/meshes/{m}/primitives/{j}"
            mode = json_int(prim, "mode", path, 4)
            key = "indices" if "indices" in prim else None
            attrs = obj(prim.get("attributes", {}), f"{path}/attributes")
            ref, owner = (prim, "indices") if key else (attrs, "POSITION")
            if owner not in ref:
                continue
            acc = obj(self.accessors[index(ref, owner, path, self.accessors, "accessor")], "/accessors")
            n = acc.get("count", 0) if isinstance(acc.get("count"), int) else 0
            total += n // 3 if mode == 4 else max(n - 2, 0) if mode in (5, 6) else 0
        return total

    def _primitives(self, m: int) -> list[dict[str, Any]]:
        path = f"/meshes/{m}"
        prims = json_list(obj(self.meshes[m], path), "primitives", path)
        return [obj(p, f"{path}/primitives/{j}") for j, p in enumerate(prims)]

    def primitives(self, m: int, *, points_and_lines: bool = False) -> list[Primitive]:
        """The triangle primitives of mesh ``m``, decoded and range-checked, in local space.

        With ``points_and_lines``, point and line primitives come too, as their positions with no
        triangles (a doorway's outline may be drawn as a wire: Blender's Loose Edges / Loose Points).
        A mesh in :attr:`shared_meshes` is decoded once (its arrays are not to be changed).
        """
        if (m, points_and_lines) in self._decoded:
            return self._decoded[m, points_and_lines]
        self._mesh_reads = {}
        try:
            out = self._decode_primitives(m, points_and_lines)
        finally:
            self._mesh_reads = None
        if m in self.shared_meshes:
            self._decoded[m, points_and_lines] = out
        return out

    def _decode_primitives(self, m: int, points_and_lines: bool) -> list[Primitive]:
        out = []
        for j, prim in enumerate(self._primitives(m)):
            path = f"/meshes/{m}/primitives/{j}"
            mode = json_int(prim, "mode", path, 4)
            if mode in (0, 1, 2, 3) and not points_and_lines:
                continue
            if mode not in (0, 1, 2, 3, 4, 5, 6):
                raise glb_error(f"{path}/mode", f"unknown primitive mode {mode}")
            apath = f"{path}/attributes"
            attrs = obj(prim.get("attributes"), apath)
            positions = self._attribute(attrs, "POSITION", apath, 3, None)
            if positions is None:
                raise glb_error(apath, "a primitive needs a POSITION attribute")
            n = positions.shape[0]
            morphed = self._morphed(m, prim, path, positions)
            if morphed is not None:
                positions = morphed
                attrs = {k: v for k, v in attrs.items() if k != "NORMAL"}  # made again from the morphed faces
            if "indices" in prim:
                idx_acc = index(prim, "indices", path, self.accessors, "accessor")
                idx = self.accessor(idx_acc)
                if idx.dtype != np.int64 or idx.shape[1] != 1:
                    raise glb_error(f"{path}/indices", "indices must be a SCALAR accessor of unsigned integers")
                idx = idx[:, 0]
                if idx.size and (int(idx.max()) >= n or int(idx.min()) < 0):
                    raise glb_error(f"{path}/indices", f"an index is outside the {n} vertices of POSITION")
            else:
                idx = np.arange(n, dtype=np.int64)
            if mode in (0, 1, 2, 3):
                used = unreferenced_dropped(n, idx)
                kept = positions if used is None else positions[used]
                out.append(Primitive(kept, np.zeros((0, 3), np.int64), None, None, None))
                continue
            material = index(prim, "material", path, self.materials, "material") if "material" in prim else None
            triangles = as_triangle_list(idx, mode)
            # A portal's outline (read with points and lines) is not drawn: its coordinates draw no warning.
            normals, uvs = (
                self._attribute(attrs, "NORMAL", apath, 3, n),
                self._uvs(attrs, apath, n, material, points_and_lines),
            )
            used = unreferenced_dropped(n, triangles.reshape(-1))
            if used is not None:  # vertices no triangle draws: no place in the surface, its box or checks
                remap = np.zeros(n, np.int64)
                remap[used] = np.arange(used.shape[0])
                triangles, positions = remap[triangles], positions[used]
                normals = None if normals is None else normals[used]
                uvs = None if uvs is None else uvs[used]
            out.append(Primitive(positions, triangles, normals, uvs, material))
        return out

    def _morphed(self, m: int, prim: dict[str, Any], path: str, positions: F64) -> F64 | None:
        """``positions`` plus the ``POSITION`` deltas of ``prim``'s morph targets at mesh ``m``'s default
        ``weights`` (all 0 without them, as glTF says); None when nothing moves. A new array: the
        accessor's own may be cached and shared."""
        if "targets" not in prim:
            return None
        targets = json_list(prim, "targets", path)
        weights = self.meshes[m].get("weights", [0.0] * len(targets))
        if not isinstance(weights, list) or len(weights) != len(targets) or not all(finite_number(w) for w in weights):
            raise glb_error(f"/meshes/{m}/weights", f"weights must be {len(targets)} finite numbers, one per target")
        moved = None
        for k, (target, weight) in enumerate(zip(targets, weights, strict=True)):
            tpath = f"{path}/targets/{k}"
            delta = self._attribute(obj(target, tpath), "POSITION", tpath, 3, positions.shape[0])
            if delta is not None and weight != 0:
                moved = (positions if moved is None else moved) + float(weight) * delta
        return moved

    def mesh_surfaces(self, m: int, world: F64, default_material: str, path: str) -> list[Surface]:
        """Mesh ``m`` placed by ``world`` (4, 4): one surface per primitive, normals filled in.

        Non-finite coordinates are an error at ``path``; empty primitives are dropped.
        """
        surfaces = []
        for prim in self.primitives(m):
            if prim.triangles.shape[0] == 0:
                continue
            positions, normals, tri = apply_matrix(world, prim.positions, prim.normals, prim.triangles)
            if not fits_float32(positions, prim.uvs):
                name = self.meshes[m].get("name") if isinstance(self.meshes[m], dict) else None
                label = f"mesh {m} ({name!r})" if isinstance(name, str) else f"mesh {m}"
                raise glb_error(path, f"{label} has non-finite (NaN or infinite) coordinates", "asset_non_finite")
            name = default_material if prim.material is None else self.material_name(prim.material)
            surfaces.append(make_surface(name, positions, tri, normals, prim.uvs))
        return surfaces

    # materials

    def material_name(self, i: int) -> str:
        """The id material ``i`` gets: its name when it is a usable id, else ``material<i>``; a
        material whose id an earlier one already took (two named ``"Wall"``, or one named
        ``"material1"`` before the unnamed material 1) gets ``<id>.<i>``, so no two materials of
        the file share an id, and none takes another's colour or texture."""
        if self._material_ids is None:
            ids: list[str] = []
            for k in range(len(self.materials)):
                name = obj(self.materials[k], f"/materials/{k}").get("name")
                usable = isinstance(name, str) and 0 < len(name) <= 128 and name.isprintable()
                ids.append(name if usable else f"material{k}")  # type: ignore[arg-type]
            taken = set(ids)
            seen: set[str] = set()
            for k, base in enumerate(ids):
                if base in seen:
                    unique = f"{base}.{k}"
                    while unique in taken:
                        unique += "_"
                    ids[k] = unique
                    taken.add(unique)
                seen.add(ids[k])
            self._material_ids = ids
        return self._material_ids[i]

    def read_materials(self, issues: list[Issue] | None = None) -> dict[str, Material]:
        """Every material by :meth:`material_name`: base colour, metallic, roughness and an embedded
        PNG base-colour texture. Textures that are not embedded PNGs are left out (a warning is
        appended to ``issues`` when given)."""
        out: dict[str, Material] = {}
        for i in range(len(self.materials)):
            path = f"/materials/{i}"
            mat = obj(self.materials[i], path)
            pbr = obj(mat.get("pbrMetallicRoughness", {}), f"{path}/pbrMetallicRoughness")
            ppath = f"{path}/pbrMetallicRoughness"
            color = np.clip(floats(pbr, "baseColorFactor", ppath, 4, (1, 1, 1, 1)), 0.0, 1.0)
            metallic = unit_number(pbr, "metallicFactor", ppath)
            rough = unit_number(pbr, "roughnessFactor", ppath)
            texture = None
            if "baseColorTexture" in pbr:
                texture = self._texture(obj(pbr["baseColorTexture"], f"{ppath}/baseColorTexture"), ppath, issues)
            out[self.material_name(i)] = Material(
                material_id=self.material_name(i),
                base_color=(float(color[0]), float(color[1]), float(color[2]), float(color[3])),
                metallic=metallic,
                roughness=rough,
                texture=texture,
            )
        return out

    def _texture(self, ref: dict[str, Any], path: str, issues: list[Issue] | None) -> Texture | None:
        textures = json_list(self.json, "textures", "")
        t = index(ref, "index", f"{path}/baseColorTexture", textures, "texture")
        tex = obj(textures[t], f"/textures/{t}")
        images = json_list(self.json, "images", "")
        if "source" not in tex:  # an image only an extension names (KTX2, WebP): nothing here to keep
            if issues is not None:
                message = f"texture {t} has no source image (only an extension gives one): it is dropped"
                issues.append(Issue(f"/textures/{t}", "texture_unsupported", message, "warning"))
            return None
        s = index(tex, "source", f"/textures/{t}", images, "image")
        image, ipath = obj(images[s], f"/images/{s}"), f"/images/{s}"
        uri = image.get("uri")
        external = "bufferView" not in image and isinstance(uri, str) and not uri.startswith("data:")
        if s in self._images:  # many materials may show one image: its bytes are read (and hashed) once
            texture, broken = self._images[s]
        else:
            if "bufferView" in image:
                buf, off, length, _ = self._view_bytes(index(image, "bufferView", ipath, self.views, "bufferView"))
                self._count_read(length, f"{ipath}/bufferView")  # images naming one view read it once each
                data = bytes(buf[off : off + length])
            elif external:  # never opened: a file or URL beside the GLB is not part of the upload
                data = b""
            else:
                data = data_uri(uri, f"{ipath}/uri") or b""
            texture, broken = None, ""
            if data.startswith(_PNG_SIGNATURE):
                broken = _png_problem(data)  # checked as a description's PNG asset is: not written out broken
                if not broken:
                    import hashlib

                    texture = Texture(asset_id=f"sha256:{hashlib.sha256(data).hexdigest()[:16]}", png=data)
            self._images[s] = (texture, broken)
        if texture is None:
            if issues is not None:
                name = image.get("name", s)
                what = f"an external file ({str(uri)[:60]!r})" if external else "not a PNG"
                what = f"not a readable PNG ({broken})" if broken else what
                message = (
                    f"image {name!r} ({image.get('mimeType', 'no mimeType')}) is {what}: "
                    "only PNG textures embedded in the GLB are kept; this one is dropped"
                )
                issues.append(Issue(ipath, "texture_unsupported", message, "warning"))
            return None
        return texture


def _png_problem(data: bytes) -> str:
    """What keeps PNG bytes from being a readable image (chunks, CRCs, a size within the decompression-bomb
    bound), as a description's PNG asset is checked; ``""`` when nothing does."""
    from .png_check import check_png

    try:
        check_png(data, "")
    except AssetError as exc:
        return exc.issues[0].message
    return ""
