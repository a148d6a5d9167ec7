"""The portal nodes of the GLB and the streaming index's portal rows, written as JSON text (:mod:`.glb`).

One root node per portal, after every cell's: ``portal:<from>-><to>``, no mesh, extras
``{"type": "portal", "from", "to", "oneWay": true, "quad": [12 floats]}`` (``oneWay`` only when
set). The nodes are formatted at once from the quads, into the text ``json_text`` gives the node
objects (strings through json's own escaping, floats by ``repr``, each distinct number once);
when a quad is not finite they stay objects, which ``json_text`` rejects. With a tree store, the
text is cut into chunks of :data:`~.text_record.CHUNK` portals, and the chunks an earlier build of
the scene recorded (:mod:`.text_record`) are taken where their keys (the quads' bits, the cells'
names, numbers and one-way flags) say the text is the same; the streaming index's ``portals``
rows (:mod:`.index_writer`) likewise.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any

import numpy as np
import numpy.typing as npt

from ..model.ir import Portal, SceneIR
from .buffers import RawJSON, float_texts
from .bvh import TreeStore
from .text_record import CHUNK, TextRecord, chunked, load, text_key

__all__ = ["PortalNodes"]

F64 = npt.NDArray[np.float64]


def _portal_nodes_text(portals: Sequence[Portal], texts: list[str]) -> str:
    """The portal nodes as ``json_text`` writes them (comma-joined), ``texts`` each quad's 12 coordinates' text."""
    n = len(portals)
    values: list[Any] = [None] * (15 * n)
    values[0::15] = [_json_string(f"portal:{p.from_cell}->{p.to_cell}") for p in portals]
    values[1::15] = [_json_string(p.from_cell) for p in portals]
    values[2::15] = [_json_string(p.to_cell) for p in portals]
    for k in range(12):
        values[3 + k :: 15] = texts[k::12]
    head = '{"name":%s,"extras":{"type":"portal","from":%s,"to":%s,'
    tail = '"quad":[' + ",".join(["%s"] * 12) + "]}}"
    templates = (head + '"oneWay":true,' + tail, head + tail)
    return ",".join([templates[0] if p.one_way else templates[1] for p in portals]) % tuple(values)


def _index_portals_text(portals: Sequence[Portal], ends: npt.NDArray[np.int64], texts: list[str]) -> str:
    """The streaming index's portal rows (comma-joined): ``ends`` (from, to) cell numbers, ``texts``
    each rounded quad's 12 coordinates' text, then ``1`` for a one-way portal."""
    n = len(portals)
    values: list[Any] = [None] * (14 * n)
    values[0::14] = ends[:, 0].tolist()
    values[1::14] = ends[:, 1].tolist()
    for k in range(12):
        values[2 + k :: 14] = texts[k::12]
    row = "[%d,%d," + ",".join(["%s"] * 12)
    templates = (row + ",1]", row + "]")
    return ",".join([templates[0] if p.one_way else templates[1] for p in portals]) % tuple(values)


class PortalNodes:
    """The portal nodes of ``ir`` (:meth:`append_to`) and, with a tree store (``trees``), the
    streaming index's ``portals`` text, put into ``index_text``."""

    def __init__(self, ir: SceneIR, trees: TreeStore | None, index_text: dict[str, RawJSON]) -> None:
        self.ir, self.trees, self.index_text = ir, trees, index_text
        #: The portal nodes' JSON text (members of ``nodes`` after the node objects), see :meth:`append_to`.
        self.text = ""
        #: The portals' quads (P, 12) float64 and, when written as text, each coordinate's text.
        self.quads: tuple[F64 | None, list[str] | None] = (None, None)
        #: With a store: the text chunks an earlier build of this scene recorded (:mod:`.text_record`:
        #: portal nodes, the index's portals and PVS) and those of this build, left there at the end.
        self.texts_previous: TextRecord | None = None
        self.texts: dict[bytes, str] | None = None

    def append_to(self, nodes: list[dict[str, Any]]) -> list[int]:
        """One node per portal, after every cell's in ``nodes``: their JSON text (:attr:`text`) formatted
        at once from the quads, or node objects appended to ``nodes`` when a quad is not finite
        (``json_text`` rejects it); returns the portal nodes' numbers."""
        portals = self.ir.portals
        if not portals:
            return []
        quads = np.array([p.quad for p in portals], np.float64).reshape(len(portals), 12)
        self.quads = quads, None
        first = len(nodes)
        if not np.isfinite(quads).all():
            nodes.extend(
                {
                    "name": f"portal:{p.from_cell}->{p.to_cell}",
                    "extras": {"type": "portal", "from": p.from_cell, "to": p.to_cell, "oneWay": True, "quad": quad}
                    if p.one_way
                    else {"type": "portal", "from": p.from_cell, "to": p.to_cell, "quad": quad},
                }
                for p, quad in zip(portals, quads.tolist(), strict=True)
            )
            return list(range(first, len(nodes)))
        n = len(portals)
        if self.trees is not None:
            self._recorded(quads)
            return list(range(first, first + n))
        # The text json_text gives those objects: strings through json's own escaping, floats by repr.
        texts = float_texts(quads)
        self.quads = quads, texts
        self.text = _portal_nodes_text(portals, texts)
        return list(range(first, first + n))

    def _recorded(self, quads: F64) -> None:
        """The portal nodes' text and the streaming index's ``portals`` text (finite ``quads``), chunk
        by chunk, taken from the record of an earlier build where its keys (the quads' bits, the
        cells' names, numbers and one-way flags of the chunk's portals) say the text is the same."""
        assert self.trees is not None
        self.texts_previous = load(self.trees, text_key(self.ir.scene_id, "encode"))
        self.texts = {}
        portals = self.ir.portals
        cell_ids = {c.cell_id: i for i, c in enumerate(self.ir.cells)}
        n = len(portals)
        froms, tos = [p.from_cell for p in portals], [p.to_cell for p in portals]
        ends = np.empty((n, 3), np.int64)
        ends[:, 0] = np.fromiter(map(cell_ids.__getitem__, froms), np.int64, n)
        ends[:, 1] = np.fromiter(map(cell_ids.__getitem__, tos), np.int64, n)
        ends[:, 2] = np.fromiter((p.one_way for p in portals), np.int64, n)
        lengths = np.empty((n, 2), np.int64)
        lengths[:, 0] = np.fromiter(map(len, froms), np.int64, n)
        lengths[:, 1] = np.fromiter(map(len, tos), np.int64, n)
        node_keys, index_keys = [], []
        for a in range(0, len(portals), CHUNK):
            b = min(a + CHUNK, len(portals))
            h = hashlib.sha256(b"portals")
            names = "\0".join(froms[a:b]) + "\0" + "\0".join(tos[a:b])
            for part in (quads[a:b].tobytes(), ends[a:b].tobytes(), lengths[a:b].tobytes(), names.encode()):
                h.update(struct.pack("<Q", len(part)))
                h.update(part)
            node_keys.append(hashlib.sha256(b"nodes" + h.digest()).digest())
            index_keys.append(hashlib.sha256(b"index" + h.digest()).digest())

        def nodes(k: int) -> str:
            a, b = k * CHUNK, min((k + 1) * CHUNK, len(portals))
            return _portal_nodes_text(portals[a:b], float_texts(quads[a:b]))

        def rows(k: int) -> str:
            a, b = k * CHUNK, min((k + 1) * CHUNK, len(portals))
            return _index_portals_text(portals[a:b], ends[a:b], float_texts(np.round(quads[a:b], 6) + 0.0))

        self.text = ",".join(chunked(node_keys, nodes, self.texts_previous, self.texts))
        text = ",".join(chunked(index_keys, rows, self.texts_previous, self.texts))
        self.index_text["portals"] = RawJSON(("[" + text + "]").encode("ascii"))
