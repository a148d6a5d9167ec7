"""The packed layout on a generated 200-cell maze: few views, cells contiguous, the quantization bound."""

from __future__ import annotations

import json
from functools import cache
from itertools import pairwise

import numpy as np
import pytest

from sceneforge.encode import EncodeOptions, encode_glb
from sceneforge.model.ir import SceneIR
from tests.support.glb_reader import Glb, read_glb
from tests.support.gltf_validator import assert_valid

MODES = {
    "plain": EncodeOptions(),
    "quantized": EncodeOptions(quantize=True),
    "compressed": EncodeOptions(compress=True),
    "quantized+compressed": EncodeOptions(quantize=True, compress=True),
}
_SIZE = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


@cache
def _maze() -> SceneIR:
    from sceneforge.config import Limits
    from sceneforge.generate.maze import generate_maze
    from sceneforge.geometry.rooms import generate_rooms
    from sceneforge.ingest.description import description_to_ir, parse_description
    from sceneforge.passes import optimize

    description = parse_description(json.dumps(generate_maze(200, seed=1)).encode())
    ir = description_to_ir(description, lambda asset_id: b"", Limits())
    generate_rooms(ir)
    optimize(ir)
    return ir


@cache
def _encoded(mode: str) -> bytes:
    return encode_glb(_maze(), MODES[mode])


def _geometry(glb: Glb, cell_id: str) -> tuple[dict | None, dict | None]:
    """The cell's mesh and the node that draws it (the cell node, or its geometry child)."""
    node = glb.node(f"cell:{cell_id}")
    if "mesh" in node:
        return glb.json["meshes"][node["mesh"]], node
    for child in node.get("children", []):
        if glb.json["nodes"][child].get("name") == f"cell:{cell_id}/geometry":
            child_node = glb.json["nodes"][child]
            return glb.json["meshes"][child_node["mesh"]], child_node
    return None, None


def _byte_range(glb: Glb, index: int) -> tuple[int, int, int]:
    """(view, start, end) of accessor ``index`` inside its (uncompressed) view."""
    acc = glb.json["accessors"][index]
    view = glb.json["bufferViews"][acc["bufferView"]]
    element = _SIZE[acc["componentType"]] * _WIDTH[acc["type"]]
    stride = view.get("byteStride", element)
    start = acc.get("byteOffset", 0)
    return acc["bufferView"], start, start + stride * (acc["count"] - 1) + element


@pytest.mark.parametrize("mode", list(MODES))
def test_glb_layout_views_per_cell(mode):
    glb = read_glb(_encoded(mode))
    views = glb.json["bufferViews"]
    # The maze has no textures and no instances: per cell positions, normals, uint16 indices, BVH.
    owner: dict[int, str] = {}
    for cell in _maze().cells:
        mesh, _ = _geometry(glb, cell.cell_id)
        if mesh is None:
            continue
        kinds: dict[str, set[int]] = {"POSITION": set(), "NORMAL": set(), "indices": set()}
        for primitive in mesh["primitives"]:
            assert set(primitive["attributes"]) == {"POSITION", "NORMAL"} and "mode" not in primitive
            for key in ("POSITION", "NORMAL"):
                kinds[key].add(glb.json["accessors"][primitive["attributes"][key]]["bufferView"])
            kinds["indices"].add(glb.json["accessors"][primitive["indices"]]["bufferView"])
        assert all(len(v) == 1 for v in kinds.values())
        bvh = glb.node(f"cell:{cell.cell_id}")["extensions"]["SCENEFORGE_bvh"]["bufferView"]
        for view in {*set.union(*kinds.values()), bvh}:
            assert owner.setdefault(view, cell.cell_id) == cell.cell_id  # no view shared by two cells
    assert len(owner) == len(views)
    compressed = [v for v in views if "extensions" in v]
    assert len(compressed) == (len(views) if MODES[mode].compress else 0)  # the BVH nodes too
    if MODES[mode].quantize and MODES[mode].compress:
        normal_views = [v for v in compressed if v.get("byteStride") == 4]
        assert normal_views and all(
            v["extensions"]["EXT_meshopt_compression"]["filter"] == "OCTAHEDRAL" for v in normal_views
        )


@pytest.mark.parametrize("mode", list(MODES))
def test_glb_layout_cells_contiguous_in_scene_order(mode):
    glb = read_glb(_encoded(mode))
    ends: dict[int, int] = {}  # view → end of the previous cell's range
    for cell in _maze().cells:
        mesh, _ = _geometry(glb, cell.cell_id)
        if mesh is None:
            continue
        ranges: dict[int, list[tuple[int, int]]] = {}
        for primitive in mesh["primitives"]:
            for index in [*primitive["attributes"].values(), primitive["indices"]]:
                view, start, end = _byte_range(glb, index)
                ranges.setdefault(view, []).append((start, end))
        for view, spans in ranges.items():
            spans.sort()
            # The cell's spans follow each other (4-byte alignment aside) and start after the previous cell.
            assert spans[0][0] >= ends.get(view, 0)
            assert spans[0][0] - ends.get(view, 0) < 4
            for (_, end), (start, _) in pairwise(spans):
                assert 0 <= start - end < 4
            ends[view] = spans[-1][1]
    for view, end in ends.items():
        assert glb.json["bufferViews"][view]["byteLength"] - end < 4


@pytest.mark.parametrize("mode", ["quantized", "quantized+compressed"])
def test_glb_layout_dequantized_positions_within_documented_bound(mode):
    ir = _maze()
    glb = read_glb(_encoded(mode))
    everything = np.vstack([s.positions for c in ir.cells for s in c.surfaces]).astype(np.float64)
    extent = float(np.max(everything.max(axis=0) - everything.min(axis=0)))
    transforms = set()
    worst = 0.0
    for cell in ir.cells:
        mesh, node = _geometry(glb, cell.cell_id)
        if mesh is None:
            continue
        assert node["name"].endswith("/geometry")
        transforms.add((tuple(node["translation"]), tuple(node["scale"])))
        for primitive, surface in zip(mesh["primitives"], cell.surfaces, strict=True):
            acc = glb.json["accessors"][primitive["attributes"]["POSITION"]]
            assert acc["componentType"] == 5123 and "normalized" not in acc
            q = glb.accessor(primitive["attributes"]["POSITION"])
            assert acc["min"] == q.min(axis=0).tolist() and acc["max"] == q.max(axis=0).tolist()
            back = np.asarray(node["translation"]) + node["scale"][0] * q.astype(np.float64)
            worst = max(worst, float(np.abs(back - surface.positions).max()))
    # One scene-global grid: the same power-of-two step and origin on every cell.
    assert len(transforms) == 1
    ((_, scale),) = transforms
    step = scale[0]
    assert scale == (step, step, step) and step == 2.0 ** round(np.log2(step))
    assert extent / 65534 <= step < extent / 32767
    assert worst <= step / 2 * (1 + 1e-6) < extent / 65534


@pytest.mark.parametrize("mode", list(MODES))
def test_glb_layout_maze_validates_without_errors(needs_node, mode):
    report = assert_valid(_encoded(mode))
    assert report["issues"]["numErrors"] == 0
    codes = {m["code"] for m in report["issues"]["messages"]}
    assert codes <= {"UNSUPPORTED_EXTENSION", "UNUSED_OBJECT"}
