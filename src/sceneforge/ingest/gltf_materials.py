"""A GLB's materials read checked (:class:`MaterialReader`): ids, base colours, embedded PNG textures and
the texture coordinates a base-colour texture reads.

Every failure is a :class:`~sceneforge.errors.SceneInvalid` whose issue path is a JSON pointer into the
glTF JSON. Textures are PNG images checked as a description's PNG asset is; others are dropped with a
``texture_unsupported`` warning.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import AssetError, Issue
from ..model.ir import Material, Texture
from .glb_container import data_uri
from .gltf_accessors import AccessorReader
from .gltf_json import finite_number, floats, glb_error, index, json_int, json_list, obj, unit_number

__all__ = ["MaterialReader"]

F64 = npt.NDArray[np.float64]


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class MaterialReader:
    """The ``materials``, ``textures`` and ``images`` of glTF JSON ``gltf``; image bytes through ``reads``."""

    def __init__(self, gltf: dict[str, Any], materials: list[Any], reads: AccessorReader) -> None:
        self.json = gltf
        self.materials = materials
        self.reads = reads
        self._material_ids: list[str] | None = None
        self._uv_mappings: dict[int, tuple[int | None, F64 | None]] = {}
        #: Each image read so far: its texture (None when it is not a readable PNG) and what is wrong with it.
        self._images: dict[int, tuple[Texture | None, str]] = {}

    def material_name(self, i: int) -> str:
        """The id material ``i`` gets: its name when it is a usable id, else ``material<i>``; a
        material whose id an earlier one already took (two named ``"Wall"``, or one named
        ``"material1"`` before the unnamed material 1) gets ``<id>.<i>``, so no two materials of
        the file share an id, and none takes another's colour or texture."""
        if self._material_ids is None:
            ids: list[str] = []
            for k in range(len(self.materials)):
                name = obj(self.materials[k], f"/materials/{k}").get("name")
                usable = isinstance(name, str) and 0 < len(name) <= 128 and name.isprintable()
                ids.append(name if usable else f"material{k}")  # type: ignore[arg-type]
            taken = set(ids)
            seen: set[str] = set()
            for k, base in enumerate(ids):
                if base in seen:
                    unique = f"{base}.{k}"
                    while unique in taken:
                        unique += "_"
                    ids[k] = unique
                    taken.add(unique)
                seen.add(ids[k])
            self._material_ids = ids
        return self._material_ids[i]

    def uv_mapping(self, material: int | None) -> tuple[int | None, F64 | None]:
        """(texture coordinate set, 3 × 3 KHR_texture_transform matrix or None) of the material's
        base-colour texture; (None, None) without one."""
        if material is None:
            return None, None
        if material in self._uv_mappings:
            return self._uv_mappings[material]
        path = f"/materials/{material}/pbrMetallicRoughness"
        pbr = obj(obj(self.materials[material], f"/materials/{material}").get("pbrMetallicRoughness", {}), path)
        info = pbr.get("baseColorTexture")
        found: tuple[int | None, F64 | None] = (None, None)
        if info is not None:
            ipath = f"{path}/baseColorTexture"
            info = obj(info, ipath)
            texcoord = json_int(info, "texCoord", ipath, 0)
            extensions = info.get("extensions")
            ext = extensions.get("KHR_texture_transform") if isinstance(extensions, dict) else None
            matrix = None
            if ext is not None:
                epath = f"{ipath}/extensions/KHR_texture_transform"
                ext = obj(ext, epath)
                texcoord = json_int(ext, "texCoord", epath, texcoord)
                ox, oy = floats(ext, "offset", epath, 2, (0.0, 0.0))
                sx, sy = floats(ext, "scale", epath, 2, (1.0, 1.0))
                rotation = ext.get("rotation", 0.0)
                if not finite_number(rotation):
                    raise glb_error(f"{epath}/rotation", f"must be a finite number (radians), got {rotation!r:.40}")
                c, r = np.cos(float(rotation)), np.sin(float(rotation))
                # T · R · S, as the extension defines it (R turns the other way from a rotation in x, y).
                matrix = np.array([[c * sx, r * sy, ox], [-r * sx, c * sy, oy], [0.0, 0.0, 1.0]])
            found = (texcoord, matrix)
        self._uv_mappings[material] = found
        return found

    def read_materials(self, issues: list[Issue] | None = None) -> dict[str, Material]:
        """Every material by :meth:`material_name`: base colour, metallic, roughness and an embedded
        PNG base-colour texture. Textures that are not embedded PNGs are left out (a warning is
        appended to ``issues`` when given)."""
        out: dict[str, Material] = {}
        for i in range(len(self.materials)):
            path = f"/materials/{i}"
            mat = obj(self.materials[i], path)
            pbr = obj(mat.get("pbrMetallicRoughness", {}), f"{path}/pbrMetallicRoughness")
            ppath = f"{path}/pbrMetallicRoughness"
            color = np.clip(floats(pbr, "baseColorFactor", ppath, 4, (1, 1, 1, 1)), 0.0, 1.0)
            metallic = unit_number(pbr, "metallicFactor", ppath)
            rough = unit_number(pbr, "roughnessFactor", ppath)
            texture = None
            if "baseColorTexture" in pbr:
                texture = self._texture(obj(pbr["baseColorTexture"], f"{ppath}/baseColorTexture"), ppath, issues)
            out[self.material_name(i)] = Material(
                material_id=self.material_name(i),
                base_color=(float(color[0]), float(color[1]), float(color[2]), float(color[3])),
                metallic=metallic,
                roughness=rough,
                texture=texture,
            )
        return out

    def _texture(self, ref: dict[str, Any], path: str, issues: list[Issue] | None) -> Texture | None:
        textures = json_list(self.json, "textures", "")
        t = index(ref, "index", f"{path}/baseColorTexture", textures, "texture")
        tex = obj(textures[t], f"/textures/{t}")
        images = json_list(self.json, "images", "")
        if "source" not in tex:  # an image only an extension names (KTX2, WebP): nothing here to keep
            if issues is not None:
                message = f"texture {t} has no source image (only an extension gives one): it is dropped"
                issues.append(Issue(f"/textures/{t}", "texture_unsupported", message, "warning"))
            return None
        s = index(tex, "source", f"/textures/{t}", images, "image")
        image, ipath = obj(images[s], f"/images/{s}"), f"/images/{s}"
        uri = image.get("uri")
        external = "bufferView" not in image and isinstance(uri, str) and not uri.startswith("data:")
        if s in self._images:  # many materials may show one image: its bytes are read (and hashed) once, and told once
            return self._images[s][0]
        if "bufferView" in image:
            view = index(image, "bufferView", ipath, self.reads.views, "bufferView")
            buf, off, length, _ = self.reads.view_bytes(view)
            self.reads.count_read(length, f"{ipath}/bufferView")  # images naming one view read it once each
            data = bytes(buf[off : off + length])
        elif external:  # never opened: a file or URL beside the GLB is not part of the upload
            data = b""
        else:
            data = data_uri(uri, f"{ipath}/uri") or b""
        texture, broken = None, ""
        if data.startswith(_PNG_SIGNATURE):
            broken = _png_problem(data)  # checked as a description's PNG asset is: not written out broken
            if not broken:
                import hashlib

                texture = Texture(asset_id=f"sha256:{hashlib.sha256(data).hexdigest()[:16]}", png=data)
        self._images[s] = (texture, broken)
        if texture is None:
            if issues is not None:
                name, mime = image.get("name"), image.get("mimeType")
                label = repr(name[:60]) if isinstance(name, str) else s  # a name of megabytes is not repeated whole
                what = f"an external file ({str(uri)[:60]!r})" if external else "not a PNG"
                what = f"not a readable PNG ({broken})" if broken else what
                message = (
                    f"image {label} ({mime[:60] if isinstance(mime, str) else 'no mimeType'}) is {what}: "
                    "only PNG textures embedded in the GLB are kept; this one is dropped"
                )
                if not external and not broken:  # a JPEG, most often: Blender keeps each image's own format
                    message += (
                        " (Blender: save the image as PNG, Image → Save As, and export with Images → Automatic;"
                        " Images → JPEG Format writes every texture as JPEG)"
                    )
                issues.append(Issue(ipath, "texture_unsupported", message, "warning"))
            return None
        return texture


def _png_problem(data: bytes) -> str:
    """What keeps PNG bytes from being a readable image (chunks, CRCs, a size within the decompression-bomb
    bound), as a description's PNG asset is checked; ``""`` when nothing does."""
    from .png_check import check_png

    try:
        check_png(data, "")
    except AssetError as exc:
        return exc.issues[0].message
    return ""
