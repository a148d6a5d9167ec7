"""A draft is held to ``SCENEFORGE_MAX_BODY_BYTES`` by the size of its snapshot text (compact UTF-8 JSON), the
text a draft build is given: the check had measured ``json.dumps``' default form (a space after every ``,`` and
``:``, non-ASCII as ``\\u`` escapes), so a description that ``POST /scenes/build`` takes was refused as a draft."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sceneforge.storage.drafts import canonical_json
from tests.api.conftest import start_api
from tests.scenes import TWO_ROOMS

LIMIT = 8192


def _near_the_limit() -> dict[str, Any]:
    """TWO_ROOMS with props making its snapshot text just within LIMIT and json.dumps' default form past it."""
    props = {"author": "tests"}
    while len(canonical_json({**TWO_ROOMS, "props": {**props, f"p{len(props)}": "é"}})) <= LIMIT - 64:
        props[f"p{len(props)}"] = "é"
    description = {**TWO_ROOMS, "props": props}
    assert len(canonical_json(description)) <= LIMIT < len(json.dumps(description).encode())
    return description


def test_a_draft_within_the_body_limit_as_its_snapshot_is_taken(tmp_path: Path) -> None:
    description = _near_the_limit()
    patch = {"Content-Type": "application/json-patch+json"}
    for api in start_api(tmp_path, limits={"max_body_bytes": LIMIT}, auth={"write_rate": 0}):
        built = api.post("/scenes/build", content=canonical_json(description), headers=api.auth())
        assert built.status_code == 200, built.text  # a build takes it (and records it as the draft)
        edit = [{"op": "add", "path": "/props/more", "value": "x"}]
        patched = api.request("PATCH", "/scenes/two-rooms/draft", json=edit, headers={**api.auth(), **patch})
        assert patched.status_code == 200, patched.text
        rev = patched.json()["rev"]
        replaced = {**description, "props": {**description["props"], "again": "y"}}
        created = api.post("/scenes/two-rooms/draft?replace=true", json=replaced, headers=api.auth())
        assert created.status_code == 201 and created.json()["rev"] == rev + 1, created.text
        # Past the limit as a snapshot: still refused, naming it, and nothing written.
        much = [{"op": "add", "path": "/props/much", "value": "x" * 200}]
        refused = api.request("PATCH", "/scenes/two-rooms/draft", json=much, headers={**api.auth(), **patch})
        assert refused.status_code == 413 and refused.json()["limit"] == "SCENEFORGE_MAX_BODY_BYTES"
        assert api.get("/scenes/two-rooms/draft").json()["rev"] == rev + 1
