"""The encoder's options and the format number its GLB carries (:mod:`.glb`).

:class:`EncodeOptions` is checked when it is made (:class:`~sceneforge.errors.PassError`,
``encode: …``). :data:`FORMAT_VERSION` is written into the scene extras and the meta JSON and is
part of every key the encoder stores between builds (:mod:`.cell_trees`, :mod:`.primitives`), so
it is bumped when the node/extras layout changes. Nothing here imports numpy: the meta JSON and
the package's lazy exports read it without loading the encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PassError

__all__ = ["FORMAT_VERSION", "NAME", "EncodeOptions"]

#: The stage name its errors carry.
NAME = "encode"
#: ``scene.extras.sceneforge.formatVersion``: bumped when the node/extras layout changes.
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class EncodeOptions:
    """Options of :func:`~.glb.encode_glb`.

    ``quantize``: KHR_mesh_quantization, int16 positions and int8 normals (default ``False``).
    ``compress``: EXT_meshopt_compression on vertex and index data (default ``False``).
    ``all_uvs``: write TEXCOORD_0 for every primitive, not only textured ones, for engines that
    apply their own textures to the world-scaled UVs (default ``False``).
    ``fallback``: with ``compress``, also store the uncompressed bytes and make
    EXT_meshopt_compression optional (default ``False``; no effect without ``compress``).
    """

    quantize: bool = False
    compress: bool = False
    all_uvs: bool = False
    fallback: bool = False

    def __post_init__(self) -> None:
        for name in ("quantize", "compress", "all_uvs", "fallback"):
            if not isinstance(getattr(self, name), bool):
                raise PassError(NAME, f"{name} must be a bool, got {getattr(self, name)!r}")
