"""The studio's JSON Patch diff (src/sceneforge/studio/jsonDiff.js) against the server's patch library.

The studio saves an edit as ``diff(saved, edited)``; the service applies it with ``jsonpatch``
(docs/drafts.md, "Patching"). For random pairs of JSON documents the diff, run in Node, applied
by ``jsonpatch`` must give the edited document exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MODULE = Path(__file__).resolve().parents[1] / "src" / "sceneforge" / "studio" / "jsonDiff.js"
SCRIPT = f"""
import {{ diff }} from {json.dumps(MODULE.as_uri())};
let text = '';
for await (const chunk of process.stdin) text += chunk;
process.stdout.write(JSON.stringify(JSON.parse(text).map(([a, b]) => diff(a, b))));
"""

keys = st.sampled_from(["k", "a/b", "c~d", "~1", "", "cells", "0"])
scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([0.5, 3.25, "stone", "x/y", "m~n"])
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=12
)


def _node() -> str:
    found = shutil.which("node")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("node is not installed")
    pytest.skip("node is not installed")


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _diffs(pairs: list[tuple[Any, Any]]) -> list[list[dict[str, Any]]]:
    done = subprocess.run(
        [_node(), "--input-type=module", "-e", SCRIPT],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(documents, documents), min_size=1, max_size=30))
def test_diff_applied_by_jsonpatch_gives_the_edit(pairs: list[tuple[Any, Any]]) -> None:
    for (before, after), ops in zip(pairs, _diffs(pairs), strict=True):
        # compared as JSON text: in Python True == 1, in JSON they differ
        assert _text(jsonpatch.JsonPatch(ops).apply(before)) == _text(after), (before, after, ops)
        if _text(before) == _text(after):
            assert ops == []


def test_a_room_edit_is_one_replace() -> None:
    before = {"sceneId": "s", "cells": [{"cellId": "c0", "room": {"max": [4.0, 3.0, 4.0]}}]}
    after = json.loads(json.dumps(before))
    after["cells"][0]["room"]["max"][1] = 3.5
    assert _diffs([(before, after)]) == [[{"op": "replace", "path": "/cells/0/room/max/1", "value": 3.5}]]


def test_removing_or_inserting_one_item_in_a_long_list_is_one_operation() -> None:
    """Removing a cell or a portal near the start of a big level is one op, not a replace of every item after it
    (which for a 1,000-cell office passed the service's 10,000-operation limit)."""
    cells = [{"cellId": f"c{i}", "room": {"min": [i, 0, 0], "max": [i + 1, 3, 1]}} for i in range(2000)]
    before = {"sceneId": "s", "cells": cells}
    removed = {"sceneId": "s", "cells": cells[:3] + cells[4:]}
    inserted = {"sceneId": "s", "cells": [*cells[:5], {"cellId": "new"}, *cells[5:]]}
    repeated = {"sceneId": "s", "cells": [cells[0], cells[0], cells[0]]}
    two = {"sceneId": "s", "cells": [cells[0], cells[0]]}
    diffs = _diffs([(before, removed), (before, inserted), (repeated, two), (two, repeated)])
    assert diffs[0] == [{"op": "remove", "path": "/cells/3"}]
    assert diffs[1] == [{"op": "add", "path": "/cells/5", "value": {"cellId": "new"}}]
    for (a, b), ops in zip([(repeated, two), (two, repeated)], diffs[2:], strict=True):
        assert len(ops) == 1 and _text(jsonpatch.JsonPatch(ops).apply(a)) == _text(b)
