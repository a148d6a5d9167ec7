"""Built scenes shared by the preview and export tests: compiled once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sceneforge.compile import BuildOptions, compile_scene
from sceneforge.generate import generate_apartment
from sceneforge.ingest.built_glb import BuiltScene, read_built_glb

LEVELS = Path(__file__).resolve().parents[1] / "data" / "levels"


def built(description: bytes, **options: bool) -> tuple[BuiltScene, dict]:
    result = compile_scene(description, BuildOptions(**options))
    return read_built_glb(result.glb), result.meta


@pytest.fixture(scope="session")
def office() -> tuple[BuiltScene, dict]:
    return built((LEVELS / "office-small.json").read_bytes(), compress=True, quantize=True)


@pytest.fixture(scope="session")
def apartment() -> tuple[BuiltScene, dict]:
    import json

    return built(json.dumps(generate_apartment(cells=8, seed=5)).encode())
