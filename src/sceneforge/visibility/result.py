"""The visibility data a compiled scene carries (docs/meta.md, the ``"visibility"`` object of the meta JSON).

Plain frozen dataclasses built by :func:`sceneforge.visibility.compute_visibility`; ``as_dict``
gives the JSON form with floats rounded to 6 decimals (micrometres), so the meta JSON is the
same bytes on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .pvs import FlowStats

__all__ = ["CellVisibility", "PortalVisibility", "Visibility"]

#: Decimals kept for floats in the JSON form: 1 µm, far below any tolerance in ``tolerances``.
DECIMALS = 6
_SCALE = 10.0**DECIMALS


def _rounded(values: tuple[float, ...] | list[float]) -> list[float]:
    # ``+ 0.0`` turns -0.0 into 0.0 so the JSON never depends on the sign of a rounded zero.
    return [round(float(v), DECIMALS) + 0.0 for v in values]


def rounded_rows(values: npt.ArrayLike) -> list[list[float]]:
    """``_rounded`` of every row of ``values`` (n, k), the same floats, in one numpy pass."""
    rows: list[list[float]] = rounded_array(values).tolist()
    return rows


def rounded_array(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``_rounded`` of every value of ``values``, as an array of its shape (see :func:`rounded_rows`).

    ``rint(x · 10⁶) / 10⁶`` is what ``round(x, 6)`` gives (the double nearest the correctly
    rounded decimal: the integer is exact and the division correctly rounded) unless
    ``x · 10⁶`` lies within its own rounding error of a half-integer, or is too large for
    ``rint`` to see a fraction; those few values go through ``round`` itself.
    """
    x = np.asarray(values, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf and nan go through ``round`` below
        scaled = x * _SCALE
        out = np.rint(scaled) / _SCALE + 0.0
        magnitude = np.abs(scaled)
        tie = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) <= (magnitude + 1.0) * 2.0**-50
        risky = ~(magnitude < 2.0**52) | tie
    for index in zip(*np.nonzero(risky), strict=True):
        out[index] = round(float(x[index]), DECIMALS) + 0.0
    return out


@dataclass(frozen=True, slots=True)
class CellVisibility:
    """One cell: its bounds, the portals touching it (either side) and its potentially visible set.

    ``aabb`` is [minx, miny, minz, maxx, maxy, maxz]; ``portals`` index :attr:`Visibility.portals`;
    ``pvs`` lists cell ids in scene order and always holds the cell itself. ``floor`` is the outer
    outline (x0, z0, x1, z1, …) of a cell whose plan is not its box (a room's floor polygon: L-shaped,
    turned, hexagonal; a mesh cell's shadow, :mod:`sceneforge.geometry.footprint`), ``None`` for other
    cells: a point in the box may lie outside the cell.
    """

    cell_id: str
    aabb: tuple[float, float, float, float, float, float]
    portals: list[int]
    pvs: list[str]
    floor: tuple[float, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        floor = None if self.floor is None else _rounded(self.floor)
        return self._dict(_rounded(self.aabb), floor)

    def _dict(self, aabb: list[float], floor: list[float] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"cellId": self.cell_id, "aabb": aabb}
        if floor is not None:  # only for rooms that are not their box, so box levels keep their shape
            out["floor"] = [floor[k : k + 2] for k in range(0, len(floor), 2)]
        out["portals"] = list(self.portals)
        out["pvs"] = list(self.pvs)
        return out


@dataclass(frozen=True, slots=True)
class PortalVisibility:
    """One portal as written: ``quad`` 12 floats, ``plane`` (a, b, c, d) with (a, b, c) the unit normal into ``to``."""

    from_cell: str
    to_cell: str
    quad: tuple[float, ...]
    plane: tuple[float, float, float, float]
    one_way: bool = False

    def as_dict(self) -> dict[str, Any]:
        return self._dict(_rounded(self.quad), _rounded(self.plane))

    def _dict(self, quad: list[float], plane: list[float]) -> dict[str, Any]:
        out: dict[str, Any] = {"from": self.from_cell, "to": self.to_cell, "quad": quad, "plane": plane}
        if self.one_way:  # only when set, so two-way portals keep exactly the docs/meta.md shape
            out["oneWay"] = True
        return out


@dataclass(frozen=True, slots=True)
class Visibility:
    """Cells in scene order, portals in description order; ``flow`` the PVS flow's work counters
    (:class:`~.pvs.FlowStats`; ``None`` when no flow ran: ``pvs=False`` or sets given); ``sets``
    each cell's ``pvs`` as the positions of its cells in scene order (what the encoder writes;
    ``None`` when not known). Neither is part of the JSON form."""

    cells: list[CellVisibility]
    portals: list[PortalVisibility]
    flow: FlowStats | None = None
    sets: list[npt.NDArray[np.int64]] | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Exactly the ``"visibility"`` object of docs/meta.md (floats rounded for all cells and portals at once)."""
        return self.dict_of(*self.rounded())

    def rounded(
        self,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The numbers :meth:`as_dict` writes, as arrays: the cells' boxes (n, 6), the portals' quads
        (P, 12) and planes (P, 4), and the cells' ``floor`` outlines one after another (F,), rounded."""
        floors = [c.floor for c in self.cells if c.floor is not None]
        return (
            rounded_array(np.array([c.aabb for c in self.cells], np.float64).reshape(-1, 6)),
            rounded_array(np.array([p.quad for p in self.portals], np.float64).reshape(-1, 12)),
            rounded_array(np.array([p.plane for p in self.portals], np.float64).reshape(-1, 4)),
            rounded_array(np.concatenate(floors) if floors else np.zeros(0, np.float64)),
        )

    def dict_of(
        self,
        aabb_array: npt.NDArray[np.float64],
        quad_array: npt.NDArray[np.float64],
        plane_array: npt.NDArray[np.float64],
        floor_array: npt.NDArray[np.float64],
    ) -> dict[str, Any]:
        """:meth:`as_dict` from the arrays :meth:`rounded` gave."""
        aabbs, quads, planes = aabb_array.tolist(), quad_array.tolist(), plane_array.tolist()
        floor_values: list[float] = floor_array.tolist()
        floors: list[list[float] | None] = []
        at = 0
        for c in self.cells:
            if c.floor is None:
                floors.append(None)
            else:
                floors.append(floor_values[at : at + len(c.floor)])
                at += len(c.floor)
        return {
            "cells": [c._dict(box, f) for c, box, f in zip(self.cells, aabbs, floors, strict=True)],
            "portals": [p._dict(q, pl) for p, q, pl in zip(self.portals, quads, planes, strict=True)],
        }

    def mean_pvs_size(self) -> float:
        """Mean number of cells in a PVS (0.0 for a scene without cells)."""
        if not self.cells:
            return 0.0
        return sum(len(c.pvs) for c in self.cells) / len(self.cells)
