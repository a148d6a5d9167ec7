"""Incremental builds of hand-made levels through the edits level designers make, one after another on
one cache: every build gives the bytes (GLB and meta) of a full build of the same description and options.

The edits: a portal's quad moved and resized, ``oneWay`` flipped, a cell renamed (and its portals), a room
resized, props placed (meshes, instances with a sheared copy), the build options changed, an edit that
makes the scene invalid (the failed build must leave nothing the next one reuses wrongly), a cell added
with a doorway, a cell removed with its portals, cells and portals reordered, and an edit undone (the
earlier build's bytes again).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.errors import SceneInvalid
from sceneforge.incremental import MemoryCellCache
from tests.test_awkward_levels import LEVELS, resolve

Doc = dict[str, Any]


def _build(doc: Doc, options: dict[str, bool], cache: MemoryCellCache | None) -> tuple[Any, ...]:
    """What a build gives, without what differs by design (timings, the cache's own counters); ``booleanCells``
    stays (the rooms on the booleans, built or reused, are the full build's)."""
    try:
        result = compile_scene(json.dumps(doc).encode(), BuildOptions(cache=cache, **options), resolve_asset=resolve)
    except SceneInvalid as exc:
        return ("invalid", [(i.path, i.code, i.message) for i in exc.issues])
    meta = copy.deepcopy(result.meta)
    meta.pop("buildMs", None)
    for key in ("cellsRebuilt", "cellsReused", "pvsCellsWalked", "buildMs"):
        meta["stats"].pop(key, None)
    return ("ok", result.glb, json.dumps(meta))


def _room_cells(doc: Doc) -> list[Doc]:
    return [c for c in doc["cells"] if "room" in c]


def _move_portal(doc: Doc) -> None:
    portal = next(p for p in doc["portals"] if "quad" in p)
    q = np.asarray(portal["quad"], float).reshape(4, 3)
    centre = q.mean(axis=0)
    along = (q[3] - q[0]) / np.linalg.norm(q[3] - q[0])
    portal["quad"] = [round(float(v), 6) for v in (centre + 0.8 * (q - centre) + 0.05 * along).ravel()]


def _flip_one_way(doc: Doc) -> None:
    portal = next(p for p in doc["portals"] if "from" in p)
    portal["oneWay"] = not portal.get("oneWay", False)


def _rename(doc: Doc) -> None:
    cell = doc["cells"][0]
    old, new = cell["cellId"], cell["cellId"] + "-renamed"
    cell["cellId"] = new
    for p in doc["portals"]:
        for end in ("from", "to"):
            if p.get(end) == old:
                p[end] = new
        if "between" in p:
            p["between"] = [new if c == old else c for c in p["between"]]


def _resize(doc: Doc) -> None:
    room = _room_cells(doc)[-1]["room"]
    if "max" in room:
        room["max"][1] = round(room["max"][1] + 0.3, 6)
    else:
        room["height"] = round(room["height"] + 0.3, 6)


def _centre(cell: Doc) -> list[float]:
    room = cell["room"]
    if "max" in room:
        return [(room["min"][0] + room["max"][0]) / 2, room["min"][1], (room["min"][2] + room["max"][2]) / 2]
    xs, zs = zip(*room["floor"], strict=True)
    return [sum(xs) / len(xs), room.get("y", 0.0), sum(zs) / len(zs)]


def _crate(at: list[float], shear: float = 0.0) -> list[float]:
    """A column-major transform: the 1 m crate at a quarter size, moved to ``at`` (``shear``: y along x)."""
    return [0.25, 0, 0, 0, shear, 0.25, 0, 0, 0, 0, 0.25, 0, at[0] - 0.4, at[1], at[2] - 0.4, 1]


def _props(doc: Doc) -> None:
    first, second = _room_cells(doc)[:2]
    first.setdefault("meshes", []).append({"meshId": "asset:crate.obj", "transform": _crate(_centre(first))})
    x, y, z = _centre(second)
    transforms = [_crate([x, y, z]), _crate([x + 0.3, y, z], shear=0.1)]  # the sheared copy becomes geometry
    doc.setdefault("instances", []).append(
        {"meshId": "asset:crate.obj", "cellId": second["cellId"], "transforms": transforms}
    )


def _walls_fill_the_room(doc: Doc) -> None:
    _room_cells(doc)[0]["room"]["wallThickness"] = 50.0


def _add_cell(doc: Doc) -> None:
    """A 3 m room beyond the high-x wall of the first box room, with a doorway into it."""
    cell = next(c for c in doc["cells"] if "max" in c.get("room", {}))
    lo, hi = cell["room"]["min"], cell["room"]["max"]
    doc["cells"].append({"cellId": "added", "room": {"min": [hi[0], lo[1], lo[2]], "max": [hi[0] + 3, hi[1], hi[2]]}})
    x, z, y = hi[0], (lo[2] + hi[2]) / 2, lo[1] + 0.05
    quad = [x, y, z - 0.4, x, y + 1.9, z - 0.4, x, y + 1.9, z + 0.4, x, y, z + 0.4]
    doc["portals"].append({"from": cell["cellId"], "to": "added", "quad": quad})


def _remove_cell(doc: Doc) -> None:
    gone = doc["cells"].pop(1)["cellId"]
    doc["portals"] = [p for p in doc["portals"] if gone not in (p.get("from"), p.get("to"), *p.get("between", []))]
    doc["instances"] = [g for g in doc.get("instances", []) if g["cellId"] != gone]


def _reorder(doc: Doc) -> None:
    doc["cells"].reverse()
    doc["portals"] = doc["portals"][1:] + doc["portals"][:1]


#: (edit, the options of the build after it); None: the options stay.
EDITS: list[tuple[Callable[[Doc], None], dict[str, bool] | None]] = [
    (_move_portal, None),
    (_flip_one_way, None),
    (_rename, None),
    (_props, None),
    (_resize, {"quantize": True, "compress": True}),
    (_walls_fill_the_room, None),
    (_add_cell, {"instancing": False}),
    (_remove_cell, {"pvs": False}),
    (_reorder, {}),
]


@pytest.mark.parametrize("name", ["l-u-t", "stairwells", "portal-forms", "far-l-u-t"])
def test_designer_edits_on_one_cache_give_full_build_bytes(name: str) -> None:
    doc = LEVELS[name]()
    cache = MemoryCellCache()
    options: dict[str, bool] = {}
    valid = doc
    builds: list[tuple[Doc, dict[str, bool], tuple[Any, ...]]] = []
    for step, (edit, new_options) in enumerate([(None, None), *EDITS]):
        doc = copy.deepcopy(valid)
        if edit is not None:
            edit(doc)
        options = options if new_options is None else new_options
        warm = _build(doc, options, cache)
        assert warm == _build(doc, options, None), f"{name}: build {step} ({edit and edit.__name__}, {options})"
        builds.append((doc, options, warm))
        if warm[0] == "ok":
            valid = doc
    assert [b[2][0] for b in builds] == ["ok"] * 6 + ["invalid"] + ["ok"] * 3
    # Undone: back to the description and options of the builds after the portal and the props edits.
    for step in (1, 4):
        doc, options, earlier = builds[step]
        assert _build(doc, options, cache) == earlier, f"{name}: back to build {step}"
