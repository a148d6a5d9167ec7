"""Names written into export files: each one distinct within its file (or scope).

Cost: O(1) amortized a name. Each base remembers the last suffix it was given, and the next name of that
base starts there: names are only ever added, so every suffix below it is still taken. Searching from ``_2``
each time cost O(k) for the k-th name of one base, O(n²) in all: 20,000 cell ids that all come out as one USD
identifier (``-.!~+`` strings of one length) took 400 s, past the export job's timeout; now milliseconds.
"""

from __future__ import annotations

__all__ = ["Names", "unique_name"]


class Names(set[str]):
    """The names taken in one scope, and the last suffix each base was given."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, int] = {}


def unique_name(name: str, taken: Names) -> str:
    """``name``, or ``name_2``, ``name_3``, … the first not in ``taken``; added to ``taken``. Ids that differ
    only in what a format cannot hold (cleaned to the same text) stay apart."""
    n = taken.last.get(name, 1)
    out = name if n == 1 else f"{name}_{n}"
    while out in taken:
        n += 1
        out = f"{name}_{n}"
    taken.last[name] = n
    taken.add(out)
    return out
