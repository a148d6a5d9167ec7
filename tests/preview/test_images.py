"""Preview images: the rendered thumbnail and the floor plan (SVG and PNG)."""

from __future__ import annotations

import io
import itertools
import re
import xml.etree.ElementTree as ET

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from sceneforge.preview import floorplan_png, floorplan_svg, thumbnail_png
from sceneforge.preview.raster import orthographic, rasterize
from sceneforge.preview.views import storeys
from tests.support.hostile_names import HOSTILE_IDS

SVG = "{http://www.w3.org/2000/svg}"


def _image(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    return np.asarray(img.convert("RGB"))


def test_thumbnail_is_a_shaded_render_of_the_scene(office):
    scene, _ = office
    rgb = _image(thumbnail_png(scene))
    assert rgb.shape == (512, 512, 3)
    background = rgb[0, 0]
    covered = np.any(np.abs(rgb.astype(int) - background) > 6, axis=2)
    # The scene is in view: it covers a good part of the frame, centred, without being cut off.
    assert 0.08 < covered.mean() < 0.95
    ys, xs = np.nonzero(covered)
    assert abs(xs.mean() - 256) < 80 and abs(ys.mean() - 256) < 80
    assert xs.min() > 0 and ys.min() > 0 and xs.max() < 511 and ys.max() < 511
    # Lit and shaded: many distinct shades, light and dark ones.
    shades = np.unique(rgb[covered].reshape(-1, 3), axis=0)
    assert len(shades) > 200
    luma = rgb[covered].astype(float) @ [0.299, 0.587, 0.114]
    assert np.percentile(luma, 95) - np.percentile(luma, 5) > 60


def test_thumbnail_shows_material_colours(apartment):
    scene, _ = apartment
    rgb = _image(thumbnail_png(scene)).astype(float)
    # Reddish and bluish surfaces of the apartment's materials both appear (not a grey render).
    chroma = rgb.max(axis=2) - rgb.min(axis=2)
    assert (chroma > 20).mean() > 0.02


def test_floorplan_svg_has_a_shape_per_cell_and_the_doors(office):
    scene, meta = office
    root = ET.fromstring(floorplan_svg(scene))
    assert root.tag == f"{SVG}svg"
    cells = root.findall(f".//{SVG}g[@class='cell']")
    assert sorted(g.get("data-cell-id") for g in cells) == sorted(meta["Meta"]["cells"])
    for g in cells:
        assert g.find(f"{SVG}path[@class='floor']") is not None or g.find(f"{SVG}rect[@class='floor']") is not None
    walls = root.findall(f".//{SVG}path[@class='wall']")
    assert len(walls) >= len(cells) * 0.9
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert sorted(labels) == sorted(meta["Meta"]["cells"])
    doors = root.find(f".//{SVG}path[@class='door']")
    vertical = [p for p in scene.portals if np.ptp(p.quad[:, 1]) > 0.5]
    assert doors is not None and doors.get("d").count("M") == len(vertical)


def test_floorplan_svg_draws_each_cell_in_its_own_group(office):
    """Each cell's group holds its own floor and walls and its label sits on its floor: mapped back to metres by
    the storey's one scale and offset (fitted over all its cells), every group's shapes lie in its cell's box."""
    scene, _ = office
    root = ET.fromstring(floorplan_svg(scene))
    boxes = {c.cell_id: np.array(c.aabb) for c in scene.cells}
    for storey in root.findall(f".//{SVG}g[@class='storey']"):
        spans, cells = [], []
        for g in storey.findall(f"{SVG}g[@class='cell']"):
            shapes = " ".join(p.get("d") for p in g.findall(f"{SVG}path"))
            points = np.array(re.findall(r"(-?[\d.]+) (-?[\d.]+)", shapes), dtype=float)
            if len(points):
                spans.append(np.concatenate([points.min(axis=0), points.max(axis=0)]))
                cells.append(g.get("data-cell-id"))
        drawn = np.array(spans)
        metres = np.array([boxes[c][[0, 2, 3, 5]] for c in cells])
        # x_svg = scale * x + offset: one scale and two offsets for the whole storey.
        a = np.zeros((4 * len(cells), 3))
        a[:, 0] = metres.ravel()
        a[0::2, 1] = a[1::2, 2] = 1.0
        fit, *_ = np.linalg.lstsq(a, drawn.ravel(), rcond=None)
        assert fit[0] > 0
        assert np.abs(a @ fit - drawn.ravel()).max() <= 0.05 * fit[0] + 0.02


def test_floorplan_svg_escapes_names():
    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene
    from tests.support.scenes import box_surfaces

    cell = BuiltCell("a<b>&c", (0, 0, 0, 1, 1, 1), box_surfaces("m", (0, 0, 0), 1.0))
    svg = floorplan_svg(BuiltScene("x&y", [cell], [], {}))
    root = ET.fromstring(svg)
    assert [t.text for t in root.iter(f"{SVG}text")] == ["a<b>&c"]


def test_floorplan_svg_hostile_names_are_text():
    """Every id is XML text in the plan, never markup: the SVG parses, holds only the elements it draws, and
    gives each id back exactly, but for U+FFFE and U+FFFF (not XML characters), which it writes as U+FFFD."""
    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene
    from tests.support.scenes import box_surfaces

    cells = [BuiltCell(cid, (2 * i, 0, 0, 2 * i + 1, 1, 1), box_surfaces("m", (2 * i, 0, 0), 1.0))
             for i, cid in enumerate(HOSTILE_IDS)]  # fmt: skip
    root = ET.fromstring(floorplan_svg(BuiltScene("s", cells, [], {})))
    expected = [cid.replace("\ufffe", "\ufffd").replace("\uffff", "\ufffd") for cid in HOSTILE_IDS]
    groups = root.findall(f".//{SVG}g[@class='cell']")
    assert [g.get("data-cell-id") for g in groups] == expected
    assert [t.text for t in root.iter(f"{SVG}text")] == expected
    tags = {e.tag.removeprefix(SVG) for e in root.iter()}
    assert tags <= {"svg", "title", "style", "rect", "g", "path", "text"}
    assert not [a for e in root.iter() for a in e.attrib if a.startswith("on")]


def test_floorplan_png_one_panel_per_storey(office):
    scene, _ = office
    rgb = _image(floorplan_png(scene))
    assert rgb.shape[0] > 100 and rgb.shape[1] > 100
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 20
    assert len(storeys(scene)) == 1


def _tower(storeys: int) -> object:
    """A tower of ``storeys`` one-cell storeys of varied footprints (1-7 m by 1-3 m)."""
    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene
    from tests.support.scenes import box_surfaces

    cells = [BuiltCell(f"s{i}", (0, 3 * i, 0, 1 + i % 7, 3 * i + 1, 1 + i % 3), box_surfaces("m", (0, 3 * i, 0), 1.0))
             for i in range(storeys)]  # fmt: skip
    return BuiltScene("tower", cells, [], {})


def _panel_boxes(root: ET.Element) -> list[tuple[float, float, float, float]]:
    """Each storey panel's floor extent in SVG units: (x0, y0, x1, y1)."""
    boxes = []
    for storey in root.iter(f"{SVG}g"):
        if storey.get("class") != "storey":
            continue
        numbers = [float(v) for f in storey.iter(f"{SVG}path") if f.get("class") == "floor"
                   for v in re.findall(r"-?[\d.]+", f.get("d"))]  # fmt: skip
        xs, ys = numbers[0::2], numbers[1::2]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    return boxes


def test_floorplan_many_storeys_fit_in_rows():
    """Four hundred storeys: the PNG stays within 1024×1024 with every storey a panel of its own (not a 25,000 px
    strip of 1 px panels, as one row at a negative scale made it), and the SVG puts them in the same rows."""
    tower = _tower(400)
    rgb = _image(floorplan_png(tower))
    assert 512 <= rgb.shape[0] <= 1024 and 512 <= rgb.shape[1] <= 1024
    assert np.any(np.abs(rgb.astype(int) - rgb[0, 0]) > 6, axis=2).mean() > 0.1
    root = ET.fromstring(floorplan_svg(tower))
    width, height = float(root.get("width")), float(root.get("height"))
    assert max(width, height) < 2 * min(width, height)
    boxes = _panel_boxes(root)
    assert len(boxes) == 400
    assert all(0 < x0 < x1 <= width and 0 < y0 < y1 <= height for x0, y0, x1, y1 in boxes)
    for i, a in enumerate(boxes):  # panels never overlap
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_floorplan_few_storeys_in_one_row():
    root = ET.fromstring(floorplan_svg(_tower(3)))
    boxes = _panel_boxes(root)
    assert [b[0] < c[0] for b, c in itertools.pairwise(boxes)] == [True, True]
    assert len({round(b[1]) for b in boxes}) == 1
    rgb = _image(floorplan_png(_tower(3)))
    assert rgb.shape[1] > rgb.shape[0]


def test_storeys_split_by_floor_height():
    from sceneforge.ingest.built_glb import BuiltCell, BuiltScene

    cells = [BuiltCell(f"c{i}", (0, y, 0, 1, y + 3, 1), []) for i, y in enumerate([0.0, -0.1, 3.2, 3.0, 6.4])]
    levels = storeys(BuiltScene("s", cells, [], {}))
    assert [[c.cell_id for c in s.cells] for s in levels] == [["c0", "c1"], ["c2", "c3"], ["c4"]]
    assert [s.floor_y for s in levels] == [-0.1, 3.0, 6.4]


@settings(max_examples=25, deadline=None)
@given(
    st.floats(0.05, 0.95), st.floats(0.05, 0.95), st.floats(0.05, 0.95), st.floats(0.05, 0.95),
    st.floats(0.05, 0.95), st.floats(0.05, 0.95),
)  # fmt: skip
def test_rasterize_triangle_covers_its_area(x0, z0, x1, z1, x2, z2):
    """Top-down, a triangle covers as many pixels as its area (to within its perimeter)."""
    size = 64
    tri = np.array([[[x0, 0.0, z0], [x1, 0.0, z1], [x2, 0.0, z2]]])
    area = 0.5 * abs((x1 - x0) * (z2 - z0) - (x2 - x0) * (z1 - z0)) * size * size
    perimeter = sum(np.hypot(*(tri[0, i, [0, 2]] - tri[0, (i + 1) % 3, [0, 2]])) for i in range(3)) * size
    cam = orthographic((0.0, 0.0, 1.0, 1.0), 1.0, -1.0)
    rgb = rasterize(tri, np.array([[1.0, 0.0, 0.0]]), cam, size, size, background=(0, 0, 1), outline=False)
    covered = int(np.any(rgb != [0, 0, 255], axis=2).sum())  # front (red) or back (cap colour) faces
    assert abs(covered - area) <= perimeter + 2


def _below(tri: np.ndarray, cut: float) -> np.ndarray:
    """The part of triangle ``tri`` (3, 3) at or below height ``cut``: a polygon (n, 3), clipped edge by edge."""
    out = []
    for a, b in zip(tri, np.roll(tri, -1, axis=0), strict=True):
        if a[1] <= cut:
            out.append(a)
        if (a[1] <= cut) != (b[1] <= cut):
            out.append(a + (b - a) * (cut - a[1]) / (b[1] - a[1]))
    return np.array(out).reshape(-1, 3)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.05, 0.95), min_size=6, max_size=6), st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3),
    st.floats(-1.2, 1.2),
)  # fmt: skip
def test_rasterize_cut_keeps_the_part_of_a_sloped_triangle_below_it(corners, heights, cut):
    """Top-down, a sloped triangle cut at a height covers as many pixels as the area of its part below the
    cut (to within that part's perimeter); a higher cut never loses a pixel a lower one kept."""
    size = 64
    tri = np.array([[corners[0], heights[0], corners[1]], [corners[2], heights[1], corners[3]],
                    [corners[4], heights[2], corners[5]]])  # fmt: skip
    cam = orthographic((0.0, 0.0, 1.0, 1.0), 2.0, -2.0)

    def covered(cut_y: float | None) -> np.ndarray:
        rgb = rasterize(tri[None], np.array([[1.0, 0.0, 0.0]]), cam, size, size, cut_y=cut_y, background=(0, 0, 1),
                        outline=False)  # fmt: skip
        return np.any(rgb != [0, 0, 255], axis=2)

    part = _below(tri, cut)[:, [0, 2]] * size
    area = 0.5 * abs(np.dot(part[:, 0], np.roll(part[:, 1], -1)) - np.dot(part[:, 1], np.roll(part[:, 0], -1)))
    perimeter = float(np.hypot(*(part - np.roll(part, -1, axis=0)).T).sum())
    kept = covered(cut)
    assert abs(int(kept.sum()) - area) <= perimeter + 2
    assert not (kept & ~covered(cut + 0.3)).any()
    assert (covered(1.5) == covered(None)).all()


def test_rasterize_depth_nearest_wins_and_cut_removes():
    cam = orthographic((0.0, 0.0, 1.0, 1.0), 5.0, -5.0)
    low = [[0, 0.0, 0], [1, 0.0, 1], [1, 0.0, 0]]
    high = [[0, 2.0, 0], [0, 2.0, 1], [1, 2.0, 1]]
    quad_low = np.array([low, [[0, 0.0, 0], [0, 0.0, 1], [1, 0.0, 1]]])
    quad_high = np.array([high, [[0, 2.0, 0], [1, 2.0, 1], [1, 2.0, 0]]])
    tris = np.concatenate([quad_low, quad_high])
    colors = np.array([[1.0, 0, 0]] * 2 + [[0, 1.0, 0]] * 2)
    top = rasterize(tris, colors, cam, 16, 16, outline=False)
    assert (top[:, :, 1] > top[:, :, 0]).all()  # the higher (green) quad hides the red one
    cut = rasterize(tris, colors, cam, 16, 16, cut_y=1.0, outline=False)
    assert (cut[:, :, 0] > cut[:, :, 1]).all()  # above the cut it is gone: red shows


def test_storeys_joined_by_a_stair_of_step_cells_are_storeys_of_their_own():
    """A house of four storeys whose stair is cells of its own, steps 0.25 m apart: every floor height is
    within ``STOREY_GAP`` of the next, and the storeys were chained into one cut 1.2 m over the ground
    floor, so the plan drew the upper storeys' rooms with no wall and the thumbnail looked at the ground
    floor. A cell standing over a cell of its storey more than ``STOREY_GAP`` below starts another."""
    import json

    from sceneforge.compile import compile_scene
    from sceneforge.ingest.built_glb import read_built_glb
    from tests.levels_new_kinds import house

    scene = read_built_glb(compile_scene(json.dumps(house(4))).glb)
    levels = storeys(scene)
    where = {c.cell_id: k for k, s in enumerate(levels) for c in s.cells}
    assert [levels[where[f"living{s}"]].floor_y for s in range(4)] == [0.0, 3.0, 6.0, 9.0]
    for s in range(4):  # a storey's rooms together; the steps up from it (floors up to 2.75 m over it) with them
        assert {where[f"{room}{s}"] for room in ("living", "kitchen", "hall", "landW")} == {where[f"living{s}"]}
    assert where["back0_5"] == where["living0"] and where["up1_1"] == where["living1"]
    root = ET.fromstring(floorplan_svg(scene))
    walled = {
        g.get("data-cell-id")
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "cell" and any(p.get("class") == "wall" for p in g.iter(f"{SVG}path"))
    }
    assert {f"living{s}" for s in range(4)} | {"back0_5", "landE2"} <= walled


def test_rasterize_cuts_each_triangle_at_its_own_height():
    """A plan's cells cut at heights of their own (a stair's steps over the storey's cut): ``cut_y`` per triangle
    keeps a floor at 3 m cut at 4 m beside one at 1 m cut at 2 m; one height for both (2 m) drops it."""
    floor = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    tris = np.stack([floor + np.array([0.0, 1.0, 0.0]), floor + np.array([1.0, 3.0, 0.0])])
    cols = np.array([[0.8, 0.2, 0.2], [0.2, 0.2, 0.8]])
    cam = orthographic((0.0, 0.0, 2.0, 1.0), 4.01, -1.0)
    size = (64, 32)
    empty = rasterize(np.zeros((0, 3, 3)), np.zeros((0, 3)), cam, *size)[0, 0].astype(int)
    drawn = [
        np.any(np.abs(rasterize(tris, cols, cam, *size, cut_y=cut).astype(int) - empty) > 6, axis=2)
        for cut in (np.array([2.0, 4.0]), 2.0)
    ]
    assert drawn[0][:, :32].any() and drawn[0][:, 32:].any()
    assert drawn[1][:, :32].any() and not drawn[1][:, 32:].any()
