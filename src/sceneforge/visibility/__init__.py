"""Visibility: the portal graph, cell bounds, portal planes and a conservative PVS per cell.

``compute_visibility(ir, pvs=True)`` is the stage the compiler runs; :mod:`.pvs` is the entry of the
portal-flow algorithm (its docstring lists the modules it is built from: clipping, separating planes,
the flow's graph, frontier, budget and walks) and :mod:`.portal_graph` the directed graph and reachability.
"""

from __future__ import annotations

from .compute import compute_visibility
from .portal_graph import PortalGraph, build_portal_graph, reachable_sets
from .pvs import potentially_visible
from .result import CellVisibility, PortalVisibility, Visibility

__all__ = [
    "CellVisibility",
    "PortalGraph",
    "PortalVisibility",
    "Visibility",
    "build_portal_graph",
    "compute_visibility",
    "potentially_visible",
    "reachable_sets",
]
