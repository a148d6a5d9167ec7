"""Merge: one :class:`Surface` per material per cell.

Every cell's surfaces that share a material are concatenated into one (vertices appended,
indices offset), so the encoder writes one glTF primitive — one draw call — per material per
cell. Cells are never merged with each other: portal culling draws or skips whole cells.
Surfaces without triangles are dropped. The result is sorted by material id, so the output
does not depend on the order ingest and geometry produced surfaces in.

Cost: O(vertices + indices) copies per cell, in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import PassError
from ..model.ir import SceneIR, Surface
from ._pass import Pass

__all__ = ["MergeOptions", "merge", "merge_surfaces"]

NAME = "merge"


@dataclass(frozen=True, slots=True)
class MergeOptions:
    """Options of :func:`merge`.

    ``drop_empty``: drop surfaces that have no triangles (default ``True``). Keep it on: an empty
    primitive is invalid glTF.
    """

    drop_empty: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.drop_empty, bool):
            raise PassError(NAME, f"drop_empty must be a bool, got {self.drop_empty!r}")


def _concat(material: str, parts: Sequence[Surface]) -> Surface:
    if len(parts) == 1:
        return parts[0]
    counts = np.array([p.vertex_count for p in parts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    if int(counts.sum()) > np.iinfo(np.uint32).max:
        raise PassError(NAME, f"material {material!r} has more than 2**32 vertices in one cell")
    indices = np.concatenate([p.indices.astype(np.int64) + o for p, o in zip(parts, offsets, strict=True)])
    return Surface(
        material=material,
        positions=np.concatenate([p.positions for p in parts]).astype(np.float32, copy=False),
        normals=np.concatenate([p.normals for p in parts]).astype(np.float32, copy=False),
        uvs=np.concatenate([p.uvs for p in parts]).astype(np.float32, copy=False),
        indices=indices.astype(np.uint32),
    )


def merge_surfaces(surfaces: Sequence[Surface], options: MergeOptions | None = None) -> list[Surface]:
    """One surface per material, sorted by material id; the per-cell helper of :func:`merge`.

    Input surfaces are not modified. A material whose surfaces are all empty disappears
    (with ``drop_empty``).
    """
    options = options or MergeOptions()
    groups: dict[str, list[Surface]] = {}
    for surface in surfaces:
        if options.drop_empty and surface.triangle_count == 0:
            continue
        groups.setdefault(surface.material, []).append(surface)
    return [_concat(material, groups[material]) for material in sorted(groups)]


def merge(options: MergeOptions | None = None) -> Pass:
    """A pass that merges each cell's surfaces per material (see the module docstring)."""
    options = options or MergeOptions()
    if not isinstance(options, MergeOptions):
        raise PassError(NAME, f"options must be MergeOptions, got {type(options).__name__}")

    def run(ir: SceneIR) -> SceneIR:
        for cell in ir.cells:
            cell.surfaces = merge_surfaces(cell.surfaces, options)
        return ir

    return run
