"""Which side of a doorway each of its cells lies on, read from the cells' plans where their extents cannot tell.

Two rooms locked into each other (L-shaped, S-shaped: a plan drawn on squared paper) each reach far past the
plane of the doorway between them, on both sides: their extents along its normal, or their boxes' centres, say
nothing of which lies behind it and which in front. Their plans (floor outlines seen from above) do: the ground
just behind the doorway's middle is one room's, the ground just in front of it the other's.

:func:`plans_across` probes that ground at a few depths (:data:`PROBES`), each point taken only where it lies at
least half its depth inside one outline and outside the other: a doorway turned into a wall's line has both points
on the outlines and is not judged; two rooms of one plan drawn over each other (storeys, a mezzanine) hold both
points and are not judged either.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ..model.ir import Cell, Portal

__all__ = ["PROBES", "cell_outlines", "plans_across", "signed_inside"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: How far (m) behind and in front of a doorway's middle :func:`plans_across` looks: just past its quad, and
#: past a wall's thickness (a doorway drawn in the middle of a wall one of its cells holds whole).
PROBES = (0.01, 0.1, 0.3)


def signed_inside(ring: F64, points: F64) -> F64:
    """(p,) each point's distance to the simple polygon ``ring`` (n, 2): positive inside, negative outside."""
    start, end = ring, np.roll(ring, -1, axis=0)
    edge = end - start
    rel = points[:, None, :] - start[None]  # (p, n, 2)
    length2 = np.maximum(np.einsum("nk,nk->n", edge, edge), 1e-300)
    along = np.clip(np.einsum("pnk,nk->pn", rel, edge) / length2, 0.0, 1.0)
    gap = np.sqrt(((rel - along[..., None] * edge[None]) ** 2).sum(axis=-1)).min(axis=1)
    # Even-odd crossings of a ray along +x: inside when odd.
    x, z = points[:, 0][:, None], points[:, 1][:, None]
    spans = (start[None, :, 1] > z) != (end[None, :, 1] > z)
    at = start[None, :, 0] + (z - start[None, :, 1]) * edge[None, :, 0] / np.where(edge[:, 1] == 0, 1.0, edge[:, 1])
    inside = (spans & (x < at)).sum(axis=1) % 2 == 1
    out: F64 = np.where(inside, gap, -gap)
    return out


def plans_across(
    middle: F64, facing: F64, behind_plans: Sequence[F64 | None], ahead_plans: Sequence[F64 | None]
) -> I64:
    """Per doorway (``middle`` (n, 2) its quad's middle and ``facing`` (n, 2) its normal, in plan (x, z)), +1
    when the ground behind it is the first plan's alone and the ground in front the second's alone, -1 the other
    way round, 0 when neither holds at any of the :data:`PROBES` depths (or a plan is None, or the doorway is no
    upright one: ``facing`` shorter than 1e-9)."""
    out = np.zeros(middle.shape[0], np.int64)
    depths = np.array(PROBES)
    for k in range(middle.shape[0]):
        first, second, length = behind_plans[k], ahead_plans[k], float(np.hypot(*facing[k]))
        if first is None or second is None or length < 1e-9:
            continue
        step = depths[:, None] * (facing[k] / length)
        sides = np.concatenate([middle[k] - step, middle[k] + step])  # behind at each depth, then in front
        need = np.concatenate([depths, depths]) / 2
        d_first, d_second = signed_inside(first, sides), signed_inside(second, sides)
        holds = [(d_first >= need) & (d_second <= -need), (d_second >= need) & (d_first <= -need)]
        n = depths.shape[0]
        if (holds[0][:n] & holds[1][n:]).any():
            out[k] = 1
        elif (holds[1][:n] & holds[0][n:]).any():
            out[k] = -1
    return out


def cell_outlines(cells: Sequence[Cell], portals: Sequence[Portal]) -> list[F64 | None]:
    """Each cell's plan (n, 2) in (x, z): a room's floor outline; a cell of meshes (a tagged GLB's) its triangles'
    shadow with the passages of those of ``portals`` that touch it (:func:`~sceneforge.geometry.footprint.cell_plans`),
    None where it has none (a rectangle, whose box says it; several pieces; no triangle covering ground)."""
    out: list[F64 | None] = [c.room.floor if c.room is not None else None for c in cells]
    meshes = [k for k, c in enumerate(cells) if c.room is None]
    if meshes:
        from ..geometry.footprint import cell_plans  # only for doorways their cells' extents cannot judge

        ids = {cells[k].cell_id for k in meshes}
        touching = [p for p in portals if p.from_cell in ids or p.to_cell in ids]
        for k, plan in zip(meshes, cell_plans([cells[k] for k in meshes], touching), strict=True):
            if plan is not None:
                out[k] = np.asarray(plan, np.float64).reshape(-1, 2)
    return out
