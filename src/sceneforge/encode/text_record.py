"""Text made of chunks that later builds of a scene reuse: one cache entry per scene and use.

A build that writes a long JSON text from many like rows (cells, portals) cuts it into chunks of
:data:`CHUNK` rows and keys each chunk by the SHA-256 of everything its text is made of. A
:class:`TextRecord` (chunk key → text) is left in the build's cache under :func:`text_key`; the
next build of the scene takes the text of every chunk whose key the record holds and formats
the others (:func:`chunked`). The keys are of the inputs, so the text is the same either way.
Used for the meta digest's ``visibility`` text (:mod:`.meta_text`) and the encoder's portal
nodes, streaming index portals and PVS (:mod:`.portal_nodes`, :mod:`.index_writer`).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

__all__ = ["CHUNK", "TextRecord", "TextStore", "chunked", "text_key"]

#: Rows per chunk: an edit reformats a few chunks, and a chunk key costs a few slices.
CHUNK = 64
#: Bumped when a record's layout, or the text a chunk holds, changes.
RECORD_FORMAT = 1
_MAGIC = b"SFMT"


class TextStore(Protocol):
    """Where records live (the cell cache)."""

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]: ...

    def put_many(self, entries: dict[str, bytes]) -> None: ...


def text_key(scene_id: str, what: str = "meta") -> str:
    """The cache key of the ``what`` text chunks (``meta``, ``encode``) recorded for scene ``scene_id``."""
    from ..version import __version__

    text = f"sceneforge {__version__} {what} text {RECORD_FORMAT} {scene_id}"
    return hashlib.sha256(text.encode()).hexdigest()


class TextRecord:
    """Chunk texts by key (bytes → str), as one cache entry: a JSON header of keys and lengths, then the texts."""

    def __init__(self, chunks: dict[bytes, str]) -> None:
        self.chunks = chunks

    def pack(self) -> bytes:
        keys = list(self.chunks)
        texts = [self.chunks[k] for k in keys]
        head = json.dumps({"format": RECORD_FORMAT, "keys": [k.hex() for k in keys], "sizes": [len(t) for t in texts]})
        head_bytes = head.encode()
        return b"".join([_MAGIC, struct.pack("<I", len(head_bytes)), head_bytes, "".join(texts).encode("ascii")])

    @staticmethod
    def unpack(data: bytes) -> TextRecord | None:
        """The record in ``data``, or None when it is not one this version reads."""
        if len(data) < 8 or data[:4] != _MAGIC:
            return None
        (n,) = struct.unpack_from("<I", data, 4)
        try:
            head = json.loads(data[8 : 8 + n])
            if head["format"] != RECORD_FORMAT:
                return None
            keys = [bytes.fromhex(k) for k in head["keys"]]
            sizes = [int(s) for s in head["sizes"]]
            text = data[8 + n :].decode("ascii")
        except (ValueError, KeyError, TypeError):  # UnicodeDecodeError included
            return None
        if len(keys) != len(sizes) or min(sizes, default=0) < 0 or sum(sizes) != len(text):
            return None
        edges = np.zeros(len(sizes) + 1, np.int64)
        np.cumsum(sizes, out=edges[1:])
        cuts = edges.tolist()
        return TextRecord({k: text[cuts[i] : cuts[i + 1]] for i, k in enumerate(keys)})


def chunked(
    keys: Sequence[bytes], make: Callable[[int], str], previous: TextRecord | None, out: dict[bytes, str]
) -> list[str]:
    """The text of every chunk: ``previous``'s for the keys it holds, ``make(k)`` for chunk ``k``
    otherwise; each is also put in ``out`` (the record of this build)."""
    known = previous.chunks if previous is not None else {}
    texts = []
    for k, key in enumerate(keys):
        text = known.get(key)
        if text is None:
            text = make(k)
        out[key] = text
        texts.append(text)
    return texts


def load(store: TextStore, key: str) -> TextRecord | None:
    """The record ``store`` holds under ``key``, if one this version reads."""
    found = store.get_many([key]).get(key)
    return TextRecord.unpack(found) if found is not None else None


def save(store: TextStore, key: str, record: TextRecord, previous: TextRecord | None) -> None:
    """Leave ``record`` in ``store`` unless ``previous`` holds the same chunks."""
    if previous is None or record.chunks.keys() != previous.chunks.keys():
        store.put_many({key: record.pack()})
