"""What an export takes: a :class:`~sceneforge.ingest.built_glb.BuiltScene` whose arrays are whole.

:func:`read_built_glb <sceneforge.ingest.built_glb.read_built_glb>` gives only such scenes (it refuses a GLB
with non-finite coordinates or indices past their vertices); a scene made some other way is checked here
before a byte is written, so a bad one is a :class:`~sceneforge.errors.PassError` naming the cell, the surface
and what is wrong, never a file that points at vertices it lacks or holds ``nan`` (which usd-core's validators
let through), nor a numpy error from deep in a writer. Cost: one vectorized pass over each array.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import PassError
from ..ingest.built_glb import BuiltScene
from ..model.ir import Surface

__all__ = ["check_scene"]

#: A scene id as the service makes them (``docs/scene-format.md``): the OBJ zip's file names are made of it.
_SCENE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _surface_problem(s: Surface) -> str | None:
    n = s.positions.shape[0] if s.positions.ndim == 2 else -1
    shapes = (s.positions.shape, s.normals.shape, s.uvs.shape, s.indices.shape)
    if not (shapes[0] == (n, 3) and shapes[1] == (n, 3) and shapes[2] == (n, 2) and s.indices.ndim == 2
            and s.indices.shape[1] == 3):  # fmt: skip
        return f"arrays of shapes {shapes} (positions, normals, uvs, indices), not (n, 3), (n, 3), (n, 2), (m, 3)"
    for name, a in (("positions", s.positions), ("normals", s.normals), ("uvs", s.uvs)):
        if not np.isfinite(a).all():
            return f"its {name} hold non-finite values (NaN or infinite)"
    if s.indices.size and (int(s.indices.min()) < 0 or int(s.indices.max()) >= n):
        return f"its indices run from {int(s.indices.min())} to {int(s.indices.max())}, past its {n} vertices"
    return None


def _not_text(value: str) -> bool:
    """Whether ``value`` holds a lone surrogate (no Unicode character: UTF-8 cannot hold it, nor USD's strings)."""
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text_problem(scene: BuiltScene) -> str | None:
    for i, cell in enumerate(scene.cells):
        if _not_text(cell.cell_id):
            return f"cell {i}'s id {cell.cell_id[:80]!r} holds a lone surrogate"
        for s in [*cell.surfaces, *(s for g in cell.instances for s in g.surfaces)]:
            if _not_text(s.material):
                return f"cell {cell.cell_id[:80]!r} (cell {i}): material id {s.material[:80]!r} holds a lone surrogate"
        for g in cell.instances:
            if _not_text(g.name):
                return f"cell {cell.cell_id[:80]!r} (cell {i}): instances {g.name[:80]!r} hold a lone surrogate"
    for k, p in enumerate(scene.portals):
        if _not_text(p.source) or _not_text(p.target):
            return f"portal {k} ({p.source[:80]!r} to {p.target[:80]!r}) names a cell with a lone surrogate"
    if any(_not_text(mid) for mid in scene.materials) or _not_text(scene.scene_id):
        return "a material id or the scene id holds a lone surrogate"
    return None


def check_scene(scene: BuiltScene, kind: str) -> None:
    """:class:`PassError` (``export <kind>: …``) for an id that is no text (a lone surrogate, which usd-core's strings
    cannot hold: a UnicodeEncodeError from deep in the writer), the first cell surface, instanced mesh or copy
    whose arrays are not whole, or for OBJ a scene id that is not one (its files are named after it) or a cell holding
    instances kept as such (OBJ has none: they would be left out)."""
    problem = _text_problem(scene)  # the GLB reader refuses them (its JSON cannot hold one either)
    if problem is not None:
        raise PassError(f"export {kind}", problem)
    if kind == "obj" and not _SCENE_ID.fullmatch(scene.scene_id):
        raise PassError(f"export {kind}", f"scene id {scene.scene_id[:80]!r} is not 1–64 of [A-Za-z0-9_-]")
    for i, cell in enumerate(scene.cells):
        where = f"cell {cell.cell_id[:80]!r} (cell {i})"
        for s in cell.surfaces:
            problem = _surface_problem(s)
            if problem is not None:
                raise PassError(f"export {kind}", f"{where}, surface of material {s.material[:80]!r}: {problem}")
        if kind == "obj" and cell.instances:  # OBJ cannot instance: its writer reads the surfaces only
            message = f"{where} holds instanced meshes kept as such: OBJ takes them expanded (read_built_glb's default)"
            raise PassError(f"export {kind}", message)
        for g in cell.instances:
            for s in g.surfaces:
                problem = _surface_problem(s)
                if problem is not None:
                    message = f"{where}, instances {g.name[:80]!r}, material {s.material[:80]!r}: {problem}"
                    raise PassError(f"export {kind}", message)
            k = g.count
            ok = g.rotations.shape == (k, 4) and g.scales.shape == (k, 3) and g.translations.shape == (k, 3)
            if not ok or not all(np.isfinite(a).all() for a in (g.matrix, g.translations, g.rotations, g.scales)):
                message = f"{where}, instances {g.name[:80]!r}: its copies' transforms are not k finite rows"
                raise PassError(f"export {kind}", message)
