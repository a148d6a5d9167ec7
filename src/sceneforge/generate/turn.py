"""A description turned about the vertical axis: the same building drawn off the grid.

:func:`turned` makes a level whose every wall and doorway lies at an angle to the axes from one
that is drawn on them — how tests and benchmarks check that the compiler's fast paths and costs do
not depend on the axes.
"""

from __future__ import annotations

import copy
import math
from typing import Any

__all__ = ["turned"]


def turned(description: dict[str, Any], degrees: float) -> dict[str, Any]:
    """A copy of ``description`` turned by ``degrees`` about the vertical axis (``sceneId`` +
    ``-turned``): box rooms become floor polygons, floor polygons and portal quads are turned. A
    ``between`` door is left as it is: the build places it on the walls the rooms share, turned."""
    out = copy.deepcopy(description)
    out["sceneId"] += "-turned"
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))

    def turn(x: float, z: float) -> list[float]:
        return [x * c - z * s, x * s + z * c]

    for cell in out["cells"]:
        room = cell["room"]
        if "min" in room:
            (x0, y0, z0), (x1, y1, z1) = room.pop("min"), room.pop("max")
            room.update(floor=[[x0, z0], [x1, z0], [x1, z1], [x0, z1]], y=y0, height=y1 - y0)
        room["floor"] = [turn(x, z) for x, z in room["floor"]]
    for portal in out["portals"]:
        if "quad" not in portal:
            continue
        q = portal["quad"]
        for i in range(0, 12, 3):
            q[i], q[i + 2] = turn(q[i], q[i + 2])
    return out
