from __future__ import annotations

import sceneforge.encode as encode


def test_public_api_pinned():
    assert sorted(encode.__all__) == ["EncodeOptions", "FORMAT_VERSION", "build_meta", "encode_glb", "with_version"]
