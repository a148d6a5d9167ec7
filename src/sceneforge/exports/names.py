"""Names written into export files: each one distinct within its file."""

from __future__ import annotations

__all__ = ["unique_name"]


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``, … the first not in ``taken``; added to ``taken``. Ids that differ
    only in what a format cannot hold (cleaned to the same text) stay apart."""
    out, n = name, 1
    while out in taken:
        n += 1
        out = f"{name}_{n}"
    taken.add(out)
    return out
