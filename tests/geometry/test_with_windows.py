"""``panels._with_windows`` places each window in the ring of its wall's face that holds it: the same
rings as testing every window against every side of every ring of its edge at once (the reference
below, the function as first written), with the windows of edges of one ring placed without a test
and the others' rows made in bounded groups."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.geometry import panels
from sceneforge.geometry.panels import _Windows


def reference(jobs: list[tuple[Any, list[int], int]], win: _Windows) -> list[tuple[Any, list[int], int]]:
    """``jobs`` (rings of wall faces: points, ring ends, edge) with each window's corners added as a
    hole of the ring of its edge that holds it (a face cut into columns or rows by other openings
    has several; the window is clear of them all, so inside one outer ring), in window order.

    Which ring holds a window: its centre against every side of every outer ring of its edge at once
    (crossing number), the first ring of the edge that holds it."""
    if not jobs or win.edge.size == 0:
        return list(jobs)
    job_edge = np.array([e for _, _, e in jobs], np.int64)
    sides = np.array([ends[0] for _, ends, _ in jobs], np.int64)
    rings = np.concatenate([points[: ends[0]] for points, ends, _ in jobs])
    ring_start = np.cumsum(sides) - sides
    # (window, ring) pairs of one edge, rings in job order.
    by_edge = np.argsort(job_edge, kind="stable")
    lo = np.searchsorted(job_edge[by_edge], win.edge)
    n = np.searchsorted(job_edge[by_edge], win.edge, side="right") - lo
    pair_win = np.repeat(np.arange(win.edge.size), n)
    pair_job = by_edge[np.repeat(lo, n) + np.arange(pair_win.size) - np.repeat(np.cumsum(n) - n, n)]
    # (pair, side) rows: side j of the pair's ring runs from its point j to point j + 1.
    m = sides[pair_job]
    row_pair = np.repeat(np.arange(pair_job.size), m)
    j = np.arange(row_pair.size) - np.repeat(np.cumsum(m) - m, m)
    first = ring_start[pair_job][row_pair]
    a = rings[first + j]
    b = rings[first + (j + 1) % m[row_pair]]
    point = win.poly.mean(axis=1)[pair_win][row_pair]
    crosses = (a[:, 1] > point[:, 1]) != (b[:, 1] > point[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        x = a[:, 0] + (point[:, 1] - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    inside = np.bincount(row_pair, weights=crosses & (point[:, 0] < x), minlength=pair_job.size) % 2 == 1
    # The first ring holding each window (pairs are in window order, then job order).
    held = inside.nonzero()[0]
    held = held[np.unique(pair_win[held], return_index=True)[1]]
    out = list(jobs)
    holder, window = pair_job[held], pair_win[held]
    order = np.argsort(holder, kind="stable")  # each job's windows in window order
    bounds = np.flatnonzero(np.diff(holder[order], prepend=-1, append=-1))
    for lo_k, hi_k in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        k, polys = int(holder[order[lo_k]]), win.poly[window[order[lo_k:hi_k]]]
        points, ends, e = out[k]
        last = ends[-1]
        out[k] = (
            np.concatenate([points, polys.reshape(-1, 2)]),
            [*ends, *(last + 4 * np.arange(1, len(polys) + 1)).tolist()],
            e,
        )
    return out


def _case(seed: int) -> tuple[list[tuple[np.ndarray, list[int], int]], _Windows]:
    """Wall faces on a few edges, each cut into 1-4 columns (one ring each, with extra points on the
    borders), and windows inside the columns (some edges without a ring: their windows are held by none)."""
    rng = np.random.default_rng(seed)
    jobs: list[tuple[np.ndarray, list[int], int]] = []
    polys, edges = [], []
    for edge in range(int(rng.integers(1, 5))):
        columns = int(rng.integers(0, 5))
        for k in range(columns):
            lo, hi = 3.0 * k, 3.0 * k + 2.5
            top = np.linspace(hi, lo, int(rng.integers(2, 40)))
            ring = np.array([[lo, 0.0], [hi, 0.0], *([[u, 3.0] for u in top])])
            jobs.append((ring, [len(ring)], edge))
            for _ in range(int(rng.integers(0, 6))):
                u, v = rng.uniform(lo + 0.2, hi - 0.7), rng.uniform(0.2, 2.3)
                polys.append([[u, v], [u + 0.5, v], [u + 0.4, v + 0.5], [u + 0.1, v + 0.5]])
                edges.append(edge)
        if columns == 0:
            polys.append([[1.0, 1.0], [1.5, 1.0], [1.5, 1.5], [1.0, 1.5]])
            edges.append(edge)
    order = np.argsort(np.array(edges, np.int64), kind="stable")
    shuffled = rng.permutation(len(jobs))
    jobs = [jobs[i] for i in shuffled]
    poly = np.array(polys, np.float64).reshape(-1, 4, 2)[order]
    edge = np.array(edges, np.int64)[order]
    return jobs, _Windows(np.zeros(edge.size, np.int64), edge, poly)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.sampled_from([1, 7, 64, 1 << 20]))
def test_windows_go_to_the_rings_the_reference_finds(seed: int, rows: int) -> None:
    jobs, win = _case(seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(panels, "_WINDOW_ROWS", rows)  # groups of one window up to all at once
        got = panels._with_windows(jobs, win)
    expected = reference(jobs, win)
    assert len(got) == len(expected)
    for (p1, e1, k1), (p2, e2, k2) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(p1, p2)
        assert (e1, k1) == (e2, k2)
