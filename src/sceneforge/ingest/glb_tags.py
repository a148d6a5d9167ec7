"""A tagged GLB's tags: where they are read, how messages show them, and why one is wrong.

A tag is a node's extras, else its mesh's (:func:`tag`: Blender writes an object's custom properties to
its node, a mesh-data block's to its mesh). Messages name an object as :func:`node_label` does and show a
value as :func:`value_text` does (JSON, cut at 60 characters). :func:`misread_tag` finds custom properties
that look like a tag but are not one (``tag_invalid``), :func:`other_half` a tag split between the object
and its mesh data, :func:`copied_tag` a cellId Blender copied (a linked duplicate, a ``.001`` copy, a
collection instanced twice). :func:`scene_id_and_props` reads the scene's id and props from its extras
(or its name), checked against the props limits. All of it reads the parsed document only: no geometry.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from ..config import Limits
from ..errors import Issue, LimitExceeded
from ..model.description import printable
from ..scene_ids import is_scene_id
from ..wire import json_pointer
from .gltf_read import GltfDocument

__all__ = [
    "copied_tag",
    "misread_tag",
    "node_label",
    "other_half",
    "scene_id_and_props",
    "tag",
    "unknown_cell",
    "value_text",
]


#: The ``.001`` Blender appends to the name of a copy.
_COPY_SUFFIX = re.compile(r"\.\d{3,}$")
#: The longest name messages quote whole (Blender's names are at most 63 bytes).
_NAME_CHARS = 64
#: The longest cell name a portal gives that is folded for :func:`unknown_cell`'s hint (a cellId has at most 128
#: characters, with spaces around it to spare) and quoted whole.
_FOLDED_CHARS = 1024


def _shown(value: Any, budget: list[int]) -> Any:
    """``value`` cut to its first ``budget[0]`` values (strings to 60 characters), depth first: each value shown
    writes at least one character of JSON, so the cut ones lie past the 60 characters :func:`value_text` shows."""
    budget[0] -= 1
    if isinstance(value, str):
        return value[:60]
    if isinstance(value, list):
        return [_shown(v, budget) for v in islice(value, max(budget[0], 0))]
    if isinstance(value, dict):
        return {str(k)[:60]: _shown(v, budget) for k, v in islice(value.items(), max(budget[0], 0))}
    return value


def value_text(value: Any) -> str:
    """A short rendering of an extras value for messages: JSON, cut at 60 characters. Only what those show is
    rendered: a list of a million numbers that a thousand nodes' shared mesh tags with took seconds a node.
    Letters of every script are shown as they are; control, bidirectional and other invisible format characters
    (:data:`~sceneforge.model.description.UNPRINTABLE`) as JSON escapes (``\\u202e``): a message echoed raw
    would read as other text than the file holds (Trojan Source)."""
    value = _shown(value, [60])
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)
    except (ValueError, TypeError, RecursionError):
        text = repr(value)
    text = printable(text)
    return text if len(text) <= 60 else text[:57] + "..."


def tag(doc: GltfDocument, i: int) -> tuple[str | None, dict[str, Any], str]:
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


def number_hint(value: Any) -> str:
    """For a cellId (or a portal's end) given as a number: Blender's custom property typed Int or Float."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return " (a number: cellIds are text; give the custom property the type String)"
    return ""


def _fold(cell_id: str) -> str:
    # NFC first: 'Küche' typed as 'u' and a combining diaeresis (NFD: macOS file names, some editors) looks the same.
    return unicodedata.normalize("NFC", cell_id).strip().casefold()


#: Why two cellIds that look the same differ: one writes an accented letter as a letter and a combining accent.
_COMPOSED = (
    "compared character by character: one writes an accented letter as the letter and a combining accent "
    "(Unicode NFD, as macOS and some editors type it), the other as one character; retype one of them"
)


def _spaces(text: str) -> tuple[str, str]:
    """The white space before and after ``text``."""
    return text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]


def folded_ids(cells: Iterable[str]) -> dict[str, str]:
    """Each cellId by its text without case or surrounding spaces, accents composed (NFC), for :func:`unknown_cell`'s
    hint."""
    return {_fold(c): c for c in cells}


def unknown_cell(label: str, key: str, value: str, cells: Mapping[str, Any], folded: Mapping[str, str]) -> str:
    """``unknown_cell``'s message: portal ``label`` names ``value`` in ``key``, which no node tags; the first cells,
    and the one it names but for case, a space before or after it or how its accents are written (``folded``:
    :func:`folded_ids`, made once by the caller; a custom property typed ``kitchen `` in Blender shows no trailing
    space). Without one, the ways an export leaves a tagged object out: the file cannot show what it does not hold,
    and a cell tagged on a light (exported only on request) or outside a *Selected Objects* export is otherwise
    a puzzle."""
    known = ", ".join(repr(c) for c in list(islice(cells, 5))) + (", …" if len(cells) > 5 else "")
    # A value far longer than any cellId (a mesh's tag, named in the message of every node drawing it) is quoted
    # by its start and not folded: it is no cellId with a space or a case changed.
    shown = repr(value) if len(value) <= _FOLDED_CHARS else f"{value[:_NAME_CHARS]!r}… ({len(value):,} characters)"
    message = f"portal {label} names cell {shown} in {key!r}, which no node tags (cells: {known or 'none'})"
    near = folded.get(_fold(value)) if len(value) <= _FOLDED_CHARS else None
    if near is not None:
        why = []
        if unicodedata.normalize("NFC", near).strip() != unicodedata.normalize("NFC", value).strip():
            why.append("case-sensitive")
        if _spaces(near) != _spaces(value):
            why.append("compared with the spaces before and after them")
        if not (unicodedata.is_normalized("NFC", near) and unicodedata.is_normalized("NFC", value)):
            why.append(_COMPOSED)
        return f"{message}; did you mean {near!r}? (cellIds are {', and '.join(why)})"
    return (
        f"{message}; if an object in Blender is tagged {shown}, the export left it out: lights and cameras are "
        "written only with Include → Punctual Lights / Cameras, and Limit to → Selected Objects, Visible Objects, "
        "Renderable Objects or Active Collection leaves out the other objects"
    )


def _name_text(name: str) -> str:
    """A name as messages quote it: whole up to :data:`_NAME_CHARS` characters, else its first ones and an ellipsis
    (a mesh named with a million characters is named in the message of every node drawing it)."""
    return repr(name) if len(name) <= _NAME_CHARS else f"{name[:_NAME_CHARS]!r}…"


def node_label(doc: GltfDocument, i: int) -> str:
    """``'Door' (node 5, mesh 'Plane')``: how messages name an object."""
    node = doc.node(i)
    parts = [f"node {i}"]
    m = doc.node_mesh(i) if "mesh" in node else None
    mesh_name = doc.meshes[m].get("name") if m is not None and isinstance(doc.meshes[m], dict) else None
    if isinstance(mesh_name, str):
        parts.append(f"mesh {_name_text(mesh_name)}")
    name = node.get("name")
    return f"{_name_text(name)} ({', '.join(parts)})" if isinstance(name, str) else ", ".join(parts)


#: Keys only a tag carries: custom properties holding one of these (``from`` and ``to`` together) were meant as one.
_TAG_KEYS = ("cellId", "from", "to", "quad")


def misread_tag(doc: GltfDocument, i: int, kind: str | None) -> Issue | None:
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
        # A key of thousands of characters (on a mesh many nodes draw) is no 'type' spelt otherwise: not stripped.
        typed = [k for k in extras if isinstance(k, str) and len(k) <= _NAME_CHARS and k.strip().lower() == "type"]
        for key in typed:
            value = extras[key]
            meant = isinstance(value, str) and value.strip().lower() in ("cell", "portal")
            if not (meant or keyed):
                continue
            given = f"the key {key!r}" if key != "type" else "'type'"
            return Issue(
                f"{path}{json_pointer([key])}",
                "tag_invalid",
                f"{node_label(doc, i)} has {given} = {value_text(value)}, which is not a tag:"
                f" a tag needs the key 'type'"
                f' with the value "cell" or "portal", in lowercase; custom properties given: {_brief(extras, key)}',
            )
        if keyed and not typed:
            return Issue(
                path,
                "tag_invalid",
                f'{node_label(doc, i)} has a tag\'s custom properties but no \'type\' ("cell" or "portal"), so it'
                f" is not a tag; custom properties given: {_brief(extras, None)}",
            )
    return None


def _brief(extras: dict[str, Any], key: str | None) -> str:
    """``key`` and a tag's keys of ``extras``, each value short (a long list by its length alone)."""
    shown = [k for k in ([key] if key else []) + list(_TAG_KEYS) if k in extras]
    return ", ".join(
        f"{k!r}: " + (f"a list of {len(v):,}" if isinstance(v, list) and len(v) > 12 else value_text(v))
        for k, v in ((k, extras[k]) for k in shown)
    )


def other_half(doc: GltfDocument, i: int, src: str, key: str) -> str:
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
        f"; {where} holds {key!r} = {value_text(other[key])}: a tag is read whole from the object's custom properties"
        f" or else from its mesh data's, so put 'type' and {key!r} in the same place"
    )


def copied_tag(
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
        shown = f"mesh {_name_text(name)}" if isinstance(name, str) else "one mesh"
        return (
            f"; the tag is on {shown}, which both objects draw (a linked duplicate, Alt+D, shares its mesh"
            " data and the mesh's custom properties): tag each object instead (Object Properties → Custom Properties)"
        )
    name, again = doc.node(first).get("name"), doc.node(second).get("name")
    if isinstance(name, str) and isinstance(again, str) and name != again:
        # Blender's names are at most 63 bytes: a longer one (the first node's, asked again for each copy) is no
        # copy's name, and is not searched for a suffix once per duplicate.
        if max(len(name), len(again)) > _NAME_CHARS or _COPY_SUFFIX.sub("", name) != _COPY_SUFFIX.sub("", again):
            return ""
        return (
            f"; {_name_text(again)} is named as Blender names a copy of {_name_text(name)} (Shift+D, or Separate after"
            " applying an Array), and a copy keeps the object's custom properties: give each copy its own cellId"
        )
    if not isinstance(name, str) or again != name:
        return ""

    def under(i: int) -> str:
        parent = parent_of.get(i)
        if parent is None:
            return "at the root"
        label = doc.node(parent).get("name")
        return f"under {_name_text(label)}" if isinstance(label, str) else f"under node {parent}"

    return (
        f"; both are copies of object {_name_text(name)} ({under(first)} and {under(second)}), as a collection"
        " instanced more than once exports its objects, custom properties included: tag each instancing empty instead"
    )


def scene_id_and_props(
    doc: GltfDocument, errors: list[Issue], limits: Limits | None = None
) -> tuple[str, dict[str, str]]:
    from ..model.description import MAX_PROP_NAME, MAX_PROP_VALUE, unprintable

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
            message = f"props must be an object of string → string metadata; got {value_text(raw)}"
            errors.append(Issue(path, "props_invalid", message))
            continue
        if limits is not None and len(props) + len(raw) > limits.max_props:  # counted before any is read
            count = len(props) + len(raw)
            raise LimitExceeded("SCENEFORGE_MAX_PROPS", count, limits.max_props, path=path, what="prop count")
        for k, v in raw.items():
            if not isinstance(v, str):
                message = f"prop {k!r} must be a string (props are string → string metadata); got {value_text(v)}"
                errors.append(Issue(path + json_pointer([k]), "props_invalid", message))
            elif len(k) > MAX_PROP_NAME or len(v) > MAX_PROP_VALUE:  # a description's bounds
                message = (
                    f"prop {value_text(k)} has a name of {len(k):,} characters and a value of {len(v):,}; props hold"
                    f" names of at most {MAX_PROP_NAME} and values of at most {MAX_PROP_VALUE:,}, as in a description"
                )
                errors.append(Issue(path + json_pointer([k]), "props_invalid", message))
            elif (why := unprintable(k)) is not None:  # a description's rule for names
                message = f"prop name {json.dumps(k[:60])}: {why}"
                errors.append(Issue(path + json_pointer([k]), "props_invalid", message))
            else:
                props[k] = v
    for value, path in ((ours.get("sceneId"), f"/scenes/{s}/extras/sceneforge/sceneId"),
                        (extras.get("sceneId"), f"/scenes/{s}/extras/sceneId")):  # fmt: skip
        if value is None:
            continue
        if isinstance(value, str) and is_scene_id(value):
            return value, props
        message = f"sceneId must be 1–64 of [A-Za-z0-9_-], starting alphanumeric; got {value_text(value)}"
        errors.append(Issue(path, "scene_id_invalid", message))
        return "scene", props
    name = scene.get("name")
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).lstrip("_-")[:64] if isinstance(name, str) else ""
    return cleaned or "scene", props
