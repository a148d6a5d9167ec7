"""Templates, the office and gallery generators: valid levels that build cleanly, the features they promise."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.errors import LimitExceeded, SceneInvalid
from sceneforge.generate import generate_gallery, generate_office
from sceneforge.generate.templates import MAX_CELLS, TEMPLATES, cell_bounds, from_template, template_list


def _build(doc: dict) -> dict:
    result = compile_scene(json.dumps(doc).encode(), BuildOptions(pvs=False))
    assert [w.line() for w in result.warnings] == []
    return result.meta


@settings(max_examples=6, deadline=None)
@given(storeys=st.integers(1, 3), rooms=st.integers(1, 8), seed=st.integers(0, 1000))
def test_office_builds_with_all_its_features(storeys: int, rooms: int, seed: int) -> None:
    doc = generate_office(storeys, rooms, seed)
    meta = _build(doc)
    assert len(meta["Meta"]["cells"]) == len(doc["cells"])
    assert any("floor" in c["room"] for c in doc["cells"])  # L-shaped corner rooms
    quads = [np.array(p["quad"]).reshape(4, 3) for p in doc["portals"] if "quad" in p]
    horizontal = [q for q in quads if np.ptp(q[:, 1]) < 1e-6]
    assert len(horizontal) == storeys - 1  # one slab opening between each pair of storeys
    doors_per_corridor = sum(1 for p in doc["portals"] if "between" in p and p["between"][0].startswith("c0_"))
    assert doors_per_corridor >= 1


def test_office_windows_are_mid_height() -> None:
    doc = generate_office(1, 12, 4)
    windows = [np.array(p["quad"]).reshape(4, 3) for p in doc["portals"] if "quad" in p]
    assert windows and all(q[:, 1].min() >= 1.0 for q in windows)


@settings(max_examples=6, deadline=None)
@given(halls=st.integers(1, 8), seed=st.integers(0, 1000), cabinets=st.floats(0, 1))
def test_gallery_builds(halls: int, seed: int, cabinets: float) -> None:
    doc = generate_gallery(halls, seed, cabinets=cabinets)
    _build(doc)
    assert sum(c["cellId"].startswith("hall") for c in doc["cells"]) == halls


def test_generators_are_deterministic() -> None:
    assert generate_office(2, 5, 9) == generate_office(2, 5, 9)
    assert generate_gallery(4, 2) == generate_gallery(4, 2)
    assert generate_office(2, 5, 9) != generate_office(2, 5, 10)


def test_template_list_has_schemas() -> None:
    listed = {t["name"]: t for t in template_list()}
    assert {"maze", "apartment", "office", "gallery"} <= set(listed)
    for entry in listed.values():
        assert entry["parameters"]["type"] == "object" and "seed" in entry["parameters"]["properties"]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_from_template_defaults_build(name: str) -> None:
    doc = from_template(name, {}, scene_id="from-template")
    assert doc["sceneId"] == "from-template"
    _build(doc)


@pytest.mark.parametrize(
    ("name", "params", "pointer"),
    [
        ("nope", {}, "/template"),
        ("maze", {"cells": 0}, "/params/cells"),
        ("office", {"storeys": "many"}, "/params/storeys"),
        ("gallery", {"halls": 3, "extra": 1}, "/params/extra"),
        ("maze", {"cells": "5"}, "/params/cells"),
        ("maze", {"seed": True}, "/params/seed"),
        ("gallery", {"cabinets": False}, "/params/cabinets"),
    ],
)
def test_from_template_bad_params_point_at_them(name: str, params: dict, pointer: str) -> None:
    with pytest.raises(SceneInvalid) as err:
        from_template(name, params)
    assert err.value.issues[0].path == pointer


@pytest.mark.parametrize("name", ["maze", "apartment"])
def test_from_template_cells_past_the_limit_are_refused_before_any_level_is_made(name: str) -> None:
    """A maze's or an apartment's ``cells`` is bounded by SCENEFORGE_MAX_CELLS (``max_cells``), as GET /generate's
    is, not by a bound of the schema's own: past it, LimitExceeded at ``/params/cells`` before the generator runs
    (10^12 cells would not fit in memory), the setting's default when none is given."""
    for cells, maximum in ((10**12, None), (21, 20)):
        with pytest.raises(LimitExceeded) as err:
            from_template(name, {"cells": cells}, **({} if maximum is None else {"max_cells": maximum}))
        assert err.value.limit == "SCENEFORGE_MAX_CELLS" and err.value.maximum == (maximum or MAX_CELLS)
        assert err.value.issues[0].path == "/params/cells"
    assert len(from_template(name, {"cells": 20}, max_cells=20)["cells"]) == 20
    bounds = cell_bounds(name, 20)
    assert bounds is not None and bounds[1] == 20
    schema = {t["name"]: t for t in template_list(20)}[name]["parameters"]["properties"]["cells"]
    assert (schema["minimum"], schema["maximum"]) == bounds
