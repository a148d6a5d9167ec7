"""Sorted distinct values and rows of numpy arrays, without ``np.unique``; runs of consecutive integers.

:func:`distinct` is ``np.unique(values)``, :func:`distinct_rows` ``np.unique(rows, axis=0)`` and :func:`members`
``np.isin`` (of integers) for the
inputs the compiler gives them (integers and finite floats; ``-0.0`` and ``0.0`` are one value, the first
after sorting kept): a sort and a test of each neighbour. numpy 2's ``np.unique`` asks ``np.ma.is_masked``
of its input, which imports ``numpy.ma`` the first time it is called (~12 ms of every fresh process's
build, a CLI user's), and it took 166 ms on 325,000 int64 keys where the sort takes 2 ms.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["distinct", "distinct_rows", "first_rows", "members", "ranges", "row_ids"]


def distinct(values: npt.ArrayLike) -> np.ndarray:
    """The distinct values of ``values`` (flattened), sorted."""
    out = np.sort(np.ravel(values))
    first = np.ones(out.shape[0], bool)
    np.not_equal(out[1:], out[:-1], out=first[1:])
    return out[first]


def members(values: npt.ArrayLike, keys: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each of ``values`` is one of ``keys`` (integers): ``np.isin(values, keys)`` by a sort and a search
    (``np.isin`` of keys spread wide, such as ``row * n + column``, sorts them with ``np.unique``)."""
    values, known = np.asarray(values), np.sort(np.ravel(keys))
    if known.size == 0:
        return np.zeros(values.shape, dtype=bool)
    at = np.minimum(np.searchsorted(known, values), known.size - 1)
    out: npt.NDArray[np.bool_] = known[at] == values
    return out


def distinct_rows(rows: np.ndarray) -> np.ndarray:
    """The distinct rows of the (n, k) array ``rows``, sorted by their first column, then the next …"""
    order, first = _sorted_firsts(rows)
    out: np.ndarray = rows[order[first]]
    return out


def first_rows(rows: np.ndarray) -> np.ndarray:
    """The index of the first of each set of equal rows of the (n, k) array ``rows``, increasing
    (``np.unique(rows, axis=0, return_index=True)[1]``, sorted)."""
    order, first = _sorted_firsts(rows)
    return np.sort(order[first])


def row_ids(rows: np.ndarray) -> np.ndarray:
    """For each row of the (n, k) array ``rows``, the index of its value among :func:`distinct_rows`
    (``np.unique(rows, axis=0, return_inverse=True)[1]``)."""
    order, first = _sorted_firsts(rows)
    out = np.empty(order.shape[0], dtype=np.int64)
    out[order] = np.cumsum(first) - 1
    return out


def _sorted_firsts(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows' order sorted by their first column, then the next … (stable: equal rows by index), and
    whether each in that order differs from the one before."""
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    first = np.ones(ordered.shape[0], bool)
    first[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    return order, first


def ranges(start: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``count[i]`` consecutive integers from ``start[i]`` for every i, concatenated: (the i each comes
    from, the integer), both (sum(count),)."""
    owner = np.repeat(np.arange(count.shape[0]), count)
    value = np.arange(owner.shape[0]) - np.repeat(np.cumsum(count) - count, count) + np.repeat(start, count)
    return owner, value
