"""A parsed GLB (:class:`GltfDocument`): node hierarchy, meshes and materials, read checked.

Every length, offset, index and type is checked before it is used, and every failure is a
:class:`~sceneforge.errors.SceneInvalid` whose issue path is a JSON pointer into the glTF JSON. Accessors are
read by :mod:`.gltf_accessors` (interleaved, sparse, normalized; the bytes they cost bounded), materials and
textures by :mod:`.gltf_materials`. Node hierarchies deeper than :data:`_MAX_DEPTH` are refused. Morph
targets are applied at the mesh's default ``weights``, their ``POSITION`` deltas only. A skinned mesh is
placed by its skin's joints at the pose their nodes hold (:meth:`GltfDocument.skin_matrices`, :func:`skinned`:
linear blend skinning, weights scaled to sum to 1), not by its node's transform, as glTF skins it.
A Draco-compressed primitive is refused by name (its accessors hold no data of their own).
:func:`quat_matrices` turns quaternions into rotations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import Issue, SceneInvalid
from ..model.ir import Material, Surface
from .gltf_accessors import AccessorReader
from .gltf_json import finite_number, floats, glb_error, index, json_int, json_list, obj
from .gltf_materials import MaterialReader
from .gltf_primitives import Influences, Primitive, as_triangle_list, unreferenced_dropped
from .surfaces import AFFINE_EPS, apply_matrix, fits_float32, make_surface

__all__ = ["DRACO_HINT", "INSTANCING", "GltfDocument", "quat_matrices", "skinned"]

F64 = npt.NDArray[np.float64]

#: The extension that draws a node's mesh once per instance (gltfpack ``-mi``, glTF-Transform ``instance``).
INSTANCING = "EXT_mesh_gpu_instancing"


#: Deepest node hierarchy accepted; deeper is almost certainly hostile.
_MAX_DEPTH = 512

_DRACO = "KHR_draco_mesh_compression"
#: What a file of compressed meshes sceneforge does not decode is told to do.
DRACO_HINT = (
    "export it uncompressed (Blender: Data → Compression off, export_draco_mesh_compression_enable=False; "
    "gltf-transform / gltf-pipeline: without --draco)"
)


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
        #: The accessors' reader, which counts the bytes they cost: a build bounds them with :meth:`bound_reads`.
        self.reads = AccessorReader(self.accessors, self.views, buffers)
        self._materials = MaterialReader(gltf, self.materials, self.reads)
        #: Meshes more than one node draws (set by the caller): decoded once, kept until the document goes.
        self.shared_meshes: set[int] = set()
        self._decoded: dict[tuple[int, bool], list[Primitive]] = {}
        self._triangle_counts: dict[tuple[int, bool], int] = {}
        self._node_meshes: dict[int, int | None] = {}
        #: Accessors decoded for the mesh being decoded (primitives sharing a vertex buffer read it once).
        self._mesh_reads: dict[int, npt.NDArray[Any]] | None = None
        #: The same, as the file stores them (:meth:`stored_accessor`: skin influences, kept narrow).
        self._mesh_stored: dict[int, tuple[npt.NDArray[Any], int, bool]] = {}
        #: Each skin's joint matrices (:meth:`skin_matrices`), made once for all the nodes it skins.
        self._skins: dict[int, F64] = {}
        #: Accessors the primitive being decoded has named so far: one it names again is read again.
        self._primitive_reads: set[int] = set()
        #: Warnings found while decoding (``texcoord_missing``), each once: the caller reports them.
        self.warnings: list[Issue] = []
        self._warned: set[str] = set()
        self._name_counts: dict[str, int] | None = None

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

    def nodes_named(self, name: str) -> int:
        """How many nodes bear ``name`` (counted once for the file: a message about a copy asks per node)."""
        if self._name_counts is None:
            names = (n.get("name") for n in self.nodes if isinstance(n, dict))
            self._name_counts = Counter(n for n in names if isinstance(n, str))
        return self._name_counts.get(name, 0)

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
        matrix, parent node index or None for a root). The matrices are read-only rows of one array.

        A node reached twice (a cycle, or two parents) is an error, as glTF requires a forest; so is
        a hierarchy deeper than ``_MAX_DEPTH``. Cost: O(nodes), whatever the depth: the nodes' order
        is found first, then every local matrix at once (:meth:`_local_matrices`) and the world
        matrices one depth at a time (one batched product per depth). The first error met is the one
        a node-by-node walk would meet first (a node's transform before a later node's tree error).
        """
        order: list[int] = []
        parents: list[int | None] = []
        depths: list[int] = []
        try:
            self._order(order, parents, depths)
        except SceneInvalid:
            self._local_matrices(order)  # the transforms of the nodes reached before the error come first
            raise
        local = self._local_matrices(order)
        world = local.copy()
        at = {i: k for k, i in enumerate(order)}
        depth = np.asarray(depths, dtype=np.int64)
        up = np.asarray([-1 if p is None else at[p] for p in parents], dtype=np.int64)
        for d in range(1, int(depth.max(initial=0)) + 1):  # parents' world matrices are final before their children's
            rows = np.flatnonzero(depth == d)
            world[rows] = world[up[rows]] @ local[rows]
        world.flags.writeable = False
        return zip(order, world, parents, strict=True)

    def _order(self, order: list[int], parents: list[int | None], depths: list[int]) -> None:
        """Append the default scene's nodes depth-first (parents first), with their parents and depths."""
        seen: set[int] = set()
        stack: list[tuple[int, int | None, int]] = [(r, None, 0) for r in reversed(self.roots())]
        while stack:
            i, parent, depth = stack.pop()
            if i in seen:
                raise glb_error(f"/nodes/{i}", "node is reached twice: the node hierarchy must be a tree")
            if depth > _MAX_DEPTH:
                raise glb_error(f"/nodes/{i}", f"node hierarchy is deeper than {_MAX_DEPTH} levels")
            seen.add(i)
            node = self.node(i)
            order.append(i)
            parents.append(parent)
            depths.append(depth)
            if "children" in node:
                stack.extend((c, i, depth + 1) for c in reversed(self.children(i)))

    def _local_matrices(self, order: list[int]) -> F64:
        """(n, 4, 4) local transforms of nodes ``order``, each :meth:`local_matrix`'s (to the last bit but
        the quaternion's length, a sum of squares in another order). Transforms given as T·R·S are read
        together: every node's numbers checked in one pass, the rotations made by :func:`quat_matrices`;
        a node with a ``matrix``, or any that is not numbers a double holds, is read node by node, so
        the error raised is the first node's (with its pointer and message)."""
        nodes = [self.nodes[i] for i in order]
        out: F64 = np.broadcast_to(np.eye(4), (len(order), 4, 4)).copy()
        given = [k for k, node in enumerate(nodes) if "matrix" not in node]
        numbers = [
            _numbers(nodes, given, key, width) for key, width in (("rotation", 4), ("scale", 3), ("translation", 3))
        ]
        (rot_k, rot), (scale_k, scale), (move_k, move) = numbers
        if rot.size:
            largest = np.abs(rot).max(axis=1)
            huge = largest > 1e150  # its squares would pass a double (an infinite length): the same turn, scaled
            rot[huge] /= largest[huge, None]
            length = np.sqrt(np.square(rot).sum(axis=1))
        if any(k is None for k, _ in numbers) or (rot.size and not (length > 0).all()):
            return np.stack([self.local_matrix(i) for i in order]) if order else out  # raises the first error
        for k, i in enumerate(order):
            if "matrix" in nodes[k]:
                out[k] = self.local_matrix(i)
        if rot.size:
            out[rot_k, :3, :3] = quat_matrices(rot / length[:, None])
        if scale.size:
            out[scale_k, :3, :3] *= scale[:, None, :]
        if move.size:
            out[move_k, :3, 3] = move
        return out

    @staticmethod
    def extras(item: Any) -> dict[str, Any]:
        """The ``extras`` object of a glTF item (node, mesh, scene); {} when absent or not an object."""
        value = item.get("extras") if isinstance(item, dict) else None
        return value if isinstance(value, dict) else {}

    def instancing(self, i: int) -> dict[str, Any] | None:
        """Node ``i``'s :data:`INSTANCING` object, or None when it has none."""
        extensions = self.node(i).get("extensions")
        ext = extensions.get(INSTANCING) if isinstance(extensions, dict) else None
        return ext if isinstance(ext, dict) else None

    def node_mesh(self, i: int) -> int | None:
        """The mesh node ``i`` draws (checked), or None; read once a node (asked for several times a portal)."""
        if i in self._node_meshes:
            return self._node_meshes[i]
        node = self.node(i)
        mesh = index(node, "mesh", f"/nodes/{i}", self.meshes, "mesh") if "mesh" in node else None
        self._node_meshes[i] = mesh
        return mesh

    # accessors and meshes

    def bound_reads(self, counted_bytes: int, max_bytes: int | None) -> None:
        """Count the bytes accessors cost from ``counted_bytes`` (the file's) up to ``max_bytes``: zeros
        of accessors without a buffer view and bytes read again, past it :class:`LimitExceeded` (None: unbounded)."""
        self.reads.counted_bytes, self.reads.max_bytes = counted_bytes, max_bytes

    def accessor(self, a: int) -> npt.NDArray[Any]:
        """Accessor ``a`` as a (count, components) array: float64 when float or normalized, else int64."""
        out: npt.NDArray[Any] = self._read_once(a, self._mesh_reads, self.reads.decode)
        return out

    def stored_accessor(self, a: int) -> tuple[npt.NDArray[Any], int, bool]:
        """Accessor ``a`` as the file stores it (:meth:`.gltf_accessors.AccessorReader.decode_stored`), read once a
        mesh and counted again when a primitive names it again, as :meth:`accessor` does."""
        out: tuple[npt.NDArray[Any], int, bool] = self._read_once(
            a, self._mesh_stored if self._mesh_reads is not None else None, self.reads.decode_stored
        )
        return out

    def _read_once(self, a: int, cache: dict[int, Any] | None, decode: Callable[[int], Any]) -> Any:
        """``decode(a)``, kept in ``cache`` (the mesh being decoded's; None outside one) and taken from there again.
        Named again by one primitive (thousands of morph targets or JOINTS_n / WEIGHTS_n sets naming one accessor,
        each applied over every vertex), it is counted as a copy the file would hold, as a view several accessors
        name is, so a few bytes of JSON cannot cost hours or gigabytes."""
        if cache is not None and a in cache:
            if a in self._primitive_reads:
                self.reads.count_read(self.reads.file_bytes(a), f"/accessors/{a}")
            self._primitive_reads.add(a)
            return cache[a]
        out = decode(a)
        self._primitive_reads.add(a)
        if cache is not None:
            cache[a] = out
        return out

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
        texcoord, matrix = self.uv_mapping(material)
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

    def primitive_triangles(self, m: int, *, points_and_lines: bool = False) -> int:
        """Triangles mesh ``m`` will produce, read from accessor counts only (nothing decoded); once a mesh
        (a doorway drawn by thousands of nodes is counted for each).

        With ``points_and_lines`` (a portal's mesh, whose outline reads them: :meth:`primitives`) each vertex a
        point or line primitive draws (its indices, else its positions) counts as a triangle: read and outlined,
        a vertex costs what a triangle does, and a doorway of a million points is not free of the limit.
        """
        if (m, points_and_lines) in self._triangle_counts:
            return self._triangle_counts[m, points_and_lines]
        total = 0
        for j, prim in enumerate(self.primitive_json(m)):
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
            total += n if points_and_lines and mode in (0, 1, 2, 3) else 0
        self._triangle_counts[m, points_and_lines] = total
        return total

    def primitive_json(self, m: int) -> list[dict[str, Any]]:
        """Mesh ``m``'s primitives as their JSON objects (checked to be objects; nothing decoded)."""
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
        self._mesh_reads, self._mesh_stored = {}, {}
        try:
            out = self._decode_primitives(m, points_and_lines)
        finally:
            self._mesh_reads, self._mesh_stored = None, {}
        if m in self.shared_meshes:
            self._decoded[m, points_and_lines] = out
        return out

    def _decode_primitives(self, m: int, points_and_lines: bool) -> list[Primitive]:
        out = []
        for j, prim in enumerate(self.primitive_json(m)):
            path = f"/meshes/{m}/primitives/{j}"
            self._primitive_reads = set()
            mode = json_int(prim, "mode", path, 4)
            if mode in (0, 1, 2, 3) and not points_and_lines:
                continue
            if mode not in (0, 1, 2, 3, 4, 5, 6):
                raise glb_error(f"{path}/mode", f"unknown primitive mode {mode}")
            apath = f"{path}/attributes"
            attrs = obj(prim.get("attributes"), apath)
            self.not_draco(prim, attrs, path)
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
            influences = self._influences(attrs, apath, n)
            used = unreferenced_dropped(n, triangles.reshape(-1))
            if used is not None:  # vertices no triangle draws: no place in the surface, its box or checks
                remap = np.zeros(n, np.int64)
                remap[used] = np.arange(used.shape[0])
                triangles, positions = remap[triangles], positions[used]
                normals = None if normals is None else normals[used]
                uvs = None if uvs is None else uvs[used]
                influences = None if influences is None else influences.taken(used)
            out.append(Primitive(positions, triangles, normals, uvs, material, influences))
        return out

    def not_draco(self, prim: dict[str, Any], attrs: dict[str, Any], path: str) -> None:
        """Refuse a Draco-compressed primitive whose file does not require the extension: its ``POSITION``
        accessor has no ``bufferView`` (the data is in the extension's), so read as it stands it would be
        zeros, every triangle collapsed at the origin without a word."""
        extensions = prim.get("extensions")
        if not isinstance(extensions, dict) or _DRACO not in extensions:
            return
        a = attrs.get("POSITION")
        accessor = self.accessors[a] if isinstance(a, int) and 0 <= a < len(self.accessors) else None
        if isinstance(accessor, dict) and "bufferView" not in accessor:
            message = f"the primitive is Draco-compressed ({_DRACO}), which sceneforge does not decode: {DRACO_HINT}"
            raise glb_error(f"{path}/extensions/{_DRACO}", message)

    def _influences(self, attrs: dict[str, Any], path: str, n: int) -> Influences | None:
        """The ``JOINTS_i`` / ``WEIGHTS_i`` pairs of a skinned primitive, (n, 4) each, kept as the file stores them
        (:class:`.gltf_primitives.Influences`); None without ``JOINTS_0`` and ``WEIGHTS_0``."""
        joints, weights, types = [], [], []
        k = 0
        while f"JOINTS_{k}" in attrs and f"WEIGHTS_{k}" in attrs:
            a = index(attrs, f"JOINTS_{k}", path, self.accessors, "accessor")
            data, ctype, normalized = self.stored_accessor(a)
            if ctype == 5126 or normalized or data.shape != (n, 4):
                raise glb_error(f"{path}/JOINTS_{k}", f"accessor {a} must hold {n} × 4 unsigned integers")
            w = index(attrs, f"WEIGHTS_{k}", path, self.accessors, "accessor")
            weight, wtype, wnormalized = self.stored_accessor(w)
            if weight.shape[1] < 4 or weight.shape[0] != n:
                raise glb_error(f"{path}/WEIGHTS_{k}", f"accessor {w} must hold {n} × 4 values")
            joints.append(data)
            weights.append(weight[:, :4])
            types.append((wtype, wnormalized))
            k += 1
        if not joints:
            return None
        return Influences(tuple(joints), tuple(weights), tuple(types))

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

    def skin_matrices(self, i: int, worlds: dict[int, F64]) -> F64 | None:
        """(joints, 4, 4) row-major matrices of node ``i``'s skin — each joint's world matrix (from
        ``worlds``, node → world) times its inverse bind matrix (identity without ``inverseBindMatrices``)
        — or None when the node has no ``skin``. A joint outside the scene walked is an error.

        ``worlds`` is the walk of the scene (:meth:`walk`), the same for every call on a document: a skin's matrices
        are made once (read-only), however many nodes it skins — made again per node, a skin of 50,000 joints
        skinning 1,000 nodes took a minute from a 1.5 MB file."""
        node, path = self.node(i), f"/nodes/{i}"
        if "skin" not in node:
            return None
        skins = json_list(self.json, "skins", "")
        s = index(node, "skin", path, skins, "skin")
        if s in self._skins:
            return self._skins[s]
        spath = f"/skins/{s}"
        skin = obj(skins[s], spath)
        joints = json_list(skin, "joints", spath)
        if not joints:
            raise glb_error(f"{spath}/joints", "a skin needs at least one joint")
        nodes = [index({"j": v}, "j", f"{spath}/joints/{k}", self.nodes, "node") for k, v in enumerate(joints)]
        for k, j in enumerate(nodes):
            if j not in worlds:
                raise glb_error(f"{spath}/joints/{k}", f"joint node {j} is not in the scene read, so it places nothing")
        out: F64 = np.stack([worlds[j] for j in nodes])
        if "inverseBindMatrices" in skin:
            a = index(skin, "inverseBindMatrices", spath, self.accessors, "accessor")
            data = self.accessor(a)
            if data.shape != (len(nodes), 16):
                raise glb_error(f"{spath}/inverseBindMatrices", f"accessor {a} must hold {len(nodes)} MAT4 values")
            out = out @ np.asarray(data, np.float64).reshape(-1, 4, 4).transpose(0, 2, 1)
        out.flags.writeable = False
        self._skins[s] = out
        return out

    def mesh_surfaces(
        self, m: int, world: F64, default_material: str, path: str, skin: F64 | None = None
    ) -> list[Surface]:
        """Mesh ``m`` placed by ``world`` (4, 4): one surface per primitive, normals filled in.

        With ``skin`` (:meth:`skin_matrices`) a primitive with joints and weights is placed by them instead, at
        the skeleton's pose, as glTF skins a mesh (the node's own transform is not used): :func:`skinned`.
        Non-finite coordinates are an error at ``path``; empty primitives are dropped.
        """
        surfaces = []
        for prim in self.primitives(m):
            if prim.triangles.shape[0] == 0:
                continue
            if skin is not None and prim.influences is not None:
                positions, normals, tri = skinned(skin, prim, f"/meshes/{m}")
            else:
                positions, normals, tri = apply_matrix(world, prim.positions, prim.normals, prim.triangles)
            if not fits_float32(positions, prim.uvs):
                raise self.non_finite(m, path)
            name = default_material if prim.material is None else self.material_name(prim.material)
            surfaces.append(make_surface(name, positions, tri, normals, prim.uvs))
        return surfaces

    def non_finite(self, m: int, path: str) -> SceneInvalid:
        """The error of mesh ``m`` placed with a coordinate NaN, infinite or beyond float32, at ``path``."""
        name = self.meshes[m].get("name") if isinstance(self.meshes[m], dict) else None
        label = f"mesh {m} ({name!r})" if isinstance(name, str) else f"mesh {m}"
        return glb_error(path, f"{label} has non-finite (NaN or infinite) coordinates", "asset_non_finite")

    # materials

    def uv_mapping(self, material: int | None) -> tuple[int | None, F64 | None]:
        """(texture coordinate set, KHR_texture_transform matrix) of material ``material``'s base-colour texture,
        read checked as a build's primitives read it (:meth:`.gltf_materials.MaterialReader.uv_mapping`); (None, None)
        without a material or a texture."""
        return self._materials.uv_mapping(material)

    def material_name(self, i: int) -> str:
        """The id material ``i`` gets (:meth:`.gltf_materials.MaterialReader.material_name`)."""
        return self._materials.material_name(i)

    def read_materials(self, issues: list[Issue] | None = None) -> dict[str, Material]:
        """Every material by :meth:`material_name` (:meth:`.gltf_materials.MaterialReader.read_materials`)."""
        return self._materials.read_materials(issues)


#: Influences (vertices × joints a vertex names) widened at once by :func:`skinned`: 512 KiB of int64 / float64
#: each, at least :data:`_BLOCK_VERTICES` vertices (fewer numpy calls a vertex for a mesh of hundreds of sets).
_BLOCK_INFLUENCES = 1 << 16
_BLOCK_VERTICES = 256


def skinned(skin: F64, prim: Primitive, path: str) -> tuple[F64, F64 | None, npt.NDArray[np.integer]]:
    """``prim``'s positions, normals and triangles placed by linear blend skinning: each vertex by the sum
    of its joints' matrices (``skin``, (joints, 4, 4)) weighted by its weights, scaled to sum to 1 as
    three.js does on load (a vertex weighing nothing follows its first joint). When every vertex gets the
    same matrix (a skeleton at rest, a mesh bound to one bone) that matrix places the primitive as a
    node's would; otherwise the normals are made again from the faces, and a triangle whose matrix
    mirrors is turned round, as a mirroring node's are.

    The influences are widened and blended a block of vertices at a time (:data:`_BLOCK_INFLUENCES` joints and
    weights), each vertex's arithmetic that of the whole mesh at once: the memory beyond the file's own is the
    placed positions' and a block's, however many influence sets the mesh has."""
    assert prim.influences is not None
    influences = prim.influences
    least, most = influences.joint_range()
    if most >= skin.shape[0] or least < 0:
        raise glb_error(
            path, f"a vertex names joint {least if least < 0 else most} of a skin of {skin.shape[0]} joints"
        )
    n = influences.count
    rows = skin[:, :3, :]
    step = max(_BLOCK_VERTICES, _BLOCK_INFLUENCES // (4 * len(influences.joints)))
    positions: F64 = np.empty((n, 3))
    mirrors = np.zeros(n, bool)
    first: F64 | None = None
    apart = 0.0
    for start in range(0, n, step):
        stop = min(start + step, n)
        joints, weights = influences.block(start, stop)
        weights = np.where(np.isfinite(weights), weights, 0.0)
        total = weights.sum(axis=1, keepdims=True)
        weights = np.where(total > 0, weights / np.where(total > 0, total, 1.0), 0.0)
        weights[total[:, 0] <= 0, 0] = 1.0
        # The matrices' top three rows, one influence at a time: a gather of every influence's 4 × 4 matrices at
        # once took 512 bytes a vertex per JOINTS set (a 2-million-vertex mesh: 1 GB), the mesh's own positions 12.
        blend = np.zeros((stop - start, 3, 4))
        for k in range(joints.shape[1]):
            blend += weights[:, k, None, None] * rows[joints[:, k]]
        if first is None:
            first = blend[:1].copy()
        apart = max(apart, float(np.abs(blend - first).max(initial=0.0)))
        local = prim.positions[start:stop]
        positions[start:stop] = np.einsum("nij,nj->ni", blend[:, :3, :3], local) + blend[:, :3, 3]
        mirrors[start:stop] = np.linalg.det(blend[:, :3, :3]) < 0
    scale = 0.0 if first is None else float(np.abs(first).max(initial=0.0))
    if apart <= 1e-9 * max(1.0, scale):
        matrix = np.vstack([first[0], [0.0, 0.0, 0.0, 1.0]]) if first is not None else np.eye(4)
        return apply_matrix(matrix, prim.positions, prim.normals, prim.triangles)
    mirrored = mirrors[prim.triangles[:, 0]]
    tri = np.where(mirrored[:, None], prim.triangles[:, ::-1], prim.triangles)
    return positions, None, np.ascontiguousarray(tri)


def _numbers(nodes: list[dict[str, Any]], among: list[int], key: str, width: int) -> tuple[Any, F64]:
    """(positions k in ``among`` whose node has ``key``, their ``width`` numbers as a (len, width) array);
    (None, empty) when any is not ``width`` numbers within ±1e300 (what :func:`floats` takes)."""
    found = [k for k in among if key in nodes[k]]
    values = [nodes[k][key] for k in found]
    empty: F64 = np.zeros((0, width))
    if not all(type(v) is list and len(v) == width for v in values):
        return None, empty
    if not all(type(x) is float or type(x) is int for v in values for x in v):  # bool, str, None: not numbers
        return None, empty
    try:
        array: F64 = np.array(values, dtype=np.float64).reshape(len(values), width)
    except OverflowError:  # an integer past a double
        return None, empty
    if not (np.abs(array) < 1e300).all():
        return None, empty
    return found, array
