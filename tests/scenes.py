"""Scene descriptions shared by tests: the original minimal request and small variations."""

from __future__ import annotations

import copy
import json
from typing import Any

TEST01: dict[str, Any] = {
    "sceneId": "test01",
    "cells": [
        {"cellId": "hall", "meshes": [{"meshId": "auto"}]},
        {"cellId": "kitchen", "meshes": [{"meshId": "auto"}]},
    ],
    "portals": [
        {"from": "hall", "to": "kitchen", "quad": [2.0, 0.2, -0.6, 2.0, 2.2, -0.6, 2.0, 2.2, 0.6, 2.0, 0.2, 0.6]}
    ],
    "materials": {},
    "props": {},
}

#: Two box rooms sharing the wall x = 4, joined by a door placed on that wall.
TWO_ROOMS: dict[str, Any] = {
    "sceneId": "two-rooms",
    "cells": [
        {"cellId": "a", "room": {"min": [0, 0, 0], "max": [4, 3, 4], "material": "plaster"}},
        {"cellId": "b", "room": {"min": [4, 0, 0], "max": [8, 3, 4], "material": "plaster"}},
    ],
    "portals": [{"between": ["a", "b"], "door": {"width": 1.2, "height": 2.1}}],
    "materials": {"plaster": "#d8d0c0"},
    "props": {"author": "tests"},
}


def scene(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with top-level keys replaced."""
    out = copy.deepcopy(base)
    out.update(changes)
    return out


def as_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()
