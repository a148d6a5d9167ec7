"""The documented key order of the meta JSON, and :func:`with_version`, which stores a version in that order.

Apart from :mod:`.meta`: storage versions every published meta, and a server process that only serves
builds made elsewhere loads no encoder (numpy) for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["META_KEYS", "with_version"]

#: The documented key order of the meta JSON.
META_KEYS = (
    "ETag",
    "Bytes",
    "TimestampUtc",
    "Meta",
    "formatVersion",
    "sceneId",
    "version",
    "stats",
    "visibility",
    "warnings",
)


def with_version(meta: dict[str, Any], version: int, timestamp_utc: str) -> dict[str, Any]:
    """A new meta dict with ``TimestampUtc`` and ``version`` set, keys in the documented order.

    Keys outside :data:`META_KEYS` (none today) keep their relative order after the known ones.
    """
    merged = {**meta, "TimestampUtc": timestamp_utc, "version": int(version)}
    ordered = {key: merged[key] for key in META_KEYS if key in merged}
    ordered.update((key, value) for key, value in merged.items() if key not in ordered)
    return ordered
