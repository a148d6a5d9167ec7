"""The GLB container's magic: telling a GLB from JSON by its first four bytes, without loading any GLB reader
(the compiler's entry, the description route and the job service decide by it before they know which they need)."""

from __future__ import annotations

__all__ = ["GLB_MAGIC", "is_glb"]

#: The first four bytes of every GLB file (glTF 2.0, "Binary glTF Layout").
GLB_MAGIC = b"glTF"


def is_glb(data: bytes | bytearray | memoryview) -> bool:
    """Whether ``data`` starts with the GLB magic ``glTF`` (nothing else is checked)."""
    return bytes(data[:4]) == GLB_MAGIC
