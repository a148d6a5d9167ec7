"""Doorways flush with one cavity corner from both walls meeting there, both reaching into one slab (their sills
below the floor's top, or their lintels above the ceiling's underside): the pillar left between them would touch
that slab's corner along one edge only (four faces on it, not a 2-manifold solid).
Both room paths draw the opening of the wall before the corner back by ``PART`` (docs/scene-format.md), so each
cell is closed and 2-manifold, the panels build the boolean path's solid, and no triangle is a sliver."""

from __future__ import annotations

import io
import json

import numpy as np
import trimesh
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sceneforge.compile import compile_scene
from sceneforge.geometry.doors import PART
from sceneforge.geometry.rooms import generate_rooms

from .levels import heights
from .meshcheck import as_trimesh, box_room, only_surface, ray_hits, scene

W, D, H, T = 4.0, 3.0, 3.0, 0.1
#: Bottoms and tops of the openings: past the slab's outer face, on it, inside the slab, on its inner face,
#: within the wall.
BOTTOMS = [-0.3, 0.0, 0.04, 0.07, T, 0.9]
TOPS = [H + 0.3, H, H - 0.04, H - 0.07, H - T, 2.1]


def _edge_manifold(mesh: trimesh.Trimesh) -> bool:
    """Every edge (corners merged by position) on exactly two faces, crossed once each way."""
    edges = np.sort(mesh.edges, axis=1)
    _, count = np.unique(edges, axis=0, return_counts=True)
    return bool(mesh.is_watertight and mesh.is_winding_consistent and (count == 2).all())


@st.composite
def corner_doorways(draw: st.DrawFn) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Two doorways flush with one cavity corner of a W × D box room (one on each wall meeting there, drawn to
    the corner or past it to the wall's end), each from one of BOTTOMS to one of TOPS, and rays from outside
    through their middles. The corner is (W - T, D - T) mirrored in x, z or both: either wall comes first
    about it in the outline's order."""
    past = draw(st.booleans())
    quads, rays = [], []
    for wall in (0, 1):  # 0: the wall x = W (along z), 1: the wall z = D (along x)
        c, d = draw(st.sampled_from(BOTTOMS)), draw(st.sampled_from(TOPS))
        width = draw(st.sampled_from([0.8, 1.2]))
        length, plane = (D, W) if wall == 0 else (W, D)
        s0, s1 = length - T - width, length - (0.0 if past else T)
        corners = [(s0, c), (s0, d), (s1, d), (s1, c)]
        quad = np.array([(plane, y, s) if wall == 0 else (s, y, plane) for s, y in corners], float)
        mid_s, mid_y = (s0 + length - T) / 2, (max(c, T) + min(d, H - T)) / 2
        origin = np.array([plane + 1.0, mid_y, mid_s] if wall == 0 else [mid_s, mid_y, plane + 1.0])
        direction = np.array([-1.0, 0.0, 0.0] if wall == 0 else [0.0, 0.0, -1.0])
        quads.append(quad)
        rays.append((origin, direction))
    for axis, size in ((0, W), (2, D)):
        if draw(st.booleans()):
            for q in quads:
                q[:, axis] = size - q[:, axis]
            for origin, direction in rays:
                origin[axis], direction[axis] = size - origin[axis], -direction[axis]
    return quads, rays


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corner_doorways())
# Both from the floor's underside to a door's height: the pinch at the floor.
@example(([np.array([[W, 0, 1.2], [W, 2.1, 1.2], [W, 2.1, D - T], [W, 0, D - T]], float),
           np.array([[W - T - 0.8, 0, D], [W - T - 0.8, 2.1, D], [W - T, 2.1, D], [W - T, 0, D]], float)],
          []))  # fmt: skip
def test_doorways_at_one_corner_leave_a_2_manifold_shell(
    case: tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]],
) -> None:
    quads, rays = case
    room = box_room(0.0, W, 0.0, D, t=T)
    portals = [("r", f"x{k}", q) for k, q in enumerate(quads)]
    fast, reference = scene({"r": room}, portals), scene({"r": room}, portals)
    booleans = generate_rooms(fast)
    generate_rooms(reference, fast_paths=False)
    panel, boolean = only_surface(fast, "r"), only_surface(reference, "r")
    for surface in (panel, boolean):
        assert _edge_manifold(as_trimesh(surface))
    # The panels build every such room, the boolean path's solid (whose prisms reach 0.1 mm past the faces
    # they cut), with no sliver.
    assert booleans == 0
    spill = sum(1e-4 * 2 * float(np.ptp(q, axis=0).sum()) * 4 for q in quads)
    rounding = 1e-6 * as_trimesh(boolean).volume
    assert as_trimesh(boolean).volume - rounding <= as_trimesh(panel).volume <= as_trimesh(boolean).volume + spill
    tri = panel.positions.astype(np.float64)[panel.indices.astype(np.int64)]
    assert heights(tri).min() >= 5e-4
    for origin, direction in rays:
        assert ray_hits(panel, origin, direction, 1.0 + T + 0.05) == 0, (origin, direction)


def test_the_build_of_two_doorways_from_the_slab_underside_at_one_corner_is_2_manifold() -> None:
    """The level as a user writes it: room a's doorways into b (east) and c (north), each from the floor's underside
    and flush with a's north-east cavity corner. Every cell of the GLB is closed and 2-manifold; a's doorway into b
    ends PART short of the corner (a strip of wall PART wide joins the pillar to the floor), the other at it."""
    cells = [
        {"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4]}},
        {"cellId": "b", "room": {"min": [4, 0, 0], "max": [8, 3, 4]}},
        {"cellId": "c", "room": {"min": [0, 0, 4], "max": [4, 3, 8]}},
    ]
    portals = [
        {"from": "a", "to": "b", "quad": [4, 0, 3.0, 4, 2.1, 3.0, 4, 2.1, 3.9, 4, 0, 3.9]},
        {"from": "a", "to": "c", "quad": [3.0, 0, 4, 3.0, 2.1, 4, 3.9, 2.1, 4, 3.9, 0, 4]},
    ]
    built = compile_scene(json.dumps({"sceneId": "pinch", "cells": cells, "portals": portals}).encode())
    assert built.meta["stats"]["booleanCells"] == 0
    glb = trimesh.load(io.BytesIO(built.glb), file_type="glb", process=False)
    for name, geometry in glb.geometry.items():
        mesh = trimesh.Trimesh(geometry.vertices, geometry.faces, process=True)
        assert _edge_manifold(mesh), name
    a = next(g for name, g in glb.geometry.items() if name.endswith(":a"))
    # On a's east wall's inner face (x = 3.9) the strip between the doorway's jamb and the corner stands.
    inner = a.vertices[np.abs(a.vertices[:, 0] - 3.9) < 1e-6]
    assert np.isclose(inner[:, 2], 3.9 - PART, atol=1e-6).any()


def test_a_doorway_narrower_than_the_part_keeps_no_sliver() -> None:
    """A doorway 1.5 mm wide at a pinched corner, drawn back by PART, would be a 0.5 mm slit with slivers beside
    it: it keeps no width (the wall stands there), and the shell stays 2-manifold with no sliver."""
    room = box_room(0.0, W, 0.0, D, t=T)
    narrow = np.array([[W, 0, D - T - 0.0015], [W, 2.1, D - T - 0.0015], [W, 2.1, D - T], [W, 0, D - T]], float)
    across = np.array([[W - T - 0.8, 0, D], [W - T - 0.8, 2.1, D], [W - T, 2.1, D], [W - T, 0, D]], float)
    ir = scene({"r": room}, [("r", "x", narrow), ("r", "y", across)])
    generate_rooms(ir)
    surface = only_surface(ir, "r")
    assert _edge_manifold(as_trimesh(surface))
    assert heights(surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]).min() >= 5e-4
    # Nothing opens where the narrow doorway was drawn; the doorway across stays open.
    assert ray_hits(surface, np.array([W + 1.0, 1.0, D - T - 0.00075]), np.array([-1.0, 0.0, 0.0]), 1.15) > 0
    assert ray_hits(surface, np.array([W - T - 0.4, 1.0, D + 1.0]), np.array([0.0, 0.0, -1.0]), 1.15) == 0
