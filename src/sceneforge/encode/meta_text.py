"""The text of the meta's ``visibility`` member as the meta digest hashes it, in chunks reused across builds.

:func:`~.meta.digest_of` hashes ``json.dumps(body, sort_keys=True, separators=(",", ":"))``; most
of that text (0.5 MB of office-1000's 0.7 MB) is the ``visibility`` member: every cell's box,
portals and PVS names, every portal's quad and plane. :func:`visibility_text` writes the same
text from the visibility stage's rounded arrays, :data:`CHUNK` cells (or portals) at a time.
Each chunk has a key: the SHA-256 of everything its text is made of (the numbers' bits, the
names, the portal numbers, the PVS as cell positions and the names of every cell those
positions stand for), so a chunk whose key an earlier build recorded (:class:`TextRecord`, one
cache entry per scene, like the PVS flow's record) takes that build's text; the others are
formatted (:mod:`.text_record`). The text is the same either way.

Cost (office-1000, one room resized): ~1 ms of keys and joins instead of ~10 ms of formatting.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from itertools import accumulate, chain
from json.encoder import encode_basestring_ascii as _json_string
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .buffers import float_texts
from .text_record import CHUNK, TextRecord, chunked

if TYPE_CHECKING:
    from ..visibility.result import Visibility

__all__ = ["visibility_text"]

F64 = npt.NDArray[np.float64]


def _cells_text(
    vis: Visibility, aabbs: F64, floors: F64, starts: list[int], a: int, b: int, names: dict[str, str]
) -> str:
    """Cells ``a:b`` as ``{"aabb":[6],"cellId":…,("floor":[[x,z],…],)"portals":[…],"pvs":[…]}`` joined
    by commas (``floors``: every ``floor`` outline's rounded numbers, cell ``c``'s from ``starts[c]``)."""
    cells = vis.cells[a:b]
    n = len(cells)
    values: list[str] = [""] * (10 * n)
    texts = float_texts(aabbs[a:b])
    for k in range(6):
        values[k::10] = texts[k::6]
    values[6::10] = [names[c.cell_id] for c in cells]
    floor_texts = float_texts(floors[starts[a] : starts[b]])  # each distinct number formatted once
    values[7::10] = [_floor_text(floor_texts, starts[c] - starts[a], starts[c + 1] - starts[a]) for c in range(a, b)]
    values[8::10] = ["[" + ",".join(map(str, c.portals)) + "]" for c in cells]
    lookup = names.__getitem__
    pvs: list[str] = []
    for c in cells:
        try:
            pvs.append("[" + ",".join(map(lookup, c.pvs)) + "]")
        except KeyError:  # a name outside the scene (compute_visibility writes none)
            pvs.append("[" + ",".join(map(_json_string, c.pvs)) + "]")
    values[9::10] = pvs
    cell = '{"aabb":[%s,%s,%s,%s,%s,%s],"cellId":%s%s,"portals":%s,"pvs":%s}'
    return ",".join([cell] * n) % tuple(values)


def _floor_text(texts: list[str], start: int, end: int) -> str:
    """``,"floor":[[x,z],…]`` of one cell's outline (its numbers' texts ``texts[start:end]``), or
    nothing for a cell without one."""
    if start == end:
        return ""
    return ',"floor":[' + ",".join(["[%s,%s]"] * ((end - start) // 2)) % tuple(texts[start:end]) + "]"


def _portals_text(vis: Visibility, quads: F64, planes: F64, a: int, b: int, names: dict[str, str]) -> str:
    """Portals ``a:b`` as ``{"from":…,("oneWay":true,)"plane":[4],"quad":[12],"to":…}`` joined by commas."""
    portals = vis.portals[a:b]
    m = len(portals)
    values: list[str] = [""] * (18 * m)
    values[0::18] = [names.get(p.from_cell) or _json_string(p.from_cell) for p in portals]
    texts = float_texts(planes[a:b])
    for k in range(4):
        values[1 + k :: 18] = texts[k::4]
    texts = float_texts(quads[a:b])
    for k in range(12):
        values[5 + k :: 18] = texts[k::12]
    values[17::18] = [names.get(p.to_cell) or _json_string(p.to_cell) for p in portals]
    tail = '"plane":[' + ",".join(["%s"] * 4) + '],"quad":[' + ",".join(["%s"] * 12) + '],"to":%s}'
    templates = ('{"from":%s,"oneWay":true,' + tail, '{"from":%s,' + tail)
    return ",".join([templates[0] if p.one_way else templates[1] for p in portals]) % tuple(values)


def _part(h: hashlib._Hash, data: bytes) -> None:
    h.update(struct.pack("<Q", len(data)))
    h.update(data)


def _cell_keys(
    vis: Visibility,
    aabbs: F64,
    floors: F64,
    starts: list[int],
    ids: Sequence[str],
    sets: Sequence[npt.NDArray[np.int64]],
) -> list[bytes]:
    """Per chunk of cells: the SHA-256 of its boxes' bits, ids, portal numbers and PVS positions,
    after the ids of every cell (what the positions name), and of its ``floor`` outlines where it
    has any (a chunk without them keeps the key it had before outlines were written)."""
    n = len(ids)
    scene = hashlib.sha256(b"cells")
    _part(scene, "\0".join(ids).encode())
    touching = [c.portals for c in vis.cells]
    portal_counts = np.fromiter(map(len, touching), np.int64, n)
    portal_flat = np.fromiter(chain.from_iterable(touching), np.int64, int(portal_counts.sum()))
    pvs_counts = np.fromiter((s.shape[0] for s in sets), np.int64, n)
    pvs_flat = np.concatenate(sets).astype(np.int64) if n else np.zeros(0, np.int64)
    portal_edges = np.zeros(n + 1, np.int64)
    np.cumsum(portal_counts, out=portal_edges[1:])
    pvs_edges = np.zeros(n + 1, np.int64)
    np.cumsum(pvs_counts, out=pvs_edges[1:])
    box_bits = np.ascontiguousarray(aabbs, np.float64)
    keys = []
    for a in range(0, n, CHUNK):
        b = min(a + CHUNK, n)
        h = scene.copy()
        _part(h, box_bits[a:b].tobytes())
        _part(h, "\0".join(ids[a:b]).encode())
        _part(h, portal_counts[a:b].tobytes())
        _part(h, portal_flat[portal_edges[a] : portal_edges[b]].tobytes())
        _part(h, pvs_counts[a:b].tobytes())
        _part(h, pvs_flat[pvs_edges[a] : pvs_edges[b]].tobytes())
        if starts[b] > starts[a]:
            _part(h, b"floor" + np.diff(np.asarray(starts[a : b + 1], np.int64)).tobytes())
            _part(h, np.ascontiguousarray(floors[starts[a] : starts[b]], np.float64).tobytes())
        keys.append(h.digest())
    return keys


def _portal_keys(vis: Visibility, quads: F64, planes: F64) -> list[bytes]:
    """Per chunk of portals: the SHA-256 of its quads' and planes' bits, cell names and one-way flags."""
    portals = vis.portals
    m = len(portals)
    quad_bits = np.ascontiguousarray(quads, np.float64)
    plane_bits = np.ascontiguousarray(planes, np.float64)
    froms, tos = [p.from_cell for p in portals], [p.to_cell for p in portals]
    numbers = np.empty((m, 3), np.int64)  # the names' lengths, the one-way flag
    numbers[:, 0] = np.fromiter(map(len, froms), np.int64, m)
    numbers[:, 1] = np.fromiter(map(len, tos), np.int64, m)
    numbers[:, 2] = np.fromiter((p.one_way for p in portals), np.int64, m)
    keys = []
    for a in range(0, m, CHUNK):
        b = min(a + CHUNK, m)
        h = hashlib.sha256(b"portals")
        _part(h, quad_bits[a:b].tobytes())
        _part(h, plane_bits[a:b].tobytes())
        _part(h, numbers[a:b].tobytes())
        _part(h, ("\0".join(froms[a:b]) + "\0" + "\0".join(tos[a:b])).encode())
        keys.append(h.digest())
    return keys


def visibility_text(
    vis: Visibility, aabbs: F64, quads: F64, planes: F64, floors: F64, previous: TextRecord | None
) -> tuple[str, TextRecord]:
    """The ``visibility`` member's sorted-keys text (``aabbs``, ``quads``, ``planes``, ``floors``: the
    rounded, finite arrays of :meth:`Visibility.rounded`), and the record of its chunks. Chunks whose
    key ``previous`` holds take its text; ``vis.sets`` must be given (the PVS as cell positions)."""
    assert vis.sets is not None
    ids = [c.cell_id for c in vis.cells]
    names = {i: _json_string(i) for i in ids}
    n, m = len(ids), len(vis.portals)
    starts = [0, *accumulate(0 if c.floor is None else len(c.floor) for c in vis.cells)]
    chunks: dict[bytes, str] = {}
    cells = chunked(
        _cell_keys(vis, aabbs, floors, starts, ids, vis.sets),
        lambda k: _cells_text(vis, aabbs, floors, starts, k * CHUNK, min((k + 1) * CHUNK, n), names),
        previous,
        chunks,
    )
    portals = chunked(
        _portal_keys(vis, quads, planes),
        lambda k: _portals_text(vis, quads, planes, k * CHUNK, min((k + 1) * CHUNK, m), names),
        previous,
        chunks,
    )
    return '{"cells":[' + ",".join(cells) + '],"portals":[' + ",".join(portals) + "]}", TextRecord(chunks)
