"""The deliberate public surface of each package: a change here is a change of contract."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

SURFACES = {
    "sceneforge": [
        "BuildOptions", "BuildResult", "Issue", "LimitExceeded", "Limits", "SceneInvalid", "SceneforgeError",
        "__version__", "compile_scene", "etag_of",
    ],
    "sceneforge.events": [
        "EVENT_TYPES", "Event", "EventBus", "EventHub", "EventLog", "MemoryBus", "PgBus", "Presence", "RedisBus",
        "Subscription", "SubscriptionDropped", "format_event", "iso_utc", "parse_last_event_id", "sse_stream",
    ],
    "sceneforge.api": ["create_app", "create_key", "run_server"],
    "sceneforge.generate": [
        "generate_apartment",
        "generate_doorway_wall",
        "generate_gallery",
        "generate_grid",
        "generate_maze",
        "generate_office",
        "random_spanning_tree",
        "turned",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(SURFACES))
def test_package_exports_exactly_its_public_surface(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(SURFACES[module])
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} is listed in __all__ but missing"


def test_importing_the_compiler_stays_light() -> None:
    # CLI start-up counts in every build: the heavy geometry libraries load only when a build runs.
    heavy = ("trimesh", "manifold3d", "meshoptimizer")
    code = f"import sys, sceneforge; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
