"""Suite-wide settings. Area fixtures live in ``tests/<area>/conftest.py``; real servers in ``tests/support``."""

from __future__ import annotations

import os

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
