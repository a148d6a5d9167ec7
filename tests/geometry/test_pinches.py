"""The boolean path's hatches on many of them in one slab: pinch points (``rooms._pinches``) each found once,
corners put on the cavity's lines (``rooms._onto_cavity_lines``) in bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from sceneforge.geometry import rooms
from sceneforge.geometry.doors import PART
from sceneforge.geometry.rooms import _pinches


def test_checkerboard_of_hatches_pinches_each_touch_once() -> None:
    # 1,405 unit squares touching at their corners: 2,704 touches (the grid's points two squares share), every
    # corner a touch, each found once (its corners were checked against the points kept one pair at a time: 12.8 s
    # of a build, 1.7 s compared with all kept at once; timings are the benchmarks', not this test's).
    side = 53
    rings = [
        np.array([[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1]], dtype=np.float64)
        for x in range(side)
        for y in range(side)
        if (x + y) % 2 == 0
    ]
    points = _pinches(rings)
    inner = {(x, y) for x in range(1, side) for y in range(1, side)}
    assert {(float(x), float(y)) for x, y in points.tolist()} == inner
    gaps = np.abs(points[:, None, :] - points[None, :, :]).max(axis=2) + np.eye(len(points)) * 2 * PART
    assert (gaps > PART).all()  # one point per touch


def _hatches_in_circle(hatches: int, corners: int) -> tuple[np.ndarray, np.ndarray]:
    angle = np.linspace(0.0, 2.0 * np.pi, corners, endpoint=False)
    cavity = np.stack([20.0 * np.cos(angle), 20.0 * np.sin(angle)], axis=1)
    square = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]])
    plan = np.random.default_rng(0).uniform(-10.0, 10.0, (hatches, 1, 2)) + square
    # A few corners a float step off the cavity's corners and lines: moved onto them.
    plan[0, 0] = np.nextafter(cavity[3], np.inf)
    plan[1, 2] = np.nextafter(0.5 * (cavity[7] + cavity[8]), 0.0)
    ends = [np.concatenate([plan, np.full((hatches, 4, 1), z)], axis=2) for z in (-0.2, 0.2)]
    return np.concatenate(ends, axis=1), cavity


def test_hatches_onto_cavity_lines_in_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1,000 hatches in a cavity of 2,048 corners: every corner against every edge at once took 0.5 GB.
    local, cavity = _hatches_in_circle(1000, 2048)
    level = np.ones(len(local), dtype=bool)
    tracemalloc.start()
    try:
        moved, _ = rooms._onto_cavity_lines(local, local.copy(), level, [cavity], np.zeros(3))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64e6, f"{peak / 1e6:.0f} MB"
    assert (moved[0, 0, :2] == cavity[3]).all() and (moved[0, 4, :2] == cavity[3]).all()
    assert not (moved[1, 2, :2] == local[1, 2, :2]).all()
    changed = (moved != local).any(axis=(1, 2))
    assert changed[:2].all() and not changed[2:].any()
    # By chunks of any size: the same corners.
    monkeypatch.setattr(rooms, "_CHUNK", 4096)
    assert (rooms._onto_cavity_lines(local, local.copy(), level, [cavity], np.zeros(3))[0] == moved).all()
