"""Read GLB (binary glTF 2.0) bytes: container, accessors, node hierarchy, meshes, materials.

Safe on untrusted input: every length, offset, index and type is checked before it is used,
and every failure is a :class:`~sceneforge.errors.SceneInvalid` whose issue path is a JSON
pointer into the glTF JSON (``/accessors/3/count``). Callers that read an asset re-wrap it as
an :class:`~sceneforge.errors.AssetError` pointing into their own request.

Supported: one or more buffers (the GLB ``BIN`` chunk, or ``data:`` URIs), interleaved and
sparse accessors, normalized integer attributes (``KHR_mesh_quantization``), triangle lists,
strips and fans, node ``matrix`` or TRS. Points and lines are ignored (they are not surfaces).
Morph targets are applied at the mesh's default ``weights`` (what a viewer draws at rest: Blender
exports a shape key's value there), their ``POSITION`` deltas only; a morphed primitive's normals
are dropped, so they are made again from its faces. A skinned node's mesh is placed by its skin's joints
(:meth:`~.gltf_document.GltfDocument.skin_matrices`), not by the node's transform.
Draco-compressed meshes are refused with a message naming the extension; meshopt-compressed views are decoded
before this reads the file (:func:`.built_glb.decode_meshopt`).

Reference: the glTF 2.0 specification, §3.6 (binary data), §3.7 (geometry), §4.4 (GLB).

The modules, lowest first: :mod:`.gltf_json` (the JSON chunk parsed, its fields read checked),
:mod:`.glb_container` (the container's chunks, ``data:`` URIs), :mod:`.gltf_primitives` (a primitive,
its triangles), :mod:`.gltf_document` (:class:`GltfDocument`), and this one: :func:`parse_glb`, which
checks the version, the extensions required and the buffers.
"""

from __future__ import annotations

from typing import Any

from ..glb_magic import GLB_MAGIC
from .glb_container import data_uri, split_chunks
from .gltf_document import DRACO_HINT, GltfDocument, quat_matrices
from .gltf_json import finite_number, glb_error, json_int, json_list, load_json, obj

__all__ = [
    "GLB_MAGIC",
    "GltfDocument",
    "finite_number",
    "glb_error",
    "gltf_document",
    "load_json",
    "parse_glb",
    "quat_matrices",
]

_UNSUPPORTED = {"KHR_draco_mesh_compression": "Draco"}
#: Extensions a file may require: read here, or about what sceneforge does not keep (lights, material
#: properties past base colour, metallic and roughness; textures only an extension's image gives are
#: dropped with a warning). Any other required one is refused: glTF asks a loader without it to fail.
_REQUIRED_OK = ("KHR_mesh_quantization", "EXT_mesh_gpu_instancing", "KHR_texture_transform", "KHR_lights_punctual")
_REQUIRED_OK_PREFIXES = ("KHR_materials_", "KHR_texture_basisu", "EXT_texture_")


def parse_glb(data: bytes) -> GltfDocument:
    """Parse GLB bytes into a :class:`GltfDocument`; :class:`SceneInvalid` when malformed."""
    raw_json, binary = split_chunks(bytes(data))
    return gltf_document(load_json(raw_json), binary)


def gltf_document(value: Any, binary: bytes | None) -> GltfDocument:
    """The :class:`GltfDocument` of a GLB's parsed JSON chunk (:func:`load_json`'s value) and its BIN chunk,
    checked as :func:`parse_glb` checks them (a caller that parsed the JSON already need not parse it again)."""
    gltf = obj(value, "")
    version = obj(gltf.get("asset", {"version": "2.0"}), "/asset").get("version")
    if not (isinstance(version, str) and version.split(".")[0] == "2"):
        raise glb_error("/asset/version", f"glTF version {version!r} is not supported (only 2.x)")
    required = json_list(gltf, "extensionsRequired", "")
    for i, name in enumerate(required):
        if not isinstance(name, str):
            raise glb_error(
                f"/extensionsRequired/{i}", f"must be a string (an extension name), got {type(name).__name__}"
            )
        if name == "EXT_meshopt_compression":  # decoded before this reads the file, unless extensionsUsed lacks it
            message = (
                f"{name} is required but not listed in extensionsUsed (glTF §3.12: every required extension is used),"
                " so its views are not decoded"
            )
            raise glb_error(f"/extensionsRequired/{i}", message)
        if name in _UNSUPPORTED:
            message = f"{_UNSUPPORTED[name]}-compressed meshes ({name}) are not supported"
            message += f": {DRACO_HINT}" if name == "KHR_draco_mesh_compression" else ""
            raise glb_error(f"/extensionsRequired/{i}", message)
        if name not in _REQUIRED_OK and not name.startswith(_REQUIRED_OK_PREFIXES):
            message = (
                f"the file requires extension {name[:80]!r}, which sceneforge does not read: a viewer without it "
                "cannot draw the file either (glTF §3.12), so it is not built without it"
            )
            raise glb_error(f"/extensionsRequired/{i}", message)
    buffers: list[bytes] = []
    for b, entry in enumerate(json_list(gltf, "buffers", "")):
        path = f"/buffers/{b}"
        entry = obj(entry, path)
        length = json_int(entry, "byteLength", path, lo=1)
        blob = data_uri(entry.get("uri"), f"{path}/uri") if "uri" in entry else binary
        if blob is None:
            raise glb_error(path, "the GLB has no BIN chunk for this buffer")
        if len(blob) < length:
            raise glb_error(f"{path}/byteLength", f"buffer is {len(blob)} bytes, fewer than byteLength {length}")
        buffers.append(blob[:length])
    return GltfDocument(gltf, buffers)
