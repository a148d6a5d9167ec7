"""Ingest a JSON scene description: bytes → :class:`SceneDescription` (here) → :class:`SceneIR` (:mod:`.lowering`).

Parsing turns every problem into an :class:`~sceneforge.errors.Issue` whose ``path`` is a
JSON pointer that exists in the input (a missing field is reported at the object that
lacks it), so editors can show each error in place; counts are held to their limits before the
schema is checked. :func:`description_to_ir`, the lowering to the IR, is re-exported from
:mod:`.lowering`, so the two steps are imported from one place.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from itertools import chain
from typing import Any

from pydantic import BaseModel, ValidationError

from .. import jsontext
from ..config import Limits
from ..errors import MAX_PATH_CHARS, Issue, LimitExceeded, RequestInvalid, SceneInvalid, listed
from ..model.description import (
    MAX_COORDINATE,
    MAX_ID_CHARS,
    NAME_PATTERNS,
    CellSpec,
    DoorSpec,
    InstanceSpec,
    MaterialSpec,
    MeshSpec,
    PortalSpec,
    RoomSpec,
    SceneDescription,
    coordinate_message,
    unprintable,
)
from ..wire import a_json_type, json_pointer, json_pointer_within, shown
from .lowering import AUTO_ROOM_SPACING, description_to_ir

__all__ = ["AUTO_ROOM_SPACING", "description_to_ir", "json_pointer", "parse_description"]


def _existing_prefix(doc: Any, tokens: list[Any]) -> tuple[list[Any], Any]:
    """The longest prefix of ``tokens`` that names a value present in ``doc``, and that value."""
    node, kept = doc, []
    for t in tokens:
        present = (isinstance(node, dict) and isinstance(t, str) and t in node) or (
            isinstance(node, list) and isinstance(t, int) and 0 <= t < len(node)
        )
        if not present:
            break
        node = node[t]
        kept.append(t)
    return kept, node


def _tokens(doc: Any, loc: tuple[int | str, ...]) -> list[Any]:
    """The pointer tokens of a pydantic ``loc``: without the schema tags pydantic inserts (``function-after[…]``,
    ``[key]``), but with the member names of ``doc`` that look like one (``{"[]": 0}``: its error is at ``/[]``)."""
    node, tokens = doc, []
    for t in loc:
        if isinstance(t, str) and t.endswith("]") and "[" in t and not (isinstance(node, dict) and t in node):
            continue
        tokens.append(t)
        present = (isinstance(node, dict) and isinstance(t, str) and t in node) or (
            isinstance(node, list) and isinstance(t, int) and 0 <= t < len(node)
        )
        node = node[t] if present else None
    return tokens


#: Lengths a description bounds from above (a room's ``height`` and ``wallThickness``, a door's ``width``
#: and ``height``): past the bound, the message says the unit.
_LENGTHS = frozenset({"height", "wallThickness", "width"})


def _length_message(name: str, value: Any, bound: float) -> str:
    """A length past its bound, in metres, and the likeliest reason: a scene written in another unit."""
    # Every digit the value was written with (a float's shortest repr): "1000.001 m is more than 1000 m", never
    # rounded onto its bound ("1000 m is more than 1000 m"); an integer of more digits than a float holds by its
    # first 17.
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown_value = repr(value)
    elif isinstance(value, int):
        shown_value = str(value) if abs(value) < 10**17 else f"{value:.17g}"
    else:
        shown_value = repr(value).removesuffix(".0")
    return (
        f"{name} {shown_value} m is more than {bound:g} m, the most it may be: lengths are in metres (a scene"
        " written in centimetres or millimetres needs scaling to metres)"
    )


def _issue_from_pydantic(doc: Any, error: Any) -> Issue:
    tokens = _tokens(doc, error["loc"])
    kept, value = _existing_prefix(doc, tokens)
    message = error["msg"].removeprefix("Value error, ")
    code = error["type"]
    bound = error.get("ctx", {}).get({"less_than_equal": "le", "greater_than_equal": "ge"}.get(code, ""))
    if bound is not None and abs(bound) == MAX_COORDINATE and len(kept) == len(tokens):
        code, message = "value_error", coordinate_message(value)  # a Coordinate past its bounds
    elif code == "less_than_equal" and tokens and tokens[-1] in _LENGTHS and len(kept) == len(tokens):
        message = _length_message(str(tokens[-1]), value, error["ctx"]["le"])
    elif code == "string_pattern_mismatch" and error["ctx"]["pattern"] in NAME_PATTERNS and len(kept) == len(tokens):
        # A name holding a control or invisible format character: which one and where, not the pattern (whose
        # class holds those very characters). A member's name (a material's, a prop's) is the last token.
        text = tokens[-1] if error["loc"][-1] == "[key]" else value
        why = unprintable(text) if isinstance(text, str) else None
        if why is not None:
            code, message = "unprintable_character", why
        else:  # an asset's name without its prefix (a name's pattern fails on such a character only)
            message = f"must be 'asset:<id>', got {shown(str(text))!r}"
    if error["type"] == "missing":
        message = f"{tokens[-1]} is required"
    elif error["type"] == "extra_forbidden":
        message = f"unknown field {shown(str(tokens[-1]))!r}"
    elif len(kept) < len(tokens):
        message = f"{json_pointer(tokens[len(kept) :]).lstrip('/')}: {message}"
    path, within = json_pointer_within(kept, MAX_PATH_CHARS)
    if within < len(kept):  # a pointer past the bound: its ancestor within it, the rest named (cut) in the message
        rest = [shown(str(t)) for t in kept[within : within + 3]]
        message = f"{'/'.join(rest)}{'/…' if len(kept) > within + 3 else ''}: {message}"
    return Issue(path, code, message)


def parse_description(data: bytes | str, limits: Limits | None = None, *, body: bool = False) -> SceneDescription:
    """Parse and structurally validate a description. Raises :class:`SceneInvalid` listing every problem.

    With ``limits``, the cell, portal, instance group, instance transform, material, prop, mesh and floor point
    counts (``SCENEFORGE_MAX_CELLS``, ``SCENEFORGE_MAX_PORTALS``, ``SCENEFORGE_MAX_INSTANCE_GROUPS``,
    ``SCENEFORGE_MAX_INSTANCE_TRANSFORMS``, ``SCENEFORGE_MAX_MATERIALS``, ``SCENEFORGE_MAX_PROPS``,
    ``SCENEFORGE_MAX_MESHES``, ``SCENEFORGE_MAX_FLOOR_POINTS``) are checked on the parsed JSON, before the schema
    validates each one (:class:`LimitExceeded`).

    ``body``: ``data`` is a request's body. A fault of its text — not UTF-8, not JSON, a member name twice, nesting
    past the parser, not an object — is then a :class:`RequestInvalid` worded as every endpoint taking JSON words
    it (``the body is not JSON: line 3 column 5: …``, ``body_not_object``), not a scene's; otherwise it is the
    description's (``the description is not JSON: …``, ``type_error``).
    """
    fault, subject = (RequestInvalid, "the body") if body else (SceneInvalid, "the description")
    if isinstance(data, bytes):
        try:  # RFC 8259 §8.1: JSON exchanged between systems is UTF-8 (json.loads would guess UTF-16/32 too)
            data = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            message = f"{subject} is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}"
            raise fault([Issue("", "json_invalid", message)]) from None
    try:  # a repeated member name is refused; NaN and Infinity are left to the schema (at their pointer)
        doc = jsontext.loads(data, finite=False, max_depth=None)
    except jsontext.JsonTextError as exc:
        raise fault([Issue(exc.pointer, exc.code, exc.message)]) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise fault([Issue("", "json_invalid", jsontext.not_json(exc, subject))]) from None
    if not isinstance(doc, dict):
        if body:
            message = f"the body must be a JSON object (a scene description), not {a_json_type(doc)}"
            raise RequestInvalid([Issue("", "body_not_object", message)])
        raise SceneInvalid([Issue("", "type_error", f"a scene description is a JSON object, not {a_json_type(doc)}")])
    if _is_gltf_json(doc):
        raise SceneInvalid([Issue("", "gltf_json", _GLTF_JSON_MESSAGE.format(version=_given(doc["asset"]["version"])))])
    if limits is not None:
        _check_counts(doc, limits)
    named = _names_only(doc)
    _refuse_wide(named)
    try:
        return SceneDescription.model_validate(named)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        raise SceneInvalid(listed((_issue_from_pydantic(doc, e) for e in errors), len(errors))) from None


def _members(model: type[BaseModel]) -> frozenset[str]:
    """The member names an object of ``model`` may have: its fields' names and aliases."""
    return frozenset(name for key, f in model.model_fields.items() for name in (key, f.alias) if name)


_CELL, _ROOM, _MESH = _members(CellSpec), _members(RoomSpec), _members(MeshSpec)
_PORTAL, _DOOR, _MATERIAL, _INSTANCE = (
    _members(PortalSpec),
    _members(DoorSpec),
    _members(MaterialSpec),
    _members(InstanceSpec),
)
_SCENE = _members(SceneDescription)


def _refuse_wide(doc: dict[str, Any]) -> None:
    """:class:`SceneInvalid` listing the unknown members of every object of the description with more members than
    its kind has fields (a cell of 2 million members): pydantic would make an error of each, ~1 kB apiece (2 GB for
    a 24 MiB body), before any could be refused. Listed as the schema would (``extra_forbidden`` at each unknown
    member), at most :data:`~sceneforge.errors.MAX_ISSUES`. Costs a ``len`` per object of the description."""
    if not _maybe_wide(doc):
        return
    wide = list(_wide_objects(doc))
    if not wide:
        return
    unknown = ((path, name) for path, value, allowed in wide for name in value if name not in allowed)
    # Counted from the few names a kind allows, not by a second pass over every member (millions).
    total = sum(len(value) - sum(name in value for name in allowed) for _, value, allowed in wide)
    issues = (
        Issue(
            json_pointer_within([*path, name], MAX_PATH_CHARS)[0], "extra_forbidden", f"unknown field {shown(name)!r}"
        )
        for path, name in unknown
    )
    raise SceneInvalid(listed(issues, total))


#: Where the objects whose members the schema fixes are, and the members each kind allows: the steps from the
#: description to them (a member's name; ``[]``: each item of a list; ``{}``: each value of an object of named
#: entries), an object's kind after its parent's, in the schema's order. :func:`_maybe_wide` and
#: :func:`_wide_objects` both follow it (as :data:`_ROOT`): the description's nesting is spelled here only.
_KINDS: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = (
    ((), _SCENE),
    (("cells", "[]"), _CELL),
    (("cells", "[]", "room"), _ROOM),
    (("cells", "[]", "meshes", "[]"), _MESH),
    (("portals", "[]"), _PORTAL),
    (("portals", "[]", "door"), _DOOR),
    (("instances", "[]"), _INSTANCE),
    (("materials", "{}"), _MATERIAL),
)


_Wide = Iterator[tuple[list[Any], dict[str, Any], frozenset[str]]]
#: A place of :data:`_KINDS`: the members its objects' kind allows (None: a list or object holding them), and the
#: places one step further, each step once, in the table's order.
_Place = tuple[frozenset[str] | None, tuple[tuple[str, "_Place"], ...]]


def _place(steps: tuple[str, ...]) -> _Place:
    """The place :data:`_KINDS` reaches by ``steps``, and those under it."""
    after = dict.fromkeys(k[len(steps)] for k, _ in _KINDS if len(k) > len(steps) and k[: len(steps)] == steps)
    return dict(_KINDS).get(steps), tuple((step, _place((*steps, step))) for step in after)


#: :data:`_KINDS` as a tree, from the description: what :func:`_maybe_wide` and :func:`_wide_objects` follow.
_ROOT = _place(())


def _maybe_wide(doc: dict[str, Any]) -> bool:
    """False when no object of ``doc`` can be wide (:func:`_wide_objects`), found by lengths taken in C (0.4 ms for a
    1,000-cell office, against 1 ms for the walk); True when one may be (or an item is not an object: the walk
    decides)."""
    try:
        return _may_be_wide([doc], _ROOT)
    except (TypeError, AttributeError):  # an item that is not an object (the schema refuses it) or has no length
        return True


def _may_be_wide(values: list[Any], place: _Place) -> bool:
    """Whether an object of ``values`` (every value at ``place``), or one under them, may be wide: a step to every
    value one place further at once (the cells once, for the cells, their rooms and their meshes), in C."""
    allowed, below = place
    if allowed is not None and max(map(len, values), default=0) > len(allowed):
        return True
    for step, further in below:
        if step == "[]":
            one = len(values) == 1 and isinstance(values[0], list)
            reached = values[0] if one else list(chain.from_iterable(values))  # one list (the cells): no copy
        elif step == "{}":  # only the objects: a material may be a colour string ("#6f7f99", 7 characters)
            reached = list(filter(dict.__instancecheck__, chain.from_iterable(map(dict.values, values))))
        elif len(values) == 1:  # a member of the description, or of its one cell
            reached = [member] if (member := values[0].get(step)) else []
        else:
            reached = list(filter(None, map(operator.methodcaller("get", step), values)))
        if reached and _may_be_wide(reached, further):
            return True
    return False


def _wide_objects(doc: dict[str, Any]) -> _Wide:
    """(path, object, allowed members) of each object of ``doc`` whose kind it has more members than fields for,
    depth first (the schema's order), following :data:`_KINDS`."""
    return _wide_under(doc, [], _ROOT)


def _wide_under(value: Any, path: list[Any], place: _Place) -> _Wide:
    """:func:`_wide_objects` of ``value``, at ``path`` and ``place``; a value that is not what a step expects (a cell
    that is no object) has nothing under it."""
    allowed, below = place
    if allowed is not None and isinstance(value, dict) and len(value) > len(allowed):
        yield path, value, allowed
    for step, further in below:
        if step == "[]":
            items: Any = enumerate(value) if isinstance(value, list) else ()
        elif step == "{}":
            items = value.items() if isinstance(value, dict) else ()
        else:
            items = ((step, value[step]),) if isinstance(value, dict) and step in value else ()
        kind, deeper = further
        if deeper or kind is None:
            for key, item in items:
                yield from _wide_under(item, [*path, key], further)
        else:  # nothing under these (rooms, meshes, doors, instances, materials): checked here, no walk each
            for key, item in items:
                if isinstance(item, dict) and len(item) > len(kind):
                    yield [*path, key], item, kind


def _names_only(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with the value of each material whose name is too long to be an id replaced by ``{}``: the schema
    refuses the name, and pydantic copies a member's name into every error it finds under it (a 100 kB name over
    2,000 unknown members had been 200 MB of errors); the value is checked once the name is one."""
    materials = doc.get("materials")
    if not isinstance(materials, dict) or all(len(name) <= MAX_ID_CHARS for name in materials):
        return doc
    return {**doc, "materials": {k: {} if len(k) > MAX_ID_CHARS else v for k, v in materials.items()}}


#: A glTF JSON document (Blender's *glTF Separate* / *glTF Embedded*, a ``.gltf``) is not read as a tagged
#: level: only GLB (``glTF`` magic) is. Said once, rather than as the schema's "unknown field 'asset'", ….
_GLTF_JSON_MESSAGE = (
    "this is a glTF JSON document (a .gltf file, asset version {version}), not a scene description; a tagged"
    " level is read from a binary glTF (.glb) only: export it as glTF Binary (Blender: File → Export → glTF 2.0,"
    " Format: glTF Binary (.glb); export_format='GLB', with Include → Custom Properties, export_extras=True)"
)


def _is_gltf_json(doc: dict[str, Any]) -> bool:
    """Whether ``doc`` is a glTF JSON document: its required ``asset`` object with a ``version``, and no ``cells``
    (a description has no ``asset`` member; its schema refuses one)."""
    asset = doc.get("asset")
    return isinstance(asset, dict) and "version" in asset and "cells" not in doc


def _given(value: Any) -> str:
    """A short rendering of a value for messages: its repr, cut at 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_counts(doc: dict[str, Any], limits: Limits) -> None:
    """:class:`LimitExceeded` for more ``cells``, ``portals``, ``instances``, ``materials``, ``props``, instance
    transforms (every ``instances[].transforms`` together), meshes (every ``cells[].meshes``) or floor points (every
    ``cells[].room.floor``) than ``limits`` allow, from the containers' lengths."""
    for key, setting, maximum, what in (
        ("cells", "SCENEFORGE_MAX_CELLS", limits.max_cells, "cell count"),
        ("portals", "SCENEFORGE_MAX_PORTALS", limits.max_portals, "portal count"),
        ("instances", "SCENEFORGE_MAX_INSTANCE_GROUPS", limits.max_instance_groups, "instance group count"),
    ):
        items = doc.get(key)
        if isinstance(items, list) and len(items) > maximum:
            raise LimitExceeded(setting, len(items), maximum, path=f"/{key}", what=what)
    for key, setting, maximum, what in (
        ("materials", "SCENEFORGE_MAX_MATERIALS", limits.max_materials, "material count"),
        ("props", "SCENEFORGE_MAX_PROPS", limits.max_props, "prop count"),
    ):
        entries = doc.get(key)
        if isinstance(entries, dict) and len(entries) > maximum:
            raise LimitExceeded(setting, len(entries), maximum, path=f"/{key}", what=what)
    instances = doc.get("instances")
    if isinstance(instances, list):
        placed = (i.get("transforms") for i in instances if isinstance(i, dict))
        copies = sum(len(t) for t in placed if isinstance(t, list))
        if copies > limits.max_instance_transforms:
            raise LimitExceeded(
                "SCENEFORGE_MAX_INSTANCE_TRANSFORMS",
                copies,
                limits.max_instance_transforms,
                path="/instances",
                what="instance transform count",
            )
    cells = doc.get("cells")
    if isinstance(cells, list):
        lists = (c.get("meshes") for c in cells if isinstance(c, dict))
        meshes = sum(len(m) for m in lists if isinstance(m, list))
        if meshes > limits.max_meshes:
            raise LimitExceeded("SCENEFORGE_MAX_MESHES", meshes, limits.max_meshes, path="/cells", what="mesh count")
        rooms = (c.get("room") for c in cells if isinstance(c, dict))
        floors = (r.get("floor") for r in rooms if isinstance(r, dict))
        points = sum(len(f) for f in floors if isinstance(f, list))
        if points > limits.max_floor_points:
            raise LimitExceeded(
                "SCENEFORGE_MAX_FLOOR_POINTS", points, limits.max_floor_points, path="/cells", what="floor point count"
            )
