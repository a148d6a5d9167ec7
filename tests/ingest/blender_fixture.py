"""Build small GLB files in memory, laid out the way Blender's glTF exporter writes them.

:class:`GlbBuilder` writes any glTF JSON + binary buffer as GLB bytes; :func:`blender_scene`
makes the tagged two-room scene the ingest tests (and the compiler's end-to-end tests) use:

- scene ``"Scene"`` → root empty ``"Level"`` → cell empties ``"Hall"`` (at the origin) and
  ``"Kitchen"`` (translated to x = 4, so the rooms share the wall x = 2), each extras
  ``{"type":"cell","cellId":…}``;
- ``"HallRoom"`` / ``"KitchenRoom"``: one box mesh (4 × 3 × 4 m, two primitives: floor
  material ``"Floor"``, walls material ``"Wall"`` with an embedded PNG), shared by both
  nodes as Blender shares linked mesh data, translated 1.5 m up inside their cell;
- ``"Table"`` in the kitchen: a 1 m cube translated, rotated 90° about Y and scaled by 0.5;
- ``"Door"`` (child of ``"Level"``, outside the cells): a plane mesh whose *mesh* extras say
  ``{"type":"portal","from":"hall","to":"kitchen"}``, rotated to stand in the plane
  x = 2 with its normal along +X (into the kitchen);
- ``"Hatch"`` (child of ``"Kitchen"``): a plane whose *node* extras say
  ``{"type":"portal","from":"kitchen","to":"hall","oneWay":1}``, normal along −X.

As in Blender exports, children come before their parents in ``nodes``, meshes carry
``POSITION``/``NORMAL``/``TEXCOORD_0`` and ``uint16`` indices, positions have ``min``/``max``.
Only numpy, struct, zlib and json are used.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np

__all__ = [
    "DOOR_QUAD",
    "HATCH_QUAD",
    "GlbBuilder",
    "blender_scene",
    "box_mesh_arrays",
    "pack_glb",
    "tiny_png",
]

#: World-space quads the fixture's portals must ingest to (ring order, normal into ``to``).
DOOR_QUAD = np.array([[2.0, 0.1, 0.6], [2.0, 0.1, -0.6], [2.0, 2.1, -0.6], [2.0, 2.1, 0.6]])
HATCH_QUAD = np.array([[2.0, 0.1, 1.2], [2.0, 0.1, 1.6], [2.0, 1.1, 1.6], [2.0, 1.1, 1.2]])

_SQ = float(np.sqrt(0.5))


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGBA PNG of a checker pattern."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    pixels = b"".join(
        b"\x00" + b"".join(bytes([255 * ((x + y) % 2), 128, 64, 255]) for x in range(width)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b"")


def pack_glb(gltf: dict[str, Any], binary: bytes = b"") -> bytes:
    """GLB container bytes: header, JSON chunk (space-padded), optional BIN chunk (zero-padded)."""
    text = json.dumps(gltf, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text
    if binary:
        binary += b"\x00" * (-len(binary) % 4)
        body += struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


class GlbBuilder:
    """Accumulates glTF JSON and one binary buffer; :meth:`glb` writes the file."""

    def __init__(self) -> None:
        self.gltf: dict[str, Any] = {
            "asset": {"generator": "Khronos glTF Blender I/O v4.2.70", "version": "2.0"},
            "nodes": [],
            "meshes": [],
            "accessors": [],
            "bufferViews": [],
        }
        self.blob = bytearray()

    def view(self, data: bytes, target: int | None = None) -> int:
        self.blob += b"\x00" * (-len(self.blob) % 4)
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.blob += data
        self.gltf["bufferViews"].append(view)
        return len(self.gltf["bufferViews"]) - 1

    def accessor(self, array: np.ndarray, *, indices: bool = False) -> int:
        array = np.asarray(array)
        if indices:
            data, ctype, kind = array.astype("<u2").reshape(-1), 5123, "SCALAR"
        else:
            data = array.astype("<f4")
            ctype, kind = 5126, {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}[data.shape[1]]
        acc: dict[str, Any] = {
            "bufferView": self.view(data.tobytes(), 34963 if indices else 34962),
            "componentType": ctype,
            "count": int(data.shape[0]),
            "type": kind,
        }
        if kind == "VEC3":
            acc["min"], acc["max"] = data.min(axis=0).tolist(), data.max(axis=0).tolist()
        self.gltf["accessors"].append(acc)
        return len(self.gltf["accessors"]) - 1

    def primitive(
        self,
        positions: np.ndarray,
        indices: np.ndarray | None = None,
        *,
        normals: np.ndarray | None = None,
        uvs: np.ndarray | None = None,
        material: int | None = None,
    ) -> dict[str, Any]:
        attrs = {"POSITION": self.accessor(positions)}
        if normals is not None:
            attrs["NORMAL"] = self.accessor(normals)
        if uvs is not None:
            attrs["TEXCOORD_0"] = self.accessor(uvs)
        prim: dict[str, Any] = {"attributes": attrs}
        if indices is not None:
            prim["indices"] = self.accessor(indices, indices=True)
        if material is not None:
            prim["material"] = material
        return prim

    def mesh(self, name: str, primitives: list[dict[str, Any]], extras: dict[str, Any] | None = None) -> int:
        mesh: dict[str, Any] = {"name": name, "primitives": primitives}
        if extras is not None:
            mesh["extras"] = extras
        self.gltf["meshes"].append(mesh)
        return len(self.gltf["meshes"]) - 1

    def node(self, name: str, **fields: Any) -> int:
        self.gltf["nodes"].append({"name": name, **{k: v for k, v in fields.items() if v is not None}})
        return len(self.gltf["nodes"]) - 1

    def material(self, name: str, color: list[float], *, texture_png: bytes | None = None) -> int:
        pbr: dict[str, Any] = {"baseColorFactor": color, "metallicFactor": 0.0, "roughnessFactor": 0.5}
        if texture_png is not None:
            image = {"bufferView": self.view(texture_png), "mimeType": "image/png", "name": f"{name}Image"}
            self.gltf.setdefault("images", []).append(image)
            self.gltf.setdefault("textures", []).append({"source": len(self.gltf["images"]) - 1})
            pbr["baseColorTexture"] = {"index": len(self.gltf["textures"]) - 1}
        self.gltf.setdefault("materials", []).append({"name": name, "pbrMetallicRoughness": pbr})
        return len(self.gltf["materials"]) - 1

    def glb(self) -> bytes:
        gltf = {k: v for k, v in self.gltf.items() if v != []}
        if self.blob:
            gltf["buffers"] = [{"byteLength": len(self.blob)}]
        return pack_glb(gltf, bytes(self.blob))


def box_mesh_arrays(half: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A box centred at the origin as Blender exports one: 24 vertices (4 per face, split
    normals), counter-clockwise faces seen from outside. Returns positions, normals, uvs and
    (12, 3) triangles; triangles 0–1 are the bottom face (-Y)."""
    h = np.asarray(half, dtype=np.float64)
    faces = []
    for axis in (1, 0, 2):  # -Y first: the floor
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            u = np.roll(np.eye(3)[axis], 1)
            v = np.cross(n, u)
            faces.append((n, u, v))
    order = [0, 1, 2, 3, 4, 5]
    positions, normals = [], []
    for k in order:
        n, u, v = faces[k]
        corners = [n - u - v, n + u - v, n + u + v, n - u + v]
        positions += [c * h for c in corners]
        normals += [n] * 4
    tri = np.array([[0, 1, 2], [0, 2, 3]])
    triangles = np.concatenate([tri + 4 * k for k in range(6)])
    uvs = np.tile([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]], (6, 1))
    return np.array(positions), np.array(normals), uvs, triangles


def _plane(builder: GlbBuilder, name: str, half_w: float, half_h: float, extras: dict[str, Any] | None) -> int:
    p = np.array([[-half_w, -half_h, 0.0], [half_w, -half_h, 0.0], [half_w, half_h, 0.0], [-half_w, half_h, 0.0]])
    n = np.tile([0.0, 0.0, 1.0], (4, 1))
    uv = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    prim = builder.primitive(p, np.array([0, 1, 2, 0, 2, 3]), normals=n, uvs=uv)
    return builder.mesh(name, [prim], extras)


def blender_scene(
    *,
    scene_extras: dict[str, Any] | None = None,
    scene_name: str = "Scene",
    stray_mesh: bool = False,
    kitchen_id: str = "kitchen",
    door_to: str = "kitchen",
    kitchen_scale: list[float] | None = None,
) -> bytes:
    """The tagged two-room scene described in the module docstring, as GLB bytes.

    ``stray_mesh`` adds a mesh node ``"Lamp"`` under ``"Level"`` outside both cells;
    ``kitchen_id`` / ``door_to`` let tests make a duplicate or dangling id;
    ``kitchen_scale`` scales the kitchen cell node (negative values mirror it).
    """
    b = GlbBuilder()
    floor = b.material("Floor", [0.5, 0.4, 0.3, 1.0])
    wall = b.material("Wall", [0.9, 0.9, 0.85, 1.0], texture_png=tiny_png())
    pos, nrm, uv, tri = box_mesh_arrays((2.0, 1.5, 2.0))
    room = b.mesh(
        "RoomBox",
        [
            b.primitive(pos[:4], tri[:2], normals=nrm[:4], uvs=uv[:4], material=floor),
            b.primitive(pos[4:], tri[2:] - 4, normals=nrm[4:], uvs=uv[4:], material=wall),
        ],
    )
    cpos, cnrm, cuv, ctri = box_mesh_arrays((0.5, 0.5, 0.5))
    cube = b.mesh("Cube", [b.primitive(cpos, ctri, normals=cnrm, uvs=cuv, material=floor)])
    door_mesh = _plane(b, "DoorPlane", 0.6, 1.0, {"type": "portal", "from": "hall", "to": door_to})
    hatch_mesh = _plane(b, "HatchPlane", 0.2, 0.5, None)

    # children before parents, as the exporter writes them
    hall_room = b.node("HallRoom", mesh=room, translation=[0.0, 1.5, 0.0])
    kitchen_room = b.node("KitchenRoom", mesh=room, translation=[0.0, 1.5, 0.0])
    table = b.node(
        "Table", mesh=cube, translation=[0.5, 0.4, -0.5], rotation=[0.0, _SQ, 0.0, _SQ], scale=[0.5, 0.5, 0.5]
    )
    hatch = b.node(
        "Hatch",
        mesh=hatch_mesh,
        translation=[-2.0, 0.6, 1.4],
        rotation=[0.0, -_SQ, 0.0, _SQ],
        extras={"type": "portal", "from": "kitchen", "to": "hall", "oneWay": 1},
    )
    door = b.node("Door", mesh=door_mesh, translation=[2.0, 1.1, 0.0], rotation=[0.0, _SQ, 0.0, _SQ])
    hall = b.node("Hall", children=[hall_room], extras={"type": "cell", "cellId": "hall"})
    kitchen = b.node(
        "Kitchen",
        children=[kitchen_room, table, hatch],
        translation=[4.0, 0.0, 0.0],
        scale=kitchen_scale,
        extras={"type": "cell", "cellId": kitchen_id},
    )
    level_children = [hall, kitchen, door]
    if stray_mesh:
        level_children.append(b.node("Lamp", mesh=cube, translation=[9.0, 2.0, 9.0]))
    level = b.node("Level", children=level_children)
    scene: dict[str, Any] = {"name": scene_name, "nodes": [level]}
    if scene_extras is not None:
        scene["extras"] = scene_extras
    b.gltf["scenes"] = [scene]
    b.gltf["scene"] = 0
    return b.glb()
