"""Geometry beyond float32 anywhere is refused with its JSON pointer (422 / exit 2), never a crash.

Every number of a scene that exercises each geometric field (box and polygon rooms, doors, portal
quads, asset transforms, instance transforms) is replaced in turn by huge, tiny, NaN or infinite
values; the compiler either builds a GLB whose every float is finite, or raises ``SceneInvalid``
whose issues point at places that exist in the input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sceneforge.cli import app as cli_app
from sceneforge.compile import compile_scene
from sceneforge.errors import SceneInvalid
from sceneforge.model.description import FLOAT32_MAX
from tests.api.conftest import Api
from tests.support.glb_reader import read_glb

TRIANGLE_OBJ = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
IDENTITY = [1.0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.5, 0.5, 0.5, 1]

#: One scene using every geometric field of the description.
GEOMETRY: dict[str, Any] = {
    "sceneId": "f32",
    "cells": [
        {"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4], "wallThickness": 0.1}},
        {"cellId": "b", "room": {"floor": [[4, 0], [8, 0], [8, 4], [4, 4]], "y": 0, "height": 3}},
        {"cellId": "c", "meshes": [{"meshId": "auto"}, {"meshId": "asset:tri", "transform": IDENTITY}]},
    ],
    "portals": [
        {"between": ["a", "b"], "door": {"width": 1.2, "height": 2.1, "offset": 0.5}},
        {"from": "b", "to": "c", "quad": [8, 0.2, 1, 8, 2.2, 1, 8, 2.2, 2, 8, 0.2, 2]},
    ],
    "instances": [{"meshId": "asset:tri", "cellId": "c", "transforms": [IDENTITY, IDENTITY]}],
}

#: Text spliced into the JSON in place of a number (Python's json writes NaN / Infinity as bare words).
HOSTILE = st.one_of(
    st.sampled_from(
        [
            FLOAT32_MAX,
            -FLOAT32_MAX,
            FLOAT32_MAX * 1.0000001,
            1e38,
            -1e38,
            1e39,
            1e300,
            -1e300,
            1e20,
            1e-45,
            5e-324,
            float("nan"),
            float("inf"),
            float("-inf"),
        ]
    ).map(lambda v: json.dumps(v)),
    st.sampled_from(["1e400", "-1e400", "1" + "0" * 400, "NaN", "-Infinity"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


def _number_pointers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, bool | str):
        return []
    if isinstance(node, int | float):
        return [path]
    items = node.items() if isinstance(node, dict) else enumerate(node)
    return [p for k, v in items for p in _number_pointers(v, (*path, k))]


POINTERS = _number_pointers(GEOMETRY)
MARK = "__HOSTILE_NUMBER__"


def _with(pointer: tuple[Any, ...], text: str) -> tuple[bytes, Any]:
    doc = json.loads(json.dumps(GEOMETRY))
    node = doc
    for token in pointer[:-1]:
        node = node[token]
    node[pointer[-1]] = MARK
    raw = json.dumps(doc).replace(f'"{MARK}"', text)
    return raw.encode(), doc


def _exists(doc: Any, pointer: str) -> bool:
    node = doc
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            return False
    return True


def _resolve(asset_id: str) -> bytes:
    assert asset_id == "tri"
    return TRIANGLE_OBJ


def test_geometry_beyond_float32_scene_builds_unchanged() -> None:
    glb = read_glb(compile_scene(json.dumps(GEOMETRY).encode(), resolve_asset=_resolve).glb)
    assert len(glb.json["meshes"]) >= 3


@pytest.mark.parametrize(
    ("pointer", "text"),
    [
        (("cells", 0, "room", "max", 0), "1e39"),
        (("cells", 1, "room", "floor", 2, 1), "-1e300"),
        (
            (
                "cells",
                1,
                "room",
                "y",
            ),
            "1e400",
        ),
        (("portals", 0, "door", "offset"), "NaN"),
        (("portals", 1, "quad", 4), "Infinity"),
        (("cells", 2, "meshes", 1, "transform", 12), "3.5e38"),
        (("instances", 0, "transforms", 1, 13), "-1e39"),
    ],
)
def test_geometry_beyond_float32_is_reported_at_its_pointer(pointer: tuple[Any, ...], text: str) -> None:
    raw, _doc = _with(pointer, text)
    with pytest.raises(SceneInvalid) as info:
        compile_scene(raw, resolve_asset=_resolve)
    assert "/" + "/".join(map(str, pointer)) in [issue.path for issue in info.value.issues]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pointer=st.sampled_from(POINTERS), text=HOSTILE)
def test_geometry_beyond_float32_never_crashes_the_compiler(pointer: tuple[Any, ...], text: str) -> None:
    raw, doc = _with(pointer, text)
    try:
        result = compile_scene(raw, resolve_asset=_resolve)
    except SceneInvalid as exc:
        assert exc.issues
        for issue in exc.issues:
            assert _exists(doc, issue.path), issue
            assert issue.message
        return
    glb = read_glb(result.glb)
    for index, accessor in enumerate(glb.json["accessors"]):
        if accessor["componentType"] == 5126:
            assert np.isfinite(glb.accessor(index)).all(), (pointer, text, accessor)


def test_geometry_beyond_float32_api_is_422_with_pointer(api: Api) -> None:
    raw, _doc = _with(("cells", 0, "room", "max", 0), "1e39")
    response = api.post("/scenes/build", content=raw, headers={**api.auth(), "content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "/cells/0/room/max/0" in [e["path"] for e in response.json()["errors"]]


def test_geometry_beyond_float32_cli_exits_2_with_pointer(tmp_path: Path) -> None:
    raw, _doc = _with(("portals", 1, "quad", 4), "-1e300")
    spec = tmp_path / "huge.json"
    spec.write_bytes(raw)
    result = CliRunner().invoke(cli_app, ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 2
    assert "/portals/1/quad/4:" in result.output
    assert not (tmp_path / "out" / "f32.glb").exists()
