"""The visibility data a compiled scene carries (DESIGN §3, the ``"visibility"`` object of the meta JSON).

Plain frozen dataclasses built by :func:`sceneforge.visibility.compute_visibility`; ``as_dict``
gives the JSON form with floats rounded to 6 decimals (micrometres), so the meta JSON is the
same bytes on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CellVisibility", "PortalVisibility", "Visibility"]

#: Decimals kept for floats in the JSON form: 1 µm, far below any tolerance in ``tolerances``.
DECIMALS = 6


def _rounded(values: tuple[float, ...] | list[float]) -> list[float]:
    # ``+ 0.0`` turns -0.0 into 0.0 so the JSON never depends on the sign of a rounded zero.
    return [round(float(v), DECIMALS) + 0.0 for v in values]


@dataclass(frozen=True, slots=True)
class CellVisibility:
    """One cell: its bounds, the portals touching it (either side) and its potentially visible set.

    ``aabb`` is [minx, miny, minz, maxx, maxy, maxz]; ``portals`` index :attr:`Visibility.portals`;
    ``pvs`` lists cell ids in scene order and always holds the cell itself.
    """

    cell_id: str
    aabb: tuple[float, float, float, float, float, float]
    portals: list[int]
    pvs: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "cellId": self.cell_id,
            "aabb": _rounded(self.aabb),
            "portals": list(self.portals),
            "pvs": list(self.pvs),
        }


@dataclass(frozen=True, slots=True)
class PortalVisibility:
    """One portal as written: ``quad`` 12 floats, ``plane`` (a, b, c, d) with (a, b, c) the unit normal into ``to``."""

    from_cell: str
    to_cell: str
    quad: tuple[float, ...]
    plane: tuple[float, float, float, float]
    one_way: bool = False

    def as_dict(self) -> dict[str, Any]:
        out = {"from": self.from_cell, "to": self.to_cell, "quad": _rounded(self.quad), "plane": _rounded(self.plane)}
        if self.one_way:  # only when set, so two-way portals keep exactly the DESIGN §3 shape
            out["oneWay"] = True
        return out


@dataclass(frozen=True, slots=True)
class Visibility:
    """Cells in scene order, portals in description order."""

    cells: list[CellVisibility]
    portals: list[PortalVisibility]

    def as_dict(self) -> dict[str, Any]:
        """Exactly the ``"visibility"`` object of DESIGN §3."""
        return {"cells": [c.as_dict() for c in self.cells], "portals": [p.as_dict() for p in self.portals]}

    def mean_pvs_size(self) -> float:
        """Mean number of cells in a PVS (0.0 for a scene without cells)."""
        if not self.cells:
            return 0.0
        return sum(len(c.pvs) for c in self.cells) / len(self.cells)
