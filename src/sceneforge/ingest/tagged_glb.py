"""A GLB exported from Blender with cell / portal tags → :class:`SceneIR` (docs/scene-format.md, "A tagged GLB").

Tags are glTF ``extras``: Blender writes an object's custom properties to its node's extras
(only when the exporter's *Include → Custom Properties*, ``export_extras``, is on) and a
mesh-data block's custom properties to the mesh's extras, so a tag is read from the node
first, then from its mesh.

- ``{"type": "cell", "cellId": "hall"}``: the node owns every mesh in its subtree (itself
  included), placed by world transforms, merged to one surface per material. A cell nested in
  another cell's subtree owns its own subtree: the nearest tagged ancestor wins. Meshes drawn
  with EXT_mesh_gpu_instancing become instance groups; EXT_meshopt_compression views are
  decoded first (their decoded size counts against ``SCENEFORGE_MAX_UPLOAD_BYTES``), so every
  GLB the project writes builds again.
- ``{"type": "portal", "from": "hall", "to": "kitchen", "oneWay": false}``: a portal, not
  geometry. With ``"quad": [12 numbers]`` in its extras (the project's own output) that quad,
  in the node's space, is the doorway, checked like a description's quad. Otherwise the node's
  mesh — any planar shape: plane, grid, subdivided, n-gon — gives it: the minimum-area
  rectangle around its vertices in their plane (:func:`planar_outline`), its normal turned
  into ``to`` (judged by the two cells' box centres, else by the mesh's own face normals),
  starting at its lowest edge. A non-planar or degenerate mesh is an error naming the object.
- Mesh nodes outside every cell are ignored with a warning.
- Custom properties that look like a tag but are not one (a ``Type`` key, ``"type": "Cell"`` or
  ``"door"`` beside a ``cellId`` / ``from`` and ``to``, those keys without ``type``) are the error
  ``tag_invalid`` (:func:`_misread_tag`): left alone, the node would silently be geometry or nothing.
- ``sceneId``: scene extras ``{"sceneforge": {"sceneId": …}}`` or ``{"sceneId": …}``, else the
  scene's name reduced to ``[A-Za-z0-9_-]``, else ``"scene"``. Scene extras ``{"props": {…}}``
  or ``{"sceneforge": {"props": {…}}}`` become the scene's props.

Blender exports +Y up glTF (``export_yup``, on by default), the IR's convention, so no axis
change is made; an export whose doorways stand on their cells' floors along Z rather than Y
gets the warning ``z_up``. A file with no extras at all is refused with ``no_extras``, which
says to turn the exporter's custom properties on. Every message names the node (and mesh) and
says what was given; issue paths point into the glTF JSON (``/nodes/5/extras/cellId``). The
codes are listed in docs/scene-format.md. Cost: O(vertices) numpy work; the outline of a
portal mesh is O(vertices × 360) (extreme points in 360 directions), except a convex 4-vertex
one (Blender's Plane), whose hull is read directly (:func:`_quad_hull`, the same result). Portal
nodes are counted against ``SCENEFORGE_MAX_PORTALS``, materials against ``SCENEFORGE_MAX_MATERIALS``,
instanced nodes against ``SCENEFORGE_MAX_INSTANCE_GROUPS`` and the scene's props against ``SCENEFORGE_MAX_PROPS``
before any of them is read.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import numpy.typing as npt

from ..arrays import distinct_rows
from ..config import Limits
from ..errors import DECODE_ERRORS, Issue, LimitExceeded, SceneInvalid
from ..glb_magic import is_glb
from ..model.ir import DEFAULT_MATERIAL, Cell, InstanceGroup, Material, Portal, SceneIR
from ..scene_ids import is_scene_id
from ..tolerances import AREA_EPS, PLANARITY_EPS
from ..wire import json_pointer
from .gltf_read import GltfDocument, finite_number, parse_glb
from .surfaces import det3, merge_by_material

__all__ = ["is_glb", "planar_outline", "tagged_glb_to_ir"]

F64 = npt.NDArray[np.float64]

_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")
#: The ``.001`` Blender appends to the name of a copy.
_COPY_SUFFIX = re.compile(r"\.\d{3,}$")
_INSTANCING = "EXT_mesh_gpu_instancing"
#: Directions sampled for a portal outline's hull: extreme points every 1°.
_DIRECTIONS = 360
#: Rows of the (points × directions) projection computed at once (bounded memory on big meshes).
_CHUNK = 4096
#: A 4-vertex portal takes the quick hull (:func:`_quad_hull`) when each of its turns is at least this
#: fraction of its squared extent (a cross product; a Plane's is 4×, a 1:1000 sliver's ~0.004×).
_QUAD_TURN = 1e-6
#: An upright outline is preferred to the minimum-area one when at most this much larger.
UPRIGHT_SLACK = 0.02
#: A doorway "stands on the floor" along an axis when its bottom is within this fraction of the
#: cell's height above the cell's bottom and its top at least _HEADROOM below the cell's top.
_FLOOR_GAP, _HEADROOM = 0.1, 0.15


def _given(value: Any) -> str:
    """A short rendering of an extras value for messages: JSON, cut at 60 characters."""
    if isinstance(value, str) and len(value) > 60:  # the same text, without rendering all of a long one
        value = value[:60]
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)
    except (ValueError, TypeError, RecursionError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _tag(doc: GltfDocument, i: int) -> tuple[str | None, dict[str, Any], str]:
    """(type, extras, pointer of those extras) of node ``i``: node extras first, then its mesh's."""
    node_extras = doc.extras(doc.node(i))
    if isinstance(node_extras.get("type"), str):
        return node_extras["type"], node_extras, f"/nodes/{i}/extras"
    m = doc.node_mesh(i)
    if m is not None:
        mesh_extras = doc.extras(doc.meshes[m])
        if isinstance(mesh_extras.get("type"), str):
            return mesh_extras["type"], mesh_extras, f"/meshes/{m}/extras"
    return None, node_extras, f"/nodes/{i}/extras"


def _node_label(doc: GltfDocument, i: int) -> str:
    """``'Door' (node 5, mesh 'Plane')``: how messages name an object."""
    node = doc.node(i)
    parts = [f"node {i}"]
    m = doc.node_mesh(i) if "mesh" in node else None
    mesh_name = doc.meshes[m].get("name") if m is not None and isinstance(doc.meshes[m], dict) else None
    if isinstance(mesh_name, str):
        parts.append(f"mesh {mesh_name!r}")
    name = node.get("name")
    return f"{name!r} ({', '.join(parts)})" if isinstance(name, str) else ", ".join(parts)


#: Keys only a tag carries: custom properties holding one of these (``from`` and ``to`` together) were meant as one.
_TAG_KEYS = ("cellId", "from", "to", "quad")


def _misread_tag(doc: GltfDocument, i: int, kind: str | None) -> Issue | None:
    """``tag_invalid`` for node ``i`` when its custom properties (the node's or its mesh's) look like a
    tag that is not one, else None: a ``type`` key spelt otherwise (``Type``), a ``type`` value that
    is not ``cell`` / ``portal`` as written (``Cell``, ``"door"``, ``1``) beside a tag's keys, or a
    tag's keys with no ``type`` at all. Left alone, such a node is geometry or nothing, and the level
    loses a room or a doorway without a word about why. A ``type`` with none of a tag's keys (another
    pipeline's own property) is not a tag and is left alone, unless its value reads ``cell`` / ``portal``.
    """
    if kind in ("cell", "portal"):
        return None
    places = [(doc.extras(doc.node(i)), f"/nodes/{i}/extras")]
    m = doc.node_mesh(i)
    if m is not None:
        places.append((doc.extras(doc.meshes[m]), f"/meshes/{m}/extras"))
    for extras, path in places:
        keyed = "cellId" in extras or ("from" in extras and "to" in extras)
        typed = [k for k in extras if isinstance(k, str) and k.strip().lower() == "type"]
        for key in typed:
            value = extras[key]
            meant = isinstance(value, str) and value.strip().lower() in ("cell", "portal")
            if not (meant or keyed):
                continue
            given = f"the key {key!r}" if key != "type" else "'type'"
            return Issue(
                f"{path}{json_pointer([key])}",
                "tag_invalid",
                f"{_node_label(doc, i)} has {given} = {_given(value)}, which is not a tag: a tag needs the key 'type'"
                f' with the value "cell" or "portal", in lowercase; custom properties given: {_brief(extras, key)}',
            )
        if keyed and not typed:
            return Issue(
                path,
                "tag_invalid",
                f'{_node_label(doc, i)} has a tag\'s custom properties but no \'type\' ("cell" or "portal"), so it'
                f" is not a tag; custom properties given: {_brief(extras, None)}",
            )
    return None


def _brief(extras: dict[str, Any], key: str | None) -> str:
    """``key`` and a tag's keys of ``extras``, each value short (a long list by its length alone)."""
    shown = [k for k in ([key] if key else []) + list(_TAG_KEYS) if k in extras]
    return ", ".join(
        f"{k!r}: " + (f"a list of {len(v):,}" if isinstance(v, list) and len(v) > 12 else _given(v))
        for k, v in ((k, extras[k]) for k in shown)
    )


def _other_half(doc: GltfDocument, i: int, src: str, key: str) -> str:
    """``"; its mesh 'Cube' holds 'cellId' = …"`` when the tag at ``src`` lacks ``key`` and the other
    place Blender writes custom properties to (object → node, mesh data → mesh) has it; else ``""``."""
    m = doc.node_mesh(i)
    if src.startswith("/nodes/"):
        if m is None:
            return ""
        other, where = doc.extras(doc.meshes[m]), "its mesh data (Object Data Properties)"
    else:
        other, where = doc.extras(doc.node(i)), "the object (Object Properties)"
    if key not in other:
        return ""
    return (
        f"; {where} holds {key!r} = {_given(other[key])}: a tag is read whole from the object's custom properties"
        f" or else from its mesh data's, so put 'type' and {key!r} in the same place"
    )


def _copied_tag(
    doc: GltfDocument, nodes: tuple[int, int], sources: tuple[str, str], parent_of: dict[int, int | None]
) -> str:
    """Why two nodes tag one cellId, when Blender copied the tag rather than the artist: ``""`` otherwise.

    A linked duplicate (Alt+D) shares its mesh data, and the mesh's custom properties with it, so a tag
    on the mesh tags every object drawing it; a collection instanced more than once exports its
    objects once per instance, each copy with the same name and custom properties.
    """
    first, second = nodes
    if sources[0] == sources[1] and sources[0].startswith("/meshes/"):
        mesh = doc.meshes[int(sources[0].split("/")[2])]
        name = mesh.get("name") if isinstance(mesh, dict) else None
        shown = f"mesh {name!r}" if isinstance(name, str) else "one mesh"
        return (
            f"; the tag is on {shown}, which both objects draw (a linked duplicate, Alt+D, shares its mesh"
            " data and the mesh's custom properties): tag each object instead (Object Properties → Custom Properties)"
        )
    name, again = doc.node(first).get("name"), doc.node(second).get("name")
    if isinstance(name, str) and isinstance(again, str) and name != again:
        if _COPY_SUFFIX.sub("", name) != _COPY_SUFFIX.sub("", again):
            return ""
        return (
            f"; {again!r} is named as Blender names a copy of {name!r} (Shift+D, or Separate after applying an"
            " Array), and a copy keeps the object's custom properties: give each copy its own cellId"
        )
    if not isinstance(name, str) or again != name:
        return ""

    def under(i: int) -> str:
        parent = parent_of.get(i)
        if parent is None:
            return "at the root"
        label = doc.node(parent).get("name")
        return f"under {label!r}" if isinstance(label, str) else f"under node {parent}"

    return (
        f"; both are copies of object {name!r} ({under(first)} and {under(second)}), as a collection instanced more"
        " than once exports its objects, custom properties included: tag each instancing empty instead"
    )


def _scene_id(doc: GltfDocument, errors: list[Issue], limits: Limits | None = None) -> tuple[str, dict[str, str]]:
    from ..model.description import MAX_PROP_NAME, MAX_PROP_VALUE

    s = doc.scene_index()
    scene = doc.scenes[s] if s is not None and isinstance(doc.scenes[s], dict) else {}
    extras = doc.extras(scene)
    found = extras.get("sceneforge")
    ours: dict[str, Any] = found if isinstance(found, dict) else {}
    props: dict[str, str] = {}
    # The project's own output writes "props" at the top. Props are string → string metadata, as in
    # a description: anything else is an error rather than left out of the output without a word.
    for raw, path in ((extras.get("props"), f"/scenes/{s}/extras/props"),
                      (ours.get("props"), f"/scenes/{s}/extras/sceneforge/props")):  # fmt: skip
        if raw is None:
            continue
        if not isinstance(raw, dict):
            message = f"props must be an object of string → string metadata; got {_given(raw)}"
            errors.append(Issue(path, "props_invalid", message))
            continue
        if limits is not None and len(props) + len(raw) > limits.max_props:  # counted before any is read
            count = len(props) + len(raw)
            raise LimitExceeded("SCENEFORGE_MAX_PROPS", count, limits.max_props, path=path, what="prop count")
        for k, v in raw.items():
            if not isinstance(v, str):
                message = f"prop {k!r} must be a string (props are string → string metadata); got {_given(v)}"
                errors.append(Issue(path + json_pointer([k]), "props_invalid", message))
            elif len(k) > MAX_PROP_NAME or len(v) > MAX_PROP_VALUE:  # a description's bounds
                message = (
                    f"prop {_given(k)} has a name of {len(k):,} characters and a value of {len(v):,}; props hold"
                    f" names of at most {MAX_PROP_NAME} and values of at most {MAX_PROP_VALUE:,}, as in a description"
                )
                errors.append(Issue(path + json_pointer([k]), "props_invalid", message))
            else:
                props[k] = v
    for value, path in ((ours.get("sceneId"), f"/scenes/{s}/extras/sceneforge/sceneId"),
                        (extras.get("sceneId"), f"/scenes/{s}/extras/sceneId")):  # fmt: skip
        if value is None:
            continue
        if isinstance(value, str) and is_scene_id(value):
            return value, props
        message = f"sceneId must be 1–64 of [A-Za-z0-9_-], starting alphanumeric; got {_given(value)}"
        errors.append(Issue(path, "scene_id_invalid", message))
        return "scene", props
    name = scene.get("name")
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).lstrip("_-")[:64] if isinstance(name, str) else ""
    return cleaned or "scene", props


# -- portal outlines ------------------------------------------------------------------------


def planar_outline(points: F64) -> tuple[F64, F64] | tuple[str, str]:
    """The minimum-area rectangle around planar ``points`` (n, 3) in their plane.

    Returns ``(quad, normal)``: the (4, 3) corners as a ring, counter-clockwise seen from the
    unit ``normal`` side; or ``(code, message)``: ``degenerate`` when the points span less than
    ``AREA_EPS`` (collinear, coincident, fewer than 3) and ``non_planar`` when one lies more than
    ``PLANARITY_EPS`` off their best-fit plane. The plane is the least-squares one (SVD); the
    rectangle has a side along an edge of the points' convex hull (rotating calipers: the
    smallest is always among those), unless the upright one (sides along the plane's vertical,
    +Y) is at most ``UPRIGHT_SLACK`` larger; it is measured over every point, so it always
    contains the shape.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if p.shape[0] < 3:
        return "degenerate", f"{p.shape[0]} vertices span no area"
    centre = p.mean(axis=0)
    d = p - centre
    _, sv, vt = np.linalg.svd(d, full_matrices=False)
    if sv.shape[0] < 3 or sv[1] <= 1e-12 * max(float(sv[0]), 1e-300):
        return "degenerate", "the vertices are collinear: they span no area"
    u, v, normal = vt[0], vt[1], np.cross(vt[0], vt[1])
    off = float(np.abs(d @ normal).max())
    if off > PLANARITY_EPS:
        return "non_planar", f"vertices lie up to {off:.3g} m off their plane (max {PLANARITY_EPS:g} m)"
    flat = np.stack([d @ u, d @ v], axis=1)
    hull = _quad_hull(flat)
    if hull is None:
        hull = _convex_hull(flat)
    if hull.shape[0] < 3:
        return "degenerate", "the vertices span no area"
    edges = np.roll(hull, -1, axis=0) - hull
    edges = edges / np.linalg.norm(edges, axis=1, keepdims=True)
    across = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
    areas = np.empty(edges.shape[0])
    step = max(1, (1 << 22) // hull.shape[0])  # O(h²) over the hull only, in blocks of ≤ 4M products
    for start in range(0, edges.shape[0], step):
        block = slice(start, start + step)
        areas[block] = np.ptp(hull @ edges[block].T, axis=0) * np.ptp(hull @ across[block].T, axis=0)
    k = int(np.argmin(areas))
    e, f = edges[k], across[k]
    # Doorways stand upright: the rectangle with sides along the plane's vertical (+Y projected
    # into it) is taken when it is within UPRIGHT_SLACK of the minimum (a 32-gon's minimum is
    # turned by half an edge, 0.5 % smaller). Horizontal planes have no vertical: the minimum.
    vertical = np.array([u[1], v[1]])
    if float(np.linalg.norm(vertical)) > 0.1:
        f_up = vertical / np.linalg.norm(vertical)
        e_up = np.array([f_up[1], -f_up[0]])  # (e_up, f_up) counter-clockwise, like (e, f)
        upright_area = float(np.ptp(hull @ e_up) * np.ptp(hull @ f_up))
        if upright_area <= areas[k] * (1 + UPRIGHT_SLACK):
            e, f = e_up, f_up
    a, b = flat @ e, flat @ f
    corners2 = np.array([[a.min(), b.min()], [a.max(), b.min()], [a.max(), b.max()], [a.min(), b.max()]])
    area = float(np.ptp(a) * np.ptp(b))
    if area < AREA_EPS:
        return "degenerate", f"the outline spans {area:.3g} m², below {AREA_EPS:g} m²"
    # (e, f) is counter-clockwise in (u, v), so the ring winds around u × v = normal.
    plane2 = corners2[:, :1] * e + corners2[:, 1:] * f  # back to (u, v) coordinates
    quad = centre + plane2[:, :1] * u + plane2[:, 1:] * v
    return quad, normal


def _convex_hull(flat: F64) -> F64:
    """The convex hull of (n, 2) points, counter-clockwise, without collinear vertices.

    Points strictly inside the polygon of the extreme points in 360 directions are dropped with
    numpy first (chunks of 4,096 rows); Andrew's monotone chain then runs on what is left: the
    boundary, a few dozen points for a Blender grid or n-gon.
    """
    angles = np.arange(_DIRECTIONS) * (2 * np.pi / _DIRECTIONS)
    dirs = np.stack([np.cos(angles), np.sin(angles)])  # (2, K)
    best_value = np.full(_DIRECTIONS, -np.inf)
    best_index = np.zeros(_DIRECTIONS, np.int64)
    for start in range(0, flat.shape[0], _CHUNK):
        proj = flat[start : start + _CHUNK] @ dirs
        arg = proj.argmax(axis=0)
        value = proj[arg, np.arange(_DIRECTIONS)]
        better = value > best_value
        best_value[better], best_index[better] = value[better], arg[better] + start
    ring = best_index[np.r_[True, best_index[1:] != best_index[:-1]]]  # extreme points in angular order
    if ring.shape[0] > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]
    inner = flat[ring]
    keep = np.ones(flat.shape[0], bool)
    if inner.shape[0] >= 3:
        edge = np.roll(inner, -1, axis=0) - inner
        scale = float(np.abs(flat).max()) ** 2
        for start in range(0, flat.shape[0], _CHUNK):
            rel = flat[start : start + _CHUNK, None, :] - inner[None]
            cross = edge[None, :, 0] * rel[:, :, 1] - edge[None, :, 1] * rel[:, :, 0]
            keep[start : start + _CHUNK] = ~(cross > 1e-12 * scale).all(axis=1)
    rest = distinct_rows(np.round(flat[keep], 12))  # sorted by x, then y
    if rest.shape[0] < 3:
        return rest
    lower, upper = _chain(rest), _chain(rest[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _chain(points: Any) -> list[Any]:
    """One half of Andrew's monotone chain over ``points`` sorted by x, then y: left turns only."""
    out: list[Any] = []
    for q in points:
        while len(out) >= 2:
            a, b = out[-2], out[-1]
            if (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0]) > 0:
                break
            out.pop()
        out.append(q)
    return out


def _quad_hull(flat: F64) -> F64 | None:
    """What :func:`_convex_hull` gives for 4 points forming a clearly convex quad (Blender's Plane),
    found without its 360-direction filter (most of a portal's cost); ``None`` for anything else.

    The filter drops only points strictly inside the polygon of the extreme points, and no corner
    of a convex quad is: so the hull is the monotone chain over the same rounded, sorted points,
    with the same arithmetic, and the same array. "Clearly": each turn's cross product is above
    ``_QUAD_TURN`` × the squared extent, far from where rounding could make the two disagree.
    """
    if flat.shape[0] != 4:
        return None
    rows = sorted(map(tuple, np.round(flat, 12).tolist()))  # np.unique's order: by x, then y
    if len(set(rows)) != 4:
        return None
    lower, upper = _chain(rows), _chain(rows[::-1])
    ring = lower[:-1] + upper[:-1]
    if len(ring) != 4:
        return None
    least = _QUAD_TURN * max(abs(x) for row in rows for x in row) ** 2
    for k in range(4):
        (ax, ay), (bx, by), (cx, cy) = ring[k - 1], ring[k], ring[(k + 1) % 4]
        if (bx - ax) * (cy - ay) - (by - ay) * (cx - ax) <= least:
            return None
    return np.array(ring)


def _lowest_edge_first(quad: F64) -> F64:
    """``quad`` rotated to start at its lowest edge (by mean y, then x, then z): a canonical ring."""
    mid = (quad + np.roll(quad, -1, axis=0)) / 2
    keys = np.round(mid, 6)
    start = int(np.lexsort((keys[:, 2], keys[:, 0], keys[:, 1]))[0])
    return np.ascontiguousarray(np.roll(quad, -start, axis=0))


def _mesh_points(doc: GltfDocument, m: int, world: F64) -> tuple[F64, F64]:
    """Every vertex of mesh ``m`` in world space (of its point and line primitives too), and the
    mesh's area-weighted face normal (world; zero for a wire outline: the cells' boxes decide).

    The normal is the side a renderer draws as the front: under a mirroring ``world`` (negative
    determinant) glTF takes the winding as clockwise (spec §3.7.4), so the sum is turned around.
    """
    points, normal = [], np.zeros(3)
    for prim in doc.primitives(m, points_and_lines=True):  # a wire outline is an outline too
        p = prim.positions @ world[:3, :3].T + world[:3, 3]
        points.append(p)
        for start in range(0, prim.triangles.shape[0], _CHUNK * 64):  # bounded temporaries
            t = p[prim.triangles[start : start + _CHUNK * 64]]
            normal += np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]).sum(axis=0)
    if det3(world[:3, :3]) < 0:
        normal = -normal
    return (np.concatenate(points) if points else np.zeros((0, 3))), normal


def _portal(
    doc: GltfDocument, i: int, world: F64, extras: dict[str, Any], src: str, cells: dict[str, Cell], errors: list[Issue]
) -> tuple[str, str, F64, bool, F64 | None] | None:
    """(from, to, quad, oneWay, normal hint) of portal node ``i``; the normal hint is None for a
    quad given in the extras (taken as written), else the outline's normal and the mesh's own."""
    label = _node_label(doc, i)
    ends = []
    for key in ("from", "to"):
        value = extras.get(key)
        if not isinstance(value, str) or not value:
            message = f"portal {label} needs {key!r}: a cellId string; got {_given(value)}"
            if value is None:
                message += _other_half(doc, i, src, key)
            errors.append(Issue(f"{src}/{key}", "portal_invalid", message))
        elif value not in cells:
            known = ", ".join(repr(c) for c in list(cells)[:5]) + (", …" if len(cells) > 5 else "")
            message = f"portal {label} names cell {value!r} in {key!r}, which no node tags (cells: {known or 'none'})"
            errors.append(Issue(f"{src}/{key}", "unknown_cell", message))
        else:
            ends.append(value)
    one_way = extras.get("oneWay", False)
    if one_way not in (True, False, 0, 1):  # Blender 3.x stores boolean properties as 0 / 1
        message = f"portal {label} has oneWay {_given(one_way)}; it must be true or false"
        errors.append(Issue(f"{src}/oneWay", "portal_invalid", message))
    if ends and len(ends) == 2 and ends[0] == ends[1]:
        message = f"portal {label} joins cell {ends[0]!r} to itself"
        errors.append(Issue(f"{src}/to", "self_portal", message))
        return None
    hint: F64 | None
    if "quad" in extras:
        quad = _extras_quad(extras["quad"], world, f"{src}/quad", label, errors)
        if quad is None:
            return None
        hint = None
    else:
        m = doc.node_mesh(i)
        if m is None:
            message = (
                f"portal {label} has no mesh and no 'quad' in its extras to give its doorway (Blender exports an"
                " object without faces, only edges or points, with no mesh unless Include → Data → Mesh → Loose"
                " Edges / Loose Points is on: use_mesh_edges / use_mesh_vertices)"
            )
            errors.append(Issue(f"/nodes/{i}", "portal_no_mesh", message))
            return None
        points, face = _mesh_points(doc, m, world)
        if not np.isfinite(points).all():
            errors.append(Issue(f"/nodes/{i}/mesh", "portal_invalid", f"portal {label} has non-finite coordinates"))
            return None
        # Before the outline: out there its rounding alone (1e-16 of the extent) reads as non_planar or
        # degenerate. The rectangle holds every point, so a point past the range puts the quad past it too.
        if points.size and _out_of_range(points, f"/nodes/{i}", label, errors):
            return None
        outline = planar_outline(points)
        if isinstance(outline[0], str):
            code, what = outline
            errors.append(Issue(f"/nodes/{i}/mesh", str(code), f"portal {label}: {what}"))
            return None
        quad, normal = outline
        hint = np.stack([np.asarray(normal), face])
        if _out_of_range(quad, f"/nodes/{i}", label, errors):
            return None
    if len(ends) < 2:
        return None
    return ends[0], ends[1], quad, bool(one_way), hint


def _out_of_range(quad: F64, path: str, label: str, errors: list[Issue]) -> bool:
    """Whether the world-space ``quad`` reaches past ±MAX_COORDINATE (an error appended), as a
    description's quad may not: float32 keeps only centimetres out there."""
    from ..model.description import MAX_COORDINATE, past_extent

    reach = float(np.abs(quad).max())
    if reach <= MAX_COORDINATE:
        return False
    message = f"portal {label} lies {past_extent(reach)} m from the origin, beyond ±{MAX_COORDINATE:g} m"
    errors.append(Issue(path, "out_of_range", message))
    return True


def _extras_quad(value: Any, world: F64, path: str, label: str, errors: list[Issue]) -> F64 | None:
    from ..validate import check_quads

    numbers = isinstance(value, list) and len(value) == 12 and all(finite_number(x) for x in value)
    if not numbers:
        errors.append(
            Issue(path, "portal_invalid", f"portal {label}: quad must be 12 finite numbers; got {_given(value)}")
        )
        return None
    quad = np.asarray(value, dtype=np.float64).reshape(4, 3) @ world[:3, :3].T + world[:3, 3]
    if _out_of_range(quad, path, label, errors):
        return None
    for _, code, message in check_quads(quad[None]):
        errors.append(Issue(path, code, f"portal {label}: {message}"))
        return None
    return np.ascontiguousarray(quad)


def _orient(
    portals: list[Portal], hints: list[F64 | None], cells: dict[str, Cell], boxes: dict[str, F64]
) -> list[Portal]:
    """Outline quads turned to face ``to`` and started at their lowest edge; given quads as written."""
    out = []
    for p, hint in zip(portals, hints, strict=True):
        quad = p.quad
        if hint is not None:
            normal, face = hint
            sign = 0.0
            a, b = boxes.get(p.from_cell), boxes.get(p.to_cell)
            if a is not None and b is not None:
                towards = (b[:3] + b[3:]) / 2 - (a[:3] + a[3:]) / 2
                along = float(normal @ towards)
                if abs(along) > 1e-9 * max(float(np.linalg.norm(towards)), 1e-300):
                    sign = along
            if sign == 0.0:
                sign = float(normal @ face)
            if sign < 0:
                quad = quad[::-1]
            quad = _lowest_edge_first(quad)
        out.append(Portal(p.index, p.from_cell, p.to_cell, np.ascontiguousarray(quad), p.one_way))
    return out


def _z_up(portals: list[Portal], boxes: dict[str, F64]) -> bool:
    """Whether the doorways stand on their cells' floors along Z rather than Y (a Z-up export).

    A doorway stands on a floor along an axis when its bottom is near the cell's bottom and its
    top well below the cell's top; the axis its quad faces along is not judged. Each portal
    votes once per cell it joins; Z must win the vote.
    """
    votes = {1: 0, 2: 0}
    for p in portals:
        normal = np.cross(p.quad[2] - p.quad[0], p.quad[3] - p.quad[1])
        normal = normal / max(float(np.linalg.norm(normal)), 1e-300)
        lo, hi = p.quad.min(axis=0), p.quad.max(axis=0)
        for cell in (p.from_cell, p.to_cell):
            box = boxes.get(cell)
            if box is None:
                continue
            standing = []
            for axis in (1, 2):
                height = box[3 + axis] - box[axis]
                if abs(normal[axis]) > 0.5 or height <= 0:
                    continue
                if lo[axis] - box[axis] <= _FLOOR_GAP * height and box[3 + axis] - hi[axis] >= _HEADROOM * height:
                    standing.append(axis)
            if len(standing) == 1:
                votes[standing[0]] += 1
    return votes[2] > votes[1]


# -- the document ---------------------------------------------------------------------------


def _has_extras(doc: GltfDocument) -> bool:
    items = [*doc.nodes, *doc.meshes, *doc.scenes]
    return any(doc.extras(item) for item in items)


def _repeated(items: list[int]) -> set[int]:
    """The values that occur more than once in ``items``."""
    seen: set[int] = set()
    return {x for x in items if x in seen or seen.add(x)}  # type: ignore[func-returns-value]


def _scene_read(doc: GltfDocument) -> str:
    """``; only scene 0 'Empty' of 2 is read (…)`` when the file has several scenes, else ``""``."""
    s = doc.scene_index()
    if s is None or len(doc.scenes) < 2:
        return ""
    name = doc.scenes[s].get("name") if isinstance(doc.scenes[s], dict) else None
    label = f"scene {s} {name!r}" if isinstance(name, str) else f"scene {s}"
    why = "the one its 'scene' names" if "scene" in doc.json else "the first: the file names no default 'scene'"
    return f"; only {label} of {len(doc.scenes)} scenes is read ({why})"


def _cell_geometry(doc: GltfDocument, i: int, m: int, world: F64, cell: Cell) -> None:
    """Mesh ``m`` of node ``i`` into ``cell``: placed by ``world``, or once per EXT_mesh_gpu_instancing copy."""
    node = doc.node(i)
    extensions = node.get("extensions")
    ext = extensions.get(_INSTANCING) if isinstance(extensions, dict) else None
    if not isinstance(ext, dict):
        cell.surfaces.extend(doc.mesh_surfaces(m, world, DEFAULT_MATERIAL, f"/nodes/{i}"))
        return
    from .built_glb import instance_matrices

    local = instance_matrices(doc, node, f"/nodes/{i}")
    assert local is not None
    transforms = world @ local
    if not np.isfinite(transforms).all():
        raise SceneInvalid(
            [Issue(f"/nodes/{i}/extensions/{_INSTANCING}", "glb_invalid", "non-finite instance transform")]
        )
    surfaces = tuple(doc.mesh_surfaces(m, np.eye(4), DEFAULT_MATERIAL, f"/nodes/{i}"))
    name = doc.node(i).get("name")
    key = f"glb:{name}" if isinstance(name, str) else f"glb:node{i}"
    cell.instances.append(InstanceGroup(cell.cell_id, key, surfaces, np.ascontiguousarray(transforms)))


def _instanced(doc: GltfDocument, i: int) -> bool:
    """Whether node ``i`` is drawn with EXT_mesh_gpu_instancing (:func:`_cell_geometry` makes it an instance group)."""
    extensions = doc.node(i).get("extensions")
    return isinstance(extensions, dict) and isinstance(extensions.get(_INSTANCING), dict)


def _instance_count(doc: GltfDocument, i: int) -> int:
    node = doc.node(i)
    extensions = node.get("extensions")
    ext = extensions.get(_INSTANCING) if isinstance(extensions, dict) else None
    attrs = ext.get("attributes") if isinstance(ext, dict) else None
    if not isinstance(attrs, dict) or not attrs:
        return 1
    counts = []
    for value in attrs.values():
        acc = doc.accessors[value] if isinstance(value, int) and 0 <= value < len(doc.accessors) else None
        count = acc.get("count") if isinstance(acc, dict) else None
        counts.append(count if isinstance(count, int) and count >= 0 else 0)
    return max(counts, default=1)


def _decompressed(data: bytes, limits: Limits) -> bytes:
    """``data`` with EXT_meshopt_compression views decoded (the project's own ``--compress`` output),
    once their decoded size is known to fit ``SCENEFORGE_MAX_UPLOAD_BYTES``; other files unchanged."""
    from .built_glb import decode_meshopt

    return decode_meshopt(data, max_bytes=limits.max_upload_bytes)


def _ingest(data: bytes, limits: Limits) -> tuple[SceneIR, list[Issue]]:
    # The JSON chunk is held to the limit of a JSON description: a GLB may carry 256 MiB of binary
    # data, but parsed JSON costs ~25 bytes of memory per byte and the node walk ~25 µs per node.
    text = int.from_bytes(data[12:16], "little") if len(data) >= 20 else 0
    if limits.max_body_bytes < text <= len(data) - 20:  # a length past the file's end: the reader says so
        raise LimitExceeded(
            "SCENEFORGE_MAX_BODY_BYTES", text, limits.max_body_bytes, what="the GLB's JSON chunk (bytes)"
        )
    decoded = _decompressed(data, limits)
    doc = parse_glb(decoded)
    doc.counted_bytes, doc.max_bytes = len(decoded), limits.max_upload_bytes
    # Every material is read and lowered (~7 µs and ~500 bytes each), used or not: counted before any is.
    if len(doc.materials) > limits.max_materials:
        raise LimitExceeded(
            "SCENEFORGE_MAX_MATERIALS",
            len(doc.materials),
            limits.max_materials,
            path="/materials",
            what="material count",
        )
    if len(doc.nodes) > limits.max_glb_nodes:  # each walked (~25 µs) and its mesh read (~0.1 ms)
        raise LimitExceeded(
            "SCENEFORGE_MAX_GLB_NODES", len(doc.nodes), limits.max_glb_nodes, path="/nodes", what="node count"
        )
    errors: list[Issue] = []
    warnings: list[Issue] = []
    scene_id, props = _scene_id(doc, errors, limits)
    walk = list(doc.walk())
    tags = {i: _tag(doc, i) for i, _, _ in walk}
    errors.extend(issue for i, _, _ in walk if (issue := _misread_tag(doc, i, tags[i][0])) is not None)

    cells: dict[str, Cell] = {}
    owner_of: dict[int, str] = {}
    parent_of = {i: parent for i, _, parent in walk}
    for i, _, _ in walk:
        kind, extras, src = tags[i]
        if kind != "cell":
            continue
        cell_id = extras.get("cellId")
        if not isinstance(cell_id, str) or not _ID.fullmatch(cell_id):
            given = _given(cell_id)
            if isinstance(cell_id, str) and len(cell_id) > 128:
                given = f"{len(cell_id):,} characters, {given}"
            message = f"cell {_node_label(doc, i)} needs 'cellId': 1–128 printable characters; got {given}"
            if cell_id is None:
                message += _other_half(doc, i, src, "cellId")
            errors.append(Issue(f"{src}/cellId", "cell_id_invalid", message))
        elif cell_id in cells:
            first = int(cells[cell_id].path.rsplit("/", 1)[1])
            message = f"cell {_node_label(doc, i)} reuses cellId {cell_id!r} of {_node_label(doc, first)}"
            message += _copied_tag(doc, (first, i), (tags[first][2], src), parent_of)
            errors.append(Issue(f"{src}/cellId", "duplicate_cell_id", message))
        else:
            cells[cell_id] = Cell(cell_id=cell_id, path=f"/nodes/{i}")
            owner_of[i] = cell_id
    if len(cells) > limits.max_cells:
        raise LimitExceeded("SCENEFORGE_MAX_CELLS", len(cells), limits.max_cells, path="/nodes", what="cells")
    # Counted from the tags alone, before any portal mesh is decoded or outlined (~0.5 ms each).
    portal_count = sum(tags[i][0] == "portal" for i, _, _ in walk)
    if portal_count > limits.max_portals:
        raise LimitExceeded("SCENEFORGE_MAX_PORTALS", portal_count, limits.max_portals, path="/nodes", what="portals")
    if not cells and not errors:
        if not _has_extras(doc):
            message = (
                "the GLB has no extras at all, so no cell or portal tags: export it with custom properties "
                "(Blender: File → Export → glTF 2.0, Include → Custom Properties; export_extras=True)"
            )
            errors.append(Issue("/nodes", "no_extras", message))
        else:
            tagged = [(i, tags[i]) for i, _, _ in walk if tags[i][1]]
            given = "; ".join(f"{_node_label(doc, i)} {_given(extras)}" for i, (_, extras, _) in tagged[:3])
            message = 'no node is tagged as a cell (extras {"type": "cell", "cellId": …})'
            message = f"{message}; extras given: {given or 'none on nodes'}{_scene_read(doc)}"
            errors.append(Issue("/nodes", "no_cells", message))

    geometry: list[tuple[int, F64, str, int]] = []
    portal_nodes: list[tuple[int, F64]] = []
    nearest: dict[int, str | None] = {}  # node → the cell owning it: its own tag, else its parent's owner
    for i, world, parent in walk:
        owner = owner_of[i] if i in owner_of else None if parent is None else nearest[parent]
        nearest[i] = owner
        m = doc.node_mesh(i)
        if tags[i][0] == "portal":
            portal_nodes.append((i, world))
        elif m is not None and owner is None:
            message = f"mesh {_node_label(doc, i)} is not below a cell node; it is ignored"
            warnings.append(Issue(f"/nodes/{i}", "mesh_outside_cell", message, "warning"))
        elif m is not None and owner is not None:
            geometry.append((i, world, owner, m))
    # Each node drawn with EXT_mesh_gpu_instancing becomes an instance group (a node and mesh of the output,
    # ~0.4 ms apiece), as an entry of a description's "instances" does: counted before any is read.
    groups = sum(_instanced(doc, i) for i, _, _, _ in geometry)
    if groups > limits.max_instance_groups:
        raise LimitExceeded(
            "SCENEFORGE_MAX_INSTANCE_GROUPS", groups, limits.max_instance_groups, "/nodes", "instance group count"
        )
    drawn = [m for _, _, _, m in geometry]
    doc.shared_meshes = _repeated(drawn)  # decoded once, however many nodes draw them
    triangles = sum(doc.primitive_triangles(m) * _instance_count(doc, i) for i, _, _, m in geometry)
    if triangles > limits.max_triangles:
        raise LimitExceeded(
            "SCENEFORGE_MAX_TRIANGLES", triangles, limits.max_triangles, path="/meshes", what="triangles"
        )
    # Portal meshes are decoded too (for their outline), though not built: bounded the same way, on their own.
    in_portals = sum(doc.primitive_triangles(m) for i, _ in portal_nodes if (m := doc.node_mesh(i)) is not None)
    if in_portals > limits.max_triangles:
        raise LimitExceeded(
            "SCENEFORGE_MAX_TRIANGLES", in_portals, limits.max_triangles, "/meshes", "triangles of portal meshes"
        )

    for i, world, owner, m in geometry:
        _cell_geometry(doc, i, m, world, cells[owner])
    for cell in cells.values():
        cell.surfaces = merge_by_material(cell.surfaces)

    portals: list[Portal] = []
    hints: list[F64 | None] = []
    for i, world in portal_nodes:
        _, extras, src = tags[i]
        found = _portal(doc, i, world, extras, src, cells, errors)
        if found is not None:
            portals.append(Portal(len(portals), found[0], found[1], found[2], found[3]))
            hints.append(found[4])
    if errors:
        raise SceneInvalid(errors)
    boxes = {c.cell_id: c.aabb() for c in cells.values() if c.surfaces or c.instances}
    boxes = {k: v for k, v in boxes.items() if np.isfinite(v).all()}
    portals = _orient(portals, hints, cells, boxes)
    if _z_up(portals, boxes):
        message = (
            "the doorways stand on their cells' floors along Z, not Y: the file looks Z-up (lying on its side); "
            "export with +Y up (Blender: Transform → +Y Up, export_yup=True)"
        )
        warnings.append(Issue("", "z_up", message, "warning"))
    if len(cells) >= 2 and not portal_nodes:
        # Nothing joins the cells: each one's PVS is itself alone. Tools that drop nodes without a mesh
        # (glTF-Transform's optimize) take a doorway given by its quad extras with them.
        message = (
            f"{len(cells)} cells and no portal node: each cell sees only itself; tag each doorway's node "
            '(extras {"type": "portal", "from": …, "to": …}). A tool that drops nodes without a mesh '
            "(glTF-Transform optimize without --prune false) removes the portals given by their quad extras"
        )
        warnings.append(Issue("/nodes", "no_portals", message, "warning"))

    warnings.extend(doc.warnings)  # found while decoding the cells' meshes (texcoord_missing)
    materials: dict[str, Material] = doc.read_materials(warnings)
    used = {s.material for c in cells.values() for s in c.surfaces}
    used |= {s.material for c in cells.values() for g in c.instances for s in g.surfaces}
    if DEFAULT_MATERIAL in used and DEFAULT_MATERIAL not in materials:
        materials[DEFAULT_MATERIAL] = Material(DEFAULT_MATERIAL)
    ir = SceneIR(scene_id=scene_id, cells=list(cells.values()), portals=portals, materials=materials, props=props)
    return ir, warnings


def glb_scene_id(data: bytes) -> str:
    """The scene id a tagged GLB declares (its JSON chunk only); :class:`SceneInvalid` when it is malformed."""
    errors: list[Issue] = []
    try:
        scene_id, _props = _scene_id(parse_glb(data), errors)
    except SceneInvalid:
        raise
    except DECODE_ERRORS as exc:  # as tagged_glb_to_ir: malformed bytes are never another exception (a 500)
        raise SceneInvalid([Issue("", "glb_invalid", f"the GLB does not decode: {exc}")]) from None
    if errors:
        raise SceneInvalid(errors)
    return scene_id


def tagged_glb_to_ir(data: bytes, limits: Limits) -> tuple[SceneIR, list[Issue]]:
    """Read a cell/portal-tagged GLB (see the module docstring) into a :class:`SceneIR`.

    Returns the IR and the warnings found. Raises :class:`SceneInvalid` listing every error
    (duplicate or missing cellId, a portal naming an unknown cell, a portal mesh that is not
    planar or spans no area, no extras at all, malformed GLB bytes — never another exception),
    and :class:`LimitExceeded` for more cells than ``limits.max_cells``, portal nodes than
    ``limits.max_portals``, materials than ``limits.max_materials``, instanced nodes than
    ``limits.max_instance_groups``, props than ``limits.max_props`` or triangles than ``limits.max_triangles`` (all
    counted before any geometry is decoded). Safe on untrusted bytes.
    """
    try:
        # Hostile numbers may overflow float math on the way; every output is checked for
        # finiteness (and float32 range) before it is used, so the floating-point warnings are noise.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return _ingest(data, limits)
    except SceneInvalid:
        raise
    except DECODE_ERRORS as exc:
        raise SceneInvalid([Issue("", "glb_invalid", f"the GLB does not decode: {exc}")]) from None
