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
  rectangle around its vertices in their plane (:func:`~.portal_outline.planar_outline`), its normal turned
  into ``to`` (judged by the two cells' box centres, else by the mesh's own face normals),
  starting at its lowest edge. A non-planar or degenerate mesh is an error naming the object.
- Mesh nodes outside every cell are ignored with a warning; a cell node owning no triangles (a tag on an
  Empty, a light, a camera) is kept with the warning ``empty_cell``, which says what the node is. A skinned
  mesh is placed by its joints (:meth:`~.gltf_document.GltfDocument.skin_matrices`), not by its node.
- Custom properties that look like a tag but are not one (a ``Type`` key, ``"type": "Cell"`` or
  ``"door"`` beside a ``cellId`` / ``from`` and ``to``, those keys without ``type``) are the error
  ``tag_invalid`` (:func:`~.glb_tags.misread_tag`): left alone, the node would silently be geometry or nothing.
- ``sceneId``: scene extras ``{"sceneforge": {"sceneId": …}}`` or ``{"sceneId": …}``, else the
  scene's name reduced to ``[A-Za-z0-9_-]``, else ``"scene"``. Scene extras ``{"props": {…}}``
  or ``{"sceneforge": {"props": {…}}}`` become the scene's props.

Blender exports +Y up glTF (``export_yup``, on by default), the IR's convention, so no axis
change is made; an export whose doorways stand on their cells' floors along Z rather than Y, or whose
cells have flat ends (floors, ceilings) along Z alone (:mod:`.up_axis`), gets the warning ``z_up``. A file
with no extras at all is refused with ``no_extras``, which says to turn the exporter's custom properties on; one whose
scene holds no node at all (an export of nothing) with ``no_cells``, saying so.
Every message names the node (and mesh) and says what was given; issue paths point into the glTF JSON
(``/nodes/5/extras/cellId``). The codes are listed in docs/scene-format.md. Cost: O(vertices) numpy work; the
outline of a portal mesh is O(vertices × 360) (extreme points in 360 directions), except a convex 4-vertex
one (Blender's Plane), whose hull is read directly (:func:`~.portal_outline._quad_hull`, the same result),
all portal nodes read together (:func:`~.glb_portals.portals`: 20–55 µs a node, not 0.25–0.5 ms). Portal
nodes are counted against ``SCENEFORGE_MAX_PORTALS``, materials against ``SCENEFORGE_MAX_MATERIALS``,
instanced nodes against ``SCENEFORGE_MAX_INSTANCE_GROUPS`` and the scene's props against ``SCENEFORGE_MAX_PROPS``
before any of them is read.

The modules, lowest first: :mod:`.glb_tags` (reading tags, naming nodes, the tags misread or copied, the
scene's id and props), :mod:`.portal_outline` (a portal mesh's rectangle), :mod:`.glb_portals` (portal
nodes: ends, quad, facing, the Z-up vote), :mod:`.up_axis` (the cells' Z-up votes), and this one: the walk over
the nodes (cells, their meshes and instances, portals, limits) and the entry, :func:`tagged_glb_to_ir`.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import numpy.typing as npt

from ..config import Limits
from ..errors import DECODE_ERRORS, Issue, LimitExceeded, SceneInvalid
from ..glb_magic import is_glb
from ..model.description import MAX_ID_CHARS, unprintable
from ..model.ir import DEFAULT_MATERIAL, Cell, InstanceGroup, Material, Portal, SceneIR
from .built_glb import instance_count, instance_matrices
from .glb_container import split_chunks
from .glb_portals import doorway_height, not_between, orient, z_up
from .glb_portals import portals as read_portals
from .glb_tags import copied_tag, misread_tag, node_label, number_hint, other_half, scene_id_and_props, tag, value_text
from .gltf_document import INSTANCING
from .gltf_json import load_json, obj
from .gltf_read import GltfDocument, parse_glb
from .portal_outline import UPRIGHT_SLACK, planar_outline
from .surfaces import merge_by_material
from .up_axis import flat_ended

__all__ = ["UPRIGHT_SLACK", "is_glb", "planar_outline", "tagged_glb_to_ir"]

F64 = npt.NDArray[np.float64]

#: ``mesh_outside_cell`` warnings named one by one; the others are counted in one more. One a node (200,000), they
#: reach the build's meta, stored and served with the scene: 20,000 stray nodes (0.7 MB) had made a meta of 3 MB.
_MAX_OUTSIDE_WARNINGS = 100
#: The median height of a level's upright doorways (m) outside which the build warns ``unit_scale``: doors are about
#: 2 m, gates and archways up to tens; a level modelled in centimetres and exported unscaled has them 100× (200 m).
_DOORWAY_HEIGHTS = (0.25, 50.0)


# -- portal outlines ------------------------------------------------------------------------


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


def _cell_geometry(doc: GltfDocument, i: int, m: int, world: F64, cell: Cell, worlds: dict[int, F64]) -> None:
    """Mesh ``m`` of node ``i`` into ``cell``: placed by ``world`` (by its skin's joints, from ``worlds``, when
    it has one), or once per EXT_mesh_gpu_instancing copy."""
    node = doc.node(i)
    if doc.instancing(i) is None:
        skin = doc.skin_matrices(i, worlds)
        cell.surfaces.extend(doc.mesh_surfaces(m, world, DEFAULT_MATERIAL, f"/nodes/{i}", skin))
        return
    local = instance_matrices(doc, node, f"/nodes/{i}")
    assert local is not None
    transforms = world @ local
    if not np.isfinite(transforms).all():
        raise SceneInvalid(
            [Issue(f"/nodes/{i}/extensions/{INSTANCING}", "glb_invalid", "non-finite instance transform")]
        )
    surfaces = tuple(doc.mesh_surfaces(m, np.eye(4), DEFAULT_MATERIAL, f"/nodes/{i}"))
    name = doc.node(i).get("name")
    key = f"glb:{name}" if isinstance(name, str) else f"glb:node{i}"
    cell.instances.append(InstanceGroup(cell.cell_id, key, surfaces, np.ascontiguousarray(transforms)))


def _empty_cell(doc: GltfDocument, cell: Cell, drawn: bool) -> str:
    """The ``empty_cell`` message of a cell node that owns no triangles, saying what the node is: a cell
    tag put on an Empty, a light or a camera without the room's mesh parented to it, or on a mesh (a curve,
    a wire) exported as points or lines."""
    i = int(cell.path.rsplit("/", 1)[1])
    node = doc.node(i)
    extensions = node.get("extensions")
    if drawn:
        what = "its meshes have no faces (only points or lines: a curve or a wire outline exports so)"
    elif "camera" in node:
        what = "it is a camera, with no mesh below it"
    elif isinstance(extensions, dict) and "KHR_lights_punctual" in extensions:
        what = "it is a light, with no mesh below it"
    else:
        what = "no mesh is drawn by its node or any node below it (an Empty, or an object exported without its mesh)"
    return (
        f"cell {cell.cell_id!r} {node_label(doc, i)} has no geometry: {what}; tag the room's mesh object instead, "
        "or parent the room's meshes to the tagged object (Blender: Ctrl+P, Object (Keep Transform))"
    )


def _decompressed(data: bytes, limits: Limits) -> bytes:
    """``data`` with EXT_meshopt_compression views decoded (the project's own ``--compress`` output),
    once their decoded size is known to fit ``SCENEFORGE_MAX_UPLOAD_BYTES``; other files unchanged."""
    from .built_glb import decode_meshopt

    return decode_meshopt(data, max_bytes=limits.max_upload_bytes)


def _json_chunk_bounded(data: bytes, limits: Limits) -> None:
    """Refuse a JSON chunk longer than ``SCENEFORGE_MAX_BODY_BYTES`` before it is parsed: a GLB may carry 256 MiB
    of binary data, but parsed JSON costs ~25 bytes of memory per byte and the node walk ~5 µs per node."""
    text = int.from_bytes(data[12:16], "little") if len(data) >= 20 else 0
    if limits.max_body_bytes < text <= len(data) - 20:  # a length past the file's end: the reader says so
        raise LimitExceeded(
            "SCENEFORGE_MAX_BODY_BYTES", text, limits.max_body_bytes, what="the GLB's JSON chunk (bytes)"
        )


def _ingest(data: bytes, limits: Limits) -> tuple[SceneIR, list[Issue]]:
    _json_chunk_bounded(data, limits)
    decoded = _decompressed(data, limits)
    doc = parse_glb(decoded)
    doc.bound_reads(len(decoded), limits.max_upload_bytes)
    # Every material is read and lowered (~7 µs and ~500 bytes each), used or not: counted before any is.
    if len(doc.materials) > limits.max_materials:
        raise LimitExceeded(
            "SCENEFORGE_MAX_MATERIALS",
            len(doc.materials),
            limits.max_materials,
            path="/materials",
            what="material count",
        )
    if len(doc.nodes) > limits.max_glb_nodes:  # each walked (~5 µs) and its mesh read (~0.1 ms)
        raise LimitExceeded(
            "SCENEFORGE_MAX_GLB_NODES", len(doc.nodes), limits.max_glb_nodes, path="/nodes", what="node count"
        )
    errors: list[Issue] = []
    warnings: list[Issue] = []
    scene_id, props = scene_id_and_props(doc, errors, limits)
    walk = list(doc.walk())
    tags = {i: tag(doc, i) for i, _, _ in walk}
    errors.extend(issue for i, _, _ in walk if (issue := misread_tag(doc, i, tags[i][0])) is not None)

    cells: dict[str, Cell] = {}
    owner_of: dict[int, str] = {}
    parent_of = {i: parent for i, _, parent in walk}
    for i, _, _ in walk:
        kind, extras, src = tags[i]
        if kind != "cell":
            continue
        cell_id = extras.get("cellId")
        # A description's rule for ids (1–128 characters, none of them unprintable), as a tagged GLB is one.
        why = unprintable(cell_id) if isinstance(cell_id, str) else None
        if not isinstance(cell_id, str) or not 0 < len(cell_id) <= MAX_ID_CHARS or why is not None:
            given = value_text(cell_id)
            if isinstance(cell_id, str) and len(cell_id) > MAX_ID_CHARS:
                given = f"{len(cell_id):,} characters, {given}"
            elif isinstance(cell_id, str) and why is not None:  # the id shown with the character escaped
                given = f"{json.dumps(cell_id)}: {why}"
            message = f"cell {node_label(doc, i)} needs 'cellId': 1–128 printable characters; got {given}"
            message += number_hint(cell_id)
            if cell_id is None:
                message += other_half(doc, i, src, "cellId")
            errors.append(Issue(f"{src}/cellId", "cell_id_invalid", message))
        elif cell_id in cells:
            first = int(cells[cell_id].path.rsplit("/", 1)[1])
            message = f"cell {node_label(doc, i)} reuses cellId {cell_id!r} of {node_label(doc, first)}"
            message += copied_tag(doc, (first, i), (tags[first][2], src), parent_of)
            errors.append(Issue(f"{src}/cellId", "duplicate_cell_id", message))
        else:
            cells[cell_id] = Cell(cell_id=cell_id, path=f"/nodes/{i}")
            owner_of[i] = cell_id
    if len(cells) > limits.max_cells:
        raise LimitExceeded("SCENEFORGE_MAX_CELLS", len(cells), limits.max_cells, path="/nodes", what="cells")
    # Counted from the tags alone, before any portal mesh is decoded or outlined (~20–55 µs each, read together).
    portal_count = sum(tags[i][0] == "portal" for i, _, _ in walk)
    if portal_count > limits.max_portals:
        raise LimitExceeded("SCENEFORGE_MAX_PORTALS", portal_count, limits.max_portals, path="/nodes", what="portals")
    if not cells and not errors:
        if not walk:
            # Not a missing tag: an export of no objects (Blender's Limit to → Selected Objects with nothing
            # selected) has no extras either, and was told to turn on custom properties that were on.
            message = (
                "the scene read holds no objects at all (no nodes): the export wrote nothing; in Blender, "
                "Limit to → Selected Objects with nothing selected, Visible Objects with everything hidden or "
                f"Active Collection on an empty collection leaves every object out{_scene_read(doc)}"
            )
            errors.append(Issue("/nodes", "no_cells", message))
        elif not _has_extras(doc):
            message = (
                "the GLB has no extras at all, so no cell or portal tags: export it with custom properties "
                "(Blender: File → Export → glTF 2.0, Include → Custom Properties; export_extras=True)"
            )
            errors.append(Issue("/nodes", "no_extras", message))
        else:
            tagged = [(i, tags[i]) for i, _, _ in walk if tags[i][1]]
            given = "; ".join(f"{node_label(doc, i)} {value_text(extras)}" for i, (_, extras, _) in tagged[:3])
            message = 'no node is tagged as a cell (extras {"type": "cell", "cellId": …})'
            message = f"{message}; extras given: {given or 'none on nodes'}{_scene_read(doc)}"
            errors.append(Issue("/nodes", "no_cells", message))

    geometry: list[tuple[int, F64, str, int]] = []
    portal_nodes: list[tuple[int, F64]] = []
    nearest: dict[int, str | None] = {}  # node → the cell owning it: its own tag, else its parent's owner
    outside = 0  # mesh nodes below no cell
    for i, world, parent in walk:
        owner = owner_of[i] if i in owner_of else None if parent is None else nearest[parent]
        nearest[i] = owner
        m = doc.node_mesh(i)
        if tags[i][0] == "portal":
            portal_nodes.append((i, world))
        elif m is not None and owner is None:
            outside += 1
            if outside <= _MAX_OUTSIDE_WARNINGS:
                message = f"mesh {node_label(doc, i)} is not below a cell node; it is ignored"
                warnings.append(Issue(f"/nodes/{i}", "mesh_outside_cell", message, "warning"))
        elif m is not None and owner is not None:
            geometry.append((i, world, owner, m))
    if outside > _MAX_OUTSIDE_WARNINGS:
        message = (
            f"{outside - _MAX_OUTSIDE_WARNINGS:,} more meshes are not below a cell node and are ignored "
            f"(the first {_MAX_OUTSIDE_WARNINGS} are named)"
        )
        warnings.append(Issue("/nodes", "mesh_outside_cell", message, "warning"))
    # Each node drawn with EXT_mesh_gpu_instancing becomes an instance group (a node and mesh of the output,
    # ~0.4 ms apiece), as an entry of a description's "instances" does: counted before any is read.
    groups = sum(doc.instancing(i) is not None for i, _, _, _ in geometry)
    if groups > limits.max_instance_groups:
        raise LimitExceeded(
            "SCENEFORGE_MAX_INSTANCE_GROUPS", groups, limits.max_instance_groups, "/nodes", "instance group count"
        )
    drawn = [m for _, _, _, m in geometry]
    outlined = [m for i, _ in portal_nodes if (m := doc.node_mesh(i)) is not None]
    # Decoded once, however many nodes draw them: one doorway plane placed 60,000 times (the portal limit)
    # was decoded again for each, a third of a 30 s build.
    doc.shared_meshes = _repeated(drawn) | _repeated(outlined)
    triangles = sum(doc.primitive_triangles(m) * instance_count(doc, i) for i, _, _, m in geometry)
    if triangles > limits.max_triangles:
        raise LimitExceeded(
            "SCENEFORGE_MAX_TRIANGLES", triangles, limits.max_triangles, path="/meshes", what="triangles"
        )
    # Each primitive a node draws is placed on its own (a transform and its checks, ~0.15 ms), however few triangles
    # it holds: a mesh of 1,000 one-triangle primitives drawn by 200 nodes (a 56 KB file) took 27 s. Counted with
    # the nodes, before any is placed.
    placed = sum(n * len(doc.primitive_json(m)) for m, n in Counter(drawn + outlined).items())
    if placed > limits.max_glb_nodes:
        what = "primitives the nodes draw (a node counted once per primitive of its mesh)"
        raise LimitExceeded("SCENEFORGE_MAX_GLB_NODES", placed, limits.max_glb_nodes, "/nodes", what)
    # Portal meshes are decoded too (for their outline), though not built: bounded the same way, on their own,
    # with the vertices of their points and lines (a wire doorway), which the outline reads as it reads triangles.
    in_portals = sum(
        doc.primitive_triangles(m, points_and_lines=True)
        for i, _ in portal_nodes
        if (m := doc.node_mesh(i)) is not None
    )
    if in_portals > limits.max_triangles:
        what = "triangles of portal meshes (each vertex of their points and lines counted as one)"
        raise LimitExceeded("SCENEFORGE_MAX_TRIANGLES", in_portals, limits.max_triangles, "/meshes", what)

    # A skinned mesh is placed by its joints' world matrices (Blender exports an armature's mesh so), not its node's.
    worlds = {i: world for i, world, _ in walk} if any("skin" in doc.node(i) for i, _, _, _ in geometry) else {}
    for i, world, owner, m in geometry:
        _cell_geometry(doc, i, m, world, cells[owner], worlds)
    owners = {owner for _, _, owner, _ in geometry}  # once: thousands of empty cells each asked again
    for cell in cells.values():
        cell.surfaces = merge_by_material(cell.surfaces)
        if not cell.surfaces and not cell.instances:
            drawn_here = cell.cell_id in owners
            warnings.append(Issue(cell.path, "empty_cell", _empty_cell(doc, cell, drawn_here), "warning"))

    found = read_portals(doc, portal_nodes, tags, cells, errors)
    if errors:  # one a node at most (200,000 nodes): SceneInvalid lists the first MAX_ISSUES
        raise SceneInvalid(errors)
    # Without errors every portal node gave its portal, in node order: each keeps its node for messages.
    portals = [
        Portal(
            k, a, b, quad, one_way, f"/nodes/{i}", name if isinstance(name := doc.node(i).get("name"), str) else None
        )
        for k, ((a, b, quad, one_way, _), (i, _)) in enumerate(zip(found, portal_nodes, strict=True))
    ]
    hints = [f[4] for f in found]
    boxes = {c.cell_id: c.aabb() for c in cells.values() if c.surfaces or c.instances}
    boxes = {k: v for k, v in boxes.items() if np.isfinite(v).all()}
    portals = orient(portals, hints, cells, boxes)
    for k in not_between(portals, boxes, cells):
        p = portals[k]
        message = (
            f"{p.label} does not stand between its cells: the line joining their centres runs along its plane"
            " (a doorway left lying flat, or turned into the wall's line?); turn it to face from one cell into"
            " the other"
        )
        warnings.append(Issue(p.pointer, "portal_not_between", message, "warning"))
    if z_up(portals, boxes, flat_ended(list(cells.values()))):
        message = (
            "the doorways stand on their cells' floors along Z, not Y: the file looks Z-up (lying on its side); "
            "export with +Y up (Blender: Transform → +Y Up, export_yup=True); exported so already, the level "
            "itself lies on its side in Blender (turned 90° about X: an Empty above the rooms, or a rotation "
            "applied to them): turn it upright"
        )
        warnings.append(Issue("", "z_up", message, "warning"))
    if (tall := doorway_height(portals)) is not None and not _DOORWAY_HEIGHTS[0] <= tall[0] <= _DOORWAY_HEIGHTS[1]:
        median, count = tall
        told = f"the doorways are {median:.3g} m tall (the median of {count}; a door is about 2 m)"
        if median > _DOORWAY_HEIGHTS[1]:
            message = (
                f"{told}: the level looks too large, lengths are read in metres. Blender's glTF exporter does not "
                "apply the scene's Unit Scale: a level modelled in centimetres with Unit Scale 0.01 exports 100× too "
                "large; scale the objects (or an Empty above them) by 0.01 instead"
            )
        else:
            message = (
                f"{told}: the level looks too small, lengths are read in metres; scale the objects (or an Empty "
                "above them) up before exporting"
            )
        warnings.append(Issue("", "unit_scale", message, "warning"))
    if len(cells) >= 2 and not portal_nodes:
        # Nothing joins the cells: each one's PVS is itself alone. Tools that drop nodes without a mesh
        # (glTF-Transform's optimize) take a doorway given by its quad extras with them.
        message = (
            f"{len(cells)} cells and no portal node: each cell sees only itself; tag each doorway's node "
            '(extras {"type": "portal", "from": …, "to": …}). A tool that drops nodes without a mesh '
            "(glTF-Transform optimize without --prune false) removes the portals given by their quad extras; "
            "Blender's Limit to → Visible Objects / Renderable Objects leaves out doorway planes hidden in the "
            "viewport / disabled in renders"
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


def glb_scene_id(data: bytes, limits: Limits) -> str:
    """The scene id a tagged GLB declares; :class:`SceneInvalid` when its JSON chunk is malformed.

    Read from the JSON chunk alone, held to ``SCENEFORGE_MAX_BODY_BYTES`` before it is parsed as a build holds
    it (:class:`LimitExceeded`): a request's GLB is asked for its id in the API process, where a chunk of the
    upload limit's 256 MiB would cost gigabytes. Its binary data, versions and extensions are the build's to
    check: a compressed file (``EXT_meshopt_compression`` required), which the build decodes, is not refused here.
    """
    errors: list[Issue] = []
    try:
        _json_chunk_bounded(data, limits)
        raw_json, _binary = split_chunks(bytes(data))
        doc = GltfDocument(obj(load_json(raw_json), ""), [])
        scene_id, _props = scene_id_and_props(doc, errors)
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
