"""What a scene id is (docs/scene-format.md: 1–64 characters of ``[A-Za-z0-9_-]``, the first a letter or digit):
one pattern for every place that checks one — the description model, the routes, the event streams, the
tagged-GLB reader, the MCP tools — with no description model (pydantic) loaded where only an id is checked."""

from __future__ import annotations

import re

__all__ = ["SCENE_ID", "SCENE_ID_PATTERN", "is_scene_id"]

#: A scene id, unanchored: for a pattern that holds one among other parts (a route's path segment, ``id@vN``).
SCENE_ID = "[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
#: A whole string that is a scene id (a pydantic field's ``pattern``, a JSON schema's).
SCENE_ID_PATTERN = f"^{SCENE_ID}$"

_WHOLE = re.compile(SCENE_ID)


def is_scene_id(text: str) -> bool:
    """Whether all of ``text`` is a scene id (a trailing line break included: ``"a\\n"`` is not one)."""
    return _WHOLE.fullmatch(text) is not None
