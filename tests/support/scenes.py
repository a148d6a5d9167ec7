"""Hand-built :class:`SceneIR` values for the passes and encode tests."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from sceneforge.model.ir import Cell, InstanceGroup, Material, Portal, SceneIR, Surface, Texture

__all__ = ["box_surfaces", "png_bytes", "quad_surface", "sample_scene", "soup"]


def png_bytes(width: int = 4, height: int = 4) -> bytes:
    """A valid RGB PNG: a checkerboard, built with zlib and struct."""
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    pixels = np.where(((x + y) % 2 == 0)[..., None], [255, 200, 40], [30, 60, 200]).astype(np.uint8)
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def quad_surface(material: str, corner: tuple[float, float, float], size: float = 1.0, axis: int = 1) -> Surface:
    """A square of two triangles facing +axis, with its own 4 vertices."""
    u, v = [a for a in range(3) if a != axis]
    if axis == 1:
        u, v = v, u  # keep counter-clockwise seen from +Y
    base = np.array(corner, dtype=np.float32)
    positions = np.repeat(base[None], 4, axis=0)
    positions[[1, 2], u] += size
    positions[[2, 3], v] += size
    normals = np.zeros((4, 3), np.float32)
    normals[:, axis] = 1.0
    uvs = positions[:, [u, v]].copy()  # world-scaled, as generated geometry has them
    indices = np.array([[0, 1, 2], [0, 2, 3]], np.uint32)
    return Surface(material, positions, normals, uvs, indices)


def box_surfaces(material: str, lo: tuple[float, float, float], size: float) -> list[Surface]:
    """A tiled floor of 2×2 quads (shared edges duplicated, so welding has work)."""
    out = []
    for i in range(2):
        for j in range(2):
            out.append(quad_surface(material, (lo[0] + i * size, lo[1], lo[2] + j * size), size))
    return out


def soup(rng: np.random.Generator, vertices: int, triangles: int, material: str = "m", grid: int = 4) -> Surface:
    """A random indexed mesh on a coarse grid: many exact duplicates, some degenerate triangles."""
    positions = rng.integers(0, grid, (vertices, 3)).astype(np.float32) * 0.5
    normals = np.zeros((vertices, 3), np.float32)
    normals[np.arange(vertices), rng.integers(0, 3, vertices)] = 1.0
    uvs = positions[:, :2] * 2
    indices = rng.integers(0, vertices, (triangles, 3)).astype(np.uint32)
    return Surface(material, positions, normals, uvs, indices)


def sample_scene(*, textured: bool = True, instances: bool = True, scene_id: str = "sample") -> SceneIR:
    """Two rooms and a closet: 2 materials, split surfaces, a portal each way, an instance group."""
    hall = Cell("hall", surfaces=[*box_surfaces("wood", (0, 0, 0), 1.0), *box_surfaces("plaster", (0, 2, 0), 1.0)])
    kitchen = Cell("kitchen", surfaces=[*box_surfaces("plaster", (3, 0, 0), 1.0), quad_surface("wood", (3, 1, 0))])
    closet = Cell("closet")
    if instances:
        chair = (quad_surface("wood", (-0.25, 0, -0.25), 0.5), quad_surface("plaster", (-0.25, 0.5, -0.25), 0.5))
        transforms = np.tile(np.eye(4), (3, 1, 1))
        transforms[:, :3, 3] = [[0.5, 0, 0.5], [1.5, 0, 0.5], [1.0, 0, 1.5]]
        c, s = np.cos(0.7), np.sin(0.7)
        transforms[1, :3, :3] = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
        transforms[2, :3, :3] = np.diag([2.0, 1.0, 0.5])
        hall.instances.append(InstanceGroup("hall", "asset:chair", chair, transforms))
    quad = np.array([[2, 0.2, -0.6], [2, 2.2, -0.6], [2, 2.2, 0.6], [2, 0.2, 0.6]], dtype=np.float64)
    portals = [
        Portal(0, "hall", "kitchen", quad),
        Portal(1, "kitchen", "closet", quad + np.array([1.5, 0.0, 0.0]), one_way=True),
    ]
    texture = Texture("checker", png_bytes()) if textured else None
    materials = {
        "wood": Material("wood", (0.6, 0.4, 0.2, 1.0), 0.0, 0.8, texture),
        "plaster": Material("plaster", (0.9, 0.9, 0.85, 1.0)),
    }
    return SceneIR(scene_id, [hall, kitchen, closet], portals, materials, props={"author": "tests", "floor": "1"})
