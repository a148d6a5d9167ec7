"""The tools an assisted edit offers the model, and what they answer (docs/assist.md).

``get_scene`` (a compact overview: cells with their sizes and materials, portals, materials),
``get_cell {cellId}`` (one cell as the description has it, with its index for JSON Patch paths)
and ``patch_draft {ops, reason}`` (an RFC 6902 patch of *this scene's* draft, validated exactly
like a user's edit). Nothing else reaches the model: no other scene, no publishing, no files.
Every answer is a JSON object the model reads; a refused patch answers ``{"applied": false,
"errors": [{path, code, message}]}`` and changes nothing.

Cost: ``get_scene`` is one pass over the cells (its text is capped at :data:`MAX_TOOL_RESULT_CHARS`).
"""

from __future__ import annotations

import json
from typing import Any

from .. import jsontext

__all__ = ["MAX_TOOL_RESULT_CHARS", "TOOLS", "as_sent", "cell_view", "parse_arguments", "scene_overview"]

#: Characters of one tool result sent back to the model; longer results are cut (and say so).
MAX_TOOL_RESULT_CHARS = 60_000

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_scene",
            "description": "A compact overview of this scene's draft: cells (index, id, box size, material), "
            "portals and materials. Use it to find what to change.",
            "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_cell",
            "description": "One cell of the draft exactly as the description holds it, with its index in /cells.",
            "parameters": {
                "type": "object",
                "properties": {"cellId": {"type": "string", "description": "The cell's cellId"}},
                "required": ["cellId"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "patch_draft",
            "description": "Change this scene's draft with an RFC 6902 JSON Patch. The result is validated "
            "like any edit; when it is refused the answer lists the errors with JSON pointers and "
            "nothing changes, so correct the patch and call again.",
            "parameters": {
                "type": "object",
                "properties": {
                    "ops": {
                        "type": "array",
                        "description": "RFC 6902 operations, e.g. "
                        '[{"op": "replace", "path": "/cells/2/room/max/0", "value": 6}]',
                        "items": {"type": "object"},
                    },
                    "reason": {"type": "string", "description": "One sentence: why, for the history"},
                },
                "required": ["ops", "reason"],
                "additionalProperties": False,
            },
        },
    },
]


def _size(cell: dict[str, Any]) -> list[float] | None:
    room = cell.get("room")
    if not isinstance(room, dict):
        return None
    lo, hi = room.get("min"), room.get("max")
    if not (isinstance(lo, list) and isinstance(hi, list) and len(lo) == len(hi) == 3):
        return None
    try:
        return [round(float(b) - float(a), 3) for a, b in zip(lo, hi, strict=True)]
    except (TypeError, ValueError):
        return None


def scene_overview(description: dict[str, Any]) -> dict[str, Any]:
    """The ``get_scene`` answer: compact, with indexes usable in JSON Patch paths."""
    cells = []
    for i, cell in enumerate(description.get("cells") or []):
        if not isinstance(cell, dict):
            continue
        entry: dict[str, Any] = {"index": i, "cellId": cell.get("cellId")}
        room = cell.get("room")
        if isinstance(room, dict):
            entry |= {"min": room.get("min"), "max": room.get("max"), "size": _size(cell)}
            if "material" in room:
                entry["material"] = room["material"]
        else:
            entry["meshes"] = len(cell.get("meshes") or [])
        cells.append(entry)
    portals = []
    for i, portal in enumerate(description.get("portals") or []):
        if not isinstance(portal, dict):
            continue
        between = portal.get("between") or [portal.get("from"), portal.get("to")]
        entry = {"index": i, "between": between}
        if "door" in portal:
            entry["door"] = portal["door"]
        portals.append(entry)
    return {
        "sceneId": description.get("sceneId"),
        "units": "metres, y up; room min/max are [x, y, z]",
        "cells": cells,
        "portals": portals,
        "materials": description.get("materials") or {},
    }


def cell_view(description: dict[str, Any], cell_id: Any) -> dict[str, Any]:
    """The ``get_cell`` answer, or an ``error`` naming the known ids."""
    cells = description.get("cells") or []
    for i, cell in enumerate(cells):
        if isinstance(cell, dict) and cell.get("cellId") == cell_id:
            touching = [
                j
                for j, p in enumerate(description.get("portals") or [])
                if isinstance(p, dict) and cell_id in (p.get("between") or [p.get("from"), p.get("to")])
            ]
            return {"index": i, "path": f"/cells/{i}", "cell": cell, "portalIndexes": touching}
    known = [c.get("cellId") for c in cells if isinstance(c, dict)][:200]
    return {"error": f"no cell {cell_id!r} in this scene", "cellIds": known}


def parse_arguments(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """A tool call's streamed arguments as an object, or ``(None, why)`` when they are not a JSON object."""
    try:
        value = jsontext.loads(text or "{}")
    except jsontext.JsonTextError as exc:
        return None, f"the arguments are not strict JSON at {exc.pointer or '/'}: {exc.message}"
    except (ValueError, RecursionError) as exc:
        return None, f"the arguments are not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, "the arguments must be a JSON object"
    return value, None


def as_sent(result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A tool result as the text sent back to the model (cut at :data:`MAX_TOOL_RESULT_CHARS`), and as it is stored
    and streamed (``tool_call_result``): the result itself, or, when its text was cut, ``{"cut": true, "chars": n,
    "text": …}`` holding what the model got. Stored whole, a 20,000-cell scene's ``get_scene`` wrote megabytes
    twice per call (the tool call's row and its event), 64 calls a round, and the session's answer held them all."""
    text = json.dumps(result, ensure_ascii=False)
    if len(text) <= MAX_TOOL_RESULT_CHARS:
        return text, result
    cut = text[:MAX_TOOL_RESULT_CHARS] + f"… [cut at {MAX_TOOL_RESULT_CHARS} characters; use get_cell]"
    return cut, {"cut": True, "chars": len(text), "text": cut}
