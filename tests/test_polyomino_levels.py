"""Plans drawn on squared paper (:mod:`tests.levels_polyomino`): rooms of any polyomino shape locked into each
other, doorways and windows of every width flush with their corners, windows up to and into the ceiling slab,
doorways from the floor slab's underside, stair openings flush with walls. Every output guarantee of
:func:`tests.test_awkward_levels.check_level` holds; the few rooms whose openings meet in ways the panels do not
build (a joined doorway and window with a stair opening flush with their wall, say) take the boolean path and are
held to the same checks (closed, no sliver, openings open)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sceneforge.compile import BuildOptions, compile_scene
from tests.levels_polyomino import polyomino
from tests.test_awkward_levels import check_level


@pytest.mark.parametrize("seed", range(8))
def test_polyomino_plans_build_cleanly(seed: int) -> None:
    check_level(polyomino(seed), per_cell=100, booleans=2)


@pytest.mark.parametrize("seed", [0, 3])
def test_polyomino_plans_rebuilt_from_their_glb_keep_cells_portals_and_pvs(seed: int) -> None:
    from tests.ingest.test_blender import _same_build

    first = compile_scene(json.dumps(polyomino(seed)).encode())
    again = compile_scene(first.glb)
    assert again.warnings == []
    _same_build(first, again, aabb_atol=1e-6)


def test_polyomino_plan_through_blender_builds_the_same(tmp_path: Path) -> None:
    """Blender 3.4's import and re-export of the GLB: rooms locked into each other keep their doorways' sides."""
    from tests.ingest.test_blender import _same_build
    from tests.support.blender import needs_blender, reexport

    needs_blender()
    first = compile_scene(json.dumps(polyomino(0)).encode(), BuildOptions(instancing=False))
    again = compile_scene(reexport(first.glb, tmp_path))
    assert again.warnings == []
    _same_build(first, again, aabb_atol=1e-5)
