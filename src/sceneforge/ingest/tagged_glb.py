"""A GLB exported from Blender with cell / portal tags → :class:`SceneIR` (DESIGN §2).

Tags are glTF ``extras``: Blender writes an object's custom properties to its node's extras
and a mesh-data block's custom properties to the mesh's extras, so a tag is read from the
node first, then from its mesh.

- ``{"type": "cell", "cellId": "hall"}``: the node owns every mesh in its subtree (itself
  included), placed by world transforms, merged to one surface per material. A cell nested in
  another cell's subtree owns its own subtree: the nearest tagged ancestor wins.
- ``{"type": "portal", "from": "hall", "to": "kitchen", "oneWay": false}`` on a mesh node: the
  first four world-space vertices of its mesh are the doorway quad; it is not geometry.
  Blender's plane primitive stores its corners in "Z" order (a crossed quad); such a quad is
  re-ordered into a ring, and a quad whose normal points from ``to`` back to ``from`` (judged
  by the two cells' box centres) is reversed, each with a warning, as DESIGN §2 wants the
  normal to point into ``to``.
- Mesh nodes outside every cell are ignored with a warning.
- ``sceneId``: scene extras ``{"sceneforge": {"sceneId": …}}`` or ``{"sceneId": …}``, else the
  scene's name reduced to ``[A-Za-z0-9_-]``, else ``"scene"``. Scene extras
  ``{"sceneforge": {"props": {…}}}`` become the scene's props.

Blender exports +Y up glTF, the IR's convention, so no axis change is made. Issue paths point
into the glTF JSON (``/nodes/5/extras/cellId``).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import numpy.typing as npt

from ..config import Limits
from ..errors import Issue, LimitExceeded, SceneInvalid
from ..model.ir import DEFAULT_MATERIAL, Cell, Material, Portal, SceneIR
from .gltf_read import GLB_MAGIC, GltfDocument, parse_glb
from .surfaces import merge_by_material

__all__ = ["is_glb", "tagged_glb_to_ir"]

F64 = npt.NDArray[np.float64]

_SCENE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_ID = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")
_DECODE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, ArithmeticError, RecursionError)
#: The quad orderings tried when the first four vertices cross over themselves ("Z" order).
_RINGS = ((0, 1, 2, 3), (0, 1, 3, 2), (0, 2, 1, 3))
#: A reordering must grow the quad's (doubled) area by this factor to be taken, so float noise
#: on a proper ring never reorders it.
_RING_GAIN = 1.5


def is_glb(data: bytes) -> bool:
    """Whether ``data`` starts with the GLB magic ``glTF`` (nothing else is checked)."""
    return bytes(data[:4]) == GLB_MAGIC


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
    name = doc.node(i).get("name")
    return f"node {i} ({name!r})" if isinstance(name, str) else f"node {i}"


def _scene_id(doc: GltfDocument, errors: list[Issue]) -> tuple[str, dict[str, str]]:
    s = doc.scene_index()
    scene = doc.scenes[s] if s is not None and isinstance(doc.scenes[s], dict) else {}
    extras = doc.extras(scene)
    ours = extras.get("sceneforge") if isinstance(extras.get("sceneforge"), dict) else {}
    props_raw = ours.get("props", {})
    props = (
        {k: v for k, v in props_raw.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(props_raw, dict)
        else {}
    )
    for value, path in ((ours.get("sceneId"), f"/scenes/{s}/extras/sceneforge/sceneId"),
                        (extras.get("sceneId"), f"/scenes/{s}/extras/sceneId")):  # fmt: skip
        if value is None:
            continue
        if isinstance(value, str) and _SCENE_ID.match(value):
            return value, props
        errors.append(Issue(path, "scene_id_invalid", "sceneId must be 1–64 of [A-Za-z0-9_-], starting alphanumeric"))
        return "scene", props
    name = scene.get("name")
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).lstrip("_-")[:64] if isinstance(name, str) else ""
    return cleaned or "scene", props


def _ring(quad: F64) -> tuple[F64, bool]:
    """``quad`` (4, 3) as a ring: the ordering of its corners with the largest diagonal cross product."""
    areas = [np.linalg.norm(np.cross(quad[r[2]] - quad[r[0]], quad[r[3]] - quad[r[1]])) for r in _RINGS]
    best = int(np.argmax(areas))
    if best != 0 and areas[best] > _RING_GAIN * areas[0]:
        return quad[list(_RINGS[best])], True
    return quad, False


def _portal(
    doc: GltfDocument, i: int, world: F64, extras: dict[str, Any], src: str, cells: dict[str, Cell], errors: list[Issue]
) -> tuple[str, str, F64, bool] | None:
    ends = []
    for key in ("from", "to"):
        value = extras.get(key)
        if not isinstance(value, str) or not value:
            errors.append(Issue(f"{src}/{key}", "portal_invalid", f"a portal needs '{key}': a cellId string"))
        elif value not in cells:
            errors.append(
                Issue(f"{src}/{key}", "unknown_cell", f"portal '{key}' names cell {value!r}, which no node tags")
            )
        else:
            ends.append(value)
    one_way = extras.get("oneWay", False)
    if one_way not in (True, False, 0, 1):  # Blender stores boolean properties as 0 / 1 in older versions
        errors.append(Issue(f"{src}/oneWay", "portal_invalid", "oneWay must be true or false"))
    m = doc.node_mesh(i)
    prims = doc.primitives(m) if m is not None else []
    if not prims:
        errors.append(
            Issue(f"/nodes/{i}", "portal_no_mesh", f"portal {_node_label(doc, i)} has no mesh to give its quad")
        )
        return None
    local = prims[0].positions
    if local.shape[0] < 4:
        message = f"a portal's mesh needs 4 vertices (its quad); {_node_label(doc, i)} has {local.shape[0]}"
        errors.append(Issue(f"/nodes/{i}/mesh", "portal_too_few_vertices", message))
        return None
    quad = local[:4] @ world[:3, :3].T + world[:3, 3]
    if not np.isfinite(quad).all():
        errors.append(Issue(f"/nodes/{i}/mesh", "portal_invalid", "the portal's quad has non-finite coordinates"))
        return None
    if len(ends) < 2:
        return None
    return ends[0], ends[1], quad, bool(one_way)


def _orient(portals: list[Portal], cells: dict[str, Cell], warnings: list[Issue], paths: list[str]) -> list[Portal]:
    """Portals whose quad is re-ordered into a ring and faces ``to`` (see the module docstring)."""
    out = []
    for p, path in zip(portals, paths, strict=True):
        quad, reordered = _ring(p.quad)
        if reordered:
            message = "the portal's first 4 vertices cross over; they were re-ordered into a ring"
            warnings.append(Issue(path, "portal_reordered", message, "warning"))
        a, b = cells[p.from_cell].aabb(), cells[p.to_cell].aabb()
        towards = (b[:3] + b[3:]) / 2 - (a[:3] + a[3:]) / 2
        normal = np.cross(quad[2] - quad[0], quad[3] - quad[1])
        if cells[p.from_cell].surfaces and cells[p.to_cell].surfaces and float(normal @ towards) < 0:
            quad = quad[::-1].copy()
            message = f"the portal's quad faced {p.from_cell!r}; its vertex order was reversed to face {p.to_cell!r}"
            warnings.append(Issue(path, "portal_reoriented", message, "warning"))
        out.append(Portal(p.index, p.from_cell, p.to_cell, np.ascontiguousarray(quad), p.one_way))
    return out


def _ingest(data: bytes, limits: Limits) -> tuple[SceneIR, list[Issue]]:
    doc = parse_glb(data)
    errors: list[Issue] = []
    warnings: list[Issue] = []
    scene_id, props = _scene_id(doc, errors)
    walk = list(doc.walk())
    tags = {i: _tag(doc, i) for i, _, _ in walk}

    cells: dict[str, Cell] = {}
    owner_of: dict[int, str] = {}
    for i, _, _ in walk:
        kind, extras, src = tags[i]
        if kind != "cell":
            continue
        cell_id = extras.get("cellId")
        if not isinstance(cell_id, str) or not _ID.match(cell_id):
            errors.append(
                Issue(f"{src}/cellId", "cell_id_invalid", "a cell needs 'cellId': 1–128 printable characters")
            )
        elif cell_id in cells:
            message = f"cellId {cell_id!r} is used again (first by {cells[cell_id].path.replace('/nodes/', 'node ')})"
            errors.append(Issue(f"{src}/cellId", "duplicate_cell_id", message))
        else:
            cells[cell_id] = Cell(cell_id=cell_id, path=f"/nodes/{i}")
            owner_of[i] = cell_id
    if len(cells) > limits.max_cells:
        raise LimitExceeded("SCENEFORGE_MAX_CELLS", len(cells), limits.max_cells, path="/nodes", what="cells")
    if not cells and not errors:
        errors.append(Issue("/nodes", "no_cells", 'no node is tagged as a cell (extras {"type":"cell","cellId":…})'))

    geometry: list[tuple[int, F64, str, int]] = []
    portal_nodes: list[tuple[int, F64]] = []
    for i, world, ancestors in walk:
        owner = next((owner_of[a] for a in (i, *reversed(ancestors)) if a in owner_of), None)
        m = doc.node_mesh(i)
        if tags[i][0] == "portal":
            portal_nodes.append((i, world))
        elif m is not None and owner is None:
            message = f"mesh {_node_label(doc, i)} is not below a cell node; it is ignored"
            warnings.append(Issue(f"/nodes/{i}", "mesh_outside_cell", message, "warning"))
        elif m is not None and owner is not None:
            geometry.append((i, world, owner, m))
    triangles = sum(doc.primitive_triangles(m) for _, _, _, m in geometry)
    if triangles > limits.max_triangles:
        raise LimitExceeded(
            "SCENEFORGE_MAX_TRIANGLES", triangles, limits.max_triangles, path="/meshes", what="triangles"
        )

    for i, world, owner, m in geometry:
        cells[owner].surfaces.extend(doc.mesh_surfaces(m, world, DEFAULT_MATERIAL, f"/nodes/{i}"))
    for cell in cells.values():
        cell.surfaces = merge_by_material(cell.surfaces)

    portals: list[Portal] = []
    portal_paths: list[str] = []
    for i, world in portal_nodes:
        _, extras, src = tags[i]
        found = _portal(doc, i, world, extras, src, cells, errors)
        if found is not None:
            portals.append(Portal(len(portals), found[0], found[1], found[2], found[3]))
            portal_paths.append(f"/nodes/{i}")
    if errors:
        raise SceneInvalid(errors)
    portals = _orient(portals, cells, warnings, portal_paths)

    materials: dict[str, Material] = doc.read_materials(warnings)
    used = {s.material for c in cells.values() for s in c.surfaces}
    if DEFAULT_MATERIAL in used and DEFAULT_MATERIAL not in materials:
        materials[DEFAULT_MATERIAL] = Material(DEFAULT_MATERIAL)
    ir = SceneIR(scene_id=scene_id, cells=list(cells.values()), portals=portals, materials=materials, props=props)
    return ir, warnings


def tagged_glb_to_ir(data: bytes, limits: Limits) -> tuple[SceneIR, list[Issue]]:
    """Read a cell/portal-tagged GLB (see the module docstring) into a :class:`SceneIR`.

    Returns the IR and the warnings found. Raises :class:`SceneInvalid` listing every error
    (duplicate or missing cellId, a portal naming an unknown cell or with fewer than 4
    vertices, malformed GLB bytes — never another exception), and :class:`LimitExceeded` for
    more cells than ``limits.max_cells`` or triangles than ``limits.max_triangles`` (counted
    before any geometry is decoded). Safe on untrusted bytes.
    """
    try:
        # Hostile numbers may overflow float math on the way; every output is checked for
        # finiteness (and float32 range) before it is used, so the floating-point warnings are noise.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return _ingest(data, limits)
    except SceneInvalid:
        raise
    except _DECODE_ERRORS as exc:
        raise SceneInvalid([Issue("", "glb_invalid", f"the GLB does not decode: {exc}")]) from None
