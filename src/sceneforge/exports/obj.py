"""Wavefront OBJ export of a built scene: a zip holding ``<sceneId>.obj`` and ``<sceneId>.mtl``.

One group per cell (``g cell:<cellId>``, after a comment ``# cellId "<id>"`` giving the exact id as a
JSON string), ``usemtl`` per material, positions and normals as the GLB has them (Y-up, metres), faces
``f v//vn`` — the same triangles as the GLB, so the triangle count is equal. The MTL gives each
material its base colour (``Kd``), opacity (``d``) and a roughness-derived shininess (``Ns``); a textured
material's image is in the zip too (``textures/texture<k>.png``, one per image, named by ``map_Kd``) and its
surfaces' faces are ``f v/vt/vn``, with the GLB's texture coordinates (v turned up: ``vt u 1-v``). Where the GLB
blends a textured material (``alphaMode`` ``BLEND``: its base colour's alpha under 1) and the image has an alpha
channel (RGBA, grey + alpha, or a ``tRNS`` chunk), the MTL names the image again with ``map_d``: the viewer's
opacity is ``d`` (the factor) times the image's alpha, as glTF's is. An opaque material's image alpha is not
written, as glTF ignores it. Text is written with one formatting call per array (no Python loop per vertex).
Deterministic: the zip entries carry a fixed timestamp.

Names are single tokens of one line, as OBJ readers split them: in a group name every character that
is whitespace (a space, NEL, U+2028 …), not printable (controls, format characters such as RTL marks
and zero-width joiners, noncharacters), ``#`` (a comment to some readers) or ``\\`` (a line
continuation) becomes ``_``; a material name keeps letters, digits, ``_``, ``-`` and ``.`` only. Names
that come out the same (``a b`` and ``a_b``) are kept apart with a suffix ``_2``, ``_3``, …
"""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np

from ..ingest.built_glb import BuiltScene
from ..textrows import format_rows
from .check import check_scene
from .names import Names, unique_name

__all__ = ["to_obj_zip"]

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _group_name(cell_id: str, taken: Names) -> str:
    token = "".join("_" if ch.isspace() or not ch.isprintable() or ch in "#\\" else ch for ch in cell_id)
    return unique_name(f"cell:{token}", taken)


def _material_name(name: str, taken: Names) -> str:
    return unique_name("".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in name) or "material", taken)


def _has_alpha(png: bytes) -> bool:
    """Whether the PNG carries alpha: colour type 4 (grey + alpha) or 6 (RGBA) in its header, or a ``tRNS`` chunk
    (a transparent colour or palette entries), which comes before the image data. Read from the bytes, not
    decoded: bytes that are no PNG have no alpha (and the export does not fail on them)."""
    if len(png) < 33 or not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    if png[25] in (4, 6):
        return True
    at = 8
    while at + 8 <= len(png):
        length, kind = struct.unpack_from(">I4s", png, at)
        if kind == b"tRNS":
            return True
        if kind in (b"IDAT", b"IEND"):
            return False
        at += 12 + length
    return False


def to_obj_zip(scene: BuiltScene) -> bytes:
    """The zip bytes (OBJ + MTL) of ``scene``; :class:`~sceneforge.errors.PassError` for arrays that are not whole
    (:func:`.check.check_scene`)."""
    check_scene(scene, "obj")
    base = scene.scene_id
    lines = [f"# sceneforge export of {base}\n", f"mtllib {base}.mtl\n"]
    used = sorted({s.material for c in scene.cells for s in c.surfaces})
    taken = Names()
    material_names = {name: _material_name(name, taken) for name in used}
    images: dict[str, str] = {}  # asset id → file in the zip, one per image
    textures: dict[str, str] = {}  # material id → its image's file
    for name in used:
        m = scene.materials.get(name)
        if m is not None and m.texture is not None:
            textures[name] = images.setdefault(m.texture.asset_id, f"textures/texture{len(images)}.png")
    groups = Names()
    offset = uv_offset = 1
    for cell in scene.cells:
        lines.append(f"# cellId {json.dumps(cell.cell_id)}\ng {_group_name(cell.cell_id, groups)}\n")
        for s in cell.surfaces:
            lines.append(f"usemtl {material_names[s.material]}\n")
            lines.append(format_rows("v %.6f %.6f %.6f\n", s.positions.astype(np.float64)))
            lines.append(format_rows("vn %.5f %.5f %.5f\n", s.normals.astype(np.float64)))
            idx = s.indices.astype(np.int64) + offset
            if s.material in textures:  # glTF's v runs down the image, OBJ's up it
                uv = np.column_stack([s.uvs[:, 0], 1.0 - s.uvs[:, 1].astype(np.float64)])
                lines.append(format_rows("vt %.6f %.6f\n", uv))
                tri = np.stack([idx, s.indices.astype(np.int64) + uv_offset, idx], axis=2).reshape(-1, 9)
                lines.append(format_rows("f %d/%d/%d %d/%d/%d %d/%d/%d\n", tri))
                uv_offset += s.vertex_count
            else:
                lines.append(format_rows("f %d//%d %d//%d %d//%d\n", np.repeat(idx, 2, axis=1)))
            offset += s.vertex_count
    mtl = [f"# sceneforge materials of {base}\n"]
    for name in used:
        m = scene.materials.get(name)
        r, g, b, a = m.base_color if m is not None else (0.8, 0.8, 0.8, 1.0)
        rough = m.roughness if m is not None else 0.9
        shininess = (1.0 - rough) ** 2 * 1000.0
        mtl.append(f"newmtl {material_names[name]}\nKd {r:.4f} {g:.4f} {b:.4f}\nKa 0 0 0\nKs 0.04 0.04 0.04\n"
                   f"Ns {shininess:.1f}\nd {a:.4f}\nillum 2\n")  # fmt: skip
        if name in textures:
            mtl.append(f"map_Kd {textures[name]}\n")
            if m is not None and m.texture is not None and a < 1.0 and _has_alpha(m.texture.png):
                mtl.append(f"map_d {textures[name]}\n")  # glTF BLEND: the image's alpha times d
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        pngs = {m.texture.asset_id: m.texture.png for m in scene.materials.values() if m.texture is not None}
        entries = [(f"{base}.obj", "".join(lines).encode()), (f"{base}.mtl", "".join(mtl).encode())]
        for name, data in entries + [(file, pngs[asset]) for asset, file in images.items()]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out.getvalue()
