"""A GLB asset as a build reads it and as an upload is checked: within its bounds, where its nodes place its meshes.

What :mod:`.assets` (a build's loading) and :mod:`.asset_check` (the upload's check) share, so the two read a file
alike: :func:`bounded_glb` parses it within :class:`GlbBounds` (its JSON chunk, its nodes, the primitives they draw)
and walks its nodes once (:func:`placements`); :func:`decoding` turns a reader's errors into the asset's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DECODE_ERRORS, AssetError, LimitExceeded, SceneInvalid
from .built_glb import decode_meshopt, instance_count, instance_matrices
from .gltf_read import GltfDocument, parse_glb

if TYPE_CHECKING:
    from ..config import Limits

__all__ = ["GlbBounds", "Placement", "bounded_glb", "decoding", "glb_triangles", "instances", "placements", "reach"]


def _rewrap(exc: SceneInvalid, path: str, what: str) -> AssetError:
    issue = exc.issues[0] if exc.issues else None
    where = f" at {issue.path}" if issue is not None and issue.path else ""
    message = issue.message if issue is not None else "it does not decode"
    return AssetError(path, f"{what} is malformed{where}: {message}")


@contextmanager
def decoding(path: str, what: str) -> Iterator[None]:
    """Errors reading ``what`` as :class:`AssetError` at ``path``: a reader's :class:`SceneInvalid`
    re-aimed at the asset, any other failure to decode (``DECODE_ERRORS``) with its message;
    :class:`AssetError` and :class:`LimitExceeded` pass as raised."""
    try:
        yield
    except AssetError:
        raise
    except LimitExceeded as exc:
        inner = exc.issues[0].path if exc.issues else ""
        if not inner.startswith(("/accessors/", "/images/")):
            raise
        # the zeros of an accessor without a bufferView, or bytes read again (GltfDocument.bound_reads): at the asset
        if inner.endswith("/count"):
            what = f"{what}'s bytes with the zeros its accessors declare without a bufferView (at {inner})"
        else:
            what = f"{what}'s bytes with those read again (a view read by many accessors or images, at {inner})"
        raise LimitExceeded(exc.limit, exc.value, exc.maximum, path, what) from None
    except SceneInvalid as exc:
        raise _rewrap(exc, path, what) from None
    except DECODE_ERRORS as exc:
        raise AssetError(path, f"the asset does not decode: {exc}") from None


#: Where a build places a mesh of a GLB asset: (mesh, world matrix, the node drawing it, or None for a mesh of a file
#: without nodes).
Placement = tuple[int, np.ndarray, int | None]


def placements(doc: GltfDocument) -> tuple[list[Placement], dict[int, np.ndarray]]:
    """The meshes a build places, once per node drawing them (every mesh of a file without nodes, a mesh library,
    once, in its own space), from one walk of the nodes; and every node's world matrix when a drawing node is
    skinned (its joints place it), else nothing."""
    if not doc.nodes:
        return [(m, np.eye(4), None) for m in range(len(doc.meshes))], {}
    walked = list(doc.walk())
    placed: list[Placement] = [(m, world, i) for i, world, _ in walked if (m := doc.node_mesh(i)) is not None]
    skinned = any(i is not None and "skin" in doc.node(i) for _, _, i in placed)
    return placed, ({i: world for i, world, _ in walked} if skinned else {})


def glb_triangles(doc: GltfDocument, placed: list[Placement]) -> int:
    """Triangles the placed meshes make, a node's once per EXT_mesh_gpu_instancing instance (accessors' headers)."""
    return sum(doc.primitive_triangles(m) * (1 if i is None else instance_count(doc, i)) for m, _, i in placed)


def instances(doc: GltfDocument, i: int | None, skin: np.ndarray | None) -> np.ndarray | None:
    """(k, 4, 4) local transforms of the copies node ``i`` draws with EXT_mesh_gpu_instancing (gltfpack ``-mi``,
    glTF-Transform ``instance``), else None. A skinned node is placed by its joints alone."""
    if i is None or skin is not None:
        return None
    return instance_matrices(doc, doc.node(i), f"/nodes/{i}")


def reach(lo: np.ndarray, hi: np.ndarray, worlds: np.ndarray) -> np.ndarray:
    """(k, 3) how far the box ``lo``..``hi`` placed by each (k, 4, 4) matrix reaches from the origin on each axis
    (NaN where a matrix or the box is not finite): |M·centre + t| + |M|·half, its farthest corner."""
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    linear = worlds[:, :3, :3]
    out: np.ndarray = np.abs(linear @ centre + worlds[:, :3, 3]) + np.abs(linear) @ half
    return out


@dataclass(frozen=True, slots=True)
class GlbBounds:
    """What a GLB asset is held to before its nodes are walked, as a tagged GLB is (docs/scene-format.md,
    "Limits"): its JSON chunk (``SCENEFORGE_MAX_BODY_BYTES``, before it is parsed) and its node count
    (``SCENEFORGE_MAX_GLB_NODES``, before any is walked). None: not bounded."""

    max_json_bytes: int | None = None
    max_nodes: int | None = None

    @classmethod
    def of(cls, limits: Limits) -> GlbBounds:
        """The bounds ``limits`` set (``max_body_bytes``, ``max_glb_nodes``)."""
        return cls(limits.max_body_bytes, limits.max_glb_nodes)


def bounded_glb(
    data: bytes, path: str, bounds: GlbBounds, max_bytes: int | None = None
) -> tuple[GltfDocument, list[Placement], dict[int, np.ndarray]]:
    """``parse_glb(data)`` within ``bounds`` and its :func:`placements`: :class:`LimitExceeded` at the asset's
    ``path`` past them. ``EXT_meshopt_compression`` views (gltfpack's ``-c``, glTF-Transform's ``optimize``, a
    build's ``--compress``) are decoded first, as a tagged GLB's are, once what they decode to is known to fit
    ``max_bytes`` (``SCENEFORGE_MAX_UPLOAD_BYTES``); the accessors' reads are then counted from the decoded size
    against it (:meth:`~.gltf_document.GltfDocument.bound_reads`)."""
    text = int.from_bytes(data[12:16], "little") if len(data) >= 20 else 0
    if bounds.max_json_bytes is not None and bounds.max_json_bytes < text <= len(data) - 20:
        what = "the GLB asset's JSON chunk (bytes)"  # past the file's end: the reader says so
        raise LimitExceeded("SCENEFORGE_MAX_BODY_BYTES", text, bounds.max_json_bytes, path, what)
    try:
        data = decode_meshopt(data, max_bytes=max_bytes)
    except LimitExceeded as exc:  # at the asset, not at the file's /bufferViews
        what = "the GLB asset's bytes its EXT_meshopt_compression views decode to"
        raise LimitExceeded(exc.limit, exc.value, exc.maximum, path, what) from None
    doc = parse_glb(data)
    doc.bound_reads(len(data), max_bytes)  # zeros of accessors without a bufferView, bytes read again
    if bounds.max_nodes is not None and len(doc.nodes) > bounds.max_nodes:  # each walked and placed (~0.2 ms)
        what = "the GLB asset's node count"
        raise LimitExceeded("SCENEFORGE_MAX_GLB_NODES", len(doc.nodes), bounds.max_nodes, path, what)
    placed, worlds = placements(doc)
    # Each primitive a node draws is placed on its own (~0.15 ms), however few triangles it holds: counted with
    # the nodes (a mesh of 1,000 one-triangle primitives drawn by 100 nodes took 9 s).
    if bounds.max_nodes is not None:
        count = sum(n * len(doc.primitive_json(m)) for m, n in Counter(m for m, _, _ in placed).items())
        if count > bounds.max_nodes:
            what = "the primitives the GLB asset's nodes draw (a node counted once per primitive of its mesh)"
            raise LimitExceeded("SCENEFORGE_MAX_GLB_NODES", count, bounds.max_nodes, path, what)
    return doc, placed, worlds
