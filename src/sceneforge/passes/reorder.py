"""Reorder: triangle order for the post-transform vertex cache, vertex order for fetch.

Per surface, meshoptimizer's ``optimizeVertexCache`` (Forsyth-style, adaptive cache model)
reorders triangles so consecutive triangles reuse recently transformed vertices, then
``optimizeVertexFetchRemap`` renumbers vertices in the order the triangles first use them, so
the GPU reads the vertex buffer front to back. Vertices no triangle uses are dropped. The
triangle set is unchanged; only the order of triangles, the rotation of corners within a
triangle, and the vertex numbering change. The output order also makes the meshopt
codecs (EXT_meshopt_compression) compress better.

Cost: O(indices) in meshoptimizer's C code, plus a numpy gather per attribute.

References: Tom Forsyth, "Linear-Speed Vertex Cache Optimisation" (2006);
Arseny Kapoulkine, meshoptimizer, ``src/vcacheoptimizer.cpp`` and ``src/vfetchoptimizer.cpp``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import PassError
from ..model.ir import SceneIR, Surface
from ._pass import Pass

__all__ = ["ReorderOptions", "reorder", "reorder_surface"]

NAME = "reorder"
_UNUSED = np.uint32(0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class ReorderOptions:
    """Options of :func:`reorder`.

    ``vertex_cache``: reorder triangles for the vertex cache (default ``True``).
    ``vertex_fetch``: renumber vertices in first-use order and drop unused ones (default ``True``).
    """

    vertex_cache: bool = True
    vertex_fetch: bool = True

    def __post_init__(self) -> None:
        for name in ("vertex_cache", "vertex_fetch"):
            if not isinstance(getattr(self, name), bool):
                raise PassError(NAME, f"{name} must be a bool, got {getattr(self, name)!r}")


def reorder_surface(surface: Surface, options: ReorderOptions | None = None) -> Surface:
    """Reorder one surface (the per-surface helper of :func:`reorder`); returns a new :class:`Surface`."""
    import meshoptimizer

    options = options or ReorderOptions()
    n = surface.vertex_count
    if surface.triangle_count == 0 or n == 0:
        return surface
    flat = np.ascontiguousarray(surface.indices.reshape(-1), dtype=np.uint32)
    if int(flat.max()) >= n:
        raise PassError(NAME, f"surface of material {surface.material!r} indexes past its {n} vertices")
    positions, normals, uvs = surface.positions, surface.normals, surface.uvs
    if options.vertex_cache:
        ordered = np.empty_like(flat)
        meshoptimizer.optimize_vertex_cache(ordered, flat, flat.size, n)
        flat = ordered
    if options.vertex_fetch:
        remap = np.empty(n, dtype=np.uint32)
        unique = meshoptimizer.optimize_vertex_fetch_remap(remap, flat, flat.size, n)
        used = remap != _UNUSED
        target = remap[used].astype(np.int64)
        positions, normals, uvs = (_scatter(a, used, target, unique) for a in (positions, normals, uvs))
        flat = remap[flat]
    return Surface(
        material=surface.material,
        positions=positions,
        normals=normals,
        uvs=uvs,
        indices=flat.reshape(-1, 3),
    )


def _scatter(values: np.ndarray, used: np.ndarray, target: np.ndarray, count: int) -> np.ndarray:
    out = np.empty((count, values.shape[1]), dtype=np.float32)
    out[target] = values[used]
    return out


def reorder(options: ReorderOptions | None = None) -> Pass:
    """A pass that reorders every cell surface (see the module docstring). Instances are left alone."""
    options = options or ReorderOptions()
    if not isinstance(options, ReorderOptions):
        raise PassError(NAME, f"options must be ReorderOptions, got {type(options).__name__}")

    def run(ir: SceneIR) -> SceneIR:
        for cell in ir.cells:
            cell.surfaces = [reorder_surface(s, options) for s in cell.surfaces]
        return ir

    return run
