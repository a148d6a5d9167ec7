"""Levels the geometry tests build: office plans copied into tests/data/levels, decoded GLB cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support.glb_reader import read_glb

LEVELS = Path(__file__).resolve().parent.parent / "data" / "levels"
OFFICE_LEVELS = sorted(LEVELS.glob("office-*.json"))


def cell_triangles(glb_bytes: bytes) -> dict[str, np.ndarray]:
    """Every cell's triangles (m, 3, 3) float64 in world space, quantized output dequantized."""
    glb = read_glb(glb_bytes)
    nodes = glb.json["nodes"]
    out: dict[str, np.ndarray] = {}
    for node in nodes:
        extras = node.get("extras", {})
        if extras.get("type") != "cell":
            continue
        meshes = []
        if "mesh" in node:
            meshes.append((node["mesh"], np.zeros(3), 1.0))
        for child in node.get("children", []):
            sub = nodes[child]
            if "mesh" in sub and "extensions" not in sub:
                meshes.append((sub["mesh"], np.asarray(sub.get("translation", [0, 0, 0])), sub.get("scale", [1.0])[0]))
        parts = []
        for mesh, offset, scale in meshes:
            for primitive in glb.json["meshes"][mesh]["primitives"]:
                positions = glb.accessor(primitive["attributes"]["POSITION"]).astype(np.float64)
                indices = glb.accessor(primitive["indices"]).astype(np.int64).reshape(-1, 3)
                parts.append((offset + scale * positions[:, :3])[indices])
        out[extras["cellId"]] = np.concatenate(parts) if parts else np.zeros((0, 3, 3))
    return out


def heights(tri: np.ndarray) -> np.ndarray:
    """Each triangle's smallest altitude (m): twice its area over its longest edge."""
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area2 = np.linalg.norm(cross, axis=1)
    edges = np.stack([tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 1], tri[:, 0] - tri[:, 2]], axis=1)
    longest = np.linalg.norm(edges, axis=2).max(axis=1)
    return np.divide(area2, longest, out=np.zeros_like(area2), where=longest > 0)
