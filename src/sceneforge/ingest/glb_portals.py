"""A tagged GLB's portal nodes: their ends and doorway (:func:`portals`), which way they face (:func:`orient`).

A portal's quad is the ``quad`` in its extras (the project's own output, in the node's space, checked like a
description's quad and taken as written), else the outline of its mesh (:mod:`.portal_outline`), turned to
face ``to`` (judged by the two cells' box centres, else by the mesh's own face normals) and started at its
lowest edge. Every problem is an issue naming the node, its path a pointer into the glTF JSON. :func:`z_up`
tells an export whose doorways stand on their cells' floors along Z rather than Y (with the cells' own votes,
:mod:`.up_axis`).

The ingest reads every portal node at once (:func:`portals`): each node's ends and oneWay in Python, then the
nodes whose meshes have the same primitives' vertex and triangle counts placed, checked and outlined as one
stack (a mesh many nodes draw decoded once, not copied), then all turned and voted on together — the same
quads, errors, messages and order as reading one node at a time (each step the single one, run on every
slice of the stack). Cost at
60,000 nodes drawing one mesh: ~20 µs a node whose doorway is a Plane, ~55 µs one whose doorway is a 32-gon
(1.3 s and 3.2 s; a mesh of its own per node adds its decoding, ~25 µs); one at a time, ~0.25 ms and ~0.5 ms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import Issue
from ..model.ir import Cell, Portal, box_corners
from ..tolerances import ON_WALL_EPS
from .glb_tags import folded_ids, node_label, number_hint, other_half, unknown_cell, value_text
from .gltf_document import INSTANCING
from .gltf_primitives import Primitive
from .gltf_read import GltfDocument, finite_number
from .plan_sides import cell_outlines, plans_across
from .portal_outline import CHUNK, lowest_edges_first, stacked_outlines
from .surfaces import cross3, det3

__all__ = ["doorway_height", "no_mesh", "not_between", "orient", "portals", "z_up"]

F64 = npt.NDArray[np.float64]


#: A doorway "stands on the floor" along an axis when its bottom is within this fraction of the
#: cell's height above the cell's bottom, its top at least _HEADROOM below the cell's top, and it
#: spans at least _DOOR_SHARE of that height: a serving hatch or a window near a side wall of a
#: correct +Y-up export is low and short along the horizontal axis too, and must not vote for Z.
_FLOOR_GAP, _HEADROOM, _DOOR_SHARE = 0.1, 0.15, 0.3
#: A portal votes on the up axis (:func:`z_up`) when its unit normal's x exceeds this: within 60° of X.
_VOTING = 0.5
#: A quad stands upright along an axis when its unit normal's component along it is at most this (within 1°
#: of the axis: its sides run along it). A doorway stands in a wall, which holds the up axis; a plan turned
#: about Y leaves its doorways upright along Y alone, and measured along Z (across the turned walls, against
#: the cell's box) such a doorway read as one standing on a floor.
UPRIGHT = float(np.sin(np.radians(1.0)))


#: The oneWay values taken.
_BOOLS = (True, False, 0, 1)

Found = tuple[str, str, F64, bool, F64 | None]


def portals(
    doc: GltfDocument, nodes: list[tuple[int, F64]], tags: dict[int, tuple[Any, dict[str, Any], str]],
    cells: dict[str, Cell], errors: list[Issue],
) -> list[Found]:  # fmt: skip
    """(from, to, quad, oneWay, normal hint) of each of the portal ``nodes`` (node, world matrix) whose ends
    and doorway are sound, in order (the hint is None for a quad given in the extras, taken as written, else
    the outline's normal and the mesh's own); the errors of every node appended in node order. The
    meshes' doorways are read together (:func:`_mesh_doorways`)."""
    own: list[list[Issue]] = []
    state: list[tuple[list[str], Any, Any] | None] = []
    meshed: list[int] = []
    folded: dict[str, str] = {}  # cellIds by folded_ids(), for an unknown cell's hint (made at the first)
    for k, (i, world) in enumerate(nodes):
        _, extras, src = tags[i]
        mine: list[Issue] = []
        own.append(mine)
        a, b, one_way = extras.get("from"), extras.get("to"), extras.get("oneWay", False)
        if isinstance(a, str) and isinstance(b, str) and a in cells and b in cells and a != b and one_way in _BOOLS:
            ends: list[str] | None = [a, b]  # sound (the common case): what _ends finds, without its checks
        else:
            ends, one_way = _ends(doc, i, extras, src, cells, mine, folded)
        if ends is None:
            state.append(None)
        elif "quad" in extras:
            quad = _extras_quad(extras["quad"], world, f"{src}/quad", node_label(doc, i), mine)
            state.append(None if quad is None else (ends, one_way, (quad, None)))
        else:
            state.append((ends, one_way, None))
            meshed.append(k)
    doorways = _mesh_doorways(doc, [nodes[k] for k in meshed])
    for k, found in zip(meshed, doorways, strict=True):
        if isinstance(found, Issue):
            own[k].append(found)
            state[k] = None
        else:
            entry = state[k]
            assert entry is not None
            state[k] = (entry[0], entry[1], found)
    out: list[Found] = []
    for mine, entry in zip(own, state, strict=True):
        errors.extend(mine)
        if entry is not None and len(entry[0]) == 2:
            ends, one_way, (quad, hint) = entry
            out.append((ends[0], ends[1], quad, bool(one_way), hint))
    return out


def no_mesh(doc: GltfDocument, i: int) -> str:
    """``portal_no_mesh``'s message about node ``i``: an Empty, or a mesh Blender wrote without one; an Empty
    holding the doorway's plane as its child (tagged instead of the plane) is told so, naming the child."""
    child = next((c for c in doc.children(i) if doc.node_mesh(c) is not None), None)
    message = f"portal {node_label(doc, i)} has no mesh and no 'quad' in its extras to give its doorway: "
    if child is not None:  # an Empty grouping the doorway's plane, tagged in its place
        name = doc.node(child).get("name")
        copies = isinstance(name, str) and doc.nodes_named(name) > 1
        if copies:  # the plane of a collection instanced more than once: one object, no tag of its own per copy
            message += (
                f"its child {node_label(doc, child)} has a mesh, a copy of an object of a collection instanced more "
                "than once, which cannot take each doorway's own tag: give the instancing Empty a 'quad' custom "
                "property, or make the instances real (Object → Apply → Make Instances Real) and tag each plane; "
            )
        else:
            message += f"its child {node_label(doc, child)} has a mesh: move the custom properties onto that object; "
    return message + (
        "tag a mesh (a Plane in the doorway), or give an Empty a 'quad' custom property (12 numbers: its corners in"
        " the object's own space); a mesh of edges or points only is exported with no mesh unless Include → Data →"
        " Mesh → Loose Edges / Loose Points is on (use_mesh_edges / use_mesh_vertices)"
    )


def _ends(
    doc: GltfDocument, i: int, extras: dict[str, Any], src: str, cells: dict[str, Cell], errors: list[Issue],
    folded: dict[str, str],
) -> tuple[list[str] | None, Any]:  # fmt: skip
    """The cells node ``i`` joins (those named well) and its oneWay, errors appended; None for
    the ends when it joins a cell to itself (no doorway is read). ``folded``: the cellIds by their
    ``casefold()`` for an unknown cell's hint, filled at the first one."""
    ends = []
    for key in ("from", "to"):
        value = extras.get(key)
        if not isinstance(value, str) or not value:
            given = f"got {value_text(value)}" if key in extras else "it has none"
            message = f"portal {node_label(doc, i)} needs {key!r}: a cellId string; {given}{number_hint(value)}"
            if value is None:
                message += other_half(doc, i, src, key)
            errors.append(Issue(f"{src}/{key}", "portal_invalid", message))
        elif value not in cells:
            if not folded:  # made once, at the first unknown cell (a level of them costs one pass)
                folded.update(folded_ids(cells))
            message = unknown_cell(node_label(doc, i), key, value, cells, folded)
            errors.append(Issue(f"{src}/{key}", "unknown_cell", message))
        else:
            ends.append(value)
    one_way = extras.get("oneWay", False)
    if one_way not in _BOOLS:  # Blender 3.x stores boolean properties as 0 / 1
        message = f"portal {node_label(doc, i)} has oneWay {value_text(one_way)}; it must be true or false"
        errors.append(Issue(f"{src}/oneWay", "portal_invalid", message))
    if ends and len(ends) == 2 and ends[0] == ends[1]:
        message = f"portal {node_label(doc, i)} joins cell {ends[0]!r} to itself"
        errors.append(Issue(f"{src}/to", "self_portal", message))
        return None, one_way
    return ends, one_way


def _mesh_doorways(doc: GltfDocument, nodes: list[tuple[int, F64]]) -> list[Issue | tuple[F64, F64]]:
    """Each portal node's (quad, normal hint) from its mesh, or the one error it makes.

    The meshes are decoded in node order (a mesh many nodes draw once: ``doc.shared_meshes``). Nodes
    whose meshes have the same primitives' vertex and triangle counts are placed, checked and outlined
    together (:func:`_placed`, :func:`~.portal_outline.stacked_outlines`): the same arithmetic as one
    node's points and :func:`~.portal_outline.planar_outline`, so the same bits.
    """
    out: list[Issue | tuple[F64, F64] | None] = [None] * len(nodes)
    groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
    prims: list[list[Primitive]] = []
    for k, (i, _) in enumerate(nodes):
        m = doc.node_mesh(i)
        if m is None:
            out[k] = Issue(f"/nodes/{i}", "portal_no_mesh", no_mesh(doc, i))
            prims.append([])
            continue
        if doc.instancing(i) is not None:
            out[k] = Issue(f"/nodes/{i}/extensions/{INSTANCING}", "portal_invalid", _instanced_message(doc, i))
            prims.append([])
            continue
        found = doc.primitives(m, points_and_lines=True)  # a wire outline is an outline too
        prims.append(found)
        key = tuple((p.positions.shape[0], p.triangles.shape[0]) for p in found)
        groups.setdefault(key, []).append(k)
    for key, members in groups.items():
        step = max(1, _ELEMENTS // max(9 * max((t for _, t in key), default=0), 3 * sum(n for n, _ in key), 1))
        for start in range(0, len(members), step):
            block = members[start : start + step]
            _doorways(doc, [nodes[k] for k in block], [prims[k] for k in block], block, out)
    return out  # type: ignore[return-value]


def _instanced_message(doc: GltfDocument, i: int) -> str:
    """Why a portal node drawn with EXT_mesh_gpu_instancing is refused: its mesh is drawn at each instance, not at
    the node, so the node's transform alone put the doorway elsewhere (at the origin, for gltfpack's output)."""
    return (
        f"portal {node_label(doc, i)} is drawn with {INSTANCING}: its doorway is drawn once per instance, not where "
        "the node stands, and a portal is one doorway: tag one plane per doorway, not instanced (gltfpack: without "
        "-mi), or give the node a 'quad' custom property"
    )


#: Elements of one stacked temporary while placing portal meshes (the nodes' triangles' corners).
_ELEMENTS = 1 << 22


def _doorways(
    doc: GltfDocument, nodes: list[tuple[int, F64]], prims: list[list[Primitive]], slots: list[int],
    out: list[Issue | tuple[F64, F64] | None],
) -> None:  # fmt: skip
    """:func:`_mesh_doorways` for nodes whose meshes have the same primitives' counts."""
    from ..model.description import MAX_COORDINATE

    worlds = np.stack([w for _, w in nodes])
    points, face = _placed(worlds, prims)
    finite = np.asarray(np.isfinite(points).all(axis=(1, 2)), dtype=bool)
    reach = np.abs(points).max(axis=(1, 2)) if points.shape[1] else np.zeros(len(nodes))
    # Before the outline: out there its rounding alone (1e-16 of the extent) reads as non_planar or
    # degenerate. The rectangle holds every point, so a point past the range puts the quad past it too.
    outlined = np.flatnonzero(finite & ~(reach > MAX_COORDINATE))
    outlines: list[Any] = [None] * len(nodes)
    for j, found in zip(outlined.tolist(), stacked_outlines(points[outlined]), strict=True):
        outlines[j] = found
    drawn = [j for j in outlined.tolist() if not isinstance(outlines[j][0], str)]
    quads = np.stack([outlines[j][0] for j in drawn]) if drawn else np.zeros((0, 4, 3))
    quad_reach = dict(zip(drawn, np.abs(quads).max(axis=(1, 2)).tolist(), strict=True))
    hints = np.stack([np.stack([outlines[j][1] for j in drawn]), face[drawn]], axis=1) if drawn else None
    at = dict(zip(drawn, range(len(drawn)), strict=True))
    for j, ((i, _), k) in enumerate(zip(nodes, slots, strict=True)):
        outline = outlines[j]
        if not finite[j]:
            label = node_label(doc, i)
            out[k] = Issue(f"/nodes/{i}/mesh", "portal_invalid", f"portal {label} has non-finite coordinates")
        elif outline is None:
            out[k] = _past(float(reach[j]), f"/nodes/{i}", node_label(doc, i))
        elif isinstance(outline[0], str):
            code, what = outline
            out[k] = Issue(f"/nodes/{i}/mesh", str(code), f"portal {node_label(doc, i)}: {what}")
        elif quad_reach[j] > MAX_COORDINATE:
            out[k] = _past(quad_reach[j], f"/nodes/{i}", node_label(doc, i))
        else:
            assert hints is not None
            out[k] = (outline[0], hints[at[j]])


def _placed(worlds: F64, prims: list[list[Primitive]]) -> tuple[F64, F64]:
    """Every vertex of G nodes' meshes in world space (world matrices (G, 4, 4), each node's primitives, of
    the same counts; point and line primitives too) and each mesh's area-weighted face normal (zero for a
    wire outline: the cells' boxes decide; turned round under a mirroring matrix, whose winding glTF takes
    as clockwise, spec §3.7.4): the (G, n, 3) points and (G, 3) normals. Each primitive's stacked product and
    triangle sums are the single ones run on each slice; a primitive many nodes draw is not copied."""
    g = worlds.shape[0]
    linear, shift = worlds[:, :3, :3].transpose(0, 2, 1), worlds[:, None, :3, 3]
    parts, normal = [], np.zeros((g, 3))
    every = np.arange(g)
    for j, first in enumerate(prims[0]):
        one = all(p[j] is first for p in prims)
        local = np.broadcast_to(first.positions, (g, *first.positions.shape)) if one else None
        if local is None:
            local = np.stack([p[j].positions for p in prims])
        p = np.matmul(local, linear) + shift
        parts.append(p)
        t_count = first.triangles.shape[0]
        for start in range(0, t_count, CHUNK * 64):  # bounded temporaries, as one node's
            if one:
                t = p[:, first.triangles[start : start + CHUNK * 64]]
            else:
                tri = np.stack([q[j].triangles[start : start + CHUNK * 64] for q in prims])
                t = p[every[:, None, None], tri]
            normal += cross3(t[:, :, 1] - t[:, :, 0], t[:, :, 2] - t[:, :, 0]).sum(axis=1)
    mirrored = det3(worlds[:, :3, :3]) < 0
    normal[mirrored] = -normal[mirrored]
    points = np.concatenate(parts, axis=1) if parts else np.zeros((g, 0, 3))
    return points, normal


def _out_of_range(quad: F64, path: str, label: str, errors: list[Issue]) -> bool:
    """Whether the world-space ``quad`` reaches past ±MAX_COORDINATE (an error appended), as a
    description's quad may not: float32 keeps only centimetres out there."""
    from ..model.description import MAX_COORDINATE

    reach = float(np.abs(quad).max())
    if reach <= MAX_COORDINATE:
        return False
    errors.append(_past(reach, path, label))
    return True


def _past(reach: float, path: str, label: str) -> Issue:
    """The ``out_of_range`` error of a portal reaching ``reach`` from the origin."""
    from ..model.description import MAX_COORDINATE, past_extent

    message = f"portal {label} lies {past_extent(reach)} m from the origin, beyond ±{MAX_COORDINATE:g} m"
    return Issue(path, "out_of_range", message)


def _extras_quad(value: Any, world: F64, path: str, label: str, errors: list[Issue]) -> F64 | None:
    from ..validate import check_quads

    numbers = isinstance(value, list) and len(value) == 12 and all(finite_number(x) for x in value)
    if not numbers:
        errors.append(
            Issue(path, "portal_invalid", f"portal {label}: quad must be 12 finite numbers; got {value_text(value)}")
        )
        return None
    quad = np.asarray(value, dtype=np.float64).reshape(4, 3) @ world[:3, :3].T + world[:3, 3]
    if _out_of_range(quad, path, label, errors):
        return None
    for _, code, message in check_quads(quad[None]):
        errors.append(Issue(path, code, f"portal {label}: {message}"))
        return None
    return np.ascontiguousarray(quad)


def orient(
    portals: list[Portal], hints: list[F64 | None], cells: dict[str, Cell], boxes: dict[str, F64]
) -> list[Portal]:
    """Outline quads turned to face ``to`` and started at their lowest edge; given quads as written.

    All at once: a portal's dot products (1-D @ 1-D, a BLAS dot) are those of a stacked (1, 3) @ (3, 1),
    run per slice, so the same bits as one portal's.
    """
    outlined = [k for k, hint in enumerate(hints) if hint is not None]
    quads = [p.quad for p in portals]
    if outlined:
        normal, face = np.stack([hints[k] for k in outlined], axis=1)  # type: ignore[misc]
        a, have_a = _boxes([portals[k].from_cell for k in outlined], boxes)
        b, have_b = _boxes([portals[k].to_cell for k in outlined], boxes)
        towards = (b[:, :3] + b[:, 3:]) / 2 - (a[:, :3] + a[:, 3:]) / 2
        along = _dots(normal, towards)
        length = np.sqrt(_dots(towards, towards))
        sign = np.where(have_a & have_b & (np.abs(along) > 1e-9 * np.maximum(length, 1e-300)), along, 0.0)
        sign = np.where(sign == 0.0, _dots(normal, face), sign)
        turned = np.stack([quads[k] for k in outlined])
        turned[sign < 0] = turned[sign < 0, ::-1]
        for k, quad in zip(outlined, lowest_edges_first(turned), strict=True):
            quads[k] = quad
    return [
        Portal(p.index, p.from_cell, p.to_cell, np.ascontiguousarray(quad), p.one_way, p.path, p.name)
        for p, quad in zip(portals, quads, strict=True)
    ]


def _dots(a: F64, b: F64) -> F64:
    """``a[k] @ b[k]`` for each row of the (n, 3) ``a`` and ``b``: one BLAS dot per row, as one 1-D @ 1-D."""
    out: F64 = np.matmul(a[:, None, :], b[:, :, None])[:, 0, 0]
    return out


def _boxes(cell_ids: list[str], boxes: dict[str, F64]) -> tuple[F64, npt.NDArray[np.bool_]]:
    """The (n, 6) boxes of ``cell_ids`` (zeros where a cell has none) and which have one."""
    row = {cell: r for r, cell in enumerate(boxes)}
    table = np.concatenate([np.stack(list(boxes.values())), np.zeros((1, 6))]) if boxes else np.zeros((1, 6))
    rows = np.fromiter((row.get(c, -1) for c in cell_ids), np.int64, len(cell_ids))
    return table[rows], rows >= 0


def _quads_and_normals(portals: list[Portal]) -> tuple[F64, F64]:
    """The (n, 4, 3) quads and their (n, 3) unit normals (right-hand rule), all at once."""
    quad = np.stack([p.quad for p in portals])
    normal = cross3(quad[:, 2] - quad[:, 0], quad[:, 3] - quad[:, 1])
    return quad, normal / np.maximum(np.sqrt(_dots(normal, normal)), 1e-300)[:, None]


#: A doorway "lies along" the line between its cells' centres when that line is within this cosine of its
#: plane (~11°): a Plane left flat between two rooms side by side, or turned into the line of their wall.
_ALONG = 0.2


def not_between(portals: list[Portal], boxes: dict[str, F64], cells: dict[str, Cell] | None = None) -> list[int]:
    """The portals that do not stand between their two cells, judged where the line joining their boxes' centres
    runs along the portal's plane (within :data:`_ALONG`): a doorway left lying flat between two rooms side by
    side, or turned into their wall's line. A stair opening between storeys, or a doorway of an L-shaped room
    whose centre lies past it, is not one: its plane faces along the line between the centres.

    Such a portal is told when its plane does not pass between the centres, unless one cell lies wholly on one
    side of it while the other reaches past it (:func:`_one_side`): a room nested in the notch of a U-shaped
    room, whose box centre lies in line with the U's, in a doorway in the notch's side wall, turned off the axes
    or not (a Plane left lying flat has both cells across it, at mid-height, or on one side, on the floor). That
    test is global: a doorway turned into the line where a narrow closet's box stops passes it (the closet on
    one side, the hall reaching past). So a portal along the line is also told, cleared or not, its plane
    between the centres or not (a centre in the plane is on either side by rounding alone), when a surface of
    either cell passes through it (:func:`_passed_through`): the hall's wall the closet's doorway was turned
    from stands across it; nothing of either cell stands across a doorway in a U's notch (furniture or a door
    leaf of the cell's own mesh standing in one would). All at once, each cell's triangles binned once and at
    most :data:`_NEAR_TRIANGLES` of them asked a portal; portals of a cell without a box are not judged."""
    if not portals:
        return []
    quad, normal = _quads_and_normals(portals)
    a, have_a = _boxes([p.from_cell for p in portals], boxes)
    b, have_b = _boxes([p.to_cell for p in portals], boxes)
    ca, cb = (a[:, :3] + a[:, 3:]) / 2, (b[:, :3] + b[:, 3:]) / 2
    side_a, side_b = _dots(normal, ca - quad[:, 0]), _dots(normal, cb - quad[:, 0])
    towards = cb - ca
    length = np.sqrt(_dots(towards, towards))
    along = np.abs(_dots(normal, towards)) <= _ALONG * length
    # A centre in the plane (a doorway turned about the line through it) reads as on either side by rounding
    # alone: the surfaces passing through (below) are asked of every portal along the line, separating or not.
    lined = np.flatnonzero(have_a & have_b & (length > 0) & along)
    if not len(lined):  # the usual case: the cells' points are not looked at
        return []
    # Nor is a centre within that rounding (ON_WALL_EPS and float32 steps, as _one_side allows) taken to be on a
    # side: two like rooms with a doorway mid their shared wall turned a quarter round in its own opening have
    # both centres in its plane, and nothing of theirs stands across it. Drawn along the axes the centres lay
    # in it exactly and it was told; turned 17°, 1e-8 m apart either way, it passed as between them.
    far = np.maximum(np.abs(quad).max(axis=(1, 2)), np.maximum(np.abs(ca).max(axis=1), np.abs(cb).max(axis=1)))
    slack = ON_WALL_EPS + 2 * np.spacing(far.astype(np.float32)).astype(np.float64)
    apart = (side_a * side_b < 0) & (np.abs(side_a) > slack) & (np.abs(side_b) > slack)
    cells = cells or {}
    points: dict[str, F64] = {}
    near: dict[str, _Near | None] = {}
    keep, asked = [], []
    for k in lined.tolist():
        ends = (portals[k].from_cell, portals[k].to_cell)
        if not apart[k] and not _one_side(quad[k], normal[k], *(_cell_points(c, boxes, cells, points) for c in ends)):
            keep.append(k)
        else:
            asked.append(k)
    if asked:
        ends_near = [(_near(portals[k].from_cell, cells, near), _near(portals[k].to_cell, cells, near)) for k in asked]
        through = _passed_through(quad[asked], normal[asked], ends_near)
        keep = sorted(keep + [k for k, hit in zip(asked, through.tolist(), strict=True) if hit])
    if keep:
        keep = [k for k in keep if k not in _plans_across(portals, keep, quad, normal, boxes, cells)]
    return keep


def _plans_across(
    portals: list[Portal], asked: list[int], quad: F64, normal: F64, boxes: dict[str, F64], cells: dict[str, Cell]
) -> set[int]:
    """The upright portals of ``asked`` whose cells' plans seen from above (their outlines' shadows,
    :func:`~sceneforge.geometry.footprint.cell_plans`, with their doorways' passages; a box's rectangle where the
    plan is the box) hold the ground behind its middle, one cell's alone, and the ground in front of it, the
    other's alone (:func:`.plan_sides.plans_across`): such a doorway stands between its cells whatever their boxes
    say. Two L-shaped rooms locked into each other (a polyomino plan, rebuilt from the GLB the project wrote) have
    their boxes' centres in line with a doorway in the wall where one's arm meets the other's."""
    upright = [k for k in asked if abs(float(normal[k, 1])) < 0.5]
    ids = sorted({c for k in upright for c in (portals[k].from_cell, portals[k].to_cell) if c in cells})
    if not ids:
        return set()
    outlines: dict[str, F64] = {}
    for cell_id, plan in zip(ids, cell_outlines([cells[c] for c in ids], portals), strict=True):
        if plan is not None:
            outlines[cell_id] = plan
        elif cell_id in boxes:
            (x0, _, z0), (x1, _, z1) = boxes[cell_id][:3], boxes[cell_id][3:]
            outlines[cell_id] = np.array([[x0, z0], [x1, z0], [x1, z1], [x0, z1]])
    rows = np.array(upright, np.int64)
    sides = plans_across(
        quad[rows].mean(axis=1)[:, [0, 2]],
        normal[rows][:, [0, 2]],
        [outlines.get(portals[k].from_cell) for k in upright],
        [outlines.get(portals[k].to_cell) for k in upright],
    )
    return {k for k, side in zip(upright, sides.tolist(), strict=True) if side != 0}


def _cell_points(cell_id: str, boxes: dict[str, F64], cells: dict[str, Cell], cache: dict[str, F64]) -> F64:
    """Points whose extent along any direction is the cell's (float32 rounding aside): the convex hull of its
    surfaces' vertices (manifold3d's QuickHull past :data:`_RAW_POINTS` of them), else its box's corners: also
    for a hull of more than :data:`_RAW_POINTS` vertices (a mesh on a sphere), so that each portal asked costs at
    most that many products a cell (60,000 doorways lying flat between two such cells: seconds, not minutes)."""
    if cell_id in cache:
        return cache[cell_id]
    box = boxes[cell_id]
    corners = box_corners(box[:3], box[3:])
    cell = cells.get(cell_id)
    found = corners
    if cell is not None and cell.surfaces and not cell.instances:
        pts = np.concatenate([s.positions.reshape(-1, 3) for s in cell.surfaces]).astype(np.float64)
        if pts.shape[0] > _RAW_POINTS:
            from manifold3d import Manifold

            hull = np.asarray(Manifold.hull_points(pts).to_mesh().vert_properties, np.float64)[:, :3]
            pts = hull if 4 <= hull.shape[0] <= _RAW_POINTS else corners
        found = pts
    cache[cell_id] = found
    return found


#: A cell of at most this many vertices is projected vertex by vertex (:func:`_cell_points`), past it its hull.
_RAW_POINTS = 4096


def _one_side(quad: F64, normal: F64, a: F64, b: F64) -> bool:
    """Whether one of the point sets ``a`` and ``b`` lies wholly on one side of the quad's plane and the other
    reaches past it to the other side, within :data:`~sceneforge.tolerances.ON_WALL_EPS` and float32 rounding."""
    da, db = (a - quad[0]) @ normal, (b - quad[0]) @ normal
    far = max(float(np.abs(a).max()), float(np.abs(b).max()), float(np.abs(quad).max()))
    slack = ON_WALL_EPS + 2 * float(np.spacing(np.float32(far)))
    for sign in (1.0, -1.0):
        lo_a, lo_b = float((sign * da).min()), float((sign * db).min())
        if (lo_a >= -slack and lo_b < -slack) or (lo_b >= -slack and lo_a < -slack):
            return True
    return False


#: At most this many of a cell's triangles are asked whether they pass through one doorway (:func:`_passed_through`):
#: the largest ones (a floor, a wall of two triangles) always, the others as many as lie near it. A cell with more
#: near one doorway (a dense scan) is not asked there: the doorway is judged by :func:`_one_side` alone.
_NEAR_TRIANGLES = 4096
#: A cell's triangles are binned on a grid of at most this many steps along its box's longest side.
_GRID_STEPS = 64


class _Near:
    """A cell's surfaces' triangles, found near a box in bounded time (:meth:`around`).

    The :data:`_NEAR_TRIANGLES` // 4 largest (by their boxes' longest side) are kept aside and always given; the
    others are binned by their boxes' centres on a grid whose step is at least the longest of their sides, so a
    triangle touching a box has its centre within half a step of it, in the bins around it."""

    def __init__(self, tri: F64) -> None:
        self.tri: F64 = tri
        self.lo: F64 = tri.min(axis=1)
        self.hi: F64 = tri.max(axis=1)
        size = (self.hi - self.lo).max(axis=1)
        n, few = tri.shape[0], _NEAR_TRIANGLES // 4
        large = size > np.partition(size, n - few - 1)[n - few - 1] if n > few else np.ones(n, dtype=bool)
        self.large = np.flatnonzero(large)
        small = np.flatnonzero(~large)
        self.reach = float(size[small].max()) if small.size else 0.0
        origin = self.lo[small].min(axis=0) if small.size else np.zeros(3)
        extent = float((self.hi[small].max(axis=0) - origin).max()) if small.size else 0.0
        self.step = max(self.reach, extent / _GRID_STEPS, 1e-9)
        self.origin = origin
        bins = np.floor(((self.lo[small] + self.hi[small]) / 2 - origin) / self.step).astype(np.int64)
        self.shape = bins.max(axis=0) + 1 if small.size else np.ones(3, np.int64)
        key = (bins[:, 0] * self.shape[1] + bins[:, 1]) * self.shape[2] + bins[:, 2]
        order = np.argsort(key, kind="stable")
        self.small, self.keys = small[order], key[order]

    def around(self, lo: F64, hi: F64) -> F64 | None:
        """The (m, 3, 3) triangles whose boxes meet the box ``lo``–``hi``; None past :data:`_NEAR_TRIANGLES`."""
        found = self.large
        if not self.small.size:  # a cell of few triangles: each one asked
            meet = ((self.lo <= hi) & (self.hi >= lo)).all(axis=1)
            return self.tri[meet]
        first = np.floor((lo - self.reach / 2 - self.origin) / self.step).astype(np.int64).clip(0, self.shape - 1)
        last = np.floor((hi + self.reach / 2 - self.origin) / self.step).astype(np.int64).clip(-1, self.shape - 1)
        if (last >= first).all() and (hi + self.reach / 2 >= self.origin).all():
            cols = np.stack(np.meshgrid(*(np.arange(first[a], last[a] + 1) for a in (0, 1)), indexing="ij"), -1)
            column = (cols[..., 0] * self.shape[1] + cols[..., 1]).reshape(-1) * self.shape[2]
            start = np.searchsorted(self.keys, column + first[2], "left")
            count = np.searchsorted(self.keys, column + last[2], "right") - start
            total = int(count.sum())
            if total + found.size > _NEAR_TRIANGLES:
                return None
            at = np.arange(total) + np.repeat(start - np.cumsum(count) + count, count)
            found = np.concatenate([found, self.small[at]])
        meet = ((self.lo[found] <= hi) & (self.hi[found] >= lo)).all(axis=1)
        return self.tri[found[meet]]


def _near(cell_id: str, cells: dict[str, Cell], cache: dict[str, _Near | None]) -> _Near | None:
    """The cell's surfaces' triangles, for :func:`_passed_through` (None for a cell without surfaces; instances,
    copies of furniture, are not asked), made once a cell."""
    if cell_id not in cache:
        cell = cells.get(cell_id)
        tris = [s.positions[s.indices].astype(np.float64) for s in cell.surfaces] if cell is not None else []
        tri = np.concatenate(tris) if tris else np.zeros((0, 3, 3))
        cache[cell_id] = _Near(tri) if tri.shape[0] else None
    return cache[cell_id]


#: A triangle stands across a doorway when its plane is more than 45° off the doorway's (:func:`_passed_through`):
#: the wall a doorway is drawn on, a little askew, does not.
_ACROSS = float(np.cos(np.pi / 4))
#: Triangles asked at once by :func:`_passed_through` (its temporaries: a few kB a triangle).
_THROUGH_CHUNK = 1 << 14


def _passed_through(quads: F64, normals: F64, nears: list[tuple[_Near | None, _Near | None]]) -> npt.NDArray[np.bool_]:
    """Whether a surface of either of its cells passes through each (convex) quad (p, 4, 3), unit normals (p, 3):
    the cell's triangles standing across the quad's plane (:data:`_ACROSS`) reach it from both sides, between the
    slack of :func:`_one_side` and twice that, within the prism standing on the quad shrunk by that slack (a wall
    the doorway lies in, a jamb or a floor along its edge do not). A wall through the doorway does, however it is
    cut into triangles (one may stop at the plane, the next go on). All (quad, cell) pairs at once, in chunks."""
    out = np.zeros(len(nears), dtype=bool)
    far = np.abs(quads).max(axis=(1, 2))
    slack = ON_WALL_EPS + 2 * np.spacing(far.astype(np.float32)).astype(np.float64)
    found: list[F64] = []
    pair: list[int] = []
    for k, ends in enumerate(nears):
        lo, hi = quads[k].min(axis=0) - slack[k], quads[k].max(axis=0) + slack[k]
        for end, near in enumerate(ends):
            tri = None if near is None else near.around(lo, hi)
            if tri is not None and tri.shape[0]:
                found.append(tri)
                pair.append(2 * k + end)
    if not found:
        return out
    counts = np.array([t.shape[0] for t in found])
    tri_all, owner = np.concatenate(found), np.repeat(np.array(pair), counts)
    plus, minus = np.zeros(2 * len(nears), dtype=bool), np.zeros(2 * len(nears), dtype=bool)
    for start in range(0, tri_all.shape[0], _THROUGH_CHUNK):
        tri, who = tri_all[start : start + _THROUGH_CHUNK], owner[start : start + _THROUGH_CHUNK]
        of = who // 2
        up, down = _reach(quads[of], normals[of], slack[of], tri)
        np.logical_or.at(plus, who, up)
        np.logical_or.at(minus, who, down)
    both = (plus & minus).reshape(-1, 2)
    out[:] = both.any(axis=1)
    return out


def _reach(quad: F64, normal: F64, slack: F64, tri: F64) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Whether each triangle (m, 3, 3), standing across its quad (m, 4, 3) (unit normal (m, 3), slack (m,)), reaches
    the slab from ``slack`` to twice that in front of it, and behind it, within the prism on the quad shrunk by the
    slack. The clipped triangle's extremes along the normal lie at its corners inside the prism, where its edges
    cross the prism's sides, or where the prism's edges (along the normal) cross it: all 19 are looked at."""
    far = np.maximum(np.abs(quad).max(axis=(1, 2)), np.abs(tri).max(axis=(1, 2)))
    tiny = 1e-9 * np.maximum(far, 1.0)
    edge = np.roll(quad, -1, axis=1) - quad
    inward = cross3(np.broadcast_to(normal[:, None], edge.shape), edge)
    inward /= np.sqrt((inward * inward).sum(axis=-1))[..., None]
    offset = (inward * quad).sum(axis=-1) + slack[:, None]  # the sides moved in by the slack: inward @ x >= offset

    def sides(points: F64) -> F64:  # (m, j, 3) -> (m, j, 4): how far inside each side
        return np.asarray(np.matmul(points, inward.transpose(0, 2, 1)) - offset[:, None], np.float64)

    def inside(points: F64) -> npt.NDArray[np.bool_]:
        return np.asarray((sides(points) >= -tiny[:, None, None]).all(axis=-1), dtype=bool)

    a, b = tri, np.roll(tri, -1, axis=1)
    wa, wb = sides(a), sides(b)  # (m, 3 edges, 4 sides)
    cross = (wa * wb <= 0) & (wa != wb)
    t = np.where(cross, wa / np.where(cross, wa - wb, 1.0), 0.0)
    hits = (a[:, :, None, :] + t[..., None] * (b - a)[:, :, None, :]).reshape(-1, 12, 3)
    before = np.roll(inward, 1, axis=1)
    corners = quad + slack[:, None, None] * (before + inward) / (1 + (before * inward).sum(axis=-1))[..., None]
    plane = cross3(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    size = np.sqrt((plane * plane).sum(axis=1))
    facing = (plane * normal).sum(axis=1)
    steep = np.abs(facing) > 1e-9 * size
    depth = ((tri[:, None, 0] - corners) * plane[:, None]).sum(axis=-1) / np.where(steep, facing, 1.0)[:, None]
    pierce = corners + depth[..., None] * normal[:, None]
    within = np.broadcast_to(steep[:, None], pierce.shape[:2]).copy()
    for j in range(3):
        turn = cross3(np.broadcast_to((b - a)[:, None, j], pierce.shape), pierce - a[:, None, j]) * plane[:, None]
        within &= turn.sum(axis=-1) >= -tiny[:, None] * size[:, None]
    points = np.concatenate([tri, hits, pierce], axis=1)  # (m, 3 + 12 + 4, 3)
    valid = np.concatenate([inside(tri), cross.reshape(-1, 12) & inside(hits), within], axis=1)
    s = ((points - quad[:, None, 0]) * normal[:, None]).sum(axis=-1)
    top = np.where(valid, s, -np.inf).max(axis=1)
    bottom = np.where(valid, s, np.inf).min(axis=1)
    across = np.abs(facing) <= _ACROSS * size
    up = across & (top > slack) & (bottom <= 2 * slack)
    down = across & (bottom < -slack) & (top >= -2 * slack)
    return up, down


def doorway_height(portals: list[Portal]) -> tuple[float, int] | None:
    """The median height (m, along Y) of the portals standing upright (their normal within 60° of level: doorways
    and windows, not openings in floors) and how many there are; None without one. A level whose doorways are
    hundreds of metres tall was modelled in centimetres and exported unscaled (Blender's exporter leaves out the
    scene's Unit Scale); one whose doorways are a few centimetres tall, the other way round."""
    if not portals:
        return None
    quad, normal = _quads_and_normals(portals)
    standing = np.abs(normal[:, 1]) <= _VOTING
    if not standing.any():
        return None
    heights = quad[standing, :, 1].max(axis=1) - quad[standing, :, 1].min(axis=1)
    return float(np.median(heights)), int(standing.sum())


def z_up(portals: list[Portal], boxes: dict[str, F64], cells: tuple[int, int] = (0, 0)) -> bool:
    """Whether the doorways stand on their cells' floors along Z (either way up) rather than Y (a Z-up export, or a
    level turned a quarter round about X before a +Y-up export).

    A doorway stands on a floor along an axis when it is upright along it (:data:`UPRIGHT`), its bottom is
    near the cell's bottom, its top well below the cell's top and it spans a good share of the height
    between. Only portals facing X vote (:data:`_VOTING`): one facing Y or Z is a doorway in one reading
    and an opening in a floor in the other (two rooms side by side along Y in a Z-up file are two storeys in
    a Y-up one), and a stair well against a wall or a mezzanine's void drawn past the walls, in a +Y-up file
    with no doorway besides, outvoted it as Z-up; a doorway facing X stands in a wall whichever axis is up.

    A portal votes for an axis where it stands on the floor along it and its bottom is off the cell's bottom
    along the other (where upright along that one): a doorway whose bottom meets the box's bottom along both
    stands in a corner of the room in either reading. A doorway from floor to ceiling along Y (its top at
    the cell's top: it does not stand) that meets a side wall is such a corner along Z, and a doorway in a
    tall hall, a small share of its height, may be one along Z: they voted Z in +Y-up files. Each portal
    votes once per cell it joins. ``cells`` adds the cells' own votes, (Y, Z): those whose flat ends (a
    floor, a ceiling) lie along one axis alone (:func:`.up_axis.flat_ended`). Z must win the vote. All
    portals at once (:func:`_dots`).
    """
    votes = {1: cells[0], 2: cells[1]}
    if portals:
        quad, normal = _quads_and_normals(portals)
        lo, hi = quad.min(axis=1), quad.max(axis=1)
        for ends in ([p.from_cell for p in portals], [p.to_cell for p in portals]):
            box, have = _boxes(ends, boxes)
            standing, floored = {}, {}
            for axis in (1, 2):
                height = box[:, 3 + axis] - box[:, axis]
                upright = have & (np.abs(normal[:, axis]) <= UPRIGHT) & (height > 0)
                low = lo[:, axis] - box[:, axis] <= _FLOOR_GAP * height
                high = box[:, 3 + axis] - hi[:, axis] >= _HEADROOM * height
                tall = hi[:, axis] - lo[:, axis] >= _DOOR_SHARE * height
                floored[axis] = upright & low
                standing[axis] = upright & (np.abs(normal[:, 0]) > _VOTING) & low & high & tall
                if axis == 2:
                    # Up along -Z too: a level turned -90° about X in Blender (to be "Y up") and exported +Y up
                    # lies on its side with its floors at the boxes' high Z; read along +Z alone, its doorways
                    # hung from the cells' tops and it was not told (turned +90°, up is +Z, and it was).
                    sunk = box[:, 3 + axis] - hi[:, axis] <= _FLOOR_GAP * height
                    raised = lo[:, axis] - box[:, axis] >= _HEADROOM * height
                    standing[axis] |= upright & (np.abs(normal[:, 0]) > _VOTING) & sunk & raised & tall
            votes[1] += int((standing[1] & ~floored[2]).sum())
            votes[2] += int((standing[2] & ~floored[1]).sum())
    return votes[2] > votes[1]
