"""Suite-wide settings. Area fixtures live in ``tests/<area>/conftest.py``; real servers in ``tests/support``."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

#: Real-server fixtures (PostgreSQL, Redis, S3) shared by every suite: one server per session.
pytest_plugins = ["tests.support.servers"]

# CI is a 2-core machine shared by servers under test: generous deadlines, fixed example counts, and the same
# examples every run (derandomized: a red run is a change's doing, never the draw's; a case a random search
# finds is pinned with @example). The dev profile searches at random.
settings.register_profile(
    "ci", deadline=None, max_examples=60, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

# Processes the tests start in other folders (servers, ``sceneforge mcp``) import the code under test: relative
# entries of PYTHONPATH (``src:.``) are made absolute, else they would name the other folder's.
if os.environ.get("PYTHONPATH"):
    os.environ["PYTHONPATH"] = os.pathsep.join(
        os.path.abspath(p) for p in os.environ["PYTHONPATH"].split(os.pathsep) if p
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a ``slow`` test first, then those needing a real server, each group in its own order:
    ``make test`` hands whole files to its workers in this order (xdist ``--dist loadfile``), so the longest
    start first and no worker runs one alone at the end."""

    def weight(item: pytest.Item) -> int:
        return 0 if item.get_closest_marker("slow") else 1 if item.get_closest_marker("server") else 2

    rank: dict[str, int] = {}
    for item in items:
        rank[item.path.as_posix()] = min(rank.get(item.path.as_posix(), 2), weight(item))
    items.sort(key=lambda item: rank[item.path.as_posix()])
