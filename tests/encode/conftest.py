from __future__ import annotations

import pytest

from tests.support.gltf_validator import validator_available


@pytest.fixture
def needs_node():
    if not validator_available():
        pytest.skip("node and node_modules/gltf-validator are not installed")
