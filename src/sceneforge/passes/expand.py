"""Expand instances: every :class:`InstanceGroup` becomes plain geometry of its cell.

For viewers without EXT_mesh_gpu_instancing (Blender 3.4's importer refuses files that
require it): each copy of each group surface is moved by its transform (positions by the
4×4, normals by its inverse transpose, renormalized, winding reversed when the transform
mirrors) and appended to the cell's surfaces; the groups are removed. Run it before
:func:`~sceneforge.passes.optimize`, which then merges the copies by material. The file gets
the same triangles, in more bytes and fewer draw calls.

:func:`expand_sheared_instances` expands only the copies EXT_mesh_gpu_instancing cannot draw:
transforms with a shear (a rotated child of a non-uniformly scaled parent), which the
extension's per-instance translation, rotation and scale cannot hold — written as instances,
they were drawn unsheared, elsewhere than the scene puts them — and transforms that mirror (a
negative determinant: a viewer draws every instance of a mesh with one winding, so a mirrored copy
among them was drawn inside out: three.js's InstancedMesh, Godot's MultiMesh).

Cost: O(copies × vertices) numpy work per group surface, all copies at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..errors import PassError
from ..ingest.surfaces import det3, surface_copies
from ..model.ir import InstanceGroup, SceneIR, Surface
from ._pass import Pass

__all__ = [
    "SHEAR_EPS",
    "ExpandOptions",
    "expand_instances",
    "expand_sheared_instances",
    "expand_surface",
    "mirrored",
    "sheared",
]

NAME = "expand"
F64 = npt.NDArray[np.float64]
#: A transform's 3×3 part ``M`` holds a shear when its columns are not orthogonal: an entry of
#: ``MᵀM`` off the diagonal above this fraction of its largest diagonal entry. Float32 data and
#: unnormalized quaternions leave ~1e-7; a shear that matters is far larger.
SHEAR_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class ExpandOptions:
    """Options of :func:`expand_instances` (none yet: the expansion is exact)."""


def expand_surface(surface: Surface, transforms: F64) -> Surface:
    """``surface`` drawn once per (k, 4, 4) row-major transform, as one surface (copies in order)."""
    m = np.asarray(transforms, dtype=np.float64).reshape(-1, 4, 4)
    if m.shape[0] * surface.vertex_count > np.iinfo(np.uint32).max:
        k, n = m.shape[0], surface.vertex_count
        raise PassError(NAME, f"material {surface.material!r}: {k} copies of {n} vertices pass 2**32 vertices")
    out = surface_copies(surface, m)
    if out is None:
        raise PassError(NAME, f"material {surface.material!r}: an instance transform gives non-finite positions")
    return out


def expand_instances(options: ExpandOptions | None = None) -> Pass:
    """The pass: every cell's instance groups appended to its surfaces, then removed."""
    if options is not None and not isinstance(options, ExpandOptions):
        raise PassError(NAME, f"options must be ExpandOptions, got {type(options).__name__}")

    def run(ir: SceneIR) -> SceneIR:
        for cell in ir.cells:
            for group in cell.instances:
                transforms = np.asarray(group.transforms, dtype=np.float64).reshape(-1, 4, 4)
                if transforms.shape[0] == 0:
                    continue
                if not np.isfinite(transforms).all():
                    raise PassError(
                        NAME, f"instances {group.mesh_key!r} in cell {cell.cell_id!r}: non-finite transform"
                    )
                cell.surfaces.extend(expand_surface(s, transforms) for s in group.surfaces if s.triangle_count)
            cell.instances = []
        return ir

    return run


def sheared(transforms: F64) -> npt.NDArray[np.bool_]:
    """(k,) whether each (k, 4, 4) transform holds a shear: is not translation · rotation · axis
    scale (a mirror included), which is all EXT_mesh_gpu_instancing stores per instance."""
    a = np.asarray(transforms, dtype=np.float64).reshape(-1, 4, 4)[:, :3, :3]
    gram = np.einsum("kji,kjl->kil", a, a)  # MᵀM: diagonal exactly when M's columns are orthogonal
    diagonal = np.abs(np.diagonal(gram, axis1=1, axis2=2)).max(axis=1)
    off = np.abs(gram - np.einsum("kii->ki", gram)[:, :, None] * np.eye(3)).max(axis=(1, 2))
    out: npt.NDArray[np.bool_] = off > SHEAR_EPS * diagonal
    return out


def mirrored(transforms: F64) -> npt.NDArray[np.bool_]:
    """(k,) whether each (k, 4, 4) transform mirrors (its 3×3 part's determinant is negative)."""
    out: npt.NDArray[np.bool_] = det3(np.asarray(transforms, dtype=np.float64).reshape(-1, 4, 4)[:, :3, :3]) < 0
    return out


def expand_sheared_instances() -> Pass:
    """The pass: the instance copies whose transform holds a shear (:func:`sheared`) or mirrors
    (:func:`mirrored`) become plain geometry of their cell; every other copy stays an instance."""

    def run(ir: SceneIR) -> SceneIR:
        for cell in ir.cells:
            kept = []
            for group in cell.instances:
                transforms = np.asarray(group.transforms, dtype=np.float64).reshape(-1, 4, 4)
                finite = np.isfinite(transforms).all()
                shear = (sheared(transforms) | mirrored(transforms)) if finite else np.zeros(len(transforms), bool)
                if shear.any():
                    copies = transforms[shear]
                    cell.surfaces.extend(expand_surface(s, copies) for s in group.surfaces if s.triangle_count)
                    if shear.all():
                        continue
                    group = InstanceGroup(group.cell_id, group.mesh_key, group.surfaces, transforms[~shear])
                kept.append(group)
            cell.instances = kept
        return ir

    return run
