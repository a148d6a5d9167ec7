"""Incremental builds: per-cell results reused across builds, keyed by what a cell's output depends on.

The geometry and optimize stages work cell by cell: a cell's optimized surfaces depend only on
its room (outline, heights, wall thickness, material), the surfaces and instances its assets
placed in it, the quads of the portals touching it (in description order), the shapes of the
rooms on their far side, and the compiler itself (version, options that change geometry).
:func:`cell_keys` hashes exactly that (SHA-256, with :data:`CACHE_FORMAT` and the package
version), so a cell whose key is in a :class:`CellCache` skips geometry and optimize. The same
cache holds each scene's last PVS flow under :func:`flow_key` (reused for the cells no changed
portal can reach: :mod:`sceneforge.visibility.reuse`) and each cell's BVHs under its key and
position grid (:func:`sceneforge.encode.bvh.pack_trees`), the encoded streams of runs of ~32 cells
under those cells' tree keys (:mod:`sceneforge.encode.cell_streams`), and each scene's text chunks
(:mod:`sceneforge.encode.text_record`: the meta digest's visibility text, the encoder's portal
nodes, streaming index portals and PVS, the cell boxes), each chunk keyed by what it is made of.
The compiler reads a scene's records with the cells' lookup and writes them in one ``put_many`` at
the end. The rest of visibility and encoding runs on the whole scene. The output is
byte-identical to a full build (a property test edits random cells and portals and compares).

A cache entry (:func:`pack_cell` / :func:`unpack_cell`) holds the cell's triangle count before
optimizing (the triangle limit counts that) and its optimized surfaces as raw little-endian
arrays behind a small JSON header. Decoding rejects other format versions.

Cost: hashing is O(bytes of the cell's inputs) with one ``sha256`` per cell; packing is array
copies. The cache itself is the caller's (a directory, the blob store): the compiler only
calls ``get_many`` / ``put_many``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np

from .model.ir import Cell, SceneIR, Surface

__all__ = ["CACHE_FORMAT", "CellCache", "MemoryCellCache", "cell_keys", "flow_key", "pack_cell", "unpack_cell"]

#: Bumped whenever what a cell entry holds, or how geometry and optimize compute it, changes.
CACHE_FORMAT = 42
_MAGIC = b"SFCC"


class CellCache(Protocol):
    """Where per-cell results live between builds. Implementations: :mod:`sceneforge.storage.cellcache`."""

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The entries found among ``keys`` (missing ones are simply absent)."""
        ...

    def put_many(self, entries: Mapping[str, bytes]) -> None:
        """Store ``entries`` (key → packed cell); the cache may evict older entries to stay bounded."""
        ...


class MemoryCellCache:
    """A dict-backed cache for one process (tests, a long-lived CLI session)."""

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        return {k: self.entries[k] for k in keys if k in self.entries}

    def put_many(self, entries: Mapping[str, bytes]) -> None:
        self.entries.update(entries)


def _array_bytes(a: np.ndarray) -> bytes:
    """What a key hashes of an array: its dtype and shape, then its bytes (C order)."""
    c = np.ascontiguousarray(a)
    return f"{c.dtype.str}{c.shape}".encode() + c.tobytes()


def _room_bytes(cell: Cell, *, material: bool = True) -> bytes:
    """The room's numbers as doubles, its material and outline, each length-prefixed (unambiguous)."""
    room = cell.room
    if room is None:
        return b"-"
    name = room.material.encode() if material else b""
    floor = np.ascontiguousarray(room.floor, dtype="<f8").tobytes()
    head = struct.pack("<3dII", room.y, room.height, room.wall_thickness, len(name), len(floor))
    return b"".join([b"room", head, name, floor])


def _portal_bytes(ir: SceneIR) -> list[bytes]:
    """Per portal, what a touching cell's key hashes of its quad: ``b"portal"``, then the quad as
    :func:`_array_bytes` writes it. One conversion of every quad when they all have one shape."""
    quads = [np.asarray(p.quad, dtype=np.float64) for p in ir.portals]
    if not quads or any(q.shape != quads[0].shape for q in quads):
        return [b"portal" + _array_bytes(q) for q in quads]
    stacked = np.ascontiguousarray(np.stack(quads), dtype=np.float64)
    head = b"portal" + f"{stacked.dtype.str}{quads[0].shape}".encode()
    size = stacked[0].nbytes
    data = stacked.tobytes()
    return [head + data[k * size : (k + 1) * size] for k in range(len(quads))]


def cell_keys(ir: SceneIR, salt: str = "") -> list[str]:
    """One hex key per cell of ``ir`` (in order), before geometry runs (see the module docstring).

    ``salt`` adds anything else the caller's per-cell output depends on. Each portal's quad and
    each room's bytes are formatted once (a portal counts in both its cells' keys, a room in its
    neighbours'), and every key is one hash of its cell's bytes joined.
    """
    from .version import __version__

    index = ir.cell_index()
    touching: list[list[int]] = [[] for _ in ir.cells]
    for k, portal in enumerate(ir.portals):
        for cell_id in {portal.from_cell, portal.to_cell}:
            if cell_id in index:
                touching[index[cell_id]].append(k)
    portal_bytes = _portal_bytes(ir)
    # Each room without its material, as its neighbours' keys hash it (computed when first needed).
    shapes: dict[int, bytes] = {}
    base = hashlib.sha256(f"sceneforge {__version__} cells {CACHE_FORMAT} keys 2 {salt}".encode())
    keys = []
    for i, cell in enumerate(ir.cells):
        parts = [_room_bytes(cell)]
        for s in cell.surfaces:
            parts += [s.material.encode() + b"\x00", *map(_array_bytes, (s.positions, s.normals, s.uvs, s.indices))]
        for group in cell.instances:
            parts += [b"instances" + group.mesh_key.encode() + b"\x00"]
            parts += [_array_bytes(np.asarray(group.transforms, dtype=np.float64))]
            for s in group.surfaces:
                parts += [s.material.encode() + b"\x00"]
                parts += map(_array_bytes, (s.positions, s.normals, s.uvs, s.indices))
        for k in touching[i]:
            portal = ir.portals[k]
            parts.append(portal_bytes[k])
            for cell_id in (portal.from_cell, portal.to_cell):
                other = index.get(cell_id)
                if other is None or other == i:
                    parts.append(b"self")
                else:
                    shape = shapes.get(other)
                    if shape is None:
                        shape = shapes[other] = _room_bytes(ir.cells[other], material=False)
                    parts.append(shape)
        h = base.copy()
        h.update(b"".join(parts))
        keys.append(h.hexdigest())
    return keys


def flow_key(scene_id: str) -> str:
    """The cache key of the last PVS flow recorded for scene ``scene_id``
    (:class:`~sceneforge.visibility.reuse.FlowRecord`: checked against the scene's portals before
    any reuse, so a record of another scene or draft with that id only costs a recompute)."""
    from .version import __version__

    text = f"sceneforge {__version__} flow {CACHE_FORMAT} {scene_id}"
    return hashlib.sha256(text.encode()).hexdigest()


def pack_cell(raw_triangles: int, surfaces: Iterable[Surface], boolean: bool = False) -> bytes:
    """One cache entry: the pre-optimize triangle count, the optimized surfaces and whether the cell's room took
    the boolean path (the meta's ``stats.booleanCells`` counts it in builds that reuse the entry)."""
    parts: list[bytes] = []
    header: list[dict[str, object]] = []
    for s in surfaces:
        arrays = [np.ascontiguousarray(s.positions, dtype="<f4"), np.ascontiguousarray(s.normals, dtype="<f4"),
                  np.ascontiguousarray(s.uvs, dtype="<f4"), np.ascontiguousarray(s.indices, dtype="<u4")]  # fmt: skip
        header.append({"material": s.material, "vertices": int(s.vertex_count), "triangles": int(s.triangle_count)})
        parts.extend(a.tobytes() for a in arrays)
    entry = {"format": CACHE_FORMAT, "raw": int(raw_triangles), "boolean": bool(boolean), "surfaces": header}
    head = json.dumps(entry).encode()
    return b"".join([_MAGIC, struct.pack("<I", len(head)), head, *parts])


_HEAD = json.JSONDecoder()
_UNREAD = object()


def _read_head(text: bytes, n: int) -> dict[str, object] | None:
    """An entry's header (its ``n`` bytes ``text``), or None when it is not one this version reads."""
    try:
        head, end = _HEAD.raw_decode(text.decode())
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        return None
    if end != n or not isinstance(head, dict) or head.get("format") != CACHE_FORMAT:
        return None
    return head


_F4, _U4 = np.dtype("<f4"), np.dtype("<u4")


def unpack_cell(data: bytes, heads: dict[bytes, object] | None = None) -> tuple[int, list[Surface], bool] | None:
    """``(raw triangle count, surfaces, boolean)`` of an entry (:func:`pack_cell`), or None when it is not one this
    version reads.

    The header is read with ``raw_decode`` (what ``json.loads`` does, without its encoding
    detection and whitespace scans: :func:`pack_cell` writes neither) and must span its length;
    the arrays are read-only views of ``data``, one ``ndarray`` call each. ``heads``: headers
    already read (their text → what it parsed to, or None), shared by the entries of one lookup
    (cells of one shape and material have the same header text; it is only read).
    """
    if len(data) < 8 or data[:4] != _MAGIC:
        return None
    (n,) = struct.unpack_from("<I", data, 4)
    text = data[8 : 8 + n]
    if len(text) != n:  # the header runs past the entry
        return None
    head = heads.get(text, _UNREAD) if heads is not None else _UNREAD
    if head is _UNREAD:
        head = _read_head(text, n)
        if heads is not None:
            heads[text] = head
    if not isinstance(head, dict):
        return None
    offset = 8 + n
    size = len(data)
    surfaces = []
    for entry in head["surfaces"]:
        v, t = int(entry["vertices"]), int(entry["triangles"])
        if v < 0 or t < 0 or offset + (32 * v + 12 * t) > size:
            return None
        # Read-only views of the entry's bytes: nothing after the optimize stage writes into surfaces.
        positions = np.ndarray((v, 3), _F4, data, offset)
        normals = np.ndarray((v, 3), _F4, data, offset + 12 * v)
        uvs = np.ndarray((v, 2), _F4, data, offset + 24 * v)
        indices = np.ndarray((t, 3), _U4, data, offset + 32 * v)
        offset += 32 * v + 12 * t
        surfaces.append(Surface(str(entry["material"]), positions, normals, uvs, indices))
    if offset != size:
        return None
    return int(head["raw"]), surfaces, head.get("boolean") is True
