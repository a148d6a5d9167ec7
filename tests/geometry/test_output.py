"""Built levels as written: cell boxes as clean numbers, plain and quantized vertices inside them, no triangle
lost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sceneforge.compile import BuildOptions, compile_scene
from tests.support.glb_reader import read_glb

from .levels import OFFICE_LEVELS, cell_triangles, heights


def _boxes(glb_bytes: bytes) -> dict[str, list[float]]:
    nodes = read_glb(glb_bytes).json["nodes"]
    return {n["extras"]["cellId"]: n["extras"]["aabb"] for n in nodes if n.get("extras", {}).get("type") == "cell"}


SMALL_LEVELS = [p for p in OFFICE_LEVELS if p.stem in ("office-small", "office-200")]


@pytest.mark.parametrize("level", SMALL_LEVELS, ids=lambda p: p.stem)
def test_plain_and_quantized_cells_stay_inside_their_boxes(level: Path) -> None:
    data = level.read_bytes()
    plain = compile_scene(data, BuildOptions(pvs=False))
    quantized = compile_scene(data, BuildOptions(pvs=False, quantize=True))
    boxes = _boxes(quantized.glb)
    assert boxes == _boxes(plain.glb)
    meta_boxes = {c["cellId"]: c["aabb"] for c in quantized.meta["visibility"]["cells"]}
    assert meta_boxes == boxes
    plain_tris, quant_tris = cell_triangles(plain.glb), cell_triangles(quantized.glb)
    authored = {c["cellId"]: c["room"] for c in json.loads(data)["cells"]}
    for cell_id, box in boxes.items():
        # Clean numbers: the authored room box to 6 decimals, never -0.0, no float32 noise.
        assert all(v == round(v, 6) and json.dumps(v) != "-0.0" for v in box)
        room = authored[cell_id]
        if "min" in room:
            assert box == [round(v, 6) + 0.0 for v in room["min"] + room["max"]]
        tri = quant_tris[cell_id]
        lo, hi = np.asarray(box[:3]), np.asarray(box[3:])
        assert (tri >= lo - 1e-9).all() and (tri <= hi + 1e-9).all(), cell_id
        assert tri.shape == plain_tris[cell_id].shape
        # Plain float32 output too, exactly: rounded to float32, a wall could lie 15 µm past its box.
        assert (plain_tris[cell_id] >= lo).all() and (plain_tris[cell_id] <= hi).all(), cell_id


def _grid_levels() -> list[tuple[str, bytes]]:
    from sceneforge.generate import generate_grid

    return [
        (f"grid-{bottom}", json.dumps(generate_grid(6, 6, door_bottom=bottom)).encode())
        for bottom in ("underside", "floor")
    ]


LEVEL_BYTES = [(p.stem, p.read_bytes()) for p in OFFICE_LEVELS] + _grid_levels()


@pytest.mark.parametrize(("name", "data"), LEVEL_BYTES, ids=[n for n, _ in LEVEL_BYTES])
def test_no_sliver_triangles_and_no_booleans(name: str, data: bytes) -> None:
    """These levels have no feature under 0.5 mm, so no triangle is that thin; all rooms take the fast path."""
    from sceneforge.config import Limits
    from sceneforge.geometry import generate_rooms
    from sceneforge.ingest.description import description_to_ir, parse_description

    ir = description_to_ir(parse_description(data), lambda _a: b"", Limits())
    assert generate_rooms(ir) == 0
    for cell in ir.cells:
        for surface in cell.surfaces:
            tri = surface.positions.astype(np.float64)[surface.indices.astype(np.int64)]
            assert heights(tri).min() >= 5e-4, (name, cell.cell_id)


@pytest.mark.parametrize(("name", "data"), LEVEL_BYTES[1:], ids=lambda v: v if isinstance(v, str) else "")
def test_quantized_output_keeps_every_triangle(name: str, data: bytes) -> None:
    plain = compile_scene(data, BuildOptions(pvs=False))
    quantized = compile_scene(data, BuildOptions(pvs=False, quantize=True))
    assert plain.meta["stats"]["booleanCells"] == 0
    plain_tris, quant_tris = cell_triangles(plain.glb), cell_triangles(quantized.glb)
    for cell_id, tri in quant_tris.items():
        # As many non-degenerate triangles once quantized as written in full precision.
        assert int((heights(tri) > 0).sum()) == plain_tris[cell_id].shape[0], (name, cell_id)
