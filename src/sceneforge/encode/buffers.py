"""The binary side of a GLB: packed buffer views, accessors, EXT_meshopt_compression, the container.

:class:`BufferWriter` packs like data into buffer views instead of one view per array: per
section one view per vertex stream (``POSITION``, ``NORMAL``, ``TEXCOORD_0``, each with its own
stride), one per index width (uint16, and uint32 only when a primitive needs it), one for the
instance attributes, and one per image or blob. Each accessor points into its view with a
``byteOffset``. Views belong to a *section* (:meth:`BufferWriter.finish`): the encoder gives
each cell its own views, so that a cell's data, compressed or not, is one contiguous byte range
of the BIN chunk (docs/streaming.md); shared data (instanced meshes, images) comes first.

With ``compress`` on, the vertex and index views go through meshoptimizer's codecs
(EXT_meshopt_compression, modes ``ATTRIBUTES`` and ``TRIANGLES``, optionally a filter such as
``OCTAHEDRAL``): the encoded bytes land in buffer 0 (the BIN chunk) and the view itself points
into buffer 1, a fallback buffer that has a length but no data (``"fallback": true``), as the
extension allows when it is required. With ``fallback`` on (like gltfpack ``-cf``) the view
points at the uncompressed bytes in buffer 0 instead, right after the compressed ones (after
undoing the view's filter, so they are what a meshopt decoder gives), and the extension is only
used, not required: viewers without meshopt support read the plain bytes. Big views compress
far better than small ones: the codec pays a header and a tail per view, and restarts its
deltas with every view. Images and instance attributes stay uncompressed in buffer 0.

Every view starts on a 4-byte boundary; the JSON chunk is padded with spaces and the BIN chunk
with zeros (glTF 2.0, GLB file format). Nothing here depends on time or memory addresses: the
same arrays in the same order give the same bytes. The bytes are laid out by :meth:`finish`.
Views made together (a stream of every cell, every cell's BVH) are one *run*, with no object
per view; uncompressed, :meth:`finish` takes every offset from one cumulative sum, copies each
view once into the chunk and writes the ``bufferViews`` JSON with one string formatting per run.

JSON (:func:`json_text`): compact, ASCII, no NaN. A member given as :class:`RawJSON` is written
as is; :data:`SLOT` strings are places for text formatted apart (:func:`fill_slots`), such as
rows of floats from :func:`float_rows`, which formats each distinct number once (``repr``, as
``json.dumps`` does): the text is exactly what ``json.dumps`` of the plain objects gives.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ARRAY_BUFFER",
    "BYTE",
    "ELEMENT_ARRAY_BUFFER",
    "EXT_MESHOPT",
    "FLOAT",
    "SHORT",
    "SLOT",
    "UNSIGNED_INT",
    "UNSIGNED_SHORT",
    "BufferWriter",
    "RawJSON",
    "fill_slots",
    "float_rows",
    "float_texts",
    "glb_container",
    "json_text",
]

EXT_MESHOPT = "EXT_meshopt_compression"
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
BYTE, SHORT, UNSIGNED_SHORT, UNSIGNED_INT, FLOAT = 5120, 5122, 5123, 5125, 5126
_COMPONENT = {
    np.dtype(np.int8): BYTE,
    np.dtype(np.int16): SHORT,
    np.dtype(np.uint16): UNSIGNED_SHORT,
    np.dtype(np.uint32): UNSIGNED_INT,
    np.dtype(np.float32): FLOAT,
}
_TYPE = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}
#: Encoder versions EXT_meshopt_compression decoders accept: vertex codec 0, index codec 1.
_VERTEX_CODEC, _INDEX_CODEC = 0, 1


def _pad4(n: int) -> int:
    return (n + 3) & ~3


@dataclass
class _View:
    """One buffer view being filled: ``kind`` is ``vertex``, ``index``, ``data``, ``blob`` or ``records``."""

    kind: str
    stride: int = 0
    filter: str | None = None
    #: Where the view lies in the BIN chunk: sections in ascending order (-1 shared, then cell i).
    section: int = -1
    chunks: list[npt.NDArray[Any]] = field(default_factory=list)
    length: int = 0

    def run(self) -> _Run:
        data = np.concatenate(self.chunks) if len(self.chunks) > 1 else self.chunks[0]
        bounds = np.array([0, data.shape[0]], np.int64)
        return _Run(self.kind, self.stride, self.filter, data, bounds[:1], bounds[1:], np.array([self.section]))


@dataclass(frozen=True)
class _Run:
    """Views of one kind numbered one after the other: the ``i``-th holds ``data[starts[i]:ends[i]]``
    (``data`` 1-D, contiguous) and lies in section ``sections[i]``."""

    kind: str
    stride: int
    filter: str | None
    data: npt.NDArray[Any]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    sections: npt.NDArray[np.int64]


class BufferWriter:
    """Collects binary data and the JSON that describes it; views are numbered in first-use order."""

    def __init__(self, *, compress: bool, fallback: bool = False) -> None:
        self.compress = compress
        self.fallback = fallback
        #: After :meth:`finish`: the ``bufferViews`` array, as objects (compressed) or as its JSON text.
        self.buffer_views: list[dict[str, Any]] | RawJSON = []
        #: After :meth:`finish`, per view: where its stored bytes lie in the BIN chunk and how many
        #: there are (the encoded ones for a compressed view) and its meshopt ``count`` (0 uncompressed).
        self.view_places: list[tuple[int, int, int]] = []
        #: Accessor objects, or their JSON text (:meth:`section_accessors`), in number order.
        self.accessors: list[dict[str, Any] | str] = []
        self.compressed_views = 0
        #: Views in number order: single views, or runs of views made at once (one per section).
        self._items: list[_View | _Run] = []
        self._count = 0
        self._streams: dict[str, tuple[int, _View]] = {}
        self._bin = bytearray()
        self._fallback_length = 0
        self._finished = False
        #: After :meth:`finish`: section → [start, end) of its views in the BIN chunk.
        self.sections: dict[int, tuple[int, int]] = {}

    def _stream(
        self, key: str, kind: str, stride: int = 0, filter: str | None = None, section: int = -1
    ) -> tuple[int, _View]:
        assert not self._finished, "BufferWriter: data added after finish()"
        found = self._streams.get(key)
        if found is None:
            found = self._streams[key] = self._new(_View(kind, stride, filter, section=section))
        index, view = found
        assert (view.kind, view.stride, view.filter, view.section) == (kind, stride, filter, section), key
        return index, view

    def _new(self, view: _View) -> tuple[int, _View]:
        self._items.append(view)
        self._count += 1
        return self._count - 1, view

    def _add(self, view: _View, data: npt.NDArray[Any]) -> int:
        offset = view.length
        view.chunks.append(data)
        view.length += data.nbytes
        return offset

    def view_index(self, stream: str) -> int:
        """The index of the view created for ``stream``."""
        return self._streams[stream][0]

    def section_accessors(
        self,
        stream: str,
        kind: str,
        stride: int,
        filter: str | None,
        data: npt.NDArray[Any],
        counts: npt.NDArray[np.int64],
        sections: npt.NDArray[np.int64],
        components: int,
        *,
        normalized: bool = False,
        bounds: tuple[list[str], list[str]] | None = None,
    ) -> tuple[list[str], dict[int, int]]:
        """Accessors of consecutive row ranges of several sections at once: range ``i`` (``counts[i]``
        rows of ``data``) goes to the view ``f"{sections[i]}/{stream}"``, created here (views are
        numbered in first-use order): ``kind`` ``vertex`` (``stride`` the row size, ``filter`` the
        meshopt filter when compressing) or ``index`` (``stride`` the index size); ``sections``
        ascending. ``data`` is (N, k) rows (vertex streams; accessors of the first ``components``
        columns) or (N,) indices; ``bounds`` the per-range ``min`` and ``max`` lists as JSON text.
        Returns the accessors as JSON text without numbering them (the caller appends them to
        :attr:`accessors` in its order) and each section's view index; numpy work and one string
        formatting for all sections."""
        assert not self._finished, "BufferWriter: data added after finish()"
        data = np.ascontiguousarray(data)
        row_bytes = data.itemsize * (data.shape[1] if data.ndim == 2 else 1)
        m = counts.shape[0]
        if m == 0:
            return [], {}
        cuts = np.flatnonzero(np.diff(sections)) + 1
        firsts = np.concatenate([[0], cuts]).astype(np.int64)
        rows = np.zeros(m + 1, np.int64)
        np.cumsum(counts, out=rows[1:])
        # Byte offset of each range inside its section's view.
        group = np.repeat(np.arange(firsts.shape[0]), np.diff(np.append(firsts, m)))
        offsets = (rows[:-1] - rows[firsts][group]) * row_bytes
        flat = data.view(np.uint8).reshape(-1) if data.ndim == 2 else data
        per_row = row_bytes if data.ndim == 2 else 1
        # One run of views, a view per section (numbered in section order).
        ends = np.append(firsts[1:], m)
        view_sections = sections[firsts]
        first_view = self._count
        run = _Run(
            kind,
            stride,
            filter if self.compress else None,
            flat,
            rows[firsts] * per_row,
            rows[ends] * per_row,
            view_sections.astype(np.int64, copy=False),
        )
        self._items.append(run)
        self._count += firsts.shape[0]
        views = dict(zip(view_sections.tolist(), range(first_view, self._count), strict=True))
        view_index = (group + first_view).tolist()
        # The accessors' JSON text, one string formatting for all: keys in the order of the glTF
        # objects written before (bufferView, byteOffset unless 0, componentType, normalized, count,
        # type, min, max).
        head = '{"bufferView":%d'
        tail = f',"componentType":{_COMPONENT[data.dtype]}'
        if normalized:
            tail += ',"normalized":true'
        tail += f',"count":%d,"type":"{_TYPE[components]}"'
        if bounds is not None:
            tail += ',"min":%s,"max":%s'
        tail += "}"
        templates = (head + tail, head + ',"byteOffset":%d' + tail)
        offset_list = offsets.tolist()
        columns: list[list[Any]] = [view_index, offset_list, counts.tolist()]
        if bounds is not None:
            columns += [bounds[0], bounds[1]]
        values = [v for row in zip(*columns, strict=True) for v in (row if row[1] else row[:1] + row[2:])]
        text = "\0".join([templates[1] if o else templates[0] for o in offset_list]) % tuple(values)
        return text.split("\0"), views

    def data_accessor(self, values: npt.NDArray[np.float32], section: int = -1) -> int:
        """Float rows (k, c), tightly packed in the section's uncompressed view (instance attributes)."""
        values = np.ascontiguousarray(values, dtype=np.float32)
        index, view = self._stream(f"{section}/data", "data", section=section)
        offset = self._add(view, values.reshape(-1))
        return self._accessor(index, offset, values, values.shape[1], False, None)

    def records_views(
        self, data: npt.NDArray[np.uint8], bounds: npt.NDArray[np.int64], sections: npt.NDArray[np.int64], size: int
    ) -> int:
        """Views of their own holding ``size``-byte records (each cell's BVH nodes), one per section:
        the ``i``-th ``data[bounds[i]:bounds[i + 1]]`` (bytes) in section ``sections[i]``,
        meshopt-compressed (``ATTRIBUTES``, stride ``size``) when the writer compresses, no target.
        Returns the first view's index (the others follow)."""
        assert not self._finished, "BufferWriter: data added after finish()"
        assert data.dtype == np.uint8 and data.ndim == 1 and size % 4 == 0 and size <= 256, (data.dtype, size)
        assert not ((bounds[1:] - bounds[:-1]) % size).any(), size
        first = self._count
        self._items.append(_Run("records", size, None, data, bounds[:-1], bounds[1:], sections))
        self._count += sections.shape[0]
        return first

    def blob_view(self, data: bytes, section: int = -1) -> int:
        """A view of its own holding ``data`` uncompressed, no target (an image)."""
        assert not self._finished, "BufferWriter: data added after finish()"
        chunk = np.frombuffer(data, dtype=np.uint8)
        return self._new(_View("blob", chunks=[chunk], length=len(data), section=section))[0]

    def _accessor(
        self,
        view: int,
        offset: int,
        values: npt.NDArray[Any],
        components: int,
        normalized: bool,
        bounds: tuple[list[float], list[float]] | tuple[list[int], list[int]] | None,
    ) -> int:
        accessor: dict[str, Any] = {"bufferView": view}
        if offset:
            accessor["byteOffset"] = offset
        accessor["componentType"] = _COMPONENT[values.dtype]
        if normalized:
            accessor["normalized"] = True
        accessor["count"] = int(values.shape[0])
        accessor["type"] = _TYPE[components]
        if bounds is not None:
            accessor["min"], accessor["max"] = bounds
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    # -- layout -----------------------------------------------------------------------------

    def _append(self, data: bytes) -> int:
        offset = _pad4(len(self._bin))
        self._bin.extend(b"\0" * (offset - len(self._bin)))
        self._bin.extend(data)
        return offset

    def _compressed(self, raw: npt.NDArray[Any], encoded: bytes, stride: int, count: int, mode: str) -> dict[str, Any]:
        """A compressed view: the encoded bytes in buffer 0, the plain ``raw`` bytes in buffer 0 right
        after them (``fallback``) or an empty fallback buffer 1 (which only has a length)."""
        self.compressed_views += 1
        extension = {
            "buffer": 0,
            "byteOffset": self._append(encoded),
            "byteLength": len(encoded),
            "byteStride": stride,
            "mode": mode,
            "count": count,
        }
        if self.fallback:
            return {
                "buffer": 0,
                "byteOffset": self._append(raw.tobytes()),
                "byteLength": raw.nbytes,
                EXT_MESHOPT: extension,
            }
        fallback_offset = _pad4(self._fallback_length)
        self._fallback_length = fallback_offset + raw.nbytes
        return {"buffer": 1, "byteOffset": fallback_offset, "byteLength": raw.nbytes, EXT_MESHOPT: extension}

    def _lay_out(self, view: _View, raw: npt.NDArray[Any]) -> dict[str, Any]:
        """The buffer view of ``raw`` (the view's data), appended to the BIN chunk (compressing)."""
        if view.kind in ("blob", "data"):
            return {"buffer": 0, "byteOffset": self._append(raw.tobytes()), "byteLength": raw.nbytes}
        if view.kind == "records":
            # Fixed-size records read by our own clients (a cell's BVH nodes): the meshopt vertex
            # codec when compressing (no target: no accessor reads them), plain bytes otherwise.
            if not self.compress:
                return {"buffer": 0, "byteOffset": self._append(raw.tobytes()), "byteLength": raw.nbytes}
            import meshoptimizer

            count = raw.nbytes // view.stride
            meshoptimizer.encode_vertex_version(_VERTEX_CODEC)
            encoded = meshoptimizer.encode_vertex_buffer(raw, count, view.stride)
            packed = self._compressed(raw, encoded, view.stride, count, "ATTRIBUTES")
            packed["extensions"] = {EXT_MESHOPT: packed.pop(EXT_MESHOPT)}
            return packed
        if self.compress:
            import meshoptimizer

            if view.kind == "vertex":
                count = raw.nbytes // view.stride
                meshoptimizer.encode_vertex_version(_VERTEX_CODEC)
                encoded = meshoptimizer.encode_vertex_buffer(raw, count, view.stride)
                plain = raw
                if self.fallback and view.filter is not None:
                    # What a decoder hands the renderer: the filter undone (only OCTAHEDRAL is used).
                    assert view.filter == "OCTAHEDRAL" and view.stride == 4, (view.filter, view.stride)
                    decoded = meshoptimizer.decode_vertex_buffer(count, view.stride, encoded)
                    rows = np.frombuffer(np.asarray(decoded).tobytes(), np.uint8).copy()
                    plain = np.asarray(meshoptimizer.decode_filter_oct(rows, count, view.stride))
                out = self._compressed(plain, encoded, view.stride, count, "ATTRIBUTES")
                if view.filter is not None:
                    out[EXT_MESHOPT]["filter"] = view.filter
            else:
                wide = raw.astype(np.uint32)
                meshoptimizer.encode_index_version(_INDEX_CODEC)
                encoded = meshoptimizer.encode_index_buffer(wide, wide.size, int(wide.max()) + 1)
                plain = raw
                if self.fallback:
                    # The codec may rotate a triangle's corners (keeping its winding): store what it decodes to,
                    # so readers with and without a decoder get the very same indices. The wrapper decodes
                    # into uint32 storage whatever the index size, 2-byte indices packed at its start.
                    decoded = meshoptimizer.decode_index_buffer(wide.size, view.stride, encoded)
                    plain = np.frombuffer(np.asarray(decoded).tobytes(), np.uint8)[: raw.nbytes].copy()
                out = self._compressed(plain, encoded, view.stride, wide.size, "TRIANGLES")
        else:
            out = {"buffer": 0, "byteOffset": self._append(raw.tobytes()), "byteLength": raw.nbytes}
        if view.kind == "vertex":
            out["byteStride"] = view.stride
            out["target"] = ARRAY_BUFFER
        else:
            out["target"] = ELEMENT_ARRAY_BUFFER
        extension = out.pop(EXT_MESHOPT, None)
        if extension is not None:
            out["extensions"] = {EXT_MESHOPT: extension}
        return out

    def finish(self) -> None:
        """Lay the views out in the BIN chunk (and the fallback buffer): section after section in
        ascending order (-1, the shared data, first; then each cell's), views of a section in view
        order, so that each section is one contiguous range (:attr:`sections`). Uncompressed, every
        offset comes from one cumulative sum and the bytes are copied once into the chunk."""
        if self._finished:
            return
        self._finished = True
        runs = [item if isinstance(item, _Run) else item.run() for item in self._items]
        self._items = []
        if not runs:
            return
        sizes = [r.sections.shape[0] for r in runs]
        run_of = np.repeat(np.arange(len(runs)), sizes)
        sections = np.concatenate([r.sections for r in runs])
        starts = np.concatenate([r.starts * r.data.itemsize for r in runs])
        lengths = np.concatenate([(r.ends - r.starts) * r.data.itemsize for r in runs])
        order = np.argsort(sections, kind="stable")
        if self.compress:
            self._finish_compressed(runs, run_of, starts, lengths, order)
            return
        # Every view starts on a 4-byte boundary: in layout order, at the sum of the padded lengths before it.
        laid = np.zeros(order.shape[0] + 1, np.int64)
        np.cumsum((lengths[order] + 3) & ~3, out=laid[1:])
        offsets = np.empty(order.shape[0], np.int64)
        offsets[order] = laid[:-1]
        last = int(order[-1])
        self._bin = bytearray(int(offsets[last] + lengths[last]))
        out = memoryview(self._bin)
        sources = [memoryview(r.data.data).cast("B") for r in runs]
        offset_list, length_list = offsets.tolist(), lengths.tolist()
        for o, r, a, n in zip(offset_list, run_of.tolist(), starts.tolist(), length_list, strict=True):
            out[o : o + n] = sources[r][a : a + n]
        # A section runs from its first non-empty view to the end of its last one.
        full = order[lengths[order] > 0]
        if full.shape[0]:
            held = sections[full]
            cuts = np.flatnonzero(held[1:] != held[:-1]) + 1
            firsts, lasts = full[np.append(0, cuts)], full[np.append(cuts - 1, full.shape[0] - 1)]
            ends = offsets[lasts] + lengths[lasts]
            spans = zip(offsets[firsts].tolist(), ends.tolist(), strict=True)
            self.sections = dict(zip(sections[firsts].tolist(), spans, strict=True))
        self.view_places = list(zip(offset_list, length_list, [0] * len(offset_list), strict=True))
        # The JSON text of every view, a template per run: one string formatting for all its views.
        texts: list[str] = []
        at = 0
        for run, size in zip(runs, sizes, strict=True):
            values = [0] * (2 * size)
            values[0::2], values[1::2] = offset_list[at : at + size], length_list[at : at + size]
            at += size
            if run.kind == "vertex":
                tail = f',"byteStride":{run.stride},"target":{ARRAY_BUFFER}}}'
            elif run.kind == "index":
                tail = f',"target":{ELEMENT_ARRAY_BUFFER}}}'
            else:
                tail = "}"
            texts.append(",".join(['{"buffer":0,"byteOffset":%d,"byteLength":%d' + tail] * size) % tuple(values))
        self.buffer_views = RawJSON(("[" + ",".join(texts) + "]").encode("ascii"))

    def _finish_compressed(
        self,
        runs: list[_Run],
        run_of: npt.NDArray[np.int64],
        starts: npt.NDArray[np.int64],
        lengths: npt.NDArray[np.int64],
        order: npt.NDArray[np.int64],
    ) -> None:
        """:meth:`finish` with the codecs: one view after the other, each encoded on its own."""
        first_view = np.zeros(len(runs), np.int64)
        np.cumsum([r.sections.shape[0] for r in runs][:-1], out=first_view[1:])
        laid: list[dict[str, Any]] = [{} for _ in range(order.shape[0])]
        for i in order.tolist():
            run = runs[int(run_of[i])]
            j = i - int(first_view[run_of[i]])
            raw = run.data[int(run.starts[j]) : int(run.ends[j])]
            if run.data.ndim == 1 and run.data.dtype != np.uint8 and run.kind != "index":
                raw = raw.view(np.uint8)
            section = int(run.sections[j])
            start = _pad4(len(self._bin))
            laid[i] = self._lay_out(_View(run.kind, run.stride, run.filter, section), raw)
            if len(self._bin) > start:
                first, _ = self.sections.get(section, (start, start))
                self.sections[section] = (first, len(self._bin))
        self.buffer_views = laid
        for view in laid:
            packed = view.get("extensions", {}).get(EXT_MESHOPT)
            if packed is not None:
                self.view_places.append((packed["byteOffset"], packed["byteLength"], packed["count"]))
            else:
                self.view_places.append((view["byteOffset"], view["byteLength"], 0))

    def buffers(self) -> list[dict[str, Any]]:
        """The ``buffers`` array: the BIN chunk, then the fallback buffer when anything was compressed."""
        assert self._finished
        out: list[dict[str, Any]] = []
        if self._bin:
            out.append({"byteLength": len(self._bin)})
        if self._fallback_length:
            out.append({"byteLength": self._fallback_length, "extensions": {EXT_MESHOPT: {"fallback": True}}})
        return out

    @property
    def binary(self) -> bytes:
        assert self._finished
        return bytes(self._bin)

    @property
    def bin_chunk(self) -> bytearray:
        """The BIN chunk's bytes without a copy (do not modify)."""
        assert self._finished
        return self._bin


_JSON_OPTIONS: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": True, "allow_nan": False}


class RawJSON:
    """A member of a document that is JSON text already (written where :func:`json_text` of the
    object holding it meets it): arrays of many like objects, formatted from their numbers at once."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text

    def __bool__(self) -> bool:
        return self.text != b"[]"


#: A string no document holds where slots are used (identifiers are printable, names prefixed),
#: written by :func:`json_text` as ``"\\u0000"``: the place of text formatted apart (:func:`fill_slots`).
SLOT = "\0"
_SLOT_TEXT = b'"\\u0000"'


def fill_slots(text: bytes, fills: list[str]) -> bytes | None:
    """``text`` (:func:`json_text` of a value holding :data:`SLOT` strings) with the ``i``-th slot
    replaced by ``fills[i]`` (JSON text), or ``None`` when the slots do not match ``fills``."""
    parts = text.split(_SLOT_TEXT)
    if len(parts) != len(fills) + 1:
        return None
    out: list[bytes] = [b""] * (2 * len(parts) - 1)
    out[0::2] = parts
    out[1::2] = "\0".join(fills).encode("ascii").split(b"\0") if fills else []
    return b"".join(out)


def float_rows(values: npt.NDArray[np.float64]) -> list[str]:
    """The JSON text of each row of ``values`` (finite, (n, k)) as a list of floats: ``[a,b,…]``."""
    n, k = values.shape
    if n == 0:
        return []
    row = "[" + ",".join(["%s"] * k) + "]"
    return ("\0".join([row] * n) % tuple(float_texts(values))).split("\0")


def float_texts(values: npt.NDArray[np.float64]) -> list[str]:
    """``repr`` of every value of ``values`` (finite float64, any shape, flattened): the text
    ``json.dumps`` writes for it. Each distinct value (by its bits, so ``-0.0`` stays apart from
    ``0.0``) is formatted once: the coordinates of a building repeat (a grid of walls), and the
    shortest round-trip formatting is most of what writing a float costs."""
    flat = np.ascontiguousarray(values, np.float64).reshape(-1)
    if flat.shape[0] == 0:
        return []
    bits, inverse = np.unique(flat.view(np.int64), return_inverse=True)
    texts = [repr(v) for v in bits.view(np.float64).tolist()]
    return list(map(texts.__getitem__, inverse.reshape(-1).tolist()))


def json_text(value: Any) -> bytes:
    """``value`` as the GLB's JSON is written (compact, ASCII, no NaN), in UTF-8; an object whose
    members include :class:`RawJSON` text gets that text as the member's value."""
    if isinstance(value, dict) and any(isinstance(v, RawJSON) for v in value.values()):
        members = [json_text(k) + b":" + (v.text if isinstance(v, RawJSON) else json_text(v)) for k, v in value.items()]
        return b"{" + b",".join(members) + b"}"
    return json.dumps(value, check_circular=False, **_JSON_OPTIONS).encode("utf-8")


def glb_container(
    document: dict[str, Any], binary: bytes | bytearray, prepare: Callable[[bytes], bytes] | None = None
) -> bytes:
    """The GLB bytes: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded) if any.

    Assembled with one join: the BIN chunk (3.5 MB for a 1,000-cell maze) is copied once. The
    document is a tree built by the encoder, so the encoder's cycle check is skipped (−10 % of
    the 13 ms ``json.dumps`` of a 1,000-cell maze). ``prepare`` may rewrite the text before it is
    padded: the streaming index put in front, its offsets filled in.
    """
    text = json_text(document)
    if prepare is not None:  # e.g. a member written ahead of the document, offsets filled in
        text = prepare(text)
    spaces = b" " * (_pad4(len(text)) - len(text))  # a part of its own: the text is not copied to pad it
    parts: list[bytes | bytearray] = [b"", struct.pack("<II", len(text) + len(spaces), 0x4E4F534A), text, spaces]
    if binary:
        padded = _pad4(len(binary))
        parts += [struct.pack("<II", padded, 0x004E4942), binary, b"\0" * (padded - len(binary))]
    parts[0] = struct.pack("<III", 0x46546C67, 2, 12 + sum(len(p) for p in parts))
    return b"".join(parts)
