"""A GLB's accessors read checked (:class:`AccessorReader`), with the bytes they cost counted against a bound.

Every length, offset, index and type is checked before it is used, and every failure is a
:class:`~sceneforge.errors.SceneInvalid` whose issue path is a JSON pointer into the glTF JSON. Interleaved
and sparse accessors and normalized integer attributes (``KHR_mesh_quantization``) are read. Accessors
without a buffer view (zeros) and bytes read again are counted against ``max_bytes``: a few bytes of JSON
cost what the bytes they stand for would.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import LimitExceeded
from .gltf_json import glb_error, index, json_int, obj

__all__ = ["ACCESSOR_WIDTHS", "AccessorReader", "widened"]


_COMPONENTS: dict[int, np.dtype[Any]] = {
    5120: np.dtype("<i1"), 5121: np.dtype("<u1"), 5122: np.dtype("<i2"), 5123: np.dtype("<u2"),
    5125: np.dtype("<u4"), 5126: np.dtype("<f4"),
}  # fmt: skip


_NORMALIZE = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}


#: Each accessor type's components (an element's width as read: a MAT2 is 4 numbers).
ACCESSOR_WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}


#: Accessors without a buffer view are zeros we allocate ourselves: bound them (elements).
_MAX_ZERO_ELEMENTS = 1 << 26


class AccessorReader:
    """The buffer views and accessors of one glTF JSON over its resolved binary ``buffers``."""

    def __init__(self, accessors: list[Any], views: list[Any], buffers: list[bytes]) -> None:
        self.accessors = accessors
        self.views = views
        self.buffers = buffers
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

    def view_bytes(self, v: int) -> tuple[bytes, int, int, int | None]:
        """(buffer, byte offset, byte length, byte stride or None) of buffer view ``v``, checked."""
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
        buf, v_off, v_len, stride = self.view_bytes(view)
        elem = dtype.itemsize * width
        stride = stride or elem
        if stride < elem:
            raise glb_error(path, f"byteStride {stride} is smaller than one element ({elem} bytes)")
        if offset + stride * (count - 1) + elem > v_len:
            raise glb_error(path, f"{count} elements from byte {offset} run past the end of bufferView {view}")
        arr = np.ndarray((count, width), dtype, buffer=buf, offset=v_off + offset, strides=(stride, dtype.itemsize))
        return arr.copy()

    def decode(self, a: int) -> npt.NDArray[Any]:
        """Accessor ``a`` as a (count, components) array: float64 when float or normalized, else int64."""
        return widened(*self.decode_stored(a))

    def decode_stored(self, a: int) -> tuple[npt.NDArray[Any], int, bool]:
        """Accessor ``a`` as the file stores it: a (count, components) array of its component type, the
        ``componentType`` and whether it is ``normalized`` (:func:`widened` makes :meth:`decode`'s array of it).
        Checked and counted as :meth:`decode` is; a quarter to an eighth of its memory for bytes and shorts."""
        path = f"/accessors/{a}"
        acc = obj(self.accessors[a], path)
        ctype = json_int(acc, "componentType", path)
        if ctype not in _COMPONENTS:
            raise glb_error(f"{path}/componentType", f"unknown component type {ctype}")
        kind = acc.get("type")
        if not isinstance(kind, str) or kind not in ACCESSOR_WIDTHS:  # a list or object is not hashable: no lookup
            shown = repr(kind) if isinstance(kind, str) else type(kind).__name__
            kinds = ", ".join(ACCESSOR_WIDTHS)
            raise glb_error(f"{path}/type", f"unknown accessor type {shown}: must be one of {kinds}")
        if acc.get("normalized") is True and ctype == 5125:  # glTF §3.6.2.3: no normalized 32-bit integers
            message = "normalized integers are 8- or 16-bit (componentType 5120–5123), not unsigned 32-bit (5125)"
            raise glb_error(f"{path}/normalized", message)
        dtype, width, count = _COMPONENTS[ctype], ACCESSOR_WIDTHS[kind], json_int(acc, "count", path, lo=1)
        if "bufferView" in acc:
            view = index(acc, "bufferView", path, self.views, "bufferView")
            data = self._strided(view, json_int(acc, "byteOffset", path, 0), dtype, count, width, path)
        else:
            if count * width > _MAX_ZERO_ELEMENTS:
                raise glb_error(f"{path}/count", f"{count} elements without a bufferView is too many")
            self._count_zero_fill(a, count * width * dtype.itemsize, path)
            data = np.zeros((count, width), dtype)
        self.count_read(count * width * dtype.itemsize, path)
        if "sparse" in acc:
            data = self._sparse(acc, data, dtype, width, path)
        return data, ctype, ctype != 5126 and acc.get("normalized") is True

    def file_bytes(self, a: int) -> int:
        """The bytes accessor ``a`` (decoded already, so its members are checked) stands for in the file: what
        reading it again costs, counted by :meth:`count_read`."""
        acc = self.accessors[a]
        return int(acc["count"]) * ACCESSOR_WIDTHS[acc["type"]] * _COMPONENTS[acc["componentType"]].itemsize

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

    def count_read(self, size: int, path: str) -> None:
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


def widened(data: npt.NDArray[Any], ctype: int, normalized: bool) -> npt.NDArray[Any]:
    """``data`` of component type ``ctype`` (:meth:`AccessorReader.decode_stored`) as :meth:`AccessorReader.decode`
    gives it: float64 when float or ``normalized`` (integers scaled to [0, 1] or [-1, 1]), else int64. Element by
    element, so a block of rows widened gives those rows of the whole widened."""
    if ctype == 5126:
        return data.astype(np.float64)
    if normalized:
        out: npt.NDArray[Any] = np.maximum(data.astype(np.float64) / _NORMALIZE[ctype], -1.0)
        return out
    return data.astype(np.int64)
