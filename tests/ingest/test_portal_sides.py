"""Portal quads wound against the format (normal into ``from``) are read the other way round
(docs/scene-format.md, "Portals"): the PVS, the meta's planes and the warnings."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene
from tests.test_awkward_levels import LEVELS, box, resolve, scene, x_door

#: Levels whose every quad is wound as the format says, and where each cell lies mostly on one side
#: of each of its portals or has a neighbour that does (boxes, L/U/T rooms, storeys, turned, hexagons).
CLEAR = ["l-u-t", "storeys", "stairwells", "windows", "many-doors", "turned-l-u-t", "turned-storeys", "hexagons"]


def _reversed(quad: list[float]) -> list[float]:
    corners = [quad[k : k + 3] for k in range(0, 12, 3)]
    return [v for c in (corners[0], corners[3], corners[2], corners[1]) for v in c]


def _build(level: dict[str, Any], **options: Any) -> Any:
    return compile_scene(json.dumps(level).encode(), BuildOptions(**options), resolve_asset=resolve)


def _corridor(rooms: int, wound_back: bool, one_way: bool = False) -> dict[str, Any]:
    cells = [box(f"c{i}", (3 * i, 0, 0), (3 * i + 3, 3, 2.4)) for i in range(rooms)]
    portals = [x_door(f"c{i - 1}", f"c{i}", 3 * i, 0, 2.4, 0, 3) for i in range(1, rooms)]
    for p in portals:
        if wound_back:
            p["quad"] = _reversed(p["quad"])
        if one_way:
            p["oneWay"] = True
    return scene("corridor", cells, portals)


def test_a_corridor_wound_backwards_sees_as_far_as_one_wound_forwards() -> None:
    forwards, backwards = _build(_corridor(6, False)), _build(_corridor(6, True))
    assert [c["pvs"] for c in backwards.meta["visibility"]["cells"]] == [["c0", "c1", "c2", "c3", "c4", "c5"]] * 6
    assert backwards.meta["visibility"] == forwards.meta["visibility"]
    assert [(w.path, w.code) for w in backwards.warnings] == [
        (f"/portals/{k}/quad", "portal_reversed") for k in range(5)
    ]
    assert forwards.warnings == []
    # every plane points into `to` (+x here), as docs/meta.md says
    assert {tuple(p["plane"][:3]) for p in backwards.meta["visibility"]["portals"]} == {(1.0, 0.0, 0.0)}


def test_one_way_portals_wound_backwards_still_pass_sight_from_from_into_to() -> None:
    meta = _build(_corridor(4, True, one_way=True)).meta["visibility"]["cells"]
    assert [c["pvs"] for c in meta] == [["c0", "c1", "c2", "c3"], ["c1", "c2", "c3"], ["c2", "c3"], ["c3"]]


def test_a_room_nested_in_a_u_is_judged_by_its_own_side() -> None:
    """The U's box holds the nested room's: box centres put them on the wrong sides of the doorway."""
    u = {"cellId": "u", "room": {"floor": [[0, 0], [9, 0], [9, 9], [6, 9], [6, 3], [3, 3], [3, 9], [0, 9]]}}
    nook = box("nook", (3, 0, 3), (6, 3, 9))
    door = {"from": "u", "to": "nook", "quad": [3.5, 0.0, 3, 5.5, 0.0, 3, 5.5, 2.1, 3, 3.5, 2.1, 3]}
    for wound_back in (False, True):
        level = scene("nested", [u, nook], [copy.deepcopy(door)])
        if wound_back:
            level["portals"][0]["quad"] = _reversed(door["quad"])
        result = _build(level)
        plane = result.meta["visibility"]["portals"][0]["plane"]
        assert plane[:3] == [0.0, 0.0, 1.0]  # into the nook (+z), whichever way it was written
        assert [w.code for w in result.warnings] == (["portal_reversed"] if wound_back else [])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(CLEAR), data=st.data())
def test_quads_wound_either_way_build_the_same_visibility(name: str, data: st.DataObject) -> None:
    level = LEVELS[name]()
    written = [k for k, p in enumerate(level["portals"]) if "quad" in p]
    flipped = data.draw(st.sets(st.sampled_from(written)) if written else st.just(set()))
    edited = copy.deepcopy(level)
    for k in flipped:
        edited["portals"][k]["quad"] = _reversed(edited["portals"][k]["quad"])
    a, b = _build(level), _build(edited)
    assert [w for w in a.warnings if w.code == "portal_reversed"] == []
    assert {w.path for w in b.warnings if w.code == "portal_reversed"} == {f"/portals/{k}/quad" for k in flipped}
    assert b.meta["visibility"] == a.meta["visibility"]
    for portal in b.meta["visibility"]["portals"]:  # each plane has `to` in front of it
        assert np.isfinite(portal["plane"]).all()


#: Two rooms of a plan drawn on squared paper, each reaching past the other: ``a`` an L whose foot (x 8 to 10,
#: z 6 to 8) runs under ``b``'s arm (x 6 to 10, z 8 to 10). Measured along the normal of the doorway between
#: that foot and that arm (z = 8), ``a`` lies 8 m in front and 2 m behind, ``b`` 8 m behind and 2 m in front:
#: each "mostly" on the wrong side.
_LOCKED = [
    {"cellId": "a", "room": {"floor": [[12, 16], [10, 16], [10, 8], [8, 8], [8, 6], [12, 6]], "y": 0, "height": 3}},
    {
        "cellId": "b",
        "room": {
            "floor": [
                [8, 8],
                [10, 8],
                [10, 10],
                [6, 10],
                [6, 8],
                [2, 8],
                [2, 6],
                [4, 6],
                [4, 4],
                [0, 4],
                [0, 0],
                [8, 0],
            ],
            "y": 0,
            "height": 3,
        },
    },
]


@pytest.mark.parametrize("wound_back", [False, True])
@pytest.mark.parametrize("one_way", [False, True])
def test_rooms_locked_into_each_other_are_judged_by_their_plans(wound_back: bool, one_way: bool) -> None:
    """Both rooms' extents voted against the quad as wound (into ``b``, +z), so it was read the other way round,
    told as ``portal_reversed``, its plane pointing into ``a``, and a one-way doorway let sight through from ``b``
    into ``a`` instead: the ground just behind the doorway is ``a``'s alone, just in front ``b``'s."""
    door = {"from": "a", "to": "b", "quad": [10, 0.2, 8, 10, 2.1, 8, 8, 2.1, 8, 8, 0.2, 8]}  # normal +z
    if wound_back:
        door["quad"] = _reversed(door["quad"])
    if one_way:
        door["oneWay"] = True
    built = _build(scene("locked", copy.deepcopy(_LOCKED), [door]))
    codes = [w.code for w in built.warnings]
    assert codes == (["portal_reversed"] if wound_back else [])
    (portal,) = built.meta["visibility"]["portals"]
    assert portal["plane"][:3] == pytest.approx([0.0, 0.0, 1.0])
    pvs = {c["cellId"]: set(c["pvs"]) for c in built.meta["visibility"]["cells"]}
    assert pvs["a"] == {"a", "b"}
    assert pvs["b"] == ({"b"} if one_way else {"a", "b"})
    # Rebuilt from its GLB the rooms are cells of meshes: their plans are their triangles' shadows.
    again = compile_scene(built.glb)
    assert again.warnings == []
    assert again.meta["visibility"]["portals"][0]["plane"] == portal["plane"]
    assert {c["cellId"]: set(c["pvs"]) for c in again.meta["visibility"]["cells"]} == pvs
