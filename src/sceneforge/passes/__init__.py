"""Optimize passes: composable transforms of a :class:`~sceneforge.model.ir.SceneIR`.

Each pass lives in its own module, is built by a factory taking a frozen options dataclass
(``weld(WeldOptions(tolerance=1e-4))``), and is a :data:`Pass`: a callable that rewrites the
scene's cells in place and returns the scene, so passes chain. :func:`optimize` is the
compiler's fixed pipeline: merge → weld → reorder.
"""

from __future__ import annotations

from ..model.ir import SceneIR
from ._pass import Pass
from .merge import MergeOptions, merge, merge_surfaces
from .reorder import ReorderOptions, reorder, reorder_surface
from .weld import WeldOptions, weld, weld_surface

__all__ = [
    "MergeOptions",
    "Pass",
    "ReorderOptions",
    "WeldOptions",
    "merge",
    "merge_surfaces",
    "optimize",
    "reorder",
    "reorder_surface",
    "run_passes",
    "weld",
    "weld_surface",
]


def run_passes(ir: SceneIR, *passes: Pass) -> SceneIR:
    """Apply ``passes`` in order and return the scene."""
    for step in passes:
        ir = step(ir)
    return ir


def optimize(ir: SceneIR) -> None:
    """The compiler's optimize stage, in place: per cell, one welded, reordered surface per material.

    Afterwards every ``Cell.surfaces`` holds exactly one surface per material, sorted by material
    id, each with at least one triangle. Instance groups are not touched.
    """
    run_passes(ir, merge(), weld(), reorder())
