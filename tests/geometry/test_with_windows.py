"""``panels.wall_faces._with_windows`` places each window in the ring of its wall's face that holds it: the same
rings as testing each window against each ring of its edge, one at a time (the reference below), with
the windows of edges of one ring placed without a test and the others' rows made in bounded groups."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.geometry.panels import wall_faces
from sceneforge.geometry.panels.openings import Windows


def reference(jobs: list[tuple[Any, list[int], int]], win: Windows) -> list[tuple[Any, list[int], int]]:
    """Each window in the first ring of its edge (in job order) whose outer ring holds its centre, one
    window and one ring at a time (crossing number), appended to that job's rings in window order."""
    holes: dict[int, list[np.ndarray]] = {}
    for poly, edge in zip(win.poly, win.edge.tolist(), strict=True):
        x, y = poly.mean(axis=0).tolist()
        for k, (points, ends, e) in enumerate(jobs):
            ring = points[: ends[0]].tolist()
            crossings = 0
            for (ax, ay), (bx, by) in zip(ring, ring[1:] + ring[:1], strict=True):
                if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
                    crossings += 1
            if e == edge and crossings % 2 == 1:
                holes.setdefault(k, []).append(poly)
                break
    out = list(jobs)
    for k, polys in holes.items():
        points, ends, e = out[k]
        out[k] = (
            np.concatenate([points, np.concatenate(polys)]),
            [*ends, *(ends[-1] + 4 * np.arange(1, len(polys) + 1)).tolist()],
            e,
        )
    return out


def _case(seed: int) -> tuple[list[tuple[np.ndarray, list[int], int]], Windows]:
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
    return jobs, Windows(np.zeros(edge.size, np.int64), edge, poly)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.sampled_from([1, 7, 64, 1 << 20]))
def test_windows_go_to_the_rings_the_reference_finds(seed: int, rows: int) -> None:
    jobs, win = _case(seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wall_faces, "_WINDOW_ROWS", rows)  # groups of one window up to all at once
        got = wall_faces._with_windows(jobs, win)
    expected = reference(jobs, win)
    assert len(got) == len(expected)
    for (p1, e1, k1), (p2, e2, k2) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(p1, p2)
        assert (e1, k1) == (e2, k2)
