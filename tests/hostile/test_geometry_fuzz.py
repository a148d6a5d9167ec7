"""Schema-valid but geometrically hostile descriptions build or are refused with a pointer, never a crash.

Small levels (2–12 cells) mix overlapping and nested rooms, rooms sharing walls exactly or 1e-7 m apart,
empty or inside-out boxes, walls thicker than half the room or 1e-9 m thin, rooms 1e-5 m or 1e5 m high,
coordinates near the ±1e6 m limit, floor polygons that touch themselves, repeat points, run collinear or
are wound either way, and portals anywhere: inside a room, between rooms far apart, from a cell to itself,
degenerate, non-planar, twice the wall's size, horizontal, listed 50 times, one-way. ``compile_scene``
(plain, quantized, compressed) either returns a GLB and a meta that strict JSON can write, or raises a
:class:`~sceneforge.errors.SceneInvalid` whose every issue has a JSON pointer into the input.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.errors import SceneInvalid

#: Seconds one build may take before it counts as a hang.
BUILD_SECONDS = 10

FAR = 999_990.0
coordinate = st.one_of(
    st.sampled_from([0.0, 1.0, 4.0, -4.0, 1e-7, -1e-7, 4.0000001, 3.9999999, FAR, -FAR, 1e6, -1e6]),
    st.floats(-12.0, 12.0, allow_nan=False),
)
#: Box sizes: mostly ones a room can have, sometimes empty, inside out, a hair over twice the walls or huge.
size = st.sampled_from([1.0, 3.0, 4.0, 2.5, 1000.0] * 3 + [0.0, -1.0, 1e-9, 1e-5, 0.2, 0.21, 0.2000001, 1e5])
thickness = st.sampled_from([None, None, 0.1, 1e-9, 1e-5, 0.5, 1.0, 1.2, 1.4999, 2.0])


@st.composite
def box_room(draw: st.DrawFn) -> dict[str, Any]:
    lo = [draw(coordinate), draw(st.sampled_from([0.0, -1.0, 3.0, -FAR, 1e-7])), draw(coordinate)]
    hi = [lo[0] + draw(size), lo[1] + draw(size), lo[2] + draw(size)]
    room: dict[str, Any] = {"min": lo, "max": hi}
    if (t := draw(thickness)) is not None:
        room["wallThickness"] = t
    return room


@st.composite
def floor_room(draw: st.DrawFn) -> dict[str, Any]:
    x, z, s = draw(coordinate), draw(coordinate), draw(st.sampled_from([1e-6, 1.0, 4.0, 1e3]))
    shapes = [
        [[0, 0], [1, 0], [1, 1], [0, 1]],
        [[0, 0], [0, 1], [1, 1], [1, 0]],  # clockwise
        [[0, 0], [1, 0], [1, 0], [1, 1], [0, 1]],  # a point twice
        [[0, 0], [0.5, 0], [1, 0], [1, 1], [0, 1]],  # collinear point
        [[0, 0], [1, 0], [0.5, 1e-9]],  # nearly collinear triangle
        [[0, 0], [1, 0], [2, 0]],  # collinear
        [[0, 0], [2, 0], [2, 2], [1, 1], [0, 2], [1, 1]],  # touches itself
        [[0, 0], [2, 0], [2, 1], [1, 1], [1, 0], [0, 1]],  # point on an edge
        [[0, 0], [1, 1], [1, 0], [0, 1]],  # bow tie
        [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0], [1, 0], [1, 1], [0, 1]],  # back over itself
        [[0, 0], [1, 0], [1, 1], [0.5, 1 + 1e-9], [0, 1]],
        [[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3]],  # U
    ]
    shape = draw(st.sampled_from(shapes))
    room: dict[str, Any] = {
        "floor": [[x + s * a, z + s * b] for a, b in shape],
        "y": draw(st.sampled_from([0.0, -3.0, 3.0, 1e-7, -FAR])),
        "height": draw(size),
    }
    if (t := draw(thickness)) is not None:
        room["wallThickness"] = t
    return room


def _quad_on(room: dict[str, Any], kind: str, scale: float, off: float) -> list[float]:
    """A quad placed relative to ``room``'s box (``scale`` times the wall's size, ``off`` metres off its plane): on
    its +x or +z wall, in its middle, as a floor or ceiling hatch, or degenerate."""
    if "min" in room:
        (x0, y0, z0), (x1, y1, z1) = room["min"], room["max"]
    else:
        xs = [p[0] for p in room["floor"]]
        zs = [p[1] for p in room["floor"]]
        x0, x1, z0, z1 = min(xs), max(xs), min(zs), max(zs)
        y0, y1 = room["y"], room["y"] + room["height"]
    x1, z1, y0, y1 = x1 + off, z1 + off, y0 + off, y1 + off
    cx, cy, cz = (x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2
    hy, hz, hx = scale * (y1 - y0) / 2, scale * (z1 - z0) / 2, scale * (x1 - x0) / 2
    if kind == "wall":
        return [x1, cy - hy, cz - hz, x1, cy + hy, cz - hz, x1, cy + hy, cz + hz, x1, cy - hy, cz + hz]
    if kind == "zwall":
        return [cx - hx, cy - hy, z1, cx + hx, cy - hy, z1, cx + hx, cy + hy, z1, cx - hx, cy + hy, z1]
    if kind == "ceiling":
        return [cx - hx, y1, cz - hz, cx + hx, y1, cz - hz, cx + hx, y1, cz + hz, cx - hx, y1, cz + hz]
    if kind == "middle":
        return [cx, cy - hy, cz - hz, cx, cy + hy, cz - hz, cx, cy + hy, cz + hz, cx, cy - hy, cz + hz]
    if kind == "hatch":
        return [cx - hx, y0, cz - hz, cx + hx, y0, cz - hz, cx + hx, y0, cz + hz, cx - hx, y0, cz + hz]
    if kind == "point":
        return [cx, cy, cz] * 4
    if kind == "line":
        return [cx, y0, cz, cx, y1, cz, cx, y1, cz, cx, y0, cz]
    if kind == "collinear":
        return [x1, y0, z0, x1, (y0 + y1) / 2, z0, x1, y1, z0, x1, y1, z0]
    # non-planar: one corner pulled off the wall
    return [x1, y0, z0, x1, y1, z0, x1 + scale, y1, z1, x1, y0, z1]


#: Where a quad goes: mostly somewhere it opens something, sometimes degenerate.
KINDS = (
    ["wall"] * 3 + ["zwall"] * 2 + ["hatch", "ceiling"] * 2 + ["middle"] * 2 + ["bent", "point", "line", "collinear"]
)


@st.composite
def levels(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(2, 12))
    rooms: list[dict[str, Any]] = []
    for _ in range(n):
        how = draw(st.sampled_from(["box", "floor", "copy", "inside", "next", "hair", "above", "auto"]))
        if how in ("copy", "inside", "next", "hair", "above") and rooms and "min" in rooms[-1]:
            last = rooms[-1]
            lo, hi = list(last["min"]), list(last["max"])
            if how == "inside":
                lo = [lo[0] + 0.5, lo[1], lo[2] + 0.5]
                hi = [hi[0] - 0.5, hi[1], hi[2] - 0.5]
            elif how in ("next", "hair"):
                gap = 1e-7 if how == "hair" else 0.0
                width = hi[0] - lo[0]
                lo, hi = [hi[0] + gap, lo[1], lo[2]], [hi[0] + gap + width, hi[1], hi[2]]
            elif how == "above":
                lo, hi = [lo[0] - 0.5, hi[1], lo[2]], [hi[0] + 0.5, 2 * hi[1] - lo[1], hi[2]]
            room = {k: v for k, v in last.items() if k not in ("min", "max")}
            rooms.append({**room, "min": lo, "max": hi})
        elif how == "floor":
            rooms.append(draw(floor_room()))
        elif how == "auto":
            rooms.append({})
        else:
            rooms.append(draw(box_room()))
    cells: list[dict[str, Any]] = []
    for i, room in enumerate(rooms):
        cell: dict[str, Any] = {"cellId": f"c{i}"}
        if room:
            cell["room"] = room
            if draw(st.booleans()):
                cell["room"]["material"] = "m"
        else:
            cell["meshes"] = [{"meshId": "auto"}]
        cells.append(cell)
    portals: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 6))):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        if draw(st.integers(0, 3)) == 0:
            portal: dict[str, Any] = {"between": [f"c{a}", f"c{(a + 1) % n}" if draw(st.booleans()) else f"c{b}"]}
            if draw(st.booleans()):
                portal["door"] = {
                    "width": draw(st.sampled_from([1e-9, 0.5, 1.0, 50.0])),
                    "height": draw(st.sampled_from([1e-9, 1.0, 2.1, 1e5])),
                    "offset": draw(st.sampled_from([0.0, 1.0, -1e5])),
                }
        else:
            if draw(st.booleans()):
                b = (a + 1) % n  # the room drawn after it: often next to it, above it or inside it
            room = rooms[a] or {"min": [4.5 * a - 2, 0, -2], "max": [4.5 * a + 2, 3, 2]}
            kind = draw(st.sampled_from(KINDS))
            scale = draw(st.sampled_from([0.5, 0.5, 1.0, 1.0, 2.0, 1e-7]))
            quad = _quad_on(room, kind, scale, draw(st.sampled_from([0.0, 0.0, 0.0, 1e-7, -0.05, 5e-4, 2e-3, -1.0])))
            portal = {"from": f"c{a}", "to": f"c{b}", "quad": quad}
            if draw(st.booleans()):
                portal["oneWay"] = True
        portals.extend([portal] * draw(st.sampled_from([1, 1, 2, 50])))
    level: dict[str, Any] = {"sceneId": "fuzz", "cells": cells, "portals": portals}
    level["materials"] = {"m": draw(st.sampled_from(["#336699", "#33669900", {"baseColor": [1, 0, 0, 0.5]}]))}
    level["props"] = {"k": "v"}
    return level


@contextmanager
def _at_most(seconds: int) -> Iterator[None]:
    def hang(signum: int, frame: object) -> None:
        raise TimeoutError(f"a build took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _without(level: dict[str, Any], issues: list[Any]) -> dict[str, Any] | None:
    """``level`` with the portals the issues name left out and the cells they name made plain auto rooms (None
    when nothing is left to change)."""
    cells, portals = set(), set()
    for issue in issues:
        parts = issue.path.split("/")
        if len(parts) > 2 and parts[2].isdigit():
            {"cells": cells, "portals": portals}.get(parts[1], set()).add(int(parts[2]))
    auto = [{"cellId": c["cellId"], "meshes": [{"meshId": "auto"}]} for c in level["cells"]]
    if not cells - {i for i, c in enumerate(level["cells"]) if c == auto[i]} and not portals:
        return None
    return {
        **level,
        "cells": [auto[i] if i in cells else c for i, c in enumerate(level["cells"])],
        "portals": [p for i, p in enumerate(level["portals"]) if i not in portals],
    }


def _builds_or_is_refused(level: dict[str, Any], options: BuildOptions) -> None:
    """Build ``level``; when refused, check the issues and build it again without what they name, so that
    what is merely odd gets built too."""
    for _ in range(4):
        with _at_most(BUILD_SECONDS):
            try:
                result = compile_scene(json.dumps(level).encode(), options)
            except SceneInvalid as e:
                assert e.issues, "an error without issues"
                for issue in e.issues:
                    assert issue.path == "" or issue.path.startswith("/"), issue
                if (smaller := _without(level, e.issues)) is None:
                    return
                level = smaller
                continue
        assert result.glb[:4] == b"glTF"
        json.dumps(result.meta, allow_nan=False)
        return


@pytest.mark.parametrize(
    "options",
    [BuildOptions(), BuildOptions(quantize=True), BuildOptions(compress=True)],
    ids=["plain", "quantize", "compress"],
)
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(level=levels())
def test_hostile_geometry_builds_or_is_refused_with_a_pointer(level: dict[str, Any], options: BuildOptions) -> None:
    _builds_or_is_refused(level, options)
